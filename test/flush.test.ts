// The cache-line flush model (docs/durability.md): a store lands in
// the cache, flush marks its lines pending, drain makes every pending line
// durable with ONE backend call carrying sorted, coalesced ranges, persist is
// flush + drain. Checked by example, through a recording backend, by the
// stats counters, and by a property test against a reference model.

import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import fc from 'fast-check';
import { Pool, MemoryBackend, Prng, type Backend } from '../src/index.js';
import { useTempDir, sameBytes } from './helpers/pool-files.js';

const tmp = useTempDir('pheap-flush-');
const LAYOUT = 'flush-test';
const KiB = 1024;
const MiB = 1024 * KiB;
const line = (off: number) => Math.floor(off / 64);

interface DrainCall { ranges: [number, number][]; final: boolean }

/** A MemoryBackend wrapped so that every drain call is recorded (ranges copied). */
function recordingBackend(size: number): { backend: Backend; calls: DrainCall[] } {
  const inner = new MemoryBackend(size, 'os');
  const calls: DrainCall[] = [];
  const backend: Backend = {
    kind: 'memory',
    durability: 'os',
    size,
    isPmem: false,
    evicts: false,
    attach: (memory, base) => inner.attach(memory, base),
    drain(ranges, count, final) {
      const copy: [number, number][] = [];
      for (let i = 0; i < count; i++) copy.push([ranges[2 * i], ranges[2 * i + 1]]);
      calls.push({ ranges: copy, final });
      inner.drain(ranges, count, final);
    },
    durableImage: () => inner.durableImage(),
    replaceDurableImage: (image) => inner.replaceDurableImage(image),
    close: () => inner.close(),
  };
  return { backend, calls };
}

/** Sorted unique lines coalesced into (first, count) runs. */
function coalesce(lines: Iterable<number>): [number, number][] {
  const sorted = [...new Set(lines)].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (const l of sorted) {
    const last = out[out.length - 1];
    if (last && last[0] + last[1] === l) last[1]++;
    else out.push([l, 1]);
  }
  return out;
}

/** A recorded pool with a root object of `rootLen` bytes, nothing pending, calls cleared. */
function recordedPool(size = MiB, rootLen = 8 * KiB) {
  const { backend, calls } = recordingBackend(size);
  const pool = Pool.create({ backend, size, layout: LAYOUT, seed: 'flush' });
  const r = pool.root(rootLen);
  expect(pool.pendingLines()).toEqual([]);
  calls.length = 0;
  return { pool, calls, r };
}

describe('flush, drain, persist', () => {
  it('a store is visible at once but durable only after flush + drain', () => {
    const { pool, r } = recordedPool();
    try {
      pool.writeU64(r, 0xabcdn);
      expect(pool.readU64(r)).toBe(0xabcdn);
      expect(pool.durableImage()[r]).toBe(0);
      expect(pool.pendingLines()).toEqual([]);
      pool.flush(r, 8);
      expect(pool.pendingLines()).toEqual([line(r)]);
      expect(pool.durableImage()[r]).toBe(0); // flushed is not durable
      pool.drain();
      expect(pool.pendingLines()).toEqual([]);
      expect(pool.durableImage()[r]).toBe(0xcd);
      expect(pool.durableImage()[r + 1]).toBe(0xab);
    } finally {
      pool.close();
    }
  });

  it('flush marks every line the range touches, once, listed in ascending order', () => {
    const { pool, r } = recordedPool();
    try {
      const base = Math.ceil(r / 64) * 64 + 640; // line-aligned, inside the root
      const L = line(base);
      pool.flush(base + 60, 8); // straddles two lines
      expect(pool.pendingLines()).toEqual([L, L + 1]);
      pool.flush(base + 64 * 5, 1);
      pool.flush(base - 64, 64); // exactly one line
      pool.flush(base, 0); // empty range: nothing
      pool.flush(base + 64, 64); // already pending
      expect(pool.pendingLines()).toEqual([L - 1, L, L + 1, L + 5]);
      pool.flush(base + 64 * 10, 64 * 3 + 1); // 3 lines and one byte: 4 lines
      expect(pool.pendingLines()).toEqual([L - 1, L, L + 1, L + 5, L + 10, L + 11, L + 12, L + 13]);
    } finally {
      pool.close();
    }
  });

  it('drain copies the line as it is at the drain (the reference model), only pending lines', () => {
    const { pool, r } = recordedPool();
    try {
      const a = Math.ceil(r / 64) * 64;
      pool.writeU32(a, 1);
      pool.flush(a, 4);
      pool.writeU32(a + 8, 2); // same line, stored after the flush
      pool.writeU32(a + 64, 3); // next line, never flushed
      pool.drain();
      const img = pool.durableImage();
      expect(new DataView(img.buffer).getUint32(a, true)).toBe(1);
      expect(new DataView(img.buffer).getUint32(a + 8, true)).toBe(2);
      expect(new DataView(img.buffer).getUint32(a + 64, true)).toBe(0);
    } finally {
      pool.close();
    }
  });

  it('persist = flush + drain, and a drain makes every pending line durable, not just the persisted range', () => {
    const { pool, calls, r } = recordedPool();
    try {
      const a = Math.ceil(r / 64) * 64;
      pool.writeU64(a, 1n);
      pool.writeU64(a + 640, 2n);
      pool.flush(a, 8);
      const before = pool.stats();
      pool.persist(a + 640, 8);
      const after = pool.stats();
      expect(after.flushes - before.flushes).toBe(1);
      expect(after.drains - before.drains).toBe(1);
      expect(after.linesPersisted - before.linesPersisted).toBe(2);
      expect(calls).toEqual([{ ranges: [[line(a), 1], [line(a) + 10, 1]], final: true }]);
      expect(pool.pendingLines()).toEqual([]);
      const img = new DataView(pool.durableImage().buffer);
      expect(img.getBigUint64(a, true)).toBe(1n);
      expect(img.getBigUint64(a + 640, true)).toBe(2n);
    } finally {
      pool.close();
    }
  });
});

describe('one backend call per drain, with sorted coalesced ranges', () => {
  it('a handful of lines flushed out of order', () => {
    const { pool, calls, r } = recordedPool();
    try {
      const L = line(r) + 4;
      for (const d of [10, 3, 4, 11, 20, 2, 3, 10]) pool.flush((L + d) * 64 + 7, 1);
      pool.drain();
      expect(calls).toEqual([{ ranges: [[L + 2, 3], [L + 10, 2], [L + 20, 1]], final: true }]);
    } finally {
      pool.close();
    }
  });

  it('a drain with nothing pending makes no backend call (but counts as a drain)', () => {
    const { pool, calls } = recordedPool();
    try {
      const before = pool.stats();
      pool.drain();
      pool.drain();
      expect(calls).toEqual([]);
      const after = pool.stats();
      expect(after.drains - before.drains).toBe(2);
      expect(after.linesPersisted - before.linesPersisted).toBe(0);
    } finally {
      pool.close();
    }
  });

  it('many scattered lines (past the small-list sort): still one call, sorted and coalesced', () => {
    const { pool, calls } = recordedPool(4 * MiB);
    try {
      const rng = new Prng('scatter');
      for (const n of [33, 100, 1000, 20_000]) {
        const lines: number[] = [];
        for (let i = 0; i < n; i++) lines.push(rng.below(4 * MiB / 64));
        for (const l of lines) pool.flush(l * 64 + rng.below(64), 1);
        expect(pool.pendingLines()).toEqual([...new Set(lines)].sort((a, b) => a - b));
        calls.length = 0;
        pool.drain();
        expect(calls.length, `n=${n}`).toBe(1);
        expect(calls[0].final).toBe(true);
        expect(calls[0].ranges, `n=${n}`).toEqual(coalesce(lines));
      }
    } finally {
      pool.close();
    }
  });

  it('more pending lines than the pending list holds (65 536): one call covering them all', () => {
    const size = 8 * MiB;
    const { pool, calls } = recordedPool(size);
    try {
      pool.flush(0, size);
      pool.drain();
      expect(calls).toEqual([{ ranges: [[0, size / 64]], final: true }]);
      expect(pool.pendingLines()).toEqual([]);
      // the pending state was reset properly: the next drain is exact again
      calls.length = 0;
      pool.flush(64 * 7, 1);
      pool.flush(64 * 3, 1);
      pool.drain();
      expect(calls).toEqual([{ ranges: [[3, 1], [7, 1]], final: true }]);
    } finally {
      pool.close();
    }
  });

  it('more ranges than one call carries (65 536): batches with final=false, then final=true', () => {
    const size = 16 * MiB;
    const { pool, calls } = recordedPool(size);
    try {
      const nRanges = 65_536 + 5;
      for (let i = 0; i < nRanges; i++) pool.flush(i * 128, 1); // every other line: no coalescing
      const before = pool.stats();
      pool.drain();
      expect(pool.stats().drains - before.drains).toBe(1);
      expect(pool.stats().linesPersisted - before.linesPersisted).toBe(nRanges);
      expect(calls.map((c) => [c.ranges.length, c.final])).toEqual([[65_536, false], [5, true]]);
      const all = calls.flatMap((c) => c.ranges);
      expect(all).toEqual(Array.from({ length: nRanges }, (_, i) => [2 * i, 1]));
    } finally {
      pool.close();
    }
  });
});

describe('stats counters', () => {
  it('count flush calls, drains and distinct lines made durable', () => {
    const { pool, r } = recordedPool();
    try {
      const a = Math.ceil(r / 64) * 64;
      const s0 = pool.stats();
      pool.flush(a, 8);
      pool.flush(a, 8); // same line again
      pool.flush(a + 64, 128); // two more lines
      pool.flush(a, 0); // empty: not a flush
      const s1 = pool.stats();
      expect(s1.flushes - s0.flushes).toBe(3);
      expect(s1.drains - s0.drains).toBe(0);
      expect(s1.linesPersisted - s0.linesPersisted).toBe(0);
      pool.drain();
      const s2 = pool.stats();
      expect(s2.drains - s1.drains).toBe(1);
      expect(s2.linesPersisted - s1.linesPersisted).toBe(3);
      pool.persist(a, 64 * 4); // 4 lines
      const s3 = pool.stats();
      expect(s3.flushes - s2.flushes).toBe(1);
      expect(s3.drains - s2.drains).toBe(1);
      expect(s3.linesPersisted - s2.linesPersisted).toBe(4);
      expect(s3.size).toBe(MiB);
    } finally {
      pool.close();
    }
  });

  it('start from zero in a fresh core and count the core\'s own persists (create, open)', () => {
    const p = Pool.create({ size: MiB, layout: LAYOUT });
    const s = p.stats();
    expect(s.drains).toBeGreaterThan(0); // create persisted the metadata
    expect(s.linesPersisted).toBeGreaterThan(0);
    const img = p.durableImage();
    p.close();
    const q = Pool.open({ image: img, layout: LAYOUT });
    const t = q.stats();
    q.close();
    // the open bumped the open counter: one 8-byte persist
    expect(t.flushes).toBeGreaterThanOrEqual(1);
    expect(t.drains).toBeGreaterThanOrEqual(1);
    expect(t.linesPersisted).toBeGreaterThanOrEqual(1);
    expect(t.linesPersisted).toBeLessThan(s.linesPersisted);
  });
});

describe('the file backend follows the same model', () => {
  it('a drain writes exactly the pending lines to the file', () => {
    const path = tmp.file('drain');
    const p = Pool.create({ backend: 'file', path, size: MiB, layout: LAYOUT, durability: 'os' });
    try {
      const r = p.root(1024);
      const a = Math.ceil(r / 64) * 64;
      p.writeU64(a, 11n);
      p.writeU64(a + 128, 22n); // not flushed
      p.flush(a, 8);
      let file = fs.readFileSync(path);
      expect(file.readBigUInt64LE(a)).toBe(0n);
      p.drain();
      file = fs.readFileSync(path);
      expect(file.readBigUInt64LE(a)).toBe(11n);
      expect(file.readBigUInt64LE(a + 128)).toBe(0n);
      expect(sameBytes(new Uint8Array(file), p.durableImage())).toBe(true);
    } finally {
      p.close();
    }
  });

  it("durability 'none' writes nothing at a drain; a clean close writes the whole cache", () => {
    const path = tmp.file('none');
    const p = Pool.create({ backend: 'file', path, size: MiB, layout: LAYOUT, durability: 'none' });
    const r = p.root(64);
    p.writeU64(r, 5n);
    p.persist(r, 8);
    expect(fs.readFileSync(path).readBigUInt64LE(r)).toBe(0n);
    p.writeU64(r + 8, 6n); // never flushed
    p.close();
    const file = fs.readFileSync(path);
    expect(file.readBigUInt64LE(r)).toBe(5n);
    expect(file.readBigUInt64LE(r + 8)).toBe(6n);
  });
});

// ─── property: random store / flush / drain / persist vs a reference model ──

type Op =
  | { op: 'store'; at: number; bytes: Uint8Array }
  | { op: 'flush'; at: number; len: number }
  | { op: 'drain' }
  | { op: 'persist'; at: number; len: number };

const ROOT_LEN = 2 * KiB;

function opArb(): fc.Arbitrary<Op> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: ROOT_LEN - 1 }).chain((at) =>
      fc.uint8Array({ minLength: 1, maxLength: Math.min(24, ROOT_LEN - at) }).map((bytes) => ({ op: 'store' as const, at, bytes }))) },
    // flush ranges may spill past the root into its neighbours (clean lines: flushing them changes nothing)
    { weight: 3, arbitrary: fc.record({ op: fc.constant('flush' as const), at: fc.integer({ min: -128, max: ROOT_LEN + 64 }), len: fc.integer({ min: 0, max: 300 }) }) },
    { weight: 2, arbitrary: fc.constant({ op: 'drain' as const }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('persist' as const), at: fc.integer({ min: -128, max: ROOT_LEN + 64 }), len: fc.integer({ min: 0, max: 300 }) }) },
  );
}

/** The reference model: a cache, a durable image, a pending set. */
class Model {
  pending = new Set<number>();
  constructor(public cache: Uint8Array, public durable: Uint8Array) {}
  store(off: number, bytes: Uint8Array) { this.cache.set(bytes, off); }
  flush(off: number, len: number) {
    if (len === 0) return;
    for (let l = line(off); l <= line(off + len - 1); l++) this.pending.add(l);
  }
  drain(): [number, number][] {
    const ranges = coalesce(this.pending);
    for (const l of this.pending) this.durable.set(this.cache.subarray(l * 64, l * 64 + 64), l * 64);
    this.pending.clear();
    return ranges;
  }
}

function runAgainstModel(pool: Pool, r: number, ops: Op[], calls: DrainCall[] | null): void {
  const size = pool.size;
  const cache0 = pool.readBytes(0, size);
  const durable0 = pool.durableImage();
  // Precondition of the model: nothing dirty, nothing pending.
  expect(sameBytes(cache0, durable0)).toBe(true);
  expect(pool.pendingLines()).toEqual([]);
  const model = new Model(cache0, durable0);
  for (const o of ops) {
    if (calls) calls.length = 0;
    let expectedRanges: [number, number][] | null = null;
    switch (o.op) {
      case 'store':
        pool.writeBytes(r + o.at, o.bytes);
        model.store(r + o.at, o.bytes);
        break;
      case 'flush':
        pool.flush(r + o.at, o.len);
        model.flush(r + o.at, o.len);
        break;
      case 'drain':
        pool.drain();
        expectedRanges = model.drain();
        break;
      case 'persist':
        pool.persist(r + o.at, o.len);
        model.flush(r + o.at, o.len);
        expectedRanges = model.drain();
        break;
    }
    if (calls) {
      if (expectedRanges === null || expectedRanges.length === 0) expect(calls).toEqual([]);
      else expect(calls).toEqual([{ ranges: expectedRanges, final: true }]);
    }
    expect(pool.pendingLines()).toEqual([...model.pending].sort((a, b) => a - b));
    expect(sameBytes(pool.durableImage(), model.durable)).toBe(true);
  }
  expect(sameBytes(pool.readBytes(0, size), model.cache)).toBe(true);
}

describe('property: random store/flush/drain sequences match the reference model', () => {
  it('memory backend (recording every drain call)', () => {
    fc.assert(
      fc.property(fc.array(opArb(), { maxLength: 40 }), (ops) => {
        const { backend, calls } = recordingBackend(256 * KiB);
        const pool = Pool.create({ backend, size: 256 * KiB, layout: LAYOUT, seed: 1 });
        try {
          const r = pool.root(ROOT_LEN);
          runAgainstModel(pool, r, ops, calls);
        } finally {
          pool.close();
        }
      }),
      { numRuns: 150 },
    );
  });

  it('file backend (the durable image is the file)', () => {
    fc.assert(
      fc.property(fc.array(opArb(), { maxLength: 30 }), (ops) => {
        const path = tmp.file('prop');
        const pool = Pool.create({ backend: 'file', path, size: 256 * KiB, layout: LAYOUT, seed: 1, durability: 'os' });
        try {
          const r = pool.root(ROOT_LEN);
          runAgainstModel(pool, r, ops, null);
        } finally {
          pool.close();
          fs.rmSync(path, { force: true });
        }
      }),
      { numRuns: 30 },
    );
  });
});
