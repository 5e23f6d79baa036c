// The Store (src/store/store.ts) against lmdb-js itself: random sequences of
// put / putSync / remove / removeSync / transaction / transactionSync /
// getRange / getCount / getKeys / get / getBinary / doesExist / openDB are
// applied to a Store and to an lmdb-js environment in a temp directory, and
// every read, every return value and, at the end, the full ordered contents
// of every database must agree. Then: a file Store reopened keeps
// everything; a pool of another layout, a file that is no pool, bad keys,
// bad values and bad options are typed errors that leave the file
// byte-identical. Random runs are seeded; a failure prints the line that
// replays it.

import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { open as lmdbOpen, type Database as LmdbDatabase, type RootDatabase } from 'lmdb';
import {
  open, Store, Pool, STORE_LAYOUT, canonical, KeyError, InvalidArgumentError, LayoutMismatchError, NotAPoolError,
  PheapError, PoolClosedError, UnsupportedOperationError, TxStateError, TxAbortedError, ORDERED_MAP_KEY_MAX, Prng, type Key,
} from '../src/index.js';
import { useTempDir, sha256File, dirListing } from './helpers/pool-files.js';

const FILE = 'test/store.test.ts';
const SEED = 20261202;
const tmp = useTempDir('pheap-store-');

// ─── the model test ────────────────────────────────────────────────────────

/** Databases: index 0 is the main one (lmdb-js side: a named database, so that lmdb-js's main one, which lists the names, stays out of the comparison). */
const DBS = [
  { name: null, lmdbName: 'Xmain', encoding: 'msgpack' },
  { name: 'Xobj', lmdbName: 'Xobj', encoding: 'msgpack' },
  { name: 'Xstr', lmdbName: 'Xstr', encoding: 'string' },
  { name: 'Xbin', lmdbName: 'Xbin', encoding: 'binary' },
] as const;

/**
 * Keys both accept and order alike. Raw byte keys are letters: other bytes
 * need not spell an ordered-binary key, and lmdb-js then decodes them with
 * whatever its buffer holds past the key (a [192] key comes back as '\x00\x10').
 */
const keyArb: fc.Arbitrary<Key> = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'é'), minLength: 1, maxLength: 4 }),
  fc.integer({ min: -50, max: 50 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).filter((n) => !Object.is(n, -0)),
  fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: 9 })),
  fc.uint8Array({ min: 0x61, max: 0x7a, minLength: 1, maxLength: 4 }),
);

/** A value of every shape; each database takes the part its encoding can hold. */
interface ValueSeed { pick: number; json: unknown; s: string; b: Uint8Array }
const bigArb = fc.integer({ min: 65536, max: 70000 }).map((n) => new Uint8Array(n).map((_, i) => (i * 31 + n) & 0xff));
const valueSeedArb: fc.Arbitrary<ValueSeed> = fc.record({
  pick: fc.integer({ min: 0, max: 2 }),
  json: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(''), fc.constant({})),
  s: fc.oneof({ weight: 8, arbitrary: fc.string({ maxLength: 20 }) }, { weight: 1, arbitrary: fc.constant('') }, { weight: 1, arbitrary: bigArb.map((b) => 'v'.repeat(b.length)) }),
  b: fc.oneof({ weight: 8, arbitrary: fc.uint8Array({ maxLength: 20 }) }, { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) }, { weight: 1, arbitrary: bigArb }),
});
function valueFor(db: number, v: ValueSeed): unknown {
  const enc = DBS[db].encoding;
  if (enc === 'string') return v.s;
  if (enc === 'binary') return v.b;
  return [v.json, v.s, v.b][v.pick];
}

type W = { k: 'put'; db: number; key: Key; v: ValueSeed } | { k: 'remove'; db: number; key: Key };
type Op =
  | { k: 'open'; db: number }
  | { k: 'put' | 'putSync'; db: number; key: Key; v: ValueSeed }
  | { k: 'remove' | 'removeSync'; db: number; key: Key }
  | { k: 'burst'; ws: W[] }
  | { k: 'transaction' | 'transactionSync'; ws: W[]; result: number }
  | { k: 'read'; db: number; key: Key; v: ValueSeed }
  | { k: 'range' | 'count' | 'keys'; db: number; start?: Key; end?: Key; limit?: number; offset?: number; reverse: boolean };

const dbArb = fc.integer({ min: 0, max: DBS.length - 1 });
const wArb: fc.Arbitrary<W> = fc.oneof(
  fc.record({ k: fc.constant('put' as const), db: dbArb, key: keyArb, v: valueSeedArb }),
  fc.record({ k: fc.constant('remove' as const), db: dbArb, key: keyArb }),
);
const rangeArb = fc.record({
  k: fc.constantFrom('range' as const, 'count' as const, 'keys' as const), db: dbArb, reverse: fc.boolean(),
  start: fc.option(keyArb, { nil: undefined }), end: fc.option(keyArb, { nil: undefined }),
  limit: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }), offset: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
}, { requiredKeys: ['k', 'db', 'reverse'] });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ k: fc.constant('open' as const), db: dbArb }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constantFrom('put' as const, 'putSync' as const), db: dbArb, key: keyArb, v: valueSeedArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constantFrom('remove' as const, 'removeSync' as const), db: dbArb, key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('burst' as const), ws: fc.array(wArb, { minLength: 1, maxLength: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constantFrom('transaction' as const, 'transactionSync' as const), ws: fc.array(wArb, { minLength: 1, maxLength: 6 }), result: fc.integer() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('read' as const), db: dbArb, key: keyArb, v: valueSeedArb }) },
  { weight: 3, arbitrary: rangeArb },
);

/** One side of the comparison: the calls a Store and an lmdb-js database share, with loose argument types (each side checks its own). */
interface Db {
  put(k: unknown, v: unknown): Promise<boolean>;
  putSync(k: unknown, v: unknown): unknown;
  remove(k: unknown): Promise<boolean>;
  removeSync(k: unknown): boolean;
  get(k: unknown): unknown;
  getBinary(k: unknown): unknown;
  doesExist(k: unknown, v?: unknown): boolean;
  getRange(o?: unknown): Iterable<unknown> & { asArray: unknown[] };
  getKeys(o?: unknown): { asArray: unknown[] };
  getCount(o?: unknown): number;
}
const loose = (db: Store | LmdbDatabase) => db as unknown as Db;
const norm = (v: unknown) => canonical(v);

class Sides {
  ours: (Db | undefined)[] = [];
  theirs: (Db | undefined)[] = [];
  constructor(readonly store: Store, readonly env: RootDatabase) {}

  /** Both handles of database `i`, or undefined when it was not opened yet (the main one always is). */
  pair(i: number): [Db, Db] | undefined {
    if (i === 0 && !this.ours[0]) this.open(0);
    const a = this.ours[i], b = this.theirs[i];
    return a && b ? [a, b] : undefined;
  }
  open(i: number): void {
    const d = DBS[i];
    this.ours[i] = loose(d.name === null ? this.store : this.store.openDB(d.name, { encoding: d.encoding }));
    this.theirs[i] = loose(this.env.openDB(d.lmdbName, { encoding: d.encoding, compression: false } as never));
  }
  /** Apply one write to both sides (inside a transaction callback, or as part of a burst); returns the promises. */
  write(w: W): Promise<unknown>[] {
    const p = this.pair(w.db);
    if (!p) return [];
    return p.map((db: Db) => (w.k === 'put' ? db.put(w.key, valueFor(w.db, w.v)) : db.remove(w.key)));
  }
}

/** The same writes in a transaction callback on both sides; both resolve (or return) fn's result. */
async function runTransaction(s: Sides, op: Extract<Op, { k: 'transaction' | 'transactionSync' }>): Promise<void> {
  const sides = [s.store, s.env] as const;
  const results = sides.map((side) => {
    const fn = () => {
      for (const w of op.ws) {
        const p = side === s.store ? s.pair(w.db)?.[0] : s.pair(w.db)?.[1];
        if (!p) continue;
        if (w.k === 'put') p.put(w.key, valueFor(w.db, w.v)); else p.remove(w.key);
      }
      return op.result;
    };
    return op.k === 'transaction' ? side.transaction(fn) : side.transactionSync(fn);
  });
  return void expect(await results[0]).toBe(await results[1]);
}

async function step(s: Sides, op: Op): Promise<void> {
  const same = (what: string, f: (db: Db) => unknown, p: [Db, Db]) => expect(norm(f(p[0])), what).toBe(norm(f(p[1])));
  if (op.k === 'open') return s.open(op.db);
  if (op.k === 'burst') {
    const ps = op.ws.flatMap((w) => s.write(w));
    return void expect(norm(await Promise.all(ps.filter((_, i) => i % 2 === 0)))).toBe(norm(await Promise.all(ps.filter((_, i) => i % 2 === 1))));
  }
  if ('result' in op) return runTransaction(s, op);
  const p = s.pair(op.db);
  if (!p) return;
  switch (op.k) {
    case 'put': return void expect(await p[0].put(op.key, valueFor(op.db, op.v))).toBe(await p[1].put(op.key, valueFor(op.db, op.v)));
    case 'putSync': return same('putSync', (db) => db.putSync(op.key, valueFor(op.db, op.v)), p);
    case 'remove': return void expect(await p[0].remove(op.key)).toBe(await p[1].remove(op.key));
    case 'removeSync': return same('removeSync', (db) => db.removeSync(op.key), p);
    case 'read':
      same('get', (db) => db.get(op.key), p);
      same('getBinary', (db) => db.getBinary(op.key), p);
      same('doesExist', (db) => db.doesExist(op.key), p);
      same('doesExist null', (db) => db.doesExist(op.key, null as never), p);
      return void expect(p[0].doesExist(op.key, valueFor(op.db, op.v)), 'doesExist(key, value)').toBe(norm(p[1].get(op.key)) === norm(valueFor(op.db, op.v)) && p[1].get(op.key) !== undefined);
    default: {
      const opts = { start: op.start, end: op.end, limit: op.limit, offset: op.offset, reverse: op.reverse } as never;
      // lmdb-js's native count reads limit 0 as no limit; the Store counts what getRange yields (docs/store.md)
      if (op.k === 'count') return void expect(p[0].getCount(opts), 'getCount').toBe(op.limit === 0 ? p[1].getRange(opts).asArray.length : p[1].getCount(opts));
      if (op.k === 'keys') return same('getKeys', (db) => db.getKeys(opts).asArray, p);
      return same('getRange', (db) => db.getRange(opts).asArray, p);
    }
  }
}

/** Does `op` write a value of 64 KiB or more? */
function isBigWrite(op: Op | W): boolean {
  if (!('v' in op) || op.k === 'read') return false;
  const v = valueFor(op.db, op.v);
  return (typeof v === 'string' || v instanceof Uint8Array) && v.length >= 65536;
}

/** Every database's full contents, in order, on both sides. */
function sameContents(s: Sides): void {
  DBS.forEach((_, i) => {
    const p = s.pair(i);
    if (!p) return;
    expect(norm(p[0].getRange().asArray), `contents of database ${i}`).toBe(norm([...p[1].getRange({})]));
    expect(p[0].getCount()).toBe(p[1].getCount());
  });
}

describe('the Store against lmdb-js', () => {
  const envs: RootDatabase[] = [];
  afterAll(async () => { for (const e of envs) await e.close(); });

  it('random operation sequences: every read, return value and the final ordered contents agree', async () => {
    let runs = 0, ops = 0, entries = 0, big = 0;
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 40, size: 'max' }), async (seq) => {
      const env = lmdbOpen({ path: tmp.file('lmdb', ''), maxDbs: 8, compression: false } as never);
      envs.push(env);
      const store = open();
      const s = new Sides(store, env);
      try {
        for (const op of seq) await step(s, op);
        sameContents(s);
        store.pool.check();
        entries += DBS.reduce((n, _, i) => n + (s.pair(i)?.[0].getCount() ?? 0), 0);
      } finally {
        store.close();
      }
      runs++; ops += seq.length; big += seq.flatMap((op) => ('ws' in op ? op.ws : [op])).filter(isBigWrite).length;
    }), { seed: SEED, numRuns: 60, reporter: (r) => { if (r.failed) throw new Error(`${fc.defaultReportMessage(r)}\n${String(r.errorInstance)}\nreproduce: npx vitest run ${FILE} -t 'random operation' (seed ${SEED})`); } });
    expect(big, 'values of 64 KiB and more were written').toBeGreaterThan(0);
    console.log(`store vs lmdb-js: ${runs} runs, ${ops} operations (${big} writes of values >= 64 KiB), ${entries} entries compared at the end; reproduce: npx vitest run ${FILE} -t 'random operation' (seed ${SEED})`);
  }, 60_000);
});

// ─── files: reopen, foreign files, bad input ──────────────────────────────

describe('the Store on a file', () => {
  it('reopen keeps everything: random puts, removes and transactions over three databases', async () => {
    let runs = 0;
    await fc.assert(fc.asyncProperty(fc.array(wArb, { minLength: 1, maxLength: 30 }), async (ws) => {
      const path = tmp.file('reopen');
      const names = ['Xobj', 'Xstr', 'Xbin'];
      const s = open({ path, durability: 'none' });
      const dbs = [s, ...names.map((n, i) => s.openDB(n, { encoding: DBS[i + 1].encoding }))];
      const half = ws.length >> 1;
      await s.transaction(() => { for (const w of ws.slice(0, half)) writeTo(dbs[w.db], w); });
      for (const w of ws.slice(half)) if (w.k === 'put') dbs[w.db].putSync(w.key, valueFor(w.db, w.v)); else dbs[w.db].removeSync(w.key);
      const before = dbs.map((d) => norm(d.getRange().asArray));
      s.close();
      const t = open(path);
      const after = [t, ...names.map((n, i) => t.openDB(n, { encoding: DBS[i + 1].encoding }))].map((d) => norm(d.getRange().asArray));
      expect(after).toEqual(before);
      t.pool.check();
      t.close();
      runs++;
    }), { seed: SEED + 1, numRuns: 15, reporter: (r) => { if (r.failed) throw new Error(`${fc.defaultReportMessage(r)}\n${String(r.errorInstance)}\nreproduce: npx vitest run ${FILE} -t 'reopen keeps' (seed ${SEED + 1})`); } });
    console.log(`store reopen: ${runs} files reopened with equal contents; reproduce: npx vitest run ${FILE} -t 'reopen keeps' (seed ${SEED + 1})`);
  }, 30_000);

  it('a pool of another layout and a file that is no pool are refused, byte-identical', () => {
    const other = tmp.file('other');
    const p = Pool.create({ path: other, layout: 'not-a-store', size: 128 << 10 });
    p.root(8);
    p.close();
    const junk = tmp.file('junk');
    writeFileSync(junk, new Uint8Array(4096).map((_, i) => (i * 7) & 0xff));
    const hashes = [sha256File(other), sha256File(junk)];
    expect(() => open(other)).toThrow(LayoutMismatchError);
    expect(() => open({ path: junk })).toThrow(NotAPoolError);
    expect([sha256File(other), sha256File(junk)]).toEqual(hashes);
    const s = open(tmp.file('layout'));
    expect(s.pool.info().path).toBeDefined();
    s.close();
    expect(() => Store.attach(Pool.create({ layout: STORE_LAYOUT }), { compression: true as never })).toThrow(UnsupportedOperationError);
  });

  it('bad keys, values, options and calls are typed errors; the file stays byte-identical', async () => {
    const path = tmp.file('bad');
    const s = open(path, { durability: 'none' });
    s.putSync('a', { x: 1 });
    s.openDB('strings', { encoding: 'string' }).putSync('k', 'v');
    s.close();

    const t = open(path, { backend: 'file' }); // the file backend keeps a durable image to compare too
    const hash = sha256File(path);
    const image = t.pool.durableImage();
    const str = t.openDB('strings', { encoding: 'string' });
    const bin = t.openDB('strings', { keyEncoding: 'binary', encoding: 'binary' });
    const badKeys: unknown[] = [undefined, 1n, Symbol('s'), {}, [], [[1]], [1, null], -0, 'x'.repeat(ORDERED_MAP_KEY_MAX + 1), new Uint8Array(0), () => 1];
    let refused = 0;
    const refuse = (f: () => unknown, type: new (...a: never[]) => PheapError) => { expect(f).toThrow(type); refused++; };
    for (const k of badKeys) {
      refuse(() => t.putSync(k as Key, 1), KeyError);
      refuse(() => t.put(k as Key, 1), KeyError);
      refuse(() => t.removeSync(k as Key), KeyError);
      refuse(() => t.get(k as Key), KeyError);
      if (k !== undefined) refuse(() => t.getRange({ start: k as Key }), KeyError); // (an undefined start is no start)
    }
    refuse(() => bin.putSync('text' as never, new Uint8Array(1)), KeyError);
    refuse(() => t.putSync('a', () => 1), InvalidArgumentError);
    refuse(() => t.putSync('a', { deep: [Symbol('x')] }), InvalidArgumentError);
    refuse(() => str.putSync('k', 5), InvalidArgumentError);
    refuse(() => bin.putSync(new Uint8Array([1]), 'not bytes' as never), InvalidArgumentError);
    refuse(() => t.put('a', 2, 7), UnsupportedOperationError);
    refuse(() => t.removeSync('a', 1 as never), UnsupportedOperationError);
    refuse(() => t.getRange({ limit: -1 }), InvalidArgumentError);
    refuse(() => t.getRange({ bogus: 1 } as never), InvalidArgumentError);
    refuse(() => t.getCount({ reverse: 'yes' } as never), InvalidArgumentError);
    refuse(() => t.openDB(''), InvalidArgumentError);
    refuse(() => t.openDB('x', { encoding: 'cbor' as never }), InvalidArgumentError);
    refuse(() => t.openDB('x', { keyEncoding: 'uint32' as never }), InvalidArgumentError);
    refuse(() => t.openDB({ name: 'x', compression: true as never }), UnsupportedOperationError);
    refuse(() => t.getKeys(5 as never), InvalidArgumentError);
    refuse(() => t.transactionSync(() => t.openDB('brand-new')), TxStateError);
    expect(sha256File(path), `${refused} refused calls left the file byte-identical`).toBe(hash);
    expect(Buffer.from(t.pool.durableImage()).equals(image), 'and the durable image').toBe(true);
    // a refusal inside a transaction callback rolls the whole transaction back (the log was written: contents equal, not bytes)
    refuse(() => t.transactionSync(() => { t.putSync('b', 1); t.putSync(undefined as never, 1); }), KeyError);
    await expect(t.transaction(() => { t.put('c', 1); throw new InvalidArgumentError('abort'); })).rejects.toThrow(InvalidArgumentError);
    expect(t.get('b')).toBeUndefined();
    expect(t.get('c')).toBeUndefined();
    expect(norm([t.getRange().asArray, str.getRange().asArray])).toBe(norm([[{ key: 'a', value: { x: 1 } }], [{ key: 'k', value: 'v' }]]));
    t.close();
    refuse(() => t.get('a'), PoolClosedError);
    refuse(() => open(tmp.file('never'), { compression: true as never }), UnsupportedOperationError);
    refuse(() => open({ path: tmp.file('never'), bogus: 1 } as never), InvalidArgumentError);
    refuse(() => open({ path: tmp.file('never'), durability: 'sometimes' as never }), InvalidArgumentError);
    refuse(() => open({ path: tmp.file('never'), encoding: 'cbor' as never }), InvalidArgumentError);
    refuse(() => open(5 as never), InvalidArgumentError);
    expect(dirListing(tmp.dir).filter((f) => f.startsWith('never')), 'refused opens made no file').toEqual([]);
  });

  it('a Uint8Array key whose bytes spell no ordered-binary value comes back as those bytes (was a raw RangeError in getRange)', () => {
    const db = open();
    const raw = Uint8Array.from([0x6b, ...new Array(14).fill(0), 0x08]);
    db.putSync(raw, 1);
    db.putSync('k', 2);
    const keys = db.getKeys().asArray;
    expect(keys).toContainEqual(raw);
    expect(db.get(raw)).toBe(1);
    db.close();
  });

  it('a file Store at durability fsync is on the file backend (one commit of 3 syncs per group-commit batch), at os on the default one', () => {
    const fsyncDb = open({ path: tmp.file('fsync-default') });
    expect(fsyncDb.pool.info().backend).toBe('file');
    fsyncDb.close();
    const osDb = open({ path: tmp.file('os-default'), durability: 'os' });
    expect(['mapped', 'file']).toContain(osDb.pool.info().backend);
    osDb.close();
  });

  it('put and putSync keep program order while a batch is open; put is visible at once and resolves when committed', async () => {
    const s = open();
    const p = s.put('g', 'async');
    expect(s.get('g'), 'visible before the batch commits').toBe('async');
    s.putSync('g', 'sync'); // commits the open batch first, then its own transaction
    expect(await p).toBe(true);
    expect(s.get('g')).toBe('sync');
    const q = s.remove('g');
    const r = s.transaction(() => { s.put('h', 1); return s.get('g'); });
    expect(await q).toBe(true);
    expect(await r).toBeUndefined();
    expect(s.getKeys().asArray).toEqual(['h']);
    expect(s.transactionSync(() => s.transactionSync(() => { s.putSync('i', 2); return 'nested'; }))).toBe('nested');
    expect(s.getRange({ reverse: true }).map((e) => e.key).filter((k) => k !== 'h').asArray).toEqual(['i']);
    // a nested callback that throws rolls the whole transaction back, even when the outer one catches it
    expect(() => s.transactionSync(() => {
      s.putSync('j', 3);
      try { s.transactionSync(() => { s.putSync('k', 4); throw new InvalidArgumentError('inner'); }); } catch { /* caught, but the transaction is aborted */ }
    })).toThrow(TxAbortedError);
    let inner: Promise<unknown> | undefined;
    await expect(s.transaction(() => { s.put('l', 5); inner = s.transaction(() => { throw new InvalidArgumentError('inner'); }); })).rejects.toThrow(TxAbortedError);
    await expect(inner).rejects.toThrow('inner');
    expect(s.getKeys().asArray).toEqual(['h', 'i']);
    // callbacks must be synchronous: one that returns a promise is aborted, its writes rolled back
    expect(() => s.transactionSync(async () => { s.putSync('m', 6); })).toThrow(TxStateError);
    await expect(s.transaction(async () => { s.putSync('n', 7); })).rejects.toThrow(TxStateError);
    expect(s.getKeys().asArray).toEqual(['h', 'i']);
    s.close();
  });

  it('the puts and removes of one batch share one promise (as in lmdb-js); a write that fails rejects alone and the others commit', async () => {
    const s = open({ maxSize: 1 << 20 });
    const big = 'x'.repeat(200_000);
    const first = s.put('a', 1), removed = s.remove('zz'), ok = s.put('b', big);
    const tooBig = s.put('c', big.repeat(8)); // the pool may not grow that far: OutOfSpaceError for this member only
    const last = s.put('d', 2);
    expect(removed, 'one batch, one promise').toBe(first);
    expect(ok).toBe(first);
    expect(last).toBe(first);
    expect(tooBig).not.toBe(first);
    await expect(tooBig).rejects.toThrow(PheapError);
    expect(await first).toBe(true);
    expect(s.getKeys().asArray).toEqual(['a', 'b', 'd']);
    const next = s.put('e', 3);
    expect(next, 'a new batch has a new promise').not.toBe(first);
    s.putSync('f', 4); // commits the open batch first
    expect(await next).toBe(true);
    s.close();
  });
});

describe('what the Store hands out', () => {
  it('binary values and keys are copies: later writes, growth, other reads and the caller\'s arrays never show through (seeded)', () => {
    const s = open({ encoding: 'binary', keyEncoding: 'binary' });
    const rng = new Prng('store-copies');
    const model = new Map<string, string>();
    const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
    const key = (i: number) => new Uint8Array([1, i >> 8, i & 255]);
    /** Every array handed out, with the bytes it held when it was handed out (they must never change). */
    const handed: [Uint8Array, string][] = [];
    const keep = (b: Uint8Array, want: string) => { expect(hex(b)).toBe(want); handed.push([b, want]); };
    for (let step = 0; step < 3000; step++) {
      const k = key(rng.below(400));
      const v = new Uint8Array(rng.below(40) * (rng.below(20) === 0 ? 100 : 1)).map(() => rng.below(256));
      s.putSync(k, v);
      model.set(hex(k), hex(v));
      v.fill(0xEE); // the caller reuses its arrays: what is stored must not change
      k.fill(0xEE);
      const r = key(rng.below(400));
      const got = s.get(r);
      if (got) keep(got, model.get(hex(r))!);
      const bin = s.getBinary(r);
      if (bin) keep(bin, model.get(hex(r))!);
      if (step % 100 === 0) {
        for (const e of s.getRange({ start: key(rng.below(400)), limit: 50 })) { const k = e.key as Uint8Array; keep(e.value, model.get(hex(k))!); keep(k, hex(k)); }
        s.pool.alloc(256 * 1024); // grow the pool now and then
      }
    }
    expect(s.pool.stats().growths).toBeGreaterThan(0);
    expect(handed.length).toBeGreaterThan(3000);
    for (const [b, want] of handed) expect(hex(b)).toBe(want);
    s.close();
    console.log(`handed-out copies: seed 'store-copies'; reproduce: npx vitest run ${FILE} -t 'copies'`);
  });
});

function writeTo(db: Store, w: W): void {
  if (w.k === 'put') void db.put(w.key, valueFor(w.db, w.v)); else void db.remove(w.key);
}
