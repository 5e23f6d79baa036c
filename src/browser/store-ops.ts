// store-ops.ts — the worker's side of the browser Store: one 'store'
// operation of a batch runs one Store method on the worker's pool.
//
// Owns: running only the Store methods a page may call (protocol.ts's
// STORE_METHODS), the Store databases of each open pool (made on first use with the
// options the page sends, kept until the pool closes), and turning results
// into values a message can carry (a RangeIterable becomes an array).
// Invariants: a method runs exactly as it does in Node (the same Store class
// on the same pool), so a Store file is the same bytes in both; async writes
// (put, remove) return their promise, and the worker answers the batch when
// every promise of it has settled — so the puts one page turn sends commit
// as one group-commit batch. runStoreCalls (a 'store' request: the browser
// Store's calls of one page turn) runs its calls in order, commits their
// batch at once (no wait for the worker's next turn) and settles each call
// on its own: a refused call fails alone, the others still commit.
// serveSyncReads answers gets asked through a SharedArrayBuffer (the page's
// sync-reads.ts) whenever the worker's event loop is free: only for a
// database a message already used (so the read creates nothing), from its
// stored bytes (msgpack: decoded and encoded self-describing, since stored
// ones name the database's shared structures); anything else is declined
// and the page sends a message.

import type { Pool } from '../pool.js';
import { STORE_METHODS, SYNC, SYNC_ANSWERED, SYNC_ASKED, SYNC_DECLINED, SYNC_FOUND, SYNC_MISSING, wireError, type StoreCall, type StoreMethod, type StoreOutcome, type StoreWrite } from './protocol.js';
import { Store, checkDatabaseOptions, type DatabaseOptions } from '../store/store.js';
import { InvalidArgumentError } from '../errors.js';
import { shown } from '../args.js';
import { valueCodec } from '../store/encoding.js';


/** The Store databases of one pool, by their options. */
export type StoreCache = Map<string, Store>;

/** The ids of the options objects seen, each checked once (a message's calls share one object per database: structured clone keeps identity). */
const ids = new WeakMap<DatabaseOptions, string>();

/** The cache key of the database `db` names; a `db` that is not a database's options is refused (as Store.attach would), also when that database is open. */
function databaseId(db: DatabaseOptions): string {
  if (typeof db !== 'object' || db === null) throw new InvalidArgumentError(`a Store call's database must be its options object, not ${shown(db)}`);
  let id = ids.get(db);
  if (id === undefined) {
    checkDatabaseOptions(db);
    ids.set(db, id = JSON.stringify([db.name ?? null, db.encoding ?? null, db.keyEncoding ?? null]));
  }
  return id;
}

function database(pool: Pool, cache: StoreCache, db: DatabaseOptions): Store {
  const id = databaseId(db);
  let store = cache.get(id);
  if (!store) {
    store = Store.attach(pool, db);
    cache.set(id, store);
  }
  return store;
}

function writeAll(store: Store, writes: StoreWrite[]): boolean {
  if (!Array.isArray(writes)) throw new InvalidArgumentError('batch: the writes must be an array of { put: [key, value] } or { remove: [key] }');
  store.transactionSync(() => {
    for (const w of writes) {
      if (w && 'put' in w) store.putSync(w.put[0] as never, w.put[1]);
      else if (w && 'remove' in w) store.removeSync(w.remove[0] as never);
      else throw new InvalidArgumentError('batch: each write is { put: [key, value] } or { remove: [key] }');
    }
  });
  return true;
}

/** Run `method(...args)` of the database `db` of `pool`; a promise for put and remove. */
export function runStoreOp(pool: Pool, cache: StoreCache, db: DatabaseOptions, method: StoreMethod, args: unknown[]): unknown {
  if (!STORE_METHODS.includes(method)) throw new InvalidArgumentError(`'${String(method)}' is not a Store method a page may call (${STORE_METHODS.join(', ')})`);
  const store = database(pool, cache, db ?? {});
  const a = Array.isArray(args) ? args : [];
  switch (method) {
    case 'get': return store.get(a[0] as never);
    case 'getBinary': return store.getBinary(a[0] as never);
    case 'doesExist': return a.length > 1 ? store.doesExist(a[0] as never, a[1]) : store.doesExist(a[0] as never);
    case 'getCount': return store.getCount(a[0] as never);
    case 'getRange': return store.getRange(a[0] as never).asArray;
    case 'getKeys': return store.getKeys(a[0] as never).asArray;
    case 'putSync': return store.putSync(a[0] as never, a[1]);
    case 'removeSync': return store.removeSync(a[0] as never);
    case 'put': return store.put(a[0] as never, a[1]);
    case 'remove': return store.remove(a[0] as never);
    case 'batch': return writeAll(store, a[0] as StoreWrite[]);
  }
}

/**
 * Run `call` now; a synchronous refusal becomes a rejected promise (it fails
 * alone). A database's first call commits the open batch first: attaching a
 * Store reads the pool's root, which no open transaction may surround.
 */
function settle(pool: Pool, cache: StoreCache, call: StoreCall): Promise<unknown> {
  try {
    if (!cache.has(databaseId(call.db ?? {}))) pool.commitBatch();
    return Promise.resolve(runStoreOp(pool, cache, call.db, call.method, call.args));
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * Run `calls` in order on `pool`, then commit the group-commit batch their
 * put/remove calls joined, and answer each call's outcome. A failed commit
 * rejects every write of the batch (the group commit's rule); reads and
 * refused calls keep their own outcomes.
 */
export async function runStoreCalls(pool: Pool, cache: StoreCache, calls: StoreCall[]): Promise<StoreOutcome[]> {
  const runs = (Array.isArray(calls) ? calls : []).map((c) => settle(pool, cache, c ?? {}));
  try {
    pool.commitBatch();
  } catch { /* each write of the batch rejects with the commit's error */ }
  const settled = await Promise.allSettled(runs);
  return settled.map((s) => (s.status === 'fulfilled' ? { ok: true, value: s.value } : { ok: false, error: wireError(s.reason) }));
}

const utf8 = new TextDecoder();

/** Atomics.waitAsync (ES2024; in every browser with OPFS sync handles). */
type WaitAsync = (a: Int32Array, index: number, value: number) => { async: boolean; value: Promise<string> | string };

/** The stored bytes asked for by the request in `data` (`length` bytes), or null: declined. */
function syncGet(pool: Pool, cache: StoreCache, data: Uint8Array, length: number): Uint8Array | undefined | null {
  const head = data[0] | (data[1] << 8);
  const { db, raw } = syncView(utf8.decode(data.slice(2, 2 + head))); // a copy: TextDecoder refuses views of shared memory
  if (!cache.has(databaseId(db))) return null; // first use of the database: its map may have to be made (a write)
  const key = data.slice(2 + head, length);
  if (raw.encoding === 'binary') return database(pool, cache, raw).getBinary(key);
  // msgpack values name their database's shared structures, which the page does not have: decode here, answer self-describing bytes.
  const value = database(pool, cache, raw).get(key);
  return value === undefined ? undefined : selfDescribing.encode(value);
}
const selfDescribing = valueCodec('msgpack');

/** A sync read's database options, and the view the worker reads its stored bytes through (raw keys; binary values, or msgpack to decode). */
interface SyncView { db: DatabaseOptions; raw: DatabaseOptions }
/** The views by the request's options text: the same objects every read, so databaseId checks and names each once (bounded: cleared when full). */
const syncViews = new Map<string, SyncView>();
const SYNC_VIEWS_MAX = 64;

function syncView(text: string): SyncView {
  let view = syncViews.get(text);
  if (!view) {
    const db = JSON.parse(text) as DatabaseOptions;
    const encoding = db.encoding !== undefined && db.encoding !== 'msgpack' ? 'binary' : 'msgpack';
    view = { db, raw: { name: db.name, keyEncoding: 'binary', encoding } };
    if (syncViews.size >= SYNC_VIEWS_MAX) syncViews.clear();
    syncViews.set(text, view);
  }
  return view;
}

/** Answer the request waiting in the channel. */
function answer(live: () => { pool: Pool; cache: StoreCache } | null, ctl: Int32Array, data: Uint8Array): void {
  let status = SYNC_DECLINED;
  try {
    const l = live();
    const value = l && syncGet(l.pool, l.cache, data, Atomics.load(ctl, SYNC.LENGTH));
    if (value === undefined) status = SYNC_MISSING;
    else if (value && value.length <= data.length) {
      data.set(value);
      Atomics.store(ctl, SYNC.LENGTH, value.length);
      status = SYNC_FOUND;
    }
  } catch { /* declined: the page sends the call as a message, which answers with the error */ }
  Atomics.store(ctl, SYNC.STATUS, status);
  Atomics.store(ctl, SYNC.STATE, SYNC_ANSWERED);
}

/** After an answer, how long (ms) the worker blocks for the next sync read before its event loop runs again. */
const SYNC_LINGER_MS = 1;
/** The first part of that (ms) it spins rather than sleeps: an awaited loop asks again within microseconds, sooner than a sleeping thread wakes. */
const SYNC_SPIN_MS = 0.05;

/** After an answer: spin SYNC_SPIN_MS, then sleep, until the page asks again or SYNC_LINGER_MS have passed. */
function linger(ctl: Int32Array): void {
  const start = performance.now();
  while (Atomics.load(ctl, SYNC.STATE) === SYNC_ANSWERED) {
    const spent = performance.now() - start;
    if (spent >= SYNC_SPIN_MS) { Atomics.wait(ctl, SYNC.STATE, SYNC_ANSWERED, SYNC_LINGER_MS - spent); return; }
  }
}

/**
 * Serve gets asked through `buffer` for as long as the worker lives: wait
 * (Atomics.waitAsync: the event loop stays free for messages) until the page
 * sets the state to ASKED, answer, then linger up to SYNC_LINGER_MS for the
 * next one, spinning at first (a thread wake is cheaper than an event-loop
 * task, and a spin cheaper than a wake: so a message arriving then waits at
 * most that long), wait again. `live` gives the pool
 * and its databases now, or null while there is none (closed, crashed).
 */
export function serveSyncReads(live: () => { pool: Pool; cache: StoreCache } | null, buffer: SharedArrayBuffer): void {
  const ctl = new Int32Array(buffer, 0, 4);
  const data = new Uint8Array(buffer, SYNC.DATA);
  const wait = (): void => {
    for (;;) {
      const state = Atomics.load(ctl, SYNC.STATE);
      if (state === SYNC_ASKED) {
        answer(live, ctl, data);
        linger(ctl);
        continue;
      }
      const w = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync(ctl, SYNC.STATE, state);
      if (w.async) { void (w.value as Promise<string>).then(wait); return; }
    }
  };
  wait();
}
