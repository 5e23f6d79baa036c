// containers/ordered-map.ts — OrderedMap: the host side of the core's B+-tree
// (assembly/containers/btree.ts; docs/containers.md).
//
// Keys and values cross into the core through its volatile I/O area below
// POOL_BASE: the key, then the value, are copied there and the core reads
// them; results come back as pool offsets, read straight from the pool.
// Values longer than the I/O area are written by the host into the blob the
// core allocated for them, inside a transaction (so both commit together).
//
// Invariants kept here:
// - Every argument is checked before the core sees it (keys: Uint8Array of
//   at most KEY_MAX bytes, values: Uint8Array); a refused call throws a
//   PheapError subclass and changes nothing.
// - Every core failure becomes the pool's typed error; the core has then
//   left the map (and the pool's objects) as they were.
// - What is returned to callers is a copy: later changes never show
//   through a key or value already handed out.
// - A range iterator holds a position only while the core's epoch (moved by
//   every mutation of any map in this pool) is unchanged; otherwise it
//   re-seeks from the last key it yielded.

import type { Pool } from '../pool.js';
import { CORE_ACCESS, type CoreAccess } from '../pool.js';
import { POOL_BASE } from '../layout.js';
import { bytesValue, optionsArg, shown, numberArg } from '../args.js';
import { Code, InvalidArgumentError } from '../errors.js';

/** Longest key, in bytes (the core's KEY_MAX). */
export const ORDERED_MAP_KEY_MAX = 1024;

/** Options of OrderedMap.create(). */
export interface OrderedMapCreateOptions {
  /** Publish: store the new map's offset (u32) at this pool offset, inside a live object, atomically with the creation. */
  into?: number;
}

/** Options of OrderedMap.range(). */
export interface RangeOptions {
  /** First key (inclusive): forward, the smallest key yielded; reverse, the largest. Default: the map's first (last) key. */
  start?: Uint8Array;
  /** Bound (exclusive): forward, keys < end; reverse, keys > end. Default: none. */
  end?: Uint8Array;
  /** Iterate from the largest key down. Default false. */
  reverse?: boolean;
  /** Yield at most this many entries (a non-negative integer). Default: all. */
  limit?: number;
  /** Skip this many entries first (a non-negative integer). Default 0. */
  offset?: number;
}

/** One entry: copies of the key and value bytes. */
export interface Entry {
  key: Uint8Array;
  value: Uint8Array;
}

const SEEK_GE = 0, SEEK_LE = 1, SEEK_FIRST = 2, SEEK_LAST = 3;

/** Byte order: unsigned bytes, a proper prefix first (memcmp, shorter first). */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function keyArg(key: unknown, what = 'key'): Uint8Array {
  if (!(key instanceof Uint8Array)) throw new InvalidArgumentError(`${what} must be a Uint8Array, not ${shown(key)}`);
  if (key.length > ORDERED_MAP_KEY_MAX) throw new InvalidArgumentError(`${what} is ${key.length} bytes: OrderedMap keys are at most ${ORDERED_MAP_KEY_MAX} bytes (nothing was changed)`);
  return key;
}

function countArg(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(numberArg(v, what)) || (v as number) < 0) throw new InvalidArgumentError(`${what} must be a non-negative integer, not ${shown(v)}`);
  return v as number;
}

/**
 * A persistent ordered map from byte keys to byte values, living in a pool.
 * Every put / remove is atomic and crash-safe: alone it is a transaction of
 * its own; inside `pool.tx(() => …)` it joins that transaction (and rolls
 * back with it). A failing call (OutOfSpaceError, LogFullError, a bad
 * argument) leaves the map and the pool's objects as they were, also inside
 * a transaction, which can go on. Keys are at most 1024 bytes; values any
 * size that fits the pool. Empty keys and values are allowed.
 */
export class OrderedMap {
  /** Pool offset of the map's header object: store it (e.g. in the root) to find the map again with open(). */
  readonly offset: number;
  readonly #pool: Pool;

  private constructor(pool: Pool, offset: number) {
    this.#pool = pool;
    this.offset = offset;
  }

  /** Make a new, empty map in `pool` (durable on return, or at the open transaction's commit). */
  static create(pool: Pool, opts?: OrderedMapCreateOptions): OrderedMap {
    const o = optionsArg(opts, ['into'], 'OrderedMap.create options');
    const access = pool[CORE_ACCESS]();
    if (o.into === undefined || o.into === 0) return new OrderedMap(pool, OrderedMap.#create(access));
    const into = numberArg(o.into, 'into');
    return pool.tx((tx) => {
      const off = OrderedMap.#create(access);
      tx.setU32(into, off);
      return new OrderedMap(pool, off);
    });
  }

  static #create(access: CoreAccess): number {
    const off = access.core.btreeCreate();
    if (off === 0) access.fail(new Uint32Array(access.memory.buffer, access.core.btreeOut(), 1)[0]);
    return off;
  }

  /** The map whose header is at `offset`: OffsetError / NotLiveError if no object is there, BadTypeError if it is not a map. */
  static open(pool: Pool, offset: number): OrderedMap {
    const access = pool[CORE_ACCESS]();
    const off = numberArg(offset, 'offset');
    if (!Number.isSafeInteger(off) || off < 0 || off >= pool.size) access.fail(Code.BAD_OFFSET, off);
    const code = access.core.btreeValid(off);
    if (code !== 0) access.fail(code, off);
    return new OrderedMap(pool, off);
  }

  #access(): CoreAccess { return this.#pool[CORE_ACCESS](); }

  #outView: Uint32Array | null = null;
  /** The core's result words (a fixed place; the view is made again if the pool's memory is replaced). */
  #out(a: CoreAccess): Uint32Array {
    if (this.#outView?.buffer !== a.memory.buffer) this.#outView = new Uint32Array(a.memory.buffer, a.core.btreeOut(), 8);
    return this.#outView;
  }

  /** Copy `key` (and `value`) into the core's I/O area. */
  #load(a: CoreAccess, key: Uint8Array, value?: Uint8Array): void {
    const io = a.core.btreeIo();
    a.memory.set(key, io);
    if (value) a.memory.set(value, io + key.length);
  }

  #bytes(a: CoreAccess, off: number, len: number): Uint8Array {
    return a.memory.slice(POOL_BASE + off, POOL_BASE + off + len);
  }

  #ok(a: CoreAccess, code: number): void { if (code !== 0) a.fail(code, this.offset); }

  /** The value stored under `key` (a copy), or undefined. */
  get(key: Uint8Array): Uint8Array | undefined {
    keyArg(key);
    const a = this.#access();
    this.#load(a, key);
    this.#ok(a, a.core.btreeGet(this.offset, key.length));
    const out = this.#out(a);
    return out[0] ? this.#bytes(a, out[5], out[6]) : undefined;
  }

  /** Is `key` in the map? */
  has(key: Uint8Array): boolean {
    keyArg(key);
    const a = this.#access();
    this.#load(a, key);
    this.#ok(a, a.core.btreeGet(this.offset, key.length));
    return this.#out(a)[0] === 1;
  }

  /** Insert `key` with `value`, or overwrite its value. */
  put(key: Uint8Array, value: Uint8Array): void {
    keyArg(key);
    bytesValue(value);
    const a = this.#access();
    if (key.length + value.length <= a.core.btreeIoCap()) {
      this.#load(a, key, value);
      this.#ok(a, a.core.btreePut(this.offset, key.length, value.length, 1));
      return;
    }
    // Too long for the I/O area: the core allocates the blob, the host fills it, one transaction.
    this.#pool.tx(() => {
      this.#load(a, key);
      this.#ok(a, a.core.btreePut(this.offset, key.length, value.length, 0));
      a.memory.set(value, POOL_BASE + this.#out(a)[5]);
    });
  }

  /** Remove `key`; true if it was there. */
  remove(key: Uint8Array): boolean {
    keyArg(key);
    const a = this.#access();
    this.#load(a, key);
    this.#ok(a, a.core.btreeRemove(this.offset, key.length));
    return this.#out(a)[0] === 1;
  }

  /** Number of entries. */
  get count(): number {
    const a = this.#access();
    const n = a.core.btreeCount(this.offset);
    if (n < 0) this.#ok(a, a.core.btreeValid(this.offset));
    return n;
  }

  /** The entry with the smallest key, or undefined when the map is empty. */
  first(): Entry | undefined { return this.#edge(SEEK_FIRST); }
  /** The entry with the largest key, or undefined when the map is empty. */
  last(): Entry | undefined { return this.#edge(SEEK_LAST); }

  #edge(mode: number): Entry | undefined {
    const a = this.#access();
    this.#ok(a, a.core.btreeSeek(this.offset, 0, mode));
    const out = this.#out(a);
    return out[0] ? this.#entry(a, out) : undefined;
  }

  #entry(a: CoreAccess, out: Uint32Array): Entry {
    return { key: this.#bytes(a, out[3], out[4]), value: this.#bytes(a, out[5], out[6]) };
  }

  /**
   * Entries in key order (or reverse), from `start` (inclusive) to `end`
   * (exclusive), skipping `offset` entries and yielding at most `limit`.
   *
   * Changing any map of the pool while iterating is allowed: the iterator
   * notices (the core's epoch moved) and re-seeks from the last key it
   * yielded, so it goes on in order from there — each key at most once,
   * keys put behind its position are not seen, keys put ahead of it are,
   * removed keys are not. Closing the pool ends the walk with PoolClosedError.
   */
  *range(opts?: RangeOptions): IterableIterator<Entry> {
    const o = optionsArg(opts, ['start', 'end', 'reverse', 'limit', 'offset'], 'range options');
    const start = o.start === undefined ? undefined : this.#boundArg(o.start, 'start');
    const end = o.end === undefined ? undefined : this.#boundArg(o.end, 'end');
    const reverse = o.reverse === undefined ? false : o.reverse;
    if (typeof reverse !== 'boolean') throw new InvalidArgumentError(`reverse must be a boolean, not ${shown(reverse)}`);
    let skip = countArg(o.offset, 'offset') ?? 0;
    let left = countArg(o.limit, 'limit') ?? Infinity;
    const dir = reverse ? -1 : 1;
    let a = this.#access();
    const out = this.#seek(a, start, start ? (reverse ? SEEK_LE : SEEK_GE) : (reverse ? SEEK_LAST : SEEK_FIRST));
    while (out[0] === 1 && left > 0) {
      const key = this.#bytes(a, out[3], out[4]);
      if (end && compareKeys(key, end) * dir >= 0) return;
      const leaf = out[1], idx = out[2];
      if (skip > 0) {
        skip--;
      } else {
        left--;
        const epoch = a.core.btreeEpoch();
        yield { key, value: this.#bytes(a, out[5], out[6]) };
        a = this.#access(); // PoolClosedError if the pool was closed meanwhile
        if (a.core.btreeEpoch() !== epoch) { this.#reseek(a, key, dir); continue; }
      }
      a.core.btreeStep(leaf, idx, dir); // the position is still valid: no mutation since it was taken
    }
  }

  /** A range bound: a Uint8Array that fits the I/O area (it need not be a storable key). */
  #boundArg(v: unknown, what: string): Uint8Array {
    if (!(v instanceof Uint8Array)) throw new InvalidArgumentError(`${what} must be a Uint8Array, not ${shown(v)}`);
    const cap = this.#access().core.btreeIoCap();
    if (v.length > cap) throw new InvalidArgumentError(`${what} is ${v.length} bytes, longer than any key can be compared with here (${cap})`);
    return v;
  }

  #seek(a: CoreAccess, key: Uint8Array | undefined, mode: number): Uint32Array {
    if (key) this.#load(a, key);
    this.#ok(a, a.core.btreeSeek(this.offset, key ? key.length : 0, mode));
    return this.#out(a);
  }

  /** After a modification: the first entry strictly after `key` in direction `dir`. */
  #reseek(a: CoreAccess, key: Uint8Array, dir: number): Uint32Array {
    const out = this.#seek(a, key, dir > 0 ? SEEK_GE : SEEK_LE);
    if (out[0] && compareKeys(this.#bytes(a, out[3], out[4]), key) === 0) a.core.btreeStep(out[1], out[2], dir);
    return out;
  }

  /**
   * Verify the map's invariants (order, node layout, leaf chain, value
   * objects, count); throws CorruptHeapError naming the first problem.
   * Returns how many pool objects the map owns (header, nodes, values),
   * the entries counted in its leaves, and the tree's height (1: one leaf).
   */
  check(): { objects: number; entries: number; height: number } {
    const a = this.#access();
    const code = a.core.btreeCheck(this.offset);
    const out = this.#out(a);
    if (code !== 0) a.fail(code, out[1] || this.offset);
    return { objects: out[2], height: out[3], entries: new Float64Array(a.memory.buffer, a.core.btreeOut() + 16, 1)[0] };
  }
}
