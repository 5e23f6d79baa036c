// Allocator: unit behaviour, a property test against a reference model,
// reopen determinism, and crash exploration of atomic alloc/free with publish.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  Pool, explore, formatReport, NotLiveError, OffsetError, OutOfSpaceError, BadTypeError, InvalidSizeError, CHUNK_SIZE,
} from '../src/index.js';

const MiB = 1 << 20;
// Fixed-size pools (maxSize = size): these tests are about a heap that runs out; growth is test/growth.test.ts.
const mem = (size = MiB) => Pool.create({ size, maxSize: size, layout: 'alloc', seed: 7 });

describe('alloc / free basics', () => {
  it('returns 16-byte aligned, typed, sized objects; 64-byte alignment on request', () => {
    const p = mem();
    for (const size of [1, 15, 16, 17, 100, 1000, 5000, 40000, 70000]) {
      const a = p.alloc(size, { type: 5 });
      expect(a % 16).toBe(0);
      expect(p.typeOf(a)).toBe(5);
      expect(p.sizeOf(a)).toBe(size);
      expect(p.usableSize(a)).toBeGreaterThanOrEqual(size);
      const b = p.alloc(size, { align64: true });
      expect(b % 64).toBe(0);
      expect(p.usableSize(b)).toBeGreaterThanOrEqual(size);
    }
    p.check();
  });

  it('zeroes on request', () => {
    const p = mem();
    const a = p.alloc(256);
    p.writeBytes(a, new Uint8Array(256).fill(0xab));
    p.free(a);
    const b = p.alloc(256, { zero: true });
    expect(b).toBe(a); // lowest free slot is reused
    expect(p.readBytes(b, 256).every((x) => x === 0)).toBe(true);
  });

  it('rejects double free, bogus offsets and bad types with typed errors, leaving the heap intact', () => {
    const p = mem();
    const a = p.alloc(64);
    p.free(a);
    expect(() => p.free(a)).toThrow(NotLiveError);
    expect(() => p.free(a + 16)).toThrow(NotLiveError);
    expect(() => p.free(12345)).toThrow(NotLiveError);
    expect(() => p.free(10 * MiB)).toThrow(OffsetError);
    expect(() => p.alloc(64, { type: 0xffff0001 })).toThrow(BadTypeError);
    expect(() => p.alloc(0)).toThrow(InvalidSizeError);
    expect(() => p.realloc(a, 128)).toThrow(NotLiveError);
    const r = p.root(8);
    expect(() => p.free(r)).toThrow(BadTypeError); // the root is the pool's own
    p.check();
  });

  it('answers out of space with OutOfSpaceError and stays consistent', () => {
    const p = mem();
    const got: number[] = [];
    expect(() => { for (;;) got.push(p.alloc(3000)); }).toThrow(OutOfSpaceError);
    expect(() => p.alloc(2 * MiB)).toThrow(InvalidSizeError);
    expect(() => p.alloc(900 * 1024)).toThrow(OutOfSpaceError);
    p.check();
    for (const a of got) p.free(a);
    p.check();
    const big = p.alloc(12 * CHUNK_SIZE); // empty runs are reclaimed for large objects
    expect(p.usableSize(big)).toBeGreaterThanOrEqual(12 * CHUNK_SIZE);
    p.check();
  });

  it('coalesces freed neighbouring chunks for large objects', () => {
    const p = mem();
    const chunks = (n: number) => n * CHUNK_SIZE - 16; // exactly n chunks with the header
    const [a, b, c] = [p.alloc(chunks(3)), p.alloc(chunks(3)), p.alloc(chunks(3))];
    const rest = p.alloc(chunks(6)); // 15 chunks in a 1 MiB pool: now all used
    expect(() => p.alloc(chunks(8))).toThrow(OutOfSpaceError);
    p.free(a); p.free(c); p.free(b);
    const big = p.alloc(chunks(9));
    expect(big).toBe(a);
    p.free(rest);
    p.check();
  });

  it('iterates live objects, all or by type, in address order', () => {
    const p = mem();
    const xs = [p.alloc(10, { type: 1 }), p.alloc(10, { type: 2 }), p.alloc(100000, { type: 1 }), p.alloc(500, { type: 2 })];
    p.free(xs[1]);
    expect([...p.objects(1)]).toEqual([xs[0], xs[2]]);
    expect([...p.objects(2)]).toEqual([xs[3]]);
    expect([...p.objects()].sort((a, b) => a - b)).toEqual([xs[0], xs[2], xs[3]].sort((a, b) => a - b));
  });

  it('publishes atomically into a pointer and clears it atomically on free', () => {
    const p = mem();
    const r = p.root(64);
    const a = p.alloc(40, { into: r + 8 });
    expect(p.readU32(r + 8)).toBe(a);
    p.free(a, { from: r + 8 });
    expect(p.readU32(r + 8)).toBe(0);
    expect(p.isLive(a)).toBe(false);
    expect(() => p.alloc(8, { into: 4 })).toThrow(OffsetError); // the header is not an object
  });

  it('realloc keeps old bytes, zeroes new ones, and may move', () => {
    const p = mem();
    const a = p.alloc(20);
    p.writeBytes(a, new Uint8Array(20).fill(7));
    const b = p.realloc(a, 24); // fits in the slot: grows in place
    expect(b).toBe(a);
    expect([...p.readBytes(b, 24)]).toEqual([...new Array(20).fill(7), 0, 0, 0, 0]);
    const c = p.realloc(b, 5000);
    expect(c).not.toBe(b);
    expect(p.isLive(b)).toBe(false);
    expect([...p.readBytes(c, 21)]).toEqual([...new Array(20).fill(7), 0]);
    expect(p.readBytes(c + 20, 4980).every((x) => x === 0)).toBe(true);
    p.check();
  });

  it('realloc with a destination in another object resizes the right object', () => {
    const p = mem();
    const r = p.root(16);
    const big = p.alloc(70_000, { into: r });
    p.writeBytes(big, new Uint8Array(100).fill(3));
    const small = p.realloc(big, 100, { into: r }); // fewer chunks: moves, publishing the new offset
    expect(small).not.toBe(big);
    expect(p.readU32(r)).toBe(small);
    expect(p.readBytes(small, 100).every((x) => x === 3)).toBe(true);
    p.check();
    const q = p.crash({ mode: 'strict' });
    expect(q.readU32(r)).toBe(small);
    q.check();
  });

  it('free with a destination frees the object, not the destination\'s', () => {
    const p = mem();
    const holder = p.alloc(64);
    const a = p.alloc(64, { into: holder });
    p.free(a, { from: holder });
    expect(() => p.free(a, { from: holder })).toThrow(NotLiveError); // a double free is still caught
    expect(p.isLive(holder)).toBe(true);
    p.check();
  });

  it('reports heap figures in stats()', () => {
    const p = mem();
    for (let i = 0; i < 10; i++) p.alloc(100, { type: 3 });
    const big = p.alloc(200000, { type: 4 });
    const s = p.stats().heap;
    expect(s.liveObjects).toBe(11);
    expect(s.liveBytes).toBe(10 * 100 + 200000);
    expect(s.objectsByType).toEqual({ 3: 10, 4: 1 });
    expect(s.freeBytes).toBeGreaterThan(0);
    expect(s.fragmentation).toBeGreaterThanOrEqual(0);
    expect(s.fragmentation).toBeLessThan(1);
    expect(s.metadataBytes).toBeGreaterThan(0);
    p.free(big);
    expect(p.stats().heap.liveObjects).toBe(10);
  });
});

type Op = { kind: 'alloc'; size: number; align: boolean } | { kind: 'free'; pick: number } | { kind: 'realloc'; pick: number; size: number };
const sizeArb = fc.oneof(fc.integer({ min: 1, max: 256 }), fc.integer({ min: 257, max: 4096 }), fc.integer({ min: 4097, max: 150000 }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('alloc' as const), size: sizeArb, align: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('realloc' as const), pick: fc.nat(), size: sizeArb }) },
);

function pattern(seed: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = (seed * 31 + i * 7) & 0xff;
  return out;
}

describe('allocator against a reference model (fast-check)', () => {
  it('never overlaps, keeps contents, aligns, and check() passes after every step', () => {
    fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
      const p = Pool.create({ size: 2 * MiB, maxSize: 2 * MiB, layout: 'model' });
      const live = new Map<number, { size: number; tag: number; align: boolean }>();
      let tag = 0;
      for (const op of ops) {
        const keys = [...live.keys()];
        try {
          if (op.kind === 'alloc') {
            const a = p.alloc(op.size, { align64: op.align });
            live.set(a, { size: op.size, tag: ++tag, align: op.align });
            p.writeBytes(a, pattern(tag, op.size));
          } else if (keys.length > 0 && op.kind === 'free') {
            const a = keys[op.pick % keys.length];
            p.free(a);
            live.delete(a);
          } else if (keys.length > 0 && op.kind === 'realloc') {
            const a = keys[op.pick % keys.length];
            const o = live.get(a)!;
            const b = p.realloc(a, op.size);
            live.delete(a);
            const keep = Math.min(o.size, op.size);
            expect([...p.readBytes(b, keep)]).toEqual([...pattern(o.tag, o.size).subarray(0, keep)]);
            live.set(b, { size: op.size, tag: ++tag, align: o.align && b % 64 === 0 });
            p.writeBytes(b, pattern(tag, op.size));
          }
        } catch (e) {
          if (!(e instanceof OutOfSpaceError)) throw e;
        }
        p.check();
        const spans = [...live.entries()].map(([a, o]) => [a, a + p.usableSize(a), o] as const).sort((x, y) => x[0] - y[0]);
        for (let i = 0; i < spans.length; i++) {
          const [a, end, o] = spans[i];
          expect(a % (o.align ? 64 : 16)).toBe(0);
          expect(end - a).toBeGreaterThanOrEqual(o.size);
          if (i > 0) expect(a).toBeGreaterThanOrEqual(spans[i - 1][1] + 16); // + the next header
          expect([...p.readBytes(a, o.size)]).toEqual([...pattern(o.tag, o.size)]);
        }
        expect(new Set(p.objects()).size).toBe(live.size);
      }
    }), { numRuns: 40, seed: 20261121 });
  });

  it('a reopened pool has the same free space and allocates exactly as the original', () => {
    fc.assert(fc.property(fc.array(opArb, { minLength: 5, maxLength: 40 }), fc.array(sizeArb, { minLength: 5, maxLength: 20 }), (ops, next) => {
      const p = Pool.create({ size: 2 * MiB, maxSize: 2 * MiB, layout: 'reopen', seed: 3 });
      const live: number[] = [];
      for (const op of ops) {
        try {
          if (op.kind === 'alloc') live.push(p.alloc(op.size, { align64: op.align }));
          else if (live.length && op.kind === 'free') p.free(live.splice(op.pick % live.length, 1)[0]);
          else if (live.length && op.kind === 'realloc') { const i = op.pick % live.length; live[i] = p.realloc(live[i], op.size); }
        } catch (e) { if (!(e instanceof OutOfSpaceError)) throw e; }
      }
      const q = Pool.open({ image: p.durableImage(), layout: 'reopen' });
      const { heap: a } = p.stats(), { heap: b } = q.stats();
      expect(b).toEqual(a);
      for (const size of next) {
        let x = -1, y = -1;
        try { x = p.alloc(size); } catch (e) { if (!(e instanceof OutOfSpaceError)) throw e; }
        try { y = q.alloc(size); } catch (e) { if (!(e instanceof OutOfSpaceError)) throw e; }
        expect(y).toBe(x);
      }
      q.check();
    }), { numRuns: 30, seed: 42 });
  });
});

describe('crash consistency of atomic alloc/free with publish', () => {
  const SLOTS = 8;
  it('after any crash (and after a second crash of the run that follows): every published pointer names a live object, nothing leaks, nothing is owned twice', () => {
    let root = 0;
    const sizes = [24, 100, 3000, 70000, 48, 640, 24, 200000];
    let total = 0, second = 0;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const r = explore({
        size: 2 * MiB,
        modes: ['strict', 'pending', 'evict'],
        seeds: 6,
        poolSeed: seed,
        seed,
        depth: 2,
        setup: (p) => { root = p.root(4 * SLOTS); },
        workload: (p, mark) => {
          for (let i = 0; i < SLOTS; i++) { p.alloc(sizes[(i + seed) % sizes.length], { type: 9, into: root + 4 * i }); mark(`alloc ${i}`); }
          for (let i = 0; i < SLOTS; i += 2) { p.free(p.readU32(root + 4 * i), { from: root + 4 * i }); mark(`free ${i}`); }
          for (let i = 0; i < SLOTS; i += 4) { p.alloc(sizes[i], { type: 9, into: root + 4 * i }); mark(`realloc ${i}`); }
        },
        // after a crash and its recovery: free what is published (atomically with clearing it), then the same again
        continue: (p, mark) => {
          for (let i = 0; i < SLOTS; i++) { const o = p.readU32(root + 4 * i); if (o) p.free(o, { from: root + 4 * i }); }
          mark('cleared');
          for (let i = 0; i < SLOTS; i++) { p.alloc(sizes[(i + seed) % sizes.length], { type: 9, into: root + 4 * i }); mark(`alloc ${i}`); }
        },
        check: (p) => {
          const r0 = p.root(4 * SLOTS);
          const published = Array.from({ length: SLOTS }, (_, i) => p.readU32(r0 + 4 * i)).filter((x) => x !== 0);
          for (const off of published) expect(p.isLive(off)).toBe(true);
          expect(new Set(published).size).toBe(published.length);
          expect([...p.objects(9)].sort()).toEqual([...published].sort());
        },
      });
      if (r.failures.length) throw new Error(formatReport(r));
      total += r.states;
      second += r.levels[1].states;
    }
    console.log(`alloc/publish crash exploration: ${total} crash states explored (${second} of them at crash level 2)`);
    expect(total).toBeGreaterThan(600); // unique images: duplicates (inside recovery too) are explored once
  });
});
