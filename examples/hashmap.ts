// hashmap.ts — a persistent hash map (u32 keys, 16-byte values) written on
// pheap: transactional put / delete, an in-place 16-byte value update, and
// a clear() too large for one transaction that a recovery step completes —
// in a correct version and in variants that each carry one classic bug.
// test/seeded-bugs.test.ts crash-tests all of them.
//
// Layout
//   root (32 B)     +0 buckets u32 (offset of the bucket array), +4 nbuckets u32,
//                   +8 count u32, +16 clearing u64 (an intent flag for clear())
//   buckets         nbuckets × u32: the first entry of each chain
//   entry (32 B)    +0 next u32, +4 key u32, +16 value: lo u64, hi u64
//                   (the 16-byte value sits in one cache line, never across two)
//
// Operations
//   put(k, v)   one transaction: a new entry is linked and count bumped, or
//               the value of an existing entry is replaced (both words)
//   del(k)      one transaction: unlink, free, count − 1
//   clear()     set `clearing` durably, free every entry (atomic frees), zero
//               the buckets, count = 0, then clear `clearing`
//   recover()   after every open: if `clearing` is set, finish the clear
//
// Variants (each differs from `correct` in one place)
//   missing-flush     clear() stores the intent flag and never flushes it
//   missing-fence     clear() flushes the flag but frees before a fence
//   non-atomic-16     updating an existing key stores the two value words
//                     outside any transaction, assuming 16 bytes are atomic
//   tx-no-addrange    put() bumps count with a raw store inside the transaction
//   recovery-ignores-incomplete   recover() ignores the flag: an interrupted
//                     clear() leaves buckets pointing at freed entries

import { linearizable, type ExploreOptions, type Pool } from '../src/index.js';

export const MAP_VARIANTS = ['correct', 'missing-flush', 'missing-fence', 'non-atomic-16', 'tx-no-addrange', 'recovery-ignores-incomplete'] as const;
export type MapVariant = (typeof MAP_VARIANTS)[number];

export const ENTRY_TYPE = 0x201;
export const BUCKETS_TYPE = 0x202;
const ROOT_SIZE = 32;
const BUCKETS = 0, NBUCKETS = 4, COUNT = 8, CLEARING = 16;

export type Value = [lo: bigint, hi: bigint];
export type MapOp = { op: 'put'; key: number; value: Value } | { op: 'del'; key: number } | { op: 'clear' };

export class PMap {
  readonly root: number;
  constructor(private readonly pool: Pool, private readonly variant: MapVariant = 'correct') {
    this.root = pool.root(ROOT_SIZE);
  }

  /** Create the bucket array (once, before anything is crash-tested). */
  init(nbuckets = 4): void {
    const p = this.pool;
    if (p.readU32(this.root + BUCKETS) !== 0) return;
    p.alloc(4 * nbuckets, { type: BUCKETS_TYPE, zero: true, into: this.root + BUCKETS });
    p.writeU32(this.root + NBUCKETS, nbuckets);
    p.persist(this.root + NBUCKETS, 4);
  }

  private get buckets(): number { return this.pool.readU32(this.root + BUCKETS); }
  private get nbuckets(): number { return this.pool.readU32(this.root + NBUCKETS); }
  private slotOf(key: number): number { return this.buckets + 4 * (key % this.nbuckets); }

  /** The slot pointing at the entry for `key` (or at 0 when absent) and the entry. */
  private find(key: number): { slot: number; entry: number } {
    const p = this.pool;
    let slot = this.slotOf(key);
    for (let e = p.readU32(slot); e !== 0; slot = e, e = p.readU32(e)) {
      if (p.readU32(e + 4) === key) return { slot, entry: e };
    }
    return { slot, entry: 0 };
  }

  put(key: number, [lo, hi]: Value): void {
    const p = this.pool;
    const found = this.find(key).entry;
    if (found && this.variant === 'non-atomic-16') {
      p.writeU64(found + 16, lo); // BUG: two 8-byte stores are not one atomic 16-byte update
      p.writeU64(found + 24, hi);
      p.persist(found + 16, 16);
      return;
    }
    p.tx((tx) => {
      if (found) {
        tx.setU64(found + 16, lo);
        tx.setU64(found + 24, hi);
        return;
      }
      const slot = this.slotOf(key);
      const e = tx.alloc(32, { type: ENTRY_TYPE, zero: true });
      p.writeU32(e, p.readU32(slot)); // a new object needs no snapshot
      p.writeU32(e + 4, key);
      p.writeU64(e + 16, lo);
      p.writeU64(e + 24, hi);
      tx.setU32(slot, e);
      const count = p.readU32(this.root + COUNT) + 1;
      if (this.variant === 'tx-no-addrange') p.writeU32(this.root + COUNT, count); // BUG: no addRange
      else tx.setU32(this.root + COUNT, count);
    });
  }

  del(key: number): boolean {
    const p = this.pool;
    const { slot, entry } = this.find(key);
    if (!entry) return false;
    p.tx((tx) => {
      tx.setU32(slot, p.readU32(entry));
      tx.free(entry);
      tx.setU32(this.root + COUNT, p.readU32(this.root + COUNT) - 1);
    });
    return true;
  }

  clear(): void {
    const p = this.pool;
    p.writeU64(this.root + CLEARING, 1n);
    if (this.variant === 'missing-flush') { /* BUG: the intent flag is never flushed */ }
    else if (this.variant === 'missing-fence') p.flush(this.root + CLEARING, 8); // BUG: no fence before acting on it
    else p.persist(this.root + CLEARING, 8);
    this.finishClear();
  }

  /** Free every entry, empty the buckets, count = 0, drop the intent flag (idempotent). */
  private finishClear(): void {
    const p = this.pool;
    for (const e of [...p.objects(ENTRY_TYPE)]) p.free(e);
    p.writeBytes(this.buckets, new Uint8Array(4 * this.nbuckets));
    p.persist(this.buckets, 4 * this.nbuckets);
    p.writeU32(this.root + COUNT, 0);
    p.persist(this.root + COUNT, 4);
    p.writeU64(this.root + CLEARING, 0n);
    p.persist(this.root + CLEARING, 8);
  }

  /** Recovery after open: finish an interrupted clear(). */
  recover(): void {
    if (this.variant === 'recovery-ignores-incomplete') return; // BUG: the incomplete clear is ignored
    if (this.pool.readU64(this.root + CLEARING) !== 0n) this.finishClear();
  }

  run(op: MapOp): void {
    if (op.op === 'put') this.put(op.key, op.value);
    else if (op.op === 'del') this.del(op.key);
    else this.clear();
  }

  /** Every entry as key → [lo, hi] (as strings), after checking the structure. */
  entries(): Map<number, [string, string]> {
    const p = this.pool;
    const out = new Map<number, [string, string]>();
    for (let b = 0; b < this.nbuckets; b++) {
      let steps = 0;
      for (let e = p.readU32(this.buckets + 4 * b); e !== 0; e = p.readU32(e)) {
        if (!p.isLive(e) || p.typeOf(e) !== ENTRY_TYPE) throw new Error(`map: bucket ${b} reaches ${e}, which is not a live entry`);
        if (++steps > 1000) throw new Error(`map: bucket ${b} has a cycle`);
        const key = p.readU32(e + 4);
        if (key % this.nbuckets !== b) throw new Error(`map: key ${key} is in bucket ${b}`);
        if (out.has(key)) throw new Error(`map: key ${key} twice`);
        out.set(key, [p.readU64(e + 16).toString(), p.readU64(e + 24).toString()]);
      }
    }
    const count = p.readU32(this.root + COUNT);
    if (count !== out.size) throw new Error(`map: count says ${count}, ${out.size} entries are linked`);
    const all = [...p.objects(ENTRY_TYPE)].length;
    if (all !== out.size) throw new Error(`map: ${all - out.size} entr${all - out.size === 1 ? 'y' : 'ies'} leaked`);
    return out;
  }
}

/** The sequential model. */
export function applyMapOp(m: Map<number, [string, string]>, op: MapOp): Map<number, [string, string]> {
  if (op.op === 'put') m.set(op.key, [op.value[0].toString(), op.value[1].toString()]);
  else if (op.op === 'del') m.delete(op.key);
  else m.clear();
  return m;
}

const v = (n: number): Value => [BigInt(n) * 0x1_0000_0001n, BigInt(n) * 0x2_0000_0003n];

/** A workload that exercises every operation: inserts, in-place updates, deletes, a clear, inserts after it. */
export const MAP_OPS: MapOp[] = [
  { op: 'put', key: 1, value: v(1) }, { op: 'put', key: 5, value: v(2) }, { op: 'put', key: 2, value: v(3) },
  { op: 'put', key: 1, value: v(4) }, { op: 'put', key: 5, value: v(5) }, { op: 'del', key: 2 },
  { op: 'put', key: 9, value: v(6) }, { op: 'clear' }, { op: 'put', key: 3, value: v(7) },
  { op: 'put', key: 3, value: v(8) }, { op: 'del', key: 3 },
];

// ─── the crash test of one variant ──────────────────────────────────────────


/** Explore options that crash-test `variant` against the sequential model (durable linearizability). */
export function mapScenario(variant: MapVariant, ops: readonly MapOp[] = MAP_OPS): ExploreOptions {
  const lin = linearizable({
    model: { initial: () => new Map<number, [string, string]>(), apply: applyMapOp },
    ops,
    run: (pool, op) => new PMap(pool, variant).run(op),
    read: (pool) => new PMap(pool, variant).entries(),
  });
  return {
    name: `map/${variant}`,
    layout: 'example-map',
    setup: (pool) => new PMap(pool, variant).init(),
    workload: lin.workload,
    recover: (pool) => new PMap(pool, variant).recover(),
    check: lin.check,
  };
}
