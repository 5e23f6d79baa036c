// mapped.ts — the fast Node backend on Linux: the pool file is mapped
// straight over the pool region of WebAssembly linear memory.
//
// `attach` replaces [base, base + size) of `memory.buffer` with a
// MAP_SHARED|MAP_FIXED mapping of the file through the native shim
// (native/pheap_mmap.c, typed in native.ts). From then on every store the
// WASM core makes is a store into the file's page: in the page cache, or the
// persistent memory itself when the file is on DAX (MAP_SYNC accepted, so
// `isPmem`). Open is O(1) in the pool size: pages fault in when touched.
//
// A drain:
//   durability 'fsync' on DAX    → one native call: CLWB/CLFLUSHOPT/CLFLUSH per
//                                  line, then SFENCE (shim mode 0), no syscall
//   durability 'fsync' otherwise → one native call: msync(MS_SYNC) of the
//                                  touched pages (mode 1)
//   'os' and 'none'              → no native call: the stores are already in
//                                  the page cache (or pmem), which outlives the
//                                  process. (Shim mode 2 would do nothing, but
//                                  an N-API call costs ~80–140 ns and a small
//                                  transaction drains 3 times: calling it made
//                                  'os' transactions 3–4× slower than the
//                                  memory backend. See docs/mapped.md.)
// The native drain only acts on a mapping it recorded at exactly
// buffer + base, so it refuses rather than flush a wrong address.
//
// The guard: the mapping is bound to the address of the memory's backing
// store. The memory grows only when the pool does (grow(), which maps the
// file again itself); still, every drain checks that `memory.buffer` is the very
// ArrayBuffer whose address was recorded at attach. An attached ArrayBuffer's
// store never moves, and growing detaches it and makes a new one, so a new
// buffer object is exactly the case where the store may have moved: then the
// address is read again (native `address`), and if it changed the file is
// mapped again over the new store, or a MappedBackendError says why not.
// Stores made through the old mapping already went to the file.
//
// There is no separate durable image: crash simulation needs a copy-style
// backend (memory, file), and Pool says so with an UnsupportedOperationError.
//
// create/open follow FileBackend: the same lock and atomic create, the same header
// validation before anything is mapped, the same typed errors. close unmaps
// (anonymous zero pages go back, so a recycled memory never writes into this
// file again) and releases the lock.

import * as fs from 'node:fs';
import type { Backend, Durability } from './backend.js';
import { PheapError, UnsupportedOperationError } from '../errors.js';
import { createPoolFile, extendPoolFile, openPoolFile, type PoolFile } from './poolfile.js';
import { DrainMode, nativeStatus, type NativeMmap } from './native.js';

/**
 * The backing store of a mapped pool's memory moved and the file could not be
 * mapped over the new one; or the shim refused to map/drain/unmap. Nothing was
 * written through a wrong address.
 */
export class MappedBackendError extends PheapError {
  constructor(message: string) { super('ERR_MAPPED', message); }
}

/** The native shim, or an UnsupportedOperationError naming why it is missing. */
export function requireNative(): NativeMmap {
  const st = nativeStatus();
  if (!st.native) throw new UnsupportedOperationError(`the mapped backend needs the native mmap shim: ${st.reason}`);
  return st.native;
}

export class MappedBackend implements Backend {
  /** The mapping is the cache: the kernel (or the CPU, on pmem) may write any dirty line back at any time. */
  readonly evicts = true;
  readonly kind = 'mapped' as const;
  private pmem = false;
  private memory: WebAssembly.Memory | null = null;
  private buffer: ArrayBuffer | null = null;
  private base = 0;
  /** Address of the backing store when the file was mapped; 0n when not mapped. */
  private address = 0n;
  private mode: DrainMode = DrainMode.none;
  private closed = false;

  private constructor(readonly path: string, private fd: number, private bytes: number,
    readonly durability: Durability, private unlock: () => void, private readonly native: NativeMmap,
    private readonly publish?: PoolFile['finishCreate']) {}

  /** The pool's committed size: the mapped length (bytes past it, an interrupted growth, are not mapped). */
  get size(): number { return this.bytes; }

  /**
   * Zeros written over [from, to) of the file (blocks reserved: a mapped
   * page of a sparse file on a full disk would fault), synced at 'fsync',
   * then the whole file is mapped again over the grown memory (MAP_FIXED
   * replaces the old mapping; its stores are already in the file's pages).
   */
  grow(memory: WebAssembly.Memory, base: number, from: number, to: number): void {
    extendPoolFile(this.fd, this.path, from, to, this.durability === 'fsync');
    this.mapOnto(memory, base, to);
    this.bytes = to;
  }

  /** True when the file is on DAX (the MAP_SYNC mapping succeeded). Known after attach. */
  get isPmem(): boolean { return this.pmem; }

  /**
   * Create a new pool of `size` bytes (zero-filled, sparse) under a temp name
   * beside `path`: exclusive create, ftruncate, lock; `finishCreate`
   * publishes it at `path`. Throws PoolExistsError if it exists.
   */
  static create(path: string, size: number, durability: Durability, native: NativeMmap = requireNative()): MappedBackend {
    const f = createPoolFile(path, size);
    return new MappedBackend(path, f.fd, f.size, durability, f.unlock, native, f.finishCreate);
  }

  /** Publish a new pool at `path` (see Backend). Its stores are already in the file's pages. */
  finishCreate(): void {
    this.publish?.(this.durability === 'fsync');
  }

  /** Open an existing pool file; validates magic, recorded size and file length before anything is mapped. */
  static open(path: string, durability: Durability, native: NativeMmap = requireNative()): MappedBackend {
    const f = openPoolFile(path);
    return new MappedBackend(path, f.fd, f.size, durability, f.unlock, native);
  }

  attach(memory: WebAssembly.Memory, base: number): void {
    if (this.closed) throw new MappedBackendError(`${this.path}: the mapped backend is closed`);
    if (this.memory) throw new MappedBackendError(`${this.path}: the mapped backend is already attached to a memory`);
    try {
      this.mapOnto(memory, base);
    } catch (e) {
      // Pool.create does not close a backend whose attach failed; leave
      // nothing behind (no lock; releasing a new pool removes its temp file).
      this.release();
      throw e;
    }
  }

  /** Map the first `size` bytes of the file over [base, base + size) of the memory (replacing any mapping there). */
  private mapOnto(memory: WebAssembly.Memory, base: number, size = this.bytes): void {
    const buffer = memory.buffer;
    if (base + size > buffer.byteLength) {
      throw new MappedBackendError(`${this.path}: the memory holds ${buffer.byteLength} bytes, too few to map the ${size}-byte pool at ${base}`);
    }
    let isPmem: boolean;
    try {
      ({ isPmem } = this.native.map(buffer, base, size, this.fd, true));
    } catch (e) {
      throw new MappedBackendError(`${this.path}: could not map the pool into linear memory: ${(e as Error).message}`);
    }
    this.memory = memory;
    this.buffer = buffer;
    this.base = base;
    this.address = this.native.address(buffer);
    this.pmem = isPmem;
    this.mode = this.durability !== 'fsync' ? DrainMode.none : isPmem ? DrainMode.dax : DrainMode.msync;
  }

  /**
   * The guard (see the top of this file): the buffer whose store address was
   * recorded is still the memory's buffer; else re-read the address, and map
   * the file again if the store moved (its pages already hold every store
   * made through the old mapping), or refuse.
   */
  private checkAddress(): ArrayBuffer {
    const memory = this.memory;
    if (!memory) throw new MappedBackendError(`${this.path}: the mapped backend is ${this.closed ? 'closed' : 'not attached to a memory'}`);
    const buffer = memory.buffer;
    if (buffer === this.buffer) return buffer;
    const now = this.native.address(buffer);
    if (now === this.address) {
      this.buffer = buffer; // grown in place: the mapping is where it was
      return buffer;
    }
    const was = this.address;
    try {
      this.mapOnto(memory, this.base);
    } catch (e) {
      this.address = 0n;
      this.buffer = null;
      throw new MappedBackendError(
        `${this.path}: the memory's backing store moved (0x${was.toString(16)} → 0x${now.toString(16)}) and the pool could not be mapped again; ` +
        `stores since the last drain may be lost: ${(e as Error).message}`);
    }
    return this.buffer!;
  }

  drain(ranges: Uint32Array, count: number, _final: boolean): void {
    const buffer = this.checkAddress();
    if (this.mode === DrainMode.none) return;
    try {
      this.native.drain(buffer, this.base, ranges, count, this.mode);
    } catch (e) {
      throw new MappedBackendError(`${this.path}: drain failed: ${(e as Error).message}`);
    }
  }

  /** Which drain mode this backend uses (0 DAX, 1 msync, 2 nothing). */
  get drainMode(): DrainMode { return this.mode; }

  close(_flushVolatile: boolean): void {
    if (this.closed) return;
    this.closed = true;
    // Un-drained stores are already in the file's pages; the kernel writes
    // them back in its own time, as caches evict lines on their own.
    let err: unknown = null;
    if (this.memory) {
      try {
        const buffer = this.memory.buffer;
        if (this.native.address(buffer) === this.address) this.native.unmap(buffer, this.base, this.size);
        // else: the store moved and took the old mapping with it; nothing of ours is left to unmap.
      } catch (e) {
        err = e;
      }
    }
    this.release();
    if (err) throw new MappedBackendError(`${this.path}: could not unmap the pool: ${(err as Error).message}`);
  }

  private release(): void {
    this.closed = true;
    this.memory = null;
    this.buffer = null;
    this.address = 0n;
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
      this.unlock();
    }
  }
}
