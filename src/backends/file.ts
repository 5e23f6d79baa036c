// file.ts — the portable Node backend: linear memory is the cache, the file
// is the durable image.
//
// Open reads the whole file straight into the pool region (no intermediate
// buffer). A drain writes each coalesced range with one pwrite from a view
// of linear memory, then fdatasync when durability is 'fsync'; 'os' stops at
// the page cache; 'none' writes nothing until close. The file is exactly the
// pool: the same bytes as the memory backend's image for the same workload.
// A new pool is built under a temp name beside its path and appears there,
// complete, only at `finishCreate` (poolfile.ts).

import * as fs from 'node:fs';
import type { Backend, Durability } from './backend.js';
import { forEachRange } from './backend.js';
import { TruncatedPoolError } from '../errors.js';
import { createPoolFile, extendPoolFile, openPoolFile, type PoolFile } from './poolfile.js';

export class FileBackend implements Backend {
  /** Only drains write the file (pwrite from linear memory). */
  readonly evicts = false;
  readonly kind = 'file' as const;
  readonly isPmem = false;
  private cache: Uint8Array | null = null;
  private closed = false;

  private constructor(readonly path: string, private fd: number, private bytes: number,
    readonly durability: Durability, private unlock: () => void, private fresh: boolean,
    private readonly publish?: PoolFile['finishCreate']) {}

  /** The pool's committed size: bytes past it (an interrupted growth) are not read. */
  get size(): number { return this.bytes; }

  /**
   * Create a new pool of `size` bytes (zero-filled, sparse), under a temp name
   * until `finishCreate` publishes it at `path`. Throws PoolExistsError if it exists.
   */
  static create(path: string, size: number, durability: Durability): FileBackend {
    const f = createPoolFile(path, size);
    return new FileBackend(path, f.fd, f.size, durability, f.unlock, true, f.finishCreate);
  }

  /** Open an existing pool file; validates what the host must know before the core runs. */
  static open(path: string, durability: Durability): FileBackend {
    const f = openPoolFile(path);
    return new FileBackend(path, f.fd, f.size, durability, f.unlock, false);
  }

  /** Publish a new pool at `path` (see Backend); with durability 'none' its image is written first. */
  finishCreate(): void {
    if (!this.publish) return;
    if (this.durability === 'none' && this.cache) fs.writeSync(this.fd, this.cache, 0, this.size, 0);
    this.publish(this.durability === 'fsync');
  }

  attach(memory: WebAssembly.Memory, base: number): void {
    this.cache = new Uint8Array(memory.buffer, base, this.size);
    if (this.fresh) return; // a new file is all zeroes, like fresh memory
    let done = 0;
    while (done < this.size) {
      const n = fs.readSync(this.fd, this.cache, done, this.size - done, done);
      if (n === 0) throw new TruncatedPoolError(this.path, done, this.size);
      done += n;
    }
  }

  /** Zeros written over [from, to) of the file (and synced at 'fsync'); the memory's new bytes are zeros already (Backend.grow). */
  grow(memory: WebAssembly.Memory, base: number, from: number, to: number): void {
    this.cache = new Uint8Array(memory.buffer, base, this.bytes); // the memory grew: its old buffer is detached
    extendPoolFile(this.fd, this.path, from, to, this.durability === 'fsync');
    this.bytes = to;
    this.cache = new Uint8Array(memory.buffer, base, to);
  }

  drain(ranges: Uint32Array, count: number, final: boolean): void {
    if (this.durability === 'none') return;
    const cache = this.cache!;
    forEachRange(ranges, count, (off, len) => fs.writeSync(this.fd, cache, off, len, off));
    if (final && this.durability === 'fsync') fs.fdatasyncSync(this.fd);
  }

  durableImage(): Uint8Array {
    const out = new Uint8Array(this.size);
    fs.readSync(this.fd, out, 0, this.size, 0);
    return out;
  }

  replaceDurableImage(image: Uint8Array): void {
    fs.writeSync(this.fd, image, 0, image.length, 0);
    if (this.durability === 'fsync') fs.fdatasyncSync(this.fd);
  }

  close(flushVolatile: boolean): void {
    if (this.closed) return;
    this.closed = true;
    // With 'none', nothing reached the file yet: a clean close writes the image.
    if (flushVolatile && this.durability === 'none' && this.cache) fs.writeSync(this.fd, this.cache, 0, this.size, 0);
    fs.closeSync(this.fd);
    this.cache = null;
    this.unlock();
  }
}
