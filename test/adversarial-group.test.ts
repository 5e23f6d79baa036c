// adversarial-group.test.ts — group commit (txAsync), the cache models
// (evicts) and the deferred log, attacked through the public API only.
//
// Owns: the seeded model-based runs of helpers/adv2-model.ts on both cache
// models and on the file backend (random txAsync interleavings, sync and
// step transactions, commitBatch, hand drains, plain alloc/free/realloc
// with into/from, close + reopen, crash in every mode the model allows —
// several crashes in a row); arguments no sane caller passes (each a typed
// PheapError — a rejected promise for txAsync — with nothing changed);
// byte-identical durable images of one seeded workload on the memory and
// file backends, run twice.
//
// Invariants: every random run is seeded (PHEAP_ADV2_SEED) and prints the one
// line that replays it; a failing case names what differs. The "regressions"
// cases are the five bugs this file found first (fixed since).

import * as fs from 'node:fs';
import { describe, it, expect } from 'vitest';
import { Pool, MemoryBackend, PheapError, InvalidArgumentError, TxStateError, PoolClosedError, LogFullError, explore, formatReport, type CrashCase } from '../src/index.js';
import { runDriver, replayLine, POOL_SIZE, type DriverConfig } from './helpers/adv2-model.js';
import { useTempDir, sameBytes, sha256 } from './helpers/pool-files.js';

const SEED = Number(process.env.PHEAP_ADV2_SEED ?? 20261201);
const tmp = useTempDir('pheap-adv2-');

/** Run `cfg` `runs` times, with seed SEED, SEED + 1, …, printing each run's replay line. */
async function runConfig(cfg: DriverConfig, runs: number, steps: number) {
  const totals = { members: 0, failed: 0, crashes: 0, reopens: 0 };
  for (let i = 0; i < runs; i++) {
    const seed = SEED + i;
    console.log(`adv2 ${cfg.name}: ${replayLine(cfg, seed)}`);
    const d = await runDriver({ ...cfg, file: cfg.backend === 'file' ? tmp.file(cfg.name.replace(/\W+/g, '-')) : undefined }, seed, steps);
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += d.counts[k];
  }
  console.log(`adv2 ${cfg.name}: ${runs} runs x ${steps} steps, ${totals.members} members (${totals.failed} failing), ${totals.crashes} crashes, ${totals.reopens} reopens`);
  return totals;
}

describe('model-based random interleavings', () => {
  const configs: DriverConfig[] = [
    { name: 'memory deferred', backend: 'memory', evicts: false },
    { name: 'memory eager', backend: 'memory', evicts: true },
    { name: 'memory deferred maxBatch 3', backend: 'memory', evicts: false, maxBatch: 3 },
    { name: 'memory eager maxDelayMs 1', backend: 'memory', evicts: true, maxDelayMs: 1 },
    { name: 'file deferred', backend: 'file', evicts: false },
    { name: 'file eager', backend: 'file', evicts: true },
  ];
  for (const cfg of configs) {
    it(`${cfg.name}: every step matches the model`, async () => {
      const t = await runConfig(cfg, 3, 120);
      expect(t.members).toBeGreaterThan(50);
      expect(t.failed).toBeGreaterThan(0);
    }, 60_000);
  }
});

describe('multi-crash: crash, recover, go on, crash again', () => {
  for (const cfg of [
    { name: 'multi-crash memory deferred', backend: 'memory', evicts: false, crashWeight: 4 },
    { name: 'multi-crash memory eager', backend: 'memory', evicts: true, crashWeight: 4 },
    { name: 'multi-crash file deferred', backend: 'file', evicts: false, crashWeight: 4 },
  ] as DriverConfig[]) {
    it(`${cfg.name}: after each recovery the pool is the last committed batch`, async () => {
      const t = await runConfig(cfg, 2, 120);
      expect(t.crashes).toBeGreaterThanOrEqual(10);
    }, 60_000);
  }
});

// ─── arguments no sane caller passes ────────────────────────────────────────

/** A fresh memory pool with a 128-byte root. */
function fresh(evicts = false, groupCommit?: object) {
  const backend = new MemoryBackend(POOL_SIZE, 'os', undefined, { evicts });
  const pool = Pool.create({ backend, size: POOL_SIZE, layout: 'adv2-args', seed: 3, evicts, ...(groupCommit ? { groupCommit } : {}) });
  return { pool, backend, root: pool.root(128) };
}

/** Bytes the process sees and bytes that are durable. */
const snapshot = (p: Pool) => ({ cache: p.readBytes(0, p.size), durable: p.durableImage() });

/** `p` shows and holds the same bytes as `before`, and no batch is open (committing one drains nothing). */
function expectUntouched(p: Pool, before: ReturnType<typeof snapshot>, what: string) {
  const now = snapshot(p);
  expect(sameBytes(now.cache, before.cache), `${what}: visible bytes changed`).toBe(true);
  expect(sameBytes(now.durable, before.durable), `${what}: durable bytes changed`).toBe(true);
  const d0 = p.stats().drains;
  p.commitBatch();
  expect(p.stats().drains - d0, `${what}: left a batch open`).toBe(0);
}

/** What a promise rejects with (fails the test if it resolves). */
async function rejection(pr: Promise<unknown>): Promise<unknown> {
  try { await pr; } catch (e) { return e; }
  throw new Error('the promise resolved');
}

/** txAsync(x) must return (never throw) a promise that rejects with a PheapError of class `cls`. */
async function expectRefusedAsync(call: () => Promise<unknown>, cls: new (...a: never[]) => PheapError, what: string) {
  let pr: Promise<unknown> | undefined;
  expect(() => { pr = call(); }, `${what} threw instead of rejecting`).not.toThrow();
  const e = await rejection(pr!);
  expect(e, `${what}: ${String(e)}`).toBeInstanceOf(cls);
}

describe('txAsync: arguments no sane caller passes', () => {
  it('non-functions are a rejected InvalidArgumentError, nothing changed', async () => {
    const { pool: p } = fresh();
    const junk: unknown[] = [null, undefined, 0, 42, NaN, 'fn', Symbol('s'), {}, [], [() => 1], { call: () => 1 }, new Uint8Array(4), 1n, Promise.resolve(() => 1)];
    for (const j of junk) {
      const before = snapshot(p);
      await expectRefusedAsync(() => p.txAsync(j as never), InvalidArgumentError, `txAsync(${String(j)})`);
      expectUntouched(p, before, `txAsync(${String(j)})`);
    }
    p.check();
    p.close();
  });

  it('async functions (arrow, method, generator) are refused before they run: TxStateError, nothing changed', async () => {
    const { pool: p, root } = fresh();
    let ran = 0;
    const fns = [
      async () => { ran++; p.writeU32(root, 1); },
      async function named() { ran++; },
      { async m() { ran++; } }.m,
      async function* gen() { ran++; yield 1; },
    ];
    for (const fn of fns) {
      const before = snapshot(p);
      await expectRefusedAsync(() => p.txAsync(fn as never), TxStateError, `txAsync(${fn.name || 'async'})`);
      expectUntouched(p, before, `txAsync(${fn.name || 'async'})`);
    }
    expect(ran).toBe(0);
    p.close();
  });

  it('a member returning a promise or thenable is rolled back alone (TxStateError); the rest of its batch commits; no unhandled rejection', async () => {
    for (const evicts of [false, true]) {
      const { pool: p, root } = fresh(evicts);
      const returns: (() => unknown)[] = [
        () => Promise.resolve(7),
        () => Promise.reject(new Error('never unhandled')),
        () => ({ then() { /* never settles */ } }),
        () => ({ then: (ok: (v: number) => void) => ok(1) }),
      ];
      const members = returns.map((ret, i) => rejection(p.txAsync((tx) => { tx.setU32(root + 4 * i, 100 + i); tx.alloc(32, { type: 9 }); return ret() as never; })));
      const good = p.txAsync((tx) => { tx.setU32(root + 64, 5); return 'ok'; });
      for (const m of members) expect(await m).toBeInstanceOf(TxStateError);
      expect(await good).toBe('ok');
      for (let i = 0; i < returns.length; i++) expect(p.readU32(root + 4 * i), `slot ${i}, evicts ${evicts}`).toBe(0);
      expect([...p.objects(9)]).toEqual([]);
      const durable = new DataView(p.durableImage().buffer);
      expect(durable.getUint32(root + 64, true)).toBe(5);
      p.check();
      p.close();
    }
  });

  it('inside a member: txAsync is a rejected TxStateError (its fn never runs), commitBatch throws TxStateError, tx() nests', async () => {
    const { pool: p, root } = fresh();
    let innerRan = false;
    let inner: Promise<unknown> | undefined;
    let commitErr: unknown;
    const outer = p.txAsync((tx) => {
      tx.setU32(root, 1);
      inner = rejection(p.txAsync(() => { innerRan = true; }));
      try { p.commitBatch(); } catch (e) { commitErr = e; }
      p.tx((t) => t.setU32(root + 4, 2));
      return 'outer';
    });
    expect(await inner!).toBeInstanceOf(TxStateError);
    expect(commitErr).toBeInstanceOf(TxStateError);
    expect(await outer).toBe('outer');
    expect(innerRan).toBe(false);
    const d = new DataView(p.durableImage().buffer);
    expect([d.getUint32(root, true), d.getUint32(root + 4, true)]).toEqual([1, 2]);
    // Uncaught, the refused commitBatch fails its member alone.
    const a = p.txAsync((tx) => { tx.setU32(root + 8, 3); });
    const b = rejection(p.txAsync((tx) => { tx.setU32(root + 12, 4); p.commitBatch(); }));
    await a;
    expect(await b).toBeInstanceOf(TxStateError);
    expect([p.readU32(root + 8), p.readU32(root + 12)]).toEqual([3, 0]);
    p.close();
  });

  it('txAsync inside tx() and inside beginTx() is a rejected TxStateError; the transaction goes on and commits', async () => {
    const { pool: p, root } = fresh();
    let ran = false;
    let inTx: Promise<unknown> | undefined;
    p.tx((tx) => { tx.setU32(root, 1); inTx = rejection(p.txAsync(() => { ran = true; })); tx.setU32(root + 4, 2); });
    p.beginTx();
    const inStep = rejection(p.txAsync(() => { ran = true; }));
    p.addRange(root + 8, 4); p.writeU32(root + 8, 3);
    p.commitTx();
    expect(await inTx!).toBeInstanceOf(TxStateError);
    expect(await inStep).toBeInstanceOf(TxStateError);
    expect(ran).toBe(false);
    const d = new DataView(p.durableImage().buffer);
    expect([1, 2, 3].map((_, i) => d.getUint32(root + 4 * i, true))).toEqual([1, 2, 3]);
    p.close();
  });

  it('from the .then of a member: txAsync, commitBatch and tx() work (a new batch), durable in order', async () => {
    const { pool: p, root } = fresh();
    const chained = p.txAsync((tx) => { tx.setU32(root, 1); return 1; }).then(async (v) => {
      p.commitBatch(); // nothing open: a no-op
      const next = p.txAsync((tx) => { tx.setU32(root + 4, v + 1); return v + 1; });
      p.tx((tx) => tx.setU32(root + 8, 3)); // commits `next`'s batch first
      const d = new DataView(p.durableImage().buffer);
      expect(d.getUint32(root + 4, true)).toBe(2);
      return next;
    });
    expect(await chained).toBe(2);
    const d = new DataView(p.durableImage().buffer);
    expect([0, 1, 2].map((i) => d.getUint32(root + 4 * i, true))).toEqual([1, 2, 3]);
    p.close();
  });

  it('after close: txAsync rejects with PoolClosedError, commitBatch and tx throw it; the image is untouched', async () => {
    const { pool: p, backend } = fresh();
    p.close();
    const image = backend.durableImage().slice();
    let ran = false;
    await expectRefusedAsync(() => p.txAsync(() => { ran = true; }), PoolClosedError, 'txAsync after close');
    expect(() => p.commitBatch()).toThrow(PoolClosedError);
    expect(() => p.tx(() => 1)).toThrow(PoolClosedError);
    expect(ran).toBe(false);
    expect(sameBytes(backend.durableImage(), image)).toBe(true);
  });

  it('re-entry from a Tx setter: a Uint8Array whose length getter calls commitBatch / txAsync is refused; the batch is not committed mid-member', async () => {
    const { pool: p, root } = fresh();
    const calls: unknown[] = [];
    class Reentrant extends Uint8Array {
      constructor(n: number, private readonly reenter: () => unknown) { super(n); }
      get length() { try { calls.push(this.reenter()); } catch (e) { calls.push(e); } return super.length; }
    }
    const before = p.durableImage();
    let duringMember: Uint8Array | undefined;
    const m = p.txAsync((tx) => {
      tx.setU32(root, 1);
      tx.setBytes(root + 16, new Reentrant(8, () => p.commitBatch()));
      tx.setBytes(root + 32, new Reentrant(8, () => rejection(p.txAsync(() => { calls.push('ran'); }))));
      duringMember = p.durableImage();
      return 'done';
    });
    expect(await m).toBe('done');
    expect(sameBytes(duringMember!, before), 'the batch committed inside its member').toBe(true);
    expect(calls).not.toContain('ran');
    const errs = await Promise.all(calls);
    expect(errs.length).toBeGreaterThan(0);
    for (const e of errs) expect(e).toBeInstanceOf(TxStateError);
    p.close();
  });

  it('a Tx setter value whose valueOf re-enters is refused before valueOf runs (InvalidArgumentError), the member alone fails', async () => {
    const { pool: p, root } = fresh();
    let called = false;
    const evil = { valueOf: () => { called = true; p.commitBatch(); return 1; } };
    const ok = p.txAsync((tx) => { tx.setU32(root, 1); });
    const bad = rejection(p.txAsync((tx) => { tx.setU32(root + 4, 2); tx.setU32(root + 8, evil as never); }));
    await ok;
    expect(await bad).toBeInstanceOf(InvalidArgumentError);
    expect(called).toBe(false);
    expect([p.readU32(root), p.readU32(root + 4), p.readU32(root + 8)]).toEqual([1, 0, 0]);
    p.close();
  });
});

describe('txAsync: the log-full rule, adversarially', () => {
  it('a member that overflows the log beside a failing member reruns alone; a rerun that throws rejects with its own error; one too big alone is LogFullError', async () => {
    for (const evicts of [false, true]) for (const secondRunThrows of [false, true]) {
      // A small pool whose heap is full: the log cannot grow past its fixed area.
      const p = Pool.create({ size: 256 * 1024, maxSize: 256 * 1024, layout: 'adv2-logfull', seed: 6, evicts });
      const big = p.alloc(80 * 1024);
      const piece = Math.floor(p.layoutInfo().logBytes / 3);
      try { for (;;) p.alloc(4096); } catch { /* full */ }
      const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
      let runs = 0;
      const err = new Error('second run fails');
      const m1 = p.txAsync((tx) => tx.setBytes(big, fill(piece, 1)));
      const m2 = rejection(p.txAsync((tx) => { tx.setBytes(big + piece, fill(piece, 2)); throw new Error('m2 fails'); }));
      const m3 = p.txAsync((tx) => {
        runs++;
        tx.setBytes(big + piece, fill(2 * piece, 3));
        if (runs === 2 && secondRunThrows) throw err;
        return runs;
      });
      const m3r = secondRunThrows ? rejection(m3) : m3;
      let tooBigRuns = 0;
      const m4 = rejection(p.txAsync((tx) => { tooBigRuns++; tx.setBytes(big, fill(4 * piece, 4)); }));
      await m1;
      const what = `evicts ${evicts}, second run throws ${secondRunThrows}`;
      expect(((await m2) as Error).message, what).toBe('m2 fails');
      if (secondRunThrows) expect(await m3r, what).toBe(err); else expect(await m3r, what).toBe(2);
      expect(runs, what).toBe(2);
      expect(await m4, what).toBeInstanceOf(LogFullError);
      expect(tooBigRuns, what).toBeGreaterThanOrEqual(1);
      const at = (off: number) => p.readBytes(off, 1)[0];
      expect([at(big), at(big + piece), at(big + 2 * piece)], what).toEqual(secondRunThrows ? [1, 0, 0] : [1, 3, 3]);
      const durable = p.durableImage();
      expect([durable[big], durable[big + piece], durable[big + 2 * piece]], `${what}: durable`).toEqual(secondRunThrows ? [1, 0, 0] : [1, 3, 3]);
      p.check();
      p.close();
    }
  });
});

// ─── regressions: what this file found (each failed before its fix) ────────

describe('regressions: group commit', () => {
  it('close() or crash() inside a txAsync member: txAsync rejects (no raw TypeError) and the batch is abandoned whole', async () => {
    for (const how of ['close', 'crash'] as const) for (const evicts of [false, true]) {
      const { pool: p, backend, root } = fresh(evicts);
      p.tx((tx) => tx.setU32(root, 9));
      const first = rejection(p.txAsync((tx) => { tx.setU32(root, 1); tx.alloc(40, { type: 4, into: root + 4 }); }));
      let sync: unknown;
      let closer: Promise<unknown> | undefined;
      try {
        closer = rejection(p.txAsync((tx) => { tx.setU32(root + 8, 2); if (how === 'close') p.close(); else p.crash({ mode: 'strict' }); }));
      } catch (e) { sync = e; }
      expect(await first, `${how}, evicts ${evicts}: the first member`).toBeInstanceOf(PheapError);
      expect(sync, `${how}, evicts ${evicts}: txAsync threw ${String(sync)}`).toBeUndefined();
      expect(await closer!, `${how}, evicts ${evicts}: the closing member`).toBeInstanceOf(PheapError);
      const q = Pool.open({ layout: 'adv2-args', image: backend.durableImage(), evicts });
      const r = q.root(128);
      expect([q.readU32(r), q.readU32(r + 4), q.readU32(r + 8)]).toEqual([9, 0, 0]);
      expect([...q.objects(4)]).toEqual([]);
      q.check();
      q.close();
    }
  });
});

describe('regressions: a failing member and the allocations of its batch', () => {
  it('a failing member that frees or reallocs an object an earlier member of its batch allocated leaves that object alive (no dangling pointer, no space handed out twice)', async () => {
    for (const op of ['free', 'realloc'] as const) for (const evicts of [false, true]) {
      const { pool: p, backend, root } = fresh(evicts);
      let a = 0;
      const m1 = p.txAsync((tx) => { a = tx.alloc(100, { type: 1, into: root }); tx.setU32(a, 0xfeed); return a; });
      const m2 = rejection(p.txAsync((tx) => {
        if (op === 'free') tx.free(a, { from: root }); else tx.realloc(a, 200, { into: root });
        throw new Error('member 2 fails');
      }));
      expect(await m1).toBe(a);
      expect((await m2) as Error).toHaveProperty('message', 'member 2 fails');
      const what = `${op}, evicts ${evicts}`;
      // m1 resolved: its object must be live, published, and never handed out again.
      expect(p.readU32(root), what).toBe(a);
      expect(p.isLive(a), what).toBe(true);
      expect(p.alloc(100, { type: 2 }), `${what}: the next alloc reuses m1's object`).not.toBe(a);
      expect([p.typeOf(a), p.readU32(a)], what).toEqual([1, 0xfeed]);
      p.close();
      const q = Pool.open({ layout: 'adv2-args', image: backend.durableImage(), evicts });
      expect(q.isLive(a), `${what}: after reopen`).toBe(true);
      q.close();
    }
  });

  it('after a failing member freed a committed object, a later member of the same batch can free or realloc it', async () => {
    for (const op of ['free', 'realloc'] as const) for (const evicts of [false, true]) {
      const { pool: p, root } = fresh(evicts);
      const a = p.alloc(100, { type: 1, into: root });
      const m1 = p.txAsync((tx) => { tx.setU32(root + 8, 1); }); // the failing member must not be the batch's first
      const m2 = rejection(p.txAsync((tx) => { tx.free(a, { from: root }); throw new Error('member 2 fails'); }));
      const m3 = p.txAsync((tx) => (op === 'free' ? tx.free(a, { from: root }) : tx.realloc(a, 181, { into: root })));
      await m1;
      expect((await m2) as Error).toHaveProperty('message', 'member 2 fails');
      await expect(m3, `${op}, evicts ${evicts}`).resolves.not.toThrow();
      expect(p.isLive(a)).toBe(false);
      p.check();
      p.close();
    }
  });

  it('the model run with members freeing and resizing each other\'s objects (the patterns above) holds', async () => {
    await runConfig({ name: 'cross-member frees memory deferred', backend: 'memory', evicts: false }, 6, 200);
  }, 60_000);
});

// ─── option types ───────────────────────────────────────────────────────────

describe('evicts and groupCommit of the wrong type', () => {
  const BAD_EVICTS: unknown[] = ['yes', 'false', 1, 0, null, {}, [], NaN];

  it('Pool.create / Pool.open refuse an evicts that is not a boolean (InvalidArgumentError), no file made or changed', () => {
    const file = tmp.file('evicts');
    for (const ev of BAD_EVICTS) {
      expect(() => Pool.create({ path: file, backend: 'file', size: POOL_SIZE, layout: 'adv2-ev', evicts: ev as never }), `create evicts ${String(ev)}`).toThrow(InvalidArgumentError);
      expect(fs.existsSync(file)).toBe(false);
    }
    Pool.create({ path: file, backend: 'file', size: POOL_SIZE, layout: 'adv2-ev', seed: 1 }).close();
    const bytes = fs.readFileSync(file);
    for (const ev of BAD_EVICTS) {
      expect(() => Pool.open({ path: file, backend: 'file', layout: 'adv2-ev', evicts: ev as never }), `open evicts ${String(ev)}`).toThrow(InvalidArgumentError);
      expect(sha256(fs.readFileSync(file))).toBe(sha256(bytes));
    }
  });

  it('new MemoryBackend(…, { evicts }) refuses a value that is not a boolean (InvalidArgumentError)', () => {
    for (const ev of ['yes', 1, {}, 'false']) {
      let made: MemoryBackend | undefined;
      let err: unknown;
      try { made = new MemoryBackend(POOL_SIZE, 'os', undefined, { evicts: ev as never }); } catch (e) { err = e; }
      if (made) {
        const p = Pool.create({ backend: made, size: POOL_SIZE, layout: 'adv2-ev' });
        const reported = p.info().evicts;
        p.close();
        expect(typeof reported, `evicts ${JSON.stringify(ev)} accepted, info().evicts = ${JSON.stringify(reported)}`).toBe('boolean');
      }
      expect(err, `evicts ${JSON.stringify(ev)}`).toBeInstanceOf(InvalidArgumentError);
    }
  });

  it('groupCommit options of the wrong type or range are refused at create (InvalidArgumentError, nothing made)', () => {
    const bad: unknown[] = [
      { maxBatch: 0 }, { maxBatch: -1 }, { maxBatch: NaN }, { maxBatch: 1.5 }, { maxBatch: '4' }, { maxBatch: Infinity },
      { maxDelayMs: -1 }, { maxDelayMs: NaN }, { maxDelayMs: 'x' }, { maxDelayMs: Infinity },
      { maxbatch: 4 }, null, 5, 'x', [],
    ];
    const accepted: string[] = [];
    for (const g of bad) {
      const file = tmp.file('gc');
      try {
        Pool.create({ path: file, backend: 'file', size: POOL_SIZE, layout: 'adv2-gc', groupCommit: g as never }).close();
        accepted.push(String(JSON.stringify(g)));
      } catch (e) {
        expect(e, String(JSON.stringify(g))).toBeInstanceOf(InvalidArgumentError);
        expect(fs.existsSync(file), `${JSON.stringify(g)}: a refused create made a file`).toBe(false);
      }
    }
    expect(accepted, 'accepted groupCommit options').toEqual([]);
  });
});

// ─── crash modes and the cache model ────────────────────────────────────────

describe('crash modes per cache model, with a batch open', () => {
  it('evicts false: evict / tear8 / eadr are refused (InvalidArgumentError) by crash() and crashImage(); the pool and its open batch are untouched and still commit', async () => {
    const { pool: p, root } = fresh(false);
    const m = p.txAsync((tx) => { tx.setU32(root, 1); p.drain(); tx.alloc(24, { type: 5, into: root + 4 }); return 'kept'; });
    for (const mode of ['evict', 'tear8', 'eadr'] as const) {
      const before = snapshot(p);
      expect(() => p.crash({ mode, seed: 3 }), mode).toThrow(InvalidArgumentError);
      expect(() => p.crashImage({ mode, seed: 3 }), mode).toThrow(InvalidArgumentError);
      expect(p.isClosed).toBe(false);
      const now = snapshot(p);
      expect(sameBytes(now.cache, before.cache) && sameBytes(now.durable, before.durable), mode).toBe(true);
    }
    expect(await m).toBe('kept');
    expect([...p.objects(5)].length).toBe(1);
    p.close();
  });

  it('evicts true: every mode crashes an open batch (its promises reject) and recovery leaves the last committed state', async () => {
    for (const mode of ['strict', 'pending', 'evict', 'tear8', 'eadr'] as const) {
      for (let seed = 0; seed < 4; seed++) {
        const { pool: p, root } = fresh(true);
        p.tx((tx) => tx.setU32(root, 7));
        const m1 = rejection(p.txAsync((tx) => { tx.setU32(root, 1); tx.alloc(24, { type: 5, into: root + 4 }); p.persist(root, 8); }));
        const m2 = rejection(p.txAsync((tx) => { tx.setU32(root + 8, 2); p.tx((t) => t.setU32(root + 12, 3)); p.drain(); }));
        const q = p.crash({ mode, seed });
        for (const e of [await m1, await m2]) expect(e, `${mode}:${seed}`).toBeInstanceOf(PheapError);
        const r = q.root(128);
        expect([0, 1, 2, 3].map((i) => q.readU32(r + 4 * i)), `${mode}:${seed}`).toEqual([7, 0, 0, 0]);
        expect([...q.objects(5)]).toEqual([]);
        q.check();
        q.close();
      }
    }
  });

  it('explore({ evicts: false }) of batches with hand drains, nested tx and plain into: only strict and pending, batches whole and in order; listing evict is refused', () => {
    const SLOT = 4, N = 3;
    const workload = (pool: Pool, mark: (label: string) => void) => {
      const root = pool.root(128);
      for (let b = 1; b <= N; b++) {
        void pool.txAsync((tx) => { tx.setU32(root, b); tx.setU32(root + 4 * SLOT + 4 * b, b); pool.drain(); });
        void pool.txAsync((tx) => { tx.setU32(root + 64, 0xbad); pool.persist(root, 128); throw new Error('fails'); }).catch(() => undefined);
        void pool.txAsync((tx) => { pool.tx((t) => t.setU32(root + 8, b)); tx.alloc(16, { type: 6, into: root + 68 + 4 * b }); });
        pool.commitBatch();
        mark(`batch ${b}`);
        pool.alloc(16, { type: 7, into: root + 100 + 4 * b }); // plain, between batches
      }
    };
    const modes = new Set<string>();
    const check = (pool: Pool, markers: { label: string }[]) => {
      const root = pool.root(128);
      const k = pool.readU32(root);
      expect(k).toBeGreaterThanOrEqual(markers.length);
      expect(pool.readU32(root + 8)).toBe(k);
      expect(pool.readU32(root + 64)).toBe(0);
      for (let b = 1; b <= N; b++) {
        expect(pool.readU32(root + 4 * SLOT + 4 * b), `batch ${b} of ${k}`).toBe(b <= k ? b : 0);
        expect(pool.readU32(root + 68 + 4 * b) !== 0, `batch ${b}'s object`).toBe(b <= k);
      }
      expect([...pool.objects(6)].length).toBe(k);
      let plain = 0;
      for (let b = 1; b <= N; b++) {
        const at = pool.readU32(root + 100 + 4 * b);
        if (b < k) expect(at, `plain alloc ${b} after batch ${k}`).not.toBe(0);
        if (b > k) expect(at, `plain alloc ${b} before batch ${b}`).toBe(0);
        if (at !== 0) { expect(pool.isLive(at)).toBe(true); plain++; }
      }
      expect([...pool.objects(7)].length).toBe(plain);
    };
    const opts = { layout: 'adv2-explore', evicts: false, workload, check, setup: (p: Pool) => { p.root(128); }, onState: (c: CrashCase) => { modes.add(c.mode); } };
    const report = explore(opts);
    expect(report.failures, formatReport(report)).toEqual([]);
    expect([...modes].sort()).toEqual(['pending', 'strict']);
    expect(report.states).toBeGreaterThan(10);
    expect(() => explore({ ...opts, modes: ['evict'] })).toThrow(InvalidArgumentError);
  });
});

// ─── byte-identical determinism ─────────────────────────────────────────────

describe('byte-identical durable images', () => {
  it('one seeded workload (batches, failing members, crashes, reopens) gives the same bytes on memory and file, run twice', async () => {
    const images: string[] = [];
    for (const run of [1, 2]) {
      for (const backend of ['memory', 'file'] as const) {
        const cfg: DriverConfig = { name: 'determinism', backend, evicts: false, file: backend === 'file' ? tmp.file(`det-${run}`) : undefined };
        const d = await runDriver(cfg, SEED, 100);
        expect(d.counts.crashes + d.counts.reopens, 'the workload crashes or reopens').toBeGreaterThan(0);
        images.push(sha256(d.closedImage()));
      }
    }
    console.log(`adv2 determinism: ${replayLine({ name: 'byte-identical', backend: 'memory', evicts: false }, SEED)} -> sha256 ${images[0].slice(0, 16)}`);
    expect(new Set(images).size, images.join(' ')).toBe(1);
  }, 30_000);
});
