// opfs.ts — the browser backend: the durable image is a file in the origin
// private file system (OPFS), written through a FileSystemSyncAccessHandle.
//
// Copy-style, like the file backend: linear memory is the cache, the OPFS
// file is the durable image. Open reads the file straight into the pool
// region; a drain writes each coalesced range with one `write(view, {at})`
// from a view of linear memory, then `flush()` when durability is 'fsync'
// ('os' stops after the writes: they survive a tab crash; 'none' writes
// nothing until a clean close). Sync access handles exist only in dedicated
// Workers, and a file has at most one: that exclusive lock is how a second
// tab (or worker) is told "pool is open elsewhere".
//
// The handle is opened asynchronously (OpfsBackend.create/open); everything
// after that — attach, drain, durableImage — is synchronous, as the Backend
// interface requires. Pool files are byte-identical to the Node file
// backend's: import one, open it, export it back.

import type { Backend, Durability } from './backend.js';
import { forEachRange } from './backend.js';
import { HEADER_SIZE } from '../layout.js';
import { recordedPoolSize } from '../format.js';
import {
  PoolExistsError, PoolLockedError, PoolNotFoundError, QuotaError, StorageUnavailableError, TruncatedPoolError,
  UnsupportedOperationError,
} from '../errors.js';

/** The parts of FileSystemSyncAccessHandle used here (it is not in TypeScript's DOM lib). */
export interface SyncAccessHandle {
  read(buffer: ArrayBufferView, opts?: { at?: number }): number;
  write(buffer: ArrayBufferView, opts?: { at?: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

interface SyncFileHandle extends FileSystemFileHandle {
  createSyncAccessHandle(): Promise<SyncAccessHandle>;
}

/** The OPFS folder pools live in. */
export const OPFS_DIR = 'pheap';

/** Pool names are plain file names inside the pool folder. */
export function checkPoolName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200 || /[/\\\0]/.test(name) || name === '.' || name === '..') {
    throw new UnsupportedOperationError(`"${name}" is not a valid pool name: use 1-200 characters, no slashes`);
  }
}

function errName(e: unknown): string {
  return (e as { name?: string } | null)?.name ?? '';
}

/** The OPFS folder holding the pools, or a typed error saying why OPFS cannot be used. */
export async function poolDirectory(): Promise<FileSystemDirectoryHandle> {
  const g = globalThis as { isSecureContext?: boolean; navigator?: Navigator; location?: Location };
  if (g.isSecureContext === false || g.location?.protocol === 'file:') {
    throw new StorageUnavailableError(`this page is not a secure context (${g.location?.protocol ?? 'unknown'} origin)`);
  }
  if (!g.navigator?.storage?.getDirectory) throw new StorageUnavailableError('navigator.storage.getDirectory is missing in this browser');
  let root: FileSystemDirectoryHandle;
  try {
    root = await g.navigator.storage.getDirectory();
  } catch (e) {
    throw new StorageUnavailableError(`the browser refused it (${errName(e) || String(e)}; private browsing blocks OPFS)`);
  }
  return root.getDirectoryHandle(OPFS_DIR, { create: true });
}

async function fileHandle(name: string, create: boolean): Promise<SyncFileHandle | null> {
  checkPoolName(name);
  const dir = await poolDirectory();
  try {
    return (await dir.getFileHandle(name, { create })) as SyncFileHandle;
  } catch (e) {
    if (errName(e) === 'NotFoundError') return null;
    if (errName(e) === 'TypeMismatchError') throw new UnsupportedOperationError(`OPFS entry "${name}" is a folder, not a pool file`);
    throw e;
  }
}

/** Open the exclusive sync handle; `waitMs` retries while another context still holds it (a reloading tab). */
async function syncHandle(file: SyncFileHandle, name: string, waitMs: number): Promise<SyncAccessHandle> {
  if (typeof file.createSyncAccessHandle !== 'function') {
    throw new StorageUnavailableError('createSyncAccessHandle() exists only in a dedicated Worker');
  }
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      return await file.createSyncAccessHandle();
    } catch (e) {
      const n = errName(e);
      if (n !== 'NoModificationAllowedError' && n !== 'InvalidStateError') throw e;
      if (Date.now() >= until) throw new PoolLockedError(name, 'another tab, window or worker holds its OPFS access handle');
      await new Promise((ok) => setTimeout(ok, 50));
    }
  }
}

function isQuota(e: unknown): boolean {
  return errName(e) === 'QuotaExceededError';
}

export interface OpfsOpenOptions {
  /** Keep retrying a locked pool for this long before PoolLockedError (default 0). */
  waitMs?: number;
}

export class OpfsBackend implements Backend {
  /** Only drains write the file (write() from linear memory). */
  readonly evicts = false;
  readonly kind = 'opfs' as const;
  readonly isPmem = false;
  private cache: Uint8Array | null = null;
  private closed = false;
  private abandoned = false;

  private constructor(readonly name: string, private handle: SyncAccessHandle, private bytes: number,
    readonly durability: Durability, private fresh: boolean) {}

  /** The pool's committed size (bytes past it, an interrupted growth, are not read). */
  get size(): number { return this.bytes; }

  /**
   * Zeros written over [from, to) of the file (truncate to `from` first
   * drops an interrupted growth's bytes, then truncate to `to` zero-fills),
   * flushed at 'fsync' (the memory's new bytes are zeros already). A quota is
   * QuotaError with the file's length as it was.
   */
  grow(memory: WebAssembly.Memory, base: number, from: number, to: number): void {
    this.cache = new Uint8Array(memory.buffer, base, this.bytes); // the memory grew: its old buffer is detached
    const length = this.handle.getSize();
    try {
      this.handle.truncate(from);
      this.handle.truncate(to);
      if (this.durability === 'fsync') this.handle.flush();
    } catch (e) {
      try { this.handle.truncate(Math.max(length, from)); } catch { /* report the first error */ }
      if (isQuota(e)) throw new QuotaError(`cannot grow pool "${this.name}" from ${from} to ${to} bytes`, to);
      throw e;
    }
    this.bytes = to;
    this.cache = new Uint8Array(memory.buffer, base, to);
  }

  /** Create a new pool file of `size` bytes. Throws PoolExistsError if one by that name exists. */
  static async create(name: string, size: number, durability: Durability = 'fsync', opts: OpfsOpenOptions = {}): Promise<OpfsBackend> {
    if (await fileHandle(name, false)) throw new PoolExistsError(name);
    const file = (await fileHandle(name, true))!;
    const handle = await syncHandle(file, name, opts.waitMs ?? 0);
    try {
      handle.truncate(size);
      if (durability === 'fsync') handle.flush();
    } catch (e) {
      handle.close();
      await removePool(name).catch(() => {});
      if (isQuota(e)) throw new QuotaError(`cannot create pool "${name}"`, size);
      throw e;
    }
    return new OpfsBackend(name, handle, size, durability, true);
  }

  /** Open an existing pool file; validates what the host must know before the core runs. */
  static async open(name: string, durability: Durability = 'fsync', opts: OpfsOpenOptions = {}): Promise<OpfsBackend> {
    const file = await fileHandle(name, false);
    if (!file) throw new PoolNotFoundError(name);
    const handle = await syncHandle(file, name, opts.waitMs ?? 0);
    try {
      const head = new Uint8Array(HEADER_SIZE);
      const got = handle.read(head, { at: 0 });
      const size = recordedPoolSize(head.subarray(0, got), handle.getSize(), `pool "${name}"`);
      return new OpfsBackend(name, handle, size, durability, false);
    } catch (e) {
      handle.close();
      throw e;
    }
  }

  attach(memory: WebAssembly.Memory, base: number): void {
    this.cache = new Uint8Array(memory.buffer, base, this.size);
    if (this.fresh) return; // a new file is all zeroes, like fresh memory
    let done = 0;
    while (done < this.size) {
      const n = this.handle.read(this.cache.subarray(done), { at: done });
      if (n === 0) throw new TruncatedPoolError(`pool "${this.name}"`, done, this.size);
      done += n;
    }
  }

  drain(ranges: Uint32Array, count: number, final: boolean): void {
    if (this.durability === 'none' || this.abandoned) return;
    const cache = this.cache!;
    forEachRange(ranges, count, (off, len) => this.handle.write(cache.subarray(off, off + len), { at: off }));
    if (final && this.durability === 'fsync') this.handle.flush();
  }

  durableImage(): Uint8Array {
    const out = new Uint8Array(this.size);
    let done = 0;
    while (done < this.size) {
      const n = this.handle.read(out.subarray(done), { at: done });
      if (n === 0) break;
      done += n;
    }
    return out;
  }

  replaceDurableImage(image: Uint8Array): void {
    this.handle.write(image, { at: 0 });
    this.handle.flush();
  }

  /**
   * From now on nothing more reaches the file, whatever close() is told:
   * used by a simulated crash, which then closes the pool normally.
   */
  abandon(): void { this.abandoned = true; }

  close(flushVolatile: boolean): void {
    if (this.closed) return;
    this.closed = true;
    try {
      // With 'none', nothing reached the file yet: a clean close writes the image.
      if (flushVolatile && !this.abandoned && this.durability === 'none' && this.cache) {
        this.handle.write(this.cache, { at: 0 });
        this.handle.flush();
      }
    } finally {
      this.handle.close();
      this.cache = null;
    }
  }
}

/** Names of the pool files in OPFS. */
export async function listPools(): Promise<string[]> {
  const dir = await poolDirectory();
  const out: string[] = [];
  for await (const [name, h] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
    if (h.kind === 'file') out.push(name);
  }
  return out.sort();
}

/** Delete a pool file (PoolLockedError while it is open somewhere). */
export async function removePool(name: string): Promise<boolean> {
  checkPoolName(name);
  const dir = await poolDirectory();
  try {
    await dir.removeEntry(name);
    return true;
  } catch (e) {
    if (errName(e) === 'NotFoundError') return false;
    if (errName(e) === 'NoModificationAllowedError' || errName(e) === 'InvalidModificationError') {
      throw new PoolLockedError(name, 'another tab, window or worker holds its OPFS access handle');
    }
    throw e;
  }
}

/**
 * Write `bytes` (a pool file, e.g. made by the Node file backend) as pool
 * `name`. The header is checked first (magic, checksum, size = length), so
 * nothing that is not a whole pool is stored. Replaces an existing closed pool
 * only with `replace`.
 */
export async function importPool(name: string, bytes: Uint8Array, opts: { replace?: boolean } & OpfsOpenOptions = {}): Promise<number> {
  const size = recordedPoolSize(bytes.subarray(0, HEADER_SIZE), bytes.length, `the imported file for "${name}"`);
  const existing = await fileHandle(name, false);
  if (existing && !opts.replace) throw new PoolExistsError(name);
  const file = existing ?? (await fileHandle(name, true))!;
  const handle = await syncHandle(file, name, opts.waitMs ?? 0);
  try {
    handle.truncate(0);
    handle.write(bytes, { at: 0 });
    handle.flush();
  } catch (e) {
    if (isQuota(e)) throw new QuotaError(`cannot import pool "${name}"`, bytes.length);
    throw e;
  } finally {
    handle.close();
  }
  return size;
}

/** The bytes of a closed pool file, exactly as stored. */
export async function exportPool(name: string, opts: OpfsOpenOptions = {}): Promise<Uint8Array> {
  const file = await fileHandle(name, false);
  if (!file) throw new PoolNotFoundError(name);
  const handle = await syncHandle(file, name, opts.waitMs ?? 0);
  try {
    const out = new Uint8Array(handle.getSize());
    let done = 0;
    while (done < out.length) {
      const n = handle.read(out.subarray(done), { at: done });
      if (n === 0) break;
      done += n;
    }
    return out;
  } finally {
    handle.close();
  }
}
