// pool.ts — the Pool API: one open pool, its core, its memory and its backend.
//
// A Pool owns a WebAssembly.Memory sized POOL_BASE + size, a core instance
// bound to it, and a Backend that holds the durable image. Reads and writes
// go straight to linear memory (the "cache"); flush/drain/persist go through
// the core's flush model, whose drains reach the backend. Every public
// method checks that the pool is open and that offsets are inside the pool;
// stores must fall inside one live object, so no caller can overwrite the
// header, the log or allocator metadata.

import type { Backend, BackendKind, Durability } from './backends/backend.js';
import { MemoryBackend } from './backends/memory.js';
import { instantiateCore, poolMemory, type CoreExports } from './core.js';
import { POOL_BASE } from './layout.js';
import { checkPoolSize, encodeLayout, recordedPoolSize } from './format.js';
import { Prng, type Seed } from './prng.js';
import { crashImage, linesOfRanges, type CrashOptions } from './crash/modes.js';
import {
  CHECK_PROBLEMS, CorruptHeapError, OffsetError, PoolClosedError, TxStateError, UnsupportedOperationError,
  errorForCode, BadTypeError, InvalidSizeError,
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
}

export interface CreateOptions extends PoolOptions {
  /** Pool size in bytes: a multiple of 64 KiB, from 128 KiB to 4 GiB − 16 MiB. */
  size: number;
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
  size: number;
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
  durability: Durability;
  size: number;
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
const FIRST_INTERNAL_TYPE = 0xffff_0000;

function pickBackend(opts: PoolOptions, size: number | null, image?: Uint8Array): Backend {
  if (typeof opts.backend === 'object') return opts.backend;
  const kind: BackendKind = opts.backend ?? (opts.path ? defaultPathBackend : 'memory');
  if (kind === 'memory') {
    if (image) return new MemoryBackend(recordedPoolSize(image, image.length, 'the image'), opts.durability ?? 'os', image);
    if (size === null) throw new UnsupportedOperationError('opening a memory pool needs `image`');
    return new MemoryBackend(size, opts.durability ?? 'os');
  }
  const opener = openers.get(kind);
  if (!opener) throw new UnsupportedOperationError(`backend '${kind}' is not available in this environment`);
  if (!opts.path) throw new UnsupportedOperationError(`backend '${kind}' needs a path`);
  const durability = opts.durability ?? 'fsync';
  return size === null ? opener.open(opts.path, durability) : opener.create(opts.path, size, durability);
}

export class Pool {
  private core: CoreExports;
  private memory: WebAssembly.Memory;
  private backend: Backend;
  private bytes: Uint8Array;
  private view: DataView;
  private closed = false;
  /** The pool file, if any (also names the pool in error messages). */
  private path: string | undefined;
  private layout: string;
  private readonly debug: boolean;
  private recoveryMs = 0;
  private readonly txHandle: Tx;

  private constructor(backend: Backend, layout: string, path: string | undefined, debug: boolean) {
    this.backend = backend;
    this.layout = layout;
    this.path = path;
    this.debug = debug;
    this.memory = poolMemory(backend.size);
    backend.attach(this.memory, POOL_BASE);
    this.core = instantiateCore(this.memory, (ranges, count, final) => this.backend.drain(ranges, count, final), debug);
    this.bytes = new Uint8Array(this.memory.buffer, POOL_BASE, backend.size);
    this.view = new DataView(this.memory.buffer, POOL_BASE, backend.size);
    this.txHandle = new Tx(this);
  }

  private writeLayout(layout: Uint8Array): void {
    const scratch = this.core.scratch();
    const mem = new Uint8Array(this.memory.buffer);
    mem.fill(0, scratch, scratch + 64);
    mem.set(layout, scratch);
  }

  /** Create a new pool. With `path`, the file must not exist yet. */
  static create(opts: CreateOptions): Pool {
    checkPoolSize(opts.size);
    const layout = encodeLayout(opts.layout);
    const backend = pickBackend(opts, opts.size);
    const pool = new Pool(backend, opts.layout, opts.path, opts.debug ?? DEFAULT_DEBUG);
    try {
      pool.writeLayout(layout);
      const uuid = new Uint8Array(pool.memory.buffer, pool.core.scratch() + 64, 16);
      if (opts.seed !== undefined) new Prng(opts.seed).bytes(uuid);
      else globalThis.crypto.getRandomValues(uuid);
      pool.check0(pool.core.createPool(opts.size, layout.length));
      backend.finishCreate?.();
    } catch (e) {
      backend.close(false);
      throw e;
    }
    return pool;
  }

  /** Open an existing pool, running recovery. Nothing is written unless the pool validates. */
  static open(opts: OpenOptions): Pool {
    const layout = encodeLayout(opts.layout);
    const backend = pickBackend(opts, null, opts.image);
    let pool: Pool;
    try {
      const old = opts.recycle;
      if (old && old.closed && old.backend.size === backend.size && old.debug === (opts.debug ?? DEFAULT_DEBUG)) {
        pool = old;
        pool.backend = backend;
        pool.layout = opts.layout;
        pool.path = opts.path;
        pool.closed = false;
        backend.attach(pool.memory, POOL_BASE);
      } else {
        pool = new Pool(backend, opts.layout, opts.path, opts.debug ?? DEFAULT_DEBUG);
      }
      pool.writeLayout(layout);
      const t0 = performance.now();
      pool.check0(pool.core.openPool(backend.size, layout.length));
      pool.recoveryMs = performance.now() - t0;
    } catch (e) {
      backend.close(false);
      throw e;
    }
    return pool;
  }

  // ─── guards ──────────────────────────────────────────────────────────────

  private check0(code: number, off?: number): void {
    if (code !== 0) throw errorForCode(code, { what: this.path ?? 'the memory pool', layout: this.layout, off, damage: this.core.damageOffset() });
  }

  private live(): CoreExports {
    if (this.closed) throw new PoolClosedError();
    return this.core;
  }

  private inPool(off: number, len: number): void {
    this.live();
    if (!Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len < 0 || off + len > this.backend.size) {
      throw new OffsetError(`range [${off}, ${off}+${len}) is outside the pool (size ${this.backend.size})`);
    }
  }

  private writable(off: number, len: number): void {
    this.inPool(off, len);
    if (len > 0 && !this.core.rangeWritable(off, len)) {
      throw new OffsetError(`range [${off}, ${off}+${len}) is not inside one live object: stores may only go into objects`);
    }
  }

  private result(off: number, ctxOff?: number): number {
    if (off === 0) this.check0(this.core.lastError(), ctxOff);
    return off;
  }

  // ─── lifecycle ───────────────────────────────────────────────────────────

  /** Close the pool: drains nothing more (un-drained stores are not durable), releases the file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.backend.close(true);
  }

  get isClosed(): boolean { return this.closed; }
  get size(): number { return this.backend.size; }

  info(): PoolInfo {
    this.live();
    const b = this.backend;
    return { backend: b.kind, isPmem: b.isPmem, durability: b.durability, size: b.size, ...(this.path ? { path: this.path } : {}) };
  }

  /**
   * The root object: created zeroed on first use, grown when asked for more
   * (old bytes kept, new bytes zeroed; it may move). Not inside a transaction.
   */
  root(size: number): number {
    this.live();
    if (!Number.isInteger(size) || size <= 0) throw new InvalidSizeError(`root size ${size} must be a positive integer`);
    return this.result(this.core.root(size));
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

  writeU8(off: number, v: number): void { this.writable(off, 1); this.bytes[off] = v; }
  writeU16(off: number, v: number): void { this.writable(off, 2); this.view.setUint16(off, v, true); }
  writeU32(off: number, v: number): void { this.writable(off, 4); this.view.setUint32(off, v, true); }
  writeI32(off: number, v: number): void { this.writable(off, 4); this.view.setInt32(off, v, true); }
  writeU64(off: number, v: bigint): void { this.writable(off, 8); this.view.setBigUint64(off, v, true); }
  writeF64(off: number, v: number): void { this.writable(off, 8); this.view.setFloat64(off, v, true); }
  writeBytes(off: number, data: Uint8Array): void { this.writable(off, data.length); this.bytes.set(data, off); }

  // ─── the flush model ─────────────────────────────────────────────────────

  /** CLWB: mark the lines of [off, off+len) pending. */
  flush(off: number, len: number): void { this.inPool(off, len); this.core.flush(off, len); }
  /** SFENCE: make every pending line durable (one backend call). */
  drain(): void { this.live().drain(); }
  /** flush + drain. */
  persist(off: number, len: number): void { this.inPool(off, len); this.core.persist(off, len); }

  // ─── the allocator ───────────────────────────────────────────────────────

  /**
   * Allocate `size` bytes. Outside a transaction the object is durable on
   * return; with `into`, the offset is stored there atomically with the
   * allocation (after a crash: both or neither). Inside a transaction it
   * becomes durable at commit and vanishes on abort.
   */
  alloc(size: number, opts: AllocOptions = {}): number {
    const core = this.live();
    if (!Number.isInteger(size) || size <= 0 || size > this.backend.size) throw new InvalidSizeError(`allocation size ${size} must be a positive integer no larger than the pool`);
    const type = opts.type ?? 0;
    if (!Number.isInteger(type) || type < 0 || type >= FIRST_INTERNAL_TYPE) throw new BadTypeError();
    const into = opts.into ?? 0;
    if (into !== 0) this.inPool(into, 4);
    const flags = (opts.zero ? 1 : 0) | (opts.align64 ? 2 : 0);
    return this.result(core.alloc(size, type, flags, into), into);
  }

  /** Free a live object; with `from`, clear that u32 pointer atomically with the free. */
  free(off: number, opts: { from?: number } = {}): void {
    const core = this.live();
    const from = opts.from ?? 0;
    if (from !== 0) this.inPool(from, 4);
    if (!Number.isInteger(off) || off < 0) throw new OffsetError(`offset ${off} is not a pool offset`);
    this.check0(core.free(off, from), off);
  }

  /** Resize (old bytes kept, new bytes zeroed); may move. With `into`, publish the new offset atomically. */
  realloc(off: number, size: number, opts: { into?: number } = {}): number {
    const core = this.live();
    if (!Number.isInteger(size) || size <= 0 || size > this.backend.size) throw new InvalidSizeError(`size ${size} must be a positive integer no larger than the pool`);
    const into = opts.into ?? 0;
    if (into !== 0) this.inPool(into, 4);
    if (!Number.isInteger(off) || off < 0) throw new OffsetError(`offset ${off} is not a pool offset`);
    return this.result(core.realloc(off, size, into), off);
  }

  /** Bytes usable at `off` (>= the size asked for). */
  usableSize(off: number): number { this.live(); return this.result(this.core.usableSize(off), off); }
  /** Type number of the live object at `off`. */
  typeOf(off: number): number { this.liveObject(off); return this.core.objectType(off) >>> 0; }
  /** Size asked for when the object at `off` was allocated (or last resized). */
  sizeOf(off: number): number { this.liveObject(off); return this.core.objectDataLen(off); }
  /** Is `off` the start of a live object? */
  isLive(off: number): boolean { this.live(); return Number.isInteger(off) && off >= 0 && off < this.backend.size && this.core.isLive(off) !== 0; }

  private liveObject(off: number): void {
    if (!this.isLive(off)) this.check0(8 /* NOT_LIVE */, off);
  }

  /** Live objects in address order; all of them, or those of one type. */
  *objects(type?: number): IterableIterator<number> {
    const t = type === undefined ? TYPE_ANY : type;
    for (let off = this.live().nextObject(0, t); off !== 0; off = this.live().nextObject(off, t)) yield off;
  }

  // ─── transactions ────────────────────────────────────────────────────────

  /**
   * Run `fn` in a transaction: commit when it returns, abort (restoring every
   * snapshotted range) and rethrow when it throws. Nested calls flatten into
   * the outermost transaction. `fn` must be synchronous.
   */
  tx<T>(fn: (tx: Tx) => T): T {
    const core = this.live();
    this.check0(core.txBegin());
    let out: T;
    try {
      out = fn(this.txHandle);
      if (out instanceof Promise) throw new TxStateError('transaction functions must be synchronous (a Promise was returned)');
    } catch (e) {
      if (!this.closed && core.txDepth() > 0) core.txAbort();
      throw e;
    }
    if (!this.closed) this.check0(core.txCommit()); // closed: fn crashed the pool on purpose
    return out;
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
  beginTx(): void { this.check0(this.live().txBegin()); }
  /** Commit the transaction begun by beginTx (an inner level commits nothing). */
  commitTx(): void { this.check0(this.live().txCommit()); }
  /** Abort: restore every snapshot of the whole transaction. */
  abortTx(): void { this.check0(this.live().txAbort()); }

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
      size: this.backend.size,
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
    const core = this.live();
    const n = core.collectPending();
    if (n < 0) throw new UnsupportedOperationError('more than 65536 separate ranges of lines are pending: drain before simulating a crash');
    return linesOfRanges(new Uint32Array(this.memory.buffer, core.drainRanges(), 2 * n), n);
  }

  /** The image a crash right now would leave (see crash/modes.ts). Changes nothing. */
  crashImage(opts: CrashOptions): Uint8Array {
    this.live();
    if (!this.backend.durableImage) throw new UnsupportedOperationError(`crash simulation needs a copy-style backend (memory, file, opfs), not '${this.backend.kind}': a live mapping has no separate durable image`);
    return crashImage(this.backend.durableImage(), this.bytes, this.pendingLines(), opts);
  }

  /**
   * Crash now: the pool is abandoned as if the process died, its durable
   * storage becomes the crash image, and the pool is reopened (running
   * recovery). Returns the reopened pool; this one is closed.
   */
  crash(opts: CrashOptions): Pool {
    const image = this.crashImage(opts);
    const backend = this.backend;
    this.closed = true;
    if (backend.kind === 'memory') {
      backend.close(false);
      return Pool.open({ image, layout: this.layout, durability: backend.durability, debug: this.debug });
    }
    backend.replaceDurableImage!(image);
    backend.close(false);
    return Pool.open({ path: this.path, backend: backend.kind, layout: this.layout, durability: backend.durability, debug: this.debug });
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
 */
export class Tx {
  constructor(private readonly pool: Pool) {}
  /** Snapshot a range you are about to modify with raw stores. */
  addRange(off: number, len: number): void { this.pool.addRange(off, len); }
  setU8(off: number, v: number): void { this.pool.addRange(off, 1); this.pool.writeU8(off, v); }
  setU16(off: number, v: number): void { this.pool.addRange(off, 2); this.pool.writeU16(off, v); }
  setU32(off: number, v: number): void { this.pool.addRange(off, 4); this.pool.writeU32(off, v); }
  setI32(off: number, v: number): void { this.pool.addRange(off, 4); this.pool.writeI32(off, v); }
  setU64(off: number, v: bigint): void { this.pool.addRange(off, 8); this.pool.writeU64(off, v); }
  setF64(off: number, v: number): void { this.pool.addRange(off, 8); this.pool.writeF64(off, v); }
  setBytes(off: number, data: Uint8Array): void { this.pool.addRange(off, data.length); this.pool.writeBytes(off, data); }
  /** Allocate inside the transaction (durable at commit, gone on abort). */
  alloc(size: number, opts?: AllocOptions): number { return this.pool.alloc(size, opts); }
  /** Free inside the transaction (takes effect at commit). */
  free(off: number, opts?: { from?: number }): void { this.pool.free(off, opts); }
  realloc(off: number, size: number, opts?: { into?: number }): number { return this.pool.realloc(off, size, opts); }
}
