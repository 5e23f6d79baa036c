// memory.ts — the in-memory backend: the durable image is an ArrayBuffer.
//
// For tests, replay and crash exploration. A drain copies the drained lines
// from linear memory into the image; nothing else ever reaches it, so the
// image is exactly what a crash in `strict` mode would leave. Durability
// levels do not change its behaviour (it has no device); the level is kept
// only to label results.

import type { Backend, Durability } from './backend.js';
import { InvalidArgumentError } from '../errors.js';
import { LINE_BYTES } from './backend.js';

/** 32-bit words in a cache line. */
const LINE_WORDS = LINE_BYTES >>> 2;

export class MemoryBackend implements Backend {
  readonly kind = 'memory' as const;
  readonly isPmem = false;
  private bytes: number;
  protected image: Uint8Array;
  private imageWords: Int32Array;
  protected cache: Uint8Array | null = null;
  private cacheWords: Int32Array | null = null;

  /** Only drains write the image — unless built with `evicts: true`, to model pmem (see Backend.evicts). */
  readonly evicts: boolean;

  /**
   * A backend over `image` (used as is, not copied — unless it does not start
   * at a 4-byte boundary of its buffer, when drains need a copy they can view
   * as 32-bit words) or over a fresh zeroed image of `size` bytes.
   * `evicts: true` makes it model a cache that writes back on its own (pmem):
   * the core then makes log entries durable eagerly, and every crash mode applies.
   */
  constructor(size: number, readonly durability: Durability = 'os', image?: Uint8Array, opts: { evicts?: boolean } = {}) {
    if (opts.evicts !== undefined && typeof opts.evicts !== 'boolean') throw new InvalidArgumentError(`MemoryBackend: evicts must be true or false, not ${typeof opts.evicts}`);
    this.evicts = opts.evicts ?? false;
    this.bytes = size;
    this.image = image === undefined ? new Uint8Array(size) : image.byteOffset % 4 === 0 ? image : image.slice();
    this.imageWords = new Int32Array(this.image.buffer, this.image.byteOffset, size >>> 2);
  }

  get size(): number { return this.bytes; }

  attach(memory: WebAssembly.Memory, base: number): void {
    this.view(memory, base);
    this.cache!.set(this.image.subarray(0, this.size));
  }

  private view(memory: WebAssembly.Memory, base: number): void {
    this.cache = new Uint8Array(memory.buffer, base, this.size);
    this.cacheWords = new Int32Array(memory.buffer, base, this.size >>> 2);
  }

  /** The image grows (a copy: the pool's growth policy keeps that amortised O(1)); its new bytes are zeros, as the memory's are. */
  grow(memory: WebAssembly.Memory, base: number, from: number, to: number): void {
    if (to > this.image.length) {
      const image = new Uint8Array(to);
      image.set(this.image.subarray(0, from));
      this.image = image;
    } else {
      this.image.fill(0, from, to);
    }
    this.bytes = Math.max(this.bytes, to);
    this.imageWords = new Int32Array(this.image.buffer, this.image.byteOffset, this.bytes >>> 2);
    this.view(memory, base);
  }

  drain(ranges: Uint32Array, count: number, _final?: boolean): void {
    const words = this.cacheWords!, image = this.imageWords;
    // A plain loop over (first line, line count) pairs: drains are hot and
    // usually a few lines, where copying words beats subarray views.
    for (let i = 0; i < count; i++) {
      const w0 = ranges[2 * i] * LINE_WORDS, n = ranges[2 * i + 1] * LINE_WORDS;
      if (n <= 64) for (let w = w0, end = w0 + n; w < end; w++) image[w] = words[w];
      else image.set(words.subarray(w0, w0 + n), w0);
    }
  }

  durableImage(): Uint8Array {
    return this.image.slice(0, this.size);
  }

  replaceDurableImage(image: Uint8Array): void {
    this.image.set(image);
  }

  close(): void {
    this.cache = null;
    this.cacheWords = null;
  }
}
