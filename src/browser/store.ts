// browser/store.ts — the Store in a browser: `import { open } from 'pheap/browser'`.
//
// The same Store as in Node (src/store/store.ts), running in the pool
// worker on an OPFS file (or in the worker's memory); every call is async.
// A Store file made in Node opens here and back, byte for byte (import it
// with importFile, export with exportFile).
//
//   const db = await open('sessions.pool');
//   await db.put('s:42', { user: 'ada' });      // durable when it resolves
//   const s = await db.get('s:42');
//   for (const { key, value } of await db.getRange({ start: 's:', end: 's;' })) …
//
// Owns: the page's handle of one Store file and its named databases; the
// gathering of every call of one page turn (reads and writes, in call order)
// into one message, sent when the turn's synchronous code is done (a
// microtask): the worker runs them in order, its puts and removes join one
// group-commit batch (one commit for all of them), and it answers each call
// on its own.
// In a crossOriginIsolated page, a get alone in its turn with no message in
// flight is read through shared memory instead (sync-reads.ts): no message,
// no wait for the page's event loop; every other call, and every call of
// any other page, goes as a message.
// Invariants: calls are answered in the order they were made (one message
// per turn, one worker queue, outcomes settled in order); a write's promise
// resolves only once its batch is durable at the store's durability; a
// refused call (a bad key, a value a message cannot carry) rejects with its
// own typed error and fails no other call.
// Differences from Node: results of ranges are arrays (not lazy
// iterables); transactions take a list of writes (`batch`) rather than a
// function, which cannot cross to the worker.

import type { Durability } from '../backends/backend.js';
import type { DatabaseOptions } from '../store/store.js';
import type { Key } from '../store/encoding.js';
import { STORE_LAYOUT } from '../store/layout.js';
import { PoolClient, reviveError } from './client.js';
import type { StoreCall, StoreMethod, StoreWrite } from './protocol.js';
import { SyncReads } from './sync-reads.js';
import { InvalidArgumentError } from '../errors.js';

/** Options of open() in a browser. */
export interface BrowserStoreOptions extends DatabaseOptions {
  /** 'opfs' (default: a file that survives reloads) or 'memory' (gone when the worker ends). */
  backend?: 'opfs' | 'memory';
  /** How far a write reaches: 'fsync' (default: the OPFS handle is flushed), 'os' or 'none'. */
  durability?: Durability;
  /** Initial size of a new file (default 1 MiB; it grows). */
  size?: number;
  /** Retry a file held by another tab this long before PoolLockedError (default 0). */
  waitMs?: number;
}

/** One entry of a range. */
export interface BrowserEntry<K, V> { key: K; value: V }

/** Range options, as in Node's Store.getRange (end exclusive). */
export interface BrowserRangeOptions<K> { start?: K; end?: K; limit?: number; offset?: number; reverse?: boolean }

/** A call waiting for its page turn to end, with its promise's settlers. */
interface Queued extends StoreCall { resolve: (v: unknown) => void; reject: (e: unknown) => void }

/** An answer for each of `calls`, in order. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Can `call` cross to the worker? (A function or a symbol in a key or value cannot: structured clone refuses it.) */
function clonable(call: StoreCall): boolean {
  try {
    structuredClone(call.args);
    return true;
  } catch {
    return false;
  }
}

function unclonable(call: StoreCall): InvalidArgumentError {
  return new InvalidArgumentError(`${call.method}: a key or value cannot be sent to the pool worker (structured clone refuses it); keys and values must be what structured clone copies; nothing was written`);
}

/**
 * The part a database shares with the others of its file: the worker
 * connection and the calls of the current page turn, sent together as one
 * message when the turn's synchronous code is done (a microtask).
 */
class Connection {
  private queued: Queued[] = [];
  /** Messages sent and not answered yet. */
  private inFlight = 0;

  constructor(readonly client: PoolClient, readonly sync: SyncReads | null) {}

  /** Queue `method(...args)` on `db`; it is sent with the rest of this page turn's calls. */
  call<T>(db: DatabaseOptions, method: StoreMethod, args: unknown[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.queued.push({ db, method, args, resolve: resolve as (v: unknown) => void, reject }) === 1) queueMicrotask(() => void this.send());
    });
  }

  /** Send the queued calls as one message and settle each, in call order, with its own outcome. */
  async send(): Promise<void> {
    const calls = this.queued;
    this.queued = [];
    if (calls.length === 0 || this.readNow(calls)) return;
    this.inFlight++;
    const outcomes = await this.post(calls);
    calls.forEach((c, i) => {
      const o = outcomes[i];
      if (o.ok) c.resolve(o.value);
      else c.reject(o.error);
    });
    this.inFlight--; // after settling: a sync read made from now on settles after these calls
  }

  /** A get alone in its turn, with nothing in flight, read through the sync channel: true if it was answered there. */
  private readNow(calls: Queued[]): boolean {
    const [c] = calls;
    if (!this.sync || calls.length !== 1 || c.method !== 'get' || this.inFlight > 0) return false;
    const read = this.sync.get(c.db, c.args[0]);
    if (read) c.resolve(read.value);
    return read !== null;
  }

  /** The outcomes of `calls` (it never throws); one that cannot be sent is refused alone (InvalidArgumentError), the rest go. */
  private async post(calls: StoreCall[]): Promise<Outcome[]> {
    try {
      const out = await this.client.storeCalls(calls.map(({ db, method, args }) => ({ db, method, args })));
      return out.map((o) => (o.ok ? o : { ok: false, error: reviveError(o.error) }));
    } catch (e) {
      if ((e as Error)?.name !== 'DataCloneError') return calls.map(() => ({ ok: false, error: e }));
    }
    const sendable = calls.filter(clonable);
    const sent = sendable.length ? await this.post(sendable) : [];
    let next = 0;
    return calls.map((c) => (sendable[next] === c ? sent[next++] : { ok: false, error: unclonable(c) }));
  }
}

/** A database of a Store file, in a browser: Node's Store API, every call async. */
export class BrowserStore<V = any, K extends Key = Key> { // eslint-disable-line @typescript-eslint/no-explicit-any
  private constructor(private readonly conn: Connection, private readonly db: DatabaseOptions) {}

  /** @internal open() makes the first database of a file (with the sync read channel when the page has one). */
  static make<V, K extends Key>(client: PoolClient, db: DatabaseOptions, sync: SyncReads | null = null): BrowserStore<V, K> {
    return new BrowserStore<V, K>(new Connection(client, sync), db);
  }

  /** The database's name (null: the main database). */
  get name(): string | null { return this.db.name ?? null; }

  /** Do gets alone in their page turn go through shared memory (a crossOriginIsolated page), not a message? */
  get syncReads(): boolean { return this.conn.sync !== null; }

  get(key: K): Promise<V | undefined> { return this.conn.call(this.db, 'get', [key]); }
  getBinary(key: K): Promise<Uint8Array | undefined> { return this.conn.call(this.db, 'getBinary', [key]); }
  doesExist(key: K, value?: V): Promise<boolean> { return this.conn.call(this.db, 'doesExist', value === undefined ? [key] : [key, value]); }
  getCount(opts?: BrowserRangeOptions<K>): Promise<number> { return this.conn.call(this.db, 'getCount', [opts]); }
  getRange(opts?: BrowserRangeOptions<K>): Promise<BrowserEntry<K, V>[]> { return this.conn.call(this.db, 'getRange', [opts]); }
  getKeys(opts?: BrowserRangeOptions<K>): Promise<K[]> { return this.conn.call(this.db, 'getKeys', [opts]); }
  /** Write; resolves (true) when the batch of this page turn's writes is durable. */
  put(key: K, value: V): Promise<boolean> { return this.conn.call(this.db, 'put', [key, value]); }
  /** Remove; resolves (true, also when the key was not there, as in lmdb-js) once durable. */
  remove(key: K): Promise<boolean> { return this.conn.call(this.db, 'remove', [key]); }
  /** One write, committed on its own (a transaction of its own in the worker). */
  putSync(key: K, value: V): Promise<boolean> { return this.conn.call(this.db, 'putSync', [key, value]); }
  removeSync(key: K): Promise<boolean> { return this.conn.call(this.db, 'removeSync', [key]); }
  /** Several writes committed together (Node's transactionSync with a list of writes instead of a function). */
  batch(writes: Array<{ put: [K, V] } | { remove: [K] }>): Promise<boolean> { return this.conn.call(this.db, 'batch', [writes as StoreWrite[]]); }

  /** A named database of the same file (created on first write). */
  openDB<V2 = V, K2 extends Key = K>(name: string, opts: Omit<DatabaseOptions, 'name'> = {}): BrowserStore<V2, K2> {
    return new BrowserStore<V2, K2>(this.conn, { ...sendable(opts), name });
  }

  /** Send the calls made so far (their writes commit), then close the file (the worker ends). */
  async close(): Promise<void> {
    await this.conn.send();
    await this.conn.client.close();
  }
}

/** Database options as messages carry them: without sharedStructuresKey (accepted, not used, and often a Symbol, which no message can carry). */
function sendable<O extends DatabaseOptions>(opts: O): Omit<O, 'sharedStructuresKey'> {
  const { sharedStructuresKey: _unused, ...rest } = opts;
  return rest;
}

/**
 * Open (or create) the Store file `name` in OPFS (origin-private: one per
 * site) and return its main database, or the named one (`opts.name`). A
 * file of another kind is refused untouched (LayoutMismatchError, NotAPoolError).
 */
export async function open<V = any, K extends Key = Key>(name: string, opts: BrowserStoreOptions = {}): Promise<BrowserStore<V, K>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const { backend, durability, size, waitMs, ...db } = sendable(opts);
  const client = await PoolClient.open(name, {
    layout: STORE_LAYOUT, backend: backend ?? 'opfs', durability: durability ?? 'fsync', waitMs,
    create: { size: size ?? 1 << 20 },
  });
  let sync: SyncReads | null = null;
  if (SyncReads.available) {
    sync = new SyncReads();
    await client.syncReads(sync.buffer).catch(async (e) => { await client.close(); throw e; });
  }
  return BrowserStore.make<V, K>(client, db, sync);
}
