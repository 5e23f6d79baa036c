// store/store.ts — the Store: an lmdb-js-shaped key-value store on a pool
// (`import { open } from 'pheap'`; docs/store.md).
//
// One pool (layout STORE_LAYOUT) holds one environment: its root object is
// two u32 words, the offset of the main database's OrderedMap and that of
// the directory, an OrderedMap from a named database's UTF-8 name to the
// u32 (little-endian) offset of its OrderedMap, and from 0xFF + a
// database's name (0xFF alone: the main database) to its msgpack structure
// list (encoding.ts; no UTF-8 name starts with 0xFF). Keys are encoded by
// encoding.ts (ordered-binary, so byte order is lmdb-js's key order) or
// taken raw ('binary'); values by the database's value codec, msgpack
// sharing its structures through the directory.
//
// Invariants kept here:
// - Every argument is encoded and checked before anything is written: a
//   refused call throws a PheapError subclass (KeyError for keys) and the
//   pool is unchanged. Encoded keys are at most ORDERED_MAP_KEY_MAX bytes.
// - Writes are crash-atomic: putSync / removeSync are one transaction each,
//   transactionSync(fn) one transaction for all of fn's writes; put /
//   remove / transaction(fn) join the pool's group-commit batch
//   (pool.txAsync) and resolve when that batch is durable. Inside a
//   transaction callback every write (put included) joins the transaction.
// - The root's two words and the directory change only inside one
//   transaction with the maps they name: after a crash a database and its
//   directory entry are both there or neither is.
// - Ranges are lazy: a RangeIterable reads the map only while it is being
//   iterated, and each iteration starts a new walk.
// - Nothing of the caller's is kept: a write copies the key and value into
//   the pool before it returns (a put's closure runs at once), and reads
//   decode from the pool's memory into new values (binary ones: slab
//   copies, src/bytes.ts).

import { Pool, type CreateOptions } from '../pool.js';
import type { Durability } from '../backends/backend.js';
import { OrderedMap, ORDERED_MAP_KEY_MAX, entries, valueAt, type RangeOptions } from '../containers/ordered-map.js';
import { copyOut } from '../bytes.js';
import { ABANDON, CORE, IN_TX, ROLLBACKS, SESSION, TX_ASYNC_SHARED, VET } from '../internal.js';
import { optionsArg, shown, flagArg } from '../args.js';
import { CorruptHeapError, InvalidArgumentError, KeyError, PoolClosedError, TxStateError, UnsupportedOperationError } from '../errors.js';
import { decodeKeyAt, decodeStructures, encodeKey, encodeStructures, sharedMsgpackCodec, valueCodec, valueEncodingArg, type Key, type ValueCodec, type ValueEncoding } from './encoding.js';

import { STORE_LAYOUT } from './layout.js';
export { STORE_LAYOUT };

/** Key encodings: ordered-binary (lmdb-js's default) or raw bytes. */
export type KeyEncoding = 'ordered-binary' | 'binary';
const KEY_ENCODINGS: readonly KeyEncoding[] = ['ordered-binary', 'binary'];

/** Options of a database (open() and openDB()). */
export interface DatabaseOptions {
  /** A named database of the file (a non-empty string); null or absent: the main database. */
  name?: string | null;
  /** Value encoding: 'msgpack' (default), 'string', 'binary', 'json', 'ordered-binary'. */
  encoding?: ValueEncoding;
  /** Key encoding: 'ordered-binary' (default) or 'binary' (Uint8Array keys, stored as they are). */
  keyEncoding?: KeyEncoding;
  /** Only false (or absent): values are stored uncompressed. */
  compression?: false;
  /**
   * Accepted for lmdb-js compatibility and not used: a msgpack database
   * always shares its structures, kept in the Store's directory rather
   * than under a key of the database (docs/store.md).
   */
  sharedStructuresKey?: unknown;
}

/** Options of open(). */
export interface StoreOptions extends DatabaseOptions {
  /** The pool file; without it the store lives in memory (gone at close). */
  path?: string;
  /** How far a commit reaches: 'fsync' (default for files), 'os' or 'none' (docs/durability.md). */
  durability?: Durability;
  /** The most bytes the pool may grow to (a multiple of 64 KiB; default 4 GiB − 16 MiB). */
  maxSize?: number;
  /**
   * Storage backend for a path: 'file' or 'mapped'. Default: 'file' at
   * durability 'fsync' (its deferred undo log makes a commit 3 syncs whatever
   * it writes, and a group-commit batch one commit; a mapping's page cache
   * may write back on its own, so there every undo entry is its own msync),
   * else what Pool.openOrCreate picks ('mapped' where the native shim loads).
   */
  backend?: 'file' | 'mapped';
}

/** Options of getRange(), getKeys() and getCount(). */
export interface StoreRangeOptions {
  /** First key (inclusive); with reverse, the largest key yielded. */
  start?: Key;
  /** Bound (exclusive): forward, keys < end; reverse, keys > end. */
  end?: Key;
  /** Yield at most this many entries. */
  limit?: number;
  /** Skip this many entries first. */
  offset?: number;
  /** From the largest key down. */
  reverse?: boolean;
  /** false: entries carry no value (it is not read). Default true. */
  values?: boolean;
  /** Accepted for lmdb-js compatibility; every iteration reads the live map. */
  snapshot?: boolean;
}

/** The keys of StoreRangeOptions: getRange and getKeys refuse any other. */
const RANGE_OPTIONS = ['start', 'end', 'limit', 'offset', 'reverse', 'values', 'snapshot'] as const;

/** One entry of getRange(). */
export interface StoreEntry<K, V> {
  key: K;
  value: V;
}

/**
 * A lazily evaluated sequence, as lmdb-js's RangeIterable: nothing is read
 * until it is iterated, and every iteration starts over.
 */
export class RangeIterable<T> implements Iterable<T> {
  readonly #source: () => Iterator<T>;
  constructor(source: () => Iterator<T>) { this.#source = source; }
  [Symbol.iterator](): Iterator<T> { return this.#source(); }

  /** The elements passed through `fn`, lazily. */
  map<U>(fn: (value: T) => U): RangeIterable<U> {
    return new RangeIterable(() => mapped(this.#source(), fn));
  }
  /** The elements for which `fn` is truthy, lazily. */
  filter(fn: (value: T) => unknown): RangeIterable<T> {
    return new RangeIterable(() => filtered(this.#source(), fn));
  }
  /** Call `fn` on every element. */
  forEach(fn: (value: T) => void): void {
    for (const v of this) fn(v);
  }
  /** All the elements, read now (a getter, as in lmdb-js). */
  get asArray(): T[] { return [...this]; }
}

function* mapped<T, U>(it: Iterator<T>, fn: (value: T) => U): Generator<U> {
  for (let r = it.next(); !r.done; r = it.next()) yield fn(r.value);
}
function* filtered<T>(it: Iterator<T>, fn: (value: T) => unknown): Generator<T> {
  for (let r = it.next(); !r.done; r = it.next()) if (fn(r.value)) yield r.value;
}

/**
 * The Store's structures of a pool being opened, checked without writing
 * (Pool.open's VET: a refused file stays as it was): the root object and,
 * once the environment exists, both maps' headers and root nodes.
 */
function vetStore(pool: Pool): void {
  if (pool[CORE].core.rootOffset() === 0) return; // no root yet: the Store sets itself up
  const root = pool.root(1); // a root exists, so this only checks it (CorruptHeapError if damaged)
  for (const word of [root, root + 4]) {
    const map = pool.readU32(word);
    if (map !== 0) OrderedMap.open(pool, map);
  }
}

/** The msgpack codec of each database of each open pool, by the pool's open token (Env.msgpackOf). */
const msgpackCodecs = new WeakMap<object, Map<string | null, ValueCodec>>();

/** The pool of one Store file and what its databases share. */
class Env {
  readonly pool: Pool;
  readonly main: OrderedMap;
  readonly dir: OrderedMap;
  /** Depth of Store transaction callbacks running now: writes inside join their transaction. */
  depth = 0;

  constructor(pool: Pool) {
    this.pool = pool;
    const root = pool.root(8);
    if (pool.readU32(root) === 0) {
      pool.tx(() => {
        OrderedMap.create(pool, { into: root });
        OrderedMap.create(pool, { into: root + 4 });
      });
    }
    this.main = OrderedMap.open(pool, pool.readU32(root));
    this.dir = OrderedMap.open(pool, pool.readU32(root + 4));
  }

  /**
   * Database `name`'s msgpack codec, its structures kept in the directory:
   * one per database of the pool, whatever Store objects (environments)
   * use it, so that each sees the shapes the others saved.
   */
  msgpackOf(name: string | null): ValueCodec {
    const session = this.pool[SESSION];
    let codecs = msgpackCodecs.get(session);
    if (!codecs) msgpackCodecs.set(session, codecs = new Map());
    let codec = codecs.get(name);
    if (!codec) {
      const key = new Uint8Array([0xff, ...(name === null ? [] : nameArg(name))]);
      codec = sharedMsgpackCodec({
        load: () => { const bytes = this.dir.get(key); return bytes ? decodeStructures(bytes) : []; },
        save: (structures) => this.writeNow(() => this.dir.put(key, encodeStructures(structures))),
        generation: () => this.pool[ROLLBACKS],
      });
      codecs.set(name, codec);
    }
    return codec;
  }

  /**
   * Write `fn` now, durable no later than whatever is written next: in the
   * running transaction, else as a member of the group-commit batch (which
   * every later write joins or follows). Throws if it was not written.
   */
  writeNow(fn: () => void): void {
    if (this.pool[IN_TX]) return this.pool.tx(fn);
    let done = false, failure: unknown;
    this.pool.txAsync(() => {
      done = false;
      try { fn(); } catch (e) { failure = e; throw e; }
      done = true;
    }).catch(() => { /* a failed batch rolls the save back: the codec sees the rollback and reloads */ });
    if (!done) throw failure ?? new TxStateError('a msgpack structure list could not be saved');
  }

  /** Run a transaction callback, marking that writes join its transaction. */
  inside<T>(fn: () => T): T {
    this.depth++;
    try { return fn(); } finally { this.depth--; }
  }

  /** The map of database `name` (null: the main one), made (with its directory entry, in one transaction) if it is new. */
  mapOf(name: string | null): OrderedMap {
    if (name === null) return this.main;
    const nameBytes = nameArg(name);
    const found = this.dir.get(nameBytes);
    if (found) {
      if (found.length !== 4) throw new CorruptHeapError(`the Store's directory entry of database ${shown(name)} is ${found.length} bytes, not a 4-byte map offset`);
      return OrderedMap.open(this.pool, new DataView(found.buffer, found.byteOffset, 4).getUint32(0, true));
    }
    // Not inside any transaction (a callback, beginTx, another Store object's): rolled back, the handle would name a freed map.
    if (this.pool[IN_TX]) throw new TxStateError(`openDB(${shown(name)}): a new database cannot be made inside a transaction; open it before the transaction`);
    return this.pool.tx(() => {
      const map = OrderedMap.create(this.pool);
      const entry = new Uint8Array(4);
      new DataView(entry.buffer).setUint32(0, map.offset, true);
      this.dir.put(nameBytes, entry);
      return map;
    });
  }
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

function nameArg(name: unknown): Uint8Array {
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError(`a database name must be a non-empty string (or null for the main database), not ${shown(name)}`);
  const bytes = utf8.encode(name);
  if (bytes.length > ORDERED_MAP_KEY_MAX) throw new InvalidArgumentError(`database name is ${bytes.length} UTF-8 bytes, more than ${ORDERED_MAP_KEY_MAX}`);
  if (utf8Decoder.decode(bytes) !== name) throw new InvalidArgumentError(`database name ${shown(name)} holds a lone surrogate (UTF-8 cannot hold it)`);
  return bytes;
}

const DB_OPTIONS = ['name', 'encoding', 'keyEncoding', 'compression', 'sharedStructuresKey'] as const;
const OPEN_OPTIONS = [...DB_OPTIONS, 'path', 'durability', 'maxSize', 'backend'] as const;

/** A database's checked options. */
interface DbConfig { name: string | null; encoding: ValueEncoding; keyEncoding: KeyEncoding }

function dbConfig(o: Partial<Record<(typeof DB_OPTIONS)[number], unknown>>): DbConfig {
  if (o.compression !== undefined && o.compression !== false) throw new UnsupportedOperationError(`compression ${shown(o.compression)}: the Store stores values uncompressed; pass compression: false or leave it out`);
  const keyEncoding = o.keyEncoding ?? 'ordered-binary';
  if (!(KEY_ENCODINGS as readonly unknown[]).includes(keyEncoding)) throw new InvalidArgumentError(`keyEncoding ${shown(keyEncoding)} is not one of ${KEY_ENCODINGS.map((e) => `'${e}'`).join(', ')}`);
  if (o.name !== undefined && o.name !== null) nameArg(o.name);
  return { name: (o.name ?? null) as string | null, encoding: valueEncodingArg(o.encoding), keyEncoding: keyEncoding as KeyEncoding };
}

/** Check a database's options as open(), openDB() and Store.attach() do (InvalidArgumentError, UnsupportedOperationError); nothing is opened. */
export function checkDatabaseOptions(opts: unknown): void {
  dbConfig(optionsArg(opts, DB_OPTIONS, 'database options'));
}

/** A non-negative integer option, or undefined. */
function countOption(v: unknown, what: string): number | undefined {
  if (v !== undefined && (!Number.isSafeInteger(v) || (v as number) < 0)) throw new InvalidArgumentError(`${what} must be a non-negative integer, not ${shown(v)}`);
  return v as number | undefined;
}

/** Versions and conditional writes (lmdb-js's extra arguments) are not supported: refuse them rather than ignore them. */
function noVersions(call: string, extra: unknown[]): void {
  if (extra.some((v) => v !== undefined)) throw new UnsupportedOperationError(`${call}: versions and conditional writes (extra arguments) are not supported by the Store`);
}

/**
 * A database of a Store file, shaped after lmdb-js's Database: the same
 * method names, argument order and return types (docs/store.md lists what
 * differs). Get one from open(); more from openDB().
 */
export class Store<V = any, K extends Key = Key> {
  /** The database's name (null: the main database). */
  readonly name: string | null;
  /** The value encoding. */
  readonly encoding: ValueEncoding;
  /** The key encoding. */
  readonly keyEncoding: KeyEncoding;
  readonly #env: Env;
  readonly #map: OrderedMap;
  readonly #codec: ValueCodec;
  readonly #owner: boolean;

  private constructor(env: Env, config: DbConfig, owner: boolean) {
    this.#env = env;
    this.name = config.name;
    this.encoding = config.encoding;
    this.keyEncoding = config.keyEncoding;
    this.#map = env.mapOf(config.name);
    this.#codec = config.encoding === 'msgpack' ? env.msgpackOf(config.name) : valueCodec(config.encoding);
    this.#owner = owner;
  }

  /**
   * A Store on a pool opened elsewhere with layout STORE_LAYOUT (the crash
   * explorer's pools, for one): sets the environment up if the pool has
   * none yet. close() closes the pool. Not inside a transaction.
   */
  static attach(pool: Pool, opts?: DatabaseOptions): Store {
    if (!(pool instanceof Pool)) throw new InvalidArgumentError(`Store.attach: the first argument must be a Pool, not ${shown(pool)}`);
    const config = dbConfig(optionsArg(opts, DB_OPTIONS, 'Store.attach options'));
    return new Store(new Env(pool), config, true);
  }

  /** The pool the store lives in. */
  get pool(): Pool { return this.#env.pool; }

  /** The stored bytes of `key` (KeyError if it is not a valid one); a binary key is the caller's own array, not a copy. */
  #key(key: unknown): Uint8Array {
    if (this.keyEncoding === 'ordered-binary') {
      const bytes = encodeKey(key);
      if (bytes.length > ORDERED_MAP_KEY_MAX) throw new KeyError(`${shown(key)} is not a valid key: ${bytes.length} bytes once encoded, more than the Store's ${ORDERED_MAP_KEY_MAX}`);
      return bytes;
    }
    if (!(key instanceof Uint8Array) || key.length === 0 || key.length > ORDERED_MAP_KEY_MAX) throw new KeyError(`${shown(key)} is not a valid binary key: a Uint8Array of 1 to ${ORDERED_MAP_KEY_MAX} bytes`);
    return key;
  }

  /** A key from its stored bytes, src[start, end) (copied or decoded, never kept). */
  #decodeKey(src: Uint8Array, start: number, end: number): K {
    return (this.keyEncoding === 'binary' ? copyOut(src, start, end) : decodeKeyAt(src, start, end)) as K;
  }

  /** The value stored under `key`, decoded, or undefined. */
  get(key: K): V | undefined {
    const v = valueAt(this.#map, this.#key(key));
    return v === undefined ? undefined : this.#codec.decodeAt(v.mem, v.start, v.end) as V;
  }

  /** The stored bytes of `key`'s value (a copy), or undefined. */
  getBinary(key: K): Uint8Array | undefined {
    const v = valueAt(this.#map, this.#key(key));
    return v && copyOut(v.mem, v.start, v.end);
  }

  /**
   * Is there an entry for `key`? With `value` null: is there none? With
   * another value: is there one whose stored bytes are that value's encoding?
   */
  doesExist(key: K, value?: V | null): boolean {
    const k = this.#key(key);
    if (value === undefined) return valueAt(this.#map, k) !== undefined;
    if (value === null) return valueAt(this.#map, k) === undefined;
    const want = this.#codec.encodeKnown(value);
    const got = valueAt(this.#map, k);
    return got !== undefined && got.end - got.start === want.length && want.every((b, i) => b === got.mem[got.start + i]);
  }

  /**
   * Store `value` under `key`. Outside a transaction callback it joins the
   * open group-commit batch (visible at once) and resolves with true when
   * the batch is durable; inside one it is part of that transaction. A bad
   * key or value throws at once (nothing is written).
   */
  put(key: K, value: V, ...versions: unknown[]): Promise<boolean> {
    noVersions('put', versions);
    const k = this.#key(key), v = this.#codec.encode(value);
    return this.#write(() => { this.#map.put(k, v); return true as const; });
  }

  /** Store `value` under `key` now, in a transaction of its own (or the open one); durable on return. */
  putSync(key: K, value: V, ...versions: unknown[]): boolean {
    noVersions('putSync', versions);
    const k = this.#key(key), v = this.#codec.encode(value);
    this.#sync(() => this.#map.put(k, v));
    return true;
  }

  /** Remove `key`'s entry, as put() writes; resolves with true when durable (also if there was none, as lmdb-js does). */
  remove(key: K, ...versions: unknown[]): Promise<boolean> {
    noVersions('remove', versions);
    const k = this.#key(key);
    return this.#write(() => { this.#map.remove(k); return true as const; });
  }

  /** Remove `key`'s entry now; true if there was one. */
  removeSync(key: K, ...versions: unknown[]): boolean {
    noVersions('removeSync', versions);
    const k = this.#key(key);
    return this.#sync(() => this.#map.remove(k));
  }

  /** An asynchronous write: part of the running transaction callback, else a member of the group-commit batch (its promise the batch's, as in lmdb-js). */
  #write(fn: () => true): Promise<true> {
    // Inside a transaction callback a failing write throws, as a sync one does: uncaught, it rolls the whole transaction back (a rejected promise would let the callback commit without it).
    if (this.#env.depth > 0) return Promise.resolve(fn());
    return this.#env.pool[TX_ASYNC_SHARED](fn);
  }

  /** A synchronous write: one transaction (which commits an open batch first), or part of the running one. */
  #sync<T>(fn: () => T): T {
    return this.#env.depth > 0 ? fn() : this.#env.pool.tx(fn);
  }

  /** Entries from `start` to `end` (exclusive), in key order or reverse; lazily read. */
  getRange(opts?: StoreRangeOptions): RangeIterable<StoreEntry<K, V>> {
    const o = optionsArg(opts, RANGE_OPTIONS, 'getRange options');
    const range: RangeOptions = {
      start: o.start === undefined ? undefined : this.#key(o.start),
      end: o.end === undefined ? undefined : this.#key(o.end),
      limit: countOption(o.limit, 'limit'),
      offset: countOption(o.offset, 'offset'),
      reverse: flagArg(o.reverse, 'reverse'),
    };
    const values = o.values === undefined || flagArg(o.values, 'values');
    flagArg(o.snapshot, 'snapshot');
    const codec = this.#codec;
    return new RangeIterable(() => entries(this.#map, range, (mem, ks, ke, vs, ve) => ({
      key: this.#decodeKey(mem, ks, ke),
      value: (values ? codec.decodeAt(mem, vs, ve) : undefined) as V,
    })));
  }

  /** The keys of getRange(opts), lazily read. */
  getKeys(opts?: StoreRangeOptions): RangeIterable<K> {
    const o = optionsArg(opts, RANGE_OPTIONS, 'getKeys options');
    return this.getRange({ ...o, values: false } as StoreRangeOptions).map((e) => e.key);
  }

  /** How many entries getRange(opts) would yield (without options: the database's count, at once). */
  getCount(opts?: StoreRangeOptions): number {
    if (opts === undefined) return this.#map.count;
    const keys = this.getKeys(opts)[Symbol.iterator]();
    let n = 0;
    while (!keys.next().done) n++;
    return n;
  }

  /**
   * Run `fn` (synchronous) as a transaction: every write it makes, through
   * any database of this file, commits together. It joins the group-commit
   * batch; the promise resolves with fn's result when the batch is durable,
   * or rejects with what fn threw (its writes are rolled back). Inside
   * another transaction callback it is part of that transaction (if fn
   * throws, the whole transaction is rolled back).
   */
  transaction<T>(fn: () => T): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(new InvalidArgumentError(`transaction needs a function, not ${shown(fn)}`));
    if (this.#env.depth === 0) return this.#env.pool.txAsync(() => this.#env.inside(fn));
    try { return Promise.resolve(this.transactionSync(fn)); } catch (e) { return Promise.reject(e); }
  }

  /**
   * Run `fn` as one transaction now; returns its result, durable. If fn
   * throws, its writes are rolled back and the error rethrown; nested in
   * another transaction callback, that whole transaction is rolled back
   * (its commit then throws TxAbortedError).
   */
  transactionSync<T>(fn: () => T): T {
    if (typeof fn !== 'function') throw new InvalidArgumentError(`transactionSync needs a function, not ${shown(fn)}`);
    return this.#env.pool.tx(() => this.#env.inside(fn)); // nested: a level of the open transaction, whose abort aborts it all
  }

  /**
   * The database `name` of this file (made, empty, if new), with its own
   * encodings: openDB(name, options) or openDB({ name, ...options }).
   */
  openDB<V2 = V, K2 extends Key = K>(name: string | DatabaseOptions, opts?: DatabaseOptions): Store<V2, K2> {
    const o = typeof name === 'object' && name !== null
      ? optionsArg(name, DB_OPTIONS, 'openDB options')
      : { ...optionsArg(opts, DB_OPTIONS, 'openDB options'), name };
    if (this.#env.pool.isClosed) throw new PoolClosedError();
    const config = dbConfig(o);
    if (config.name === null) throw new InvalidArgumentError('openDB needs a name (a non-empty string)');
    return new Store<V2, K2>(this.#env, config, false);
  }

  /**
   * Close the file if this is the database open() (or Store.attach())
   * returned: an open batch commits first (its promises resolve), then every
   * database of the file throws PoolClosedError. On a database from
   * openDB() it does nothing: the file stays open for the others.
   */
  close(): void {
    if (this.#owner) this.#env.pool.close();
  }
}

/**
 * Open (or create) a Store: open({ path, ...options }) or open(path,
 * options). Without a path the store lives in memory. A file that is not a
 * Store pool is refused, untouched (NotAPoolError, LayoutMismatchError, …).
 */
export function open<V = any, K extends Key = Key>(pathOrOpts?: string | StoreOptions, opts?: StoreOptions): Store<V, K> {
  const o = typeof pathOrOpts === 'string'
    ? { ...optionsArg(opts, OPEN_OPTIONS, 'open options'), path: pathOrOpts }
    : optionsArg(pathOrOpts, OPEN_OPTIONS, 'open options');
  const db = { name: o.name, encoding: o.encoding, keyEncoding: o.keyEncoding, compression: o.compression } as DatabaseOptions;
  dbConfig(db); // checked before any file is touched
  if (o.durability !== undefined && !['fsync', 'os', 'none'].includes(o.durability as string)) throw new InvalidArgumentError(`durability ${shown(o.durability)} is not 'fsync', 'os' or 'none'`);
  if (o.backend !== undefined && o.backend !== 'file' && o.backend !== 'mapped') throw new InvalidArgumentError(`backend ${shown(o.backend)} is not 'file' or 'mapped'`);
  const poolOpts: CreateOptions = {
    layout: STORE_LAYOUT,
    ...(o.durability === undefined ? {} : { durability: o.durability as Durability }),
    ...(o.maxSize === undefined ? {} : { maxSize: o.maxSize as number }),
    ...(o.backend === undefined ? {} : { backend: o.backend as 'file' | 'mapped' }),
  };
  let pool: Pool;
  if (o.path === undefined) {
    if (o.backend !== undefined) throw new InvalidArgumentError('backend needs a path: without one the store lives in memory');
    pool = Pool.create(poolOpts);
  } else {
    const fileAtFsync = o.backend === undefined && (o.durability ?? 'fsync') === 'fsync' ? { backend: 'file' as const } : {};
    const vetted: CreateOptions & { [VET]: typeof vetStore } = { ...poolOpts, ...fileAtFsync, path: o.path as string, [VET]: vetStore };
    pool = Pool.openOrCreate(vetted);
  }
  try {
    return Store.attach(pool, db) as Store<V, K>;
  } catch (e) {
    pool[ABANDON](); // nothing more written (a clean close would write the image at durability 'none')
    throw e;
  }
}
