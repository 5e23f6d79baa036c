// flush.ts — the cache-line flush model: flush / drain / persist.
//
// Mirrors x86 persistent-memory semantics at 64-byte line granularity:
//   store   lands "in the cache" (linear memory): visible, not durable;
//   flush   (CLWB) marks every line of a range pending;
//   drain   (SFENCE) makes every pending line durable, via ONE host call
//           `env.drain(ranges, count, final)` with sorted, coalesced ranges;
//   persist = flush + drain.
// Only aligned 8-byte stores are failure-atomic; callers that need more use
// the undo log (tx.ts).
//
// Invariants:
//   - a line's bit in PENDING_BITMAP is set  <=>  the line is pending;
//   - every pending line is in PENDING_LIST unless listOverflow is set, in
//     which case the bitmap between minLine and maxLine is authoritative;
//   - the host sees pool-relative line numbers, never absolute addresses.

import {
  DRAIN_RANGES, DRAIN_RANGES_CAP, LINE_SHIFT, PENDING_BITMAP, PENDING_LIST, PENDING_LIST_CAP,
} from "./layout";

// @ts-ignore: decorator
@external("env", "drain")
declare function hostDrain(ranges: usize, count: u32, final: bool): void;

let pendingCount: u32 = 0;
let listOverflow = false;
let minLine: u32 = 0xFFFF_FFFF;
let maxLine: u32 = 0;

export let flushCalls: u64 = 0;
export let drainCalls: u64 = 0;
export let linesPersisted: u64 = 0;

// @ts-ignore: decorator
@inline function bitmapWordAddr(line: u32): usize {
  return PENDING_BITMAP + (<usize>(line >>> 6) << 3);
}

function markPending(line: u32): void {
  const addr = bitmapWordAddr(line);
  const word = load<u64>(addr);
  const bit = <u64>1 << (line & 63);
  if (word & bit) return;
  store<u64>(addr, word | bit);
  if (pendingCount < PENDING_LIST_CAP) store<u32>(PENDING_LIST + (<usize>pendingCount << 2), line);
  else listOverflow = true;
  pendingCount++;
  if (line < minLine) minLine = line;
  if (line > maxLine) maxLine = line;
}

/** CLWB over [off, off+len): mark every touched line pending. */
export function flush(off: u32, len: u32): void {
  if (len == 0) return;
  flushCalls++;
  const last = (off + len - 1) >>> LINE_SHIFT;
  for (let line = off >>> LINE_SHIFT; line <= last; line++) markPending(line);
}

/** Number of lines flushed and not yet drained. */
export function pendingLineCount(): u32 {
  return pendingCount;
}

// Ranges are emitted into DRAIN_RANGES; when it fills, `emitBatch` hands the
// batch to `sink` (the host at a drain) and starts over.
let rangeCount: u32 = 0;
let runStart: u32 = 0;
let runLen: u32 = 0;

let rangesOverflowed = false; // collectPending(): more ranges than DRAIN_RANGES holds

function pushRange(start: u32, len: u32, toHost: bool): void {
  if (rangeCount == DRAIN_RANGES_CAP) {
    if (!toHost) { rangesOverflowed = true; return; }
    hostDrain(DRAIN_RANGES, rangeCount, false);
    rangeCount = 0;
  }
  const at = DRAIN_RANGES + (<usize>rangeCount << 3);
  store<u32>(at, start);
  store<u32>(at, len, 4);
  rangeCount++;
}

function addLine(line: u32, toHost: bool): void {
  if (runLen != 0 && line == runStart + runLen) { runLen++; return; }
  if (runLen != 0) pushRange(runStart, runLen, toHost);
  runStart = line;
  runLen = 1;
}

function sortPendingList(): void {
  // Insertion sort: drains are almost always a handful of lines.
  for (let i: u32 = 1; i < pendingCount; i++) {
    const v = load<u32>(PENDING_LIST + (<usize>i << 2));
    let j = i;
    while (j > 0) {
      const prev = load<u32>(PENDING_LIST + (<usize>(j - 1) << 2));
      if (prev <= v) break;
      store<u32>(PENDING_LIST + (<usize>j << 2), prev);
      j--;
    }
    store<u32>(PENDING_LIST + (<usize>j << 2), v);
  }
}

const SORT_LIMIT: u32 = 32;

/** Emit the pending set as sorted, coalesced ranges; returns the count left in DRAIN_RANGES. */
function buildRanges(toHost: bool): u32 {
  rangeCount = 0;
  runLen = 0;
  if (pendingCount == 0) return 0;
  if (!listOverflow && pendingCount <= SORT_LIMIT) {
    sortPendingList();
    for (let i: u32 = 0; i < pendingCount; i++) addLine(load<u32>(PENDING_LIST + (<usize>i << 2)), toHost);
  } else {
    // Walk the bitmap words between the extremes: sorted for free.
    for (let w = minLine >>> 6; w <= maxLine >>> 6; w++) {
      let word = load<u64>(PENDING_BITMAP + (<usize>w << 3));
      while (word != 0) {
        const bit = <u32>ctz(word);
        addLine((w << 6) + bit, toHost);
        word &= word - 1;
      }
    }
  }
  if (runLen != 0) pushRange(runStart, runLen, toHost);
  return rangeCount;
}

function clearPending(): void {
  if (!listOverflow) {
    for (let i: u32 = 0; i < pendingCount; i++) {
      const line = load<u32>(PENDING_LIST + (<usize>i << 2));
      const addr = bitmapWordAddr(line);
      store<u64>(addr, load<u64>(addr) & ~(<u64>1 << (line & 63)));
    }
  } else {
    memory.fill(bitmapWordAddr(minLine), 0, <usize>((maxLine >>> 6) - (minLine >>> 6) + 1) << 3);
  }
  pendingCount = 0;
  listOverflow = false;
  minLine = 0xFFFF_FFFF;
  maxLine = 0;
}

/** SFENCE: make every pending line durable with one host call (batched only past DRAIN_RANGES_CAP ranges). */
export function drain(): void {
  drainCalls++;
  if (pendingCount == 0) return;
  linesPersisted += pendingCount;
  const n = buildRanges(true);
  hostDrain(DRAIN_RANGES, n, true);
  clearPending();
}

/** flush + drain. */
export function persist(off: u32, len: u32): void {
  flush(off, len);
  drain();
}

/**
 * Write the pending set as ranges into DRAIN_RANGES without draining it
 * (crash simulation reads them). Returns the range count, or -1 if more
 * than DRAIN_RANGES_CAP separate ranges are pending.
 */
export function collectPending(): i32 {
  rangesOverflowed = false;
  const n = buildRanges(false);
  return rangesOverflowed ? -1 : <i32>n;
}

/** Forget the pending set without draining (the pool is being discarded). */
export function discardPending(): void {
  if (pendingCount != 0) clearPending();
}

export function resetFlushCounters(): void {
  flushCalls = 0;
  drainCalls = 0;
  linesPersisted = 0;
}
