// worker.ts — the pool worker: runs the WASM core and OPFS backends off the
// main thread (sync access handles exist only in dedicated Workers).
//
// Requests are handled one at a time, in arrival order. A 'batch' runs its
// operations synchronously against one pool and answers once, so one user
// operation is one round trip; a 'store' request (the browser Store's calls
// of one page turn) runs its calls in order, commits their writes as one
// batch and answers each call on its own (store-ops.ts). Errors cross as
// {name, code, message} and are rebuilt into the same PheapError classes by
// the client.
//
// The WASM module is compiled once: the release core embedded in the
// package's worker, or fetched from `?wasm=` on the worker's URL (default
// /build/pheap.wasm) when the worker is served as a file.

import { setCompiledModule } from '../core.js';
import { Pool, type AllocOptions } from '../pool.js';
import { MemoryBackend } from '../backends/memory.js';
import { OpfsBackend, exportPool, importPool, listPools, removePool } from '../backends/opfs.js';
import type { Backend, Durability } from '../backends/backend.js';
import { PoolClosedError, PoolNotFoundError, TxStateError, UnsupportedOperationError } from '../errors.js';
import { runStoreCalls, runStoreOp, serveSyncReads, type StoreCache } from './store-ops.js';
import type { CrashResult, Inspection, Off, Op, OpenRequest, OpenResult, RecoverResult, Request, Response, Value, ValueType } from './protocol.js';
import { wireError } from './protocol.js';

interface Entry {
  name: string;
  layout: string;
  kind: 'opfs' | 'memory';
  durability: Durability;
  debug: boolean;
  evicts: boolean;
  pool: Pool | null;
  backend: Backend | null;
  /** After a simulated crash: the image to reopen (memory backend) / the pool is down until 'recover'. */
  crashed: Uint8Array | null;
  /** The Store databases pages used on this pool (store-ops.ts). */
  stores: StoreCache;
}

const pools = new Map<number, Entry>();
let nextPool = 1;

// ─── the WASM module ─────────────────────────────────────────────────────────

/**
 * The release core as base64, embedded by the package build in the worker
 * that dist/browser.js carries; absent in a worker served as a file (the
 * playground's), which fetches the core instead.
 */
declare const __PHEAP_CORE_BASE64__: string | undefined;

/** The core's bytes: embedded, or fetched from `?wasm=` on the worker's URL (default /build/pheap.wasm). */
async function coreBytes(debug: boolean): Promise<BufferSource> {
  if (typeof __PHEAP_CORE_BASE64__ === 'string') {
    if (debug) throw new UnsupportedOperationError('the embedded pool worker carries only the release core: for debug: true, serve pheap.debug.wasm and a worker (PoolClient.workerUrl)');
    return Uint8Array.from(atob(__PHEAP_CORE_BASE64__), (c) => c.charCodeAt(0));
  }
  const base = new URL(self.location.href).searchParams.get('wasm') ?? '/build/pheap.wasm';
  const url = new URL(debug ? base.replace(/\.wasm$/, '.debug.wasm') : base, self.location.href);
  const res = await fetch(url);
  if (!res.ok) throw new UnsupportedOperationError(`cannot load the pheap core from ${url}: HTTP ${res.status}`);
  return res.arrayBuffer();
}

const compiled = new Map<boolean, Promise<void>>();
function loadModule(debug: boolean): Promise<void> {
  let p = compiled.get(debug);
  if (!p) {
    p = (async () => {
      setCompiledModule(debug, await WebAssembly.compile(await coreBytes(debug)));
    })();
    p.catch(() => compiled.delete(debug));
    compiled.set(debug, p);
  }
  return p;
}

// ─── helpers ─────────────────────────────────────────────────────────────────

function resolveOff(off: Off, results: unknown[]): number {
  if (typeof off === 'number') return off;
  const base = results[off.ref];
  if (typeof base !== 'number') throw new UnsupportedOperationError(`operation ${off.ref} gave no offset to refer to`);
  return base + (off.add ?? 0);
}

function readValue(pool: Pool, type: ValueType, off: number, len?: number): Value {
  switch (type) {
    case 'u8': return pool.readU8(off);
    case 'u16': return pool.readU16(off);
    case 'u32': return pool.readU32(off);
    case 'i32': return pool.readI32(off);
    case 'u64': return pool.readU64(off);
    case 'f64': return pool.readF64(off);
    case 'bytes': return pool.readBytes(off, len ?? 0);
  }
}

function writeValue(pool: Pool, type: ValueType, off: number, v: Value): void {
  switch (type) {
    case 'u8': return pool.writeU8(off, v as number);
    case 'u16': return pool.writeU16(off, v as number);
    case 'u32': return pool.writeU32(off, v as number);
    case 'i32': return pool.writeI32(off, v as number);
    case 'u64': return pool.writeU64(off, BigInt(v as number | bigint));
    case 'f64': return pool.writeF64(off, v as number);
    case 'bytes': return pool.writeBytes(off, v as Uint8Array);
  }
}

function byteLength(type: ValueType, v: Value): number {
  if (type === 'bytes') return (v as Uint8Array).length;
  return { u8: 1, u16: 2, u32: 4, i32: 4, u64: 8, f64: 8 }[type];
}

function livePool(e: Entry): Pool {
  if (e.crashed) throw new PoolClosedError();
  if (!e.pool || e.pool.isClosed) throw new PoolClosedError();
  return e.pool;
}

// ─── operations ──────────────────────────────────────────────────────────────

function runOps(e: Entry, ops: Op[], inTx: boolean): unknown[] {
  const results: unknown[] = [];
  for (let i = 0; i < ops.length; i++) {
    try {
      results.push(runOp(e, ops[i], results, inTx));
    } catch (err) {
      if (err && typeof err === 'object' && (err as { opIndex?: number }).opIndex === undefined) (err as { opIndex?: number }).opIndex = i;
      throw err;
    }
  }
  return results;
}

function runOp(e: Entry, o: Op, results: unknown[], inTx: boolean): unknown {
  const R = (off: Off) => resolveOff(off, results);
  switch (o.op) {
    case 'crash': return crash(e, o.mode, o.seed ?? 0, o.detail ?? false);
    case 'recover': return recover(e, o.detail ?? false);
    case 'close': {
      e.pool?.close();
      pools.forEach((v, k) => { if (v === e) pools.delete(k); });
      return null;
    }
    default: break;
  }
  const pool = livePool(e);
  switch (o.op) {
    case 'root': return pool.root(o.size);
    case 'read': return readValue(pool, o.type, R(o.off), o.len);
    case 'write': writeValue(pool, o.type, R(o.off), o.value); return null;
    case 'set': {
      if (!inTx) throw new TxStateError("'set' belongs inside a 'tx' operation (use 'write' for raw stores)");
      const off = R(o.off);
      pool.addRange(off, byteLength(o.type, o.value));
      writeValue(pool, o.type, off, o.value);
      return null;
    }
    case 'flush': pool.flush(R(o.off), o.len); return null;
    case 'drain': pool.drain(); return null;
    case 'persist': pool.persist(R(o.off), o.len); return null;
    case 'alloc': {
      const opts: AllocOptions = { type: o.type, zero: o.zero, align64: o.align64 };
      if (o.into !== undefined) opts.into = R(o.into);
      return pool.alloc(o.size, opts);
    }
    case 'free': pool.free(R(o.off), o.from !== undefined ? { from: R(o.from) } : {}); return null;
    case 'tx': return pool.tx(() => runOps(e, o.ops, true));
    case 'txBegin': pool.beginTx(); return pool.txDepth;
    case 'addRange': pool.addRange(R(o.off), o.len); return null;
    case 'txCommit': pool.commitTx(); return pool.txDepth;
    case 'txAbort': pool.abortTx(); return pool.txDepth;
    case 'stats': return pool.stats();
    case 'info': return pool.info();
    case 'check': pool.check(); return true;
    case 'pendingLines': return pool.pendingLines();
    case 'durableImage': return pool.durableImage();
    case 'inspect': return inspect(pool);
    case 'store': return runStoreOp(pool, e.stores, o.db, o.method, o.args);
    case 'objects': {
      const out: { off: number; type: number; size: number; bytes?: Uint8Array }[] = [];
      for (const off of pool.objects(o.type)) {
        const size = pool.sizeOf(off);
        out.push({ off, type: pool.typeOf(off), size, ...(o.len ? { bytes: pool.readBytes(off, Math.min(o.len, size)) } : {}) });
      }
      return out;
    }
    case 'benchTx': {
      const off = R(o.off);
      const t0 = performance.now();
      for (let i = 0; i < o.n; i++) {
        pool.tx(() => {
          pool.addRange(off, o.len);
          pool.writeU32(off, i);
        });
      }
      return performance.now() - t0;
    }
    case 'benchPersist': return benchPersist(pool, R(o.off), o.len, o.n);
  }
}

/** n × (store `len` bytes at `off`, each round a different fill, then persist them): the loop's ms, measured in the worker. */
function benchPersist(pool: Pool, off: number, len: number, n: number): number {
  const block = new Uint8Array(len);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    block.fill((i % 255) + 1);
    pool.writeBytes(off, block);
    pool.persist(off, len);
  }
  return performance.now() - t0;
}

function inspect(pool: Pool): Inspection {
  const regions = pool.layoutInfo();
  return {
    size: pool.size,
    cache: pool.readBytes(0, pool.size),
    durable: pool.durableImage(),
    pending: pool.pendingLines(),
    logOffset: regions.logOffset,
    logBytes: regions.logBytes,
    heapOffset: regions.heapOffset,
    logSequence: BigInt(regions.logSequence),
    txDepth: pool.txDepth,
  };
}

function crash(e: Entry, mode: CrashResult['mode'], seed: number | string, detail: boolean): CrashResult {
  const pool = livePool(e);
  const pending = pool.pendingLines();
  const durable = detail ? pool.durableImage() : undefined;
  const cache = detail ? pool.readBytes(0, pool.size) : undefined;
  const image = pool.crashImage({ mode, seed });
  // The process "dies": the file becomes the crash image, nothing else is written.
  if (e.backend instanceof OpfsBackend) {
    e.backend.replaceDurableImage(image);
    e.backend.abandon();
  } else {
    e.backend!.replaceDurableImage!(image);
  }
  pool.close();
  e.crashed = image;
  return { mode, seed, pending, ...(detail ? { durable, cache, image } : {}) };
}

async function recover(e: Entry, detail: boolean): Promise<RecoverResult> {
  if (!e.crashed) throw new UnsupportedOperationError('recover() follows crash(); this pool did not crash');
  const backend = e.kind === 'opfs'
    ? await OpfsBackend.open(e.name, e.durability)
    : new MemoryBackend(e.crashed.length, e.durability, e.crashed.slice());
  const pool = Pool.open({ backend, layout: e.layout, debug: e.debug, evicts: e.evicts });
  e.pool = pool;
  e.stores = new Map(); // databases of the pool before the crash belong to a closed pool
  e.backend = backend;
  e.crashed = null;
  return { recovery: pool.stats().recovery, info: pool.info(), ...(detail ? { cache: pool.readBytes(0, pool.size) } : {}) };
}

async function open(req: OpenRequest): Promise<OpenResult> {
  await loadModule(req.debug ?? false);
  const kind = req.backend ?? 'opfs';
  const durability = req.durability ?? (kind === 'opfs' ? 'fsync' : 'os');
  const t0 = performance.now();
  let backend: Backend;
  let created = false;
  if (kind === 'memory') {
    if (!req.create) throw new UnsupportedOperationError('a memory pool in the worker must be created (give `create: {size}`)');
    backend = new MemoryBackend(req.create.size, durability);
    created = true;
  } else {
    try {
      if (req.exclusive) throw new PoolNotFoundError(req.name);
      backend = await OpfsBackend.open(req.name, durability, { waitMs: req.waitMs });
    } catch (err) {
      if (!(err instanceof PoolNotFoundError) || !req.create) throw err;
      backend = await OpfsBackend.create(req.name, req.create.size, durability, { waitMs: req.waitMs });
      created = true;
    }
  }
  let pool: Pool;
  if (created) {
    pool = Pool.create({ backend, size: req.create!.size, layout: req.layout, seed: req.create!.seed, debug: req.debug, evicts: req.evicts });
  } else {
    pool = Pool.open({ backend, layout: req.layout, debug: req.debug, evicts: req.evicts });
  }
  const openMs = performance.now() - t0;
  const id = nextPool++;
  pools.set(id, { name: req.name, layout: req.layout, kind, durability, debug: req.debug ?? false, evicts: pool.info().evicts, pool, backend, crashed: null, stores: new Map() });
  return { pool: id, created, info: pool.info(), openMs, recovery: pool.stats().recovery };
}

async function handle(req: Request): Promise<unknown> {
  switch (req.kind) {
    case 'open': return open(req.req);
    case 'batch': {
      const e = pools.get(req.pool);
      if (!e) throw new PoolClosedError();
      // 'recover' is the one asynchronous operation (it reopens the file); it runs alone.
      if (req.ops.length === 1 && req.ops[0].op === 'recover') return [await recover(e, req.ops[0].detail ?? false)];
      if (req.ops.some((o) => o.op === 'recover')) throw new UnsupportedOperationError("'recover' must be sent on its own");
      // Store writes (put, remove) answer with promises: the batch answers when all are durable.
      const out = runOps(e, req.ops, false);
      return out.some((v) => v instanceof Promise) ? Promise.all(out) : out;
    }
    case 'store': {
      const e = pools.get(req.pool);
      if (!e) throw new PoolClosedError();
      return runStoreCalls(livePool(e), e.stores, req.calls);
    }
    case 'syncReads': {
      const e = pools.get(req.pool);
      if (!e) throw new PoolClosedError();
      serveSyncReads(() => (e.pool && !e.crashed && !e.pool.isClosed ? { pool: e.pool, cache: e.stores } : null), req.buffer);
      return true;
    }
    case 'import': {
      await loadModule(false); // the header check runs the core
      return importPool(req.name, req.bytes, { replace: req.replace });
    }
    case 'export': {
      for (const e of pools.values()) {
        if (e.name === req.name && e.kind === 'opfs' && e.pool && !e.pool.isClosed) return e.pool.durableImage();
      }
      return exportPool(req.name);
    }
    case 'remove': {
      for (const [k, e] of pools) if (e.name === req.name && e.kind === 'opfs') { e.pool?.close(); pools.delete(k); }
      return removePool(req.name);
    }
    case 'list': return listPools();
  }
}

function transferables(v: unknown, out: Transferable[] = [], depth = 0): Transferable[] {
  if (v instanceof Uint8Array) {
    if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.buffer instanceof ArrayBuffer && !out.includes(v.buffer)) out.push(v.buffer);
  } else if (v && typeof v === 'object' && depth < 4) {
    for (const x of Object.values(v)) transferables(x, out, depth + 1);
  }
  return out;
}

let queue: Promise<void> = Promise.resolve();
self.onmessage = (ev: MessageEvent<Request>) => {
  const req = ev.data;
  queue = queue.then(async () => {
    let res: Response;
    try {
      res = { id: req.id, ok: true, value: await handle(req) };
    } catch (err) {
      res = { id: req.id, ok: false, error: wireError(err) };
    }
    try {
      (self as unknown as Worker).postMessage(res, transferables(res));
    } catch (err) {
      (self as unknown as Worker).postMessage({ id: req.id, ok: false, error: wireError(err) });
    }
  });
};
