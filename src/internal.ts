// internal.ts — the Pool API's private face: the keys under which a Pool
// lends its core, memory and transaction state to the layers built on it
// (src/containers/, src/store/).
//
// Part of the Pool API's layer, not of the containers': pool.ts defines what
// each key gives, and nothing here imports the layers above (docs/design.md).
// Pool exposes its core and memory under CORE only (marked @internal: not
// part of the documented API). Containers fetch them anew for every
// operation, never keep them: the pool may be closed, or its memory
// replaced, between two operations.

import type { CoreExports } from './core.js';

/** Key of Pool's internal accessor: `pool[CORE]` is the open pool's core and memory (PoolClosedError once closed). */
export const CORE = Symbol('pheap core');

/**
 * Key of Pool's internal abandon: `pool[ABANDON]()` closes the pool without
 * writing anything more (a refused Store open: with durability 'none' the
 * file stays as it was).
 */
export const ABANDON = Symbol('pheap abandon');

/**
 * Key of Pool's internal rollback count: `pool[ROLLBACKS]` moves whenever a
 * transaction level is aborted or a commit fails, so what was written in
 * it may be gone (a cache of pool contents made inside it must be dropped).
 */
export const ROLLBACKS = Symbol('pheap rollbacks');

/**
 * Key of Pool's internal open token: `pool[SESSION]` is a new object each
 * time the Pool object opens an image (the crash explorer reuses Pool
 * objects for thousands of images): a cache of pool contents keyed by it
 * is never read against another image.
 */
export const SESSION = Symbol('pheap session');

/**
 * Key of Pool's internal query: `pool[IN_TX]` is true while a transaction is
 * running — a tx() or beginTx() level is open, not only a txAsync() batch
 * between its members (then a write joins it with tx(), not txAsync()).
 */
export const IN_TX = Symbol('pheap in tx');

/**
 * Key of Pool's internal shared-promise txAsync: `pool[TX_ASYNC_SHARED](fn)`
 * is txAsync(fn) for a `fn` that returns true, whose promise is the one
 * every such member of its batch shares (group.ts submitShared).
 */
export const TX_ASYNC_SHARED = Symbol('pheap txAsync shared');

/**
 * Key of an internal open option: `Pool.open({ …, [VET]: (pool) => … })`
 * calls it once the pool is recovered and readable, before the open writes
 * anything of its own (counting the open, moving the log on); if it
 * throws, the pool is closed without writing and the error rethrown. A
 * layout's own checks (the Store's) refuse a file this way, untouched.
 */
export const VET = Symbol('pheap vet');

/**
 * What `pool[CORE]` returns. `mem` and `words` view the whole memory as it
 * is now: a core call that grows the pool replaces the buffer, so they are
 * only good until the next call that may allocate (reads never do).
 */
export interface CoreAccess {
  core: CoreExports;
  memory: WebAssembly.Memory;
  /** The whole memory, bytes. */
  mem: Uint8Array;
  /** The whole memory, u32 words (index = address / 4). */
  words: Uint32Array;
}
