// tx.ts — the undo log and transactions.
//
// The log lives in the fixed area [logOff, heapOff) and grows into extension
// blocks (one heap chunk each) when a transaction needs more:
//
//   logOff ┌ u64 seq │ u32 first extension │ zero ┐ 64 B
//          ├ entry ─┬ u32 off │ u32 len │ u64 check ┤ 16 B
//          │        └ old bytes, padded to 16 ──────┤
//          ├ entry ... ─────────────────────────────┤
//   ext    ┌ u32 next extension │ zero ┐ entries ... (object type TYPE_LOG_EXT)
//
// An entry is valid iff `check` = hash(old bytes; seq, off, len) for the
// current seq. Committing (or aborting, or recovering) bumps seq with one
// aligned 8-byte store + persist, which invalidates every entry at once;
// stale entries from earlier transactions can never validate again.
//
// Protocol (drains per step):
//   addRange  copy old bytes to the log, persist the entry           1 drain
//             (several ranges added by one call share that drain)
//   commit    log the allocator words this tx changes, if any        1 drain
//             apply them, flush every logged range + new objects      1 drain
//             seq++ and persist                                       1 drain
//   abort     restore old bytes in reverse order, persist             1 drain
//             seq++ and persist                                       1 drain
// Ranges already logged in this tx (even partly) are not logged again:
// TX_RANGES keeps the sorted, merged set. Because nothing is logged twice,
// each byte's entry is its pre-tx value; rollback still goes newest first.
//
// Allocation in a tx only reserves (heap.ts); frees are only recorded. The
// persistent bitmap / chunk words change at commit, under the same log, so a
// crash or abort leaves no leak and no freed-then-reused block.
// Nested transactions flatten: only the outermost commit commits; an abort at
// any depth aborts everything and the outer levels then end with TX_ABORTED.

import { Code } from "./errors";
import { LOG_BLOCKS, LOG_BLOCKS_CAP, LOG_POSITIONS, LOG_POSITIONS_CAP, TX_ALLOCS, TX_FREES, TX_LIST_CAP, TX_RANGES, TX_RANGES_CAP, abs } from "./layout";
import { CHUNK_SIZE, chunkCount, logOff, logSize, poolSize } from "./format";
import { hash64 } from "./hash";
import { drain, flush, persist } from "./flush";
import { OBJ_HEADER } from "./classes";
import { KIND_LARGE, argOf, chunkOf, chunkStart, chunkWord, chunkWordOff, claimChunks, clearReservations, kindOf, makeChunkWord, unclaimChunks } from "./heap";
import { isReserved, unreserve } from "./heap";
import { TYPE_LOG_EXT, commitObject, metaWordOff, objectDataLen, releaseObject, unclaimObject, writeObjectHeader } from "./alloc";

const LOG_HEADER: u32 = 64;
const LINK_OFF: u32 = 8; // first-extension link inside the log header
const ENTRY_HEADER: u32 = 16;
/** Longest single entry; longer ranges are split. */
const MAX_ENTRY: u32 = 16 << 10;
/** Payload of an extension block: one chunk minus the object header. */
const EXT_PAYLOAD: u32 = CHUNK_SIZE - OBJ_HEADER;
const EXT_HEADER: u32 = 16;
const K: u64 = 0x9E3779B97F4A7C15;

let seq: u64 = 0;
let depth: u32 = 0;
let aborted = false;
let writePos: u32 = 0;
let blockEnd: u32 = 0;
let linkOff: u32 = 0; // where the next extension block gets linked
let extCount: u32 = 0;
let rangeCount: u32 = 0;
let allocCount: u32 = 0;
let freeCount: u32 = 0;
export let recoveredEntries: u32 = 0;

// @ts-ignore: decorator
@inline function align16(v: u32): u32 { return (v + 15) & ~15; }

function entryCheck(dataAddr: usize, off: u32, len: u32): u64 {
  return hash64(dataAddr, len, seq * K ^ ((<u64>off << 32) | <u64>len));
}

export function inTx(): bool { return depth > 0; }
export function txAborted(): bool { return aborted; }
export function txDepth(): u32 { return depth; }
export function logSeq(): u64 { return seq; }

/** Load the log's sequence number (open/create). */
export function loadLog(): void {
  seq = load<u64>(abs(logOff));
  depth = 0;
  aborted = false;
}

/** Initialise the log of a fresh pool (seq 1, no extensions); the caller persists. */
export function formatLog(): void {
  store<u64>(abs(logOff), 1);
  store<u32>(abs(logOff + LINK_OFF), 0);
}

// ─── writing entries ────────────────────────────────────────────────────────

/** Grow the log by one extension block; false if the heap has no chunk for it. */
function nextBlock(): bool {
  if (extCount == LOG_BLOCKS_CAP) return false;
  const c = claimChunks(1);
  if (c < 0) return false;
  const payload = chunkStart(<u32>c) + OBJ_HEADER;
  writeObjectHeader(payload, TYPE_LOG_EXT, EXT_PAYLOAD);
  store<u32>(abs(payload), 0);
  flush(payload - OBJ_HEADER, OBJ_HEADER + 4);
  drain();
  // Link first, then make the chunk live: a crash in between leaves a link
  // to a free chunk, which readers treat as the end of the chain.
  store<u32>(abs(linkOff), payload);
  persist(linkOff, 4);
  store<u64>(abs(chunkWordOff(<u32>c)), makeChunkWord(KIND_LARGE, 0, 1));
  persist(chunkWordOff(<u32>c), 8);
  store<u32>(LOG_BLOCKS + (<usize>extCount << 2), payload);
  extCount++;
  linkOff = payload;
  writePos = payload + EXT_HEADER;
  blockEnd = payload + EXT_PAYLOAD;
  return true;
}

function appendEntry(off: u32, len: u32): bool {
  const need = ENTRY_HEADER + align16(len);
  if (writePos + need > blockEnd && !nextBlock()) return false;
  const data = abs(writePos + ENTRY_HEADER);
  memory.copy(data, abs(off), len);
  store<u32>(abs(writePos), off);
  store<u32>(abs(writePos), len, 4);
  store<u64>(abs(writePos), entryCheck(data, off, len), 8);
  flush(writePos, ENTRY_HEADER + len);
  writePos += need;
  return true;
}

// ─── the set of ranges logged in this tx ────────────────────────────────────

// @ts-ignore: decorator
@inline function rStart(i: u32): u32 { return load<u32>(TX_RANGES + (<usize>i << 3)); }
// @ts-ignore: decorator
@inline function rEnd(i: u32): u32 { return load<u32>(TX_RANGES + (<usize>i << 3), 4); }

/** First range whose end is >= v (ranges are sorted and disjoint). */
function firstEndingAtOrAfter(v: u32): u32 {
  let lo: u32 = 0, hi = rangeCount;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rEnd(mid) < v) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** Add [s, e) to the set, merging with every range it touches. */
function insertRange(s: u32, e: u32): void {
  const i = firstEndingAtOrAfter(s);
  let j = i;
  while (j < rangeCount && rStart(j) <= e) j++;
  const ns = i < j && rStart(i) < s ? rStart(i) : s;
  const ne = i < j && rEnd(j - 1) > e ? rEnd(j - 1) : e;
  const removed = j - i;
  if (removed != 1) {
    memory.copy(TX_RANGES + (<usize>(i + 1) << 3), TX_RANGES + (<usize>j << 3), <usize>(rangeCount - j) << 3);
    rangeCount = rangeCount + 1 - removed;
  }
  store<u32>(TX_RANGES + (<usize>i << 3), ns);
  store<u32>(TX_RANGES + (<usize>i << 3), ne, 4);
}

/**
 * Log the parts of [off, off+len) not yet logged in this tx (no drain: the
 * caller drains once for everything it logged).
 */
export function logRange(off: u32, len: u32): Code {
  if (len == 0) return Code.OK;
  assert(<u64>off + len <= <u64>poolSize, "logRange: range outside the pool");
  if (rangeCount >= TX_RANGES_CAP - 1) return Code.TX_TOO_LARGE;
  const end = off + len;
  let cur = off;
  let i = firstEndingAtOrAfter(off + 1);
  while (cur < end) {
    if (i < rangeCount && rStart(i) <= cur) {
      if (rEnd(i) > cur) cur = rEnd(i);
      i++;
      continue;
    }
    const gapEnd = i < rangeCount && rStart(i) < end ? rStart(i) : end;
    while (cur < gapEnd) {
      const piece = gapEnd - cur < MAX_ENTRY ? gapEnd - cur : MAX_ENTRY;
      if (!appendEntry(cur, piece)) return Code.LOG_FULL;
      cur += piece;
    }
  }
  insertRange(off, end);
  return Code.OK;
}

// ─── begin / add / commit / abort ───────────────────────────────────────────

export function txBegin(): Code {
  if (depth == 0) {
    writePos = logOff + LOG_HEADER;
    blockEnd = logOff + logSize;
    linkOff = logOff + LINK_OFF;
    extCount = 0;
    rangeCount = 0;
    allocCount = 0;
    freeCount = 0;
    aborted = false;
  } else if (aborted) {
    return Code.TX_ABORTED;
  }
  depth++;
  return Code.OK;
}

/** Usable by every tx operation: is there a live, non-aborted tx? */
export function txReady(): Code {
  if (depth == 0) return Code.TX_STATE;
  if (aborted) return Code.TX_ABORTED;
  return Code.OK;
}

/** Snapshot [off, off+len) and persist the entry before returning. */
export function txAddRange(off: u32, len: u32): Code {
  const ready = txReady();
  if (ready != Code.OK) return ready;
  const code = logRange(off, len);
  drain();
  return code;
}

export function recordAlloc(off: u32): bool {
  if (allocCount == TX_LIST_CAP) return false;
  store<u32>(TX_ALLOCS + (<usize>allocCount << 2), off);
  allocCount++;
  return true;
}

export function recordFree(off: u32): bool {
  if (freeCount == TX_LIST_CAP) return false;
  store<u32>(TX_FREES + (<usize>freeCount << 2), off);
  freeCount++;
  return true;
}

// @ts-ignore: decorator
@inline function allocAt(i: u32): u32 { return load<u32>(TX_ALLOCS + (<usize>i << 2)); }
// @ts-ignore: decorator
@inline function freeAt(i: u32): u32 { return load<u32>(TX_FREES + (<usize>i << 2)); }

/** Log, then apply, the allocator words of this tx's allocs and frees. */
function applyAllocatorChanges(): Code {
  if (allocCount == 0 && freeCount == 0) return Code.OK;
  for (let i: u32 = 0; i < allocCount; i++) {
    const off = allocAt(i);
    if (!isReserved(off)) continue;
    const code = logRange(metaWordOff(off), 8);
    if (code != Code.OK) return code;
  }
  for (let i: u32 = 0; i < freeCount; i++) {
    const code = logRange(metaWordOff(freeAt(i)), 8);
    if (code != Code.OK) return code;
  }
  drain();
  for (let i: u32 = 0; i < allocCount; i++) {
    const off = allocAt(i);
    if (!unreserve(off)) continue;
    commitObject(off);
    // New objects were written without snapshots: all of them must be durable.
    flush(off - OBJ_HEADER, OBJ_HEADER + objectDataLen(off));
  }
  for (let i: u32 = 0; i < freeCount; i++) releaseObject(freeAt(i));
  return Code.OK;
}

function flushLoggedRanges(): void {
  for (let i: u32 = 0; i < rangeCount; i++) flush(rStart(i), rEnd(i) - rStart(i));
}

/** Invalidate every entry with one 8-byte store, then drop the extension blocks. */
function invalidateLog(): void {
  seq++;
  store<u64>(abs(logOff), seq);
  persist(logOff, 8);
  releaseExtensions(true);
}

/**
 * Free the extension chain. The log is already invalid, so a crash here at
 * worst leaves blocks that the next open sweeps (recovery.ts).
 */
function releaseExtensions(volatileToo: bool): void {
  for (let i: u32 = 0; i < extCount; i++) {
    const payload = load<u32>(LOG_BLOCKS + (<usize>i << 2));
    const c = <u32>chunkOf(payload);
    store<u64>(abs(chunkWordOff(c)), 0);
    persist(chunkWordOff(c), 8);
    if (volatileToo) unclaimChunks(c, 1);
  }
  if (extCount != 0) {
    store<u32>(abs(logOff + LINK_OFF), 0);
    persist(logOff + LINK_OFF, 4);
  }
  extCount = 0;
}

export function endTx(): void {
  depth = 0;
  rangeCount = 0;
  allocCount = 0;
  freeCount = 0;
  clearReservations();
}

/** Flush what the tx logged, drain, invalidate the log: the tx is durable. */
export function finishCommit(): void {
  flushLoggedRanges();
  drain();
  invalidateLog();
}

export function txCommit(): Code {
  if (depth == 0) return Code.TX_STATE;
  if (aborted) {
    depth--;
    if (depth == 0) aborted = false;
    return Code.TX_ABORTED;
  }
  if (depth > 1) { depth--; return Code.OK; }
  const code = applyAllocatorChanges();
  if (code != Code.OK) {
    rollbackOpenTx();
    return code;
  }
  if (logTouched()) finishCommit(); // an empty tx costs no drain
  // Only now, with the commit durable, may freed space be handed out again.
  for (let i: u32 = 0; i < freeCount; i++) unclaimObject(freeAt(i));
  endTx();
  return Code.OK;
}

/** Has the open tx written anything to the log? (If not, there is nothing to undo or invalidate.) */
function logTouched(): bool {
  return writePos != logOff + LOG_HEADER || extCount != 0;
}

function rollbackOpenTx(): void {
  if (logTouched()) {
    rollbackBlocks(true);
    invalidateLog();
  }
  for (let i: u32 = 0; i < allocCount; i++) {
    const off = allocAt(i);
    if (unreserve(off)) unclaimObject(off);
  }
  endTx();
}

export function txAbort(): Code {
  if (depth == 0) return Code.TX_STATE;
  if (!aborted) {
    const levels = depth;
    rollbackOpenTx();
    depth = levels;
    aborted = true;
  }
  depth--;
  if (depth == 0) aborted = false; // else outer levels end with TX_ABORTED
  return Code.OK;
}

// ─── reading the log (abort and recovery) ───────────────────────────────────

/** Is `payload` a live log extension block? */
function validExtension(payload: u32): bool {
  const c = chunkOf(payload);
  if (c < 0 || payload != chunkStart(<u32>c) + OBJ_HEADER) return false;
  const w = chunkWord(<u32>c);
  return kindOf(w) == KIND_LARGE && argOf(w) == 1 && load<u32>(abs(payload - OBJ_HEADER)) == TYPE_LOG_EXT;
}

/** Collect the chain of extension blocks into LOG_BLOCKS (validated, bounded). */
function collectExtensions(): u32 {
  let n: u32 = 0;
  let p = load<u32>(abs(logOff + LINK_OFF));
  while (p != 0 && n < LOG_BLOCKS_CAP && validExtension(p)) {
    store<u32>(LOG_BLOCKS + (<usize>n << 2), p);
    n++;
    p = load<u32>(abs(p));
  }
  return n;
}

/** Roll back the valid entries of one block, newest first; returns how many. */
function rollbackBlock(start: u32, end: u32): u32 {
  let n: u32 = 0;
  let pos = start;
  while (pos + ENTRY_HEADER <= end && n < LOG_POSITIONS_CAP) {
    const off = load<u32>(abs(pos));
    const len = load<u32>(abs(pos), 4);
    if (len == 0 || len > MAX_ENTRY || <u64>off + len > <u64>poolSize) break;
    if (pos + ENTRY_HEADER + align16(len) > end) break;
    if (load<u64>(abs(pos), 8) != entryCheck(abs(pos + ENTRY_HEADER), off, len)) break;
    store<u32>(LOG_POSITIONS + (<usize>n << 2), pos);
    n++;
    pos += ENTRY_HEADER + align16(len);
  }
  for (let i = n; i > 0; i--) {
    const at = load<u32>(LOG_POSITIONS + (<usize>(i - 1) << 2));
    const off = load<u32>(abs(at));
    const len = load<u32>(abs(at), 4);
    memory.copy(abs(off), abs(at + ENTRY_HEADER), len);
    flush(off, len);
  }
  return n;
}

/**
 * Restore every valid entry, blocks newest first, and drain. `known` says
 * the block list is the open tx's own (abort); otherwise it is read from
 * the persistent chain (recovery). Returns the number of entries restored.
 */
function rollbackBlocks(known: bool): u32 {
  const blocks = known ? extCount : collectExtensions();
  let restored: u32 = 0;
  for (let b = blocks; b > 0; b--) {
    const payload = load<u32>(LOG_BLOCKS + (<usize>(b - 1) << 2));
    restored += rollbackBlock(payload + EXT_HEADER, payload + EXT_PAYLOAD);
  }
  restored += rollbackBlock(logOff + LOG_HEADER, logOff + logSize);
  drain();
  return restored;
}

/**
 * Open-time recovery: roll back any valid log, invalidate it, free its
 * extension blocks. Idempotent: a crash anywhere in here leaves either a
 * valid log (rolled back again next time: restoring old bytes twice is
 * harmless) or an invalid one whose blocks the heap rebuild sweeps.
 * Runs before the heap's volatile state exists, so it only writes words.
 */
export function recoverLog(): u32 {
  loadLog();
  extCount = collectExtensions();
  recoveredEntries = rollbackBlocks(true);
  if (recoveredEntries != 0) {
    seq++;
    store<u64>(abs(logOff), seq);
    persist(logOff, 8);
  }
  releaseExtensions(false);
  if (load<u32>(abs(logOff + LINK_OFF)) != 0) {
    store<u32>(abs(logOff + LINK_OFF), 0);
    persist(logOff + LINK_OFF, 4);
  }
  sweepOrphanExtensions();
  return recoveredEntries;
}

/**
 * Free extension blocks no chain names any more (a crash while a tx was
 * releasing them). No tx is open at open time, so every one is garbage.
 */
function sweepOrphanExtensions(): void {
  for (let c: u32 = 0; c < chunkCount; c++) {
    const w = chunkWord(c);
    if (kindOf(w) != KIND_LARGE) continue;
    if (argOf(w) == 1 && load<u32>(abs(chunkStart(c))) == TYPE_LOG_EXT) {
      store<u64>(abs(chunkWordOff(c)), 0);
      persist(chunkWordOff(c), 8);
    }
    c += argOf(w) - 1;
  }
}

/** True if the log holds a valid entry (only legal inside a tx). */
export function logHasValidEntry(): bool {
  const pos = logOff + LOG_HEADER;
  const off = load<u32>(abs(pos));
  const len = load<u32>(abs(pos), 4);
  if (len == 0 || len > MAX_ENTRY || <u64>off + len > <u64>poolSize) return false;
  return load<u64>(abs(pos), 8) == entryCheck(abs(pos + ENTRY_HEADER), off, len);
}
