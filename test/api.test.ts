// api.test.ts — the public Pool/Tx surface refuses what it must not obey.
//
// Owns the regression tests for argument validation (no u32 wrap of offsets
// or sizes, typed errors for junk, values refused rather than truncated),
// the tx(fn) contract (no async functions, never returns uncommitted, levels
// opened by tx(fn) vs beginTx()), stale Tx handles, and iteration while
// freeing. Invariant checked throughout: a refused call throws a PheapError
// subclass and leaves the durable image, the cache and the object set as
// they were; pool.check() passes afterwards.
//
// Random runs are seeded: each property test prints the one line that
// reproduces it (PHEAP_API_SEED=<seed>).

import { describe, it, expect, afterEach } from 'vitest';
import fc from 'fast-check';
import {
  Pool, Tx, Prng, MemoryBackend, PheapError, OffsetError, InvalidSizeError, InvalidArgumentError, NotLiveError,
  BadTypeError, TxStateError, TxAbortedError, PoolClosedError, CHUNK_SIZE,
} from '../src/index.js';
import { sameBytes, thrown } from './helpers/pool-files.js';

const KiB = 1024;
const SIZE = 512 * KiB;
const SEED = Number(process.env.PHEAP_API_SEED ?? 20261201);
// Fixed-size (maxSize = size): "past the pool" is then one bound; growth is test/growth.test.ts.
const mem = (size = SIZE) => Pool.create({ size, maxSize: size, layout: 'api', seed: 5 });

/** Print the line that replays a seeded run of test `name`. */
function announce(name: string): void {
  console.log(`reproduce: PHEAP_API_SEED=${SEED} npx vitest run test/api.test.ts -t "${name}"`);
}

type ErrorClass = abstract new (...args: never[]) => PheapError;

/** Everything a refused call must leave as it was. */
interface Snapshot { durable: Uint8Array; cache: Uint8Array; objects: number[]; depth: number }

function snapshot(p: Pool): Snapshot {
  return { durable: p.durableImage(), cache: p.readBytes(0, p.size), objects: [...p.objects()], depth: p.txDepth };
}

function expectUnchanged(p: Pool, before: Snapshot, label: string): void {
  expect(sameBytes(p.durableImage(), before.durable), `${label}: durable image changed`).toBe(true);
  expect(sameBytes(p.readBytes(0, p.size), before.cache), `${label}: cache changed`).toBe(true);
  expect([...p.objects()], `${label}: objects changed`).toEqual(before.objects);
  expect(p.txDepth, `${label}: tx depth changed`).toBe(before.depth);
}

/** `fn` must throw `cls` (a PheapError) and change nothing in `p`. */
function refused(p: Pool, fn: () => unknown, cls: ErrorClass, label: string, message?: RegExp): PheapError {
  const before = snapshot(p);
  const e = thrown(fn);
  expect(e, `${label}: should throw ${cls.name}`).toBeInstanceOf(cls);
  expect(e, label).toBeInstanceOf(PheapError);
  if (message) expect((e as Error).message, label).toMatch(message);
  expectUnchanged(p, before, label);
  return e as PheapError;
}

// ─── offsets and sizes are never wrapped ──────────────────────────────────

describe('offsets and sizes at or past 2**32 are refused, not reduced mod 2**32', () => {
  it('free(a + 2**32) and realloc(a + 2**32) leave `a` alone', () => {
    const p = mem();
    const a = p.alloc(40, { type: 3 });
    p.writeU32(a, 0xabcdef);
    p.persist(a, 4);
    refused(p, () => p.free(a + 2 ** 32), OffsetError, 'free', /outside the pool/);
    refused(p, () => p.realloc(a + 2 ** 32, 4000), OffsetError, 'realloc', /outside the pool/);
    refused(p, () => p.free(a + p.size), OffsetError, 'free(a + size)');
    refused(p, () => p.free(a, { from: a + 2 ** 32 }), OffsetError, 'free from a + 2**32');
    refused(p, () => p.alloc(16, { into: a + 2 ** 32 }), OffsetError, 'alloc into a + 2**32');
    expect(p.isLive(a)).toBe(true);
    expect(p.readU32(a)).toBe(0xabcdef);
    p.check();
  });

  it('root(2**32 + 8) makes no root; alloc and realloc sizes past the pool are InvalidSizeError', () => {
    const p = mem();
    const a = p.alloc(40);
    for (const size of [2 ** 32 + 8, 2 ** 32, 2 ** 53, SIZE + CHUNK_SIZE, SIZE + 1]) {
      refused(p, () => p.root(size), InvalidSizeError, `root(${size})`);
      refused(p, () => p.alloc(size), InvalidSizeError, `alloc(${size})`);
      refused(p, () => p.realloc(a, size), InvalidSizeError, `realloc(a, ${size})`);
    }
    expect([...p.objects()]).toEqual([a]); // no root object was made
    expect(p.sizeOf(p.root(8))).toBe(8);
  });

  it('usableSize / typeOf / sizeOf of a non-object: NotLiveError or OffsetError, never 0 or an earlier error', () => {
    const p = mem();
    const a = p.alloc(40);
    const freed = p.alloc(40);
    p.free(freed);
    // an earlier failure must not leak into the answer
    expect(thrown(() => p.alloc(SIZE - CHUNK_SIZE))).toBeInstanceOf(PheapError);
    for (const [name, fn] of [['usableSize', p.usableSize], ['typeOf', p.typeOf], ['sizeOf', p.sizeOf]] as const) {
      const call = (off: number) => () => fn.call(p, off);
      for (const off of [freed, a + 8, 0, 0x800]) refused(p, call(off), NotLiveError, `${name}(${off})`, /not a live object/);
      for (const off of [a + 2 ** 32, p.size, -16, 1.5, NaN]) refused(p, call(off), OffsetError, `${name}(${off})`);
    }
    expect(p.usableSize(a)).toBeGreaterThanOrEqual(40);
    expect(p.sizeOf(a)).toBe(40);
  });

  it('an object allocated by the open transaction has a size and a type', () => {
    const p = mem();
    p.tx((tx) => {
      const o = tx.alloc(100, { type: 9 });
      expect([p.typeOf(o), p.sizeOf(o)]).toEqual([9, 100]);
      expect(p.usableSize(o)).toBeGreaterThanOrEqual(100);
    });
  });

  it('objects(type) checks `type` when called, before any step', () => {
    const p = mem();
    p.alloc(16, { type: 1 });
    for (const t of [-1, 0xffff0000, 0xffff0001, 2 ** 32 + 1, 1.5, NaN]) refused(p, () => p.objects(t), BadTypeError, `objects(${t})`);
    for (const t of ['1', null, 1n, {}]) refused(p, () => p.objects(t as never), InvalidArgumentError, `objects(${String(t)})`);
    expect([...p.objects(1)].length).toBe(1);
  });

  it('isLive answers false for numbers that are not live objects and refuses non-numbers', () => {
    const p = mem();
    const a = p.alloc(16);
    for (const off of [a + 2 ** 32, -a, a + 0.5, NaN, Infinity, 2 ** 53]) expect(p.isLive(off), String(off)).toBe(false);
    for (const off of ['16', null, undefined, BigInt(a)]) refused(p, () => p.isLive(off as never), InvalidArgumentError, `isLive(${String(off)})`);
    expect(p.isLive(a)).toBe(true);
  });
});

// ─── values and argument types ────────────────────────────────────────────

describe('junk values and argument types: typed errors, nothing stored', () => {
  it('writeU64(a, NaN), writeBytes(a, undefined), alloc(8, null) and friends: InvalidArgumentError', () => {
    const p = mem();
    const a = p.alloc(64);
    const cases: [string, () => unknown][] = [
      ['writeU64(a, NaN)', () => p.writeU64(a, NaN as never)], ['writeU64(a, 8)', () => p.writeU64(a, 8 as never)],
      ['writeBytes(a, undefined)', () => p.writeBytes(a, undefined as never)],
      ['writeBytes(a, Uint16Array)', () => p.writeBytes(a, new Uint16Array(2) as never)],
      ['writeBytes(a, [1, 2])', () => p.writeBytes(a, [1, 2] as never)],
      ['writeBytes(a, Uint8ClampedArray)', () => p.writeBytes(a, new Uint8ClampedArray(2) as never)],
      ['alloc(8, null)', () => p.alloc(8, null as never)], ['alloc(8, [])', () => p.alloc(8, [] as never)],
      ['alloc(8, {typo})', () => p.alloc(8, { typ: 3 } as never)], ['alloc(8, {zero: 1})', () => p.alloc(8, { zero: 1 } as never)],
      ['alloc("8")', () => p.alloc('8' as never)], ['alloc(8n)', () => p.alloc(8n as never)],
      ['free(a, null)', () => p.free(a, null as never)], ['realloc(a, 8, 5)', () => p.realloc(a, 8, 5 as never)],
      ['readU8("8")', () => p.readU8('8' as never)], ['flush(a, null)', () => p.flush(a, null as never)],
      ['tx(undefined)', () => p.tx(undefined as never)], ['crash(null)', () => p.crash(null as never)],
      ['crashImage({mode: "soft"})', () => p.crashImage({ mode: 'soft' as never })],
    ];
    for (const [label, fn] of cases) refused(p, fn, InvalidArgumentError, label);
  });

  it('integer stores refuse values outside their type (documented: never truncated); the edges are stored', () => {
    const p = mem();
    const a = p.alloc(64);
    const bad: [string, () => unknown][] = [
      ['u8 256', () => p.writeU8(a, 256)], ['u8 -1', () => p.writeU8(a, -1)], ['u8 1.5', () => p.writeU8(a, 1.5)],
      ['u16 65536', () => p.writeU16(a, 65536)], ['u32 -1', () => p.writeU32(a, -1)], ['u32 2**32', () => p.writeU32(a, 2 ** 32)],
      ['i32 2**31', () => p.writeI32(a, 2 ** 31)], ['i32 -(2**31)-1', () => p.writeI32(a, -(2 ** 31) - 1)],
      ['u64 -1n', () => p.writeU64(a, -1n)], ['u64 2n**64n', () => p.writeU64(a, 1n << 64n)],
      ['u32 NaN', () => p.writeU32(a, NaN)], ['u8 Infinity', () => p.writeU8(a, Infinity)], ['f64 "1"', () => p.writeF64(a, '1' as never)],
    ];
    for (const [label, fn] of bad) refused(p, fn, InvalidArgumentError, label, /not a|must be/);
    p.writeU8(a, 255); expect(p.readU8(a)).toBe(255);
    p.writeU16(a, 65535); expect(p.readU16(a)).toBe(65535);
    p.writeU32(a, 2 ** 32 - 1); expect(p.readU32(a)).toBe(2 ** 32 - 1);
    p.writeI32(a, -(2 ** 31)); expect(p.readI32(a)).toBe(-(2 ** 31));
    p.writeU64(a, (1n << 64n) - 1n); expect(p.readU64(a)).toBe((1n << 64n) - 1n);
    p.writeF64(a, NaN); expect(p.readF64(a)).toBeNaN();
  });

  it('a Tx setter refuses a bad value before snapshotting: the log and durable image stay as they were', () => {
    const p = mem();
    const r = p.root(64);
    const seq = p.layoutInfo().logSequence;
    p.tx((tx) => {
      for (const [label, fn] of [
        ['setU8 300', () => tx.setU8(r, 300)], ['setU32 -1', () => tx.setU32(r, -1)], ['setU64 -1n', () => tx.setU64(r, -1n)],
        ['setBytes null', () => tx.setBytes(r, null as never)], ['setF64 1n', () => tx.setF64(r, 1n as never)],
      ] as const) refused(p, fn, InvalidArgumentError, label);
    });
    expect(p.layoutInfo().logSequence).toBe(seq); // nothing was logged, so the commit had nothing to invalidate
    p.check();
  });
});

// ─── tx(fn) cannot be fooled ──────────────────────────────────────────────

describe('tx(fn): synchronous only, never returns uncommitted', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => { unhandled.push(e); };
  afterEach(() => { process.off('unhandledRejection', onUnhandled); });

  /** Let pending promise jobs and the unhandled-rejection check run. */
  const settle = () => new Promise((res) => setTimeout(res, 20));

  it('an async function is refused before it runs: nothing begun, nothing written', async () => {
    const p = mem();
    const r = p.root(16);
    let ran = 0;
    const fn = async (tx: Tx) => { ran++; tx.setU32(r, 1); await null; ran++; p.writeU32(r + 4, 2); };
    const e = refused(p, () => p.tx(fn as never), TxStateError, 'async fn', /async/);
    expect(e.message).toMatch(/synchronous/);
    await settle();
    expect(ran).toBe(0);
    expect([p.readU32(r), p.readU32(r + 4)]).toEqual([0, 0]);
  });

  it('a function returning a rejecting promise: aborted, TxStateError, and no unhandled rejection', async () => {
    process.on('unhandledRejection', onUnhandled);
    const p = mem();
    const r = p.root(16);
    let kept: Tx | null = null;
    let late: unknown = null;
    const e = thrown(() => p.tx((tx) => {
      kept = tx;
      tx.setU32(r, 7);
      return Promise.resolve().then(() => {
        try { kept!.setU32(r + 4, 8); } catch (err) { late = err; } // after the "await": the handle is dead
        throw new Error('rejected later');
      });
    }));
    expect(e).toBeInstanceOf(TxStateError);
    expect((e as Error).message).toMatch(/promise/);
    expect(p.readU32(r)).toBe(0); // aborted: the snapshot was restored
    expect(p.txDepth).toBe(0);
    await settle();
    expect(late).toBeInstanceOf(TxStateError);
    expect(p.readU32(r + 4)).toBe(0);
    expect(unhandled).toEqual([]);
    p.check();
  });

  it('closing the pool inside fn: tx() throws, and nothing was committed', () => {
    const backend = new MemoryBackend(SIZE);
    const p = Pool.create({ size: SIZE, layout: 'api', backend });
    const r = p.root(16);
    const e = thrown(() => p.tx((tx) => { tx.setU32(r, 5); p.drain(); p.close(); }));
    expect(e).toBeInstanceOf(TxStateError);
    expect((e as Error).message).toMatch(/not committed/);
    const q = Pool.open({ image: backend.durableImage(), layout: 'api' });
    expect(q.readU32(r)).toBe(0);
    q.check();
  });

  it('fn leaving a beginTx() open: tx() aborts everything and throws', () => {
    const p = mem();
    const r = p.root(16);
    const e = thrown(() => p.tx((tx) => { tx.setU32(r, 1); p.beginTx(); p.addRange(r + 4, 4); p.writeU32(r + 4, 2); }));
    expect(e).toBeInstanceOf(TxStateError);
    expect((e as Error).message).toMatch(/beginTx\(\) level\(s\) still open/);
    expect([p.readU32(r), p.readU32(r + 4), p.txDepth]).toEqual([0, 0, 0]);
    p.check();
  });

  it('commitTx()/abortTx() inside fn cannot end the tx(fn) level: refused, nothing changes; the tx then commits or aborts as fn says', () => {
    const p = mem();
    const r = p.root(16);
    p.tx((tx) => {
      tx.setU32(r, 1);
      refused(p, () => p.commitTx(), TxStateError, 'commitTx in fn', /opened by tx\(fn\)/);
      refused(p, () => p.abortTx(), TxStateError, 'abortTx in fn', /opened by tx\(fn\)/);
      tx.setU32(r + 4, 2);
    });
    expect([p.readU32(r), p.readU32(r + 4)]).toEqual([1, 2]);
    // not caught: the refusal aborts the transaction like any throw
    expect(() => p.tx((tx) => { tx.setU32(r, 9); p.commitTx(); })).toThrow(TxStateError);
    expect(p.readU32(r)).toBe(1);
    // beginTx/commitTx pairs inside fn are fine
    p.tx((tx) => { p.beginTx(); tx.setU32(r, 3); p.commitTx(); });
    expect(p.readU32(r)).toBe(3);
    // outside any tx(fn): commitTx with nothing open
    refused(p, () => p.commitTx(), TxStateError, 'commitTx with no tx', /no transaction is open/);
  });

  it('a Tx handle kept after its transaction refuses everything (no plain immediate alloc or free)', () => {
    const p = mem();
    const r = p.root(16);
    const obj = p.alloc(32);
    let kept: Tx | null = null;
    p.tx((tx) => { kept = tx; });
    const stale = kept! as Tx;
    const calls: [string, () => unknown][] = [
      ['alloc', () => stale.alloc(32)], ['free', () => stale.free(obj)], ['realloc', () => stale.realloc(obj, 64)],
      ['setU32', () => stale.setU32(r, 1)], ['addRange', () => stale.addRange(r, 4)], ['setBytes', () => stale.setBytes(r, new Uint8Array(2))],
    ];
    for (const [label, fn] of calls) refused(p, fn, TxStateError, `stale ${label}`, /has ended/);
    // even while another transaction is open
    p.tx(() => { for (const [label, fn] of calls) refused(p, fn, TxStateError, `stale ${label} in a later tx`); });
    // an inner handle dies with its own level, the outer one lives on
    p.tx((outer) => {
      let inner: Tx | null = null;
      p.tx((t) => { inner = t; });
      refused(p, () => inner!.setU32(r, 5), TxStateError, 'inner handle after inner tx');
      outer.setU32(r, 6);
    });
    expect(p.readU32(r)).toBe(6);
    expect(p.isLive(obj)).toBe(true);
  });

  it('a Tx not made by pool.tx() belongs to no transaction', () => {
    const p = mem();
    const forged = new Tx(p, { pool: p, byTx: true, open: true } as never);
    refused(p, () => forged.alloc(16), TxStateError, 'forged alloc', /not made by pool\.tx/);
  });
});

// ─── a model of nested begin/commit/abort/tx/close ────────────────────────

type TxEnd = 'return' | 'throw' | 'promise';
type Op =
  | { k: 'begin' } | { k: 'commit' } | { k: 'abort' } | { k: 'close' }
  | { k: 'write'; slot: number } | { k: 'handle'; pick: number; slot: number }
  | { k: 'tx'; body: Op[]; end: TxEnd };

const SLOTS = 4;
class Sentinel extends Error {}

/** What must happen, kept alongside the real pool. */
class Model {
  closed = false;
  aborted = false;
  stack: { byTx: boolean; id: number }[] = [];
  open = new Set<number>(); // ids of open levels
  current = new Array<number>(SLOTS).fill(0);
  snapshot: number[] = [];
  committed = new Array<number>(SLOTS).fill(0);
  private ids = 0;

  push(byTx: boolean): number {
    if (this.stack.length === 0) { this.snapshot = this.current.slice(); this.aborted = false; }
    const id = this.ids++;
    this.stack.push({ byTx, id });
    this.open.add(id);
    return id;
  }
  pop(): void {
    this.open.delete(this.stack.pop()!.id);
    if (this.stack.length === 0) this.aborted = false;
  }
  rollback(): void {
    if (!this.aborted) { this.current = this.snapshot.slice(); this.aborted = true; }
  }
  /** The core pops one level per abort; the first one rolls everything back. */
  abortThrough(id: number): void {
    while (this.open.has(id)) { this.rollback(); this.pop(); }
  }
  /** End one level by commit: returns the error name, or 'ok'. */
  commitTop(): string {
    const wasAborted = this.aborted;
    this.pop();
    if (wasAborted) return 'TxAbortedError';
    if (this.stack.length === 0) this.committed = this.current.slice();
    return 'ok';
  }
  close(): void {
    this.closed = true;
    this.stack = [];
    this.open.clear();
    this.aborted = false;
  }
}

const leafArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('write' as const), slot: fc.nat(SLOTS - 1) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('handle' as const), pick: fc.nat(5), slot: fc.nat(SLOTS - 1) }) },
  { weight: 3, arbitrary: fc.constant<Op>({ k: 'begin' }) },
  { weight: 3, arbitrary: fc.constant<Op>({ k: 'commit' }) },
  { weight: 2, arbitrary: fc.constant<Op>({ k: 'abort' }) },
  { weight: 1, arbitrary: fc.constant<Op>({ k: 'close' }) },
);

/** Sequences of ops with tx(fn) calls nested at most `depth` deep. */
function opsArb(depth: number): fc.Arbitrary<Op[]> {
  const op = depth === 0 ? leafArb : fc.oneof(
    { weight: 3, arbitrary: leafArb },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('tx' as const), body: opsArb(depth - 1), end: fc.constantFrom<TxEnd>('return', 'return', 'throw', 'promise') }) },
  );
  return fc.array(op, { maxLength: 6 });
}

/** The model's end of a tx(fn) level `id` after its body ran; returns the outcome tx() must have. */
function endTx(m: Model, id: number, end: TxEnd): string {
  const thrownBy = end === 'throw' ? 'Sentinel' : 'TxStateError';
  if (!m.open.has(id)) return thrownBy; // the pool was closed inside: never committed
  if (end !== 'return' || m.stack[m.stack.length - 1].id !== id) { // threw, returned a promise, or left a beginTx open
    m.abortThrough(id);
    return thrownBy;
  }
  return m.commitTop();
}

interface Run { p: Pool; m: Model; root: number; handles: { tx: Tx; id: number }[]; counter: number }

/** Run `ops` on the pool and the model together; every outcome must be the model's. */
function runOps(run: Run, ops: Op[], path: string): void {
  const { p, m } = run;
  ops.forEach((op, i) => {
    const where = `${path}/${i}:${op.k}`;
    let want = 'ok';
    let act: () => unknown;
    let after: (() => string) | null = null;
    switch (op.k) {
      case 'write': {
        const v = ++run.counter, at = run.root + 8 * op.slot;
        if (m.stack.length === 0) {
          act = () => { p.writeU32(at, v); p.persist(at, 4); };
          if (m.closed) want = 'PoolClosedError'; else { m.current[op.slot] = v; m.committed[op.slot] = v; }
        } else {
          act = () => { p.addRange(at, 4); p.writeU32(at, v); };
          if (m.aborted) want = 'TxAbortedError'; else m.current[op.slot] = v;
        }
        break;
      }
      case 'handle': {
        const h = run.handles[run.handles.length - 1 - (op.pick % Math.max(1, run.handles.length))];
        if (!h) return;
        const v = ++run.counter;
        act = () => h.tx.setU32(run.root + 8 * op.slot, v);
        if (!m.open.has(h.id)) want = 'TxStateError';
        else if (m.aborted) want = 'TxAbortedError';
        else m.current[op.slot] = v;
        break;
      }
      case 'begin':
        act = () => p.beginTx();
        if (m.closed) want = 'PoolClosedError';
        else if (m.stack.length > 0 && m.aborted) want = 'TxAbortedError';
        else m.push(false);
        break;
      case 'commit': case 'abort': {
        act = op.k === 'commit' ? () => p.commitTx() : () => p.abortTx();
        const top = m.stack[m.stack.length - 1];
        if (m.closed) want = 'PoolClosedError';
        else if (!top || top.byTx) want = 'TxStateError';
        else if (op.k === 'commit') want = m.commitTop();
        else { m.rollback(); m.pop(); }
        break;
      }
      case 'close':
        act = () => p.close();
        m.close();
        break;
      case 'tx': {
        if (m.closed || (m.stack.length > 0 && m.aborted)) {
          want = m.closed ? 'PoolClosedError' : 'TxAbortedError';
          act = () => p.tx(() => { throw new Error('a refused tx() ran its function'); });
          break;
        }
        const id = m.push(true);
        act = () => p.tx((tx) => {
          run.handles.push({ tx, id });
          runOps(run, op.body, where);
          if (op.end === 'throw') throw new Sentinel();
          return op.end === 'promise' ? Promise.reject(new Sentinel()) : undefined;
        });
        after = () => endTx(m, id, op.end);
        break;
      }
    }
    const e = thrown(act!);
    if (after) want = after();
    const got = e === undefined ? 'ok' : e instanceof Sentinel ? 'Sentinel' : (e as Error).name;
    if (e !== undefined && !(e instanceof Sentinel)) expect(e, where).toBeInstanceOf(PheapError);
    expect(got, where).toBe(want);
    if (!m.closed) {
      expect(p.txDepth, `${where}: depth`).toBe(m.stack.length);
      for (let s = 0; s < SLOTS; s++) expect(p.readU32(run.root + 8 * s), `${where}: slot ${s}`).toBe(m.current[s]);
    }
  });
}

describe('nested begin/commit/abort/tx/close sequences against a model', () => {
  it('every outcome, every value, and what survives a crash are the model\'s', async () => {
    announce('every outcome, every value');
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => { unhandled.push(e); };
    process.on('unhandledRejection', onUnhandled);
    try {
      fc.assert(fc.property(opsArb(3), (ops) => {
        const backend = new MemoryBackend(SIZE);
        const p = Pool.create({ size: SIZE, layout: 'model', backend });
        const run: Run = { p, m: new Model(), root: p.root(8 * SLOTS), handles: [], counter: 0 };
        runOps(run, ops, '');
        // what is durable is exactly what committed (or was raw-persisted outside any tx)
        const image = run.m.closed ? backend.durableImage() : p.crashImage({ mode: 'strict' });
        p.close();
        const q = Pool.open({ image, layout: 'model' });
        for (let s = 0; s < SLOTS; s++) expect(q.readU32(run.root + 8 * s), `recovered slot ${s}`).toBe(run.m.committed[s]);
        q.check();
        q.close();
      }), { numRuns: 200, seed: SEED });
      await new Promise((res) => setTimeout(res, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

// ─── iterating while freeing ──────────────────────────────────────────────

/** Allocate `n` random objects: small (runs), large (whole chunks), some 64-byte aligned, types 1..3. */
function randomHeap(p: Pool, rng: Prng, n: number): Map<number, number> {
  const made = new Map<number, number>(); // offset → type
  for (let i = 0; i < n; i++) {
    const large = rng.below(4) === 0;
    const size = large ? CHUNK_SIZE - 100 + rng.below(CHUNK_SIZE) : 1 + rng.below(600);
    const type = 1 + rng.below(3);
    made.set(p.alloc(size, { type, align64: rng.coin() }), type);
  }
  return made;
}

describe('iterating objects() while freeing', () => {
  it('for (const o of pool.objects()) pool.free(o) visits and frees every object: runs, large, align64', () => {
    const p = mem(2 * 1024 * KiB);
    const made = [
      p.alloc(24), p.alloc(100_000), p.alloc(200), p.alloc(80_000, { align64: true }), p.alloc(48, { align64: true }),
      p.alloc(3000), p.alloc(70_000), p.alloc(16),
    ];
    const visited: number[] = [];
    for (const o of p.objects()) { visited.push(o); p.free(o); }
    expect(visited).toEqual([...made].sort((a, b) => a - b));
    expect([...p.objects()]).toEqual([]);
    p.check();
  });

  it('random heaps: freeing the yielded object and objects ahead of it, allocating on the way (seeded)', () => {
    announce('random heaps');
    const rng = new Prng(SEED);
    for (let round = 0; round < 25; round++) {
      const p = mem(4 * 1024 * KiB);
      const made = randomHeap(p, rng, 12 + rng.below(30));
      const type = rng.coin() ? undefined : 1 + rng.below(3);
      const wanted = [...made].filter(([, t]) => type === undefined || t === type).map(([o]) => o);
      const freedAhead = new Set<number>();
      const fresh = new Set<number>(); // offsets allocated during the walk
      const visitedOld: number[] = [], visitedNew: number[] = [];
      const label = `seed ${SEED} round ${round} type ${type}`;
      for (const o of p.objects(type)) {
        expect(p.isLive(o), `${label}: yielded ${o}, which is not live`).toBe(true);
        (fresh.has(o) ? visitedNew : visitedOld).push(o);
        if (rng.below(3) === 0) { // free an object not visited yet
          const ahead = wanted.filter((x) => x > o && !freedAhead.has(x));
          if (ahead.length) { const x = ahead[rng.below(ahead.length)]; p.free(x); freedAhead.add(x); }
        }
        if (rng.below(4) === 0) fresh.add(p.alloc(1 + rng.below(500), { type: 9 })); // type 9: never wanted
        p.free(o);
      }
      if (type !== undefined) expect(visitedNew, `${label}: a typed walk yielded new type-9 objects`).toEqual([]);
      expect(visitedOld, label).toEqual(wanted.filter((o) => !freedAhead.has(o)).sort((a, b) => a - b));
      for (const o of wanted) if (!fresh.has(o)) expect(p.isLive(o), `${label}: ${o} survived`).toBe(false);
      p.check();
    }
  });

  it('inside a transaction: tx.free of each yielded object visits all; the commit frees them', () => {
    const p = mem(2 * 1024 * KiB);
    const made = [...randomHeap(p, new Prng(SEED + 1), 20).keys()].sort((a, b) => a - b);
    const visited: number[] = [];
    p.tx((tx) => { for (const o of p.objects()) { visited.push(o); tx.free(o); } });
    expect(visited).toEqual(made);
    expect([...p.objects()]).toEqual([]);
    p.check();
  });

  it('closing the pool mid-walk: the next step throws PoolClosedError', () => {
    const p = mem();
    p.alloc(16); p.alloc(16);
    const it = p.objects();
    it.next();
    p.close();
    expect(thrown(() => it.next())).toBeInstanceOf(PoolClosedError);
  });
});

// ─── junk at every public method ──────────────────────────────────────────

const JUNK: unknown[] = [NaN, Infinity, -Infinity, -1, 2 ** 32, 2 ** 32 + 16, 2 ** 32 + 4096, 2 ** 53, 1.5, '8', null, undefined, {}, [], 8n, 8];
const JUNK_NAMES = JUNK.map((j) => (typeof j === 'bigint' ? `${j}n` : Array.isArray(j) ? '[]' : typeof j === 'object' && j ? '{}' : typeof j === 'string' ? `'${j}'` : String(j)));

interface Objs { a: number; big: number; r: number }
/** A method and arguments that it would accept; `options` names the keys of its last (options) argument that junk may replace. */
interface Target { name: string; good: (o: Objs) => unknown[]; options?: string[] }

const POOL_TARGETS: Target[] = [
  { name: 'root', good: () => [64] },
  ...['readU8', 'readU16', 'readU32', 'readI32', 'readU64', 'readF64', 'usableSize', 'typeOf', 'sizeOf', 'isLive'].map((name) => ({ name, good: (o: Objs) => [o.a] })),
  { name: 'readBytes', good: (o) => [o.a, 8] },
  { name: 'writeU8', good: (o) => [o.a, 1] }, { name: 'writeU16', good: (o) => [o.a, 1] }, { name: 'writeU32', good: (o) => [o.a, 1] },
  { name: 'writeI32', good: (o) => [o.a, -1] }, { name: 'writeU64', good: (o) => [o.a, 1n] }, { name: 'writeF64', good: (o) => [o.a, 0.5] },
  { name: 'writeBytes', good: (o) => [o.a, new Uint8Array(4)] },
  { name: 'flush', good: (o) => [o.a, 8] }, { name: 'persist', good: (o) => [o.a, 8] }, { name: 'addRange', good: (o) => [o.a, 8] },
  { name: 'alloc', good: () => [24, { type: 2 }], options: ['type', 'zero', 'align64', 'into'] },
  { name: 'free', good: (o) => [o.big, {}], options: ['from'] },
  { name: 'realloc', good: (o) => [o.a, 100, {}], options: ['into'] },
  { name: 'objects', good: () => [2] },
  { name: 'tx', good: () => [() => {}] },
  { name: 'crashImage', good: () => [{ mode: 'strict' }], options: ['mode', 'seed'] },
  { name: 'crash', good: () => [{ mode: 'strict' }], options: ['mode'] },
  { name: 'commitTx', good: () => [] }, { name: 'abortTx', good: () => [] },
];
const TX_TARGETS: Target[] = [
  { name: 'addRange', good: (o) => [o.a, 8] },
  { name: 'setU8', good: (o) => [o.a, 1] }, { name: 'setU16', good: (o) => [o.a, 1] }, { name: 'setU32', good: (o) => [o.a, 1] },
  { name: 'setI32', good: (o) => [o.a, -1] }, { name: 'setU64', good: (o) => [o.a, 1n] }, { name: 'setF64', good: (o) => [o.a, 0.5] },
  { name: 'setBytes', good: (o) => [o.a, new Uint8Array(4)] },
  { name: 'alloc', good: () => [24, { type: 2 }], options: ['type', 'zero', 'align64', 'into'] },
  { name: 'free', good: (o) => [o.big, {}], options: ['from'] },
  { name: 'realloc', good: (o) => [o.a, 100, {}], options: ['into'] },
];

/** The arguments of `t` with argument slot `slot` (positions first, then option keys) replaced by `junk`. */
function junkArgs(t: Target, o: Objs, slot: number, junk: unknown): unknown[] {
  const args = t.good(o);
  const slots = args.length + (t.options?.length ?? 0);
  if (slots === 0) return args;
  const s = slot % slots;
  if (s < args.length) args[s] = junk;
  else args[args.length - 1] = { ...(args[args.length - 1] as object), [t.options![s - args.length]]: junk };
  return args;
}

/** Call `name` on `target`; iterators are run to the end. */
function invoke(target: object, name: string, args: unknown[]): unknown {
  const out = (target as Record<string, (...a: unknown[]) => unknown>)[name](...args);
  return name === 'objects' ? [...(out as Iterable<number>)] : out;
}

describe('junk arguments at every public method of Pool and Tx (fast-check)', () => {
  const callArb = fc.record({ inTx: fc.boolean(), target: fc.nat(100), slot: fc.nat(5), junk: fc.nat(JUNK.length - 1) });

  it('only PheapErrors escape; a refused call changes nothing; check() passes', () => {
    announce('only PheapErrors escape');
    const outcomes = new Map<string, number>();
    fc.assert(fc.property(fc.array(callArb, { minLength: 1, maxLength: 12 }), (calls) => {
      const p = mem();
      const objs: Objs = { r: p.root(64), a: p.alloc(64, { type: 2 }), big: p.alloc(CHUNK_SIZE, { type: 2 }) };
      p.alloc(40, { type: 3 });
      for (const c of calls) {
        const targets = c.inTx ? TX_TARGETS : POOL_TARGETS;
        const t = targets[c.target % targets.length];
        const args = junkArgs(t, objs, c.slot, JUNK[c.junk]);
        const label = `${c.inTx ? 'tx.' : 'pool.'}${t.name} slot ${c.slot} junk ${JUNK_NAMES[c.junk]}`;
        const attempt = (target: object) => {
          const before = snapshot(p);
          const e = thrown(() => invoke(target, t.name, args));
          outcomes.set(e === undefined ? 'accepted' : (e as Error).name, (outcomes.get(e === undefined ? 'accepted' : (e as Error).name) ?? 0) + 1);
          if (e === undefined) return;
          expect(e, `${label}: ${String(e)}`).toBeInstanceOf(PheapError);
          expectUnchanged(p, before, label);
        };
        if (!c.inTx) { attempt(p); continue; }
        const abort = new Sentinel();
        const e = thrown(() => p.tx((tx) => { attempt(tx); throw abort; }));
        if (e !== abort) throw e; // an assertion inside the transaction failed
      }
      p.check();
      p.close();
    }), { numRuns: 100, seed: SEED });
    // the run exercised refusals of several kinds, and some calls were accepted
    for (const name of ['InvalidArgumentError', 'OffsetError', 'InvalidSizeError', 'TxStateError']) expect(outcomes.get(name) ?? 0, name).toBeGreaterThan(0);
    expect(outcomes.get('accepted') ?? 0).toBeGreaterThan(0);
  });
});

describe('error classes', () => {
  // Found by the consumer test: the package's embedded worker is minified,
  // and a name read from the constructor came out as "$". Every class, built
  // the way an app's bundler may build it, must still carry its own name.
  it('every exported PheapError class names itself, minified or not', async () => {
    const esbuild = await import('esbuild');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { pathToFileURL } = await import('node:url');
    const dir = mkdtempSync(join(tmpdir(), 'pheap-errors-'));
    try {
      for (const minify of [false, true]) {
        const entry = "export * from './src/errors.ts'; export { MappedBackendError } from './src/backends/mapped.ts'; export { OpLogError } from './src/crash/oplog.ts';";
        const out = await esbuild.build({ stdin: { contents: entry, resolveDir: process.cwd(), loader: 'ts' }, bundle: true, format: 'esm', platform: 'node', packages: 'external', minify, write: false });
        const file = join(dir, `errors-${minify}.mjs`);
        writeFileSync(file, out.outputFiles[0].contents);
        const mod = await import(pathToFileURL(file).href) as Record<string, unknown>;
        const base = mod.PheapError as typeof PheapError;
        const names: string[] = [];
        for (const [name, cls] of Object.entries(mod)) {
          if (typeof cls !== 'function' || !(cls.prototype instanceof base)) continue;
          const e = Reflect.construct(cls, ['x', 'y', 3]) as Error;
          expect(e.name, `${name} (minify ${minify})`).toBe(name);
          names.push(name);
        }
        expect(names.length).toBeGreaterThan(20);
        expect(names).toEqual(expect.arrayContaining(['MappedBackendError', 'OpLogError']));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
