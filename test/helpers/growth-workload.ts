// growth-workload.ts — seeded operations that make a pool grow, and the
// check that a grown pool lost nothing.
//
//   growthOps    a seeded list of operations on a table of slots in the root:
//                allocations of every size class up to several chunks (filled
//                with a pattern, persisted, then published into their slot),
//                frees, transactions that allocate (some abort) and transactions
//                that snapshot a whole object (the undo log grows into the heap)
//   applyOp      runs one operation and returns the model after it
//   expectModel  the pool holds exactly the model's objects, byte for byte
//
// Invariants: the same seed gives the same operations; a model is a plain
// value (slot → size and pattern seed), so states can be kept per step; an
// operation changes its slots all at once or not at all (a crash between
// steps leaves the model before or after it).

import { Prng, type Pool } from '../../src/index.js';

/** Slots in the root table: u32 offsets of the published objects. */
export const SLOTS = 64;
export const ROOT_BYTES = 4 * SLOTS;

export type GrowthOp =
  | { kind: 'alloc'; slot: number; size: number; align64: boolean }
  | { kind: 'free'; slot: number }
  | { kind: 'tx'; slots: number[]; sizes: number[]; abort: boolean }
  | { kind: 'rewrite'; slot: number };

/** What the pool must hold: per slot, the object's size and the seed of its bytes. */
export type GrowthModel = ReadonlyMap<number, { size: number; seed: number }>;

/** The pattern of an object's bytes. */
export function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (seed * 131 + i * 29 + (i >>> 8)) & 0xff;
  return out;
}

const slotOf = (root: number, slot: number) => root + 4 * slot;

/** Sizes: mostly small, some of a chunk, a few of several chunks (those force growth). */
function sizeOf(rng: Prng, big: number): number {
  const r = rng.below(10);
  if (r < 6) return 1 + rng.below(3000);
  if (r < 9) return 3000 + rng.below(60_000);
  return 64 * 1024 + rng.below(big);
}

/** `n` operations from `seed`; `big` bounds the multi-chunk sizes (bytes past one chunk). */
export function growthOps(seed: string | number, n: number, big = 200 * 1024): GrowthOp[] {
  const rng = new Prng(`growth:${seed}`);
  const used = new Set<number>();
  const ops: GrowthOp[] = [];
  const freeSlot = () => { for (let s = rng.below(SLOTS), k = 0; k < SLOTS; k++, s = (s + 1) % SLOTS) if (!used.has(s)) return s; return -1; };
  const usedSlot = () => [...used][rng.below(used.size)];
  while (ops.length < n) {
    const r = rng.below(10);
    if (r < 5 || used.size === 0) {
      const slot = freeSlot();
      if (slot < 0) continue;
      used.add(slot);
      ops.push({ kind: 'alloc', slot, size: sizeOf(rng, big), align64: rng.coin() });
    } else if (r < 7) {
      const slot = usedSlot();
      used.delete(slot);
      ops.push({ kind: 'free', slot });
    } else if (r < 9) {
      const slots: number[] = [];
      for (let k = 1 + rng.below(3); k > 0; k--) { const s = freeSlot(); if (s >= 0 && !slots.includes(s)) slots.push(s); }
      const abort = rng.below(4) === 0;
      if (!abort) for (const s of slots) used.add(s);
      ops.push({ kind: 'tx', slots, sizes: slots.map(() => sizeOf(rng, big)), abort });
    } else {
      ops.push({ kind: 'rewrite', slot: usedSlot() });
    }
  }
  return ops;
}

class Abort extends Error {}

/** Run op number `step` on `pool`; returns the model after it. */
export function applyOp(pool: Pool, model: GrowthModel, op: GrowthOp, step: number): GrowthModel {
  const next = new Map(model);
  const seed = (slot: number) => step * SLOTS + slot;
  const root = pool.root(ROOT_BYTES);
  const slotAt = (_: Pool, slot: number) => slotOf(root, slot);
  if (op.kind === 'alloc') {
    const off = pool.alloc(op.size, { align64: op.align64 });
    pool.writeBytes(off, pattern(op.size, seed(op.slot)));
    pool.persist(off, op.size);
    pool.tx((tx) => tx.setU32(slotAt(pool, op.slot), off)); // published once its bytes are durable
    next.set(op.slot, { size: op.size, seed: seed(op.slot) });
  } else if (op.kind === 'free') {
    pool.free(pool.readU32(slotAt(pool, op.slot)), { from: slotAt(pool, op.slot) });
    next.delete(op.slot);
  } else if (op.kind === 'tx') {
    try {
      pool.tx((tx) => {
        op.slots.forEach((slot, i) => {
          const off = tx.alloc(op.sizes[i], { into: slotAt(pool, slot) });
          // Snapshotted too, so an abort restores (and persists) the bytes it overwrote: a mapping,
          // which keeps every store, then holds the same bytes as a backend that keeps only drains.
          tx.setBytes(off, pattern(op.sizes[i], seed(slot)));
        });
        if (op.abort) throw new Abort();
      });
    } catch (e) {
      if (!(e instanceof Abort)) throw e;
      return next;
    }
    op.slots.forEach((slot, i) => next.set(slot, { size: op.sizes[i], seed: seed(slot) }));
  } else {
    const { size } = model.get(op.slot)!;
    const off = pool.readU32(slotAt(pool, op.slot));
    pool.tx((tx) => tx.setBytes(off, pattern(size, seed(op.slot)))); // snapshots the whole object
    next.set(op.slot, { size, seed: seed(op.slot) });
  }
  return next;
}

/** Does the pool hold exactly `model` (every slot, every byte)? Returns the first difference, or null. */
export function modelDifference(pool: Pool, model: GrowthModel): string | null {
  const root = pool.root(ROOT_BYTES);
  for (let slot = 0; slot < SLOTS; slot++) {
    const off = pool.readU32(slotOf(root, slot));
    const want = model.get(slot);
    if (!want) {
      if (off !== 0) return `slot ${slot} should be empty, holds ${off}`;
      continue;
    }
    if (off === 0 || !pool.isLive(off)) return `slot ${slot}: object ${off} is lost`;
    if (pool.sizeOf(off) < want.size) return `slot ${slot}: object ${off} shrank`;
    const got = pool.readBytes(off, want.size);
    const exp = pattern(want.size, want.seed);
    if (got.some((b, i) => b !== exp[i])) return `slot ${slot}: object ${off} has other bytes`;
  }
  return null;
}

/** Run `ops` from an empty model; returns the model after each step (index 0 = before any). */
export function runOps(pool: Pool, ops: GrowthOp[], mark?: (label: string) => void): GrowthModel[] {
  const states: GrowthModel[] = [new Map()];
  ops.forEach((op, i) => {
    states.push(applyOp(pool, states[i], op, i + 1));
    mark?.(`op ${i + 1} returned`);
  });
  return states;
}
