// store-crash.test.ts — the Store under the crash explorer: putSync (inline
// values and ones big enough for a blob of their own), removeSync,
// transactionSync with several writes over two databases, openDB making a
// new database, and a group-commit batch of put / remove calls — each value
// an object of a new shape, so each put also saves its database's msgpack
// structure list — crashed at
// every drain in every mode, once (also inside recovery) and twice in a
// row. The oracle: the recovered file, opened as a Store, holds the model
// after a prefix of the operations that includes every one that returned
// (durable linearizability: src/crash/linearizable.ts), every map passes
// check(), pool.check() passes, and the pool holds exactly the root and
// the maps' objects (nothing leaked by a rolled-back openDB).

import { describe, expect, it } from 'vitest';
import {
  OrderedMap, Store, STORE_LAYOUT, explore, formatReport, linearizable, progressOf, checkLinearizable, canonical,
  type ExploreOptions, type Pool,
} from '../src/index.js';

const FILE = 'test/store-crash.test.ts';

/** A write to database `db` ('' is the main one). */
type W = { k: 'put'; db: string; key: string; len: number } | { k: 'remove'; db: string; key: string };
type Op = W | { k: 'tx'; ws: W[] } | { k: 'batch'; ws: W[] } | { k: 'openDB'; db: string };
/** Database name → key → value length. */
type State = Record<string, Record<string, number>>;

/** A value: an object of one property named after its key (a shape of its own: its first put saves a msgpack structure with it), holding the key repeated to `len` characters. */
const valueOf = (key: string, len: number) => ({ [`p${key}`]: key.repeat(Math.ceil(len / key.length)).slice(0, len) });
/** The length of a value valueOf(key, len) made, checking it is one. */
function lengthOf(key: string, value: unknown): number {
  const len = ((value as Record<string, string>)[`p${key}`] ?? '').length;
  expect(value).toEqual(valueOf(key, len));
  return len;
}

function apply(s: State, op: Op): State {
  if (op.k === 'openDB') s[op.db] ??= {};
  else if (op.k === 'tx' || op.k === 'batch') for (const w of op.ws) apply(s, w);
  else if (op.k === 'put') (s[op.db] ??= {})[op.key] = op.len;
  else delete s[op.db]?.[op.key];
  return s;
}

const dbOf = (store: Store, name: string) => (name === '' ? store : store.openDB(name));
function write(store: Store, w: W): void {
  if (w.k === 'put') dbOf(store, w.db).putSync(w.key, valueOf(w.key, w.len));
  else dbOf(store, w.db).removeSync(w.key);
}
function run(p: Pool, op: Op): void {
  const store = Store.attach(p);
  if (op.k === 'openDB') store.openDB(op.db);
  else if (op.k === 'tx') store.transactionSync(() => { for (const w of op.ws) write(store, w); });
  else if (op.k === 'batch') runBatch(store, op.ws);
  else write(store, op);
}
/** Asynchronous put / remove calls: one group-commit batch, committed here (the explorer's workload is synchronous). */
function runBatch(store: Store, ws: W[]): void {
  const done = ws.map((w) => (w.k === 'put' ? dbOf(store, w.db).put(w.key, valueOf(w.key, w.len)) : dbOf(store, w.db).remove(w.key)));
  void Promise.allSettled(done); // a crash mid-commit rejects them: the oracle judges the recovered file, not the promises
  store.pool.commitBatch();
}

/** The store's state in model terms, after checking the maps, the heap and that nothing leaked. */
function read(p: Pool): State {
  const store = Store.attach(p);
  const root = p.root(8);
  const dir = OrderedMap.open(p, p.readU32(root + 4));
  const names = [...dir.range()].filter((e) => e.key[0] !== 0xff).map((e) => new TextDecoder().decode(e.key)); // 0xFF…: a database's msgpack structures
  const maps = [OrderedMap.open(p, p.readU32(root)), dir, ...names.map((n) => OrderedMap.open(p, new DataView(dir.get(new TextEncoder().encode(n))!.buffer).getUint32(0, true)))];
  const objects = maps.reduce((n, m) => n + m.check().objects, 0);
  expect(p.stats().heap.liveObjects, 'the pool holds the root and exactly the maps\' objects').toBe(objects + 1);
  const s: State = {};
  for (const name of ['', ...names]) {
    const db = s[name] = {} as Record<string, number>;
    for (const { key, value } of dbOf(store, name).getRange()) db[key as string] = lengthOf(key as string, value);
  }
  return s;
}

const setup = (p: Pool) => {
  const store = Store.attach(p);
  store.putSync('a', valueOf('a', 10));
  store.openDB('users').putSync('u1', valueOf('u1', 400));
};
const initial = (): State => ({ '': { a: 10 }, users: { u1: 400 } });

const OPS: Op[] = [
  { k: 'put', db: '', key: 'b', len: 20 },
  { k: 'put', db: 'users', key: 'u2', len: 500 }, // a value in a blob of its own
  { k: 'remove', db: '', key: 'a' },
  { k: 'tx', ws: [{ k: 'put', db: '', key: 'c', len: 8 }, { k: 'remove', db: 'users', key: 'u1' }, { k: 'put', db: 'users', key: 'u3', len: 350 }] },
  { k: 'openDB', db: 'jobs' },
  { k: 'put', db: 'jobs', key: 'j1', len: 30 },
  { k: 'put', db: '', key: 'b', len: 300 }, // an overwrite that moves the value to a blob
  { k: 'remove', db: 'users', key: 'u2' },
  { k: 'batch', ws: [{ k: 'put', db: 'jobs', key: 'j2', len: 12 }, { k: 'remove', db: '', key: 'c' }, { k: 'put', db: 'users', key: 'u4', len: 700 }] },
];

const EXPLORE = { file: FILE, size: 1 << 20, layout: STORE_LAYOUT, setup } satisfies Partial<ExploreOptions>;

describe('Store crash exploration', () => {
  it('putSync, removeSync, transactionSync, openDB and a put batch crashed at every drain, every mode: linearizable, no leak', () => {
    const lin = linearizable<State, Op>({ model: { initial, apply }, ops: OPS, run, read });
    const r = explore({ ...EXPLORE, name: 'store, one crash', modes: ['strict', 'pending', 'evict', 'tear8'], seeds: 2, workload: lin.workload, check: lin.check });
    if (r.failures.length) throw new Error(formatReport(r));
    expect(r.states).toBeGreaterThan(OPS.length);
    console.log(`store, one crash: ${r.states} crash states explored over ${r.points} crash points (crashes inside recovery included); reproduce: npx vitest run ${FILE} -t 'every drain'`);
  }, 60_000);

  it('two crashes in a row (deferred log: file / memory backends): the run after recovery does the operations again', () => {
    const ops = [OPS[1], OPS[3], OPS[4], OPS[5], OPS[8]];
    const prefix = (s: State, n: number) => ops.slice(0, n).reduce(apply, structuredClone(s));
    const lin = linearizable<State, Op>({ model: { initial, apply }, ops, run, read });
    const r = explore({
      ...EXPLORE, name: 'store, two crashes', evicts: false, depth: 2, seeds: 2, deeper: { states: 4, points: 6 }, workload: lin.workload,
      check: (p, markers, crash) => {
        const got = canonical(read(p));
        const l1 = progressOf(markers.filter((m) => m.level === 1));
        if (!crash.prior) return checkLinearizable(got, lin.keys, l1);
        // level 2: the state after some level-1 prefix, then a prefix of the same operations again
        const l2 = progressOf(markers.filter((m) => m.level === 2));
        const firsts = Array.from({ length: l1.called - l1.returned + 1 }, (_, j) => prefix(initial(), l1.returned + j));
        const ok = firsts.some((s1) => { try { checkLinearizable(got, Array.from({ length: ops.length + 1 }, (_, i) => canonical(prefix(s1, i))), l2); return true; } catch { return false; } });
        if (!ok) throw new Error(`after two crashes the store is ${got}: not a level-1 prefix followed by a level-2 prefix`);
      },
    });
    if (r.failures.length) throw new Error(formatReport(r));
    expect(r.levels).toHaveLength(2);
    console.log(`store, two crashes: ${r.states} crash states explored (${r.levels.map((l) => `level ${l.level}: ${l.states}`).join(', ')}); reproduce: npx vitest run ${FILE} -t 'two crashes'`);
  }, 60_000);
});
