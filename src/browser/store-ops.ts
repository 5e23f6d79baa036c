// store-ops.ts — the worker's side of the browser Store: one 'store'
// operation of a batch runs one Store method on the worker's pool.
//
// Owns: which Store methods a page may call (STORE_METHODS, nothing else
// runs), the Store databases of each open pool (made on first use with the
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

import type { Pool } from '../pool.js';
import { wireError, type StoreCall, type StoreOutcome } from './protocol.js';
import { Store, type DatabaseOptions } from '../store/store.js';
import { InvalidArgumentError } from '../errors.js';

/** The Store methods a page may call, by name. */
export const STORE_METHODS = [
  'get', 'getBinary', 'doesExist', 'getCount', 'getRange', 'getKeys', 'putSync', 'removeSync', 'put', 'remove', 'batch',
] as const;
export type StoreMethod = typeof STORE_METHODS[number];

/** One write of a 'batch': put or remove, committed together with the others (transactionSync). */
export type StoreWrite = { put: [unknown, unknown] } | { remove: [unknown] };

/** The Store databases of one pool, by their options. */
export type StoreCache = Map<string, Store>;

function database(pool: Pool, cache: StoreCache, db: DatabaseOptions): Store {
  const id = JSON.stringify([db.name ?? null, db.encoding ?? null, db.keyEncoding ?? null]);
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

/** Run `call` now; a synchronous refusal becomes a rejected promise (it fails alone). */
function settle(pool: Pool, cache: StoreCache, call: StoreCall): Promise<unknown> {
  try {
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
