// PBlob (src/containers/blob.ts, assembly/containers/blob.ts): random
// create / replace / read / free sequences against a model (empty, small and
// ≥ 64 KiB contents, inside committed and aborted transactions), the offset
// that never changes, refused calls that change nothing, and crash
// exploration of replace: after a crash a blob holds its old bytes or its
// new ones, never a mix, and nothing leaks. Random runs are seeded: a failure
// prints the fast-check seed and path, an explored one its replay line.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Pool, PBlob, PVector, explore, formatReport, callLabel, returnLabel, canonical, checkLinearizable, prefixKeys, progressOf,
  NotAContainerError, OutOfSpaceError, PheapError,
} from '../src/index.js';

const FILE = 'test/blob.test.ts';
const SEED = 515;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function bytesOf(tag: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = (tag * 17 + i * 5 + (i >>> 9)) & 255;
  return out;
}

const lenArb = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 300 }) }, { weight: 2, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 64 << 10, max: 150_000 }) });

type Op =
  | { k: 'create'; tag: number; len: number }
  | { k: 'replace'; which: number; tag: number; len: number }
  | { k: 'free'; which: number }
  | { k: 'tx'; which: number; tags: number[]; len: number; abort: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('create' as const), tag: fc.nat(255), len: lenArb }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('replace' as const), which: fc.nat(), tag: fc.nat(255), len: lenArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('free' as const), which: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('tx' as const), which: fc.nat(), tags: fc.array(fc.nat(255), { minLength: 1, maxLength: 3 }), len: lenArb, abort: fc.boolean() }) },
);

describe('model-based: random sequences', () => {
  it('contents, lengths, stable offsets, verify(), pool.check() and no leaked object', () => {
    let runs = 0, opsRun = 0;
    fc.assert(fc.property(fc.array(opArb, { maxLength: 25 }), (ops) => {
      const pool = Pool.create({ size: 8 << 20, layout: 'blob', seed: 5 });
      const blobs: PBlob[] = [];
      const model: string[] = [];
      for (const op of ops) {
        opsRun++;
        if (op.k === 'create') { blobs.push(PBlob.create(pool, bytesOf(op.tag, op.len))); model.push(hex(bytesOf(op.tag, op.len))); continue; }
        if (blobs.length === 0) continue;
        const i = op.which % blobs.length;
        if (op.k === 'replace') { blobs[i].replace(bytesOf(op.tag, op.len)); model[i] = hex(bytesOf(op.tag, op.len)); }
        else if (op.k === 'free') { const [b] = blobs.splice(i, 1); model.splice(i, 1); b.free(); expect(() => b.read()).toThrow(NotAContainerError); }
        else {
          const abort = new Error('abort');
          try {
            pool.tx(() => { for (const t of op.tags) blobs[i].replace(bytesOf(t, op.len)); if (op.abort) throw abort; });
            model[i] = hex(bytesOf(op.tags[op.tags.length - 1], op.len));
          } catch (e) { if (e !== abort) throw e; }
        }
      }
      blobs.forEach((b, i) => {
        expect(hex(b.read())).toBe(model[i]);
        expect(b.length).toBe(model[i].length / 2);
        expect(hex(PBlob.open(pool, b.offset).read())).toBe(model[i]);
        b.verify();
      });
      pool.check();
      for (const b of blobs) b.free();
      expect([...pool.objects()]).toEqual([]);
      pool.close();
      runs++;
    }), { seed: SEED, numRuns: 40 });
    console.log(`blob model: ${runs} runs, ${opsRun} operations agree (fast-check seed ${SEED})`);
  });
});

describe('refused calls change nothing', () => {
  it('typed errors; bad arguments leave the pool byte-identical; OutOfSpaceError keeps the old bytes', () => {
    const pool = Pool.create({ size: 1 << 20, maxSize: 1 << 20, layout: 'blob', seed: 5 }) // fixed: out of space must happen;
    const b = PBlob.create(pool, bytesOf(1, 50));
    const v = PVector.create(pool);
    const before = hex(pool.readBytes(0, pool.size));
    for (const call of [
      () => PBlob.create(pool, 'x' as unknown as Uint8Array), () => PBlob.create(null as unknown as Pool, new Uint8Array(1)),
      () => b.replace([1, 2] as unknown as Uint8Array), () => PBlob.open(pool, v.offset), () => PBlob.open(pool, b.offset + 16),
      () => PBlob.open(pool, 1.5), () => PBlob.open(pool, -1), () => PBlob.open(pool, pool.size),
    ]) expect(call).toThrow(PheapError);
    expect(hex(pool.readBytes(0, pool.size))).toBe(before);
    expect(() => b.replace(new Uint8Array(2 << 20))).toThrow(PheapError); // larger than the pool
    expect(() => b.replace(new Uint8Array(900_000))).toThrow(OutOfSpaceError);
    expect(hex(b.read())).toBe(hex(bytesOf(1, 50)));
    pool.check();
  });
});

describe('crash exploration: replace is atomic', () => {
  const plan: [number, number][] = [[2, 10], [3, 0], [4, 70_000], [5, 40], [6, 1]]; // (tag, length): empty and ≥ 64 KiB contents too
  const keys = prefixKeys({ initial: hex(bytesOf(1, 5)), apply: (_s: string, op: [number, number]) => hex(bytesOf(...op)) }, plan);
  for (const depth of [1, 2]) {
    it(`${depth === 1 ? 'one crash' : 'two crashes in a row'}: old bytes or new ones, nothing leaked`, () => {
      const r = explore({
        name: `blob replace depth ${depth}`, file: FILE, size: 2 << 20, depth, seed: 3, seeds: 3, deeper: { states: 6, points: 6 },
        setup: (p) => { const root = p.root(8); const b = PBlob.create(p, bytesOf(1, 5)); p.tx((tx) => tx.setU32(root, b.offset)); },
        workload: (p, mark) => {
          const b = PBlob.open(p, p.readU32(p.root(8)));
          plan.forEach(([tag, len], i) => { mark(callLabel(i)); b.replace(bytesOf(tag, len)); mark(returnLabel(i)); });
        },
        check: (p, markers, crash) => {
          const b = PBlob.open(p, p.readU32(p.root(8)));
          b.verify();
          const bytes = hex(b.read());
          const got = canonical(bytes);
          // Level 1: the plan's state after a prefix in its window. Level 2 replays the plan on that
          // state: after one replace or more it is that replace's bytes; after none, level 1's state.
          const at = (l: number) => progressOf(markers.filter((m) => m.level === l));
          if (!crash.prior?.length) checkLinearizable(got, keys, at(1));
          else {
            const { called, returned } = at(2);
            const allowed = keys.slice(Math.max(1, returned), called + 1);
            if (returned === 0) allowed.push(...keys.slice(at(1).returned, at(1).called + 1));
            expect(allowed, `level 2, ${returned}..${called} of the replayed plan`).toContain(got);
          }
          expect([...p.objects()].length).toBe(1 + 1 + (bytes === '' ? 0 : 1)); // root, header, data
        },
      });
      if (r.failures.length) throw new Error(formatReport(r));
      expect(r.levels).toHaveLength(depth);
      console.log(`blob replace, ${depth === 1 ? 'one crash' : 'two crashes'}: ${formatReport(r)}`);
    });
  }
});
