// log.ts — the undo log, and the record of the open transaction.
//
// The log lives in the fixed area [logOff, heapOff) and grows into extension
// blocks (one heap chunk each, object type TYPE_LOG_EXT) when a transaction
// needs more:
//
//   logOff ┌ seq word  bits 0..39 seq │ 40..55 count │ 56..63 fold8 ┐ 64 B
//          │ link word u32 first extension │ u32 its complement     │
//          │ zero ────────────────────────────────────────────────────┤
//          ├ entry ─┬ u32 off │ u32 len │ u64 check ────────────────┤ 16 B
//          │        └ old bytes, padded to 16 ──────────────────────┤
//          ├ entry ... ───────────────────────────────────────────────┤
//   ext    ┌ next word u32 next extension │ u32 complement │ zero ┐ 16 B
//          └ entries ...
//
// Entries are numbered 0, 1, 2 … across the fixed area and the blocks in
// chain order. Entry i is valid iff check = hash(old bytes; seq, off, len, i)
// for the current seq: a stale entry (older seq), a torn one, or one read at
// the wrong place or out of order never validates.
//
// Every header word is self-checking (checked.ts): damage is refused as
// CORRUPT_LOG, never obeyed. `count` says how many entries are known durable:
// when the caller drains inside a transaction (pool.drain / persist: the
// only way, besides commit, that snapshotted ranges can become durable
// before the log is invalidated), the entries earlier drains made durable
// are counted first — one store + flush riding along with that drain, so
// transactions that do not drain by hand pay nothing. Recovery therefore
// accepts a torn tail — entries past `count`, which a drain may have kept in
// any subset of its lines; while they are uncounted, the ranges they
// protect were not made durable by the caller, so stopping there loses
// nothing — but refuses a log in which any entry below `count` fails: a
// damaged entry never causes a partial rollback. What it cannot tell from a
// torn write (docs/format.md): damage to uncounted entries during the
// commit's own drains, or after a line the caller stored into was evicted.
//
// Two orders of making entries durable (flush.ts: setDeferred, chosen by the
// host from its backend, docs/durability.md "eviction"; flushAlone and
// drainAlone follow it):
// - eager (a cache that may write lines back on its own: pmem, a mapped
//   file): each snapshot's entries are drained before the caller may store
//   into the range — a line stored afterwards could reach the media any
//   moment;
// - deferred (only drains write: file, OPFS, memory): entries are flushed
//   with flushFirst and no drain is made for them; the next drain, whoever
//   makes it, writes them first in a drain of their own. A commit then
//   costs 3 drains whatever the number of snapshots, and a transaction
//   that fits in the blocks the chain already has costs nothing more.
// Either way the commit counts every entry (count = appended) in its data
// drain, so damage to a committed transaction's entries is refused, not
// taken for a torn tail.
//
// Invariants:
// - Committing, aborting and every open move seq on (one aligned 8-byte
//   store + persist, which also sets count to 0): all entries become stale
//   at once, and no entry can ever validate under a later transaction.
// - A rollback never reads past what the current transaction wrote: abort
//   stops at the entries this session appended; recovery at the first
//   invalid entry (and only after checking it is not below `count`).
// - Extension blocks are linked before they become live (a link may name a
//   free chunk: the end of the chain) and released last-first, so a crash
//   never leaves a live block that no chain names.
// - The chain outlives the transaction that grew it: commit and abort only
//   move seq on, so the blocks' entries go stale at once, and the next
//   transaction that outgrows the fixed area writes over them in chain order
//   with no drain (the block is linked and live already). The chain is
//   exactly LOG_BLOCKS[0, kept) — the session uses its first extCount
//   blocks — and is given back only when an allocation needs chunks the
//   heap has not and the pool cannot grow (releaseLogBlocks, which alloc.ts
//   calls: the heap is below the log) or by recovery at open.
//
// Ranges already logged in this tx (even partly) are not logged again:
// TX_RANGES keeps the sorted, merged set, so each byte's entry is its
// pre-tx value. Allocation in a tx only reserves; frees are only recorded
// (TX_ALLOCS / TX_FREES); tx.ts applies both at commit under this log.

import { Code, noteDamage } from "./errors";
import {
  LOG_BLOCKS, LOG_BLOCKS_CAP, LOG_BLOCK_FIRST, LOG_POSITIONS, LOG_POSITIONS_CAP, TX_ALLOCS, TX_FREES, TX_LIST_CAP,
  TX_RANGES, TX_RANGES_CAP, abs,
} from "./layout";
import { CHUNK_SIZE, logOff, logSize, poolSize } from "./format";
import { hash64 } from "./hash";
import { complementValid, complementWord, fold8 } from "./checked";
import { deferredLog, drain, drainAlone, drainCalls, flush, flushAlone, persist } from "./flush";
import { OBJ_HEADER, TYPE_LOG_EXT, headerValid, objectType, writeObjectHeader } from "./object";
import { chunkOf, claimChunks, unclaimChunks } from "./heap";
import { FLAG_ALIGN64, KIND_FREE, KIND_LARGE, argOf, chunkStart, chunkWord, flagsOf, freeWord, kindOf, makeChunkWord, setChunkWord, chunkWordOff } from "./table";

const LOG_HEADER: u32 = 64;
const LINK_OFF: u32 = 8; // link word inside the log header
const ENTRY_HEADER: u32 = 16;
/** Longest single entry; longer ranges are split. */
const MAX_ENTRY: u32 = 16 << 10;
/** Payload of an extension block: one chunk minus the object header. */
const EXT_PAYLOAD: u32 = CHUNK_SIZE - OBJ_HEADER;
const EXT_HEADER: u32 = 16;
const K: u64 = 0x9E3779B97F4A7C15;
const SEQ_MASK: u64 = (<u64>1 << 40) - 1;
const COUNT_MAX: u32 = 0xFFFF;

let seq: u64 = 0;
let depth: u32 = 0;
let aborted = false;
let writePos: u32 = 0;
let blockEnd: u32 = 0;
let extCount: u32 = 0; // extension blocks the open log session writes into
let kept: u32 = 0; // extension blocks in the persistent chain (extCount <= kept)
let appended: u32 = 0; // entries written by the open log session
let confirmed: u32 = 0; // the count last stored in the seq word
let drainsAtLastAppend: u64 = 0; // flush.drainCalls when the last entry was appended
let rangeCount: u32 = 0;
let allocCount: u32 = 0;
let freeCount: u32 = 0;
// The savepoint (group commit): where the transaction stood when the current
// member began; spDepth 0 = none. An abort below it rolls back to it only.
let spEntries: u32 = 0;
let spAllocs: u32 = 0;
let spFrees: u32 = 0;
let spDepth: u32 = 0;
export let recoveredEntries: u32 = 0;

// @ts-ignore: decorator
@inline function align16(v: u32): u32 { return (v + 15) & ~15; }

// ─── the header words ───────────────────────────────────────────────────────

function seqWord(s: u64, count: u32): u64 {
  const v = (s & SEQ_MASK) | (<u64>(count < COUNT_MAX ? count : COUNT_MAX) << 40);
  return v | (<u64>fold8(v) << 56);
}

// @ts-ignore: decorator
@inline function seqWordValid(w: u64): bool { return <u32>(w >>> 56) == fold8(w & 0x00FF_FFFF_FFFF_FFFF); }

/** Count every appended entry in the seq word (one aligned 8-byte store, flushed: durable with the next drain, after the entries). */
function countAppended(): void {
  confirmed = appended;
  store<u64>(abs(logOff), seqWord(seq, confirmed));
  flush(logOff, 8);
}

/**
 * Before a drain the caller makes inside a transaction: count the entries
 * that will be durable before this drain's other lines — all of them when
 * deferred (the drain writes them first), else those an earlier drain made
 * durable. The count rides along with the drain.
 */
export function countDurable(): void {
  if (depth == 0 || appended == confirmed) return;
  if (!deferredLog() && drainCalls == drainsAtLastAppend) return;
  countAppended();
}

function entryCheck(dataAddr: usize, off: u32, len: u32, index: u32): u64 {
  return hash64(dataAddr, len, seq * K ^ ((<u64>off << 32) | <u64>len) ^ rotr<u64>(<u64>index * K, 23));
}

export function inTx(): bool { return depth > 0; }
export function txAborted(): bool { return aborted; }
export function txDepth(): u32 { return depth; }
export function logSeq(): u64 { return seq; }

/** Load the log's sequence number (open/create; the seq word was validated or just written) and forget any earlier session. */
export function loadLog(): void {
  seq = load<u64>(abs(logOff)) & SEQ_MASK;
  depth = 0;
  spDepth = 0; // a reused instance may have crashed inside a batch member
  aborted = false;
  appended = 0;
  confirmed = 0;
  extCount = 0;
  kept = 0; // recovery released the chain
  rangeCount = 0;
}

/** Initialise the log of a fresh pool (seq 1, no extensions); the caller persists. */
export function formatLog(): void {
  seq = 1;
  store<u64>(abs(logOff), seqWord(seq, 0));
  store<u64>(abs(logOff + LINK_OFF), complementWord(0));
}

// ─── the record of the open transaction ─────────────────────────────────────

/** Enter a transaction level; at depth 0 a fresh log session starts. */
export function enterTx(): Code {
  if (depth == 0) {
    beginLog();
    allocCount = 0;
    freeCount = 0;
    aborted = false;
  } else if (aborted) {
    return Code.TX_ABORTED;
  }
  depth++;
  return Code.OK;
}

/** Leave one level; returns the depth left. */
export function leaveTx(): u32 { return --depth; }

export function markAborted(levels: u32): void { depth = levels; aborted = true; }
export function clearAborted(): void { aborted = false; }

/** Usable by every tx operation: is there a live, non-aborted tx? */
export function txReady(): Code {
  if (depth == 0) return Code.TX_STATE;
  if (aborted) return Code.TX_ABORTED;
  return Code.OK;
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

export function allocsRecorded(): u32 { return allocCount; }
export function freesRecorded(): u32 { return freeCount; }
// @ts-ignore: decorator
@inline export function allocAt(i: u32): u32 { return load<u32>(TX_ALLOCS + (<usize>i << 2)); }
// @ts-ignore: decorator
@inline export function freeAt(i: u32): u32 { return load<u32>(TX_FREES + (<usize>i << 2)); }

/**
 * Mark where the open transaction stands now: an abort at a deeper level
 * rolls back to here only. The ranges logged so far are flushed (the
 * commit's drain makes them durable, as it would have) and forgotten, so
 * that a range changed after the savepoint is logged again, with its value
 * at that change: rolling back to the savepoint restores exactly that, and
 * recovery, restoring every entry newest first, still ends with each range's
 * value from before the transaction.
 */
export function setSavepoint(): void {
  for (let i: u32 = 0; i < rangeCount; i++) flush(rStart(i), rEnd(i) - rStart(i));
  rangeCount = 0;
  spEntries = appended;
  spAllocs = allocCount;
  spFrees = freeCount;
  spDepth = depth;
}

/** Depth of the level the savepoint belongs to (0: none). */
export function savepointDepth(): u32 { return spDepth; }

/**
 * Was `off` (reserved by this transaction) allocated since the savepoint —
 * by the member running now? Without a savepoint below the current level,
 * every allocation of the transaction counts. A member freeing an object an
 * earlier member allocated must not give the space back at once: rolling
 * the member back would lose the object. Scans the member's own allocations.
 */
export function allocatedSinceSavepoint(off: u32): bool {
  if (spDepth == 0 || depth <= spDepth) return true;
  for (let i = spAllocs; i < allocCount; i++) if (allocAt(i) == off) return true;
  return false;
}

/** Frees recorded before the savepoint (those after it are the caller's to unmark on rollback). */
export function savepointFrees(): u32 { return spFrees; }
/** Allocations recorded before the savepoint (those after it are the caller's to release). */
export function savepointAllocs(): u32 { return spAllocs; }

/**
 * Undo everything since the savepoint: restore the entries appended since,
 * newest first (they stay in the log: each holds its range's value from
 * before the transaction, which is also its value at the savepoint, since
 * a range is logged only the first time it changes), and forget the
 * allocations and frees recorded since. Releasing those allocations is the
 * caller's (tx.ts).
 */
export function rollbackToSavepoint(): void {
  if (appended > spEntries) rollbackEntries(spEntries, appended, false);
  allocCount = spAllocs;
  freeCount = spFrees;
}

/** Forget the open transaction's record (after commit or abort). */
export function endTx(): void {
  spDepth = 0;
  depth = 0;
  rangeCount = 0;
  allocCount = 0;
  freeCount = 0;
}

// ─── writing entries ────────────────────────────────────────────────────────

/** Start writing a fresh log (a transaction, or one atomic publish). */
export function beginLog(): void {
  writePos = logOff + LOG_HEADER;
  blockEnd = logOff + logSize;
  extCount = 0;
  appended = 0;
  confirmed = 0;
  drainsAtLastAppend = drainCalls;
  rangeCount = 0;
  store<u32>(LOG_BLOCK_FIRST, 0);
}

/** Move the session on to its next extension block, linking a new one when it has used every kept block; false if the heap has no chunk for it. */
function nextBlock(): bool {
  if (extCount == kept && !linkNewBlock()) return false;
  const payload = blockPayload(extCount + 1);
  extCount++;
  store<u32>(LOG_BLOCK_FIRST + (<usize>extCount << 2), appended);
  writePos = payload + EXT_HEADER;
  blockEnd = payload + EXT_PAYLOAD;
  return true;
}

/** Where the link to the chain's next block lives: the log header's link word, or the last kept block's next word. */
function chainEndLink(): u32 { return kept == 0 ? logOff + LINK_OFF : blockPayload(kept); }

/** Append a fresh chunk to the persistent chain (kept + 1); false if the heap has none. */
function linkNewBlock(): bool {
  if (kept == LOG_BLOCKS_CAP) return false;
  const c = claimChunks(1);
  if (c < 0) return false;
  const cc = <u32>c;
  const payload = chunkStart(cc) + OBJ_HEADER;
  writeObjectHeader(payload, TYPE_LOG_EXT, EXT_PAYLOAD);
  store<u64>(abs(payload), complementWord(0));
  // Header and link durable in one drain: while the chunk is FREE, a link
  // to it reads as the end of the chain whatever the chunk holds.
  const link = chainEndLink();
  store<u64>(abs(link), complementWord(payload));
  flushAlone(payload - OBJ_HEADER, OBJ_HEADER + 8);
  flushAlone(link, 8);
  drainAlone();
  // Then make the chunk live: after the link (a crash in between leaves a
  // link to a free chunk) and before any line its entries protect.
  setChunkWord(cc, makeChunkWord(KIND_LARGE, 0, 1, cc));
  flushAlone(chunkWordOff(cc), 8);
  drainAlone();
  store<u32>(LOG_BLOCKS + (<usize>kept << 2), payload);
  kept++;
  return true;
}

function appendEntry(off: u32, len: u32): bool {
  const need = ENTRY_HEADER + align16(len);
  if (writePos + need > blockEnd && !nextBlock()) return false;
  const data = abs(writePos + ENTRY_HEADER);
  memory.copy(data, abs(off), len);
  store<u32>(abs(writePos), off);
  store<u32>(abs(writePos), len, 4);
  store<u64>(abs(writePos), entryCheck(data, off, len, appended), 8);
  flushAlone(writePos, ENTRY_HEADER + len);
  writePos += need;
  appended++;
  drainsAtLastAppend = drainCalls;
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
 * Log the parts of [off, off+len) not yet logged in this log session (no
 * drain: the caller drains once for everything it logged).
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

/**
 * [off, off+len) is about to be written but needs no undo entry: bytes no
 * live structure reads before the transaction's writes name them (a B+-tree
 * node's free gap), so rolling back what names them is enough. Recorded as
 * a logged range without an entry, so the commit (or the next savepoint)
 * flushes it with the rest. The caller guarantees the bytes were unused
 * since the transaction (or its savepoint) began: a later logRange over
 * them in this stretch writes no entry, so they keep whatever they hold.
 */
export function markUnlogged(off: u32, len: u32): Code {
  if (len == 0) return Code.OK;
  assert(<u64>off + len <= <u64>poolSize, "markUnlogged: range outside the pool");
  if (rangeCount >= TX_RANGES_CAP - 1) return Code.TX_TOO_LARGE;
  insertRange(off, off + len);
  return Code.OK;
}

/** Has the open log session written anything? (If not, there is nothing to undo or invalidate.) */
export function logTouched(): bool { return appended != 0 || extCount != 0; }

// ─── commit and invalidation ────────────────────────────────────────────────

/**
 * Count the entries, flush what the session logged, drain (entries first
 * when deferred), invalidate the log: it is durable.
 */
export function finishCommit(): void {
  if (appended != confirmed) countAppended();
  for (let i: u32 = 0; i < rangeCount; i++) flush(rStart(i), rEnd(i) - rStart(i));
  drain();
  invalidateLog();
}

/**
 * Invalidate every entry with one 8-byte store. The extension chain stays
 * (its entries are stale now): the next big transaction reuses it.
 */
function invalidateLog(): void {
  seq = (seq + 1) & SEQ_MASK;
  store<u64>(abs(logOff), seqWord(seq, 0));
  persist(logOff, 8);
  extCount = 0;
  appended = 0;
  confirmed = 0;
}

/**
 * Free the chain's blocks from `from` on, last first, then end the chain
 * at the block before them (clear its link). Their entries are stale or
 * recovered already, so a crash here leaves a chain whose live part is a
 * prefix — a link to a freed block reads as the end — and never a live
 * block no chain names; the link is clear before the chunks can be reused.
 */
function releaseExtensions(from: u32, volatileToo: bool): void {
  for (let i = kept; i > from; i--) {
    const c = <u32>chunkOf(blockPayload(i));
    setChunkWord(c, freeWord(c));
    persist(chunkWordOff(c), 8);
    if (volatileToo) unclaimChunks(c, 1);
  }
  kept = from;
  const link = chainEndLink();
  if (load<u64>(abs(link)) != complementWord(0)) {
    store<u64>(abs(link), complementWord(0));
    persist(link, 8);
  }
}

/**
 * The heap needs chunks: give back the kept blocks the open log session
 * does not use (all of them outside a transaction). Returns whether any
 * were freed.
 */
export function releaseLogBlocks(): bool {
  if (kept == extCount) return false;
  releaseExtensions(extCount, true);
  return true;
}

/** Is `payload` a block of the log's extension chain? (the consistency check: a live TYPE_LOG_EXT object must be one) */
export function isLogBlock(payload: u32): bool {
  for (let b: u32 = 1; b <= kept; b++) if (blockPayload(b) == payload) return true;
  return false;
}

// ─── reading the log (abort, recovery, check) ───────────────────────────────

// @ts-ignore: decorator
@inline function blockPayload(b: u32): u32 { return load<u32>(LOG_BLOCKS + (<usize>(b - 1) << 2)); }
/** Block 0 is the fixed area, block b ≥ 1 the b-th extension. */
function blockStart(b: u32): u32 { return b == 0 ? logOff + LOG_HEADER : blockPayload(b) + EXT_HEADER; }
function blockLimit(b: u32): u32 { return b == 0 ? logOff + logSize : blockPayload(b) + EXT_PAYLOAD; }
// @ts-ignore: decorator
@inline function blockFirst(b: u32): u32 { return load<u32>(LOG_BLOCK_FIRST + (<usize>b << 2)); }

/** Length of the valid entry `index` at `pos` (within a block ending at `end`), or 0. */
function validEntryLen(pos: u32, end: u32, index: u32): u32 {
  if (pos + ENTRY_HEADER > end) return 0;
  const off = load<u32>(abs(pos));
  const len = load<u32>(abs(pos), 4);
  if (len == 0 || len > MAX_ENTRY || <u64>off + len > <u64>poolSize) return 0;
  if (pos + ENTRY_HEADER + align16(len) > end) return 0;
  return load<u64>(abs(pos), 8) == entryCheck(abs(pos + ENTRY_HEADER), off, len, index) ? len : 0;
}

let scanStop: u32 = 0; // where scanEntries stopped: the first entry it could not validate

/**
 * Count the valid entries in order, across the fixed area and the
 * extension blocks in LOG_BLOCKS (extCount of them), up to `limit`; fills
 * LOG_BLOCK_FIRST. A block ends at its first invalid entry; the next block
 * must go on with the next index.
 */
function scanEntries(limit: u32): u32 {
  let n: u32 = 0;
  for (let b: u32 = 0; b <= extCount; b++) {
    store<u32>(LOG_BLOCK_FIRST + (<usize>b << 2), n);
    let pos = blockStart(b);
    const end = blockLimit(b);
    scanStop = pos;
    while (n < limit) {
      const len = validEntryLen(pos, end, n);
      if (len == 0) break;
      n++;
      pos += ENTRY_HEADER + align16(len);
      scanStop = pos;
    }
  }
  return n;
}

/**
 * Restore entries [from, n) (their blocks' first indexes in LOG_BLOCK_FIRST),
 * newest first, flushing what they restore; drain unless `drainAfter` is
 * false (a rollback to a savepoint: the batch's commit drains those lines,
 * and a crash before it restores them from the log anyway).
 */
function rollbackEntries(from: u32, n: u32, drainAfter: bool = true): void {
  for (let b = extCount + 1; b > 0; b--) {
    const first = blockFirst(b - 1);
    const next = b - 1 < extCount ? blockFirst(b) : n;
    const end = next < n ? next : n;
    if (end <= first || end <= from) continue;
    const count = end - first;
    const skip = from > first ? from - first : 0; // entries of this block before `from` stay as they are
    let pos = blockStart(b - 1);
    assert(count <= LOG_POSITIONS_CAP, "rollbackEntries: block holds too many entries");
    for (let i: u32 = 0; i < count; i++) {
      store<u32>(LOG_POSITIONS + (<usize>i << 2), pos);
      pos += ENTRY_HEADER + align16(load<u32>(abs(pos), 4));
    }
    for (let i = count; i > skip; i--) {
      const at = load<u32>(LOG_POSITIONS + (<usize>(i - 1) << 2));
      const off = load<u32>(abs(at));
      const len = load<u32>(abs(at), 4);
      memory.copy(abs(off), abs(at + ENTRY_HEADER), len);
      flush(off, len);
    }
  }
  if (drainAfter) drain();
}

/** Abort: restore exactly what this session logged, then invalidate the log. */
export function rollbackLog(): void {
  if (!logTouched()) return;
  rollbackEntries(0, appended);
  invalidateLog();
}

/** 1: a live extension block at `payload`; 0: a linked chunk that is FREE (not live yet, or released: the end of the chain); -1: damage. */
function extensionKind(payload: u32): i32 {
  const c = chunkOf(payload);
  if (c < 0 || payload != chunkStart(<u32>c) + OBJ_HEADER) return -1;
  const w = chunkWord(<u32>c);
  if (kindOf(w) == KIND_FREE) return 0; // not live (yet, or any more): its header need not be written
  if (!headerValid(payload) || objectType(payload) != TYPE_LOG_EXT) return -1;
  return kindOf(w) == KIND_LARGE && argOf(w) == 1 && (flagsOf(w) & FLAG_ALIGN64) == 0 ? 1 : -1;
}

function logDamage(off: u32): Code {
  noteDamage(off);
  return Code.CORRUPT_LOG;
}

/**
 * Read and validate the persistent log: header words, the extension chain
 * (into LOG_BLOCKS / extCount), the entries (count returned in `validEntries`).
 * Writes nothing to the pool; CORRUPT_LOG (offset noted) if anything is damaged.
 */
let validEntries: u32 = 0;
function readLog(): Code {
  const w = load<u64>(abs(logOff));
  if (!seqWordValid(w)) return logDamage(logOff);
  seq = w & SEQ_MASK;
  const durable = <u32>(w >>> 40) & COUNT_MAX;
  extCount = 0;
  let at = logOff + LINK_OFF;
  let link = load<u64>(abs(at));
  while (true) {
    if (!complementValid(link)) return logDamage(at);
    const p = <u32>link;
    if (p == 0) break;
    const kind = extensionKind(p);
    if (kind < 0 || (kind > 0 && extCount == LOG_BLOCKS_CAP)) return logDamage(at);
    if (kind == 0) break;
    store<u32>(LOG_BLOCKS + (<usize>extCount << 2), p);
    extCount++;
    at = p;
    link = load<u64>(abs(p));
  }
  validEntries = scanEntries(0xFFFF_FFFF);
  if (validEntries < durable) return logDamage(scanStop);
  return Code.OK;
}

/**
 * Open-time recovery, first half: validate the whole log (read-only;
 * CORRUPT_LOG leaves the pool untouched) and roll back its valid entries.
 * The entries stay valid until finishRecovery: a crash, or an open that
 * stops here, leaves the same valid log, rolled back again next time
 * (restoring old bytes twice is harmless). Writes only when there is
 * something to roll back. Runs before the heap's volatile state exists.
 */
export function recoverLog(): Code {
  loadLog(); // a reused instance forgets the previous image's session first
  const code = readLog();
  if (code != Code.OK) return code;
  recoveredEntries = validEntries;
  if (validEntries != 0) rollbackEntries(0, validEntries);
  kept = extCount; // the chain's blocks stay the log's until finishRecovery gives them back
  return Code.OK;
}

/**
 * Open-time recovery, second half (once the heap is rebuilt and the open
 * accepted): move seq on and count to 0 (always: stale entries of a torn
 * transaction never validate again), free the extension blocks and clear
 * the link. Idempotent, as recoverLog is.
 */
export function finishRecovery(): void {
  seq = (seq + 1) & SEQ_MASK;
  store<u64>(abs(logOff), seqWord(seq, 0));
  persist(logOff, 8);
  releaseExtensions(0, true);
  loadLog();
}

/** Does the persistent chain name exactly the kept blocks, each live? Offset of the first wrong link, or 0. */
function chainProblem(): u32 {
  let at = logOff + LINK_OFF;
  for (let b: u32 = 1; b <= kept + 1; b++) {
    const want = b <= kept ? blockPayload(b) : 0;
    if (load<u64>(abs(at)) != complementWord(want)) return at;
    if (want == 0) break;
    if (extensionKind(want) != 1) return want;
    at = want;
  }
  return 0;
}

/**
 * The log's part of the consistency check: its words validate, the chain
 * is the kept blocks, and it holds exactly the entries this session
 * appended (none outside a transaction). Returns the offset of a problem, or 0.
 */
export function logProblem(): u32 {
  const w = load<u64>(abs(logOff));
  if (!seqWordValid(w) || (w & SEQ_MASK) != seq) return logOff;
  const chain = chainProblem();
  if (chain != 0) return chain;
  if (depth == 0) {
    if ((w >>> 40 & COUNT_MAX) != 0) return logOff;
    return validEntryLen(logOff + LOG_HEADER, logOff + logSize, 0) != 0 ? logOff + LOG_HEADER : 0;
  }
  return scanEntries(appended) == appended ? 0 : scanStop;
}
