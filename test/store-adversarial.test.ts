// store-adversarial.test.ts — the Store (`open` from the package entry) attacked
// through its public API only, designed from docs/store.md, docs/containers.md
// and the doc comments of `open` / `Store`, without reading the implementation.
//
// Owns:
//   - a model-based run: seeded random sequences of put / putSync / remove /
//     removeSync / transaction / transactionSync (nested, throwing, aborted by
//     a caught inner throw) / openDB / getRange with every option / getKeys /
//     getCount / get / getBinary / doesExist / close + reopen, over four
//     databases of different key and value encodings, with keys of every
//     ordered-binary kind mixed; asynchronous writes are left unawaited
//     before sync writes and before close. Every result is compared with
//     test/helpers/store-model.ts;
//   - reentrancy: writes, transactions and close from inside a getRange loop,
//     close from inside a transaction callback, callbacks that return promises;
//   - arguments no sane caller passes, each answered with a typed error
//     (a PheapError subclass) and the file left byte-identical.
// Every random run is seeded and prints the line that reproduces it.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  open, Store, PheapError, PoolClosedError, TxAbortedError, TxStateError, KeyError, InvalidArgumentError,
  type Key, type StoreRangeOptions, type DatabaseOptions,
} from '../src/index.js';
import { useTempDir, sha256File } from './helpers/pool-files.js';
import { StoreModel, comparable, hexRange, keyBack, keyHex } from './helpers/store-model.js';

const FILE = 'test/store-adversarial.test.ts';
const SEED = Number(process.env.PHEAP_STORE_ADV_SEED ?? 20261202);
const tmp = useTempDir('pheap-store-adv-');

// ─── databases, keys, values ────────────────────────────────────────────────

type Kind = 'msgpack' | 'string' | 'binary' | 'ob';
interface DbSpec { name: string | null; opts: DatabaseOptions; kind: Kind }
const DBS: readonly DbSpec[] = [
  { name: null, opts: {}, kind: 'msgpack' },
  { name: 'str', opts: { encoding: 'string' }, kind: 'string' },
  { name: 'bin', opts: { keyEncoding: 'binary', encoding: 'binary' }, kind: 'binary' },
  { name: 'ob', opts: { encoding: 'ordered-binary' }, kind: 'ob' },
];
const isBinary = (db: number) => DBS[db].kind === 'binary';

/** One part of an ordered-binary key: strings (NUL, astral, accented), integers, any double but -0 (NaN, ±Infinity included), booleans. */
const partArb: fc.Arbitrary<string | number | boolean> = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'b', 'é', '\u0000', '\u{1F600}', ' '), maxLength: 4 }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.double().filter((n) => !Object.is(n, -0)),
  fc.boolean(),
);
/** Ordered-binary keys of every kind: scalars, null, flat arrays, raw bytes (letters: they decode as text). */
const obKeyArb: fc.Arbitrary<Key> = fc.oneof(
  { weight: 4, arbitrary: partArb },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.array(partArb, { minLength: 2, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.uint8Array({ min: 0x61, max: 0x7a, minLength: 1, maxLength: 3 }) },
);
/** Raw keys: 1 to 6 bytes of any value, and now and then the longest (1024 bytes). */
const binKeyArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 6 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }).map((b) => new Uint8Array(1024).fill(b)) },
);

/** Every shape of value; each database takes the one its encoding holds. */
interface ValueSeed { pick: number; json: unknown; s: string; b: Uint8Array; n: number | string }
const bigArb = fc.integer({ min: 257, max: 3000 });
const valueSeedArb: fc.Arbitrary<ValueSeed> = fc.record({
  pick: fc.nat(9),
  json: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown),
  s: fc.oneof({ weight: 6, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) }, { weight: 1, arbitrary: bigArb.map((n) => 'é'.repeat(n)) }),
  b: fc.oneof({ weight: 6, arbitrary: fc.uint8Array({ maxLength: 12 }) }, { weight: 1, arbitrary: bigArb.map((n) => new Uint8Array(n).map((_, i) => i * 7)) }),
  n: fc.oneof(fc.double().filter((x) => !Object.is(x, -0)), fc.string({ maxLength: 10 })),
});
function valueFor(db: number, v: ValueSeed): unknown {
  switch (DBS[db].kind) {
    case 'string': return v.s;
    case 'binary': return v.b;
    case 'ob': return v.n;
    default: return v.pick < 6 ? v.json : v.pick < 8 ? v.s : v.pick === 8 ? v.b : undefined;
  }
}

// ─── operations ─────────────────────────────────────────────────────────────

interface W { put: boolean; db: number; ok: Key; bk: Uint8Array; v: ValueSeed }
type TxFail = 'none' | 'throw' | 'inner-caught';
type Op =
  | { k: 'put' | 'putSync' | 'remove' | 'removeSync' | 'read'; w: W }
  | { k: 'burst'; ws: W[] }
  | { k: 'tx'; sync: boolean; ws: W[]; nestAt: number; fail: TxFail; result: number }
  | { k: 'range'; db: number; as: 'range' | 'keys' | 'count'; opts: RangeSeed }
  | { k: 'openDB'; db: number }
  | { k: 'settle' | 'reopen' };
interface RangeSeed { start?: Key; end?: Key; bstart?: Uint8Array; bend?: Uint8Array; limit?: number; offset?: number; reverse?: boolean; values?: boolean }

const dbArb = fc.nat(DBS.length - 1);
const wArb: fc.Arbitrary<W> = fc.record({ put: fc.boolean(), db: dbArb, ok: obKeyArb, bk: binKeyArb, v: valueSeedArb });
const rangeSeedArb: fc.Arbitrary<RangeSeed> = fc.record({
  start: obKeyArb, end: obKeyArb, bstart: binKeyArb, bend: binKeyArb,
  limit: fc.nat(6), offset: fc.nat(3), reverse: fc.boolean(), values: fc.boolean(),
}, { requiredKeys: [] });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constantFrom('put', 'putSync', 'remove', 'removeSync', 'read'), w: wArb }) as fc.Arbitrary<Op> },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('burst' as const), ws: fc.array(wArb, { minLength: 1, maxLength: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('tx' as const), sync: fc.boolean(), ws: fc.array(wArb, { maxLength: 6 }), nestAt: fc.nat(6), fail: fc.constantFrom<TxFail>('none', 'none', 'throw', 'inner-caught'), result: fc.integer() }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('range' as const), db: dbArb, as: fc.constantFrom('range', 'keys', 'count') as fc.Arbitrary<'range' | 'keys' | 'count'>, opts: rangeSeedArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('openDB' as const), db: dbArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constantFrom('settle', 'reopen') }) as fc.Arbitrary<Op> },
);

// ─── the run: a Store, its model, the promises not awaited yet ─────────────

class Run {
  readonly model = new StoreModel(DBS.length);
  private store!: Store;
  private handles: Array<Store | undefined> = [];
  private pending: Array<Promise<void>> = [];
  reopens = 0;

  constructor(private readonly path: string | undefined) {
    this.openStore();
  }

  private openStore(): void {
    this.store = this.path === undefined ? open() : open({ path: this.path, durability: 'none' });
    this.handles = [this.store];
  }

  /** The handle of database `db`, opened (outside any transaction callback) if not yet. */
  handle(db: number): Store {
    return (this.handles[db] ??= this.store.openDB(DBS[db].name!, DBS[db].opts));
  }

  private keyOf(w: W): Key { return isBinary(w.db) ? w.bk : w.ok; }
  private hexOf(w: W): string { return keyHex(this.keyOf(w), isBinary(w.db)); }

  /** Apply `w` to the model; for a removal, whether there was an entry. */
  private model1(w: W): boolean {
    if (!w.put) return this.model.remove(w.db, this.hexOf(w));
    this.model.put(w.db, this.hexOf(w), { key: keyBack(this.keyOf(w), isBinary(w.db)), value: comparable(valueFor(w.db, w.v)) });
    return true;
  }

  private expectLater(p: Promise<unknown>, check: (r: PromiseSettledResult<unknown>) => void): void {
    this.pending.push(Promise.allSettled([p]).then(([r]) => check(r)));
  }

  /** An asynchronous write, not awaited: visible at once, resolves true later. */
  private async1(w: W): void {
    const h = this.handle(w.db);
    const p = w.put ? h.put(this.keyOf(w), valueFor(w.db, w.v)) : h.remove(this.keyOf(w));
    this.model1(w);
    this.expectLater(p, (r) => expect(r).toEqual({ status: 'fulfilled', value: true }));
    this.read(w);
  }

  private sync1(w: W): void {
    const h = this.handle(w.db);
    if (w.put) expect(h.putSync(this.keyOf(w), valueFor(w.db, w.v))).toBe(true);
    else expect(h.removeSync(this.keyOf(w)), 'removeSync: was there an entry').toBe(this.model.remove(w.db, this.hexOf(w)));
    if (w.put) this.model1(w);
  }

  /** get / getBinary / doesExist of w's key agree with the model. */
  read(w: W): void {
    const h = this.handle(w.db);
    const key = this.keyOf(w);
    const want = this.model.get(w.db, this.hexOf(w));
    expect(comparable(h.get(key)), 'get').toEqual(want?.value);
    expect(h.doesExist(key), 'doesExist').toBe(want !== undefined);
    expect(h.doesExist(key, null), 'doesExist(key, null)').toBe(want === undefined);
    const same = want !== undefined && JSON.stringify(comparable(valueFor(w.db, w.v))) === JSON.stringify(want.value);
    if (valueFor(w.db, w.v) !== null) expect(h.doesExist(key, valueFor(w.db, w.v)), `doesExist(key, value): stored ${JSON.stringify(want?.value)}, asked ${JSON.stringify(comparable(valueFor(w.db, w.v)))}`).toBe(same);
    const bytes = h.getBinary(key);
    expect(bytes === undefined, 'getBinary').toBe(want === undefined);
    if (want && DBS[w.db].kind === 'binary') expect(comparable(bytes)).toEqual(want.value);
    if (want && DBS[w.db].kind === 'string') expect(Buffer.from(bytes!).toString('utf8')).toBe(want.value);
  }

  /** The transaction callback: ws in order (sync and async calls alternating), those from nestAt in a nested transactionSync, then the failure. */
  private txBody(op: Extract<Op, { k: 'tx' }>, err: Error): () => number {
    const write = (w: W, j: number) => {
      const h = this.handle(w.db);
      if (j % 2 === 0) void (w.put ? h.put(this.keyOf(w), valueFor(w.db, w.v)) : h.remove(this.keyOf(w)));
      else if (w.put) h.putSync(this.keyOf(w), valueFor(w.db, w.v)); else h.removeSync(this.keyOf(w));
      this.model1(w);
    };
    return () => {
      op.ws.slice(0, op.nestAt).forEach(write);
      if (op.nestAt < op.ws.length) this.store.transactionSync(() => op.ws.slice(op.nestAt).forEach((w, j) => write(w, op.nestAt + j)));
      if (op.fail === 'throw') throw err;
      if (op.fail === 'inner-caught') {
        try { this.handle(op.ws[0]?.db ?? 0).transactionSync(() => { throw new Error('inner'); }); } catch { /* caught: the transaction is aborted anyway */ }
      }
      return op.result;
    };
  }

  private tx(op: Extract<Op, { k: 'tx' }>): void {
    for (const w of op.ws) this.handle(w.db); // openDB is refused inside a callback: open first
    const before = this.model.snapshot();
    const err = new Error(`abort ${op.result}`);
    const fn = this.txBody(op, err);
    const want = (r: PromiseSettledResult<unknown>) => {
      if (op.fail === 'none') expect(r).toEqual({ status: 'fulfilled', value: op.result });
      else if (op.fail === 'throw') expect(r.status === 'rejected' && r.reason).toBe(err);
      else expect(r.status === 'rejected' && r.reason).toBeInstanceOf(TxAbortedError);
    };
    if (op.sync) {
      let r: PromiseSettledResult<unknown>;
      try { r = { status: 'fulfilled', value: this.store.transactionSync(fn) }; } catch (e) { r = { status: 'rejected', reason: e }; }
      want(r);
    } else {
      this.expectLater(this.store.transaction(fn), want);
    }
    if (op.fail !== 'none') this.model.restore(before);
  }

  private range(op: Extract<Op, { k: 'range' }>): void {
    const bin = isBinary(op.db);
    const o = op.opts;
    const opts: StoreRangeOptions = { start: bin ? o.bstart : o.start, end: bin ? o.bend : o.end, limit: o.limit, offset: o.offset, reverse: o.reverse, values: o.values };
    for (const k of Object.keys(opts) as Array<keyof StoreRangeOptions>) if (opts[k] === undefined) delete opts[k];
    const want = this.model.range(op.db, hexRange(opts, bin));
    const h = this.handle(op.db);
    const label = `${op.as} ${JSON.stringify(comparable(opts))}`;
    if (op.as === 'count') {
      expect(h.getCount(opts), label).toBe(want.length);
      expect(h.getCount(), 'getCount()').toBe(this.model.count(op.db));
    } else if (op.as === 'keys') {
      expect(comparable(h.getKeys(opts).asArray), label).toEqual(want.map((e) => comparable(e.key)));
    } else {
      const it = h.getRange(opts);
      const got = it.map((e) => ({ key: comparable(e.key), value: comparable(e.value) })).asArray;
      expect(got, label).toEqual(want.map((e) => ({ key: comparable(e.key), value: o.values === false ? undefined : e.value })));
      expect([...it].length, 'a second iteration walks again').toBe(want.length);
    }
  }

  async settle(): Promise<void> {
    const p = this.pending;
    this.pending = [];
    await Promise.all(p);
  }

  /** Close with writes unawaited (they commit first), then reopen and compare everything. */
  private async reopen(): Promise<void> {
    if (this.path === undefined) return this.settle();
    const opened = this.handles.map((h) => h !== undefined);
    this.store.close();
    expect(() => this.store.get('x'), 'after close').toThrow(PoolClosedError);
    await this.settle();
    this.openStore();
    this.reopens++;
    opened.forEach((was, db) => { if (was) this.handle(db); });
    this.compareAll();
  }

  async step(op: Op): Promise<void> {
    switch (op.k) {
      case 'put': case 'remove': return this.async1({ ...op.w, put: op.k === 'put' });
      case 'putSync': case 'removeSync': return this.sync1({ ...op.w, put: op.k === 'putSync' });
      case 'read': return this.read(op.w);
      case 'burst': return op.ws.forEach((w) => this.async1(w));
      case 'tx': return this.tx(op);
      case 'range': return this.range(op);
      case 'openDB': this.handle(op.db); return;
      case 'settle': return this.settle();
      case 'reopen': return this.reopen();
    }
  }

  /** Every open database equals the model, in order; the pool's own check passes. */
  compareAll(): void {
    this.handles.forEach((h, db) => {
      if (!h) return;
      expect(h.getRange().map((e) => ({ key: comparable(e.key), value: comparable(e.value) })).asArray, `database ${db}`)
        .toEqual(this.model.range(db, {}).map((e) => ({ key: comparable(e.key), value: e.value })));
      expect(h.getCount()).toBe(this.model.count(db));
    });
    this.store.pool.check();
  }

  async finish(): Promise<void> {
    await this.settle();
    this.compareAll();
    this.store.close();
  }
}

function reporter(name: string, seed: number) {
  return (r: fc.RunDetails<unknown>) => {
    if (r.failed) throw new Error(`${fc.defaultReportMessage(r)}\n${String(r.errorInstance)}\nreproduce: npx vitest run ${FILE} -t '${name}' (seed ${seed})`);
  };
}

describe('model-based random operation sequences', () => {
  for (const where of ['memory', 'file'] as const) {
    const name = `${where}: every result matches the model`;
    const seed = SEED + (where === 'file' ? 1 : 0);
    it(name, async () => {
      let runs = 0, ops = 0, reopens = 0;
      await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 10, maxLength: 60, size: 'max' }), async (seq) => {
        const run = new Run(where === 'file' ? tmp.file('model') : undefined);
        try {
          for (const op of seq) await run.step(op);
          await run.finish();
        } finally {
          await run.settle().catch(() => undefined);
        }
        runs++; ops += seq.length; reopens += run.reopens;
      }), { seed, numRuns: where === 'file' ? 25 : 60, reporter: reporter(name, seed) });
      console.log(`store model (${where}): ${runs} runs, ${ops} operations, ${reopens} close+reopen; reproduce: npx vitest run ${FILE} -t '${name}' (seed ${seed})`);
      expect(runs).toBeGreaterThan(0);
    }, 60_000);
  }
});
