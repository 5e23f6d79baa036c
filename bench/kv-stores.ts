// bench/kv-stores.ts — the three key-value stores bench/kv.ts compares, each
// behind one small "lmdb-like" interface (KvStore): pheap, lmdb-js and
// better-sqlite3. Owns how each is opened at each durability level and how
// that level is named in the table.
//
// Invariants:
//   - every opener makes a store at `path` (created if absent, reopened if
//     there) that keeps Uint8Array keys as they are (keyEncoding 'binary'),
//     in byte order, and values in the requested encoding ('binary':
//     Uint8Array, 'msgpack': any object);
//   - durability 'os' survives a process crash, not a power cut (pheap 'os',
//     lmdb-js noSync, sqlite WAL synchronous=NORMAL); 'fsync' survives a
//     power cut (pheap 'fsync', lmdb-js default, sqlite WAL synchronous=FULL);
//   - put() resolves only once its write is durable at the store's level.
//

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { createRequire } from 'node:module';
import { open as openLmdb } from 'lmdb';
import { open, type Store } from '../src/index.js';
import { valueCodec } from '../src/store/encoding.js';

/** getRange() options, as lmdb-js takes them (keys are Uint8Arrays here). */
export interface KvRangeOptions {
  start?: Uint8Array;
  end?: Uint8Array;
  limit?: number;
  offset?: number;
  reverse?: boolean;
}

/** The part of lmdb-js's RootDatabase the benchmark uses; the pheap Store has the same shape. */
export interface KvStore {
  get(key: Uint8Array): unknown;
  /** Resolves once the write is durable at the store's level (group commit). */
  put(key: Uint8Array, value: unknown): Promise<unknown>;
  putSync(key: Uint8Array, value: unknown): unknown;
  removeSync(key: Uint8Array): unknown;
  getRange(opts: KvRangeOptions): Iterable<{ key: unknown; value: unknown }>;
  getCount(): number;
  transactionSync<T>(fn: () => T): T;
  close(): Promise<void> | void;
}

export type KvEncoding = 'binary' | 'msgpack';
export type KvDurability = 'fsync' | 'os';

export interface KvOpenOptions {
  encoding: KvEncoding;
  durability: KvDurability;
  /** pheap only: the pool's backend (default: what Pool.openOrCreate picks for a path). */
  backend?: 'file' | 'mapped';
}

/** One contender: its name, how it opens, and how it names each durability level. */
export interface KvContender {
  name: string;
  open(path: string, opts: KvOpenOptions): KvStore;
  durability: Record<KvDurability, string>;
}

// ─── pheap ──────────────────────────────────────────────────────────────────


/**
 * The pheap Store (src/store/store.ts) at the given durability and backend,
 * keys stored as they are (keyEncoding 'binary', like the other two sides).
 */
export function openPheapStore(path: string, opts: KvOpenOptions): KvStore {
  return open({ path, keyEncoding: 'binary', encoding: opts.encoding, durability: opts.durability, backend: opts.backend }) as unknown as KvStore;
}

/** The backend a pheap Store at `durability` really gets here (a missing native shim makes 'mapped' the file backend). */
export function pheapBackend(durability: KvDurability, backend?: 'file' | 'mapped'): string {
  const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'pheap-bench-kv-probe-'));
  try {
    const s = openPheapStore(nodePath.join(dir, 'db'), { encoding: 'binary', durability, backend }) as unknown as Store;
    const kind = s.pool.info().backend;
    s.close();
    return kind;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const pheap: KvContender = {
  name: 'pheap Store',
  open: openPheapStore,
  durability: { os: "durability 'os'", fsync: "durability 'fsync'" },
};

// ─── lmdb-js ────────────────────────────────────────────────────────────────

/**
 * lmdb-js's shared-structures key for msgpack, as the pheap Store shares
 * structures: the same work on both sides. With binary keys it must be
 * bytes; these sort after every benchmark key (12 zero bytes first), and
 * getCount leaves the entry out.
 */
const LMDB_STRUCTURES_KEY = new Uint8Array([0xff, 0xff, 0xff, 0xff]);

function openLmdbStore(path: string, opts: KvOpenOptions): KvStore {
  if (opts.encoding !== 'msgpack') return openLmdb({ path, keyEncoding: 'binary', encoding: opts.encoding, noSync: opts.durability === 'os' });
  const db = openLmdb({ path, keyEncoding: 'binary', encoding: 'msgpack', noSync: opts.durability === 'os', sharedStructuresKey: LMDB_STRUCTURES_KEY as unknown as symbol });
  const count = db.getCount.bind(db);
  return Object.assign(db, { getCount: () => count({ end: LMDB_STRUCTURES_KEY }) });
}

export const lmdb: KvContender = {
  name: 'lmdb-js',
  open: openLmdbStore,
  durability: { os: 'noSync: true', fsync: 'default (sync)' },
};

// ─── better-sqlite3 ─────────────────────────────────────────────────────────

/** The few better-sqlite3 calls used here (it ships no types of its own). */
interface SqliteStatement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
interface SqliteDatabase {
  pragma(source: string): unknown;
  exec(source: string): unknown;
  prepare(source: string): SqliteStatement;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  close(): unknown;
}
const Sqlite = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => SqliteDatabase;

interface Pending { key: Uint8Array; bytes: Uint8Array; resolve: (ok: boolean) => void; reject: (e: unknown) => void }

/** The SELECT for one shape of getRange() options (bound values in order: start, end, limit, offset). */
function rangeSql(o: KvRangeOptions): string {
  const [from, to] = o.reverse ? ['<=', '>'] : ['>=', '<'];
  const where = [o.start && `key ${from} ?`, o.end && `key ${to} ?`].filter(Boolean);
  return `SELECT key, value FROM kv${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY key${o.reverse ? ' DESC' : ''} LIMIT ? OFFSET ?`;
}

/** A table kv(key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID in WAL mode; put() batches the writes of one event-loop turn into one transaction. */
function openSqlite(path: string, opts: KvOpenOptions): KvStore {
  const db = new Sqlite(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.durability === 'fsync' ? 'FULL' : 'NORMAL'}`);
  db.exec('CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID');
  const codec = valueCodec(opts.encoding);
  const select = db.prepare('SELECT value FROM kv WHERE key = ?');
  const upsert = db.prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)');
  const remove = db.prepare('DELETE FROM kv WHERE key = ?');
  const count = db.prepare('SELECT count(*) AS n FROM kv');
  const ranges = new Map<string, SqliteStatement>();
  const writeBatch = db.transaction((batch: Pending[]) => { for (const p of batch) upsert.run(p.key, p.bytes); });
  let pending: Pending[] | null = null;
  const commit = () => {
    if (!pending) return;
    const batch = pending;
    pending = null;
    try { writeBatch(batch); } catch (e) { for (const p of batch) p.reject(e); return; }
    for (const p of batch) p.resolve(true);
  };
  return {
    get: (key) => { const row = select.get(key) as { value: Uint8Array } | undefined; return row && codec.decode(row.value); },
    put: (key, value) => new Promise((resolve, reject) => {
      if (!pending) { pending = []; setImmediate(commit); }
      pending.push({ key, bytes: codec.encode(value), resolve, reject });
    }),
    putSync: (key, value) => upsert.run(key, codec.encode(value)),
    removeSync: (key) => remove.run(key),
    getRange(o) {
      const sql = rangeSql(o);
      const stmt = ranges.get(sql) ?? db.prepare(sql);
      ranges.set(sql, stmt);
      const rows = stmt.all(...[o.start, o.end].filter((k) => k !== undefined), o.limit ?? -1, o.offset ?? 0) as { key: Uint8Array; value: Uint8Array }[];
      return rows.map((r) => ({ key: r.key, value: codec.decode(r.value) }));
    },
    getCount: () => (count.get() as { n: number }).n,
    transactionSync: (fn) => db.transaction(fn)(),
    close: () => { commit(); db.close(); },
  };
}

/** The SQLite library's version, for the table's title. */
export function sqliteVersion(): string {
  const db = new Sqlite(':memory:');
  const v = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  db.close();
  return v;
}

export const sqlite: KvContender = {
  name: 'better-sqlite3',
  open: openSqlite,
  durability: { os: 'WAL, synchronous=NORMAL', fsync: 'WAL, synchronous=FULL' },
};
