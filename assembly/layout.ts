// layout.ts — where everything lives in linear memory.
//
// The core owns one WebAssembly.Memory that the host creates (imported as
// env.memory) with at least POOL_BASE + poolSize bytes; when the pool grows
// the host grows the memory first (env.grow, table.ts).
// Everything below POOL_BASE is volatile (rebuilt at every open); everything
// from POOL_BASE up is the pool, byte for byte the pool file.
//
//   0x0000_0000 ┌──────────────────────────────┐
//               │ AS static data + capped      │ runtime heap traps past
//               │ runtime heap (unused)        │ RUNTIME_HEAP_LIMIT
//   0x0010_0000 ├──────────────────────────────┤
//               │ SCRATCH      host <-> core   │ layout name, uuid, stats
//               │ DRAIN_RANGES sorted ranges   │ handed to env.drain
//               │ PENDING_LIST flushed lines   │ in flush order
//               │ class tables, tx sets,       │
//               │ per-chunk volatile arrays    │
//   0x0060_0000 │ PENDING_BITMAP 1 bit/line    │ sized for the largest pool
//   0x00E0_0000 │ CHUNK_WORD_OFF u32/chunk     │ where each chunk word lives
//   0x00F8_0000 │ REGION_END u32/chunk         │ end of each chunk's region
//   0x0100_0000 ├──────────────────────────────┤ POOL_BASE (64 KiB aligned)
//               │ pool: header, chunk table,   │ pool-relative u32 offsets,
//               │ undo log, heap chunks        │ 0 = null
//   4 GiB       └──────────────────────────────┘
//
// Invariants: nothing in the core writes below POOL_BASE except into the
// regions named here; every region is fixed-size and bounded by its *_CAP.

/** Start of the pool in linear memory; a multiple of 64 KiB so it can be mmap'd over. */
export const POOL_BASE: usize = 0x0100_0000;
/** wasm32 caps linear memory at 4 GiB; the largest pool is what fits above POOL_BASE. */
export const MAX_POOL_SIZE: u64 = 0x1_0000_0000 - <u64>POOL_BASE;
/** Smallest pool: header page, chunk table, minimum log, one heap chunk. */
export const MIN_POOL_SIZE: u64 = 128 << 10;

/** The AS runtime heap may never grow past this address (see runtime/capped.ts). */
export const RUNTIME_HEAP_LIMIT: usize = 0x0010_0000;

export const SCRATCH: usize = 0x0010_0000;
export const SCRATCH_SIZE: usize = 0x1_0000;

/** Coalesced ranges handed to the host at a drain: pairs of (first line, line count). */
export const DRAIN_RANGES: usize = 0x0011_0000;
export const DRAIN_RANGES_CAP: u32 = 0x1_0000;

/** Lines flushed since the last drain, in flush order (duplicates filtered by the bitmap). */
export const PENDING_LIST: usize = 0x0019_0000;
export const PENDING_LIST_CAP: u32 = 0x1_0000;

/** Size-class tables (allocator). */
export const CLASS_STRIDE: usize = 0x001D_0000; // u32[MAX_CLASSES]
export const CLASS_SLOTS: usize = 0x001D_0100; // u32[MAX_CLASSES]
export const STRIDE_TO_CLASS: usize = 0x001D_0200; // u8[2049], by ceil(stride/16)
export const STRIDE_TO_CLASS64: usize = 0x001D_1000; // u8[2049], 64-byte aligned classes only
export const MAX_CLASSES: u32 = 64;

/** Transaction volatile state. */
export const TX_RANGES: usize = 0x001E_0000; // sorted disjoint [start,end) pairs already logged
export const TX_RANGES_CAP: u32 = 0x1_0000;
export const TX_ALLOCS: usize = 0x0026_0000; // u32 offsets allocated in the open tx
export const TX_FREES: usize = 0x002A_0000; // u32 offsets freed in the open tx (applied at commit)
export const TX_LIST_CAP: u32 = 0x1_0000;
export const TX_RESERVED: usize = 0x002E_0000; // open-addressing set of reserved slot offsets
export const TX_RESERVED_CAP: u32 = 0x2_0000; // power of two, >= 2 * TX_LIST_CAP
export const LOG_POSITIONS: usize = 0x0036_0000; // entry positions of one log block, for reverse rollback
export const LOG_POSITIONS_CAP: u32 = 0x1000; // a block of 64 KiB holds at most 2048 entries
export const LOG_BLOCK_FIRST: usize = 0x0036_4000; // u32 per log block (fixed area = 0): index of its first entry
export const EARLY_RANGES: usize = 0x0038_0000; // (first line, line count) pairs flushed with flushFirst, in flush order
export const EARLY_RANGES_CAP: u32 = 0x2000;
export const LOG_BLOCKS: usize = 0x003A_0000; // offsets of the log's blocks in chain order
export const LOG_BLOCKS_CAP: u32 = 0x4000;

/** Per-chunk volatile arrays (allocator), indexed by chunk number. */
export const MAX_CHUNKS: u32 = 0x1_0000;
export const CHUNK_LIVE: usize = 0x003B_0000; // u16: live + reserved slots of a loaded run
export const CHUNK_HINT: usize = 0x003D_0000; // u16: lowest slot that may be free
export const CHUNK_LOADED: usize = 0x003F_0000; // 1 bit per chunk: run counters loaded
export const EXTENT_LEN: usize = 0x0040_0000; // u32 at the first and last chunk of a free extent
export const EXTENT_NEXT: usize = 0x0044_0000; // u32 free-extent list links (chunk + 1, 0 = none)
export const EXTENT_PREV: usize = 0x0048_0000;
export const CLASS_NONFULL: usize = 0x004C_0000; // per class, 1 bit per chunk: run may have a free slot
export const CLASS_NONFULL_STRIDE: usize = MAX_CHUNKS >> 3;
export const CHUNK_OWNER: usize = 0x0054_0000; // u32: head chunk + 1 for the tail chunks of a large object
export const CLASS_SCAN: usize = 0x001D_2000;
export const TX_RESERVED_USED: usize = 0x0058_0000; // u32 addresses of TX_RESERVED cells written in this tx // u32 per class: first nonfull-bitmap word worth scanning

export const PENDING_BITMAP: usize = 0x0060_0000; // 1 bit per line of the largest pool: ends below 0x00E0_0000
export const CHUNK_WORD_OFF: usize = 0x00E0_0000; // u32 per chunk: pool offset of its chunk word (table.ts)
export const REGION_END: usize = 0x00F8_0000; // u32 per chunk: first chunk past its region (table.ts)

/** Cache-line geometry of the flush model. */
export const LINE_SHIFT: u32 = 6;
export const LINE_SIZE: u32 = 1 << LINE_SHIFT;

/** Absolute linear-memory address of a pool-relative offset. */
// @ts-ignore: decorator
@inline export function abs(off: u32): usize {
  return POOL_BASE + <usize>off;
}
