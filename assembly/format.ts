// format.ts — the pool header: creation, validation, the mutable state words.
//
// Pool-relative layout (docs/format.md is the long form):
//
//   0x0000 ┌ header page (4 KiB) ─────────────────────────────────────┐
//          │ 0x000 magic "PHEAPOOL"   0x008 version  0x00C incompat   │
//          │ 0x010 compat  0x014 chunk shift  0x018 u64 pool size     │
//          │ 0x020 uuid[16]  0x030 table off  0x034 chunk count       │
//          │ 0x038 log off   0x03C log size   0x040 heap off          │
//          │ 0x080 layout name[64]            0x0F8 u64 checksum      │
//          │ 0x100 open-count word            0x108 root word         │
//          │ 0x110 grown word: heap chunk count after the last growth │
//          └ everything else in the page is zero ─────────────────────┘
//   0x1000   chunk table: one u64 per heap chunk        (heap.ts)
//   ...      undo log, up to heapOff                    (tx.ts)
//   heapOff  heap chunks of 64 KiB, heapOff 64 KiB aligned
//   ...      regions appended by growth (table.ts), each starting with
//            the chunk table of its own chunks
//
// Size: bytes [0x000, 0x0F8) describe the pool as created (its initial
// size); the geometry of table, log and heap is a pure function of it. A
// pool grows by whole regions appended at its end, and the grown word
// commits a growth: 0 means never grown (heapOff + the recorded chunk count
// is the size), else it holds the heap's chunk count, regions included.
// The pool's size is heapOff + chunk count × 64 KiB; storage may hold more
// (a growth that crashed before its commit), and those bytes are not read.
//
// Invariants: bytes [0x000, 0x0F8) are written once at creation and covered
// by the checksum. The three state words change after creation, each with one
// aligned 8-byte store that is failure-atomic; each carries its u32 value in
// the low half and the value's complement in the high half, so a torn or
// flipped state word is detected like a bad checksum. All other header bytes
// must be zero. Any violation is CORRUPT_HEADER: never trusted, never fixed.

import { Code } from "./errors";
import { hash64 } from "./hash";
import { MAX_POOL_SIZE, MIN_POOL_SIZE, SCRATCH, abs } from "./layout";
import { persist } from "./flush";
import { complementValid, complementWord } from "./checked";

export const MAGIC: u64 = 0x4C4F4F5041454850; // "PHEAPOOL" little-endian
export const FORMAT_VERSION: u32 = 2;
export const KNOWN_INCOMPAT: u32 = 0;

export const HEADER_SIZE: u32 = 0x1000;
export const CHUNK_SHIFT: u32 = 16;
export const CHUNK_SIZE: u32 = 1 << CHUNK_SHIFT;
export const MIN_LOG_SIZE: u32 = 16 << 10;
export const LAYOUT_MAX: u32 = 63;

const H_MAGIC: u32 = 0x000;
const H_VERSION: u32 = 0x008;
const H_INCOMPAT: u32 = 0x00C;
const H_CHUNK_SHIFT: u32 = 0x014;
const H_SIZE: u32 = 0x018;
const H_UUID: u32 = 0x020;
const H_TABLE_OFF: u32 = 0x030;
const H_NCHUNKS: u32 = 0x034;
const H_LOG_OFF: u32 = 0x038;
const H_LOG_SIZE: u32 = 0x03C;
const H_HEAP_OFF: u32 = 0x040;
const H_LAYOUT: u32 = 0x080;
const H_CHECKSUM: u32 = 0x0F8;
export const H_OPEN_COUNT: u32 = 0x100;
export const H_ROOT: u32 = 0x108;
export const H_GROWN: u32 = 0x110;
const H_END: u32 = 0x118;

/** Scratch layout for create/open: layout name at SCRATCH, uuid at SCRATCH + 64. */
export const SCRATCH_LAYOUT: usize = SCRATCH;
export const SCRATCH_UUID: usize = SCRATCH + 64;

// Geometry of the open pool (volatile copies of header fields).
export let poolSize: u32 = 0;
export let tableOff: u32 = 0;
export let chunkCount: u32 = 0;
export let logOff: u32 = 0;
export let logSize: u32 = 0;
export let heapOff: u32 = 0;
/** Heap chunks at creation (the fixed chunk table's length); chunks from here up live in regions. */
export let initialChunks: u32 = 0;

function align(v: u32, to: u32): u32 {
  return (v + to - 1) & ~(to - 1);
}

/** Lay out table, log and heap for a pool of `size` bytes (size is a multiple of CHUNK_SIZE). */
function computeGeometry(size: u32): void {
  let heap: u32 = CHUNK_SIZE;
  while (true) {
    const chunks = (size - heap) >>> CHUNK_SHIFT;
    const table = align(chunks << 3, HEADER_SIZE);
    if (HEADER_SIZE + table + MIN_LOG_SIZE <= heap) {
      tableOff = HEADER_SIZE;
      chunkCount = chunks;
      logOff = HEADER_SIZE + table;
      logSize = heap - logOff;
      heapOff = heap;
      initialChunks = chunks;
      return;
    }
    heap += CHUNK_SIZE;
  }
}

function headerChecksum(): u64 {
  return hash64(abs(0), H_CHECKSUM, MAGIC);
}

// @ts-ignore: decorator
@inline function stateWord(value: u32): u64 { return complementWord(value); }

/** Decode a state word; returns false if its halves disagree. */
function stateWordValid(off: u32): bool { return complementValid(load<u64>(abs(off))); }

/** Write a fresh header for a pool of `size` bytes. The caller persists the metadata area. */
export function writeHeader(size: u32, layoutLen: u32): void {
  computeGeometry(size);
  poolSize = size;
  memory.fill(abs(0), 0, heapOff); // header, chunk table, log: all start zeroed
  store<u64>(abs(H_MAGIC), MAGIC);
  store<u32>(abs(H_VERSION), FORMAT_VERSION);
  store<u32>(abs(H_INCOMPAT), KNOWN_INCOMPAT);
  store<u32>(abs(H_CHUNK_SHIFT), CHUNK_SHIFT);
  store<u64>(abs(H_SIZE), <u64>size);
  memory.copy(abs(H_UUID), SCRATCH_UUID, 16);
  store<u32>(abs(H_TABLE_OFF), tableOff);
  store<u32>(abs(H_NCHUNKS), chunkCount);
  store<u32>(abs(H_LOG_OFF), logOff);
  store<u32>(abs(H_LOG_SIZE), logSize);
  store<u32>(abs(H_HEAP_OFF), heapOff);
  memory.copy(abs(H_LAYOUT), SCRATCH_LAYOUT, layoutLen);
  store<u64>(abs(H_CHECKSUM), headerChecksum());
  store<u64>(abs(H_OPEN_COUNT), stateWord(0));
  store<u64>(abs(H_ROOT), stateWord(0));
}

/** Size of a pool of `chunks` heap chunks with this geometry. */
// @ts-ignore: decorator
@inline function sizeFor(chunks: u32): u64 { return <u64>heapOff + (<u64>chunks << CHUNK_SHIFT); }

/** Heap chunk count the header commits (the grown word, or the count at creation). Trusted after validation. */
export function committedChunks(): u32 {
  const w = load<u64>(abs(H_GROWN));
  return w == 0 ? load<u32>(abs(H_NCHUNKS)) : <u32>w;
}

function allZero(from: u32, to: u32): bool {
  for (let off = from; off < to; off += 4) if (load<u32>(abs(off)) != 0) return false;
  return true;
}

function layoutMatches(layoutLen: u32): bool {
  for (let i: u32 = 0; i < 64; i++) {
    const want: u8 = i < layoutLen ? load<u8>(SCRATCH_LAYOUT + i) : 0;
    if (load<u8>(abs(H_LAYOUT + i)) != want) return false;
  }
  return true;
}

/**
 * Validate the header page on its own (magic, checksum, state words, zero
 * padding, version): what can be known before the pool's size is trusted.
 * The host probes a file's first page with this before sizing its memory.
 */
export function validateHeaderPage(): Code {
  if (load<u64>(abs(H_MAGIC)) != MAGIC) return Code.NOT_A_POOL;
  if (load<u64>(abs(H_CHECKSUM)) != headerChecksum()) return Code.CORRUPT_HEADER;
  if (!stateWordValid(H_OPEN_COUNT) || !stateWordValid(H_ROOT)) return Code.CORRUPT_HEADER;
  if (load<u64>(abs(H_GROWN)) != 0 && !stateWordValid(H_GROWN)) return Code.CORRUPT_HEADER;
  if (!allZero(0x044, H_LAYOUT) || !allZero(0x0C0, H_CHECKSUM) || !allZero(H_END, HEADER_SIZE)) {
    return Code.CORRUPT_HEADER;
  }
  if (load<u32>(abs(H_VERSION)) != FORMAT_VERSION) return Code.UNSUPPORTED_VERSION;
  if ((load<u32>(abs(H_INCOMPAT)) & ~KNOWN_INCOMPAT) != 0) return Code.UNSUPPORTED_VERSION;
  if (load<u32>(abs(H_CHUNK_SHIFT)) != CHUNK_SHIFT) return Code.UNSUPPORTED_VERSION;
  return Code.OK;
}

/**
 * Validate everything but the layout name; loads the geometry and the
 * committed chunk count, which must give exactly `size`. Writes nothing.
 */
function validateHeader(size: u32): Code {
  const page = validateHeaderPage();
  if (page != Code.OK) return page;
  const initial = load<u64>(abs(H_SIZE));
  if (initial < MIN_POOL_SIZE || initial > MAX_POOL_SIZE || (<u32>initial & (CHUNK_SIZE - 1)) != 0) return Code.CORRUPT_HEADER;
  // The geometry is a pure function of the initial size: a header that disagrees is corrupt.
  computeGeometry(<u32>initial);
  if (load<u32>(abs(H_TABLE_OFF)) != tableOff || load<u32>(abs(H_NCHUNKS)) != chunkCount ||
      load<u32>(abs(H_LOG_OFF)) != logOff || load<u32>(abs(H_LOG_SIZE)) != logSize ||
      load<u32>(abs(H_HEAP_OFF)) != heapOff) {
    return Code.CORRUPT_HEADER;
  }
  const chunks = committedChunks();
  // A grown pool holds at least one region (a table chunk and a heap chunk) more.
  const least = load<u64>(abs(H_GROWN)) != 0 ? initialChunks + 2 : initialChunks;
  if (chunks < least || sizeFor(chunks) != <u64>size) return Code.CORRUPT_HEADER;
  chunkCount = chunks;
  return Code.OK;
}

/**
 * Validate the header of the pool loaded at POOL_BASE (`size` bytes) against
 * the layout name in SCRATCH_LAYOUT and load its geometry. Writes nothing.
 */
export function readHeader(size: u32, layoutLen: u32): Code {
  const code = validateHeader(size);
  if (code != Code.OK) return code;
  if (!layoutMatches(layoutLen)) return Code.LAYOUT_MISMATCH;
  poolSize = size;
  return Code.OK;
}

/**
 * Commit a growth to `chunks` heap chunks: one failure-atomic 8-byte store,
 * persisted. The regions it adds must already be durable (table.ts).
 */
export function commitGrowth(chunks: u32): void {
  store<u64>(abs(H_GROWN), stateWord(chunks));
  persist(H_GROWN, 8);
  chunkCount = chunks;
  poolSize = <u32>sizeFor(chunks);
}

/** Re-validate the open pool's header (the consistency check). */
export function readHeaderAgain(): Code {
  return validateHeader(poolSize);
}

export function openCount(): u32 {
  return <u32>load<u64>(abs(H_OPEN_COUNT));
}

/** Count one more open: a single failure-atomic 8-byte store, persisted. */
export function bumpOpenCount(): void {
  store<u64>(abs(H_OPEN_COUNT), stateWord(openCount() + 1));
  persist(H_OPEN_COUNT, 8);
}

export function rootOff(): u32 {
  return <u32>load<u64>(abs(H_ROOT));
}

/** Store the root word (not persisted: the caller logs and commits it). */
export function setRootOff(off: u32): void {
  store<u64>(abs(H_ROOT), stateWord(off));
}
