// index.ts — the core's exports: the whole surface the host (src/core.ts) sees.
//
// All offsets are pool-relative u32; functions that can fail return a Code
// (errors.ts) or 0 with the code in lastError(). Counters are returned as
// f64 so the host never needs BigInt.

import { POOL_BASE, SCRATCH, DRAIN_RANGES, MAX_POOL_SIZE, MIN_POOL_SIZE } from "./layout";
import * as flushModel from "./flush";
import * as format from "./format";
import * as log from "./log";
import * as errors from "./errors";
import * as checker from "./check";
import * as table from "./table";

export { runtimeHeapEnd } from "./runtime/capped";
export { flush, pendingLineCount, collectPending, collectInFlight, discardPending } from "./flush";

/** 1: only drains write this pool's image (file, OPFS, memory): defer the undo log's drains; 0: eager (a cache that evicts). */
export function setDeferredLog(on: u32): void { flushModel.setDeferred(on != 0); }

/** The caller's drain (SFENCE): inside a transaction it first counts the log entries earlier drains made durable. */
export function drain(): void {
  log.countDurable();
  flushModel.drain();
}

/** The caller's persist: flush + drain, as above. */
export function persist(off: u32, len: u32): void {
  flushModel.flush(off, len);
  drain();
}
export { createPool, finishOpen, openPool } from "./pool";
export { alloc, free, realloc, root, usableSize, nextObject, rangeWritable, isLive } from "./alloc";
export { objectType, objectDataLen } from "./object";
export { txBegin, txAddRange, txCommit, txAbort, txSavepoint } from "./tx";
export { txDepth } from "./log";
export { check } from "./check";
export { validateHeaderPage } from "./format";
export { heapStats } from "./stats";

export function poolBase(): usize { return POOL_BASE; }
export function scratch(): usize { return SCRATCH; }
export function drainRanges(): usize { return DRAIN_RANGES; }
export function maxPoolSize(): f64 { return <f64>MAX_POOL_SIZE; }
export function minPoolSize(): f64 { return <f64>MIN_POOL_SIZE; }
export function lastError(): u32 { return errors.lastError; }
export function checkProblem(): u32 { return checker.problem; }
export function checkProblemAt(): u32 { return checker.problemAt; }
export function flushCount(): f64 { return <f64>flushModel.flushCalls; }
export function drainCount(): f64 { return <f64>flushModel.drainCalls; }
export function linesPersisted(): f64 { return <f64>flushModel.linesPersisted; }
export function recoveredEntries(): u32 { return log.recoveredEntries; }
export function openCount(): u32 { return format.openCount(); }
/** The root object's offset, or 0 if the pool has none (read-only, unlike root()). */
export function rootOffset(): u32 { return format.rootOff(); }
export function heapOffset(): u32 { return format.heapOff; }
export function logOffset(): u32 { return format.logOff; }
export function logBytes(): u32 { return format.logSize; }
export function chunks(): u32 { return format.chunkCount; }
/** Regions growth has appended (0 for a pool never grown). */
export function growthCount(): u32 { return table.regionCount; }
export function logSequence(): f64 { return <f64>log.logSeq(); }
/** Offset of the damaged metadata word behind the last CORRUPT_HEAP / CORRUPT_LOG (0 = not known). */
export function damageOffset(): u32 { return errors.damageAt; }
export { containerMustAbort, containerOut } from "./containers/shared";
export { vecCreate, vecInfo, vecAt, vecPush, vecSet, vecTruncate, vecFree, vecVerify } from "./containers/vector";
export { blobCreate, blobInfo, blobReplace, blobFree, blobVerify } from "./containers/blob";
export {
  btreeCreate, btreeValid, btreeGet, btreePut, btreeRemove, btreeSeek, btreeStep, btreeCount, btreeEpoch, btreeIo, btreeIoCap,
  btreeOut, btreeKeyMax, btreeCheck, btreeGather, btreeGatherOut,
} from "./containers/btree";
