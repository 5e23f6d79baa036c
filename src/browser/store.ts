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
// gathering of put/remove calls into one message per page turn (the worker
// applies them to one group-commit batch: one commit for all of them).
// Invariants: calls are answered in the order they were made (one worker
// queue, writes flushed before any other call is sent); a write's promise
// resolves only once its batch is durable at the store's durability, and
// rejects with the typed error of that write alone.
// Differences from Node: results of ranges are arrays (not lazy
// iterables); transactions take a list of writes (`batch`) rather than a
// function, which cannot cross to the worker.

import type { Durability } from '../backends/backend.js';
import type { DatabaseOptions } from '../store/store.js';
import type { Key } from '../store/encoding.js';
import { STORE_LAYOUT } from '../store/layout.js';
import { PoolClient } from './client.js';
import type { Op } from './protocol.js';
import { InvalidArgumentError } from '../errors.js';
import type { StoreMethod, StoreWrite } from './store-ops.js';

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

interface Pending { args: unknown[]; method: 'put' | 'remove'; resolve: (v: boolean) => void; reject: (e: unknown) => void }

/** Send `ops`; a key or value a message cannot carry (a function, a symbol) is InvalidArgumentError, nothing sent. */
async function send(client: PoolClient, ops: Op[]): Promise<unknown[]> {
  try {
    return await client.batch(ops);
  } catch (e) {
    if ((e as Error)?.name !== 'DataCloneError') throw e;
    throw new InvalidArgumentError(`a key or value cannot be sent to the pool worker (${(e as Error).message}): keys and values must be what structured clone copies; nothing was written`);
  }
}

/** The part a database shares with the others of its file: the worker connection and the writes waiting to be sent. */
class Connection {
  private pending: Array<Pending & { db: DatabaseOptions }> = [];
  private scheduled = false;

  constructor(readonly client: PoolClient) {}

  /** Send the writes gathered so far (one message: one group-commit batch in the worker). */
  async flush(): Promise<void> {
    this.scheduled = false;
    const writes = this.pending;
    this.pending = [];
    if (writes.length === 0) return;
    const ops = writes.map((w) => ({ op: 'store' as const, db: w.db, method: w.method, args: w.args }));
    try {
      const out = await send(this.client, ops);
      writes.forEach((w, i) => w.resolve(out[i] as boolean));
    } catch (e) {
      // The worker applies writes one by one into the batch: the first refused one names itself; the batch is not committed.
      for (const w of writes) w.reject(e);
    }
  }

  write(db: DatabaseOptions, method: 'put' | 'remove', args: unknown[]): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.pending.push({ db, method, args, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setTimeout(() => void this.flush(), 0);
      }
    });
  }

  /** Any other call: the writes made before it go first, so answers keep the order of the calls. */
  async call<T>(db: DatabaseOptions, method: StoreMethod, args: unknown[]): Promise<T> {
    if (this.pending.length) void this.flush();
    const [out] = await send(this.client, [{ op: 'store', db, method, args }]);
    return out as T;
  }
}

/** A database of a Store file, in a browser: Node's Store API, every call async. */
export class BrowserStore<V = any, K extends Key = Key> { // eslint-disable-line @typescript-eslint/no-explicit-any
  private constructor(private readonly conn: Connection, private readonly db: DatabaseOptions) {}

  /** @internal open() makes the first database of a file. */
  static make<V, K extends Key>(client: PoolClient, db: DatabaseOptions): BrowserStore<V, K> {
    return new BrowserStore<V, K>(new Connection(client), db);
  }

  /** The database's name (null: the main database). */
  get name(): string | null { return this.db.name ?? null; }

  get(key: K): Promise<V | undefined> { return this.conn.call(this.db, 'get', [key]); }
  getBinary(key: K): Promise<Uint8Array | undefined> { return this.conn.call(this.db, 'getBinary', [key]); }
  doesExist(key: K, value?: V): Promise<boolean> { return this.conn.call(this.db, 'doesExist', value === undefined ? [key] : [key, value]); }
  getCount(opts?: BrowserRangeOptions<K>): Promise<number> { return this.conn.call(this.db, 'getCount', [opts]); }
  getRange(opts?: BrowserRangeOptions<K>): Promise<BrowserEntry<K, V>[]> { return this.conn.call(this.db, 'getRange', [opts]); }
  getKeys(opts?: BrowserRangeOptions<K>): Promise<K[]> { return this.conn.call(this.db, 'getKeys', [opts]); }
  /** Write; resolves (true) when the batch of this page turn's writes is durable. */
  put(key: K, value: V): Promise<boolean> { return this.conn.write(this.db, 'put', [key, value]); }
  /** Remove; resolves with whether the key was there, once durable. */
  remove(key: K): Promise<boolean> { return this.conn.write(this.db, 'remove', [key]); }
  /** One write, committed on its own (a transaction of its own in the worker). */
  putSync(key: K, value: V): Promise<boolean> { return this.conn.call(this.db, 'putSync', [key, value]); }
  removeSync(key: K): Promise<boolean> { return this.conn.call(this.db, 'removeSync', [key]); }
  /** Several writes committed together (Node's transactionSync with a list of writes instead of a function). */
  batch(writes: Array<{ put: [K, V] } | { remove: [K] }>): Promise<boolean> { return this.conn.call(this.db, 'batch', [writes as StoreWrite[]]); }

  /** A named database of the same file (created on first write). */
  openDB<V2 = V, K2 extends Key = K>(name: string, opts: Omit<DatabaseOptions, 'name'> = {}): BrowserStore<V2, K2> {
    return new BrowserStore<V2, K2>(this.conn, { ...opts, name });
  }

  /** Commit what is waiting, then close the file (the worker ends). */
  async close(): Promise<void> {
    await this.conn.flush();
    await this.conn.client.close();
  }
}

/**
 * Open (or create) the Store file `name` in OPFS (origin-private: one per
 * site) and return its main database, or the named one (`opts.name`). A
 * file of another kind is refused untouched (LayoutMismatchError, NotAPoolError).
 */
export async function open<V = any, K extends Key = Key>(name: string, opts: BrowserStoreOptions = {}): Promise<BrowserStore<V, K>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const { backend, durability, size, waitMs, ...db } = opts;
  const client = await PoolClient.open(name, {
    layout: STORE_LAYOUT, backend: backend ?? 'opfs', durability: durability ?? 'fsync', waitMs,
    create: { size: size ?? 1 << 20 },
  });
  return BrowserStore.make<V, K>(client, db);
}
