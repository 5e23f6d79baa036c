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
//     a value's properties are read once;
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
//   - damage: every byte of a shape list flipped, and lists forged into other
//     valid msgpack, never give a raw error, and damage is never blamed on
//     the caller (InvalidArgumentError); every byte of the root object, both
//     map headers and both root nodes' headers and slots flipped, opened at
//     every durability on both backends — also with a transaction in flight
//     for recovery to roll back: refused with a typed error and the file
//     byte-identical (sha256) — with a rollback, but for the bytes recovery
//     restored — or harmless, or a typed error on first use — and the file
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
  canonical, checkLinearizable, checkRerun, explore, formatReport, linearizable, progressOf, open,
} from '../src/index.js';
import { H, differingLines, sha256File, u32At, useTempDir } from './helpers/pool-files.js';
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
    case 5: return new Map<unknown, unknown>([[rng.below(9), randomObject(rng, depth + 1)], [`m${rng.below(9)}`, randomObject(rng, depth + 1)]]);
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

  it('openDB of a new database inside any transaction (pool.beginTx, another Store object\'s transactionSync) is TxStateError, so no handle can outlive a rolled-back database (was: after the rollback the handle wrote into the database made next in its place)', () => {
    for (const how of ['beginTx/abortTx', 'another Store.attach\'s transactionSync'] as const) {
      const root = open();
      const other = Store.attach(root.pool);
      root.putSync('kept', 1);
      if (how === 'beginTx/abortTx') {
        root.pool.beginTx();
        expect(() => root.openDB('ghost'), how).toThrow(TxStateError);
        root.pool.abortTx();
      } else {
        expect(() => other.transactionSync(() => root.openDB('ghost')), how).toThrow(TxStateError);
      }
      const victim = root.openDB('victim');
      victim.putSync('v', { inVictim: 1 });
      expect(root.openDB('ghost').getKeys().asArray, `${how}: the ghost database starts empty, made outside the transaction`).toEqual([]);
      expect(victim.getKeys().asArray).toEqual(['v']);
      expect(root.get('kept')).toBe(1);
      root.pool.check();
      root.close();
    }
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
    const hash = sha256File(file), image = Buffer.from(root.pool.durableImage()), live = root.pool.stats().heap.liveObjects;
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
    expect(root.pool.stats().heap.liveObjects, 'nothing allocated').toBe(live);
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

// ─── crashes: the explorer ──────────────────────────────────────────────────

/** A put through Store object `via` (0 or 1: two Store.attach on the crashed pool) into database `db`. */
interface CW { db: '' | 'x'; key: string; n: number; via: 0 | 1 }
type COp = { k: 'put'; w: CW } | { k: 'tx' | 'batch' | 'abort'; ws: CW[] };
type CState = Record<string, Record<string, number>>;

/** A value of shapes of its own (an outer, an inner and an array element shape per key): each first put saves three shapes. */
const crashValue = (key: string, n: number) => ({ [`o${key}`]: { [`i${key}`]: n, list: [{ [`e${key}`]: n, when: new Date(n) }] } });

function applyC(s: CState, op: COp): CState {
  if (op.k === 'abort') return s;
  for (const w of op.k === 'put' ? [op.w] : op.ws) (s[w.db] ??= {})[w.key] = w.n;
  return s;
}

const dbIn = (store: Store, db: string): Store => (db === '' ? store : store.openDB(db));
function runC(p: Pool, op: COp): void {
  const stores = [Store.attach(p), Store.attach(p)];
  const put = (w: CW) => dbIn(stores[w.via], w.db).putSync(w.key, crashValue(w.key, w.n));
  if (op.k === 'put') put(op.w);
  else if (op.k === 'tx') stores[0].transactionSync(() => op.ws.forEach(put));
  else if (op.k === 'abort') expect(() => stores[1].transactionSync(() => { op.ws.forEach(put); throw new Error('roll back'); })).toThrow('roll back');
  else {
    void Promise.allSettled(op.ws.map((w) => dbIn(stores[w.via], w.db).put(w.key, crashValue(w.key, w.n)))); // a crash mid-commit rejects them: the oracle judges the file
    p.commitBatch();
  }
}

/** The recovered store in model terms; every value must be exactly crashValue(key, n) for some n. */
function readC(p: Pool): CState {
  const store = Store.attach(p);
  const s: CState = {};
  for (const db of ['', 'x']) {
    for (const { key, value } of dbIn(store, db).getRange()) {
      const n = ((value as Record<string, Record<string, number>>)[`o${String(key)}`] ?? {})[`i${String(key)}`];
      expect(value, `db '${db}' key ${String(key)}`).toEqual(crashValue(String(key), n));
      (s[db] ??= {})[String(key)] = n;
    }
  }
  return s;
}

const C_OPS: COp[] = [
  { k: 'put', w: { db: '', key: 'a1', n: 1, via: 0 } },
  { k: 'tx', ws: [{ db: 'x', key: 'b1', n: 1, via: 1 }, { db: '', key: 'a2', n: 1, via: 0 }] },
  { k: 'abort', ws: [{ db: 'x', key: 'b2', n: 1, via: 0 }, { db: '', key: 'a3', n: 1, via: 1 }] },
  { k: 'batch', ws: [{ db: 'x', key: 'b2', n: 2, via: 1 }, { db: '', key: 'a3', n: 2, via: 0 }, { db: 'x', key: 'b1', n: 3, via: 0 }] },
  { k: 'put', w: { db: 'x', key: 'b3', n: 1, via: 1 } },
];
const C_SETUP = (p: Pool) => { const s = Store.attach(p); s.putSync('a0', crashValue('a0', 0)); s.openDB('x'); };
const C_INITIAL = (): CState => ({ '': { a0: 0 } });
const C_EXPLORE = { file: FILE, size: 1 << 20, layout: STORE_LAYOUT, setup: C_SETUP };

describe('crashes while new shapes are saved', () => {
  it('the crash explorer, one crash at every drain in every mode: putSync, a transactionSync over two Store objects, one that rolls back, a put batch, all with new nested shapes: every recovered value decodes to the model\'s', () => {
    const lin = linearizable<CState, COp>({ model: { initial: C_INITIAL, apply: applyC }, ops: C_OPS, run: runC, read: readC });
    const r = explore({ ...C_EXPLORE, name: 'store shapes, one crash', modes: ['strict', 'pending', 'evict', 'tear8'], seeds: 2, workload: lin.workload, check: lin.check });
    if (r.failures.length) throw new Error(formatReport(r));
    expect(r.states).toBeGreaterThan(C_OPS.length);
    console.log(`store shapes, one crash: ${r.states} crash states over ${r.points} crash points; reproduce: ${reproduce('one crash at every drain')}`);
  }, 60_000);

  it('two crashes in a row (deferred log): the run after recovery saves the same shapes again; every value decodes to the model\'s', () => {
    const lin = linearizable<CState, COp>({ model: { initial: C_INITIAL, apply: applyC }, ops: C_OPS, run: runC, read: readC });
    const r = explore({
      ...C_EXPLORE, name: 'store shapes, two crashes', evicts: false, depth: 2, seeds: 1, deeper: { states: 3, points: 4 }, workload: lin.workload,
      check: (p, markers, crash) => {
        const got = canonical(readC(p));
        if (!crash.prior) return checkLinearizable(got, lin.keys, progressOf(markers));
        checkRerun(got, { initial: C_INITIAL, apply: applyC }, C_OPS, markers);
      },
    });
    if (r.failures.length) throw new Error(formatReport(r));
    expect(r.levels).toHaveLength(2);
    console.log(`store shapes, two crashes: ${r.states} crash states (${r.levels.map((l) => `level ${l.level}: ${l.states}`).join(', ')}); reproduce: ${reproduce('two crashes in a row')}`);
  }, 60_000);
});

// ─── crashes: SIGKILL of a child process ────────────────────────────────────

/** The child's steps, as source (it runs them) and evaluated here (the model): step i writes values of shapes new until i = 60. */
const STEPS_SOURCE = `
const valueOf = (i) => ({ ['f' + (i % 60)]: i, nest: { ['g' + (i % 13)]: [i, { ['h' + (i % 7)]: 'x'.repeat((i * 37) % 400) }] }, at: new Date(i) });
async function commitStep(db, side, i) {
  if (i % 3 === 0) { side.putSync(i, valueOf(i)); db.putSync(['v', i], valueOf(i)); db.putSync('counter', i); }
  else if (i % 3 === 1) db.transactionSync(() => { side.putSync(i, valueOf(i)); db.putSync(['v', i], valueOf(i)); db.putSync('counter', i); });
  else await Promise.all([side.put(i, valueOf(i)), db.put(['v', i], valueOf(i)), db.put('counter', i)]);
}`;
const stepValue = new Function(`${STEPS_SOURCE}; return valueOf;`)() as (i: number) => unknown;

const CHILD = (lib: string) => `
import { open } from ${JSON.stringify(lib)};
${STEPS_SOURCE}
const [file, backend] = process.argv.slice(2);
const db = open({ path: file, ...(backend === 'default' ? {} : { backend, durability: 'os' }) });
const side = db.openDB('side');
let step = db.get('counter') ?? 0;
process.stdout.write('ready ' + step + '\\n');
for (;;) { step++; await commitStep(db, side, step); process.stdout.write('ok ' + step + '\\n'); }
`;

let childScript = '';
beforeAll(() => {
  childScript = path.join(tmp.dir, 'shapes-child.mjs');
  fs.writeFileSync(childScript, CHILD(pathToFileURL(path.join(REPO, 'dist', 'index.js')).href));
});

/** Run the child on `file` until it has printed `ready` and then for `ms` more (or, if `early`, `ms` after spawning), SIGKILL it: the steps it acknowledged. */
async function killChild(file: string, backend: string, ms: number, early: boolean): Promise<{ acked: number; ready: boolean }> {
  const proc = spawn(process.execPath, [childScript, file, backend], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d; });
  proc.stderr!.on('data', (d: Buffer) => { err += d; });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
  if (!early) while (!out.includes('ready') && proc.exitCode === null) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, ms));
  proc.kill('SIGKILL');
  expect(await exited, `the child died of the kill, not of an error: ${err}`).toBe('SIGKILL');
  const acks = out.split('\n').filter((l) => l.startsWith('ok ')).map((l) => Number(l.slice(3)));
  return { acked: Math.max(0, ...acks), ready: out.includes('ready') };
}

describe('SIGKILL while new shapes are saved', () => {
  for (const backend of ['default', 'mapped'] as const) {
    it(`${backend} backend: after every kill each value decodes to exactly the model's, every acknowledged step is there`, async () => {
      const rng = new Prng(`adv3-kill-${SEED}-${backend}`);
      const file = tmp.file(`kill-${backend}`);
      let counter = 0, early = 0;
      const KILLS = 4;
      for (let kill = 0; kill < KILLS; kill++) {
        const isEarly = rng.below(4) === 0;
        const { acked, ready } = await killChild(file, backend, isEarly ? rng.below(300) : 30 + rng.below(150), isEarly);
        if (!ready) early++;
        const db = open({ path: file, ...(backend === 'default' ? {} : { backend, durability: 'os' as const }) });
        const now = (db.get('counter') as number | undefined) ?? 0;
        const when = `seed ${SEED} ${backend} kill ${kill}`;
        expect(now, `${when}: an acknowledged step is missing`).toBeGreaterThanOrEqual(Math.max(counter, acked));
        for (const [name, store, keyOf] of [['main', db, (i: number) => ['v', i]], ['side', db.openDB('side'), (i: number) => i]] as const) {
          const keys = store.getKeys().asArray.filter((k) => k !== 'counter');
          // every step up to the counter is there; a putSync step may have gone one write further
          expect(keys.length, `${when}: ${name} holds steps 1..${now} (+1)`).toBeGreaterThanOrEqual(now);
          expect(keys.length).toBeLessThanOrEqual(now + 1);
          for (let i = 1; i <= keys.length; i++) expectReadBack(store.get(keyOf(i) as never), stepValue(i), `${when}: ${name} step ${i}`);
        }
        db.pool.check();
        db.close();
        counter = now;
      }
      expect(counter, 'the children got work done between kills').toBeGreaterThan(0);
      console.log(`shapes kill chain (${backend}): ${KILLS} kills, ${counter} steps committed, ${early} kills before the Store was open; reproduce: ${reproduce(`${backend} backend: after every kill`)}`);
    }, 30_000);
  }
});

// ─── damage ─────────────────────────────────────────────────────────────────

/** A small Store file (a 128 KiB pool that grows, durability 'none') made by `fill`; its bytes after a clean close. */
function smallStore(stem: string, fill: (db: Store) => void): { file: string; image: Buffer } {
  const file = tmp.file(stem);
  const db = Store.attach(Pool.create({ path: file, size: 128 << 10, layout: STORE_LAYOUT, backend: 'file', durability: 'none' }));
  fill(db);
  db.close();
  return { file, image: fs.readFileSync(file) };
}

/** Values of 12 shapes in the main database and 'x' (nested, arrays of objects): two shape lists of a few hundred bytes. */
function shapedFill(db: Store): void {
  for (let i = 0; i < 12; i++) {
    db.putSync(i, { [`m${i % 6}`]: i, inner: { [`k${i % 4}`]: [{ deep: i }] } });
    db.openDB('x').putSync(i, [{ [`x${i % 5}`]: i, name: `v${i}` }, new Map([[i, { inMap: i }]])]);
  }
}

/** Every entry of databases '' and 'x' but the keys in `skip`, as canonical text (Maps, typed arrays and bigints included). */
function readAll(db: Store, skip: readonly unknown[] = []): string {
  return canonical(['', 'x'].map((n) => dbIn(db, n).getRange().filter(({ key }) => !skip.includes(key)).map(({ key, value }) => [key, value]).asArray));
}

/**
 * Open a (damaged) Store file, read everything, getBinary and doesExist, put
 * a known and a new shape, reopen and read again: 'worked', the first typed
 * error, 'RAW …' for an error that is no PheapError, or 'INCONSISTENT …' if
 * the entries read differently after the puts and the reopen.
 */
function exercise(file: string): string {
  const step = (what: string, fn: () => void): string | null => {
    try { fn(); return null; } catch (e) { return e instanceof PheapError ? `${what}: ${e.name}` : `RAW ${what}: ${String(e).slice(0, 160)}`; }
  };
  let db: Store | undefined;
  let first = '', again = '';
  const problem = step('open', () => { db = open({ path: file, durability: 'none', backend: 'file' }); })
    ?? step('read', () => { first = readAll(db!); })
    ?? step('getBinary/doesExist', () => { db!.getBinary(0); db!.doesExist(0, { m0: 0, inner: { k0: [{ deep: 0 }] } }); db!.openDB('x').doesExist(1, { never: 'seen' }); })
    ?? step('put', () => { db!.putSync('known', { m1: 1, inner: { k1: [{ deep: 1 }] } }); db!.openDB('x').putSync('new', { brandNew: { shape: 1 } }); })
    ?? step('reopen', () => { db!.close(); db = open({ path: file, durability: 'none', backend: 'file' }); })
    ?? step('read after reopen', () => { again = readAll(db!, ['known', 'new']); });
  try { db?.close(); } catch { /* the outcome is known */ }
  if (problem) return problem;
  return again === first ? 'worked' : `INCONSISTENT: before ${first.slice(0, 300)} after ${again.slice(0, 300)}`;
}

describe('a damaged shape list', () => {
  it('every byte of both shape lists flipped (xor 0xFF; a seeded third also xor 0x01): reads, doesExist, puts of known and new shapes and a reopen work (reading alike before and after) or give a typed error, never a raw one', () => {
    const rng = new Prng(`adv3-lists-${SEED}`);
    const { file, image } = smallStore('lists', shapedFill);
    const pool = Pool.open({ path: file, layout: STORE_LAYOUT, backend: 'file', durability: 'none' });
    const dir = OrderedMap.open(pool, pool.readU32(pool.root(8) + 4));
    const lists = [...dir.range()].filter((e) => e.key[0] === 0xff).map((e) => Buffer.from(e.value));
    pool.close();
    fs.writeFileSync(file, image);
    expect(lists.length, 'a list per database').toBe(2);
    const tally: Record<string, number> = {};
    const raw: string[] = [];
    let flips = 0;
    for (const list of lists) {
      const at = image.indexOf(list);
      expect(at, 'the list is in the file once').toBeGreaterThan(0);
      expect(image.indexOf(list, at + 1)).toBe(-1);
      for (let i = at; i < at + list.length; i++) {
        for (const mask of rng.below(3) === 0 ? [0xff, 0x01] : [0xff]) { // every byte inverted; a seeded third also off by one bit
          const mutant = Buffer.from(image);
          mutant[i] ^= mask;
          fs.writeFileSync(file, mutant);
          const outcome = exercise(file);
          flips++;
          const kind = outcome.replace(/^(RAW|INCONSISTENT).*/s, '$1');
          tally[kind] = (tally[kind] ?? 0) + 1;
          if (kind !== outcome) raw.push(`list byte +${i - at} ^0x${mask.toString(16)}: ${outcome}`);
        }
      }
    }
    console.log(`shape-list flips: ${flips} ${JSON.stringify(tally)}; reproduce: ${reproduce('every byte of both shape lists')}`);
    expect(raw, `${raw.length} raw errors or inconsistent reads`).toEqual([]);
  }, 30_000);

  it('shape lists forged into other valid msgpack (more than 32 shapes, empty shapes, duplicates, non-strings, not a list, a name list of 5000 names): typed errors or other property names, never a raw error', () => {
    const forged: Array<[string, unknown]> = [
      ['40 shapes', Array.from({ length: 40 }, (_, i) => [`f${i}`])], ['empty shapes', [[], [], []]], ['duplicate shapes', [['m0', 'inner'], ['m0', 'inner'], ['m0', 'inner']]],
      ['a number name', [[1, 2]]], ['a nested list', [[['m0']]]], ['a map', { m0: 1 }], ['a string', 'm0'], ['null', null], ['an empty list', []],
      ['5000 names', [Array.from({ length: 5000 }, (_, i) => `n${i}`)]], ['fewer names', [['m0']]], ['more names', [['m0', 'inner', 'extra', 'more']]],
    ];
    const outcomes: string[] = [];
    const plainFill = (db: Store) => { for (let i = 0; i < 12; i++) { db.putSync(i, `s${i}`); db.openDB('x').putSync(i, i); } }; // no shapes used: the puts meet the forged list
    for (const [what, list] of forged) {
      for (const [fillName, fill] of [['shaped values', shapedFill], ['plain values', plainFill]] as const) {
        const { file } = smallStore('forged', fill);
        const pool = Pool.open({ path: file, layout: STORE_LAYOUT, backend: 'file', durability: 'none' });
        const dir = OrderedMap.open(pool, pool.readU32(pool.root(8) + 4));
        pool.tx(() => { dir.put(Uint8Array.of(0xff), Uint8Array.from(listCodec.encode(list))); dir.put(Uint8Array.of(0xff, 0x78), Uint8Array.from(listCodec.encode(list))); });
        pool.close();
        outcomes.push(`${what} (${fillName}): ${exercise(file)}`);
      }
    }
    console.log(`forged shape lists: ${outcomes.join('; ')}`);
    expect(outcomes.filter((o) => /RAW|INCONSISTENT/.test(o)), 'raw errors or inconsistent reads').toEqual([]);
  });
});

describe('a shape list damaged past msgpackr\'s limit', () => {
  it('a list of 40 shapes (more than the 32 a codec shares; no Store writes one) is answered as damage — CorruptHeapError or ValueDecodeError — not as the caller\'s fault (was: InvalidArgumentError "cannot encode" for a value any store encodes)', () => {
    const { file } = smallStore('forty', (db) => db.putSync('plain', 'no shapes'));
    const pool = Pool.open({ path: file, layout: STORE_LAYOUT, backend: 'file', durability: 'none' });
    const dir = OrderedMap.open(pool, pool.readU32(pool.root(8) + 4));
    const forged = Uint8Array.from(listCodec.encode(Array.from({ length: 40 }, (_, i) => [`f${i}`])));
    pool.tx(() => dir.put(Uint8Array.of(0xff), forged));
    pool.close();
    const db = open({ path: file, durability: 'none', backend: 'file' });
    const errors = [() => db.putSync('k', { a: 1 }), () => db.doesExist('plain', { a: 1 }), () => db.put('k', { f0: 1 })].map((call) => {
      try { call(); return 'no error'; } catch (e) { return e instanceof PheapError ? e.name : `RAW ${String(e)}`; }
    });
    expect(shapeLists(db.pool), 'the damaged list is left as it was').toEqual({ ff: listCodec.decode(forged) });
    db.close();
    expect(errors.filter((e) => e !== 'CorruptHeapError' && e !== 'ValueDecodeError'), 'errors that blame the caller for damage').toEqual([]);
  });
});

// ─── refusal at open ────────────────────────────────────────────────────────

interface Region { name: string; start: number; end: number }

/** The Store's vetted metadata (docs/store.md, docs/containers.md): the root object, both maps' headers, both root nodes' headers and slots. */
function vettedRegions(image: Uint8Array): Region[] {
  const root = u32At(image, H.ROOT);
  const maps: Array<[string, number]> = [['main', u32At(image, root)], ['directory', u32At(image, root + 4)]];
  return [
    { name: 'root object', start: root - 16, end: root + 8 },
    ...maps.map(([n, m]) => ({ name: `${n} map header`, start: m - 16, end: m + 32 })),
    ...maps.map(([n, m]) => {
      const node = u32At(image, m + 8);
      return { name: `${n} root node header and slots`, start: node, end: node + 16 + 2 * (image[node + 2] | (image[node + 3] << 8)) };
    }),
  ];
}

const COMBOS = (['none', 'os', 'fsync'] as const).flatMap((durability) => (['file', 'mapped'] as const).map((backend) => ({ durability, backend })));
type Combo = (typeof COMBOS)[number];

/** Write `mutant`, open it as a Store with `combo`: refused (and then the file must be the mutant, byte for byte), or what reading everything gives. */
function openMutant(file: string, mutant: Buffer, contents: string, combo: Combo): string {
  fs.writeFileSync(file, mutant);
  const hash = sha256File(file);
  let db: Store;
  try {
    db = open({ path: file, ...combo });
  } catch (e) {
    if (!(e instanceof PheapError)) return `RAW ERROR at open: ${String(e)}`;
    if (sha256File(file) === hash) return 'refused, untouched';
    const lines = differingLines(mutant, fs.readFileSync(file)).map((l) => `0x${(l * 64).toString(16)}`);
    return `REFUSED BUT MODIFIED (${e.name}; lines ${lines.slice(0, 8).join(' ')})`;
  }
  try {
    const got = readAll(db);
    db.pool.check();
    return got === contents ? 'harmless' : 'SILENT DIFFERENCE';
  } catch (e) {
    return e instanceof PheapError ? 'refused on first use' : `RAW ERROR: ${String(e).slice(0, 100)}`;
  } finally {
    try { db.close(); } catch { /* a damaged pool may refuse a clean close; the outcome is known */ }
  }
}

describe('refusal at open', () => {
  it('every byte of the root object, both map headers and both root nodes\' headers and slots flipped, opened at every durability on both backends: refused with a typed error and the file byte-identical (sha256), harmless, or a typed error on first use; undone, the file opens to the original contents', () => {
    const rng = new Prng(`adv3-refusal-${SEED}`);
    const { file, image } = smallStore('vet', shapedFill);
    const base = open({ path: file, durability: 'none', backend: 'file' });
    const contents = readAll(base);
    base.close();
    fs.writeFileSync(file, image);
    const tally: Record<string, number> = {};
    const bad: string[] = [];
    let undone = 0;
    const everyCombo = new Set(Array.from({ length: 10 }, () => rng.below(1 << 20)));
    const regions = vettedRegions(image);
    const total = regions.reduce((n, r) => n + r.end - r.start, 0);
    let index = 0;
    for (const r of regions) {
      for (let at = r.start; at < r.end; at++, index++) {
        const mutant = Buffer.from(image);
        mutant[at] ^= 0xff;
        const combos = [...everyCombo].some((s) => s % total === index) ? COMBOS : [COMBOS[index % COMBOS.length]];
        for (const combo of combos) {
          const outcome = openMutant(file, mutant, contents, combo);
          const kind = outcome.replace(/ \(.*$/, '');
          tally[kind] = (tally[kind] ?? 0) + 1;
          const where = `${r.name} +${at - r.start} (0x${at.toString(16)}) at ${combo.durability}/${combo.backend}`;
          if (!['refused, untouched', 'harmless', 'refused on first use'].includes(outcome)) bad.push(`${where}: ${outcome}`);
          if (outcome !== 'refused, untouched') continue;
          // the flip undone: the refused open left nothing behind (no lock, no half-written state)
          fs.writeFileSync(file, image);
          const again = open({ path: file, ...combo });
          const got = readAll(again);
          again.close();
          if (got !== contents) bad.push(`${where}: refused, but the file with the flip undone reads differently`);
          undone++;
        }
      }
    }
    console.log(`refusal at open: ${total} bytes flipped ${JSON.stringify(tally)}, ${undone} refused files reopened with the flip undone; reproduce: ${reproduce('every byte of the root object')}`);
    expect(bad, `${bad.length} bad outcomes`).toEqual([]);
    expect(tally['refused, untouched'], 'some flips are refused at open').toBeGreaterThan(20);
  }, 60_000);
  it('a file with a transaction in flight (recovery has entries to roll back) and a damaged root object or main map header: refused at every durability on both backends, the file the mutant but for the pre-transaction bytes recovery restored (docs/store.md); undone, recovery rolls the transaction back and the file opens to the contents before it', () => {
    const file = tmp.file('inflight');
    const pool = Pool.create({ path: file, size: 128 << 10, layout: STORE_LAYOUT, backend: 'file', durability: 'os', evicts: true }); // eager undo log, drained at 'os': a crash mid-transaction leaves entries to roll back
    const db = Store.attach(pool);
    shapedFill(db);
    const contents = readAll(db);
    pool.beginTx();
    for (let i = 0; i < 6; i++) { db.putSync(i, { inFlight: { [`shape${i}`]: i } }); db.openDB('x').removeSync(i); }
    const image = Buffer.from(pool.crashImage({ mode: 'evict', seed: SEED }));
    pool.abortTx();
    pool.close();
    const recovered = (combo: Combo): { got: string; rolledBack: number } => {
      const again = open({ path: file, ...combo });
      const out = { got: readAll(again), rolledBack: again.pool.stats().recovery.entriesRolledBack };
      again.close();
      return out;
    };
    fs.writeFileSync(file, image);
    const plain = recovered({ durability: 'os', backend: 'file' });
    const restored = fs.readFileSync(file); // the image recovered (and its open counted)
    expect(plain.rolledBack, 'the image has a transaction to roll back').toBeGreaterThan(0);
    expect(plain.got, 'recovery gives the contents before the transaction').toBe(contents);
    /** After a refused open, every byte that differs from the mutant is one recovery restored: the recovered image's. */
    const onlyRestored = (mutant: Buffer, after: Buffer) => after.every((b, i) => b === mutant[i] || b === restored[i]);
    const regions = vettedRegions(image).filter((r) => r.name === 'root object' || r.name === 'main map header');
    const tally: Record<string, number> = {};
    const bad: string[] = [];
    let index = 0;
    for (const r of regions) {
      for (let at = r.start; at < r.end; at++, index++) {
        const combo = COMBOS[index % COMBOS.length];
        const mutant = Buffer.from(image);
        mutant[at] ^= 0xff;
        let outcome = openMutant(file, mutant, contents, combo);
        if (outcome.startsWith('REFUSED BUT MODIFIED') && onlyRestored(mutant, fs.readFileSync(file))) outcome = 'refused, only the rollback written';
        const kind = outcome.replace(/ \(.*$/, '');
        tally[kind] = (tally[kind] ?? 0) + 1;
        const where = `${r.name} +${at - r.start} at ${combo.durability}/${combo.backend}`;
        if (!['refused, untouched', 'refused, only the rollback written', 'harmless', 'refused on first use'].includes(outcome)) bad.push(`${where}: ${outcome}`);
        if (!outcome.startsWith('refused, ')) continue;
        fs.writeFileSync(file, image);
        const { got, rolledBack } = recovered(combo);
        if (got !== contents || rolledBack === 0) bad.push(`${where}: refused, but with the flip undone recovery gives ${rolledBack} entries rolled back and ${got === contents ? 'the contents' : 'other contents'}`);
      }
    }
    console.log(`refusal at open with a transaction in flight: ${index} bytes flipped ${JSON.stringify(tally)}; reproduce: ${reproduce('transaction in flight')}`);
    expect(bad, `${bad.length} bad outcomes`).toEqual([]);
    expect((tally['refused, untouched'] ?? 0) + (tally['refused, only the rollback written'] ?? 0), 'some flips are refused at open').toBeGreaterThan(10);
  }, 30_000);
});
