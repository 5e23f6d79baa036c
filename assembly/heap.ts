// heap.ts — chunks, runs and free extents: the allocator's space manager.
//
// The heap is an array of 64 KiB chunks starting at heapOff. The chunk
// table (one u64 per chunk, table.ts draws it) is the only persistent index:
// FREE chunks, RUN chunks of slots of one size class, LARGE objects spanning
// chunks.
//
//   run chunk:  [bitmap 64 words = 512 B][pad][slot 0][slot 1]...
//               0                        512  560     slot = header + payload
//   bitmap word i: u32 bits of slots 32i..32i+31 │ u32 bits ^ key(chunk, i)
//
// Every word carries its check (checked.ts): a damaged chunk word or bitmap
// word is detected, never obeyed — an all-zero word is invalid too, which is
// why a fresh pool's table holds FREE words, not zeroes. The chunk index in
// a chunk word catches a word stored at the wrong place.
// A slot is live iff its bitmap bit is set; a large object is live iff its
// head chunk word says LARGE. Both change with single aligned 8-byte stores.
//
// Volatile state (below POOL_BASE, rebuilt at open, runs loaded lazily):
// free extents in a list with boundary tags (EXTENT_LEN at both ends) so a
// freed span merges with its neighbours in O(1); per-class bitmaps of runs
// that may have a free slot; per-run live counts and search hints (the
// `loaded` bit of a run; of a FREE chunk it means "primed": an empty
// bitmap made durable ahead of its run, newRun); the tx
// reservation set (slots handed out by an open transaction but not yet
// durable, so nobody else may take them).
//
// Placement is a pure function of the persistent state and the reservations:
// lowest-numbered run with a free slot, lowest free slot in it, lowest
// extent that fits. So a reopened pool allocates exactly as one never closed
// — but for the chunks a never-closed one's undo log kept (log.ts: recovery
// frees them at open). When no extent fits even after empty runs are given
// back, the pool grows by a region (table.ts) and its heap chunks join the
// free extents. The heap is below the log and knows nothing of it: when
// the pool cannot grow either, the allocator (alloc.ts) has the log give
// back the extension blocks it keeps unused, and claims again.

import {
  CHUNK_HINT, CHUNK_LIVE, CHUNK_LOADED, CHUNK_OWNER, CLASS_NONFULL, CLASS_NONFULL_STRIDE, CLASS_SCAN,
  EXTENT_LEN, EXTENT_NEXT, EXTENT_PREV, TX_RESERVED, TX_RESERVED_CAP, TX_RESERVED_USED, abs,
} from "./layout";
import { CHUNK_SHIFT, chunkCount, heapOff } from "./format";
import { MAX_CLASSES } from "./layout";
import { RUN_BITMAP_WORDS, RUN_DATA, classSlots, classStride } from "./classes";
import { drainAlone, flush, flushAlone, persist } from "./flush";
import { noteDamage } from "./errors";
import { OBJ_HEADER } from "./object";

import {
  KIND_FREE, KIND_RUN, argOf, chunkStart, chunkWord, chunkWordOff, chunkWordValid, extendPool, freeWord, kindOf,
  makeChunkWord, regionObjectChunks, setChunkWord,
} from "./table";

/** Chunk holding pool offset `off`, or -1 if `off` is outside the heap. */
export function chunkOf(off: u32): i32 {
  if (off < heapOff) return -1;
  const c = (off - heapOff) >>> CHUNK_SHIFT;
  return c < chunkCount ? <i32>c : -1;
}

/** Head chunk of the large object whose tail contains chunk c, or c itself. */
export function ownerChunk(c: u32): u32 {
  const o = load<u32>(CHUNK_OWNER + (<usize>c << 2));
  return o != 0 ? o - 1 : c;
}

function setOwner(head: u32, n: u32, owned: bool): void {
  for (let c = head + 1; c < head + n; c++) store<u32>(CHUNK_OWNER + (<usize>c << 2), owned ? head + 1 : 0);
}

// ─── free extents ───────────────────────────────────────────────────────────

let extentHead: u32 = 0; // chunk + 1, 0 = empty list

// @ts-ignore: decorator
@inline function extLen(c: u32): u32 { return load<u32>(EXTENT_LEN + (<usize>c << 2)); }
// @ts-ignore: decorator
@inline function setExtLen(c: u32, v: u32): void { store<u32>(EXTENT_LEN + (<usize>c << 2), v); }
// @ts-ignore: decorator
@inline function extNext(c: u32): u32 { return load<u32>(EXTENT_NEXT + (<usize>c << 2)); }
// @ts-ignore: decorator
@inline function extPrev(c: u32): u32 { return load<u32>(EXTENT_PREV + (<usize>c << 2)); }

function linkExtent(start: u32, len: u32): void {
  setExtLen(start, len);
  setExtLen(start + len - 1, len);
  store<u32>(EXTENT_PREV + (<usize>start << 2), 0);
  store<u32>(EXTENT_NEXT + (<usize>start << 2), extentHead);
  if (extentHead != 0) store<u32>(EXTENT_PREV + (<usize>(extentHead - 1) << 2), start + 1);
  extentHead = start + 1;
}

function unlinkExtent(start: u32): void {
  const len = extLen(start);
  const next = extNext(start), prev = extPrev(start);
  if (prev != 0) store<u32>(EXTENT_NEXT + (<usize>(prev - 1) << 2), next);
  else extentHead = next;
  if (next != 0) store<u32>(EXTENT_PREV + (<usize>(next - 1) << 2), prev);
  setExtLen(start, 0);
  setExtLen(start + len - 1, 0);
}

/** Return chunks [start, start+len) to the free extents, merging with free neighbours. */
export function releaseChunks(start: u32, len: u32): void {
  assert(len > 0 && start + len <= chunkCount, "releaseChunks: span outside the heap");
  if (start > 0 && extLen(start - 1) != 0) {
    const left = start - extLen(start - 1);
    const l = extLen(left);
    unlinkExtent(left);
    start = left;
    len += l;
  }
  const after = start + len;
  if (after < chunkCount && extLen(after) != 0) {
    const r = extLen(after);
    unlinkExtent(after);
    len += r;
  }
  linkExtent(start, len);
}

/** Take the lowest-numbered `n` free chunks that are contiguous; -1 if none. */
export function takeChunks(n: u32): i32 {
  let best: u32 = 0xFFFF_FFFF;
  for (let e = extentHead; e != 0; e = extNext(e - 1)) {
    const s = e - 1;
    if (extLen(s) >= n && s < best) best = s;
  }
  if (best == 0xFFFF_FFFF) return -1;
  const len = extLen(best);
  unlinkExtent(best);
  if (len > n) linkExtent(best + n, len - n);
  return <i32>best;
}

export function largestExtent(): u32 {
  let m: u32 = 0;
  for (let e = extentHead; e != 0; e = extNext(e - 1)) if (extLen(e - 1) > m) m = extLen(e - 1);
  return m;
}

export function freeChunkTotal(): u32 {
  let t: u32 = 0;
  for (let e = extentHead; e != 0; e = extNext(e - 1)) t += extLen(e - 1);
  return t;
}

// ─── runs ───────────────────────────────────────────────────────────────────

/** Offset of bitmap word i of run c. */
// @ts-ignore: decorator
@inline function bitmapWordOff(c: u32, i: u32): u32 { return chunkStart(c) + (i << 3); }
// @ts-ignore: decorator
@inline export function runBitmapWordOff(c: u32, slot: u32): u32 { return bitmapWordOff(c, slot >>> 5); }
// @ts-ignore: decorator
@inline export function slotOff(c: u32, cls: u32, slot: u32): u32 { return chunkStart(c) + RUN_DATA + slot * classStride(cls); }
// @ts-ignore: decorator
@inline function live(c: u32): u32 { return load<u16>(CHUNK_LIVE + (<usize>c << 1)); }
// @ts-ignore: decorator
@inline function setLive(c: u32, v: u32): void { store<u16>(CHUNK_LIVE + (<usize>c << 1), <u16>v); }
// @ts-ignore: decorator
@inline function hint(c: u32): u32 { return load<u16>(CHUNK_HINT + (<usize>c << 1)); }
// @ts-ignore: decorator
@inline function setHint(c: u32, v: u32): void { store<u16>(CHUNK_HINT + (<usize>c << 1), <u16>v); }

/** The check half of bitmap word i of run c: never zero, different for every word of the heap. */
// @ts-ignore: decorator
@inline function bitmapKey(c: u32, i: u32): u32 { return 0xB100_0000 | (c << 6) | i; }

/** A bitmap word holding `bits`. */
// @ts-ignore: decorator
@inline function bitmapWord(c: u32, i: u32, bits: u32): u64 { return <u64>bits | (<u64>(bits ^ bitmapKey(c, i)) << 32); }

/** Do the bits and the check of bitmap word i of run c agree? */
export function bitmapWordValid(c: u32, i: u32): bool {
  const a = abs(bitmapWordOff(c, i));
  return load<u32>(a, 4) == (load<u32>(a) ^ bitmapKey(c, i));
}

/** The slot bits of bitmap word i of run c (trusted: validated when the run was loaded or by the caller). */
// @ts-ignore: decorator
@inline export function bitmapBits(c: u32, i: u32): u32 { return load<u32>(abs(bitmapWordOff(c, i))); }

/** Is the slot's bit set? A damaged bitmap word is noted and reads as "not live". */
export function slotBitSet(c: u32, slot: u32): bool {
  if (!bitmapWordValid(c, slot >>> 5)) { noteDamage(runBitmapWordOff(c, slot)); return false; }
  return ((bitmapBits(c, slot >>> 5) >>> (slot & 31)) & 1) != 0;
}

/** Set or clear a slot's persistent bit (a single 8-byte store; the caller persists or logs it). */
export function writeSlotBit(c: u32, slot: u32, on: bool): void {
  const i = slot >>> 5;
  const bit: u32 = 1 << (slot & 31);
  const bits = on ? bitmapBits(c, i) | bit : bitmapBits(c, i) & ~bit;
  store<u64>(abs(bitmapWordOff(c, i)), bitmapWord(c, i, bits));
}

function loaded(c: u32): bool {
  return ((load<u8>(CHUNK_LOADED + (c >>> 3)) >>> (c & 7)) & 1) != 0;
}

function setLoaded(c: u32, on: bool): void {
  const a = CHUNK_LOADED + (c >>> 3);
  const bit = <u8>(1 << <u8>(c & 7));
  store<u8>(a, on ? load<u8>(a) | bit : load<u8>(a) & ~bit);
}

function setNonfull(cls: u32, c: u32, on: bool): void {
  const a = CLASS_NONFULL + <usize>cls * CLASS_NONFULL_STRIDE + (<usize>(c >>> 6) << 3);
  const bit = <u64>1 << (c & 63);
  store<u64>(a, on ? load<u64>(a) | bit : load<u64>(a) & ~bit);
  if (on) {
    const scan = CLASS_SCAN + (<usize>cls << 2);
    if ((c >>> 6) < load<u32>(scan)) store<u32>(scan, c >>> 6);
  }
}

/** Lowest-numbered run of class `cls` that may have a free slot, or -1. */
function firstNonfull(cls: u32): i32 {
  const base = CLASS_NONFULL + <usize>cls * CLASS_NONFULL_STRIDE;
  const words = (chunkCount + 63) >>> 6;
  const scan = CLASS_SCAN + (<usize>cls << 2);
  for (let w = load<u32>(scan); w < words; w++) {
    const word = load<u64>(base + (<usize>w << 3));
    if (word != 0) {
      store<u32>(scan, w);
      return <i32>((w << 6) + <u32>ctz(word));
    }
  }
  store<u32>(scan, words);
  return -1;
}

/**
 * Count a run's live slots from its bitmap (first touch after open),
 * validating every word. A damaged run is noted and counted full, so
 * nothing is ever allocated from it.
 */
function loadRun(c: u32): void {
  let n: u32 = 0;
  for (let i: u32 = 0; i < RUN_BITMAP_WORDS; i++) {
    if (!bitmapWordValid(c, i)) { noteDamage(bitmapWordOff(c, i)); n = 0xFFFF; break; }
    n += <u32>popcnt(bitmapBits(c, i));
  }
  setLive(c, n);
  setHint(c, 0);
  setLoaded(c, true);
}

/** Runs whose empty bitmaps one drain makes durable (the chunk in hand and, inside a transaction, the lowest free ones). */
const PRIME: u32 = 8;

/** Write an empty bitmap into chunk c (still FREE: its content means nothing yet) and flush it for drainAlone (ordered first when deferred). */
function writeEmptyBitmap(c: u32): void {
  for (let i: u32 = 0; i < RUN_BITMAP_WORDS; i++) store<u64>(abs(bitmapWordOff(c, i)), bitmapWord(c, i, 0));
  flushAlone(chunkStart(c), RUN_BITMAP_WORDS << 3);
}

/**
 * Make an empty bitmap durable in chunk c (taken for a run) with one drain
 * (deferred: of the early lines alone, so no other pending line goes with
 * it). Inside a transaction — on the deferred log a drain is a sync, and
 * the commit's are shared by a whole batch — also in the lowest free
 * chunks, those the next runs will take (on either log, so that both leave
 * the same bytes). A FREE chunk whose `loaded` bit is
 * set is such a primed chunk: its bitmap is durable and nothing has written
 * it since (ownChunks clears the bit of every chunk handed out for
 * anything else).
 */
function primeBitmaps(c: u32, inTx: bool): void {
  writeEmptyBitmap(c);
  if (inTx) primeAhead();
  drainAlone();
}

/** Write and flush empty bitmaps into the lowest free chunks (up to PRIME - 1), marking them primed. */
function primeAhead(): void {
  let lowest: u32 = 0xFFFF_FFFF;
  for (let e = extentHead; e != 0; e = extNext(e - 1)) if (e - 1 < lowest) lowest = e - 1;
  if (lowest == 0xFFFF_FFFF) return;
  const end = lowest + min(extLen(lowest), PRIME - 1);
  for (let f = lowest; f < end; f++) {
    if (loaded(f)) continue;
    writeEmptyBitmap(f);
    setLoaded(f, true);
  }
}

/**
 * Turn a free chunk into an empty run of class `cls`. Its empty bitmap is
 * durable before its chunk word is stored (primed earlier, or now), so the
 * chunk word may become durable with any later drain: before any slot of
 * the run is made live (alloc drains first; a commit's data drain carries
 * both, and a crash inside it rolls the slot bits back). A crash leaves the
 * chunk FREE or an empty run: both consistent. A primed chunk's run costs
 * no drain.
 */
function newRun(cls: u32, inTx: bool): i32 {
  const c = findChunks(1);
  if (c < 0) return -1;
  const cc = <u32>c;
  if (!loaded(cc)) primeBitmaps(cc, inTx);
  setChunkWord(cc, makeChunkWord(KIND_RUN, 0, cls, cc));
  flush(chunkWordOff(cc), 8);
  setLive(cc, 0);
  setHint(cc, 0);
  setLoaded(cc, true);
  setNonfull(cls, cc, true);
  return c;
}

/** Give every empty run back to the free extents (when chunks run out). */
export function reclaimEmptyRuns(): void {
  for (let c: u32 = 0; c < chunkCount; c++) {
    const w = chunkWord(c);
    if (kindOf(w) != KIND_RUN) continue;
    if (!loaded(c)) loadRun(c);
    if (live(c) != 0) continue;
    setChunkWord(c, freeWord(c));
    persist(chunkWordOff(c), 8);
    setNonfull(argOf(w), c, false);
    setLoaded(c, false);
    releaseChunks(c, 1);
  }
}

// ─── tx reservations ────────────────────────────────────────────────────────
// Open addressing over slot payload offsets (never 0). Cleared at tx end.

let reservedCount: u32 = 0; // entries inserted (tombstones included) since the tx began
let usedCells: u32 = 0; // cells of TX_RESERVED ever written since then (see TX_RESERVED_USED)

// @ts-ignore: decorator
@inline function reservedSlot(off: u32): usize {
  return TX_RESERVED + (<usize>((off >>> 4) * 0x9E3779B1 & (TX_RESERVED_CAP - 1)) << 2);
}

const TOMBSTONE: u32 = 1; // offsets are >= heapOff, so 1 never names a slot

/** The cell holding `off`, or 0 if it is not in the set. */
function findReserved(off: u32): usize {
  if (reservedCount == 0) return 0;
  let a = reservedSlot(off);
  const end = TX_RESERVED + (<usize>TX_RESERVED_CAP << 2);
  while (true) {
    const v = load<u32>(a);
    if (v == off) return a;
    if (v == 0) return 0;
    a += 4;
    if (a == end) a = TX_RESERVED;
  }
}

export function isReserved(off: u32): bool {
  return findReserved(off) != 0;
}

/** Add `off` (not present) to the set; false when the set is full. */
export function reserve(off: u32): bool {
  if (reservedCount >= (TX_RESERVED_CAP >>> 1)) return false;
  let a = reservedSlot(off);
  const end = TX_RESERVED + (<usize>TX_RESERVED_CAP << 2);
  while (load<u32>(a) > TOMBSTONE) { a += 4; if (a == end) a = TX_RESERVED; }
  if (load<u32>(a) == 0) { // a fresh cell: remember it so the tx end clears just these
    store<u32>(TX_RESERVED_USED + (<usize>usedCells << 2), <u32>a);
    usedCells++;
  }
  store<u32>(a, off);
  reservedCount++;
  return true;
}

/** Remove `off` from the set; returns whether it was there. */
export function unreserve(off: u32): bool {
  const a = findReserved(off);
  if (a != 0) store<u32>(a, TOMBSTONE);
  return a != 0;
}

/** Drop all reservations (the tx ended; its slots are now durable or returned). */
export function clearReservations(): void {
  for (let i: u32 = 0; i < usedCells; i++) store<u32>(<usize>load<u32>(TX_RESERVED_USED + (<usize>i << 2)), 0);
  usedCells = 0;
  reservedCount = 0;
}

// ─── slot allocation (volatile side) ────────────────────────────────────────

/** Find and claim the lowest free, unreserved slot of class `cls` (for a transaction: `inTx`). Returns the slot's offset or 0. */
export function claimSlot(cls: u32, inTx: bool): u32 {
  while (true) {
    let c = firstNonfull(cls);
    if (c < 0) {
      c = newRun(cls, inTx);
      if (c < 0) return 0;
    }
    const cc = <u32>c;
    if (!loaded(cc)) loadRun(cc);
    const slots = classSlots(cls);
    let slot = live(cc) >= slots ? slots : hint(cc); // full, or damaged (loadRun): skip it
    while (slot < slots) {
      const free = ~bitmapBits(cc, slot >>> 5) & (<u32>-1 << (slot & 31)); // zero bits at or after `slot` in its word
      if (free == 0) { slot = (slot | 31) + 1; continue; }
      slot = (slot & ~31) + ctz<u32>(free);
      if (slot >= slots) break;
      const off = slotOff(cc, cls, slot);
      if (!isReserved(off + OBJ_HEADER)) { // reservations are kept by payload offset
        setLive(cc, live(cc) + 1);
        setHint(cc, slot + 1);
        if (live(cc) >= slots) setNonfull(cls, cc, false);
        return off;
      }
      slot++;
    }
    setHint(cc, slots);
    setNonfull(cls, cc, false);
  }
  return 0; // unreachable: the loop returns or gives up via newRun
}

/** The slot at `off` (in run chunk c) is free again in volatile state. */
export function unclaimSlot(c: u32, cls: u32, slot: u32): void {
  // Slots are unclaimed after their bit is cleared (or was never set); a run
  // loaded only now counts from the bitmap, which already excludes this slot.
  if (!loaded(c)) loadRun(c);
  else { assert(live(c) > 0, "unclaimSlot: run has no live slot"); setLive(c, live(c) - 1); }
  if (slot < hint(c)) setHint(c, slot);
  setNonfull(cls, c, true);
}

/** Live + reserved slots of run c (loads it if needed). */
export function runLive(c: u32): u32 {
  if (!loaded(c)) loadRun(c);
  return live(c);
}

// ─── large objects (volatile side) ──────────────────────────────────────────

/**
 * Take `n` contiguous free chunks: from the extents, else after reclaiming
 * empty runs, else after growing the pool; -1 if none. (Then the caller may
 * have the log give back its kept blocks, and claim from the extents again:
 * claimFreeChunks.)
 */
function findChunks(n: u32): i32 {
  let c = takeChunks(n);
  if (c >= 0) return c;
  reclaimEmptyRuns();
  c = takeChunks(n);
  if (c >= 0) return c;
  return growHeap(n) ? takeChunks(n) : -1;
}

/** Claim `n` contiguous chunks for a large object; -1 if none even after reclaiming empty runs and growing. */
export function claimChunks(n: u32): i32 {
  const c = findChunks(n);
  return c < 0 ? c : ownChunks(<u32>c, n);
}

/** Claim `n` contiguous chunks from the free extents alone (the log has just given some back); -1 if none. */
export function claimFreeChunks(n: u32): i32 {
  const c = takeChunks(n);
  return c < 0 ? c : ownChunks(<u32>c, n);
}

/** Mark chunks [c, c+n), just taken, as one large object's; returns c. */
function ownChunks(c: u32, n: u32): i32 {
  setOwner(c, n, true);
  for (let k = c; k < c + n; k++) setLoaded(k, false); // no longer primed: the caller writes it
  return <i32>c;
}

/** Forget any volatile state of chunks [from, to) (new chunks: an instance may have held a larger pool before). */
function clearChunkState(from: u32, to: u32): void {
  for (let c = from; c < to; c++) {
    setLoaded(c, false);
    setExtLen(c, 0);
    store<u32>(CHUNK_OWNER + (<usize>c << 2), 0);
    for (let cls: u32 = 0; cls < MAX_CLASSES; cls++) setNonfull(cls, c, false);
  }
}

/** Grow the pool by a region with room for `n` contiguous chunks; its heap chunks become a free extent. */
function growHeap(n: u32): bool {
  const first = extendPool(n);
  if (first < 0) return false;
  const head = <u32>first;
  clearChunkState(head, chunkCount);
  const t = regionObjectChunks(head);
  setOwner(head, t, true);
  releaseChunks(head + t, chunkCount - head - t);
  return true;
}

export function unclaimChunks(head: u32, n: u32): void {
  setOwner(head, n, false);
  releaseChunks(head, n);
}

// ─── open ───────────────────────────────────────────────────────────────────

/** Read-only pre-flight: is every chunk word well formed? (before recovery writes anything) */
export function chunkTableValid(): bool {
  for (let c: u32 = 0; c < chunkCount; c++) {
    if (!chunkWordValid(chunkWord(c), c)) { noteDamage(chunkWordOff(c)); return false; }
  }
  return true;
}

/**
 * Rebuild the volatile indexes from the chunk table. Runs are not read here
 * (they load on first use), so open touches only the table. Returns false
 * if a chunk word is malformed.
 */
export function rebuildHeap(): bool {
  const n = chunkCount;
  memory.fill(CHUNK_LOADED, 0, <usize>((n + 7) >>> 3));
  memory.fill(EXTENT_LEN, 0, <usize>n << 2);
  memory.fill(CHUNK_OWNER, 0, <usize>n << 2);
  for (let cls: u32 = 0; cls < MAX_CLASSES; cls++) {
    memory.fill(CLASS_NONFULL + <usize>cls * CLASS_NONFULL_STRIDE, 0, <usize>((n + 63) >>> 6) << 3);
    store<u32>(CLASS_SCAN + (<usize>cls << 2), 0);
  }
  extentHead = 0;
  clearReservations();
  let c: u32 = 0;
  while (c < n) {
    const w = chunkWord(c);
    if (!chunkWordValid(w, c)) return false;
    const kind = kindOf(w);
    if (kind == KIND_FREE) {
      let e = c + 1;
      while (e < n && kindOf(chunkWord(e)) == KIND_FREE) e++;
      linkExtent(c, e - c);
      c = e;
    } else if (kind == KIND_RUN) {
      setNonfull(argOf(w), c, true);
      c++;
    } else {
      setOwner(c, argOf(w), true);
      c += argOf(w);
    }
  }
  return true;
}
