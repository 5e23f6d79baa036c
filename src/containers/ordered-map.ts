// containers/ordered-map.ts — OrderedMap: the host side of the core's B+-tree
// (assembly/containers/btree.ts; docs/containers.md).
//
// Keys and values cross into the core through its volatile I/O area below
// POOL_BASE: the key, then the value, are copied there and the core reads
// them; results come back as pool offsets, read straight from the pool.
// The read paths the Store uses (valueAt, entries) hand out where bytes
// are instead of copies, and a range gathers up to GATHER_CAP entries per
// core call (btreeGather).
// Every mutating call is one transaction level (op.ts mutate: its own
// transaction, or part of the caller's); values longer than the I/O area
// are written by the host into the blob the core allocated for them, in
// that same level. Views of the memory are made for each call: the pool may
// grow (a new buffer) inside any core call.
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
//   drops what it gathered and re-seeks from the last key it yielded.
// - What was gathered is copied out of the core's scratch area at once
//   (another range may reuse it), and memory views are taken anew after
//   every yield (the pool may have grown).

import type { Pool } from '../pool.js';
import type { CoreExports } from '../core.js';
import { optionsArg, shown, numberArg } from '../args.js';
import { InvalidArgumentError } from '../errors.js';
import { CORE, type CoreAccess } from '../internal.js';
import { copyIn } from '../bytes.js';
import { CORRUPT_HEAP, accessOf, bytesArg, checkCode, mutate, offsetArg, query, readPool, writePool } from './op.js';

const KIND = 'ordered map';

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
  /** The pool the map lives in. */
  readonly pool: Pool;
  /** Pool offset of the map's header object: store it (e.g. in the root) to find the map again with open(). */
  readonly offset: number;

  private constructor(pool: Pool, offset: number) {
    this.pool = pool;
    this.offset = offset;
  }

  /** Make a new, empty map in `pool` (one transaction, or part of the caller's). */
  static create(pool: Pool, opts?: OrderedMapCreateOptions): OrderedMap {
    accessOf(pool, 'OrderedMap.create');
    const o = optionsArg(opts, ['into'], 'OrderedMap.create options');
    const make = () => mutate(pool, KIND, 0, (c) => c.btreeCreate(), (a) => out(a)[1]);
    if (o.into === undefined || o.into === 0) return new OrderedMap(pool, make());
    const into = numberArg(o.into, 'into');
    return pool.tx((tx) => {
      const off = make();
      tx.setU32(into, off);
      return new OrderedMap(pool, off);
    });
  }

  /** The map whose header is at `offset`; NotAContainerError if there is none (InvalidArgumentError for a non-integer). */
  static open(pool: Pool, offset: number): OrderedMap {
    accessOf(pool, 'OrderedMap.open');
    const off = offsetArg(pool, offset, KIND);
    query(pool, KIND, off, (c) => c.btreeValid(off));
    return new OrderedMap(pool, off);
  }

  /** A read-only core call with `key` in the I/O area; returns the result words. */
  #read(key: Uint8Array | undefined, call: (c: CoreExports, keyLen: number) => number): Uint32Array {
    const a = this.pool[CORE];
    if (key) load(a, key);
    query(this.pool, KIND, this.offset, (c) => call(c, key ? key.length : 0));
    return out(a);
  }

  /** The value stored under `key` (a copy), or undefined. */
  get(key: Uint8Array): Uint8Array | undefined {
    const v = valueAt(this, keyArg(key));
    return v?.mem.slice(v.start, v.end);
  }

  /** Is `key` in the map? */
  has(key: Uint8Array): boolean {
    return valueAt(this, keyArg(key)) !== undefined;
  }

  /** Insert `key` with `value`, or overwrite its value. */
  put(key: Uint8Array, value: Uint8Array): void {
    keyArg(key);
    bytesArg(value);
    let copied = true;
    mutate(this.pool, KIND, this.offset, (c) => {
      const a = this.pool[CORE];
      copied = key.length + value.length <= c.btreeIoCap();
      load(a, key, copied ? value : undefined);
      return c.btreePut(this.offset, key.length, value.length, copied ? 1 : 0);
    }, (a) => { if (!copied) writePool(a, out(a)[5], value); }); // too long for the I/O area: into the value's object
  }

  /** Remove `key`; true if it was there. */
  remove(key: Uint8Array): boolean {
    keyArg(key);
    return mutate(this.pool, KIND, this.offset, (c) => {
      load(this.pool[CORE], key);
      return c.btreeRemove(this.offset, key.length);
    }, (a) => out(a)[0] === 1);
  }

  /** Number of entries. */
  get count(): number {
    query(this.pool, KIND, this.offset, (c) => c.btreeValid(this.offset));
    return this.pool[CORE].core.btreeCount(this.offset);
  }

  /** The entry with the smallest key, or undefined when the map is empty. */
  first(): Entry | undefined { return this.#edge(SEEK_FIRST); }
  /** The entry with the largest key, or undefined when the map is empty. */
  last(): Entry | undefined { return this.#edge(SEEK_LAST); }

  #edge(mode: number): Entry | undefined {
    const r = this.#read(undefined, (c) => c.btreeSeek(this.offset, 0, mode));
    return r[0] ? entry(this.pool[CORE], r) : undefined;
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
    yield* entries(this, opts, (mem, ks, ke, vs, ve) => ({ key: mem.slice(ks, ke), value: mem.slice(vs, ve) }));
  }



  /**
   * Verify the map's invariants (order, node layout, leaf chain, value
   * objects, count); throws CorruptHeapError naming the first problem.
   * Returns how many pool objects the map owns (header, nodes, values),
   * the entries counted in its leaves, and the tree's height (1: one leaf).
   */
  check(): { objects: number; entries: number; height: number } {
    const r = this.#read(undefined, (c) => c.btreeCheck(this.offset));
    const a = this.pool[CORE];
    return { objects: r[2], height: r[3], entries: new Float64Array(a.memory.buffer, a.core.btreeOut() + 16, 1)[0] };
  }
}

/** The core's result words of the last map call (a view of the current buffer: growth replaces it). */
function out(a: CoreAccess): Uint32Array { return new Uint32Array(a.memory.buffer, a.core.btreeOut(), 8); }

/** Copy `key` (and `value`) into the core's I/O area. */
function load(a: CoreAccess, key: Uint8Array, value?: Uint8Array): void {
  const io = addressesOf(a.core).io;
  copyIn(a.mem, io, key);
  if (value) copyIn(a.mem, io + key.length, value);
}

function entry(a: CoreAccess, r: Uint32Array): Entry {
  return { key: readPool(a, r[3], r[4]), value: readPool(a, r[5], r[6]) };
}

// ─── the read paths: views of the pool's memory, no copies ─────────────────

/** Where the core's map calls take and leave their data (constants of the core, the same in every instance). */
interface MapAddresses {
  /** The I/O area (absolute address): the key of a get or seek, the bound of a gather. */
  io: number;
  /** The result words (index into CoreAccess.words). */
  outW: number;
  /** The gathered entries (index into CoreAccess.words): 4 words each. */
  gatherW: number;
  /** Absolute address of pool offset 0. */
  base: number;
}
let addresses: MapAddresses | undefined;

function addressesOf(core: CoreExports): MapAddresses {
  return addresses ??= { io: core.btreeIo(), outW: core.btreeOut() >>> 2, gatherW: core.btreeGatherOut() >>> 2, base: core.poolBase() };
}

/** The most entries one gather returns (the core's GATHER_CAP). */
const GATHER_CAP = 256;
/** btreeGather's endLen for a range without a bound. */
const NO_END = 0xFFFF_FFFF;

/** Where a value or key is: bytes [start, end) of `mem` (the pool's whole memory, as of the call). */
export interface Found {
  mem: Uint8Array;
  start: number;
  end: number;
}
const hit: Found = { mem: new Uint8Array(0), start: 0, end: 0 };

/**
 * @internal Look `key` up (checked by the caller: at most KEY_MAX bytes):
 * where its value is, or undefined. The answer is one object reused by
 * every call, and its bytes are good only until the next call into the
 * pool: decode or copy them at once.
 */
export function valueAt(map: OrderedMap, key: Uint8Array): Found | undefined {
  const a = map.pool[CORE];
  const at = addressesOf(a.core);
  copyIn(a.mem, at.io, key);
  checkCode(a.core.btreeGet(map.offset, key.length), a, KIND, map.offset);
  const w = a.words;
  if (w[at.outW] === 0) return undefined;
  hit.mem = a.mem;
  hit.start = at.base + w[at.outW + 5];
  hit.end = hit.start + w[at.outW + 6];
  return hit;
}

/** Make what a range yields from an entry: its key is mem[keyStart, keyEnd), its value mem[valueStart, valueEnd); decode or copy them (they are good only until the next call into the pool). */
export type MakeEntry<T> = (mem: Uint8Array, keyStart: number, keyEnd: number, valueStart: number, valueEnd: number) => T;

/** A range bound: a Uint8Array that fits the I/O area (it need not be a storable key). */
function boundArg(map: OrderedMap, v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new InvalidArgumentError(`${what} must be a Uint8Array, not ${shown(v)}`);
  const cap = map.pool[CORE].core.btreeIoCap();
  if (v.length > cap) throw new InvalidArgumentError(`${what} is ${v.length} bytes, longer than any key can be compared with here (${cap})`);
  return v;
}

/** A cursor position: the next entry's leaf and index, while `found`. */
interface Position { found: boolean; leaf: number; idx: number }

/** Seek with `key` (or none) in the I/O area; the position of the entry found. */
function seek(map: OrderedMap, key: Uint8Array | undefined, mode: number): Position {
  const a = map.pool[CORE];
  const at = addressesOf(a.core);
  if (key) copyIn(a.mem, at.io, key);
  checkCode(a.core.btreeSeek(map.offset, key ? key.length : 0, mode), a, KIND, map.offset);
  return positionAfter(map, a, at);
}

/** After a modification: the position of the first entry strictly after `key` in direction `dir`. */
function reseek(map: OrderedMap, key: Uint8Array, dir: number): Position {
  const p = seek(map, key, dir > 0 ? SEEK_GE : SEEK_LE);
  if (!p.found) return p;
  const a = map.pool[CORE];
  const at = addressesOf(a.core);
  const w = a.words, k = at.base + w[at.outW + 3];
  if (compareKeys(a.mem.subarray(k, k + w[at.outW + 4]), key) !== 0) return p;
  a.core.btreeStep(p.leaf, p.idx, dir);
  return positionAfter(map, a, at);
}

/** The position the last seek, step or gather left at OUT; CorruptHeapError if it stopped at damage (OUT+28). */
function positionAfter(map: OrderedMap, a: CoreAccess, at: MapAddresses): Position {
  const w = a.words;
  checkCode(w[at.outW + 7] === 0 ? 0 : CORRUPT_HEAP, a, KIND, map.offset);
  return { found: w[at.outW] === 1, leaf: w[at.outW + 1], idx: w[at.outW + 2] };
}

/**
 * @internal The entries of OrderedMap.range(opts), each made by `make`
 * from where its bytes are in the pool's memory. Entries are gathered by the core up to
 * GATHER_CAP per call and copied out of its scratch area at once (another
 * range, even nested in this one, reuses that area). After every yield the
 * core's epoch is compared: if any map changed, the rest of the gathered
 * entries are dropped and the walk re-seeks after the last key yielded.
 */
export function* entries<T>(map: OrderedMap, opts: RangeOptions | undefined, make: MakeEntry<T>): Generator<T, void, void> {
  const o = optionsArg(opts, ['start', 'end', 'reverse', 'limit', 'offset'], 'range options');
  const start = o.start === undefined ? undefined : boundArg(map, o.start, 'start');
  const end = o.end === undefined ? undefined : boundArg(map, o.end, 'end');
  const reverse = o.reverse === undefined ? false : o.reverse;
  if (typeof reverse !== 'boolean') throw new InvalidArgumentError(`reverse must be a boolean, not ${shown(reverse)}`);
  let skip = countArg(o.offset, 'offset') ?? 0;
  let left = countArg(o.limit, 'limit') ?? Infinity;
  const dir = reverse ? -1 : 1;
  let pos = seek(map, start, start ? (reverse ? SEEK_LE : SEEK_GE) : (reverse ? SEEK_LAST : SEEK_FIRST));
  const gathered = new Uint32Array(4 * GATHER_CAP);
  const last = new Uint8Array(ORDERED_MAP_KEY_MAX);
  while (pos.found && left > 0) {
    let a = map.pool[CORE];
    const at = addressesOf(a.core);
    if (end) copyIn(a.mem, at.io, end);
    const n = a.core.btreeGather(pos.leaf, pos.idx, dir, Math.min(skip > 0 ? skip : left, GATHER_CAP), end ? end.length : NO_END);
    gathered.set(a.words.subarray(at.gatherW, at.gatherW + 4 * n));
    pos = positionAfter(map, a, at);
    if (skip > 0) { skip -= n; continue; }
    const epoch = a.core.btreeEpoch();
    for (let i = 0; i < n; i++) {
      const k = at.base + gathered[4 * i], klen = gathered[4 * i + 1], v = at.base + gathered[4 * i + 2];
      const mem = a.mem;
      for (let j = 0; j < klen; j++) last[j] = mem[k + j];
      left--;
      yield make(mem, k, k + klen, v, v + gathered[4 * i + 3]);
      a = map.pool[CORE]; // fresh views (the pool may have grown), or PoolClosedError if it was closed meanwhile
      if (a.core.btreeEpoch() !== epoch) { pos = reseek(map, last.subarray(0, klen), dir); break; }
      if (left === 0) return;
    }
  }
}
