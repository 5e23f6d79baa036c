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
export const LAYOUT_MAX = 63;
