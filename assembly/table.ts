// table.ts — the chunk table: where every chunk's word lives, what a word
// says, and the regions growth appends.
//
// A chunk word (one u64 per heap chunk) is the only persistent index of the
// heap (heap.ts says how the allocator uses them):
//
//   chunk word  bits 0..3 kind │ 4..7 flags │ 8..31 arg │ 32..47 chunk index
//               │ 48..63 check = fold16(bits 0..47) ^ TAG
//     FREE  arg 0             not in use (or the tail of a large object)
//     RUN   arg = size class  slots of one class, bitmap at the chunk start
//     LARGE arg = chunk count one object spanning `arg` chunks
//
// The words of the chunks a pool was created with are the fixed table at
// tableOff (format.ts). Growth appends a region at the pool's end, and a
// region carries the words of its own chunks, in a large object of the
// pool's own type TYPE_REGION at its start:
//
//   region (chunks first .. first+n-1, n >= 2)
//   chunkStart(first)
//     +0   object header (object.ts), type TYPE_REGION, size 32 + 8n
//     +16  u32 first │ u32 n │ u32 region number (1, 2, …) │ u32 0
//     +32  u64 check = hash64(bytes +16..+32, REGION_SEED)  │ +40 u64 0
//     +48  chunk words of chunks first .. first+n-1
//          word 0: LARGE, arg t (the object's own span); words 1..t-1: FREE
//          (its tail); words t..n-1: FREE at creation, then the allocator's
//   chunkStart(first + t): the region's heap chunks
//
// t is the fewest chunks that hold the object (one for n <= 8186, two up
// to 16378, …). The object is not the user's: it is never yielded, freed or
// written through the Pool API, and a large object never spans two regions.
//
// Growth (extendPool) is crash-atomic: the host first extends memory and
// storage (env.grow: zero bytes past the old end, durable), then the region
// is written and persisted while the pool still ends where it did, and only
// then one failure-atomic store of the grown word (format.ts) commits it.
// A crash before that store leaves bytes past the committed size, which are
// never read: the pool opens at its old size, and the next growth writes
// the same region again. Open walks the regions (loadRegions) before
// anything trusts a chunk word. A growth adds a quarter of the pool
// (growthStep: amortised O(1) filling, at most a fifth of the file unused).
//
// Volatile state (rebuilt at open): CHUNK_WORD_OFF gives each chunk's word
// offset, REGION_END the first chunk past its region (bounds large spans).

import { CHUNK_WORD_OFF, MAX_CHUNKS, MAX_POOL_SIZE, REGION_END, abs } from "./layout";
import { CHUNK_SHIFT, CHUNK_SIZE, chunkCount, commitGrowth, heapOff, initialChunks, poolSize, tableOff } from "./format";
import { classCount } from "./classes";
import { persist } from "./flush";
import { fold16 } from "./checked";
import { hash64 } from "./hash";
import { OBJ_HEADER, TYPE_REGION, headerValid, objectDataLen, objectType, writeObjectHeader } from "./object";

export const KIND_FREE: u32 = 0;
export const KIND_RUN: u32 = 1;
export const KIND_LARGE: u32 = 2;
export const FLAG_ALIGN64: u32 = 1;
const CHUNK_TAG: u32 = 0x5048; // "PH"

const REGION_INFO: u32 = 16; // first, n, number, 0
const REGION_WORDS: u32 = 32; // payload offset of the chunk words
const REGION_SEED: u64 = 0x4E4F494745524850; // "PHREGION"

/** Ask the host for room: extend memory and storage to at least `min` bytes of pool, `want` if it can. Returns the new size, or 0. */
// @ts-ignore: decorator
@external("env", "grow")
declare function hostGrow(min: u32, want: u32): u32;

/** Regions the open pool has (growths so far). */
export let regionCount: u32 = 0;

// ─── chunk words ────────────────────────────────────────────────────────────

// @ts-ignore: decorator
@inline export function chunkWordOff(c: u32): u32 { return load<u32>(CHUNK_WORD_OFF + (<usize>c << 2)); }
// @ts-ignore: decorator
@inline export function chunkWord(c: u32): u64 { return load<u64>(abs(chunkWordOff(c))); }
// @ts-ignore: decorator
@inline export function chunkStart(c: u32): u32 { return heapOff + (c << CHUNK_SHIFT); }
// @ts-ignore: decorator
@inline export function kindOf(w: u64): u32 { return <u32>w & 0xF; }
// @ts-ignore: decorator
@inline export function flagsOf(w: u64): u32 { return (<u32>w >>> 4) & 0xF; }
// @ts-ignore: decorator
@inline export function argOf(w: u64): u32 { return <u32>(w >>> 8) & 0xFF_FFFF; }
/** First chunk past the region (or fixed table) that holds chunk c. */
// @ts-ignore: decorator
@inline export function regionEnd(c: u32): u32 { return load<u32>(REGION_END + (<usize>c << 2)); }

/** The chunk word of chunk `c` (its index and check included). */
export function makeChunkWord(kind: u32, flags: u32, arg: u32, c: u32): u64 {
  const v = <u64>kind | (<u64>flags << 4) | (<u64>arg << 8) | (<u64>(c & 0xFFFF) << 32);
  return v | (<u64>(fold16(v) ^ CHUNK_TAG) << 48);
}

/** The word of a free chunk (never zero: a zeroed word is damage). */
// @ts-ignore: decorator
@inline export function freeWord(c: u32): u64 { return makeChunkWord(KIND_FREE, 0, 0, c); }

/** Store chunk c's word (the caller persists or logs it). */
// @ts-ignore: decorator
@inline export function setChunkWord(c: u32, w: u64): void { store<u64>(abs(chunkWordOff(c)), w); }

/** True if `w` is a well-formed word for chunk `c` (check, index, kind, argument in range: a span stays in its region). */
export function chunkWordValid(w: u64, c: u32): bool {
  if (<u32>(w >>> 48) != (fold16(w) ^ CHUNK_TAG) || <u32>((w >>> 32) & 0xFFFF) != (c & 0xFFFF)) return false;
  const kind = kindOf(w);
  if (kind == KIND_FREE) return flagsOf(w) == 0 && argOf(w) == 0;
  if (kind == KIND_RUN) return flagsOf(w) == 0 && argOf(w) < classCount;
  if (kind == KIND_LARGE) return flagsOf(w) <= FLAG_ALIGN64 && argOf(w) >= 1 && c + argOf(w) <= regionEnd(c);
  return false;
}

/** Say where chunks [from, to) keep their words (`at` = the first one's) and where their region ends. */
function place(from: u32, to: u32, at: u32): void {
  for (let c = from; c < to; c++) {
    store<u32>(CHUNK_WORD_OFF + (<usize>c << 2), at + ((c - from) << 3));
    store<u32>(REGION_END + (<usize>c << 2), to);
  }
}

/** The fixed table of a fresh pool: place it and fill it with FREE words (the caller persists). */
export function formatChunkTable(): void {
  regionCount = 0;
  place(0, chunkCount, tableOff);
  for (let c: u32 = 0; c < chunkCount; c++) setChunkWord(c, freeWord(c));
}

// ─── regions ────────────────────────────────────────────────────────────────

/** Chunks the region object of an n-chunk region spans. */
function tableChunks(n: u32): u32 {
  return <u32>((<u64>OBJ_HEADER + REGION_WORDS + (<u64>n << 3) + CHUNK_SIZE - 1) >> CHUNK_SHIFT);
}

/** The region object's payload for a region starting at chunk `first`. */
// @ts-ignore: decorator
@inline function regionPayload(first: u32): u32 { return chunkStart(first) + OBJ_HEADER; }

/** The chunk word of the first chunk of an n-chunk region: its table object. */
function regionWord(first: u32, n: u32): u64 { return makeChunkWord(KIND_LARGE, 0, tableChunks(n), first); }

/** Does a region start at chunk c (so its first chunks hold a region object)? */
export function isRegionStart(c: u32): bool {
  return c >= initialChunks && c < chunkCount && (c == initialChunks || regionEnd(c - 1) == c);
}

function regionCheck(payload: u32): u64 { return hash64(abs(payload), REGION_INFO, REGION_SEED); }

/** Is a valid region object at chunk `first`, the `number`-th, fitting in `end` chunks? Its chunk count, or 0. */
function regionAt(first: u32, number: u32, end: u32): u32 {
  const p = regionPayload(first);
  if (!headerValid(p) || objectType(p) != TYPE_REGION) return 0;
  const n = load<u32>(abs(p), 4);
  if (load<u32>(abs(p)) != first || load<u32>(abs(p), 8) != number || load<u32>(abs(p), 12) != 0) return 0;
  if (load<u64>(abs(p), REGION_INFO) != regionCheck(p) || load<u64>(abs(p), REGION_INFO + 8) != 0) return 0;
  if (n <= tableChunks(n) || n > end - first || objectDataLen(p) != REGION_WORDS + (n << 3)) return 0;
  return n;
}

/**
 * Walk the regions of the pool just validated by format.ts and place every
 * chunk's word. Read-only; false if a region is missing or malformed (the
 * offset of the first bad one is the caller's to report).
 */
export function loadRegions(): u32 {
  place(0, initialChunks, tableOff);
  regionCount = 0;
  let c = initialChunks;
  while (c < chunkCount) {
    const n = regionAt(c, regionCount + 1, chunkCount);
    if (n == 0) return chunkStart(c);
    place(c, c + n, regionPayload(c) + REGION_WORDS);
    // Its own chunk word must say so, or the allocator could hand the table out.
    if (chunkWord(c) != regionWord(c, n)) return chunkWordOff(c);
    regionCount++;
    c += n;
  }
  return 0;
}

/** Write region `number` over chunks [first, first+n) and persist it (not yet part of the pool). */
function formatRegion(first: u32, n: u32, number: u32): void {
  const p = regionPayload(first);
  writeObjectHeader(p, TYPE_REGION, REGION_WORDS + (n << 3));
  store<u32>(abs(p), first);
  store<u32>(abs(p), n, 4);
  store<u32>(abs(p), number, 8);
  store<u32>(abs(p), 0, 12);
  store<u64>(abs(p), regionCheck(p), REGION_INFO);
  store<u64>(abs(p), 0, REGION_INFO + 8);
  place(first, first + n, p + REGION_WORDS);
  setChunkWord(first, regionWord(first, n));
  for (let c = first + 1; c < first + n; c++) setChunkWord(c, freeWord(c));
  persist(p - OBJ_HEADER, OBJ_HEADER + REGION_WORDS + (n << 3));
}

/** Fewest chunks of a region whose heap part holds `need` chunks. */
function regionChunksFor(need: u32): u32 {
  let n = need + 1;
  while (n - tableChunks(n) < need) n++;
  return n;
}

/** Fewest chunks a growth adds (it matters below 1 MiB): the region's first chunk holds its table, a quarter of such a step at most. */
const GROWTH_MIN_CHUNKS: u32 = 4;

/**
 * Chunks one growth would like to add: a quarter of the pool (rounded up
 * to whole chunks; at least GROWTH_MIN_CHUNKS), or `minN` if more. A
 * geometric step keeps filling amortised O(1) — each growth at least a
 * fifth of the grown pool, so a pool of size S had at most about 5S bytes
 * added or copied — while the free room it leaves at the end, the step,
 * is at most a fifth of the file (or the 256 KiB floor, or what one
 * allocation needed).
 */
function growthStep(minN: u32): u32 {
  const quarter = <u32>((<u64>poolSize + (<u64>CHUNK_SIZE << 2) - 1) >> (CHUNK_SHIFT + 2));
  return max(minN, max(quarter, GROWTH_MIN_CHUNKS));
}

/**
 * Grow the pool by one region with room for `need` contiguous heap chunks:
 * by growthStep (a quarter of the pool, amortised O(1) growth) capped by
 * the pool's limit, never less than what is needed. Returns the new
 * region's first chunk, or -1 when the host could not grow (its maximum
 * size, a full disk: nothing was changed).
 * The caller hands the region's heap chunks to the allocator.
 */
export function extendPool(need: u32): i32 {
  const first = chunkCount;
  const minN = regionChunksFor(need);
  const limit = min<u64>(<u64>MAX_CHUNKS - 1, (MAX_POOL_SIZE - heapOff) >> CHUNK_SHIFT);
  if (<u64>first + minN > limit) return -1;
  const wantN: u64 = min<u64>(limit - first, <u64>growthStep(minN));
  const granted = hostGrow(poolSize + (minN << CHUNK_SHIFT), poolSize + (<u32>wantN << CHUNK_SHIFT));
  if (granted < poolSize + (minN << CHUNK_SHIFT) || granted > poolSize + (<u32>wantN << CHUNK_SHIFT) || (granted & (CHUNK_SIZE - 1)) != 0) return -1;
  const n = (granted - poolSize) >> CHUNK_SHIFT;
  formatRegion(first, n, regionCount + 1);
  commitGrowth(first + n);
  regionCount++;
  return <i32>first;
}

/** Chunks of the region object at the start of the region whose first chunk is `first`. */
export function regionObjectChunks(first: u32): u32 { return tableChunks(regionEnd(first) - first); }
