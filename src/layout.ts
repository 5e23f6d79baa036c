// layout.ts — the few core constants the host needs before the core runs.
//
// The host sizes the WebAssembly.Memory before instantiating the core, so it
// must know POOL_BASE and the size limits up front. test/runtime.test.ts
// proves these equal the core's own (assembly/layout.ts), test/format.test.ts
// the format version (assembly/format.ts).

/** Start of the pool in linear memory (64 KiB aligned). */
export const POOL_BASE = 0x0100_0000;
/** wasm32 linear memory is at most 4 GiB; the pool gets what lies above POOL_BASE. */
export const MAX_POOL_SIZE = 0x1_0000_0000 - POOL_BASE;
export const MIN_POOL_SIZE = 128 * 1024;
/** Pool sizes are whole heap chunks. */
export const CHUNK_SIZE = 64 * 1024;
export const HEADER_SIZE = 4096;
export const LINE_SIZE = 64;
export const WASM_PAGE = 64 * 1024;
/** Header fields the host reads before the core runs (see docs/format.md). */
export const MAGIC = 'PHEAPOOL';
/** The pool format this build writes and reads (assembly/format.ts FORMAT_VERSION). */
export const FORMAT_VERSION = 2;
export const HEADER_SIZE_FIELD = 0x18;
export const HEAP_OFFSET_FIELD = 0x40;
/** The grown word: 0, or the heap's chunk count (low half; the complement in the high half) after a growth. */
export const GROWN_FIELD = 0x110;
/** A pool's size when create() is given none (it grows from there). */
export const DEFAULT_POOL_SIZE = 1 << 20;
export const LAYOUT_MAX = 63;
