// backend.ts — the one interface every durable store implements.
//
// A backend owns the durable image of one pool and nothing else: it never
// interprets pool contents. The host creates the WebAssembly.Memory, asks the
// backend to place the image at [base, base + size) (copy it in, or map it),
// and from then on calls `drain` once per core drain with the lines that must
// become durable. Which lines, and when, is the core's business (flush.ts).

/** How far a drain reaches. See docs/durability.md. */
export type Durability = 'fsync' | 'os' | 'none';

export type BackendKind = 'memory' | 'file' | 'mapped' | 'opfs';

export interface Backend {
  readonly kind: BackendKind;
  readonly durability: Durability;
  /** Bytes of storage the backend places in memory: the pool's size, or more (an image with room to grow). Changes only by `grow`. */
  readonly size: number;
  /** True when the durable image is byte-addressable persistent memory (DAX + MAP_SYNC). */
  readonly isPmem: boolean;
  /**
   * Can a stored line reach the durable image without a drain — a cache that
   * writes lines back on its own (docs/durability.md, "eviction")? True for
   * a mapping (pmem, or the page cache under a mapped file); false where
   * only drains write (file, OPFS, memory by default). When false the core
   * defers its undo-log drains (a commit costs 3 drains whatever it
   * snapshots), and the crash modes that need eviction (evict, tear8, eadr)
   * cannot happen.
   */
  readonly evicts: boolean;
  /** Place the durable image in `memory` at [base, base + size): copy it in, or map it. */
  attach(memory: WebAssembly.Memory, base: number): void;
  /**
   * Make lines durable. `ranges` holds `count` pairs (firstLine, lineCount) of
   * pool-relative 64-byte lines, sorted and non-overlapping. `final` is false
   * only when the core had to split one huge drain into batches.
   */
  drain(ranges: Uint32Array, count: number, final: boolean): void;
  /**
   * The pool grows from `from` to `to` bytes (the core asked for room, and
   * `memory` has already grown to hold it, [from, to) zeros): make [from, to) durable zeros,
   * extending the storage first if it is shorter — reserving the space
   * where the store can (a file is written, not left sparse, so a full disk
   * is found here rather than at a later drain) — then place the new bytes
   * in memory (views of `memory.buffer` are made again: growing the memory
   * replaced it — on failure too, before throwing). Throws, with storage
   * and size as they were, if the space cannot be had. Backends without it
   * cannot grow.
   */
  grow?(memory: WebAssembly.Memory, base: number, from: number, to: number): void;
  /** A copy of the current durable image (copy-style backends only: memory, file, opfs). */
  durableImage?(): Uint8Array;
  /** Replace the durable image wholesale (crash simulation on copy-style backends). */
  replaceDurableImage?(image: Uint8Array): void;
  /**
   * New pools only, called by Pool.create once the core has formatted the
   * pool: make it appear under its name atomically (file, mapped: the pool
   * was built under a temp name beside it). Until then a kill leaves no pool
   * at the name, and `close` abandons the new pool. Throws PoolExistsError if
   * the name was taken meanwhile. Backends without names leave it out.
   */
  finishCreate?(): void;
  /** Release the store. After a simulated crash `flushVolatile` is false: nothing more is written. */
  close(flushVolatile: boolean): void;
}

/** Cache-line geometry of the flush model. */
export const LINE_SHIFT = 6;
export const LINE_BYTES = 64;

/**
 * Call `fn(offset, length)` in bytes for each (firstLine, lineCount) pair of
 * a drain. Multiplies rather than shifts: offsets reach 4 GiB, past int32.
 */
export function forEachRange(ranges: Uint32Array, count: number, fn: (off: number, len: number) => void): void {
  for (let i = 0; i < count; i++) fn(ranges[2 * i] * LINE_BYTES, ranges[2 * i + 1] * LINE_BYTES);
}
