// Transactions: every rule of the undo log, a property test against a model,
// and exhaustive crash exploration of small transactional workloads.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Pool, explore, formatReport, TxAbortedError, TxStateError, LogFullError, OutOfSpaceError, type Marker, type CrashCase } from '../src/index.js';

const MiB = 1 << 20;
// Fixed-size pools (maxSize = size): a log or heap that runs out is part of what these tests show; growth is test/growth.test.ts.
const mem = (size = MiB) => Pool.create({ size, maxSize: size, layout: 'tx', seed: 11 });
const crashStrict = (p: Pool) => p.crash({ mode: 'strict' });

describe('transaction rules', () => {
  it('commit makes every snapshotted change durable; a crash before commit rolls all of it back', () => {
    const p = mem();
    const r = p.root(64);
    p.tx((tx) => { tx.setU32(r, 1); tx.setU32(r + 32, 2); });
    let q = crashStrict(p);
    expect([q.readU32(r), q.readU32(r + 32)]).toEqual([1, 2]);
    // tx() reports that it could not commit (the pool crashed inside it)
    expect(() => q.tx((tx) => {
      tx.setU32(r, 10);
      tx.setU32(r + 32, 20);
      q.flush(r, 64); q.drain(); // even made durable by hand, the change is undone by recovery
      q = q.crash({ mode: 'strict' });
    })).toThrow(TxStateError);
    expect([q.readU32(r), q.readU32(r + 32)]).toEqual([1, 2]);
    expect(q.stats().recovery.entriesRolledBack).toBe(2);
    q.check();
  });

  it('abort (a throw) restores every snapshotted range and rethrows', () => {
    const p = mem();
    const r = p.root(64);
    p.writeU32(r, 5); p.persist(r, 4);
    expect(() => p.tx((tx) => { tx.setU32(r, 6); throw new Error('no'); })).toThrow('no');
    expect(p.readU32(r)).toBe(5);
    expect(p.txDepth).toBe(0);
  });

  it('nested transactions flatten: an inner commit commits nothing', () => {
    const p = mem();
    const r = p.root(16);
    let q: Pool | null = null;
    expect(() => p.tx(() => {
      p.tx((inner) => inner.setU32(r, 9));
      expect(p.txDepth).toBe(1);
      q = p.crash({ mode: 'strict' }); // crash inside the outer tx: it cannot commit
    })).toThrow(TxStateError);
    expect(q!.readU32(r)).toBe(0);
  });

  it('an inner abort aborts everything; the outer level then ends with TxAbortedError', () => {
    const p = mem();
    const r = p.root(16);
    expect(() => p.tx((tx) => {
      tx.setU32(r, 1);
      try { p.tx((inner) => { inner.setU32(r + 4, 2); throw new Error('inner'); }); } catch { /* swallowed */ }
      expect(() => tx.setU32(r + 8, 3)).toThrow(TxAbortedError);
    })).toThrow(TxAbortedError);
    expect([p.readU32(r), p.readU32(r + 4), p.readU32(r + 8)]).toEqual([0, 0, 0]);
    expect(p.txDepth).toBe(0);
  });

  it('does not log a range twice, even overlapping: abort restores the pre-transaction bytes', () => {
    const p = mem();
    const r = p.root(64);
    p.writeBytes(r, new Uint8Array(32).fill(1)); p.persist(r, 32);
    expect(() => p.tx((tx) => {
      tx.setBytes(r, new Uint8Array(16).fill(2));
      tx.setBytes(r + 8, new Uint8Array(16).fill(3)); // overlaps the first range
      tx.setBytes(r, new Uint8Array(32).fill(4)); // covers both
      throw new Error('abort');
    })).toThrow('abort');
    expect([...p.readBytes(r, 32)]).toEqual(new Array(32).fill(1));
  });

  it('allocations inside a transaction exist only after commit; frees take effect at commit and are not reused before', () => {
    const p = mem();
    const r = p.root(16);
    let a = 0;
    expect(() => p.tx((tx) => { a = tx.alloc(64, { type: 4, into: r }); throw new Error('x'); })).toThrow('x');
    expect([...p.objects(4)]).toEqual([]);
    expect(p.readU32(r)).toBe(0);
    p.tx((tx) => { a = tx.alloc(64, { type: 4, into: r }); });
    expect([...p.objects(4)]).toEqual([a]);
    p.tx((tx) => {
      tx.free(a, { from: r });
      const b = tx.alloc(64, { type: 4 });
      expect(b).not.toBe(a); // the freed block is not handed out inside the same tx
      tx.free(b); // freeing an object allocated in this tx is immediate
    });
    expect([...p.objects(4)]).toEqual([]);
    expect(p.readU32(r)).toBe(0);
    p.check();
  });

  it('an abort leaves no leak and no double free; check() passes', () => {
    const p = mem();
    const keep = p.alloc(100, { type: 1 });
    const before = p.stats().heap;
    expect(() => p.tx((tx) => {
      for (let i = 0; i < 50; i++) tx.alloc(200 + i * 10, { type: 2 });
      tx.alloc(300000, { type: 2 });
      tx.free(keep);
      throw new Error('abort');
    })).toThrow('abort');
    expect(p.isLive(keep)).toBe(true);
    const after = p.stats().heap; // runs created for the tx stay (empty), so only live figures compare
    expect([after.liveObjects, after.liveBytes, after.objectsByType]).toEqual([before.liveObjects, before.liveBytes, before.objectsByType]);
    p.check();
  });

  it('uses three drains for a one-range transaction (snapshot, flush data, invalidate log)', () => {
    const p = mem();
    const r = p.root(64);
    const d0 = p.stats().drains;
    p.tx((tx) => tx.setU32(r, 1));
    expect(p.stats().drains - d0).toBe(3);
    const d1 = p.stats().drains;
    p.tx((tx) => tx.addRange(r, 64)); // one call, one snapshot drain, whatever the range size
    expect(p.stats().drains - d1).toBe(3);
  });

  it('grows the log beyond its fixed area for a large transaction, reuses the blocks for the next one, gives them back when the heap needs the chunks', () => {
    const p = mem(4 * MiB);
    const big = p.alloc(300_000);
    const free0 = p.stats().heap.freeChunks;
    const fill = (v: number) => p.tx((tx) => { for (let off = 0; off < 300_000; off += 4096) tx.setBytes(big + off, new Uint8Array(Math.min(4096, 300_000 - off)).fill(v)); });
    fill(9);
    expect(p.readBytes(big, 300_000).every((x) => x === 9)).toBe(true);
    const kept = free0 - p.stats().heap.freeChunks;
    expect(kept, 'the extension blocks stay linked after the commit').toBeGreaterThan(1);
    p.check();
    const d0 = p.stats().drains;
    fill(7); // the same size again: the kept blocks are written over, none is linked, none costs a drain
    expect(p.stats().drains - d0).toBe(3);
    expect(free0 - p.stats().heap.freeChunks).toBe(kept);
    p.check();
    // A large object that needs every free chunk and the kept ones: the chain is given back first (the pool cannot grow).
    const all = p.alloc((free0 - 1) * 65536); // its header makes it free0 chunks
    expect(p.stats().heap.freeChunks).toBe(0);
    p.check();
    p.free(all);
    expect(p.stats().heap.freeChunks).toBe(free0);
    fill(5); // and the chain grows again
    expect(free0 - p.stats().heap.freeChunks).toBe(kept);
    const q = crashStrict(p);
    expect(q.readBytes(big, 300_000).every((x) => x === 5)).toBe(true);
    expect(q.stats().heap.freeChunks, 'recovery gives the chain back').toBe(free0);
    q.check();
  });

  it('a transaction that cannot get log space fails with LogFullError and is rolled back', () => {
    const p = mem(256 * 1024);
    const objs: number[] = [];
    try { for (;;) objs.push(p.alloc(4000)); } catch (e) { expect(e).toBeInstanceOf(OutOfSpaceError); }
    for (const o of objs) { p.writeBytes(o, new Uint8Array(4000).fill(1)); p.persist(o, 4000); }
    expect(() => p.tx((tx) => { for (const o of objs) tx.setBytes(o, new Uint8Array(4000).fill(2)); })).toThrow(LogFullError);
    for (const o of objs) expect(p.readBytes(o, 4000).every((x) => x === 1)).toBe(true);
    expect(p.txDepth).toBe(0);
    p.check();
  });

  it('rejects transaction operations outside a transaction and root() inside one', () => {
    const p = mem();
    const r = p.root(16);
    expect(() => p.addRange(r, 4)).toThrow(TxStateError);
    expect(() => p.tx(() => p.root(32))).toThrow(TxStateError);
    expect(() => p.tx(() => Promise.resolve(1) as unknown as number)).toThrow(TxStateError);
  });

  it('reports recovery in stats(): an eager log had two durable entries to roll back, a deferred one none', () => {
    for (const [evicts, rolledBack] of [[true, 2], [false, 0]] as const) {
      const p = Pool.create({ size: MiB, layout: 't', evicts });
      const r = p.root(16);
      let q: Pool | null = null;
      expect(() => p.tx((tx) => { tx.setU32(r, 1); tx.setU32(r + 8, 2); q = p.crash({ mode: 'strict' }); })).toThrow(TxStateError);
      const s = q!.stats();
      expect(s.recovery.entriesRolledBack).toBe(rolledBack);
      expect(s.recovery.ms).toBeGreaterThanOrEqual(0);
      expect([q!.readU32(q!.root(16)), q!.readU32(q!.root(16) + 8)]).toEqual([0, 0]);
    }
  });
});

describe('transactions against a reference model (fast-check)', () => {
  type TxOp = { k: 'set'; field: number; value: number } | { k: 'alloc'; field: number; size: number } | { k: 'free'; field: number };
  const opArb: fc.Arbitrary<TxOp> = fc.oneof(
    fc.record({ k: fc.constant('set' as const), field: fc.integer({ min: 0, max: 15 }), value: fc.nat() }),
    fc.record({ k: fc.constant('alloc' as const), field: fc.integer({ min: 0, max: 15 }), size: fc.integer({ min: 1, max: 70000 }) }),
    fc.record({ k: fc.constant('free' as const), field: fc.integer({ min: 0, max: 15 }) }),
  );
  it('committed transactions apply, aborted ones leave no trace', () => {
    fc.assert(fc.property(fc.array(fc.record({ ops: fc.array(opArb, { maxLength: 8 }), commit: fc.boolean() }), { maxLength: 25 }), (txs) => {
      const p = Pool.create({ size: 4 * MiB, layout: 'model' });
      const r = p.root(64);
      const values = new Array<number>(16).fill(0); // fields holding plain values
      const ptrs = new Array<number>(16).fill(0); // fields holding object pointers (0 = none)
      for (const t of txs) {
        const nextValues = values.slice(), nextPtrs = ptrs.slice();
        try {
          p.tx((tx) => {
            for (const op of t.ops) {
              const at = r + 4 * op.field;
              if (op.k === 'set') { if (nextPtrs[op.field]) continue; tx.setU32(at, op.value >>> 0); nextValues[op.field] = op.value >>> 0; }
              if (op.k === 'alloc' && !nextPtrs[op.field]) { nextPtrs[op.field] = tx.alloc(op.size, { type: 7, into: at }); nextValues[op.field] = nextPtrs[op.field]; }
              if (op.k === 'free' && nextPtrs[op.field]) { tx.free(nextPtrs[op.field], { from: at }); nextPtrs[op.field] = 0; nextValues[op.field] = 0; }
            }
            if (!t.commit) throw new Error('abort');
          });
          values.splice(0, 16, ...nextValues); ptrs.splice(0, 16, ...nextPtrs);
        } catch (e) {
          if (!(e instanceof Error) || e.message !== 'abort') throw e;
        }
        for (let f = 0; f < 16; f++) expect(p.readU32(r + 4 * f)).toBe(values[f]);
        expect([...p.objects(7)].sort()).toEqual(ptrs.filter((x) => x).sort());
        p.check();
      }
    }), { numRuns: 40, seed: 7 });
  });
});

// ─── exhaustive crash exploration ─────────────────────────────────────────

/**
 * The recovered state after a chain of crashes (explore's `depth`): each level
 * ran the transactions again on what the level before left and kept a prefix
 * of them — every one that returned at that level (one marker each), at most
 * one more. `after(state, n)` is the model after the first n transactions
 * applied to `state`, `max` the number of transactions.
 */
function expectChain<S>(initial: S, after: (s: S, n: number) => S, key: (s: S) => string, got: string, markers: Marker[], crash: CrashCase, max: number): void {
  const level = 1 + (crash.prior?.length ?? 0);
  let states = [initial];
  for (let l = 1; l <= level; l++) {
    const returned = markers.filter((m) => m.level === l).length;
    states = states.flatMap((s) => [returned, returned + 1].filter((n) => n <= max).map((n) => after(s, n)));
  }
  expect(states.map(key), `recovered state "${got}" (crash level ${level}, ${markers.length} transactions returned)`).toContain(got);
}

describe('crash consistency (every drain, every mode, several seeds, crashes inside recovery, two crashes in a row)', () => {
  let explored = 0;
  let second = 0; // of which after a first crash and its recovery

  it('an array of counters updated in transactions', () => {
    const N = 12;
    const plan = [[0, 1, 2], [3], [0, 5, 7, 11], [2, 3, 4, 5, 6, 7, 8, 9], [1], [10, 11, 0], [4, 8], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [6], [9, 3]];
    const after = (s: number[], n: number) => { const out = [...s]; for (const step of plan.slice(0, n)) for (const i of step) out[i]++; return out; };
    let root = 0;
    for (const seed of [1, 2, 3]) {
      const r = explore({
        poolSeed: seed, seed, seeds: 8, depth: 2,
        setup: (p) => { root = p.root(16 * N); },
        workload: (p, mark) => {
          plan.forEach((step, t) => {
            p.tx((tx) => { for (const i of step) tx.setU32(root + 16 * i, p.readU32(root + 16 * i) + 1); });
            mark(`tx ${t}`);
          });
        },
        check: (p, returned, crash) => {
          const r0 = p.root(16 * N);
          const got = Array.from({ length: N }, (_, i) => p.readU32(r0 + 16 * i)).join(',');
          expectChain(new Array<number>(N).fill(0), after, (s) => s.join(','), got, returned, crash, plan.length);
        },
      });
      if (r.failures.length) throw new Error(formatReport(r));
      explored += r.states;
      second += r.levels[1]?.states ?? 0;
    }
  });

  it('a persistent linked list with transactional insert and remove', () => {
    const NODE = 5;
    const ops: Array<number | 'pop'> = [10, 20, 'pop', 30, 40, 50, 'pop', 'pop', 60, 70, 'pop', 80, 90, 'pop', 'pop', 100];
    const after = (s: number[], n: number) => {
      const model = [...s];
      for (const op of ops.slice(0, n)) { if (op === 'pop') model.shift(); else model.unshift(op); }
      return model;
    };
    let root = 0;
    const read = (p: Pool) => {
      const r0 = p.root(8);
      const out: number[] = [];
      for (let n = p.readU32(r0); n !== 0; n = p.readU32(n)) { expect(p.isLive(n)).toBe(true); out.push(p.readU32(n + 4)); }
      expect(p.readU32(r0 + 4)).toBe(out.length);
      expect([...p.objects(NODE)].length).toBe(out.length); // no leaked node
      return out.join(',');
    };
    for (const seed of [1, 2, 3]) {
      const r = explore({
        poolSeed: seed, seed, seeds: 8, depth: 2,
        setup: (p) => { root = p.root(8); },
        workload: (p, mark) => {
          ops.forEach((op, t) => {
            p.tx((tx) => {
              const head = p.readU32(root);
              if (op === 'pop') {
                tx.setU32(root, p.readU32(head));
                tx.free(head);
              } else {
                const n = tx.alloc(8, { type: NODE });
                p.writeU32(n, head); p.writeU32(n + 4, op); // a new object needs no snapshot
                tx.setU32(root, n);
              }
              tx.setU32(root + 4, p.readU32(root + 4) + (op === 'pop' ? -1 : 1));
            });
            mark(`op ${t}`);
          });
        },
        check: (p, returned, crash) => expectChain<number[]>([], after, (s) => s.join(','), read(p), returned, crash, ops.length),
      });
      if (r.failures.length) throw new Error(formatReport(r));
      explored += r.states;
      second += r.levels[1]?.states ?? 0;
    }
  });

  it('a transaction that outgrows the fixed log (extension blocks) recovers from every crash', () => {
    let obj = 0;
    const SIZE = 80_000;
    const r = explore({
      modes: ['strict', 'pending'], seeds: 2, depth: 2, // the run after a crash commits the same transaction again
      setup: (p) => { const r0 = p.root(8); obj = p.alloc(SIZE, { zero: true, into: r0 }); },
      workload: (p, mark) => {
        p.tx((tx) => { for (let off = 0; off < SIZE; off += 8192) tx.setBytes(obj + off, new Uint8Array(Math.min(8192, SIZE - off)).fill(1)); });
        mark('big tx');
      },
      check: (p, returned) => {
        const o = p.readU32(p.root(8));
        const bytes = p.readBytes(o, SIZE);
        const all = (v: number) => bytes.every((x) => x === v);
        if (returned.length) expect(all(1)).toBe(true);
        else expect(all(0) || all(1)).toBe(true);
      },
    });
    if (r.failures.length) throw new Error(formatReport(r));
    explored += r.states;
    second += r.levels[1]?.states ?? 0;
    console.log(`transaction crash exploration: ${explored} crash states explored (including crashes inside recovery; ${second} of them at crash level 2)`);
    expect(explored).toBeGreaterThan(2000); // unique images: duplicates (inside recovery too) are explored once
  });
});
