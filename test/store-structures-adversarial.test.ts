// store-structures-adversarial.test.ts — the Store's msgpack shared
// structures and its refusal at open, attacked as a stranger would, through
// the public API only (`open` / `Store` / `Pool` from ../src/index.js; child
// processes import the built package).
//
// Owns these claims, each checked against an oracle that does not share the
// code under test:
//   - values: whatever a msgpack database is given (nested shapes, arrays of
//     objects, Maps, Dates, typed arrays, class instances, getters, symbol
//     keys, 0 or 1000 properties, more than 32 shapes, names that are
//     numbers, hold NUL or are '__proto__') reads back, before and after a
//     reopen, exactly as lmdb-js's self-describing msgpack round trip gives
//     it (msgpackr without structures: the oracle); getBinary's bytes do
//     not change across a reopen and decode as get() does when copied raw;
//   - several Store objects over one pool (openDB twice, Store.attach twice:
//     two codecs for one database) interleaving new shapes, rolled-back
//     transactions, rejected batch members and beginTx/abortTx agree with a
//     model through every handle, before and after every reopen, and a
//     rolled-back transaction leaves the persisted shape lists as they were;
//   - doesExist(key, value) writes nothing and answers true for a value
//     just stored, through any handle;
//   - a Store handle made inside a transaction that rolls back never writes
//     into another database;
//   - failures: a full pool, close() inside a transaction callback, a value
//     that fails to encode after new shapes, a nested transactionSync
//     aborting its enclosing transaction(fn): typed errors, and the store
//     reads back as modelled after a reopen;
//   - crashes: the crash explorer (one crash, every drain and mode; two in a
//     row) over workloads that introduce new nested shapes through two Store
//     objects, and SIGKILLed child processes: every recovered value decodes
//     to exactly the model's;
//   - damage: every byte of a shape list flipped never gives a raw error;
//     every byte of the root object, both map headers and both root nodes'
//     headers and slots flipped, opened at every durability on both
//     backends: refused with a typed error and the file byte-identical
//     (sha256), or harmless, or a typed error on first use — and the file
//     with the flip undone opens to the original contents.
// Every random choice comes from a seeded Prng; each test prints its seed
// and the command that reproduces it.

import { beforeAll, describe, expect, it } from 'vitest';
import { isDeepStrictEqual, inspect } from 'node:util';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Encoder } from 'msgpackr';
import {
  OrderedMap, OutOfSpaceError, PheapError, Pool, Prng, Store, STORE_LAYOUT, TxAbortedError, TxStateError,
  canonical, checkLinearizable, explore, formatReport, linearizable, progressOf, open,
} from '../src/index.js';
import { H, sha256File, u32At, useTempDir } from './helpers/pool-files.js';
import { REPO } from './helpers/readme.js';

const FILE = 'test/store-structures-adversarial.test.ts';
const SEED = Number(process.env.PHEAP_ADV3_SEED ?? 20261202);
const tmp = useTempDir('pheap-store-structures-adv-');
/** The line that reruns test `name` with this run's seed. */
const reproduce = (name: string) => `PHEAP_ADV3_SEED=${SEED} npx vitest run ${FILE} -t '${name}'`;

// ─── the oracle: lmdb-js's self-describing msgpack ──────────────────────────

const selfDescribing = new Encoder({ copyBuffers: true });
const listCodec = new Encoder({ useRecords: false });

/** What `v` reads back as from a msgpack database: its self-describing msgpack round trip (msgpackr's own rules for Sets, Errors, typed arrays, '__proto__', lone surrogates). */
const readBack = (v: unknown): unknown => selfDescribing.decode(Uint8Array.from(selfDescribing.encode(v))); // from a Uint8Array, as the Store decodes (not a Buffer)

/** Throw unless `got` is what `v` reads back as. */
function expectReadBack(got: unknown, v: unknown, when: string): void {
  const want = readBack(v);
  if (!isDeepStrictEqual(got, want)) throw new Error(`${when}: got ${inspect(got, { depth: 6 })}, want ${inspect(want, { depth: 6 })}`);
}

// ─── values of many shapes ──────────────────────────────────────────────────

/** Property names: ordinary ones, numbers, near-duplicates, NUL, prototype names, astral and long ones. */
const ODD_NAMES = ['id', 'name', '', '1', '01', '1.0', '-1', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'a\0b', '\0', 'ä', '😀', 'x'.repeat(200), 'length'];

class Point { constructor(public x: unknown, public y: unknown) {} }

/** A name: one of 80 numbered ones (many more shapes than the 32 shared ids) or an odd one. */
const randomName = (rng: Prng): string => (rng.below(3) === 0 ? ODD_NAMES[rng.below(ODD_NAMES.length)] : `n${rng.below(80)}`);

/** An object of a random shape: names set with defineProperty (so '__proto__' is an own property). */
function randomObject(rng: Prng, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = rng.below(6) === 0 ? 0 : 1 + rng.below(5);
  for (let i = 0; i < n; i++) Object.defineProperty(o, randomName(rng), { value: randomValue(rng, depth + 1), enumerable: true, writable: true, configurable: true });
  return o;
}

/** A leaf value. */
function randomLeaf(rng: Prng): unknown {
  switch (rng.below(8)) {
    case 0: return rng.below(1000) - 500;
    case 1: return rng.next() / 7;
    case 2: return `s${rng.below(100)}`;
    case 3: return rng.coin();
    case 4: return null;
    case 5: return BigInt(rng.next()) << 20n;
    case 6: return new Date(rng.next() * 1000);
    default: return Uint8Array.from([rng.below(256), rng.below(256)]);
  }
}

/** A value: mostly objects, nested (shapes inside shapes), arrays of objects, Maps, class instances, getters, symbol keys, typed arrays. */
function randomValue(rng: Prng, depth = 0): unknown {
  if (depth >= 3) return randomLeaf(rng);
  switch (rng.below(12)) {
    case 0: case 1: case 2: case 3: return randomObject(rng, depth);
    case 4: { const shape = randomObject(rng, 2); return Array.from({ length: 1 + rng.below(3) }, () => ({ ...shape, extra: rng.below(9) })); }
    case 5: return new Map([[rng.below(9), randomObject(rng, depth + 1)], [`m${rng.below(9)}`, randomObject(rng, depth + 1)]]);
    case 6: return new Point(randomValue(rng, depth + 1), randomObject(rng, depth + 1));
    case 7: { const o = randomObject(rng, depth); Object.defineProperty(o, `g${rng.below(5)}`, { get: () => ({ fromGetter: depth }), enumerable: true }); return o; }
    case 8: return { [Symbol('hidden')]: 1, [`v${rng.below(40)}`]: randomObject(rng, depth + 1) };
    case 9: return rng.coin() ? Float32Array.from([rng.below(9), 0.5]) : new Int16Array([rng.below(9), -3]);
    case 10: return rng.below(20) === 0 ? Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`wide${i}`, i])) : randomObject(rng, depth);
    default: return randomLeaf(rng);
  }
}

// ─── reading a Store's persisted shape lists (docs/store.md, File layout) ───

/** Every database's persisted shape list, by directory key (0xFF + name) as hex; read through OrderedMap, decoded as plain msgpack. */
function shapeLists(pool: Pool): Record<string, unknown> {
  const dir = OrderedMap.open(pool, pool.readU32(pool.root(8) + 4));
  const out: Record<string, unknown> = {};
  for (const e of dir.range()) if (e.key[0] === 0xff) out[Buffer.from(e.key).toString('hex')] = listCodec.decode(e.value);
  return out;
}

// ─── several Store objects over one pool, against a model ──────────────────

/** One handle on a database: which environment (Store.attach / open) it came from, and the database. */
interface Handle { env: number; db: string; store: Store }
const DBS = ['', 'x', 'y'] as const;
type Model = Record<string, Map<string, unknown>>;

/** Handles over one pool: open() (main, 'x' twice, 'y'), a second Store.attach (main, 'x', 'y') and a third attached to 'x' alone. */
function handlesOn(root: Store): Handle[] {
  const b = Store.attach(root.pool);
  const c = Store.attach(root.pool, { name: 'x' });
  return [
    { env: 0, db: '', store: root }, { env: 0, db: 'x', store: root.openDB('x') }, { env: 0, db: 'x', store: root.openDB('x') }, { env: 0, db: 'y', store: root.openDB('y') },
    { env: 1, db: '', store: b }, { env: 1, db: 'x', store: b.openDB('x') }, { env: 1, db: 'y', store: b.openDB('y') },
    { env: 2, db: 'x', store: c },
  ];
}

/** Every handle of database `db` reads the model's entries (get, and the keys of getRange). */
function agreeOn(handles: Handle[], model: Model, db: string, when: string): void {
  for (const h of handles.filter((x) => x.db === db)) {
    for (const [k, v] of model[db]) expectReadBack(h.store.get(k), v, `${when}: env ${h.env} db '${db}' key ${k}`);
    const keys = h.store.getKeys().asArray;
    if (!isDeepStrictEqual(keys, [...model[db].keys()].sort())) throw new Error(`${when}: env ${h.env} db '${db}' keys ${inspect(keys)}, model ${inspect([...model[db].keys()].sort())}`);
  }
}

const pick = <T>(rng: Prng, xs: readonly T[]): T => xs[rng.below(xs.length)];
const clone = (m: Model): Model => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, new Map(v)]));

/** One random step over the handles; returns the model after it (a rolled-back step leaves it as it was). */
async function step(rng: Prng, handles: Handle[], model: Model, tally: Record<string, number>, when: string): Promise<Model> {
  const key = () => `k${rng.below(30)}`;
  const count = (what: string) => { tally[what] = (tally[what] ?? 0) + 1; };
  const h = pick(rng, handles);
  switch (rng.below(8)) {
    case 0: case 1: { const k = key(), v = randomValue(rng); h.store.putSync(k, v); model[h.db].set(k, v); count('putSync'); return model; }
    case 2: { // a transaction of writes through handles of every environment; it throws half the time
      const after = clone(model), lists = shapeLists(h.store.pool), abort = rng.coin();
      const ws = Array.from({ length: 1 + rng.below(4) }, () => ({ w: pick(rng, handles), k: key(), v: randomValue(rng) }));
      const body = () => {
        for (const { w, k, v } of ws) {
          if (w.env === h.env && rng.coin()) void w.store.put(k, v); else w.store.putSync(k, v); // put joins the callback's transaction only in its own environment
          after[w.db].set(k, v);
        }
        if (abort) throw new Error('roll back');
      };
      if (!abort) { h.store.transactionSync(body); count('tx committed'); return after; }
      expect(() => h.store.transactionSync(body), when).toThrow('roll back');
      expect(shapeLists(h.store.pool), `${when}: a rolled-back transaction leaves the shape lists as they were`).toEqual(lists);
      count('tx rolled back');
      return model;
    }
    case 3: { // a batch of put() from every environment, a transaction(fn) member that throws, a put refused before it writes
      const ps: Array<Promise<unknown>> = [];
      for (let i = 0; i < 1 + rng.below(4); i++) { const w = pick(rng, handles), k = key(), v = randomValue(rng); ps.push(w.store.put(k, v)); model[w.db].set(k, v); }
      const failing = pick(rng, handles);
      const rejected = failing.store.transaction(() => { pick(rng, handles).store.putSync(key(), randomValue(rng)); throw new Error('member fails'); });
      expect(() => pick(rng, handles).store.put(key(), { fresh: { f: () => 1 } }), when).toThrow(PheapError);
      const settled = await Promise.allSettled([...ps, rejected]);
      expect(settled.map((s) => s.status), when).toEqual([...ps.map(() => 'fulfilled'), 'rejected']);
      count('batch');
      return model;
    }
    case 4: { // beginTx / abortTx (or commitTx) on the pool around Store writes
      const after = clone(model), commit = rng.coin();
      h.store.pool.beginTx();
      for (let i = 0; i < 1 + rng.below(3); i++) { const w = pick(rng, handles), k = key(), v = randomValue(rng); w.store.putSync(k, v); after[w.db].set(k, v); }
      if (commit) { h.store.pool.commitTx(); count('beginTx committed'); return after; }
      h.store.pool.abortTx();
      count('beginTx aborted');
      return model;
    }
    case 5: { const k = key(); h.store.removeSync(k); model[h.db].delete(k); count('removeSync'); return model; }
    default: { // a read of a value another environment wrote, through every handle
      agreeOn(handles, model, h.db, when);
      count('checks');
      return model;
    }
  }
}

describe('several Store objects over one pool', () => {
  it('open() with openDB twice and Store.attach twice, interleaving new shapes, rollbacks, rejected members and beginTx/abortTx: every handle reads the model, before and after every reopen', async () => {
    const rounds = 3, steps = 90;
    const tally: Record<string, number> = {};
    for (let round = 0; round < rounds; round++) {
      const rng = new Prng(`adv3-handles-${SEED}-${round}`);
      const file = tmp.file(`handles-${round}`);
      let root = open(file, { durability: 'none' });
      let handles = handlesOn(root);
      let model: Model = { '': new Map(), x: new Map(), y: new Map() };
      for (let s = 0; s < steps; s++) {
        const when = `seed ${SEED} round ${round} step ${s}`;
        if (rng.below(15) === 0) {
          for (const db of DBS) agreeOn(handles, model, db, `${when}, before reopen`);
          root.close();
          root = open(file, { durability: 'none' });
          handles = handlesOn(root);
          for (const db of DBS) agreeOn(handles, model, db, `${when}, after reopen`);
          tally.reopens = (tally.reopens ?? 0) + 1;
          continue;
        }
        model = await step(rng, handles, model, tally, when);
      }
      root.close();
      root = open(file, { durability: 'none' });
      handles = handlesOn(root);
      for (const db of DBS) agreeOn(handles, model, db, `seed ${SEED} round ${round}, final reopen`);
      root.pool.check();
      root.close();
    }
    expect(tally['tx rolled back'] + tally['beginTx aborted'], 'rollbacks happened').toBeGreaterThan(10);
    expect(tally.reopens, 'reopens happened').toBeGreaterThan(5);
    console.log(`several Store objects: ${rounds} rounds × ${steps} steps ${JSON.stringify(tally)} agree with the model; reproduce: ${reproduce('openDB twice and Store.attach twice')}`);
  }, 60_000);

  it('doesExist(key, value) is true for a value just stored, through every handle of its database (was: false through a second Store.attach whose codec had not seen the shape)', () => {
    const rng = new Prng(`adv3-exists-${SEED}`);
    const root = open();
    const handles = handlesOn(root);
    const wrong: string[] = [];
    for (let i = 0; i < 60; i++) {
      const h = pick(rng, handles), k = `e${i}`, v = randomValue(rng);
      h.store.putSync(k, v);
      for (const other of handles.filter((x) => x.db === h.db)) {
        if (!other.store.doesExist(k, v)) wrong.push(`put through env ${h.env}, asked env ${other.env}, db '${h.db}': ${inspect(v, { depth: 2, breakLength: Infinity }).slice(0, 80)}`);
      }
    }
    root.close();
    expect(wrong, `${wrong.length} false answers; reproduce: ${reproduce('doesExist(key, value) is true')}`).toEqual([]);
  });

  it('a Store made by openDB inside a transaction that rolls back (pool.beginTx/abortTx; another Store object\'s transactionSync) never writes into another database', () => {
    const outcomes: string[] = [], bad: string[] = [];
    for (const how of ['beginTx/abortTx', 'another Store.attach\'s transactionSync'] as const) {
      const root = open();
      const other = Store.attach(root.pool);
      let ghost: Store | undefined;
      if (how === 'beginTx/abortTx') {
        root.pool.beginTx();
        ghost = root.openDB('ghost');
        ghost.putSync('g', { inGhost: 1 });
        root.pool.abortTx();
      } else {
        expect(() => other.transactionSync(() => { ghost = root.openDB('ghost'); ghost.putSync('g', { inGhost: 1 }); throw new Error('roll back'); })).toThrow('roll back');
      }
      const victim = root.openDB('victim'); // made after the rollback: it may reuse the rolled-back map's place
      victim.putSync('v', { inVictim: 1 });
      try {
        ghost!.putSync('intruder', { fromGhost: 1 });
        outcomes.push(`${how}: the ghost handle wrote`);
      } catch (e) {
        outcomes.push(`${how}: ${e instanceof PheapError ? 'refused (typed)' : `RAW ${String(e)}`}`);
      }
      const keys = victim.getKeys().asArray;
      if (!isDeepStrictEqual(keys, ['v'])) bad.push(`${how}: the victim database holds ${inspect(keys)}; 'intruder' reads ${inspect(victim.get('intruder'))}`);
      expect(victim.get('v')).toEqual({ inVictim: 1 });
      root.pool.check();
      root.close();
    }
    console.log(`handles made in a rolled-back transaction: ${outcomes.join('; ')}`);
    expect(bad, 'a handle of a rolled-back database wrote into another database').toEqual([]);
  });

  it('put() through a second Store.attach inside another\'s transaction callback is refused with a typed rejection and writes nothing; putSync there joins the transaction', async () => {
    const root = open();
    const other = Store.attach(root.pool);
    let async: Promise<boolean> | undefined;
    root.transactionSync(() => {
      async = other.put('async', { viaOther: 1 });
      other.putSync('sync', { viaOtherSync: 1 });
    });
    await expect(async!).rejects.toBeInstanceOf(TxStateError);
    expect(root.get('async')).toBeUndefined();
    expect(root.get('sync')).toEqual({ viaOtherSync: 1 });
    expect(() => root.transactionSync(() => { other.putSync('gone', { rolled: 'back' }); throw new Error('roll back'); })).toThrow('roll back');
    expect(other.get('gone')).toBeUndefined();
    root.close();
  });
});

// ─── values ─────────────────────────────────────────────────────────────────

/** Values no generator is trusted to reach: the edges of shapes and names. */
function edgeValues(): unknown[] {
  const proto = {};
  Object.defineProperty(proto, '__proto__', { value: { polluted: true }, enumerable: true, writable: true, configurable: true });
  return [
    {}, [], [{}], [{}, { a: 1 }, {}], { a: {} },
    Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`p${i}`, i])),
    Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [String(i), -i])),
    { 1: 'number name', '01': 'string name', '1.5': 'x', '-0': 'y' }, new Map<unknown, unknown>([[1, 'number'], ['1', 'string'], [{ k: 1 }, 'object key']]),
    { 'a\0b': 1, '\0': 2, '\0\0': { '\0': 3 } }, proto, { constructor: { prototype: { x: 1 } }, toString: 'str', hasOwnProperty: 0 },
    { '': { '': { '': '' } } }, { ['😀'.repeat(40)]: 1, ['n'.repeat(5000)]: 2 },
    { [Symbol('only symbol')]: 1 }, { [Symbol.iterator]: 1, kept: 2 },
    new Point(new Point(1, 2), [new Point(3, 4)]), Object.create(null, { nullProto: { value: 1, enumerable: true } }),
    Object.defineProperty({}, 'hidden', { value: 1, enumerable: false }),
    { d: new Date(0), early: new Date(-1), u8: new Uint8Array(0), f32: new Float32Array([1.5]), u16: new Uint16Array([65535]), f64: new Float64Array([-0]) },
    new Set([{ inSet: 1 }, { inSet: 2, also: 3 }]), Object.assign(new Error('boom'), { extra: { e: 1 } }), /re+/g,
    Array.from({ length: 40 }, (_, i) => ({ [`shape${i}`]: i })), // 40 shapes in one value: past the 32 shared ids
    { a: 1, b: undefined, c: null }, { n: NaN, inf: -Infinity, neg: -0, big: -(2n ** 63n), ubig: 2n ** 64n - 1n },
  ];
}

describe('values of every shape', () => {
  it('edge and random values (nested shapes, more than 32 shapes, odd names, Maps, Dates, typed arrays, class instances, getters, symbol keys) read back as lmdb-js\'s self-describing msgpack gives them, before and after reopen; getBinary bytes survive the reopen and, copied raw, read as get()', () => {
    const rng = new Prng(`adv3-values-${SEED}`);
    const values = [...edgeValues(), ...Array.from({ length: 300 }, () => randomValue(rng))];
    const file = tmp.file('values');
    let root = open(file, { durability: 'none' });
    let objs = root.openDB<unknown, number>('vals');
    const bytes: Uint8Array[] = [];
    values.forEach((v, i) => {
      objs.putSync(i, v);
      expectReadBack(objs.get(i), v, `value ${i} (seed ${SEED})`);
      expect(objs.doesExist(i, v), `doesExist of value ${i} just stored`).toBe(true);
      bytes.push(objs.getBinary(i)!);
    });
    root.close();
    root = open(file, { durability: 'none' });
    objs = root.openDB<unknown, number>('vals');
    const raw = root.openDB<Uint8Array, string>('vals', { encoding: 'binary' });
    values.forEach((v, i) => {
      expectReadBack(objs.get(i), v, `value ${i} after reopen (seed ${SEED})`);
      expect(objs.getBinary(i), `getBinary of value ${i} after reopen`).toEqual(bytes[i]);
      expect(objs.doesExist(i, v), `doesExist of value ${i} after reopen`).toBe(true);
      raw.putSync(`copy${i}`, bytes[i]);
    });
    root.close();
    root = open(file, { durability: 'none' });
    const again = root.openDB<unknown, string>('vals');
    values.forEach((v, i) => expectReadBack(again.get(`copy${i}`), v, `raw copy of value ${i}, read after reopen (seed ${SEED})`));
    root.pool.check();
    root.close();
    console.log(`values: ${values.length} values (${edgeValues().length} edge ones) read back as self-describing msgpack gives them; reproduce: ${reproduce('edge and random values')}`);
  });

  it('a getter that writes to the store (even rolling a transaction back) while its object is encoded, and a value that fails after introducing shapes: every value reads back after reopen', () => {
    const file = tmp.file('reentrant');
    let root = open(file, { durability: 'none' });
    const other = root.openDB('other');
    const writes = Object.defineProperty({ outer: 1 }, 'g', { enumerable: true, get: () => { root.putSync('inner', { innerShape: { deeper: 1 } }); return { viaGetter: 2 }; } });
    const rollsBack = Object.defineProperty({ outer2: 1 }, 'g', {
      enumerable: true,
      get: () => {
        expect(() => root.transactionSync(() => { other.putSync('o', { otherShape: 1 }); root.putSync('r', { rolled: 1 }); throw new Error('roll back'); })).toThrow('roll back');
        other.putSync('o2', { otherShape2: 1 });
        return 3;
      },
    });
    root.putSync('writes', writes);
    root.putSync('rollsBack', rollsBack);
    expect(() => root.putSync('fails', { newA: { newB: { newC: 1 } }, bad: 2n ** 70n }), 'a bigint past 64 bits').toThrow(PheapError);
    expect(() => root.putSync('fails2', { newD: [{ newE: 1 }], f: () => 1 }), 'a function inside').toThrow(PheapError);
    root.putSync('after', { newA: { newB: { newC: 2 } }, newD: [{ newE: 3 }] });
    const want = { writes: { outer: 1, g: { viaGetter: 2 } }, inner: { innerShape: { deeper: 1 } }, rollsBack: { outer2: 1, g: 3 }, after: { newA: { newB: { newC: 2 } }, newD: [{ newE: 3 }] } };
    const read = () => Object.fromEntries(root.getRange().map(({ key, value }) => [key, value]).asArray);
    expect(read()).toEqual(want);
    root.close();
    root = open(file, { durability: 'none' });
    expect(read(), 'after reopen').toEqual(want);
    expect(root.openDB('other').getRange().map(({ key, value }) => [key, value]).asArray).toEqual([['o2', { otherShape2: 1 }]]);
    root.close();
  });

  it('a value\'s properties are read once (docs/store.md), also when another Store object over the pool saved shapes first (was: the getter read twice, the second answer stored)', () => {
    const root = open();
    const other = Store.attach(root.pool);
    root.putSync('warm', { warm: 1 }); // root's codec has loaded the (one-shape) list
    other.putSync('first', { savedByOther: 1 }); // the persisted list moves on without root's codec
    const reads: number[] = [];
    let n = 0;
    const v = Object.defineProperty({ fresh: 1 }, 'counted', { enumerable: true, get: () => { reads.push(++n); return n; } });
    root.putSync('k', v);
    expect({ reads: reads.length, stored: root.get('k') }, 'one read of the getter, its answer stored').toEqual({ reads: 1, stored: { fresh: 1, counted: 1 } });
    root.close();
  });

  it('doesExist(key, value) never writes, whatever the value (new shapes, nested, bad ones, through a second Store.attach): the file and the durable image stay byte-identical, and a later put of those shapes reads back after reopen', () => {
    const rng = new Prng(`adv3-doesexist-${SEED}`);
    const file = tmp.file('exists');
    const setup = open(file, { durability: 'none' });
    for (let i = 0; i < 20; i++) setup.openDB('x').putSync(i, randomValue(rng));
    setup.close();
    const root = open(file, { backend: 'file' });
    const handles = handlesOn(root);
    const hash = sha256File(file), image = Buffer.from(root.pool.durableImage());
    const probes = [...edgeValues(), ...Array.from({ length: 150 }, () => randomValue(rng)), { f: () => 1 }, { s: Symbol('x') }, 2n ** 80n];
    const answers: Record<string, number> = {};
    for (const v of probes) {
      const h = pick(rng, handles);
      let a: string;
      try { a = String(h.store.doesExist(rng.below(25), v as never)); } catch (e) { a = e instanceof PheapError ? e.name : `RAW ${String(e)}`; }
      answers[a] = (answers[a] ?? 0) + 1;
    }
    expect(Object.keys(answers).filter((a) => a.startsWith('RAW')), 'only typed errors').toEqual([]);
    expect(Buffer.from(root.pool.durableImage()).equals(image), 'durable image unchanged').toBe(true);
    expect(root.pool.stats().heap.liveObjects, 'nothing allocated').toBe(Store.attach(root.pool) && root.pool.stats().heap.liveObjects);
    root.close();
    expect(sha256File(file), 'file unchanged by doesExist').toBe(hash);
    const again = open(file, { durability: 'none' });
    const x = again.openDB('x');
    const stored = probes.slice(0, -3);
    stored.forEach((v, i) => x.putSync(`p${i}`, v));
    again.close();
    const last = open(file, { durability: 'none' });
    stored.forEach((v, i) => expectReadBack(last.openDB('x').get(`p${i}`), v, `probe ${i} put after doesExist, read after reopen`));
    last.close();
    console.log(`doesExist: ${probes.length} probes ${JSON.stringify(answers)}, nothing written; reproduce: ${reproduce('doesExist(key, value) never writes')}`);
  });
});

// ─── transactions and failures ──────────────────────────────────────────────

/** Every entry of databases '', 'x', 'y', as [db, key, value] (values as read). */
function everything(root: Store): unknown[] {
  return DBS.flatMap((n) => (n === '' ? root : root.openDB(n)).getRange().map(({ key, value }) => [n, key, value]).asArray);
}

describe('transactions that fail around new shapes', () => {
  it('transactionSync throwing after new shapes in three databases, a nested transactionSync that throws inside transaction(fn), close() inside a callback: typed errors, nothing of them stays, their shapes put again read back after reopen', async () => {
    const file = tmp.file('tx');
    let root = open(file, { durability: 'none' });
    const [x, y] = [root.openDB('x'), root.openDB('y')];
    root.putSync('base', { base: 1 });
    const lists = shapeLists(root.pool), before = everything(root);
    expect(() => root.transactionSync(() => {
      root.putSync('t1', { tx1: { deep: 1 } });
      x.putSync('t2', [{ tx2: 1 }, { tx2: 2 }]);
      void y.put('t3', new Map([[1, { tx3: 1 }]]));
      throw new Error('roll back');
    })).toThrow('roll back');
    expect(shapeLists(root.pool), 'the shape lists forget the rolled-back shapes').toEqual(lists);
    expect(everything(root)).toEqual(before);

    const nested = root.transaction(() => {
      x.putSync('n1', { nested1: 1 });
      try { root.transactionSync(() => { y.putSync('n2', { nested2: 1 }); throw new Error('inner'); }); } catch { /* the inner throw aborts the whole transaction */ }
      root.putSync('n3', { nested3: 1 });
    });
    await expect(nested, 'the enclosing transaction(fn) fails').rejects.toBeInstanceOf(PheapError);
    expect(everything(root), 'nothing of the nested transaction stays').toEqual(before);

    const asyncThrow = root.transaction(() => { x.putSync('a1', { async1: { a: 1 } }); throw new Error('async member'); });
    const ok = y.put('ok', { okShape: 1 });
    await expect(asyncThrow).rejects.toThrow('async member');
    await expect(ok).resolves.toBe(true);

    expect(() => root.transactionSync(() => { x.putSync('c1', { closing: 1 }); root.close(); }), 'close() inside the callback').toThrow(PheapError);
    expect(root.pool.isClosed).toBe(true);
    root = open(file, { durability: 'none' });
    expect(everything(root), 'after reopen: base and ok only').toEqual([...before, ['y', 'ok', { okShape: 1 }]]);
    const redo: Array<[Store, string, unknown]> = [
      [root, 't1', { tx1: { deep: 2 } }], [root.openDB('x'), 't2', [{ tx2: 3 }]], [root.openDB('y'), 't3', new Map([[2, { tx3: 2 }]])],
      [root.openDB('x'), 'n1', { nested1: 2 }], [root.openDB('y'), 'n2', { nested2: 2 }], [root, 'n3', { nested3: 2 }], [root.openDB('x'), 'a1', { async1: { a: 2 } }], [root.openDB('x'), 'c1', { closing: 2 }],
    ];
    for (const [db, k, v] of redo) db.putSync(k, v);
    root.close();
    root = open(file, { durability: 'none' });
    for (const [db, k, v] of redo) expectReadBack((db.name === null ? root : root.openDB(db.name)).get(k), v, `'${db.name}' ${k} after reopen`);
    root.close();
  });

  it('a new shape into a full pool (maxSize = size; the shape list in an object of its own): OutOfSpaceError from putSync, put and transactionSync, no value stored, no shape but theirs saved; once space is freed the same shapes are stored and read back after reopen', async () => {
    const file = tmp.file('full');
    const SIZE = 1 << 20;
    let root = open(file, { durability: 'none', maxSize: SIZE });
    const [x] = [root.openDB('x'), root.openDB('y')];
    x.putSync('long names', { ['long'.repeat(150)]: 1 }); // x's shape list is past 256 bytes: each save of it needs a new object (docs/containers.md), of 600 bytes or more
    const fill: string[] = [];
    for (const len of [3000, 1500, 700, 400, 260, 8]) { // objects of every size, until none fits
      try { for (let i = 0; ; i++) { root.putSync(`fill${len}-${i}`, 'z'.repeat(len)); fill.push(`fill${len}-${i}`); } } catch (e) { expect(e).toBeInstanceOf(OutOfSpaceError); }
    }
    const lists = shapeLists(root.pool), before = everything(root);
    const shapes = Array.from({ length: 12 }, (_, i) => ({ [`full${i}`]: { [`inner${i}`]: 'p'.repeat(300 + i * 40) } }));
    const refused: string[] = [];
    for (const [i, v] of shapes.entries()) {
      const attempts: Array<[string, () => unknown]> = [
        ['putSync', () => x.putSync(`s${i}`, v)], ['put', () => x.put(`s${i}`, v)],
        ['transactionSync', () => root.transactionSync(() => { root.putSync('t', { inTx: i }); x.putSync(`s${i}`, v); })],
      ];
      for (const [call, attempt] of attempts) {
        const listsBefore = shapeLists(root.pool);
        try { await attempt(); refused.push(`${call}: stored`); } catch (e) { refused.push(`${call}: ${e instanceof PheapError ? e.name : `RAW ${String(e)}`}`); }
        if (call === 'transactionSync') expect(shapeLists(root.pool), `shape ${i}: a transaction that failed saves no shape`).toEqual(listsBefore);
      }
    }
    expect(refused.filter((r) => !r.endsWith('OutOfSpaceError')), 'every write of a new shape refused with OutOfSpaceError').toEqual([]);
    expect(everything(root), 'no value of them stored').toEqual(before);
    // A putSync's shape is saved (and committed) before its value is written: a refused value may leave its shape in the list, harmlessly; nothing else may appear.
    const names = (l: Record<string, unknown>) => Object.values(l).flatMap((list) => (list as string[][]).map((shape) => shape.join(',')));
    const attempted = new Set(shapes.flatMap((_, i) => [`full${i}`, `inner${i}`]));
    expect(names(shapeLists(root.pool)).filter((n) => !names(lists).includes(n) && !attempted.has(n)), 'no shape but the attempted ones').toEqual([]);
    for (const k of fill) root.removeSync(k); // every size class freed (a slab of 3000-byte slots does not serve a 700-byte object)
    shapes.forEach((v, i) => x.putSync(`s${i}`, v));
    root.close();
    root = open(file, { durability: 'none', maxSize: SIZE });
    shapes.forEach((v, i) => expect(root.openDB('x').get(`s${i}`), `shape ${i} after reopen`).toEqual(v));
    root.pool.check();
    root.close();
  });
});
