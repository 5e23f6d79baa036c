// containers/op.ts — how a container operation meets the pool: argument
// checks shared by PVector and PBlob, reads, and the transaction around
// every mutating operation.
//
// A mutating operation opens a transaction level (pool.beginTx: alone it is
// the outermost, so the operation is its own transaction; inside the
// caller's pool.tx() it joins that one), runs the core's two-phase step
// (assembly/containers/shared.ts), lets the host write the element's bytes
// where the core says, and commits the level. On failure:
// - its own transaction is aborted: the pool is as before the call;
// - joined, the level is just left when the core failed before changing
//   anything (the usual case: OUT_OF_SPACE, LOG_FULL, a bad argument), so
//   the caller's transaction goes on unchanged; when the core says the
//   transaction must be aborted (a free refused after the first store), the
//   whole transaction is aborted, and its commit ends with TxAbortedError.

import { Pool } from '../pool.js';
import type { CoreExports } from '../core.js';
import { InvalidArgumentError, NotAContainerError, errorForCode, type PheapError } from '../errors.js';
import { bytesValue, shown } from '../args.js';
import { CORE, type CoreAccess } from '../internal.js';

/** Container result codes (assembly/containers/shared.ts). */
const NOT_A_CONTAINER = 64;
const INDEX_RANGE = 65;
/** The core's CORRUPT_HEAP (assembly/errors.ts). */
export const CORRUPT_HEAP = 14;

/** The open pool's core and memory; `pool` must be a Pool. */
export function accessOf(pool: unknown, what: string): CoreAccess {
  if (!(pool instanceof Pool)) throw new InvalidArgumentError(`${what}: the first argument must be a Pool, not ${shown(pool)}`);
  return pool[CORE];
}

/** A pool offset given to open(): an integer (InvalidArgumentError otherwise) inside the pool (else NotAContainerError). */
export function offsetArg(pool: Pool, off: unknown, kind: string): number {
  if (!Number.isSafeInteger(off)) throw new InvalidArgumentError(`${kind} offset ${shown(off)} must be an integer`);
  if ((off as number) < 0 || (off as number) >= pool.size) throw new NotAContainerError(kind, off as number);
  return off as number;
}

/** A byte string argument. */
export function bytesArg(v: unknown): Uint8Array {
  bytesValue(v);
  return v as Uint8Array;
}

/** The typed error of a failed container call. */
function failure(code: number, a: CoreAccess, kind: string, off: number): PheapError {
  const core = a.core;
  if (code === NOT_A_CONTAINER) return new NotAContainerError(kind, off);
  if (code === INDEX_RANGE) return new InvalidArgumentError(`index out of range for the ${kind} at ${off}`);
  // verify() leaves the offset of the first bad word in the result words
  const damage = core.damageOffset() || (code === CORRUPT_HEAP ? new Uint32Array(a.memory.buffer, core.containerOut(), 1)[0] : 0);
  return errorForCode(code, { off, damage });
}

/** Throw the typed error of a failed core call (code != 0). */
export function checkCode(code: number, a: CoreAccess, kind: string, off: number): void {
  if (code !== 0) throw failure(code, a, kind, off);
}

/** The core's result words of the last container call. */
export function results(a: CoreAccess): Uint32Array {
  return new Uint32Array(a.memory.buffer, a.core.containerOut(), 4);
}

/** Run a read-only core call; returns its result words. */
export function query(pool: Pool, kind: string, off: number, call: (core: CoreExports) => number): Uint32Array {
  const a = pool[CORE];
  checkCode(call(a.core), a, kind, off);
  return results(a);
}

/** A copy of `len` pool bytes at `at`. */
export function readPool(a: CoreAccess, at: number, len: number): Uint8Array {
  return new Uint8Array(a.memory.buffer, a.core.poolBase() + at, len).slice();
}

/** Store `data` at pool offset `at` (a place the core just prepared) and flush it: durable with the commit's drain. */
export function writePool(a: CoreAccess, at: number, data: Uint8Array): void {
  if (data.length === 0) return;
  new Uint8Array(a.memory.buffer, a.core.poolBase() + at, data.length).set(data);
  a.core.flush(at, data.length);
}

/**
 * One mutating operation (see the header): `step` is the core call, `then`
 * writes what the core prepared (it reads the result words and cannot fail).
 */
export function mutate<T>(pool: Pool, kind: string, off: number, step: (core: CoreExports) => number, then: (a: CoreAccess, out: Uint32Array) => T): T {
  const a = pool[CORE];
  pool.beginTx();
  const own = a.core.txDepth() === 1;
  let result: T;
  try {
    const code = step(a.core);
    if (code !== 0) throw failure(code, a, kind, off);
    result = then(a, results(a));
  } catch (e) {
    if (pool.isClosed) throw e; // the pool closed (or crashed) under the step: nothing left to end, the cause is the error
    if (own || a.core.containerMustAbort() !== 0) pool.abortTx();
    else pool.commitTx();
    throw e;
  }
  pool.commitTx();
  return result;
}
