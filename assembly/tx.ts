// tx.ts — transactions: begin, snapshot, commit, abort.
//
// The undo log and the record of the open transaction live in log.ts; this
// file orders the steps. Protocol (drains per step), eager log | deferred:
//   addRange  copy old bytes to the log, persist the entry        1 | 0
//             (several ranges added by one call share that drain;
//             alloc with `into` snapshots its slot the same way)
//   commit    log the allocator words this tx changes, if any     1 | 0
//             (deferred: every entry not yet durable, alone)      0 | 1
//             apply them, flush every logged range + new objects,
//             with the entry count                                 1 | 1
//             seq++ and persist                                    1 | 1
//   abort     restore old bytes in reverse order, persist          1 | 1 (+1 entries first)
//             seq++ and persist                                    1 | 1
//
//   (plus, when the log outgrows its kept extension blocks, 2 | 2 per new
//   block; and 1 | 1 per 8 new runs: heap.ts primeBitmaps)
// Allocation in a tx only reserves (heap.ts); frees are only recorded. The
// persistent bitmap / chunk words change at commit, under the same log, so a
// crash or abort leaves no leak and no freed-then-reused block.
// Nested transactions flatten: only the outermost commit commits; an abort at
// any depth aborts everything and the outer levels then end with TX_ABORTED —
// down to the savepoint's level when one is set (group commit: each member of
// a batch runs one level below the batch, after txSavepoint(); its abort
// rolls back to the savepoint only, and the batch goes on).

import { Code } from "./errors";
import { deferredLog, drain, flush } from "./flush";
import { OBJ_HEADER, objectDataLen } from "./object";
import { clearReservations, isReserved, unreserve } from "./heap";
import { commitObject, metaWordOff, releaseObject, unclaimObject } from "./alloc";
import {
  allocAt, allocsRecorded, clearAborted, endTx, enterTx, finishCommit, freeAt, freesRecorded, leaveTx, logRange,
  logTouched, markAborted, rollbackLog, rollbackToSavepoint, savepointAllocs, savepointDepth, savepointFrees, setSavepoint, txAborted,
  txReady, txDepth,
} from "./log";

export function txBegin(): Code {
  return enterTx();
}

/** Snapshot [off, off+len) and persist the entry before returning. */
export function txAddRange(off: u32, len: u32): Code {
  const ready = txReady();
  if (ready != Code.OK) return ready;
  const code = logRange(off, len);
  if (!deferredLog()) drain();
  return code;
}

/** Log, then apply, the allocator words of this tx's allocs and frees. */
function applyAllocatorChanges(): Code {
  const allocs = allocsRecorded(), frees = freesRecorded();
  if (allocs == 0 && frees == 0) return Code.OK;
  for (let i: u32 = 0; i < allocs; i++) {
    const off = allocAt(i);
    if (!isReserved(off)) continue;
    const code = logRange(metaWordOff(off), 8);
    if (code != Code.OK) return code;
  }
  for (let i: u32 = 0; i < frees; i++) {
    const code = logRange(metaWordOff(freeAt(i)), 8);
    if (code != Code.OK) return code;
  }
  if (!deferredLog()) drain();
  for (let i: u32 = 0; i < allocs; i++) {
    const off = allocAt(i);
    if (!unreserve(off)) continue;
    commitObject(off);
    // New objects were written without snapshots: all of them must be durable.
    flush(off - OBJ_HEADER, OBJ_HEADER + objectDataLen(off));
  }
  for (let i: u32 = 0; i < frees; i++) releaseObject(freeAt(i));
  return Code.OK;
}

/** Forget the transaction: its record and its reservations. */
function closeTx(): void {
  endTx();
  clearReservations();
}

/** Leave an aborted level; at the bottom (or the savepoint's level) the abort is over. */
function leaveAborted(): void {
  const left = leaveTx();
  if (left == 0 || left == savepointDepth()) clearAborted();
}

/** Set the savepoint at the current level (group commit, before each member). */
export function txSavepoint(): Code {
  const ready = txReady();
  if (ready != Code.OK) return ready;
  setSavepoint();
  return Code.OK;
}

export function txCommit(): Code {
  if (txDepth() == 0) return Code.TX_STATE;
  if (txAborted()) {
    leaveAborted();
    return Code.TX_ABORTED;
  }
  if (txDepth() > 1) { leaveTx(); return Code.OK; }
  const code = applyAllocatorChanges();
  if (code != Code.OK) {
    rollbackOpenTx();
    return code;
  }
  if (logTouched()) finishCommit(); // an empty tx costs no drain
  // Only now, with the commit durable, may freed space be handed out again.
  const frees = freesRecorded();
  for (let i: u32 = 0; i < frees; i++) unclaimObject(freeAt(i));
  closeTx();
  return Code.OK;
}

function rollbackOpenTx(): void {
  rollbackLog();
  const allocs = allocsRecorded();
  for (let i: u32 = 0; i < allocs; i++) {
    const off = allocAt(i);
    if (unreserve(off)) unclaimObject(off);
  }
  closeTx();
}

/** Roll back to the savepoint: its entries restored, the frees recorded since unmarked, the allocations made since released. */
function rollbackToSavepointTx(): void {
  const frees = freesRecorded();
  for (let i = savepointFrees(); i < frees; i++) unreserve(freeAt(i) | 1);
  const allocs = allocsRecorded();
  for (let i = savepointAllocs(); i < allocs; i++) {
    const off = allocAt(i);
    if (unreserve(off)) unclaimObject(off);
  }
  rollbackToSavepoint();
}

export function txAbort(): Code {
  if (txDepth() == 0) return Code.TX_STATE;
  if (!txAborted()) {
    const levels = txDepth();
    const floor = savepointDepth();
    if (floor != 0 && levels > floor) rollbackToSavepointTx();
    else rollbackOpenTx();
    markAborted(levels);
  }
  leaveAborted(); // else outer levels end with TX_ABORTED
  return Code.OK;
}
