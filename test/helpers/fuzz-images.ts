// fuzz-images.ts — the two pool images test/fuzz.test.ts mutates, built with
// the public API on the memory backend from one seed:
//
//   A  the durable image after a realistic workload on a pool created at
//      256 KiB that grows (region tables appended) — runs of seven size
//      classes with live and freed slots, large objects (two 64-byte aligned,
//      one spanning two chunks), a root, objects published with `into` and
//      freed with `from`, committed transactions with allocations and frees,
//      one logging more than the fixed log holds (extension blocks used and
//      freed), two aborts — clean: nothing for recovery to do;
//   B  a crash image of the next transaction, taken after its snapshots and
//      its new data were made durable: recovery rolls every entry back, some
//      from an extension block, which leaves exactly A's contents.
//
// Invariants: the same seed gives byte-identical images; every object the
// workload keeps is published in a root slot.

import { Pool, Prng, type AllocOptions } from '../../src/index.js';
import type { ImageName } from './mutants.js';

/** Created this small, the pool grows (twice) during the workload: the images hold region tables. */
const SIZE = 256 << 10;
export const LAYOUT = 'fuzz';
const ROOT_SIZE = 256; // u32 slots holding the published objects' offsets
/** Six run classes (the root's is a seventh); three objects of each fill the last one's run. */
const SMALL_SIZES = [24, 100, 200, 500, 6000, 20000];
/** Two chunks 64-byte aligned, one chunk, one chunk 64-byte aligned. */
const LARGE = { L1: 100 << 10, L2: 40 << 10, L3: 48 << 10 };

class Rollback extends Error {}

/** Run `fn`, which must end by throwing Rollback (from inside a transaction, which aborts it). */
function rolledBack(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof Rollback) return;
    throw e;
  }
  throw new Error('the transaction did not abort');
}

/** A seeded workload on one pool; every object it keeps is published in a root slot. */
class Workload {
  readonly root: number;
  readonly large: number[] = [];
  /** Transactions of the history that grew the log into extension blocks. */
  extensionsUsed = 0;
  private slots = 0;

  constructor(readonly pool: Pool, readonly rng: Prng) {
    this.root = pool.root(ROOT_SIZE);
  }

  random(len: number): Uint8Array { return this.rng.bytes(new Uint8Array(len)); }
  private slot(k: number): number { return this.root + 4 * k; }
  private nextSlot(): number { return this.slot(this.slots++); }

  /** Allocate, publish (atomically, with `into`), fill with random bytes. */
  publish(size: number, opts: AllocOptions): number {
    const off = this.pool.alloc(size, { ...opts, into: this.nextSlot() });
    this.pool.writeBytes(off, this.random(size));
    this.pool.persist(off, size);
    return off;
  }

  /** Published small objects still live, as [slot, offset]. */
  private liveSmall(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let k = 0; k < this.slots; k++) {
      const off = this.pool.readU32(this.slot(k));
      if (off !== 0 && !this.large.includes(off)) out.push([k, off]);
    }
    return out;
  }

  private pickSmall(): [number, number] {
    const live = this.liveSmall();
    return live[this.rng.below(live.length)];
  }

  /** Free a published small object, clearing its slot atomically. */
  freeOne(): void {
    const [k, off] = this.pickSmall();
    this.pool.free(off, { from: this.slot(k) });
  }

  /** Random bytes into a random part of a random small object; returns the range. */
  private edit(write: (off: number, bytes: Uint8Array) => void): [number, number] {
    const [, off] = this.pickSmall();
    const size = this.pool.sizeOf(off);
    const at = this.rng.below(size);
    const bytes = this.random(Math.min(size - at, 1 + this.rng.below(64)));
    write(off + at, bytes);
    return [off + at, bytes.length];
  }

  /** A committed transaction: two edits, an allocation published in a slot, a free. */
  editTx(): void {
    this.pool.tx((tx) => {
      for (let i = 0; i < 2; i++) this.edit((off, b) => tx.setBytes(off, b));
      const size = SMALL_SIZES[this.rng.below(SMALL_SIZES.length)];
      const off = tx.alloc(size, { type: 1 + this.rng.below(5) });
      tx.setBytes(off, this.random(size));
      tx.setU32(this.nextSlot(), off);
      const [k, gone] = this.pickSmall();
      tx.setU32(this.slot(k), 0);
      tx.free(gone);
    });
  }

  /** A committed transaction logging more than the fixed log holds: extension blocks. */
  bigTx(off: number, len: number): void {
    const link = this.pool.layoutInfo().logOffset + 8;
    this.pool.tx((tx) => {
      tx.addRange(off, len);
      this.pool.writeBytes(off, this.random(len));
      if (this.pool.readU32(link) !== 0) this.extensionsUsed++;
    });
  }

  /** Two aborted transactions: one by a throw, one by abortTx(). */
  aborts(): void {
    rolledBack(() => this.pool.tx((tx) => {
      this.edit((off, b) => tx.setBytes(off, b));
      tx.alloc(SMALL_SIZES[0]);
      throw new Rollback();
    }));
    this.pool.beginTx();
    this.edit((off, b) => { this.pool.addRange(off, b.length); this.pool.writeBytes(off, b); });
    this.pool.abortTx();
  }

  /**
   * The crash image of a transaction caught after its snapshots and its new
   * data were made durable (the transaction is then aborted).
   */
  crashMidTx(): Uint8Array {
    let image: Uint8Array | undefined;
    rolledBack(() => this.pool.tx((tx) => {
      const ranges: Array<[number, number]> = this.large.slice(1).map((off) => [off, this.pool.sizeOf(off)]);
      for (const [off, len] of ranges) { tx.addRange(off, len); this.pool.writeBytes(off, this.random(len)); }
      for (let i = 0; i < 3; i++) ranges.push(this.edit((off, b) => tx.setBytes(off, b)));
      tx.free(this.pickSmall()[1]);
      tx.alloc(SMALL_SIZES[1], { type: 3 });
      for (const [off, len] of ranges) this.pool.flush(off, len);
      this.pool.drain();
      image = this.pool.crashImage({ mode: 'strict' });
      throw new Rollback();
    }));
    return image!;
  }
}

/** Image A (clean) and B (mid-transaction crash), and how many of A's transactions used extension blocks. */
export interface Images { bases: Map<ImageName, Uint8Array>; extensionsUsed: number }

/** The two images of one seed (every byte is a function of the seed). */
export function buildImages(seed: string): Images {
  const pool = Pool.create({ size: SIZE, layout: LAYOUT, seed: `fuzz:${seed}` });
  const w = new Workload(pool, new Prng(`fuzz-workload:${seed}`));
  for (const size of SMALL_SIZES) for (let k = 0; k < 3; k++) w.publish(size, { type: 1 + w.rng.below(5) });
  w.large.push(w.publish(LARGE.L1, { type: 8, align64: true }), w.publish(LARGE.L2, { type: 9 }), w.publish(LARGE.L3, { type: 10, align64: true }));
  pool.free(pool.alloc(150 << 10, { type: 11 })); // three chunks used, then free again
  for (let i = 0; i < 4; i++) w.freeOne();
  for (let i = 0; i < 6; i++) w.editTx();
  w.bigTx(w.large[0], LARGE.L1);
  w.aborts();
  w.editTx();
  const a = pool.durableImage();
  const b = w.crashMidTx();
  pool.close();
  return { bases: new Map([['A', a], ['B', b]]), extensionsUsed: w.extensionsUsed };
}
