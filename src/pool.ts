// pool.ts — the Pool API: one open pool, its core, its memory and its backend.
//
// A Pool owns a WebAssembly.Memory sized POOL_BASE + size, a core instance
// bound to it, and a Backend that holds the durable image. Reads and writes
// go straight to linear memory (the "cache"); flush/drain/persist go through
// the core's flush model, whose drains reach the backend.
//
// Invariants kept here:
// - Every public method checks that the pool is open, then validates every
//   argument before the core sees it: offsets and sizes are safe integers in
//   range (never reduced mod 2**32), values fit the store they are written
//   with, option objects hold only known keys. A refused call throws a
//   PheapError subclass and changes nothing.
// - Stores must fall inside one live object, so no caller can overwrite the
//   header, the log or allocator metadata.
// - `levels` mirrors the core's transaction depth, one entry per level, and
//   records who opened it (tx(fn) or beginTx()). commitTx/abortTx only end a
//   beginTx level; tx(fn) never returns without committing its level.
// - A Tx handle acts only while the level it was made for is open.
import type { Backend, BackendKind, Durability } from './backends/backend.js';
import { MemoryBackend } from './backends/memory.js';
import { instantiateCore, poolMemory, type CoreExports } from './core.js';
import { DEFAULT_POOL_SIZE, HEADER_SIZE, MAX_POOL_SIZE, POOL_BASE, WASM_PAGE } from './layout.js';
import { GroupCommit, type GroupCommitOptions } from './group.js';
import { ABANDON, CORE, IN_TX, ROLLBACKS, SESSION, TX_ASYNC_SHARED, VET, type CoreAccess } from './internal.js';
import {
  shown, numberArg, intValue, f64Value, u64Value, bytesValue, optionsArg, flagArg, userType, crashOptionsArg,
  groupCommitArg, txFunctionArg, isThenable, ignoreOutcome, maxSizeArg,
} from './args.js';
import { checkPoolSize, encodeLayout, recordedPoolSize } from './format.js';
import { Prng, type Seed } from './prng.js';
import { crashImage, linesOfRanges, type CrashOptions } from './crash/modes.js';
import {
  CHECK_PROBLEMS, CorruptHeapError, OffsetError, PoolClosedError, TxStateError, UnsupportedOperationError,
  Code, errorForCode, InvalidSizeError, InvalidArgumentError, NotLiveError, PoolExistsError,
  PoolNotFoundError, typedFileError, OutOfSpaceError, PheapError,
} from './errors.js';

export interface PoolOptions {
  /** Pool file (Node). Without it the pool lives in memory. */
  path?: string;
  /** Storage: 'memory', 'file', 'mapped' (Node), or a ready Backend. Default with a path: 'mapped' in Node when the native shim loads (else 'file', with a one-line notice; docs/mapped.md), without one 'memory'. */
  backend?: BackendKind | Backend;
  /** Layout name, compared on open (at most 63 UTF-8 bytes). */
  layout: string;
  /** How far a drain reaches; default 'fsync' for files, 'os' in memory. See docs/durability.md. */
  durability?: Durability;
  /** Use the core's debug build (assertions on). Default: env PHEAP_CORE=debug. */
  debug?: boolean;
  /**
   * Model a cache that writes lines back on its own (pmem): the undo log is
   * made durable entry by entry, and the crash modes evict, tear8 and eadr
   * apply. Default: what the backend declares (Backend.evicts: a mapping
   * evicts; file, OPFS and memory write only at drains, so their commits
   * cost 3 drains whatever they snapshot). `false` on a backend that evicts
   * is InvalidArgumentError: it would be unsafe. docs/durability.md.
   */
  evicts?: boolean;
  /** Limits of a txAsync() batch (group commit); see docs/transactions.md. */
  groupCommit?: GroupCommitOptions;
  /**
   * The pool grows (crash-atomically, by a quarter of its size or what an
   * allocation needs) when the heap or the undo log needs room, up to this
   * many bytes: a multiple of 64 KiB, default and at most 4 GiB − 16 MiB
   * (the wasm32 limit). A pool already larger opens, and does not grow.
   * Not stored in the pool: each open sets its own. docs/format.md, "Growth".
   */
  maxSize?: number;
}

export interface CreateOptions extends PoolOptions {
  /** Initial pool size in bytes: a multiple of 64 KiB, from 128 KiB to maxSize. Default 1 MiB; the pool grows from there. */
  size?: number;
  /** Deterministic pool: the UUID comes from this seed, so equal workloads give byte-identical files. */
  seed?: Seed;
}

export interface OpenOptions extends PoolOptions {
  /** Open this in-memory image (memory backend); it is used, not copied. */
  image?: Uint8Array;
  /**
   * A closed pool of the same size whose memory and core instance may be
   * reused (crash exploration opens thousands of images; instantiating a
   * fresh 16 MiB+ memory each time would dominate). The returned pool is
   * that same object, reopened.
   */
  recycle?: Pool;
}

/** Options of alloc(). */
export interface AllocOptions {
  /** Type number in [0, 0xFFFF0000); objects can be iterated by type. Default 0. */
  type?: number;
  /** Zero the payload. Default false (it holds whatever the space held). */
  zero?: boolean;
  /** 64-byte (cache-line) aligned payload. Default: 16-byte aligned. */
  align64?: boolean;
  /** Publish: atomically store the new offset (u32) at this pool offset, inside a live object. */
  into?: number;
}

export interface PoolStats {
  /** The pool's size in bytes, and how far it may grow. */
  size: number;
  maxSize: number;
  /** Growths since the pool was created (regions appended: docs/format.md). */
  growths: number;
  /** flush() calls (including the core's own), drains, lines made durable. */
  flushes: number; drains: number; linesPersisted: number;
  openCount: number;
  /** Time the last open spent validating, recovering and rebuilding, and undo entries rolled back. */
  recovery: { ms: number; entriesRolledBack: number };
  heap: {
    liveObjects: number; liveBytes: number; usableBytes: number; freeBytes: number;
    largestFreeBytes: number;
    /** 1 − largest free extent / total free: 0 means all free space is one block. */
    fragmentation: number;
    metadataBytes: number; runs: number; freeChunks: number;
    objectsByType: Record<number, number>;
  };
}

export interface PoolInfo {
  backend: BackendKind;
  isPmem: boolean;
  /** The cache model in effect (PoolOptions.evicts). */
  evicts: boolean;
  durability: Durability;
  size: number;
  maxSize: number;
  path?: string;
}

/** How an environment (Node, a browser worker) opens named backends. */
export interface BackendOpener {
  create(path: string, size: number, durability: Durability): Backend;
  open(path: string, durability: Durability): Backend;
}

const openers = new Map<BackendKind, BackendOpener>();

/** Make a backend kind available to Pool.create/open (done by the environment's entry point). */
export function registerBackend(kind: BackendKind, opener: BackendOpener): void {
  openers.set(kind, opener);
}

/** The backend kind used for a path when none is named. */
let defaultPathBackend: BackendKind = 'file';
export function setDefaultPathBackend(kind: BackendKind): void { defaultPathBackend = kind; }

/** Tests run the core's debug build (assertions on): PHEAP_CORE=debug (set in vitest.config.ts). */
const DEFAULT_DEBUG = typeof process !== 'undefined' && process.env?.PHEAP_CORE === 'debug';

const TYPE_ANY = 0xffff_ffff;
/** The core's log extension blocks: live objects, never yielded by objects(). */
const TYPE_LOG_EXT = 0xffff_0002;

/** One open transaction level; `byTx` says tx(fn) opened it (else beginTx(), or the group-commit batch: `batch`). */
interface TxLevel {
  readonly pool: Pool;
  readonly byTx: boolean;
  readonly batch?: boolean;
  open: boolean;
}

/** Only Pool.tx() holds this: a Tx handle built without it refuses every call. */
const TX_TOKEN: unique symbol = Symbol('pheap Tx');
/** Module-private: the pool's views, for Tx setters that have just snapshotted (and so checked) their range. */
const VIEW: unique symbol = Symbol('pheap view');
const BYTES: unique symbol = Symbol('pheap bytes');

function pickBackend(opts: PoolOptions, size: number | null, image?: Uint8Array): Backend {
  if (typeof opts.backend === 'object') return opts.backend;
  const kind: BackendKind = opts.backend ?? (opts.path ? defaultPathBackend : 'memory');
  if (kind === 'memory') {
    const model = { evicts: opts.evicts === true };
    if (image) {
      recordedPoolSize(image, image.length, 'the image');
      return new MemoryBackend(image.length, opts.durability ?? 'os', image, model);
    }
    if (size === null) throw new UnsupportedOperationError('opening a memory pool needs `image`');
    return new MemoryBackend(size, opts.durability ?? 'os', undefined, model);
  }
  const opener = openers.get(kind);
  if (!opener) throw new UnsupportedOperationError(`backend '${kind}' is not available in this environment`);
  if (!opts.path) throw new UnsupportedOperationError(`backend '${kind}' needs a path`);
  const durability = opts.durability ?? 'fsync';
  try {
    return size === null ? opener.open(opts.path, durability) : opener.create(opts.path, size, durability);
  } catch (e) {
    throw typedFileError(e, opts.path);
  }
}

export class Pool {
  private core: CoreExports;
  private memory: WebAssembly.Memory;
  private backend: Backend;
  private bytes: Uint8Array;
  private view: DataView;
  /** @internal Tx setters only (see VIEW). */
  get [VIEW](): DataView { return this.view; }
  /** @internal Tx setters only (see BYTES). */
  get [BYTES](): Uint8Array { return this.bytes; }
  /** @internal The core and its memory, for the containers (src/containers/); PoolClosedError once closed. */
  get [CORE](): CoreAccess { this.live(); return this.access; }
  /** @internal Moves whenever a transaction level is aborted or a commit fails (internal.ts). */
  get [ROLLBACKS](): number { return this.rollbacks; }
  /** @internal A token of this open: a new object whenever this Pool object opens an image (internal.ts). */
  get [SESSION](): object { return this.session; }
  /** @internal Is a transaction running (not only a txAsync() batch between members)? */
  get [IN_TX](): boolean { return this.levels.length > 0 && !this.onlyBatchOpen(); }
  /** A txAsync() member is running (its work is part of the open batch, with or without a level of its own). */
  private memberRunning = false;
  private access: CoreAccess;
  private closed = false;
  /** The pool file, if any (also names the pool in error messages). */
  private path: string | undefined;
  private layout: string;
  private readonly debug: boolean;
  /** The cache model in effect: PoolOptions.evicts, or what the backend declares. */
  private evicts = true;
  private recoveryMs = 0;
  /** The open transaction levels, innermost last (mirrors the core's depth). */
  private levels: TxLevel[] = [];
  /** Aborted levels and failed commits so far (pool[ROLLBACKS]). */
  private rollbacks = 0;
  /** A token of this open of an image (a recycled Pool object opens others): pool[SESSION]. */
  private session: object = {};
  /** Group commit (txAsync): made at the first txAsync, with these limits. */
  private group: GroupCommit | null = null;
  private groupOptions: GroupCommitOptions = {};
  /** The committed pool size (the core's); the backend may hold more. */
  private poolBytes = 0;
  /** How far the pool may grow (PoolOptions.maxSize). */
  private maxSize = MAX_POOL_SIZE;
  /** The maxSize the memory was made for (its maximum): a recycled pool may not grow past it. */
  private readonly memoryMax: number;
  /** Why the last growth was refused (a full disk, a quota), thrown in place of the core's OutOfSpaceError. */
  private growFailure: Error | null = null;

  private constructor(backend: Backend, layout: string, path: string | undefined, debug: boolean, maxSize: number) {
    this.backend = backend;
    this.layout = layout;
    this.path = path;
    this.debug = debug;
    this.maxSize = maxSize;
    this.memoryMax = maxSize;
    this.memory = poolMemory(backend.size, maxSize);
    backend.attach(this.memory, POOL_BASE);
    this.core = instantiateCore(this.memory, (ranges, count, final) => this.backend.drain(ranges, count, final), debug,
      (min, want) => this.onGrow(min, want));
    this.bytes = this.view = null!;
    this.access = null!;
    this.setPoolBytes(backend.size);
  }

  /** The pool is `size` bytes now: views of the memory cover it (made again: growing replaces memory.buffer). */
  private setPoolBytes(size: number): void {
    this.poolBytes = size;
    this.bytes = new Uint8Array(this.memory.buffer, POOL_BASE, size);
    this.view = new DataView(this.memory.buffer, POOL_BASE, size);
    this.access = { core: this.core, memory: this.memory, mem: new Uint8Array(this.memory.buffer), words: new Uint32Array(this.memory.buffer) };
  }

  /**
   * env.grow: the core needs the pool to be at least `min` bytes (`want`
   * by its growth policy). Grow the memory and the backend's storage to
   * min(want, maxSize) and return that size, or 0 (the reason kept for
   * check0). Never throws: an exception would unwind through the core.
   */
  private onGrow(min: number, want: number): number {
    this.growFailure = null;
    if (!this.backend.grow) {
      this.growFailure = new UnsupportedOperationError(`the '${this.backend.kind}' backend cannot grow`);
      return 0;
    }
    const to = Math.min(want, this.maxSize); // maxSize is whole chunks (maxSizeArg)
    if (to < min) {
      this.growFailure = new OutOfSpaceError(`out of space: the pool would have to grow to ${min} bytes, past its maxSize (${this.maxSize}); the heap is unchanged`);
      return 0;
    }
    try {
      const had = this.memory.buffer.byteLength - POOL_BASE;
      if (to > had) this.memory.grow(Math.ceil((to - had) / WASM_PAGE));
      // Pages memory.grow just made are zero; bytes it already had past the pool (a recycled memory) may not be.
      if (had > this.poolBytes) new Uint8Array(this.memory.buffer, POOL_BASE + this.poolBytes, Math.min(had, to) - this.poolBytes).fill(0);
      this.backend.grow(this.memory, POOL_BASE, this.poolBytes, to);
    } catch (e) {
      this.growFailure = e instanceof PheapError ? e : new OutOfSpaceError(`out of space: the pool could not grow from ${this.poolBytes} to ${to} bytes: ${(e as Error).message} (the heap is unchanged)`);
      this.setPoolBytes(this.poolBytes); // the memory may have grown: views of the new buffer
      return 0;
    }
    this.setPoolBytes(to);
    return to;
  }

  /** Settle the cache model (before the core creates or opens) and tell the core how to order its log. */
  private setModel(evicts: unknown): void {
    flagArg(evicts, 'evicts');
    if (evicts === false && this.backend.evicts) {
      throw new InvalidArgumentError(`evicts: false on the '${this.backend.kind}' backend, whose cache writes lines back on its own: deferring the undo log there would lose data`);
    }
    this.evicts = evicts === true || this.backend.evicts;
    this.core.setDeferredLog(this.evicts ? 0 : 1);
  }

  private writeLayout(layout: Uint8Array): void {
    const scratch = this.core.scratch();
    const mem = new Uint8Array(this.memory.buffer);
    mem.fill(0, scratch, scratch + 64);
    mem.set(layout, scratch);
  }

  /** Create a new pool. With `path`, the file must not exist yet. */
  static create(opts: CreateOptions): Pool {
    const maxSize = maxSizeArg(opts.maxSize);
    const size = opts.size ?? Math.min(DEFAULT_POOL_SIZE, maxSize);
    checkPoolSize(size, maxSize);
    const layout = encodeLayout(opts.layout);
    const group = groupCommitArg(opts.groupCommit);
    const backend = pickBackend(opts, size);
    const pool = new Pool(backend, opts.layout, opts.path, opts.debug ?? DEFAULT_DEBUG, maxSize);
    try {
      pool.setModel(opts.evicts);
      pool.groupOptions = group;
      pool.writeLayout(layout);
      const uuid = new Uint8Array(pool.memory.buffer, pool.core.scratch() + 64, 16);
      if (opts.seed !== undefined) new Prng(opts.seed).bytes(uuid);
      else globalThis.crypto.getRandomValues(uuid);
      pool.check0(pool.core.createPool(size, layout.length));
      pool.setPoolBytes(size);
      backend.finishCreate?.();
    } catch (e) {
      backend.close(false);
      throw e;
    }
    return pool;
  }

  /** Open an existing pool, running recovery. Nothing is written unless the pool validates (a recovery's rollback aside). */
  static open(opts: OpenOptions): Pool {
    const layout = encodeLayout(opts.layout);
    const group = groupCommitArg(opts.groupCommit);
    const maxSize = maxSizeArg(opts.maxSize);
    const backend = pickBackend(opts, null, opts.image);
    let pool: Pool | undefined;
    try {
      const old = opts.recycle;
      // Its memory must hold the image, and may grow only as far as the maxSize it was made for.
      if (old && old.closed && old.memory.buffer.byteLength >= POOL_BASE + backend.size && old.memoryMax >= maxSize && old.debug === (opts.debug ?? DEFAULT_DEBUG)) {
        pool = old;
        pool.backend = backend;
        pool.layout = opts.layout;
        pool.path = opts.path;
        pool.maxSize = maxSize;
        pool.closed = false;
        backend.attach(pool.memory, POOL_BASE);
      } else {
        pool = new Pool(backend, opts.layout, opts.path, opts.debug ?? DEFAULT_DEBUG, maxSize);
      }
      // The size the header commits (storage may hold more: an interrupted growth).
      pool.setPoolBytes(recordedPoolSize(new Uint8Array(pool.memory.buffer, POOL_BASE, Math.min(HEADER_SIZE, backend.size)), backend.size, opts.path ?? 'the image'));
      pool.setModel(opts.evicts);
      pool.group = null;
      pool.groupOptions = group;
      pool.writeLayout(layout);
      const t0 = performance.now();
      pool.check0(pool.core.openPool(pool.poolBytes, layout.length));
      pool.recoveryMs = performance.now() - t0;
      pool.session = {};
      (opts as { [VET]?: (pool: Pool) => void })[VET]?.(pool); // refusing here leaves the file as it was (but for a rollback recovery did)
      pool.core.finishOpen();
    } catch (e) {
      if (pool) pool.closed = true; // a recycled pool stays reusable after a refused open
      backend.close(false);
      throw e;
    }
    return pool;
  }

  /**
   * Open the pool at `opts.path` if there is one (recovery runs, the layout
   * name is checked: LayoutMismatchError), else create it with `opts.size`
   * (and `opts.seed`). Made for programs that run any number of times on one
   * path. A separate method rather than a `create` option of open(), so that
   * open() keeps its promise never to make a file, and the options are
   * exactly create()'s.
   *
   * - Race-free: create is exclusive and atomic, so when another process
   *   creates the path between this call's open and create, the create's
   *   PoolExistsError means "open it now", and the pool it made is opened
   *   (PoolLockedError while that process still holds it). A path that
   *   vanishes again before that last open, or a dangling symlink (never
   *   followed to create its target), is PoolNotFoundError.
   * - Only a missing file is created: a file that is not a pool is
   *   NotAPoolError and a damaged pool is refused as open() refuses it, the
   *   file untouched either way, never "recreated".
   * - An existing pool keeps the size its header records; `size` and `seed`
   *   are used only when creating, but are checked on every call.
   * - A memory pool has no name to find again, so there is nothing to open:
   *   without a path, with the 'memory' backend or with a ready Backend it
   *   is UnsupportedOperationError (use create(), or open({ image })).
   * Arguments are checked before any file is touched: an unknown option or
   * one of the wrong kind is InvalidArgumentError, a size out of range or a
   * layout name too long InvalidSizeError.
   */
  static openOrCreate(opts: CreateOptions): Pool {
    if (opts === undefined) throw new InvalidArgumentError('openOrCreate needs options: { path, size, layout }');
    const o = optionsArg(opts, ['path', 'backend', 'layout', 'durability', 'debug', 'evicts', 'groupCommit', 'maxSize', 'size', 'seed'], 'openOrCreate options');
    if (typeof o.path !== 'string' || o.path === '') throw new UnsupportedOperationError(`openOrCreate needs a path (a non-empty string, not ${shown(o.path)}): a memory pool has nothing to open; use Pool.create`);
    if (o.backend === 'memory' || typeof o.backend === 'object') throw new UnsupportedOperationError('openOrCreate needs a named file backend (\'file\' or \'mapped\'): a memory pool or a ready Backend has no file to find again; use Pool.create or Pool.open');
    if (typeof o.layout !== 'string') throw new InvalidArgumentError(`openOrCreate: layout must be a string, not ${shown(o.layout)}`);
    if (!['fsync', 'os', 'none', undefined].includes(o.durability as string)) throw new InvalidArgumentError(`openOrCreate: durability ${shown(o.durability)} is not 'fsync', 'os' or 'none'`);
    if (o.seed !== undefined && typeof o.seed !== 'string' && !Number.isFinite(o.seed)) throw new InvalidArgumentError(`openOrCreate: seed ${shown(o.seed)} must be a finite number or a string`);
    flagArg(o.debug, 'openOrCreate: debug');
    flagArg(o.evicts, 'openOrCreate: evicts');
    const maxSize = maxSizeArg(o.maxSize);
    if (o.size !== undefined) checkPoolSize(numberArg(o.size, 'openOrCreate: size'), maxSize);
    encodeLayout(o.layout);
    try {
      return Pool.open(opts);
    } catch (e) {
      if (!(e instanceof PoolNotFoundError)) throw e;
    }
    try {
      return Pool.create(opts);
    } catch (e) {
      if (!(e instanceof PoolExistsError)) throw e;
    }
    return Pool.open(opts); // another process created it between our open and create
  }

  // ─── guards ──────────────────────────────────────────────────────────────

  private check0(code: number, off?: number): void {
    if (code === 0) return;
    const grow = this.growFailure;
    this.growFailure = null;
    if (grow && code === Code.OUT_OF_SPACE) throw grow;
    const error = errorForCode(code, { what: this.path ?? 'the memory pool', layout: this.layout, off, damage: this.core.damageOffset() });
    if (grow && code === Code.LOG_FULL) Object.defineProperty(error, 'cause', { value: grow }); // why the heap could not give the log a block
    throw error;
  }

  private live(): CoreExports {
    if (this.closed) throw new PoolClosedError();
    return this.core;
  }

  /** `off` must be a pool offset: a safe integer in [0, size). */
  private offsetArg(off: unknown, what = 'offset'): number {
    if (!Number.isSafeInteger(numberArg(off, what)) || (off as number) < 0 || (off as number) >= this.poolBytes) {
      throw new OffsetError(`${what} ${shown(off)} is not a pool offset: it is outside the pool (offsets are integers in [0, ${this.poolBytes}))`);
    }
    return off as number;
  }

  /** A size for an object: a safe integer in [1, maxSize] (one that cannot fit, even after growing, is the core's OutOfSpaceError). */
  private sizeArg(size: unknown, what: string): number {
    if (!Number.isSafeInteger(numberArg(size, what)) || (size as number) <= 0 || (size as number) > this.maxSize) {
      throw new InvalidSizeError(`${what} ${shown(size)} must be a positive integer no larger than the pool's maximum size (${this.maxSize} bytes)`);
    }
    return size as number;
  }

  /** [off, off+len) must lie inside the pool (len 0 is allowed, at any offset up to the size). */
  private inPool(off: unknown, len: unknown): void {
    this.live();
    numberArg(off, 'offset');
    numberArg(len, 'length');
    const o = off as number, n = len as number;
    if (!Number.isSafeInteger(o) || !Number.isSafeInteger(n) || o < 0 || n < 0 || o + n > this.poolBytes) {
      throw new OffsetError(`range [${o}, ${o}+${n}) is outside the pool (size ${this.poolBytes})`);
    }
  }

  private writable(off: number, len: number): void {
    this.inPool(off, len);
    if (len > 0 && !this.core.rangeWritable(off, len)) {
      if (this.core.damageOffset() !== 0) this.check0(Code.CORRUPT_HEAP, off); // the object's metadata is damaged
      throw new OffsetError(`range [${off}, ${off}+${len}) is not inside one live object: stores may only go into objects`);
    }
  }

  /** A destination option (`into` / `from`): undefined or 0 (none), else a u32 inside the pool; the core checks it is inside a live object. */
  private destArg(v: unknown, what: string): number {
    if (v === undefined || v === 0) return 0;
    const off = this.offsetArg(v, what);
    if (off + 4 > this.poolBytes) throw new OffsetError(`${what} ${off}: a u32 there would end past the pool (size ${this.poolBytes})`);
    return off;
  }

  private result(off: number, ctxOff?: number): number {
    if (off === 0) this.check0(this.core.lastError(), ctxOff);
    return off;
  }

  // ─── lifecycle ───────────────────────────────────────────────────────────

  /** Close the pool: drains nothing more (un-drained stores are not durable), releases the file. Open transactions end uncommitted. */
  /**
   * Close the pool. An open txAsync() batch is committed first when no other
   * transaction is open (its promises resolve); inside a transaction it is
   * abandoned with everything else (recovery rolls it back; its promises
   * reject with PoolClosedError).
   */
  close(): void {
    if (this.closed) return;
    if (this.onlyBatchOpen()) this.group!.commit();
    this.group?.abandon('closed');
    this.abandonLevels();
    this.closed = true;
    this.backend.close(true);
  }

  /**
   * @internal Close without writing anything more: an open batch and open
   * levels are abandoned (not committed) and volatile stores are not
   * written (durability 'none' leaves the file as the open found it).
   */
  [ABANDON](): void {
    if (this.closed) return;
    this.group?.abandon('closed');
    this.abandonLevels();
    this.closed = true;
    this.backend.close(false);
  }

  get isClosed(): boolean { return this.closed; }
  /** The pool's size in bytes: it grows when the heap or the undo log needs room (up to maxSize). */
  get size(): number { return this.poolBytes; }

  info(): PoolInfo {
    this.live();
    const b = this.backend;
    return { backend: b.kind, isPmem: b.isPmem, evicts: this.evicts, durability: b.durability, size: this.poolBytes, maxSize: this.maxSize, ...(this.path ? { path: this.path } : {}) };
  }

  /**
   * The root object: created zeroed on first use, grown when asked for more
   * (old bytes kept, new bytes zeroed; it may move). Not inside a transaction.
   * `size` is an integer in [1, pool size].
   */
  root(size: number): number {
    const core = this.live();
    return this.result(core.root(this.sizeArg(size, 'root size')));
  }

  // ─── reads (anywhere in the pool) ────────────────────────────────────────

  readU8(off: number): number { this.inPool(off, 1); return this.bytes[off]; }
  readU16(off: number): number { this.inPool(off, 2); return this.view.getUint16(off, true); }
  readU32(off: number): number { this.inPool(off, 4); return this.view.getUint32(off, true); }
  readI32(off: number): number { this.inPool(off, 4); return this.view.getInt32(off, true); }
  readU64(off: number): bigint { this.inPool(off, 8); return this.view.getBigUint64(off, true); }
  readF64(off: number): number { this.inPool(off, 8); return this.view.getFloat64(off, true); }
  /** A copy of `len` bytes at `off`. */
  readBytes(off: number, len: number): Uint8Array { this.inPool(off, len); return this.bytes.slice(off, off + len); }

  // ─── raw stores (inside live objects; durability is the caller's job) ────
  // Values must fit: writeU8 takes integers in [0, 255], writeU16 [0, 65535],
  // writeU32 [0, 2**32), writeI32 [-2**31, 2**31), writeU64 a bigint in
  // [0, 2**64), writeF64 any number. Anything else is an InvalidArgumentError:
  // pheap never truncates or wraps a value.

  writeU8(off: number, v: number): void { this.live(); intValue(v, 'u8'); this.writable(off, 1); this.bytes[off] = v; }
  writeU16(off: number, v: number): void { this.live(); intValue(v, 'u16'); this.writable(off, 2); this.view.setUint16(off, v, true); }
  writeU32(off: number, v: number): void { this.live(); intValue(v, 'u32'); this.writable(off, 4); this.view.setUint32(off, v, true); }
  writeI32(off: number, v: number): void { this.live(); intValue(v, 'i32'); this.writable(off, 4); this.view.setInt32(off, v, true); }
  writeU64(off: number, v: bigint): void { this.live(); u64Value(v); this.writable(off, 8); this.view.setBigUint64(off, v, true); }
  writeF64(off: number, v: number): void { this.live(); f64Value(v); this.writable(off, 8); this.view.setFloat64(off, v, true); }
  /** Store `data` (a Uint8Array) at `off`. */
  writeBytes(off: number, data: Uint8Array): void { this.live(); bytesValue(data); this.writable(off, data.length); this.bytes.set(data, off); }

  // ─── the flush model ─────────────────────────────────────────────────────

  /** CLWB: mark the lines of [off, off+len) pending. */
  flush(off: number, len: number): void { this.inPool(off, len); this.core.flush(off, len); }
  /** SFENCE: make every pending line durable (one backend call). */
  drain(): void { this.live().drain(); }
  /** flush + drain. */
  persist(off: number, len: number): void { this.inPool(off, len); this.core.persist(off, len); }

  // ─── the allocator ───────────────────────────────────────────────────────

  /**
   * Allocate `size` bytes (an integer in [1, pool size]; one that cannot
   * fit is an OutOfSpaceError). Outside a transaction the object is durable
   * on return; with `into`, the offset is stored there atomically with the
   * allocation (after a crash: both or neither). Inside a transaction it
   * becomes durable at commit and vanishes on abort. `opts` is undefined or
   * an object with only AllocOptions keys.
   */
  alloc(size: number, opts?: AllocOptions): number {
    const core = this.live();
    this.sizeArg(size, 'allocation size');
    const o = optionsArg(opts, ['type', 'zero', 'align64', 'into'], 'alloc options');
    const type = o.type === undefined ? 0 : userType(o.type, 'alloc type');
    const flags = (flagArg(o.zero, 'zero') ? 1 : 0) | (flagArg(o.align64, 'align64') ? 2 : 0);
    const into = this.destArg(o.into, 'into');
    return this.result(core.alloc(size, type, flags, into), into);
  }

  /** Free a live object; with `from` (a pool offset, 0 = none), clear that u32 pointer atomically with the free. */
  free(off: number, opts?: { from?: number }): void {
    const core = this.live();
    const from = this.destArg(optionsArg(opts, ['from'], 'free options').from, 'from');
    this.check0(core.free(this.offsetArg(off), from), off);
  }

  /** Resize to `size` (an integer in [1, pool size]; old bytes kept, new bytes zeroed); may move. With `into`, publish the new offset atomically. */
  realloc(off: number, size: number, opts?: { into?: number }): number {
    const core = this.live();
    this.sizeArg(size, 'size');
    const into = this.destArg(optionsArg(opts, ['into'], 'realloc options').into, 'into');
    return this.result(core.realloc(this.offsetArg(off), size, into), off);
  }

  /**
   * The object at `off`, which must be live or allocated by the open
   * transaction: OffsetError if `off` is not a pool offset, NotLiveError if
   * no object starts there, CorruptHeapError if its metadata is damaged.
   */
  private objectAt(off: number): CoreExports {
    const core = this.live();
    if (core.usableSize(this.offsetArg(off)) === 0) this.check0(core.lastError(), off);
    return core;
  }

  /** Bytes usable at `off` (>= the size asked for). */
  usableSize(off: number): number { return this.objectAt(off).usableSize(off); }
  /** Type number of the object at `off`. */
  typeOf(off: number): number { return this.objectAt(off).objectType(off) >>> 0; }
  /** Size asked for when the object at `off` was allocated (or last resized). */
  sizeOf(off: number): number { return this.objectAt(off).objectDataLen(off); }
  /** Is `off` the start of a live object? Any number is a fair question (false outside the pool); a non-number is an InvalidArgumentError. */
  isLive(off: number): boolean {
    const core = this.live();
    numberArg(off, 'offset');
    return Number.isSafeInteger(off) && off >= 0 && off < this.poolBytes && core.isLive(off) !== 0;
  }

  /**
   * Live objects in address order; all of them, or those of one `type` (an
   * integer in [0, 0xFFFF0000); checked here, before the first step).
   *
   * Changing the heap while iterating is allowed. The iterator fetches the
   * next object before yielding the current one, so freeing (or resizing
   * away) the object just yielded never cuts the walk short. An object that
   * is not yet visited and is freed is not yielded; an object allocated
   * during the walk may or may not be. Objects allocated or freed inside an
   * open transaction become live or free at commit, so a walk inside the
   * transaction sees the heap as it was. Closing the pool ends the walk with
   * PoolClosedError at the next step.
   */
  objects(type?: number): IterableIterator<number> {
    this.live();
    return this.walk(type === undefined ? TYPE_ANY : userType(type, 'type'), this.backend);
  }

  private *walk(type: number, backend: Backend): IterableIterator<number> {
    let next = this.openAs(backend).nextObject(0, type);
    while (next !== 0) {
      const off = next;
      next = this.core.nextObject(off, type);
      yield off;
      const core = this.openAs(backend);
      if (next !== 0 && !(core.isLive(next) && this.matchesType(next, type))) next = this.firstAfter(next, type);
    }
  }

  /** The core, if the pool is still open over `backend` (not closed, nor closed and reopened since). */
  private openAs(backend: Backend): CoreExports {
    const core = this.live();
    if (this.backend !== backend) throw new PoolClosedError();
    return core;
  }

  private matchesType(off: number, type: number): boolean {
    const t = this.core.objectType(off) >>> 0;
    return type === TYPE_ANY ? t !== TYPE_LOG_EXT : t === type;
  }

  /**
   * The first object of `type` after position `pos`, which held an object
   * that is gone. The core finds it from `pos` while `pos` is still an
   * object place; if that answers 0 (the end, or a place that no longer
   * exists), a walk from the start settles it.
   */
  private firstAfter(pos: number, type: number): number {
    const core = this.core;
    const found = core.nextObject(pos, type);
    if (found !== 0) return found;
    let off = core.nextObject(0, type);
    while (off !== 0 && off <= pos) off = core.nextObject(off, type);
    return off;
  }

  // ─── transactions ────────────────────────────────────────────────────────

  /**
   * Run `fn` in a transaction: commit when it returns, abort (restoring every
   * snapshotted range) and rethrow when it throws. Nested calls flatten into
   * the outermost transaction. `fn` gets its own Tx handle, usable only until
   * this call ends. See docs/transactions.md for the rules, in short:
   * - `fn` must be synchronous: an async function is refused before it runs
   *   (TxStateError); if `fn` returns a promise, the transaction is aborted,
   *   the promise's rejection is ignored, and TxStateError is thrown.
   * - tx() never returns without committing: if `fn` closed (or crashed) the
   *   pool, or returned with a beginTx() level still open, it throws
   *   TxStateError (aborting what is still open).
   * - Inside `fn`, commitTx()/abortTx() may only end levels `fn` opened with
   *   beginTx(); to end the tx(fn) level, return or throw.
   */
  tx<T>(fn: (tx: Tx) => T): T {
    this.live();
    txFunctionArg(fn, 'tx');
    if (this.onlyBatchOpen()) this.group!.commit();
    return this.runTx(fn);
  }

  /** tx(fn)'s work, also a txAsync() member's: a level of its own, committed when fn returns, aborted when it throws. */
  private runTx<T>(fn: (tx: Tx) => T): T {
    const level = this.openLevel(true);
    let out: T;
    try {
      out = fn(new Tx(this, level, TX_TOKEN));
    } catch (e) {
      this.abortThrough(level);
      throw e;
    }
    this.commitLevel(level, out);
    return out;
  }

  /** End the tx(fn) level `level` after `fn` returned `out`: commit it, or abort and say why not. */
  private commitLevel(level: TxLevel, out: unknown): void {
    if (isThenable(out)) ignoreOutcome(out);
    if (!level.open) throw new TxStateError('tx(fn): the pool was closed (or crashed) inside fn; the transaction was not committed');
    if (isThenable(out)) {
      this.abortThrough(level);
      throw new TxStateError('tx(fn): fn returned a promise; transaction functions must be synchronous. The transaction was aborted');
    }
    const above = this.levels.length - 1 - this.levels.indexOf(level);
    if (above > 0) {
      this.abortThrough(level);
      throw new TxStateError(`tx(fn): fn returned with ${above} beginTx() level(s) still open; the transaction was aborted`);
    }
    this.popLevel();
    this.commitCore(this.core);
  }

  // ─── group commit ─────────────────────────────────────────────────────────

  /**
   * Run `fn` now, as a transaction of the open batch (group commit): its
   * changes are visible at once, and the promise resolves with fn's result
   * when the batch — every txAsync() of this turn of the event loop, or up
   * to `groupCommit.maxBatch` / `maxDelayMs` — has committed with one commit
   * protocol: durable at the pool's level. If fn throws, only its own
   * changes are rolled back and the promise rejects with that error; if the
   * commit fails, every promise of the batch rejects. Batches commit in
   * order and whole, so after a crash a prefix of them is there, including
   * every one whose promises resolved. fn must be synchronous (as for tx());
   * it may run twice when the log fills up in a batch holding other
   * transactions (they commit first, then fn runs again in a batch of its
   * own). A synchronous tx() or beginTx() at the top level, close() and
   * commitBatch() commit the open batch first. Inside a transaction,
   * txAsync() is refused (TxStateError): nest with tx().
   */
  txAsync<T>(fn: (tx: Tx) => T): Promise<T> {
    const group = this.batcher(fn);
    return group instanceof GroupCommit ? group.submit(() => this.runTx(fn)) : group;
  }

  /**
   * @internal txAsync(fn) for a `fn` that is one container operation (atomic
   * alone: a throw leaves the pool as it was, or aborts its own level, which
   * rolls back to the member's savepoint) returning true: it runs without a
   * tx(fn) level of its own, and the promise is the one its batch's such
   * members share.
   */
  [TX_ASYNC_SHARED](fn: () => true): Promise<true> {
    const group = this.batcher(fn);
    return group instanceof GroupCommit ? group.submitShared(fn) : group;
  }

  /**
   * The group-commit batcher (made on first use), or a rejected promise if
   * `fn` or the pool's state refuse a txAsync(). (Only these refusals become
   * a rejection: what the batch itself throws — a crash in its commit —
   * propagates.)
   */
  private batcher(fn: unknown): GroupCommit | Promise<never> {
    try {
      this.checkTxAsync(fn);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.group ??= new GroupCommit({
      openBatch: () => { this.openLevel(false, true); },
      runMember: (member) => {
        this.check0(this.core.txSavepoint());
        this.memberRunning = true;
        try { return member(); } finally { this.memberRunning = false; }
      },
      commitBatch: () => { this.popLevel(); this.commitCore(this.core); },
      abortBatch: () => { this.abortThrough(this.levels[0]); },
    }, this.groupOptions);
  }

  private checkTxAsync(fn: unknown): void {
    this.live();
    txFunctionArg(fn, 'txAsync');
    if (this[IN_TX]) {
      throw new TxStateError('txAsync() inside a transaction: nest with tx(); txAsync() runs at the top level');
    }
  }

  /** Commit the open txAsync() batch now (if any): its promises resolve. Nothing else may be open. */
  commitBatch(): void {
    this.live();
    if (this.group?.isOpen && !this.onlyBatchOpen()) throw new TxStateError('commitBatch() inside a transaction function');
    this.group?.commit();
  }

  /** Is the txAsync() batch the only open level (nothing of a member running)? */
  private onlyBatchOpen(): boolean {
    return this.levels.length === 1 && this.levels[0].batch === true && !this.memberRunning;
  }

  /** Begin a core transaction level and record it. */
  private openLevel(byTx: boolean, batch = false): TxLevel {
    this.check0(this.live().txBegin());
    const level: TxLevel = { pool: this, byTx, batch, open: true };
    this.levels.push(level);
    return level;
  }

  private popLevel(): void {
    this.levels.pop()!.open = false;
  }

  /** Abort every open level down to and including `level` (the first abort rolls the whole transaction back). */
  private abortThrough(level: TxLevel): void {
    while (level.open) {
      this.popLevel();
      this.rollbacks++;
      this.core.txAbort();
    }
  }

  /** The pool is closing or crashing: every open level ends, uncommitted (recovery rolls it back). */
  private abandonLevels(): void {
    for (const level of this.levels) level.open = false;
    this.levels = [];
  }

  /** Snapshot [off, off+len) into the undo log (inside a transaction) before modifying it. */
  addRange(off: number, len: number): void {
    this.writable(off, len);
    this.check0(this.core.txAddRange(off, len), off);
  }

  /** Depth of the open transaction (0 = none). */
  get txDepth(): number { return this.live().txDepth(); }

  /**
   * Step-by-step transactions, for callers that cannot wrap the work in one
   * synchronous function (a UI, a worker protocol): begin, then commit or
   * abort. Prefer `tx(fn)`, which cannot leave a transaction open.
   */
  beginTx(): void {
    if (this.onlyBatchOpen()) this.group!.commit();
    this.openLevel(false);
  }
  /** Commit the innermost level, which beginTx() must have opened (an inner level commits nothing). */
  commitTx(): void { this.commitCore(this.endStepLevel('commitTx')); }
  /** Abort: restore every snapshot of the whole transaction. The innermost level must be one beginTx() opened. */
  abortTx(): void {
    const core = this.endStepLevel('abortTx');
    this.rollbacks++;
    this.check0(core.txAbort());
  }

  /** Commit the core's innermost level; a failed commit counts as a rollback (what it held may be gone). */
  private commitCore(core: CoreExports): void {
    const code = core.txCommit();
    if (code !== 0) this.rollbacks++;
    this.check0(code);
  }

  /** Pop the innermost level for commitTx/abortTx, refusing (with nothing changed) unless beginTx() opened it. */
  private endStepLevel(call: string): CoreExports {
    const core = this.live();
    const top = this.levels[this.levels.length - 1];
    if (!top) throw new TxStateError(`${call}(): no transaction is open`);
    if (top.byTx) {
      throw new TxStateError(`${call}(): the innermost transaction level was opened by tx(fn), not beginTx(); return from fn to commit it or throw to abort it (nothing was changed)`);
    }
    if (top.batch) throw new TxStateError(`${call}(): no beginTx() level is open (the open level is a txAsync() batch: commitBatch() commits it)`);
    this.popLevel();
    return core;
  }

  /** Where the pool's regions are (see docs/format.md), and the undo log's sequence number. */
  layoutInfo(): { logOffset: number; logBytes: number; heapOffset: number; logSequence: number } {
    const core = this.live();
    return { logOffset: core.logOffset(), logBytes: core.logBytes(), heapOffset: core.heapOffset(), logSequence: core.logSequence() };
  }

  // ─── checking and figures ────────────────────────────────────────────────

  /** Verify every heap invariant; throws CorruptHeapError naming the first broken one. */
  check(): void {
    const core = this.live();
    if (core.check() !== 0) {
      const p = core.checkProblem();
      throw new CorruptHeapError(`check failed at offset ${core.checkProblemAt()}: ${CHECK_PROBLEMS[p] ?? `problem ${p}`}`);
    }
  }

  stats(): PoolStats {
    const core = this.live();
    core.heapStats();
    const s = new Float64Array(this.memory.buffer, core.scratch(), 8);
    const byType: Record<number, number> = {};
    for (const off of this.objects()) {
      const t = core.objectType(off) >>> 0;
      byType[t] = (byType[t] ?? 0) + 1;
    }
    const free = s[3];
    return {
      size: this.poolBytes, maxSize: this.maxSize, growths: core.growthCount(),
      flushes: core.flushCount(), drains: core.drainCount(), linesPersisted: core.linesPersisted(),
      openCount: core.openCount(),
      recovery: { ms: this.recoveryMs, entriesRolledBack: core.recoveredEntries() },
      heap: {
        liveObjects: s[0], liveBytes: s[1], usableBytes: s[2], freeBytes: free, largestFreeBytes: s[4],
        fragmentation: free > 0 ? 1 - s[4] / free : 0,
        metadataBytes: s[5], runs: s[6], freeChunks: s[7], objectsByType: byType,
      },
    };
  }

  // ─── crash simulation (copy-style backends) ──────────────────────────────

  /** The pending lines (flushed, not drained), ascending. */
  pendingLines(): number[] {
    return this.linesOf(this.live().collectPending());
  }

  private linesOf(n: number): number[] {
    if (n < 0) throw new UnsupportedOperationError('more than 65536 separate ranges of lines are pending: drain before simulating a crash');
    return linesOfRanges(new Uint32Array(this.memory.buffer, this.core.drainRanges(), 2 * n), n);
  }

  /**
   * The image a crash right now would leave (see crash/modes.ts). Changes
   * nothing. The lines a crash can catch in flight are those the next drain
   * would write first (with a deferred log: the log's entries alone). Modes
   * that need a cache that evicts (evict, tear8, eadr) are refused on a pool
   * whose model does not (PoolOptions.evicts): they cannot happen there.
   */
  crashImage(opts: CrashOptions): Uint8Array {
    const core = this.live();
    crashOptionsArg(opts);
    if (!this.backend.durableImage) throw new UnsupportedOperationError(`crash simulation needs a copy-style backend (memory, file, opfs), not '${this.backend.kind}': a live mapping has no separate durable image`);
    if (!this.evicts && opts.mode !== 'strict' && opts.mode !== 'pending') {
      throw new InvalidArgumentError(`crash mode '${opts.mode}' needs a cache that writes lines back on its own, and this pool's does not (only drains write it): open it with evicts: true to model pmem`);
    }
    // A file (or OPFS) pool at 'none' writes nothing before close: a crash leaves the file as the last close (or the create) wrote it, in every mode.
    if (this.backend.durability === 'none' && this.backend.kind !== 'memory') return this.backend.durableImage();
    return crashImage(this.backend.durableImage(), this.bytes, this.linesOf(core.collectInFlight()), opts);
  }

  /**
   * Crash now: the pool is abandoned as if the process died, its durable
   * storage becomes the crash image, and the pool is reopened (running
   * recovery). Returns the reopened pool; this one is closed.
   */
  crash(opts: CrashOptions): Pool {
    const image = this.crashImage(opts);
    const backend = this.backend;
    this.group?.abandon('crashed');
    this.abandonLevels();
    this.closed = true;
    if (backend.kind === 'memory') {
      backend.close(false);
      return Pool.open({ image, layout: this.layout, durability: backend.durability, debug: this.debug, evicts: this.evicts });
    }
    backend.replaceDurableImage!(image);
    backend.close(false);
    return Pool.open({ path: this.path, backend: backend.kind, layout: this.layout, durability: backend.durability, debug: this.debug, evicts: this.evicts });
  }

  /** A copy of the durable image (copy-style backends). */
  durableImage(): Uint8Array {
    this.live();
    if (!this.backend.durableImage) throw new UnsupportedOperationError(`backend '${this.backend.kind}' has no separate durable image`);
    return this.backend.durableImage();
  }
}

/**
 * The handle a transaction function receives: typed setters that snapshot
 * the range first (so they can be rolled back), plus the pool's allocator,
 * which is transactional while a transaction is open.
 *
 * Each tx(fn) call makes its own handle, valid until that call returns or
 * throws. A handle used after that (kept in a closure, used after an await)
 * throws TxStateError and changes nothing. Handles are made only by
 * Pool.tx(); one constructed any other way refuses every call.
 */
export class Tx {
  readonly #pool: Pool;
  readonly #level: TxLevel;
  readonly #issued: boolean;

  /** Internal: Pool.tx() makes the handles (a handle built by anyone else refuses every call). */
  constructor(pool: Pool, level: TxLevel, token?: symbol) {
    this.#pool = pool;
    this.#level = level;
    this.#issued = token === TX_TOKEN && level?.byTx === true;
  }

  /** The pool, if this handle's transaction level is still open. */
  #open(): Pool {
    if (!this.#issued || this.#level.pool !== this.#pool) {
      throw new TxStateError('this Tx handle was not made by pool.tx(): it belongs to no transaction');
    }
    if (!this.#level.open) {
      throw new TxStateError('this Tx handle belongs to a transaction that has ended; use the handle passed to the running tx() callback');
    }
    return this.#pool;
  }

  /** Snapshot a range you are about to modify with raw stores. */
  addRange(off: number, len: number): void { this.#open().addRange(off, len); }
  /** Snapshot, then store (the value is checked first, as by writeU8: nothing is logged for a refused value). */
  // Each setter checks the value, then addRange checks the range (inside one live object) and
  // snapshots it; the store that follows needs no second check.
  setU8(off: number, v: number): void { const p = this.#open(); intValue(v, 'u8'); p.addRange(off, 1); p[BYTES][off] = v; }
  setU16(off: number, v: number): void { const p = this.#open(); intValue(v, 'u16'); p.addRange(off, 2); p[VIEW].setUint16(off, v, true); }
  setU32(off: number, v: number): void { const p = this.#open(); intValue(v, 'u32'); p.addRange(off, 4); p[VIEW].setUint32(off, v, true); }
  setI32(off: number, v: number): void { const p = this.#open(); intValue(v, 'i32'); p.addRange(off, 4); p[VIEW].setInt32(off, v, true); }
  setU64(off: number, v: bigint): void { const p = this.#open(); u64Value(v); p.addRange(off, 8); p[VIEW].setBigUint64(off, v, true); }
  setF64(off: number, v: number): void { const p = this.#open(); f64Value(v); p.addRange(off, 8); p[VIEW].setFloat64(off, v, true); }
  setBytes(off: number, data: Uint8Array): void { const p = this.#open(); bytesValue(data); p.addRange(off, data.length); p[BYTES].set(data, off); }
  /** Allocate inside the transaction (durable at commit, gone on abort). */
  alloc(size: number, opts?: AllocOptions): number { return this.#open().alloc(size, opts); }
  /** Free inside the transaction (takes effect at commit). */
  free(off: number, opts?: { from?: number }): void { this.#open().free(off, opts); }
  /** Resize inside the transaction. */
  realloc(off: number, size: number, opts?: { into?: number }): number { return this.#open().realloc(off, size, opts); }
}
