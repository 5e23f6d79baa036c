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
//   - the host sees pool-relative line numbers, never absolute addresses;
//   - every line of EARLY_RANGES is pending too (flushFirst marks both), and
//     no drain hands the host a pending line before every early line is
//     durable (drainFirst hands it the early lines alone).
//
// Which cache is modelled is the host's choice, from its backend
// (setDeferred, docs/durability.md "eviction"): one that may write a line
// back on its own (pmem, a mapped file), or one that only drains write
// (file, OPFS, memory). A write that must be durable before the lines
// pending around it (the undo log's entries, a new run's empty bitmap) goes
// through flushAlone / drainAlone, which make the choice: eager — drained at
// once, since a line stored afterwards could reach the media any moment;
// deferred — ordered first (flushFirst), and written by the next drain,
// whoever makes it, in a drain of its own.

import {
  DRAIN_RANGES, DRAIN_RANGES_CAP, EARLY_RANGES, EARLY_RANGES_CAP, LINE_SHIFT, PENDING_BITMAP, PENDING_LIST,
  PENDING_LIST_CAP,
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

// ─── ordered flush ──────────────────────────────────────────────────────────

let earlyCount: u32 = 0; // ranges in EARLY_RANGES

// @ts-ignore: decorator
@inline function earlyFirst(i: u32): u32 { return load<u32>(EARLY_RANGES + (<usize>i << 3)); }
// @ts-ignore: decorator
@inline function earlyLen(i: u32): u32 { return load<u32>(EARLY_RANGES + (<usize>i << 3), 4); }

function setEarly(i: u32, first: u32, len: u32): void {
  store<u32>(EARLY_RANGES + (<usize>i << 3), first);
  store<u32>(EARLY_RANGES + (<usize>i << 3), len, 4);
}

/**
 * Ordered flush of [off, off+len): pending like flush(), and durable before
 * any other line at the next drain. A range that touches the last one
 * recorded (log entries are appended in order) extends it.
 */
export function flushFirst(off: u32, len: u32): void {
  if (len == 0) return;
  flush(off, len);
  const first = off >>> LINE_SHIFT;
  const end = ((off + len - 1) >>> LINE_SHIFT) + 1;
  if (earlyCount != 0) {
    const i = earlyCount - 1;
    const lf = earlyFirst(i), le = lf + earlyLen(i);
    if (first >= lf && first <= le) {
      if (end > le) setEarly(i, lf, end - lf);
      return;
    }
  }
  if (earlyCount == EARLY_RANGES_CAP) drain(); // full: make them durable now (still in order)
  setEarly(earlyCount, first, end - first);
  earlyCount++;
}

/** Sort EARLY_RANGES by first line and merge overlaps; returns the count left. */
function sortEarly(): u32 {
  for (let i: u32 = 1; i < earlyCount; i++) {
    const f = earlyFirst(i), l = earlyLen(i);
    let j = i;
    while (j > 0 && earlyFirst(j - 1) > f) { setEarly(j, earlyFirst(j - 1), earlyLen(j - 1)); j--; }
    setEarly(j, f, l);
  }
  let n: u32 = 0;
  for (let i: u32 = 0; i < earlyCount; i++) {
    const f = earlyFirst(i), e = f + earlyLen(i);
    if (n != 0 && f <= earlyFirst(n - 1) + earlyLen(n - 1)) {
      const pe = earlyFirst(n - 1) + earlyLen(n - 1);
      if (e > pe) setEarly(n - 1, earlyFirst(n - 1), e - earlyFirst(n - 1));
    } else {
      setEarly(n, f, e - f);
      n++;
    }
  }
  return n;
}

/** Emit the early lines as ranges (sorted, coalesced) into DRAIN_RANGES; returns their count. */
function buildEarlyRanges(toHost: bool): u32 {
  const n = sortEarly();
  earlyCount = n;
  rangeCount = 0;
  for (let i: u32 = 0; i < n; i++) pushRange(earlyFirst(i), earlyLen(i), toHost);
  return rangeCount;
}

/** Take the early lines out of the pending set (bitmap and list). */
function unmarkEarly(): void {
  for (let i: u32 = 0; i < earlyCount; i++) {
    const f = earlyFirst(i), e = f + earlyLen(i);
    for (let line = f; line < e; line++) {
      const addr = bitmapWordAddr(line);
      store<u64>(addr, load<u64>(addr) & ~(<u64>1 << (line & 63)));
    }
  }
  if (listOverflow) {
    pendingCount = 0; // recounted lazily: the bitmap between minLine and maxLine is authoritative
    for (let w = minLine >>> 6; w <= maxLine >>> 6; w++) pendingCount += <u32>popcnt(load<u64>(PENDING_BITMAP + (<usize>w << 3)));
  } else {
    let kept: u32 = 0;
    for (let i: u32 = 0; i < pendingCount; i++) {
      const line = load<u32>(PENDING_LIST + (<usize>i << 2));
      if (load<u64>(bitmapWordAddr(line)) & (<u64>1 << (line & 63))) {
        store<u32>(PENDING_LIST + (<usize>kept << 2), line);
        kept++;
      }
    }
    pendingCount = kept;
  }
  earlyCount = 0;
  if (pendingCount == 0) clearPending();
}

/** The first half of a drain with early lines: they alone, in a host call (and a drain) of their own. */
function drainEarly(): void {
  drainCalls++;
  const n = buildEarlyRanges(true);
  for (let i: u32 = 0; i < earlyCount; i++) linesPersisted += earlyLen(i);
  hostDrain(DRAIN_RANGES, n, true);
  unmarkEarly();
}

/**
 * Drain only the early lines (the first half of a drain); every other
 * pending line stays pending for the next drain. For a write that must be
 * durable after the early lines already flushed and before lines flushed
 * later with flushFirst, at the cost of one host call (deferred log only:
 * where only drains write, a line not drained is simply not written yet).
 */
export function drainFirst(): void {
  if (earlyCount != 0) drainEarly();
}

// ─── the cache modelled: eager or deferred ──────────────────────────────────

let deferred = false;

/** Choose the deferred order (true: only drains write the pool) or the eager one. The host sets it before create / open. */
export function setDeferred(on: bool): void {
  deferred = on;
}

/** Are the undo log's entries made durable by the next drain rather than at once? */
export function deferredLog(): bool { return deferred; }

/** Flush [off, off+len) for drainAlone: ordered first when deferred. */
export function flushAlone(off: u32, len: u32): void {
  if (deferred) flushFirst(off, len);
  else flush(off, len);
}

/**
 * Make what flushAlone flushed durable (with the log's pending entries) —
 * deferred: in a drain of the early lines alone, so that the caller's other
 * pending lines (data the entries protect) wait for a later drain; eager:
 * an ordinary drain.
 */
export function drainAlone(): void {
  if (deferred) drainFirst();
  else drain();
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

/**
 * SFENCE: make every pending line durable with one host call (batched only
 * past DRAIN_RANGES_CAP ranges) — preceded, when there are early lines, by
 * the drain that makes them durable first.
 */
export function drain(): void {
  if (earlyCount != 0) {
    drainEarly();
    if (pendingCount == 0) return; // the early lines were all there was: one drain
  }
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

/**
 * Like collectPending, but only the lines the next drain's first host call
 * would carry — what a crash could catch in flight: the early lines if
 * there are any, else the whole pending set.
 */
export function collectInFlight(): i32 {
  if (earlyCount == 0) return collectPending();
  rangesOverflowed = false;
  const n = buildEarlyRanges(false);
  return rangesOverflowed ? -1 : <i32>n;
}

/** Forget the pending set without draining (the pool is being discarded). */
export function discardPending(): void {
  if (pendingCount != 0) clearPending();
  earlyCount = 0;
}

export function resetFlushCounters(): void {
  flushCalls = 0;
  drainCalls = 0;
  linesPersisted = 0;
}
