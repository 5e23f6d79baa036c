// oplog.ts — record what a program does to a pool, replay it exactly.
//
// recordOps() creates a deterministic pool (its UUID comes from a seed) and
// returns it wrapped: every call that can change the pool is appended to an
// operation log, with its arguments and its result (or the error it threw).
// Reads are not logged: they change nothing, and the values the program
// computed from them reach the pool only through logged stores.
//
//   {"op":"create","format":"pheap-oplog/1","size":1048576,"layout":"app","seed":7}
//     ("evicts":true when the pool modelled pmem: the replay uses the same cache model)
//   {"op":"root","size":64,"ret":4160}
//   {"op":"txBegin"}
//   {"op":"addRange","off":4160,"len":4}
//   {"op":"write","type":"u32","off":4160,"value":1}
//   {"op":"txCommit"}
//   {"op":"alloc","size":32,"opts":{"type":1},"ret":65600}
//   {"op":"crash","mode":"pending","seed":3}
//
// Logged: create, root, alloc, free, realloc, write (u8 u16 u32 i32 u64 f64
// bytes), flush, drain, persist, txBegin / txCommit / txAbort (around a
// pool.tx(fn) call), beginTx / commitTx / abortTx (the step-by-step API),
// addRange, crash, close. Values that JSON cannot hold exactly are strings: u64 in
// decimal, f64 and bytes in hex (little-endian bytes).
//
// replayOps() applies a log to a fresh pool on any backend and checks that
// every call gives the recorded result; the same log (the seeds are in it)
// gives a byte-identical pool on every backend. A pool that is not recorded
// pays nothing: recording is a wrapper, not a hook in Pool.

import { Pool, type AllocOptions, type CreateOptions, type Tx } from '../pool.js';
import type { BackendKind, Durability } from '../backends/backend.js';
import type { CrashOptions } from './modes.js';
import type { Seed } from '../prng.js';
import { interceptPool } from './intercept.js';
import { sha256 } from './hash.js';
import { PheapError } from '../errors.js';

export const OPLOG_FORMAT = 'pheap-oplog/1';

export type WriteType = 'u8' | 'u16' | 'u32' | 'i32' | 'u64' | 'f64' | 'bytes';

export type OpEntry = (
  | { op: 'create'; format: string; size: number; layout: string; seed: Seed; evicts?: boolean; maxSize?: number }
  | { op: 'root'; size: number; ret?: number }
  | { op: 'alloc'; size: number; opts?: AllocOptions; ret?: number }
  | { op: 'free'; off: number; opts?: { from?: number } }
  | { op: 'realloc'; off: number; size: number; opts?: { into?: number }; ret?: number }
  | { op: 'write'; type: WriteType; off: number; value: number | string }
  | { op: 'flush' | 'persist'; off: number; len: number }
  | { op: 'drain' }
  | { op: 'txBegin' }
  | { op: 'addRange'; off: number; len: number }
  | { op: 'txCommit' }
  | { op: 'txAbort' }
  | { op: 'beginTx' | 'commitTx' | 'abortTx' }
  | { op: 'crash'; mode: CrashOptions['mode']; seed?: Seed }
  | { op: 'close' }
) & {
  /** Name of the error the call threw (e.g. 'OutOfSpaceError'); absent when it returned. */
  error?: string;
};

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
function unhex(s: string): Uint8Array {
  if (s.length % 2 || /[^0-9a-f]/i.test(s)) throw new OpLogError(`bad hex string '${s.slice(0, 20)}'`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}
function f64hex(v: number): string { const b = new Uint8Array(8); new DataView(b.buffer).setFloat64(0, v, true); return hex(b); }
function hexf64(s: string): number { return new DataView(unhex(s).buffer).getFloat64(0, true); }

export class OpLogError extends PheapError {
  constructor(message: string) { super('ERR_OPLOG', message); }
}

/** An operation log being recorded. */
export class OpLog {
  readonly entries: OpEntry[] = [];
  /** The log as JSON lines (one entry per line, newline-terminated). */
  toJSONL(): string { return this.entries.map((e) => JSON.stringify(e)).join('\n') + '\n'; }
  /** Parse JSON lines (blank lines ignored). */
  static parse(text: string): OpEntry[] {
    return text.split('\n').map((l, i) => {
      if (!l.trim()) return null;
      try { return JSON.parse(l) as OpEntry; } catch (e) { throw new OpLogError(`line ${i + 1}: ${(e as Error).message}`); }
    }).filter((e): e is OpEntry => e !== null);
  }
}

export interface RecordOpsOptions extends Omit<CreateOptions, 'seed'> {
  /** Seed of the pool's UUID (default 1): part of the log, so replays are byte-identical. */
  seed?: Seed;
}

/** Create a pool whose every change is logged. Use the returned `pool` exactly like a Pool. */
export function recordOps(opts: RecordOpsOptions): { pool: Pool; log: OpLog } {
  const log = new OpLog();
  const seed = opts.seed ?? 1;
  let current = Pool.create({ ...opts, seed });
  log.entries.push({
    op: 'create', format: OPLOG_FORMAT, size: current.size, layout: opts.layout, seed,
    ...(current.info().evicts ? { evicts: true } : {}), ...(opts.maxSize !== undefined ? { maxSize: opts.maxSize } : {}),
  });

  /** Run `fn`, log `entry` with its result or error. */
  function logged<T>(entry: OpEntry, fn: () => T, withRet = false): T {
    try {
      const r = fn();
      if (withRet) (entry as { ret?: number }).ret = r as unknown as number;
      log.entries.push(entry);
      return r;
    } catch (e) {
      entry.error = e instanceof Error ? e.name : String(e);
      log.entries.push(entry);
      throw e;
    }
  }
  const clean = <T extends object>(o: T | undefined): T | undefined => (o && Object.keys(o).length ? { ...o } : undefined);
  const write = (type: WriteType, off: number, value: number | string, fn: () => void) => logged({ op: 'write', type, off, value }, fn);

  const api = {
    root: (size: number) => logged({ op: 'root', size }, () => current.root(size), true),
    alloc: (size: number, o?: AllocOptions) => logged({ op: 'alloc', size, ...(clean(o) ? { opts: clean(o) } : {}) }, () => current.alloc(size, o), true),
    free: (off: number, o?: { from?: number }) => logged({ op: 'free', off, ...(clean(o) ? { opts: clean(o) } : {}) }, () => current.free(off, o)),
    realloc: (off: number, size: number, o?: { into?: number }) => logged({ op: 'realloc', off, size, ...(clean(o) ? { opts: clean(o) } : {}) }, () => current.realloc(off, size, o), true),
    writeU8: (off: number, v: number) => write('u8', off, v, () => current.writeU8(off, v)),
    writeU16: (off: number, v: number) => write('u16', off, v, () => current.writeU16(off, v)),
    writeU32: (off: number, v: number) => write('u32', off, v, () => current.writeU32(off, v)),
    writeI32: (off: number, v: number) => write('i32', off, v, () => current.writeI32(off, v)),
    writeU64: (off: number, v: bigint) => write('u64', off, BigInt.asUintN(64, BigInt(v)).toString(), () => current.writeU64(off, v)),
    writeF64: (off: number, v: number) => write('f64', off, f64hex(v), () => current.writeF64(off, v)),
    writeBytes: (off: number, data: Uint8Array) => write('bytes', off, hex(data), () => current.writeBytes(off, data)),
    flush: (off: number, len: number) => logged({ op: 'flush', off, len }, () => current.flush(off, len)),
    persist: (off: number, len: number) => logged({ op: 'persist', off, len }, () => current.persist(off, len)),
    drain: () => logged({ op: 'drain' }, () => current.drain()),
    addRange: (off: number, len: number) => logged({ op: 'addRange', off, len }, () => current.addRange(off, len)),
    beginTx: () => logged({ op: 'beginTx' }, () => current.beginTx()),
    commitTx: () => logged({ op: 'commitTx' }, () => current.commitTx()),
    abortTx: () => logged({ op: 'abortTx' }, () => current.abortTx()),
    crash: (o: CrashOptions) => {
      logged({ op: 'crash', mode: o.mode, ...(o.seed !== undefined ? { seed: o.seed } : {}) }, () => { current = current.crash(o); });
      return proxy;
    },
    close: () => logged({ op: 'close' }, () => current.close()),
    tx: <T>(fn: (tx: Tx) => T): T => {
      log.entries.push({ op: 'txBegin' });
      let returned = false;
      try {
        const out = current.tx((realTx) => {
          const r = fn(txHandle(realTx));
          returned = true;
          return r;
        });
        log.entries.push({ op: 'txCommit' });
        return out;
      } catch (e) {
        const name = e instanceof Error ? e.name : String(e);
        log.entries.push(returned ? { op: 'txCommit', error: name } : { op: 'txAbort', error: name });
        throw e;
      }
    },
  };
  const proxy = interceptPool(() => current, api as unknown as Record<string, (...a: never[]) => unknown>);

  /** The Tx handle a recorded transaction sees: its setters log addRange + write. */
  const txHandle = (realTx: Tx): Tx => {
    const set = (w: (off: number, v: never) => void, len: (v: never) => number) => (off: number, v: never) => { api.addRange(off, len(v)); w(off, v); };
    const handle = {
      addRange: api.addRange,
      setU8: set(api.writeU8 as never, () => 1), setU16: set(api.writeU16 as never, () => 2),
      setU32: set(api.writeU32 as never, () => 4), setI32: set(api.writeI32 as never, () => 4),
      setU64: set(api.writeU64 as never, () => 8), setF64: set(api.writeF64 as never, () => 8),
      setBytes: set(api.writeBytes as never, (d: Uint8Array) => d.length),
      alloc: api.alloc, free: api.free, realloc: api.realloc,
    };
    Object.setPrototypeOf(handle, Object.getPrototypeOf(realTx));
    return handle as unknown as Tx;
  };
  return { pool: proxy, log };
}

/** Thrown inside a replayed transaction to abort it as the recording did. */
class ReplayAbort extends Error {}

export interface ReplayOptions {
  /** Backend of the fresh pool (default 'memory'); 'file' needs `path` (created; must not exist). */
  backend?: BackendKind;
  path?: string;
  durability?: Durability;
}

export interface ReplayResult {
  /** Entries applied. */
  entries: number;
  /** The durable image after the replay, and its SHA-256. */
  image: Uint8Array;
  sha256: string;
}

/**
 * Apply an operation log to a fresh pool, checking every result against the
 * log (OpLogError on the first difference). The pool is closed at the end.
 */
export function replayOps(log: OpEntry[] | string, opts: ReplayOptions = {}): ReplayResult {
  const entries = typeof log === 'string' ? OpLog.parse(log) : log;
  const first = entries[0];
  if (!first || first.op !== 'create') throw new OpLogError('an operation log starts with a "create" entry');
  if (first.format !== OPLOG_FORMAT) throw new OpLogError(`unknown log format '${first.format}' (expected ${OPLOG_FORMAT})`);
  let pool = Pool.create({
    size: first.size, layout: first.layout, seed: first.seed, ...(first.evicts ? { evicts: true } : {}),
    ...(first.maxSize !== undefined ? { maxSize: first.maxSize } : {}),
    backend: opts.backend ?? 'memory', ...(opts.path ? { path: opts.path } : {}), ...(opts.durability ? { durability: opts.durability } : {}),
  });
  let i = 1;
  let cur = 0; // the entry being applied
  const where = () => `entry ${cur} (line ${cur + 1})`;

  /** Call fn; compare its outcome with the entry's error / ret. */
  function expectOutcome<T>(e: OpEntry, fn: () => T): T | undefined {
    let r: T;
    try {
      r = fn();
    } catch (err) {
      if (err instanceof ReplayAbort) throw err;
      const name = err instanceof Error ? err.name : String(err);
      if (e.error === name) return undefined;
      throw new OpLogError(`${where()} ${e.op}: threw ${name} (${(err as Error).message}), the recording ${e.error ? `threw ${e.error}` : 'returned'}`);
    }
    if (e.error) throw new OpLogError(`${where()} ${e.op}: returned, the recording threw ${e.error}`);
    const ret = (e as { ret?: number }).ret;
    if (ret !== undefined && (r as unknown) !== ret) throw new OpLogError(`${where()} ${e.op}: returned ${String(r)}, the recording returned ${ret}`);
    return r;
  }

  function writeOf(e: Extract<OpEntry, { op: 'write' }>): void {
    const v = e.value;
    switch (e.type) {
      case 'u8': pool.writeU8(e.off, v as number); break;
      case 'u16': pool.writeU16(e.off, v as number); break;
      case 'u32': pool.writeU32(e.off, v as number); break;
      case 'i32': pool.writeI32(e.off, v as number); break;
      case 'u64': pool.writeU64(e.off, BigInt(v)); break;
      case 'f64': pool.writeF64(e.off, hexf64(v as string)); break;
      case 'bytes': pool.writeBytes(e.off, unhex(v as string)); break;
      default: throw new OpLogError(`${where()}: unknown write type '${(e as { type: string }).type}'`);
    }
  }

  /** Apply entries until the end, or (inside a transaction) until its txCommit / txAbort, which is returned. */
  function run(inTx: boolean): OpEntry | null {
    while (i < entries.length) {
      cur = i;
      const e = entries[i++];
      switch (e.op) {
        case 'root': expectOutcome(e, () => pool.root(e.size)); break;
        case 'alloc': expectOutcome(e, () => pool.alloc(e.size, e.opts)); break;
        case 'free': expectOutcome(e, () => pool.free(e.off, e.opts)); break;
        case 'realloc': expectOutcome(e, () => pool.realloc(e.off, e.size, e.opts)); break;
        case 'write': expectOutcome(e, () => writeOf(e)); break;
        case 'flush': expectOutcome(e, () => pool.flush(e.off, e.len)); break;
        case 'persist': expectOutcome(e, () => pool.persist(e.off, e.len)); break;
        case 'drain': expectOutcome(e, () => pool.drain()); break;
        case 'addRange': expectOutcome(e, () => pool.addRange(e.off, e.len)); break;
        case 'beginTx': expectOutcome(e, () => pool.beginTx()); break;
        case 'commitTx': expectOutcome(e, () => pool.commitTx()); break;
        case 'abortTx': expectOutcome(e, () => pool.abortTx()); break;
        case 'crash': expectOutcome(e, () => { pool = pool.crash({ mode: e.mode, ...(e.seed !== undefined ? { seed: e.seed } : {}) }); }); break;
        case 'close': break; // the replay closes at the end
        case 'txBegin': {
          let end: OpEntry | null = null;
          const target = pool;
          try {
            target.tx(() => {
              end = run(true);
              if (!end) throw new OpLogError(`${where()}: the log ends inside a transaction`);
              if (end.op === 'txAbort') throw new ReplayAbort();
            });
            if (end!.error) throw new OpLogError(`${where()} txCommit: committed, the recording threw ${end!.error}`);
          } catch (err) {
            if (err instanceof OpLogError) throw err;
            const ended = end as OpEntry | null;
            if (err instanceof ReplayAbort && ended?.op === 'txAbort') break;
            const name = err instanceof Error ? err.name : String(err);
            if (ended?.op === 'txCommit' && ended.error === name) break;
            throw new OpLogError(`${where()} transaction: threw ${name} (${(err as Error).message}), not what the recording did`);
          }
          break;
        }
        case 'txCommit': case 'txAbort':
          if (!inTx) throw new OpLogError(`${where()}: ${e.op} outside a transaction`);
          return e;
        case 'create': throw new OpLogError(`${where()}: a second "create"`);
        default: throw new OpLogError(`${where()}: unknown op '${(e as { op: string }).op}'`);
      }
    }
    return null;
  }

  try {
    run(false);
    const image = pool.durableImage();
    return { entries: entries.length, image, sha256: sha256(image) };
  } finally {
    pool.close();
  }
}
