// containers/shared.ts — what the persistent containers (vector.ts, blob.ts)
// share: their object types, their scratch area, and the two-phase shape of
// every mutating operation.
//
// Volatile scratch (below POOL_BASE, owned by the containers alone):
//
//   0x00F0_0000 ┌ CONTAINER_OUT  u32[4] results of the last call ┐
//               │ (offsets and lengths the host reads back)       │
//   0x00F8_0000 └ end of the containers' area ────────────────────┘
//
// Object types: the top of the user range (the pool's checker refuses live
// objects with types of its own internal range), so a container's objects
// can be told apart by type, and open() refuses anything else.
//
// Every mutating operation runs inside a transaction level the host opened
// and has two phases:
//   prepare  allocate (reserved until commit) and undo-log every range that
//            will change; a failure here (OUT_OF_SPACE, LOG_FULL,
//            TX_TOO_LARGE) releases this operation's own allocations and
//            returns: nothing reachable has changed, the entries it logged
//            restore values equal to the current ones;
//   apply    record frees and store. Only a free can fail here
//            (TX_TOO_LARGE): then mustAbort is set and the host aborts the
//            whole transaction, which restores everything.
// Invariant: nothing a container points to changes before its prepare phase
// has succeeded.

import { Code, lastError } from "../errors";
import { deferredLog, drain } from "../flush";
import { logRange, txReady } from "../log";
import { alloc, free, usableSize } from "../alloc";
import { objectDataLen, objectType } from "../object";
import { abs } from "../layout";

/** Start of the containers' volatile area (drawn above; its first 16 bytes are used). */
export const CONTAINER_OUT: usize = 0x00F0_0000;

export const TYPE_VECTOR: u32 = 0xFFFE_0001;
export const TYPE_VECTOR_DATA: u32 = 0xFFFE_0002;
export const TYPE_VECTOR_ELEM: u32 = 0xFFFE_0003;
export const TYPE_BLOB: u32 = 0xFFFE_0004;
export const TYPE_BLOB_DATA: u32 = 0xFFFE_0005;

/** Container result codes, above the core's (errors.ts). */
export const NOT_A_CONTAINER: u32 = 64;
export const INDEX_RANGE: u32 = 65;

const ALLOC_ZERO: u32 = 1;

let mustAbort = false;

/** Did the last operation fail after it began changing the pool (the host must abort the transaction)? */
export function containerMustAbort(): u32 { return mustAbort ? 1 : 0; }

/** Start a mutating operation: forget the last one's verdict; a usable transaction must be open. */
export function beginOp(): Code {
  mustAbort = false;
  return txReady();
}

/** The code of the allocation that just failed. */
export function allocFailure(): Code { return lastError; }

/** Where the containers leave their results for the host (u32[4]). */
export function containerOut(): usize { return CONTAINER_OUT; }

export function setOut(i: u32, v: u32): void { store<u32>(CONTAINER_OUT + (<usize>i << 2), v); }

/** Is `off` a live (or this transaction's) object of `type`? */
export function isObjectOf(off: u32, type: u32): bool {
  return usableSize(off) != 0 && objectType(off) == type;
}

/** Is `off` an object of `type`, `size` bytes, whose first word is `magic`? (Its other words are the caller's to check.) */
export function isHeader(off: u32, type: u32, size: u32, magic: u32): bool {
  return isObjectOf(off, type) && objectDataLen(off) == size && load<u32>(abs(off)) == magic;
}

/** A new object of this operation (prepare phase); 0 on failure, with the code in lastError. */
export function allocNew(size: u32, type: u32, zero: bool): u32 {
  return alloc(size, type, zero ? ALLOC_ZERO : 0, 0);
}

/** Give back an object allocated by this operation (cannot fail: it was only reserved). */
export function dropNew(off: u32): void {
  if (off != 0) free(off, 0);
}

/** Log [off, off+len) unless `skip`; returns the first failure. */
export function logUnless(code: Code, skip: bool, off: u32, len: u32): Code {
  return code != Code.OK || skip ? code : logRange(off, len);
}

/** The entries logged so far must be durable before the first store (eager log: drain now; deferred: the next drain writes them first). */
export function entriesReady(): void {
  if (!deferredLog()) drain();
}

/** Apply phase: record the free of an object the container no longer points to. On failure the transaction must be aborted. */
export function freeOld(off: u32): Code {
  if (off == 0) return Code.OK;
  const code = free(off, 0);
  if (code != Code.OK) mustAbort = true;
  return code;
}
