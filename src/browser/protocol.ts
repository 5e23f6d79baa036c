// protocol.ts — the messages between PoolClient (main thread) and the pool
// worker. One user operation is one request: a batch of operations that the
// worker runs in order, synchronously, and answers once. The browser Store
// sends its calls as 'store' requests instead: every call of one page turn in
// one message, each answered on its own (StoreOutcome), so one refused call
// fails alone. Errors cross as WireError and are rebuilt by the client.

import type { Durability } from '../backends/backend.js';
import type { CrashMode } from '../crash/modes.js';
import type { PoolInfo, PoolStats } from '../pool.js';
import type { DatabaseOptions } from '../store/store.js';

/**
 * A pool offset, or a reference to the numeric result of an earlier
 * operation in the same batch (or transaction), plus `add` bytes: so
 * "allocate, then fill the new object, then link it" is one round trip.
 */
export type Off = number | { ref: number; add?: number };

export type NumType = 'u8' | 'u16' | 'u32' | 'i32' | 'u64' | 'f64';
export type ValueType = NumType | 'bytes';
export type Value = number | bigint | Uint8Array;

export type Op =
  | { op: 'root'; size: number }
  | { op: 'read'; type: ValueType; off: Off; len?: number }
  | { op: 'write'; type: ValueType; off: Off; value: Value }
  | { op: 'flush'; off: Off; len: number }
  | { op: 'drain' }
  | { op: 'persist'; off: Off; len: number }
  | { op: 'alloc'; size: number; type?: number; zero?: boolean; align64?: boolean; into?: Off }
  | { op: 'free'; off: Off; from?: Off }
  /** Run `ops` in one transaction (Pool.tx): commit at the end, abort and rethrow on an error. */
  | { op: 'tx'; ops: Op[] }
  /** Inside 'tx': snapshot, then store (Tx.setU32 etc.). */
  | { op: 'set'; type: ValueType; off: Off; value: Value }
  /** Step-by-step transactions (the playground): begin / snapshot / commit / abort. */
  | { op: 'txBegin' } | { op: 'addRange'; off: Off; len: number } | { op: 'txCommit' } | { op: 'txAbort' }
  | { op: 'stats' } | { op: 'info' } | { op: 'check' } | { op: 'pendingLines' }
  /** Cache, durable image, pending lines and log geometry: what the playground draws. */
  | { op: 'inspect' }
  /** Live objects (of one type) with their first `len` bytes. */
  | { op: 'objects'; type?: number; len?: number }
  /** Simulated crash: the file becomes the crash image, the pool is left closed until 'recover'. */
  | { op: 'crash'; mode: CrashMode; seed?: number | string; detail?: boolean }
  /** Reopen after a crash (runs recovery). */
  | { op: 'recover'; detail?: boolean }
  /** The durable image (the pool file's bytes). */
  | { op: 'durableImage' }
  | { op: 'close' }
  /** Benchmark loop inside the worker: n × (snapshot `len` bytes at off + store + commit). */
  | { op: 'benchTx'; n: number; off: Off; len: number }
  /** Measurement loop inside the worker: n × (store `len` bytes at off + persist them); answers the worker's ms for the loop. */
  | { op: 'benchPersist'; n: number; off: Off; len: number }
  /** A Store method on database `db` of a Store pool (store-ops.ts); put/remove answer when their batch is durable. */
  | { op: 'store'; db: DatabaseOptions; method: StoreMethod; args: unknown[] };

export interface OpenRequest {
  name: string;
  layout: string;
  backend?: 'opfs' | 'memory';
  durability?: Durability;
  /** Create the pool if it does not exist (with this size and optional deterministic seed). */
  create?: { size: number; seed?: number | string };
  /** Fail if the pool exists (PoolExistsError) instead of opening it. */
  exclusive?: boolean;
  /** Retry a locked pool this long before PoolLockedError (a reloading tab releases its lock late). */
  waitMs?: number;
  debug?: boolean;
  /** Model a cache that evicts (pmem): see PoolOptions.evicts. */
  evicts?: boolean;
}

/** One call of the browser Store: `method(...args)` on database `db` of the pool. */
export interface StoreCall { db: DatabaseOptions; method: StoreMethod; args: unknown[] }

/** The Store methods a page may call, by name (the worker runs nothing else: store-ops.ts). */
export const STORE_METHODS = [
  'get', 'getBinary', 'doesExist', 'getCount', 'getRange', 'getKeys', 'putSync', 'removeSync', 'put', 'remove', 'batch',
] as const;
export type StoreMethod = typeof STORE_METHODS[number];

/** One write of a 'batch': put or remove, committed together with the others (transactionSync). */
export type StoreWrite = { put: [unknown, unknown] } | { remove: [unknown] };

/** What one StoreCall came to: its value, or the error it alone was refused with. */
export type StoreOutcome = { ok: true; value: unknown } | { ok: false; error: WireError };

/**
 * The synchronous read channel (sync-reads.ts), a SharedArrayBuffer: four
 * Int32 control words — the state (IDLE, ASKED by the page, ANSWERED by the
 * worker), the byte length in the data area, the answer's status — then the
 * data area from SYNC_DATA: the request (u16 length of the database's
 * options as JSON, that JSON, the encoded key), then the answer (the value's
 * stored bytes).
 */
export const SYNC = { STATE: 0, LENGTH: 1, STATUS: 2, DATA: 16, BYTES: 1 << 16 } as const;
export const SYNC_IDLE = 0, SYNC_ASKED = 1, SYNC_ANSWERED = 2;
/** Answer statuses: the value's bytes follow; no entry; not answered here (the page sends the call as a message). */
export const SYNC_FOUND = 0, SYNC_MISSING = 1, SYNC_DECLINED = 2;

export type Request =
  | { id: number; kind: 'open'; req: OpenRequest }
  /** Serve gets of pool `pool` through `buffer` from now on (the page is crossOriginIsolated). */
  | { id: number; kind: 'syncReads'; pool: number; buffer: SharedArrayBuffer }
  /** Store calls run in order; their writes form one group-commit batch, committed before the answer. */
  | { id: number; kind: 'store'; pool: number; calls: StoreCall[] }
  | { id: number; kind: 'batch'; pool: number; ops: Op[] }
  | { id: number; kind: 'import'; name: string; bytes: Uint8Array; replace?: boolean }
  | { id: number; kind: 'export'; name: string }
  | { id: number; kind: 'remove'; name: string }
  | { id: number; kind: 'list' };

export interface WireError { name: string; code: string; message: string; opIndex?: number }

/** An error as it crosses to the page: its class name, code and message (client.ts rebuilds the class). */
export function wireError(err: unknown): WireError {
  const e = err as { name?: string; code?: string; message?: string; opIndex?: number };
  return {
    name: e?.name ?? 'Error',
    code: e?.code ?? 'ERR_INTERNAL',
    message: e?.message ?? String(err),
    ...(e?.opIndex !== undefined ? { opIndex: e.opIndex } : {}),
  };
}

export type Response =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: WireError };

export interface OpenResult {
  pool: number;
  created: boolean;
  info: PoolInfo;
  /** Wall time in the worker for backend open + Pool.open (recovery included). */
  openMs: number;
  recovery: PoolStats['recovery'];
}

export interface Inspection {
  size: number;
  /** Linear memory: what the program stored ("the cache"). */
  cache: Uint8Array;
  /** The backend's durable image (the OPFS file). */
  durable: Uint8Array;
  /** Flushed, not drained. */
  pending: number[];
  logOffset: number;
  logBytes: number;
  heapOffset: number;
  logSequence: bigint;
  txDepth: number;
}

export interface CrashResult {
  mode: CrashMode;
  seed: number | string;
  /** Lines that could differ from the durable image (pending, plus dirty in evict/tear8/eadr). */
  pending: number[];
  /** With detail: the images before the crash and the one it left. */
  durable?: Uint8Array;
  cache?: Uint8Array;
  image?: Uint8Array;
}

export interface RecoverResult {
  recovery: PoolStats['recovery'];
  info: PoolInfo;
  /** With detail: linear memory right after recovery. */
  cache?: Uint8Array;
}
