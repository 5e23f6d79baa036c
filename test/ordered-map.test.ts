// ordered-map.test.ts — OrderedMap against a model (a JS Map + sorted keys):
// random put / remove / get / range sequences (fast-check, seeded), key and
// value size limits, 1e5-entry runs, splits and merges at every level, the
// failure rule (a failing call leaves the map and every object as it was,
// alone or inside a transaction), transactions and group commit, and
// iteration while the map changes.
//
// Every random run is seeded; its test prints the line that reproduces it.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  InvalidArgumentError, LogFullError, NotAContainerError, OrderedMap, OutOfSpaceError, Pool, Prng,
  ORDERED_MAP_KEY_MAX, compareKeys,
} from '../src/index.js';
import { CORE } from '../src/internal.js';

const FILE = 'test/ordered-map.test.ts';
const MiB = 1 << 20;
const hex = (k: Uint8Array) => Buffer.from(k).toString('hex');
const unhex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

/** The reference: key (hex) → value. */
class MapModel {
  readonly m = new Map<string, Uint8Array>();
  put(k: Uint8Array, v: Uint8Array): void { this.m.set(hex(k), v.slice()); }
  remove(k: Uint8Array): boolean { return this.m.delete(hex(k)); }
  get(k: Uint8Array): Uint8Array | undefined { return this.m.get(hex(k)); }
  sortedKeys(): Uint8Array[] { return [...this.m.keys()].map(unhex).sort(compareKeys); }
  /** What range(opts) must yield, as [keyHex, value] pairs. */
  range(o: { start?: Uint8Array; end?: Uint8Array; reverse?: boolean; limit?: number; offset?: number }): string[] {
    let keys = this.sortedKeys();
    if (o.reverse) keys.reverse();
    const dir = o.reverse ? -1 : 1;
    keys = keys.filter((k) => (!o.start || compareKeys(k, o.start) * dir >= 0) && (!o.end || compareKeys(k, o.end) * dir < 0));
    return keys.slice(o.offset ?? 0, (o.offset ?? 0) + (o.limit ?? Infinity)).map((k) => `${hex(k)}=${hex(this.m.get(hex(k))!)}`);
  }
}

const shown = (it: Iterable<{ key: Uint8Array; value: Uint8Array }>) => [...it].map((e) => `${hex(e.key)}=${hex(e.value)}`);

/** The map equals the model: every entry both ways, count, check(), and the pool's objects are exactly the map's. */
function expectSame(pool: Pool, map: OrderedMap, model: MapModel, otherObjects = 0): void {
  expect(map.count).toBe(model.m.size);
  expect(shown(map.range())).toEqual(model.range({}));
  expect(shown(map.range({ reverse: true }))).toEqual(model.range({ reverse: true }));
  const c = map.check();
  expect(c.entries).toBe(model.m.size);
  expect(pool.stats().heap.liveObjects, 'no leaked objects: the pool holds exactly what the map owns').toBe(c.objects + otherObjects);
  pool.check();
}

/** Every live object's offset, type and bytes: what "the pool is unchanged" means for objects. */
function objectsImage(pool: Pool): Map<number, string> {
  const out = new Map<number, string>();
  for (const off of pool.objects()) out.set(off, `${pool.typeOf(off)}:${hex(pool.readBytes(off, pool.sizeOf(off)))}`);
  return out;
}

// ─── generators ─────────────────────────────────────────────────────────────

const SHARED = new Uint8Array(1000).fill(0x61);
/** Keys: few distinct ones (many duplicates), the empty key, long keys sharing a prefix, up to the limit. */
const keyArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 40 }).map((i) => new TextEncoder().encode(`k${i}`)) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 6 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 24 }).map((i) => { const k = new Uint8Array(1000 + i); k.set(SHARED); k[999] = i; return k; }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }).map((i) => new Uint8Array(ORDERED_MAP_KEY_MAX).fill(i)) },
);
/** Values: empty, small, around the inline limit (256), and huge (>= 64 KiB, rarely). */
const valueArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 3, arbitrary: fc.integer({ min: 250, max: 300 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })) },
  { weight: 1, arbitrary: fc.integer({ min: 64 << 10, max: 80 << 10 }).map((n) => new Uint8Array(n).fill(n & 255)) },
);
type RangeOpts = { start?: Uint8Array; end?: Uint8Array; reverse: boolean; limit?: number; offset?: number };
const rangeArb: fc.Arbitrary<RangeOpts> = fc.record({
  start: fc.option(keyArb, { nil: undefined }), end: fc.option(keyArb, { nil: undefined }), reverse: fc.boolean(),
  limit: fc.option(fc.nat(30), { nil: undefined }), offset: fc.option(fc.nat(10), { nil: undefined }),
}, { requiredKeys: ['reverse'] });
type Op =
  | { k: 'put'; key: Uint8Array; value: Uint8Array }
  | { k: 'remove'; key: Uint8Array }
  | { k: 'get'; key: Uint8Array }
  | { k: 'range'; opts: RangeOpts };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('put' as const), key: keyArb, value: valueArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('remove' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('get' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('range' as const), opts: rangeArb }) },
);

function applyOp(map: OrderedMap, model: MapModel, op: Op): void {
  if (op.k === 'put') { map.put(op.key, op.value); model.put(op.key, op.value); }
  if (op.k === 'remove') expect(map.remove(op.key)).toBe(model.remove(op.key));
  if (op.k === 'get') {
    const v = map.get(op.key);
    expect(v === undefined ? undefined : hex(v)).toBe(model.get(op.key) === undefined ? undefined : hex(model.get(op.key)!));
  }
  if (op.k === 'range') expect(shown(map.range(op.opts))).toEqual(model.range(op.opts));
}

// ─── tests ──────────────────────────────────────────────────────────────────

describe('OrderedMap against a model', () => {
  it('random put / remove / get / range sequences (duplicates, empty and 1 KiB keys, empty and 64 KiB+ values)', () => {
    const seed = 20261201;
    console.log(`model run: fast-check seed ${seed}; reproduce: npx vitest run ${FILE} -t 'random put'`);
    fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 120 }), (ops) => {
      const pool = Pool.create({ size: 16 * MiB, layout: 'map' });
      const map = OrderedMap.create(pool);
      const model = new MapModel();
      for (const op of ops) applyOp(map, model, op);
      expectSame(pool, map, model);
      for (const k of model.sortedKeys()) { expect(map.remove(k)).toBe(true); model.remove(k); }
      expectSame(pool, map, model);
      expect(map.check().objects, 'an emptied map owns its header and one empty leaf').toBe(2);
      pool.close();
    }), { numRuns: 30, seed });
  });

  it('first() and last() follow the smallest and largest key', () => {
    const pool = Pool.create({ size: 4 * MiB, layout: 'map' });
    const map = OrderedMap.create(pool);
    expect(map.first()).toBeUndefined();
    expect(map.last()).toBeUndefined();
    const rng = new Prng('first-last');
    const model = new MapModel();
    for (let i = 0; i < 400; i++) {
      const k = rng.bytes(new Uint8Array(rng.below(5)));
      if (rng.below(3) === 0) { map.remove(k); model.remove(k); } else { map.put(k, k); model.put(k, k); }
      const keys = model.sortedKeys();
      expect(map.first() && hex(map.first()!.key)).toBe(keys.length ? hex(keys[0]) : undefined);
      expect(map.last() && hex(map.last()!.value)).toBe(keys.length ? hex(keys[keys.length - 1]) : undefined);
    }
    expectSame(pool, map, model);
  });
});

describe('limits', () => {
  it('a key of KEY_MAX bytes is stored; one byte more is InvalidArgumentError and the pool is byte-identical', () => {
    const pool = Pool.create({ size: 4 * MiB, layout: 'map', seed: 1 });
    const map = OrderedMap.create(pool);
    expect(pool[CORE].core.btreeKeyMax(), 'the host and the core agree on the limit').toBe(ORDERED_MAP_KEY_MAX);
    const max = new Uint8Array(ORDERED_MAP_KEY_MAX).fill(7);
    map.put(max, new Uint8Array([1]));
    expect(map.get(max)).toEqual(new Uint8Array([1]));
    const before = pool.readBytes(0, pool.size);
    const tooLong = new Uint8Array(ORDERED_MAP_KEY_MAX + 1).fill(7);
    for (const call of [() => map.put(tooLong, new Uint8Array(1)), () => map.get(tooLong), () => map.remove(tooLong), () => map.put(new Uint8Array(5000), new Uint8Array(1))]) {
      expect(call).toThrow(InvalidArgumentError);
    }
    expect(() => map.put('k' as unknown as Uint8Array, new Uint8Array(1))).toThrow(InvalidArgumentError);
    expect(() => map.put(max, [1] as unknown as Uint8Array)).toThrow(InvalidArgumentError);
    expect(() => [...map.range({ limit: -1 })]).toThrow(InvalidArgumentError);
    expect(() => [...map.range({ bogus: 1 } as never)]).toThrow(InvalidArgumentError);
    expect(Buffer.compare(pool.readBytes(0, pool.size), before)).toBe(0);
  });

  it('values larger than the I/O area (1 MiB) go through a transaction of their own and read back whole', () => {
    const pool = Pool.create({ size: 16 * MiB, layout: 'map' });
    const map = OrderedMap.create(pool);
    const big = new Prng('big').bytes(new Uint8Array(MiB + 3));
    map.put(new Uint8Array([1]), big);
    map.put(new Uint8Array([2]), big.subarray(0, 70000));
    expect(Buffer.compare(map.get(new Uint8Array([1]))!, big)).toBe(0);
    map.put(new Uint8Array([1]), new Uint8Array([9]));
    expect(map.get(new Uint8Array([1]))).toEqual(new Uint8Array([9]));
    const model = new MapModel();
    model.put(new Uint8Array([1]), new Uint8Array([9]));
    model.put(new Uint8Array([2]), big.subarray(0, 70000));
    expectSame(pool, map, model);
  });

  it('open() finds a map again and refuses what is not one', () => {
    const pool = Pool.create({ size: 4 * MiB, layout: 'map' });
    const r = pool.root(16);
    const map = OrderedMap.create(pool, { into: r });
    map.put(new Uint8Array([1, 2]), new Uint8Array([3]));
    expect(pool.readU32(r)).toBe(map.offset);
    const again = OrderedMap.open(pool, pool.readU32(r));
    expect(again.get(new Uint8Array([1, 2]))).toEqual(new Uint8Array([3]));
    for (const off of [r, pool.size + 64, map.offset + 16, 0]) expect(() => OrderedMap.open(pool, off)).toThrow(NotAContainerError);
    expect(() => OrderedMap.open(pool, 1.5)).toThrow(InvalidArgumentError);
    pool.close();
    expect(() => map.count).toThrow();
  });
});

describe('size: 1e5 entries, splits and merges at every level', () => {
  const N = 100_000;
  const key = (i: number) => { const k = new Uint8Array(16); new DataView(k.buffer).setUint32(12, i); return k; };
  for (const order of ['sequential', 'random'] as const) {
    it(`${order}: order, count and check() hold; deleting everything merges back to one leaf`, () => {
      const pool = Pool.create({ size: 64 * MiB, layout: 'map' });
      const map = OrderedMap.create(pool);
      const ids = Array.from({ length: N }, (_, i) => i);
      const rng = new Prng(`1e5-${order}`);
      if (order === 'random') for (let i = N - 1; i > 0; i--) { const j = rng.below(i + 1); [ids[i], ids[j]] = [ids[j], ids[i]]; }
      const value = new Uint8Array(8);
      for (const i of ids) { new DataView(value.buffer).setUint32(0, i); map.put(key(i), value); }
      expect(map.count).toBe(N);
      const c = map.check();
      expect(c.height).toBe(3);
      pool.check();
      let n = 0;
      for (const e of map.range()) { expect(new DataView(e.key.buffer).getUint32(12)).toBe(n); expect(new DataView(e.value.buffer).getUint32(0)).toBe(n); n++; }
      expect(n).toBe(N);
      for (const i of ids) expect(map.remove(key(i))).toBe(true);
      const empty = map.check();
      expect(empty).toEqual({ objects: 2, entries: 0, height: 1 });
      expect(pool.stats().heap.liveObjects).toBe(2);
      pool.check();
      console.log(`1e5 ${order}: height ${c.height}, ${c.objects} objects; after deleting all: ${empty.objects} (seed '1e5-${order}')`);
    }, 60_000);
  }

  it('1 KiB keys: a tree of height 5 grows and shrinks back level by level (seeded order)', () => {
    const pool = Pool.create({ size: 16 * MiB, layout: 'map' });
    const map = OrderedMap.create(pool);
    const model = new MapModel();
    const rng = new Prng('tall');
    const heights = new Set<number>();
    const k = (i: number) => { const b = new Uint8Array(1000 + (i % 24)); new DataView(b.buffer).setUint32(0, i * 2654435761 >>> 0); return b; };
    for (let i = 0; i < 400; i++) { map.put(k(i), new Uint8Array(i % 200)); model.put(k(i), new Uint8Array(i % 200)); heights.add(map.check().height); }
    expect(Math.max(...heights)).toBeGreaterThanOrEqual(5);
    expectSame(pool, map, model);
    const keys = model.sortedKeys();
    for (let i = keys.length - 1; i > 0; i--) { const j = rng.below(i + 1); [keys[i], keys[j]] = [keys[j], keys[i]]; }
    const down = new Set<number>();
    for (const key of keys) { expect(map.remove(key)).toBe(true); model.remove(key); down.add(map.check().height); }
    expect([...down].sort()).toEqual([...heights].sort());
    expectSame(pool, map, model);
    console.log(`1 KiB keys: heights seen growing ${[...heights].join(',')}, shrinking ${[...down].join(',')} (seed 'tall')`);
  });
});

describe('a failing call leaves the map and every object as it was', () => {
  /** Puts random entries until one fails; returns the error. */
  function fillUntilFailure(map: OrderedMap, model: MapModel, rng: Prng, pool: Pool): unknown {
    for (let i = 0; ; i++) {
      const key = rng.bytes(new Uint8Array(1 + rng.below(900)));
      const value = new Uint8Array(rng.below(4) === 0 ? 20000 + rng.below(40000) : rng.below(300)).fill(i & 255);
      const before = objectsImage(pool);
      try {
        map.put(key, value);
      } catch (e) {
        expect(objectsImage(pool), 'every object byte-identical after the failed put').toEqual(before);
        return e;
      }
      model.put(key, value);
      if (rng.below(5) === 0) { const victim = model.sortedKeys()[rng.below(model.m.size)]; expect(map.remove(victim)).toBe(true); model.remove(victim); }
    }
  }

  it('alone: OutOfSpaceError (several seeds), and the map goes on', () => {
    const kinds = new Set<string>();
    for (const seed of [1, 2, 3, 4]) {
      const pool = Pool.create({ size: MiB, maxSize: MiB, layout: 'map' }); // a heap that runs out: no growth
      const map = OrderedMap.create(pool);
      const model = new MapModel();
      const e = fillUntilFailure(map, model, new Prng(`oos-${seed}`), pool);
      expect(e).toBeInstanceOf(OutOfSpaceError);
      kinds.add((e as Error).name);
      expectSame(pool, map, model);
      const victim = model.sortedKeys()[0];
      map.remove(victim); model.remove(victim);
      expectSame(pool, map, model);
    }
    console.log(`failures alone: ${[...kinds].join(', ')} (seeds 'oos-1'..'oos-4')`);
  });

  it('inside a transaction: the failed put is undone alone, the transaction goes on and commits', () => {
    const kinds = new Set<string>();
    for (const seed of [1, 2, 3]) {
      const pool = Pool.create({ size: MiB, maxSize: MiB, layout: 'map' });
      const map = OrderedMap.create(pool);
      const model = new MapModel();
      const rng = new Prng(`in-tx-${seed}`);
      pool.tx(() => {
        const e = fillUntilFailure(map, model, rng, pool);
        expect(e instanceof OutOfSpaceError || e instanceof LogFullError).toBe(true);
        kinds.add((e as Error).name);
        expect(shown(map.range())).toEqual(model.range({}));
        map.put(new Uint8Array([0]), new Uint8Array([1]));
        model.put(new Uint8Array([0]), new Uint8Array([1]));
      });
      expectSame(pool, map, model);
    }
    console.log(`failures inside a transaction: ${[...kinds].join(', ')} (seeds 'in-tx-1'..'in-tx-3')`);
  });

  it('inside a transaction: LogFullError (the heap has no chunk left for the log to grow) undoes the failed call alone', () => {
    const pool = Pool.create({ size: MiB, maxSize: MiB, layout: 'map' });
    const map = OrderedMap.create(pool);
    const model = new MapModel();
    const rng = new Prng('log-full');
    const key = (i: number) => { const k = new Uint8Array(200); new DataView(k.buffer).setUint32(0, i); return k; };
    let n = 0;
    try { for (;; n++) { map.put(key(n), new Uint8Array(8)); model.put(key(n), new Uint8Array(8)); } } catch (e) { expect(e).toBeInstanceOf(OutOfSpaceError); }
    let failure: unknown;
    pool.tx(() => {
      for (let round = 0; failure === undefined && round < 20 * n; round++) {
        const k = key(rng.below(n)), v = rng.bytes(new Uint8Array(8));
        const before = objectsImage(pool);
        try { map.put(k, v); model.put(k, v); } catch (e) { failure = e; expect(objectsImage(pool)).toEqual(before); }
      }
      expect(shown(map.range())).toEqual(model.range({}));
    });
    expect(failure).toBeInstanceOf(LogFullError);
    expectSame(pool, map, model);
    console.log(`LogFullError inside a transaction after filling the pool with ${n} entries (seed 'log-full')`);
  });
});

describe('transactions', () => {
  it('map calls inside pool.tx commit together, and roll back together when fn throws', () => {
    const pool = Pool.create({ size: 4 * MiB, layout: 'map' });
    const r = pool.root(8);
    const map = OrderedMap.create(pool);
    const model = new MapModel();
    const rng = new Prng('tx');
    let committed = 0;
    for (let round = 0; round < 30; round++) {
      const ops: Op[] = Array.from({ length: 1 + rng.below(20) }, () => {
        const key = new Uint8Array([rng.below(60)]);
        return rng.below(3) === 0 ? { k: 'remove' as const, key } : { k: 'put' as const, key, value: new Uint8Array(rng.below(400)).fill(round) };
      });
      const commit = rng.coin();
      const next = new MapModel();
      for (const [k, v] of model.m) next.m.set(k, v);
      try {
        pool.tx((tx) => {
          for (const op of ops) applyOp(map, next, op);
          tx.setU32(r, round);
          if (!commit) throw new Error('abort');
        });
      } catch (e) {
        if ((e as Error).message !== 'abort') throw e;
      }
      if (commit) { model.m.clear(); for (const [k, v] of next.m) model.m.set(k, v); committed = round; }
      expect(pool.readU32(r)).toBe(committed);
      expectSame(pool, map, model, 1);
    }
  });

  it('group commit: a member that throws rolls back only its own map changes', async () => {
    const pool = Pool.create({ size: 4 * MiB, layout: 'map' });
    const map = OrderedMap.create(pool);
    const k = (i: number) => new Uint8Array([i]);
    const results = await Promise.allSettled([
      pool.txAsync(() => { map.put(k(1), k(1)); }),
      pool.txAsync(() => { map.put(k(2), k(2)); map.remove(k(1)); throw new Error('member fails'); }),
      pool.txAsync(() => { map.put(k(3), k(3)); }),
    ]);
    expect(results.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const model = new MapModel();
    model.put(k(1), k(1));
    model.put(k(3), k(3));
    expectSame(pool, map, model);
  });
});

describe('iteration while the map changes', () => {
  it('yields keys in order, each once, every key that stays is yielded, no removed key after its removal (seeded)', () => {
    for (const seed of [1, 2, 3]) {
      const pool = Pool.create({ size: 8 * MiB, layout: 'map' });
      const map = OrderedMap.create(pool);
      const rng = new Prng(`iter-${seed}`);
      const key = (i: number) => new Uint8Array([i >> 8, i & 255]);
      const present = new Set<number>();
      for (let i = 0; i < 2000; i += 2) { map.put(key(i), new Uint8Array(40)); present.add(i); }
      for (const reverse of [false, true]) {
        const stayed = new Set(present); // there when the walk starts, never removed during it
        const seen: number[] = [];
        for (const e of map.range({ reverse })) {
          const i = (e.key[0] << 8) | e.key[1];
          expect(present.has(i), 'a yielded key is in the map').toBe(true);
          seen.push(i);
          for (let n = 0; n < 3; n++) {
            const j = rng.below(2000);
            if (rng.coin()) { map.put(key(j), new Uint8Array(rng.below(300))); present.add(j); } else { map.remove(key(j)); present.delete(j); stayed.delete(j); }
          }
        }
        for (let x = 1; x < seen.length; x++) expect((seen[x] - seen[x - 1]) * (reverse ? -1 : 1)).toBeGreaterThan(0);
        for (const i of stayed) expect(seen.includes(i), `key ${i} stayed and must be yielded`).toBe(true);
      }
      map.check();
      pool.check();
    }
    console.log(`iteration under modification: seeds 'iter-1'..'iter-3'; reproduce: npx vitest run ${FILE} -t 'iteration'`);
  });
});

describe('ranges read in gathered batches', () => {
  const key = (i: number) => new Uint8Array([i >> 8, i & 255]);
  const filled = (n: number) => {
    const pool = Pool.create({ size: 8 * MiB, layout: 'map' });
    const map = OrderedMap.create(pool);
    const model = new MapModel();
    for (let i = 0; i < n; i++) { const v = new Uint8Array(1 + (i % 300)).fill(i & 255); map.put(key(i), v); model.put(key(i), v); }
    return { pool, map, model };
  };

  it('offsets, limits and bounds around the batch size (256) match the model, both directions', () => {
    const { map, model } = filled(1500);
    for (const reverse of [false, true]) {
      for (const offset of [0, 1, 255, 256, 257, 600]) {
        for (const limit of [undefined, 1, 255, 256, 257, 513]) {
          const o = { reverse, offset, limit, start: reverse ? key(1400) : key(40), end: reverse ? key(20) : key(1450) };
          expect(shown(map.range(o)), JSON.stringify({ reverse, offset, limit })).toEqual(model.range(o));
        }
      }
    }
  });

  it('interleaved and nested ranges (same map and another) each yield their own entries (seeded)', () => {
    const { pool, map, model } = filled(1200);
    const other = OrderedMap.create(pool);
    const otherModel = new MapModel();
    for (let i = 0; i < 700; i++) { const v = new Uint8Array([i & 255, 7]); other.put(key(3 * i), v); otherModel.put(key(3 * i), v); }
    const rng = new Prng('gather-nested');
    for (let round = 0; round < 20; round++) {
      const pick = () => ({ reverse: rng.coin(), start: key(rng.below(1300)), limit: 1 + rng.below(600) });
      const [oa, ob] = [pick(), pick()];
      const a = map.range(oa)[Symbol.iterator](), b = (round % 2 ? other : map).range(ob)[Symbol.iterator]();
      const got: [string[], string[]] = [[], []];
      for (let ra = a.next(), rb = b.next(); !ra.done || !rb.done;) {
        if (!ra.done && (rb.done || rng.coin())) { got[0].push(`${hex(ra.value.key)}=${hex(ra.value.value)}`); ra = a.next(); }
        else if (!rb.done) { got[1].push(`${hex(rb.value.key)}=${hex(rb.value.value)}`); rb = b.next(); }
        if (rng.below(10) === 0) expect(map.get(key(rng.below(1200)))).toBeDefined(); // a point read in between
      }
      expect(got[0]).toEqual(model.range(oa));
      expect(got[1]).toEqual((round % 2 ? otherModel : model).range(ob));
    }
    console.log(`nested ranges: seed 'gather-nested'; reproduce: npx vitest run ${FILE} -t 'nested'`);
  });

  it('the pool growing during a walk (allocations that do not touch the map) changes nothing yielded', () => {
    const { pool, map, model } = filled(900);
    const size = pool.size;
    const got: string[] = [];
    for (const e of map.range()) {
      got.push(`${hex(e.key)}=${hex(e.value)}`);
      if (got.length % 100 === 0) pool.alloc(1 * MiB);
    }
    expect(pool.size).toBeGreaterThan(size);
    expect(got).toEqual(model.range({}));
  });
});
