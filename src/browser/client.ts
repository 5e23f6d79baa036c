// client.ts — the main-thread API of a pool that lives in a Worker.
//
//   const todo = await PoolClient.open('todo.pool', { layout: 'todo', create: { size: 256 * 1024 } });
//   const root = await todo.root(64);
//   await todo.tx([{ op: 'alloc', size: 64, type: 1 }, { op: 'set', type: 'u32', off: root, value: 7 }]);
//
// Every method is one request to the worker and one answer (a batch of
// operations runs there synchronously), so one user operation costs one
// round trip. Errors come back as the same classes src/errors.ts defines
// (`instanceof PoolLockedError` works on the main thread).

import * as errors from '../errors.js';
import type { Durability } from '../backends/backend.js';
import type { CrashMode } from '../crash/modes.js';
import type { PoolInfo, PoolStats } from '../pool.js';
import type { CrashResult, Inspection, Off, Op, OpenRequest, OpenResult, RecoverResult, Request, Response, StoreCall, StoreOutcome, WireError } from './protocol.js';

/** A request without its id (distributes over the union). */
type RequestBody = Request extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

export type { CrashResult, Inspection, Off, Op, OpenResult, RecoverResult } from './protocol.js';

export interface ClientOptions {
  /** Layout name, compared on open. */
  layout: string;
  /** 'opfs' (default): the pool is an OPFS file. 'memory': an in-worker image (tests, benchmarks). */
  backend?: 'opfs' | 'memory';
  /** How far a drain reaches: 'fsync' (OPFS flush(), default), 'os', 'none'. */
  durability?: Durability;
  /** Create the pool when it does not exist yet. */
  create?: { size: number; seed?: number | string };
  /** Retry a pool locked by another context this long (ms) before PoolLockedError; default 0. */
  waitMs?: number;
  /** Core debug build (assertions on). */
  debug?: boolean;
  /**
   * Model pmem: a cache that writes lines back on its own, so the undo log is
   * made durable entry by entry and every crash mode applies (the playground
   * teaches this way). Default false: OPFS is written only at drains, the log
   * is deferred, and crash() takes only 'strict' and 'pending'.
   */
  evicts?: boolean;
  /** A worker to use (it is terminated on close); default: a new one from PoolClient.workerUrl. */
  worker?: Worker;
}

/** Rebuild an error sent by the worker as the class it was thrown as. */
export function reviveError(w: WireError): Error {
  const cls = (errors as Record<string, unknown>)[w.name];
  let err: Error;
  if (typeof cls === 'function' && (cls === errors.PheapError || cls.prototype instanceof errors.PheapError)) {
    err = Object.create(cls.prototype) as Error;
    Object.defineProperty(err, 'message', { value: w.message, writable: true, configurable: true });
    Object.defineProperty(err, 'name', { value: w.name, writable: true, configurable: true });
    Object.defineProperty(err, 'code', { value: w.code, enumerable: true });
    Object.defineProperty(err, 'stack', { value: `${w.name}: ${w.message}\n    (in the pool worker)`, writable: true, configurable: true });
  } else {
    err = new errors.PheapError(w.code || 'ERR_INTERNAL', w.message);
    Object.defineProperty(err, 'name', { value: w.name });
  }
  if (w.opIndex !== undefined) (err as Error & { opIndex?: number }).opIndex = w.opIndex;
  return err;
}

/** One worker connection: numbered requests, answers matched by id. */
class Channel {
  private next = 1;
  private waiting = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();

  constructor(readonly worker: Worker) {
    worker.onmessage = (ev: MessageEvent<Response>) => {
      const r = ev.data;
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      if (r.ok) w.ok(r.value);
      else w.fail(reviveError(r.error));
    };
    worker.onerror = (ev) => {
      const err = new errors.PheapError('ERR_WORKER', `the pool worker failed: ${ev.message || 'it could not load (check PoolClient.workerUrl)'}`);
      for (const w of this.waiting.values()) w.fail(err);
      this.waiting.clear();
    };
  }

  request<T>(req: RequestBody, transfer: Transferable[] = []): Promise<T> {
    const id = this.next++;
    return new Promise<T>((ok, fail) => {
      this.waiting.set(id, { ok: ok as (v: unknown) => void, fail });
      try {
        this.worker.postMessage({ ...req, id }, transfer);
      } catch (e) {
        this.waiting.delete(id); // not sent (e.g. DataCloneError): no answer will come
        throw e;
      }
    });
  }
}

/**
 * The pool worker's code, embedded by the package build (scripts/build.mjs
 * defines it for dist/browser.js: the worker bundle with the release core
 * inside). Absent when this file is bundled from source, e.g. by the
 * playground, which sets PoolClient.workerUrl instead.
 */
declare const __PHEAP_WORKER_SOURCE__: string | undefined;

let embeddedUrl: string | null = null;

/** A blob: URL for the embedded worker, made once per page. */
function embeddedWorkerUrl(): string {
  if (typeof __PHEAP_WORKER_SOURCE__ !== 'string') {
    throw new errors.UnsupportedOperationError('this build of PoolClient embeds no worker: set PoolClient.workerUrl to the URL of a pool worker (src/browser/worker.ts, bundled)');
  }
  embeddedUrl ??= URL.createObjectURL(new Blob([__PHEAP_WORKER_SOURCE__], { type: 'text/javascript' }));
  return embeddedUrl;
}

export class PoolClient {
  /**
   * Where new workers come from. null (the default): the worker embedded in
   * the package's browser bundle, with the release core inside, started from
   * a blob: URL. Set a URL to use a worker you serve (a CSP without blob:
   * workers, or the debug core: that worker fetches the core from its
   * `?wasm=` parameter, default /build/pheap.wasm).
   */
  static workerUrl: string | URL | null = null;

  private closed = false;

  private constructor(private readonly ch: Channel, private readonly id: number, readonly name: string,
    private opened: OpenResult) {}

  private static spawn(): Worker {
    return new Worker(PoolClient.workerUrl ?? embeddedWorkerUrl(), { type: 'module', name: 'pheap-pool' });
  }

  /** Open pool `name` (creating it when `create` is given and it does not exist). */
  static async open(name: string, opts: ClientOptions): Promise<PoolClient> {
    return PoolClient.start(name, opts, false);
  }

  /** Create pool `name` (PoolExistsError if it exists). */
  static async create(name: string, opts: ClientOptions & { size: number; seed?: number | string }): Promise<PoolClient> {
    return PoolClient.start(name, { ...opts, create: { size: opts.size, seed: opts.seed } }, true);
  }

  private static async start(name: string, opts: ClientOptions, exclusive: boolean): Promise<PoolClient> {
    const worker = opts.worker ?? PoolClient.spawn();
    const ch = new Channel(worker);
    const req: OpenRequest = {
      name, layout: opts.layout, backend: opts.backend, durability: opts.durability, create: opts.create,
      exclusive, waitMs: opts.waitMs, debug: opts.debug, evicts: opts.evicts,
    };
    try {
      const r = await ch.request<OpenResult>({ kind: 'open', req });
      return new PoolClient(ch, r.pool, name, r);
    } catch (e) {
      worker.terminate();
      throw e;
    }
  }

  /** Run a throwaway worker for one file-level request. */
  private static async once<T>(req: RequestBody, transfer: Transferable[] = []): Promise<T> {
    const worker = PoolClient.spawn();
    try {
      return await new Channel(worker).request<T>(req, transfer);
    } finally {
      worker.terminate();
    }
  }

  /** Store `bytes` (a pool file, e.g. made by Node's file backend) in OPFS as pool `name`; returns its size. */
  static importFile(name: string, bytes: Uint8Array, opts: { replace?: boolean } = {}): Promise<number> {
    return PoolClient.once<number>({ kind: 'import', name, bytes: bytes.slice(), replace: opts.replace });
  }

  /** The bytes of OPFS pool `name` as stored (it must not be open elsewhere). */
  static exportFile(name: string): Promise<Uint8Array> {
    return PoolClient.once<Uint8Array>({ kind: 'export', name });
  }

  /** Delete OPFS pool `name`; false if there was none. */
  static remove(name: string): Promise<boolean> {
    return PoolClient.once<boolean>({ kind: 'remove', name });
  }

  /** Names of the pools in OPFS. */
  static list(): Promise<string[]> {
    return PoolClient.once<string[]>({ kind: 'list' });
  }

  /** Whether the open created the pool. */
  get created(): boolean { return this.opened.created; }
  /** Backend, durability, size, as reported at open (or last recovery). */
  get info(): PoolInfo { return this.opened.info; }
  /** Time the worker spent opening (file + validation + recovery), ms. */
  get openMs(): number { return this.opened.openMs; }
  get recovery(): PoolStats['recovery'] { return this.opened.recovery; }
  get isClosed(): boolean { return this.closed; }

  /** Run `ops` in order in the worker; one round trip. Returns each operation's result. */
  async batch(ops: Op[]): Promise<unknown[]> {
    if (this.closed) throw new errors.PoolClosedError();
    return this.ch.request<unknown[]>({ kind: 'batch', pool: this.id, ops });
  }

  /**
   * @internal The browser Store's calls of one page turn, in one message:
   * run in order, their writes committed as one batch; each call answered on
   * its own (a refused call does not fail the others).
   */
  async storeCalls(calls: StoreCall[]): Promise<StoreOutcome[]> {
    if (this.closed) throw new errors.PoolClosedError();
    return this.ch.request<StoreOutcome[]>({ kind: 'store', pool: this.id, calls });
  }

  /** @internal From now on the worker also answers gets asked through `buffer` (sync-reads.ts). */
  async syncReads(buffer: SharedArrayBuffer): Promise<void> {
    if (this.closed) throw new errors.PoolClosedError();
    await this.ch.request<boolean>({ kind: 'syncReads', pool: this.id, buffer });
  }

  private async one<T>(op: Op): Promise<T> {
    return (await this.batch([op]))[0] as T;
  }

  /**
   * One transaction of `ops` ('set' snapshots then stores; 'alloc'/'free'
   * are transactional): committed when all succeed, rolled back and
   * rethrown otherwise. Returns the operations' results.
   */
  async tx(ops: Op[]): Promise<unknown[]> { return this.one<unknown[]>({ op: 'tx', ops }); }

  root(size: number): Promise<number> { return this.one({ op: 'root', size }); }
  readU8(off: Off): Promise<number> { return this.one({ op: 'read', type: 'u8', off }); }
  readU32(off: Off): Promise<number> { return this.one({ op: 'read', type: 'u32', off }); }
  readU64(off: Off): Promise<bigint> { return this.one({ op: 'read', type: 'u64', off }); }
  readF64(off: Off): Promise<number> { return this.one({ op: 'read', type: 'f64', off }); }
  readBytes(off: Off, len: number): Promise<Uint8Array> { return this.one({ op: 'read', type: 'bytes', off, len }); }
  async writeU32(off: Off, value: number): Promise<void> { await this.one({ op: 'write', type: 'u32', off, value }); }
  async writeU64(off: Off, value: bigint): Promise<void> { await this.one({ op: 'write', type: 'u64', off, value }); }
  async writeBytes(off: Off, value: Uint8Array): Promise<void> { await this.one({ op: 'write', type: 'bytes', off, value }); }
  async flush(off: Off, len: number): Promise<void> { await this.one({ op: 'flush', off, len }); }
  async drain(): Promise<void> { await this.one({ op: 'drain' }); }
  async persist(off: Off, len: number): Promise<void> { await this.one({ op: 'persist', off, len }); }
  alloc(size: number, opts: { type?: number; zero?: boolean; align64?: boolean; into?: Off } = {}): Promise<number> {
    return this.one({ op: 'alloc', size, ...opts });
  }
  async free(off: Off, opts: { from?: Off } = {}): Promise<void> { await this.one({ op: 'free', off, ...opts }); }
  stats(): Promise<PoolStats> { return this.one({ op: 'stats' }); }
  async check(): Promise<void> { await this.one({ op: 'check' }); }
  pendingLines(): Promise<number[]> { return this.one({ op: 'pendingLines' }); }
  durableImage(): Promise<Uint8Array> { return this.one({ op: 'durableImage' }); }
  inspect(): Promise<Inspection> { return this.one({ op: 'inspect' }); }
  objects(type?: number, len?: number): Promise<{ off: number; type: number; size: number; bytes?: Uint8Array }[]> {
    return this.one({ op: 'objects', type, len });
  }

  /**
   * Measure, inside the worker: `n` rounds of (store `len` bytes at `off`,
   * persist them). Resolves with the loop's milliseconds as the worker
   * timed it (no round trip included).
   */
  benchPersist(off: Off, len: number, n: number): Promise<number> { return this.one({ op: 'benchPersist', off, len, n }); }

  /** Step-by-step transactions: each returns the depth after it. */
  txBegin(): Promise<number> { return this.one({ op: 'txBegin' }); }
  async addRange(off: Off, len: number): Promise<void> { await this.one({ op: 'addRange', off, len }); }
  txCommit(): Promise<number> { return this.one({ op: 'txCommit' }); }
  txAbort(): Promise<number> { return this.one({ op: 'txAbort' }); }

  /**
   * Simulated crash: the durable file becomes the image `mode` leaves
   * (seeded), and the pool stays down until recover(). With `detail` the
   * images before and after are returned.
   */
  crash(opts: { mode: CrashMode; seed?: number | string; detail?: boolean }): Promise<CrashResult> {
    return this.one({ op: 'crash', mode: opts.mode, seed: opts.seed, detail: opts.detail });
  }

  /** Reopen after crash() — recovery rolls back any valid undo log. */
  async recover(opts: { detail?: boolean } = {}): Promise<RecoverResult> {
    const r = await this.one<RecoverResult>({ op: 'recover', detail: opts.detail });
    this.opened = { ...this.opened, info: r.info, recovery: r.recovery };
    return r;
  }

  /** The pool file's bytes as durable right now (what a download gets). */
  exportBytes(): Promise<Uint8Array> { return this.durableImage(); }

  /** Close the pool (nothing un-drained becomes durable) and end its worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.one({ op: 'close' });
    } finally {
      this.closed = true;
      this.ch.worker.terminate();
    }
  }
}
