// Crashing more than once (explore's `depth`): crash → recover → check →
// continue → crash again. What it finds that one crash cannot (a user-level
// log whose recovery forgets to invalidate itself), what it reports (states
// per level, markers per level, chain specs that replay byte-identically,
// the last crash minimized), and the core's transactions explored at depth 2.

import { describe, expect, it } from 'vitest';
import { Pool, explore, formatReport, parseSpec, caseSpec, type CrashCase, type ExploreOptions, type Marker } from '../src/index.js';
import { crashTest } from '../src/crash/vitest.js';
import { KEEP, ROOT_SIZE, applyTx, committed, stateProblems } from './helpers/tx-workload.js';

const FILE = 'test/multicrash.test.ts';

/**
 * A pair (a, b) that must stay equal, updated through a user-level redo log
 * (valid @0, newA @64, newB @128, a and b @192 and @196: one line each).
 * `forget`: recovery redoes the log but never invalidates it — harmless
 * until the next update starts writing the log while it still reads as
 * valid, and crashes.
 */
function pairLog(forget: boolean): ExploreOptions {
  const obj = (p: Pool) => p.readU32(p.root(8));
  const update = (p: Pool, o: number) => {
    const next = p.readU32(o + 192) + 1;
    p.writeU32(o + 64, next); p.persist(o + 64, 4);
    p.writeU32(o + 128, next); p.persist(o + 128, 4);
    p.writeU32(o, 1); p.persist(o, 4);
    p.writeU32(o + 192, next); p.writeU32(o + 196, next); p.persist(o + 192, 8);
    p.writeU32(o, 0); p.persist(o, 4);
  };
  return {
    name: forget ? 'pair log, recovery forgets to invalidate' : 'pair log', file: FILE, modes: ['strict', 'pending'],
    setup: (p) => { p.alloc(256, { align64: true, zero: true, into: p.root(8) }); },
    workload: (p, mark) => { for (let i = 0; i < 2; i++) { update(p, obj(p)); mark(`update ${i} returned`); } },
    recover: (p) => {
      const o = obj(p);
      if (p.readU32(o) !== 1) return;
      p.writeU32(o + 192, p.readU32(o + 64)); p.writeU32(o + 196, p.readU32(o + 128)); p.persist(o + 192, 8);
      if (!forget) { p.writeU32(o, 0); p.persist(o, 4); }
    },
    check: (p, markers) => {
      const o = obj(p);
      expect(p.readU32(o + 196), 'a == b').toBe(p.readU32(o + 192));
      expect(p.readU32(o + 192), 'every acknowledged update (of every level) is in').toBeGreaterThanOrEqual(markers.length);
    },
  };
}

describe('depth 2 finds what depth 1 cannot', () => {
  it('a user-level log whose recovery forgets to invalidate it: passes at depth 1, fails at depth 2', () => {
    const once = explore({ ...pairLog(true), depth: 1 });
    expect(once.failures).toEqual([]);
    expect(once.levels.map((l) => l.level)).toEqual([1]);
    const twice = explore({ ...pairLog(true), depth: 2, deeper: { states: 'all' } });
    expect(twice.failures).toHaveLength(1);
    const f = twice.failures[0];
    expect(f.case.prior).toHaveLength(1);
    expect(f.spec).toMatch(/^pair log, recovery forgets to invalidate@\d+:\w+:[^>]+>\d+:\w+:[^#]+#[0-9a-f]{16}$/);
    expect(f.error).toMatch(/a == b/);
    const text = formatReport(twice);
    expect(text).toContain('crash 1: point');
    expect(text).toContain('per level: 1:');
    console.log(`depth 1: ${once.states} states, no failure; depth 2:\n  ${text.replace(/\n/g, '\n  ')}`);
  });

  it('the same log with a recovery that invalidates it passes at depth 2 (every state continued, every point)', () => {
    const r = explore({ ...pairLog(false), depth: 2, deeper: { states: 'all', points: 'all' } });
    if (r.failures.length) throw new Error(formatReport(r));
    expect(r.levels).toHaveLength(2);
    expect(r.levels[1].runs).toBe(r.levels[0].states); // every state passed, so every one was continued
    expect(r.levels[1].points).toBe(r.levels[1].drains + r.levels[1].runs); // every point of every run
    console.log(`pair log, correct, depth 2, everything: ${r.levels.map((l) => `level ${l.level}: ${l.states} states (${l.runs} runs)`).join(', ')}`);
  });

  it('a depth-2 failure replays byte-identically from its chain spec, and the last crash is minimized', () => {
    const opts = { ...pairLog(true), depth: 2, deeper: { states: 'all' as const }, modes: ['strict', 'pending', 'evict'] as ExploreOptions['modes'] };
    const f = explore(opts).failures[0];
    expect(f).toBeDefined();
    const seen: CrashCase[] = [];
    const again = explore({ ...opts, replay: f.spec, onState: (c) => seen.push(c) });
    expect(again.replayed).toEqual({ spec: f.spec, sha256: f.sha256, matches: true });
    expect(again.states).toBe(1);
    expect(seen.map(caseSpec)).toEqual([caseSpec(f.case)]);
    expect(again.failures[0]?.error).toBe(f.error);
    // the last crash keeps no line it does not need
    for (const line of f.case.choice.survivors) {
      const fewer = { ...f.case, choice: { kind: 'x' as const, n: 0, survivors: f.case.choice.survivors.filter((l) => l !== line) } };
      if (!f.case.choice.survivors.length) break;
      const r = explore({ ...opts, replay: `${opts.name}@${caseSpec(fewer)}` });
      expect(r.failures, `dropping line ${line} still fails: not minimal`).toEqual([]);
    }
    const wrong = explore({ ...opts, replay: f.spec.replace(/#.*/, '#00000000') });
    expect(wrong.replayed?.matches).toBe(false);
  });
});

describe('crashTest at depth 2', () => {
  const { name: _n, file: _f, ...forgetful } = pairLog(true);
  crashTest('crashTest: the forgetful pair log is caught at depth 2', {
    ...forgetful, depth: 2, deeper: { states: 'all' }, expectFailure: true,
    onReport: (r) => {
      expect(r.failures[0].spec).toMatch(/^crashTest: the forgetful pair log is caught at depth 2@[^>]+>[^>]+#/);
      expect(r.failures[0].replay).toContain(`npx vitest run ${FILE}`);
    },
  });
});

describe('what a deeper exploration reports', () => {
  it('markers carry their level; cases at level 2 name the crash before; states are counted per level', () => {
    const perLevel = new Map<number, number>();
    const markerLevels: number[][] = [];
    const r = explore({
      ...pairLog(false), depth: 2,
      check: (p, markers: Marker[], c) => { pairLog(false).check(p, markers, c); markerLevels.push(markers.map((m) => m.level!)); },
      onState: (c) => perLevel.set(1 + (c.prior?.length ?? 0), (perLevel.get(1 + (c.prior?.length ?? 0)) ?? 0) + 1),
    });
    expect(r.failures).toEqual([]);
    expect(r.levels.map((l) => l.states)).toEqual([perLevel.get(1), perLevel.get(2)]);
    expect(r.states).toBe(perLevel.get(1)! + perLevel.get(2)!);
    expect(r.levels[1].runs).toBe(8); // the default sample of continued states
    expect(r.levels[1].points).toBeLessThanOrEqual(8 * 8);
    for (const levels of markerLevels) expect([...levels].sort()).toEqual(levels); // level 1 first, then level 2
    expect(markerLevels.some((l) => l.includes(2))).toBe(true);
    expect(markerLevels.every((l) => l.every((x) => x === 1 || x === 2))).toBe(true);
  });

  it('is deterministic, and `deeper` widens the sample', () => {
    const run = (deeper?: ExploreOptions['deeper']) => {
      const keys: string[] = [];
      const r = explore({ ...pairLog(false), depth: 2, deeper, onState: (c, k) => keys.push(`${caseSpec(c)}=${k}`) });
      return { r, keys };
    };
    const a = run(), b = run();
    expect(b.keys).toEqual(a.keys);
    const wide = run({ states: 'all', points: 'all' });
    expect(wide.r.levels[1].states).toBeGreaterThan(a.r.levels[1].states);
    expect(new Set(wide.keys).size).toBe(wide.keys.length);
    const reseeded = run({ seed: 'another' });
    expect(reseeded.keys).not.toEqual(a.keys);
  });

  it('chain specs parse; single-crash specs keep their form', () => {
    const s = parseSpec('n@3:pending:m1>5:strict:m0/1:pending:s2>0:evict:x4.7w3#abcd');
    expect(s).toMatchObject({ name: 'n', point: 3, mode: 'pending', choice: { kind: 'm', n: 1 }, sha: 'abcd' });
    expect(s.next).toEqual([
      { point: 5, mode: 'strict', choice: { kind: 'm', n: 0, survivors: [] }, recovery: { point: 1, mode: 'pending', choice: { kind: 's', n: 2, survivors: [] } } },
      { point: 0, mode: 'evict', choice: { kind: 'x', n: 0, survivors: [4, 7], words: [0xff, 3] } },
    ]);
    expect(parseSpec('3:strict:m0').next).toBeUndefined();
    expect(() => parseSpec('3:strict:m0>')).toThrow(/cannot parse/);
    expect(() => parseSpec('3:strict:m0>1:melt:m1')).toThrow(/unknown mode/);
    const c: CrashCase = { point: 2, mode: 'evict', choice: { kind: 'm', n: 3, survivors: [] }, prior: [{ point: 7, mode: 'pending', choice: { kind: 's', n: 1, survivors: [] } }] };
    expect(caseSpec(c)).toBe('7:pending:s1>2:evict:m3');
  });
});

describe('the core crashed twice', () => {
  it('the transaction workload (test/helpers/tx-workload.ts): crash, recover, run on, crash again', () => {
    const r = explore({
      name: 'tx workload, depth 2', file: FILE, size: 1 << 20, depth: 2, modes: ['strict', 'pending', 'evict'],
      setup: (p) => { p.root(ROOT_SIZE); for (let i = 0; i < KEEP; i++) applyTx(p, i); }, // the list is full: every tx below also frees
      workload: (p, mark) => {
        for (let t = 0; t < 2; t++) { mark('tx called'); applyTx(p, committed(p)); mark('tx returned'); }
      },
      check: (p, markers) => {
        expect(stateProblems(p)).toEqual([]);
        const count = (label: string) => markers.filter((m) => m.label === label).length;
        const n = committed(p) - KEEP; // level 1 left p1 in [returned, called]; the run after it added p2 likewise
        expect(n).toBeGreaterThanOrEqual(count('tx returned'));
        expect(n).toBeLessThanOrEqual(count('tx called'));
      },
    });
    console.log(`tx workload, depth 2: ${formatReport(r).split('\n')[0]}`);
    if (r.failures.length) throw new Error(formatReport(r));
    expect(r.levels[1].states).toBeGreaterThan(0);
  });
});

describe('core bug (assembly/tx.ts): a ghost undo entry', () => {
  // A transaction that only allocates logs its allocator words at commit, all
  // in one drain: four entries over two log lines. A crash that keeps the
  // second line and not the first leaves entry 1 invalid and entries 3-4
  // valid. Recovery stops at entry 1, rolls back nothing — and so does not
  // bump the log's sequence number: entries 3-4 stay valid. The run after
  // it allocates the same blocks outside a transaction (no log), then a
  // transaction writes two entries and aborts: its rollback walks on into
  // the ghost entries and "restores" the allocator words of before the
  // crash, freeing blocks that are live. Only a second crash-and-continue
  // level reaches this; the test passes once recovery invalidates the log
  // whatever it rolled back.
  const SIZES = [24, 200, 3000, 70_000];
  it('core bug: a ghost undo entry left by a crash whose recovery rolls back nothing is restored by the next abort', () => {
    const r = explore({
      name: 'ghost undo entry', file: FILE, depth: 2, modes: ['strict', 'pending'], deeper: { states: 'all', points: 3 },
      setup: (p) => { p.root(128); },
      workload: (p, mark) => { p.tx((tx) => { for (const s of SIZES) tx.alloc(s, { type: 6 }); }); mark('tx returned'); },
      continue: (p, mark) => {
        const root = p.root(128);
        for (const s of SIZES) { mark('alloc called'); p.alloc(s, { type: 7 }); mark('alloc returned'); }
        try { p.tx((tx) => { tx.setU32(root, 1); tx.setU32(root + 64, 2); throw new Error('abort'); }); } catch (e) { if ((e as Error).message !== 'abort') throw e; }
      },
      check: (p, markers) => {
        const count = (label: string) => markers.filter((m) => m.label === label).length;
        const tx = [...p.objects(6)].length;
        expect([0, SIZES.length], 'the transaction is all or nothing').toContain(tx);
        if (count('tx returned')) expect(tx).toBe(SIZES.length);
        const allocs = [...p.objects(7)].length;
        expect(allocs, 'allocations that returned are live').toBeGreaterThanOrEqual(count('alloc returned'));
        expect(allocs).toBeLessThanOrEqual(count('alloc called'));
        const root = p.root(128);
        expect([p.readU32(root), p.readU32(root + 64)], 'the aborted transaction left nothing').toEqual([0, 0]);
      },
    });
    console.log(`ghost undo entry, depth 2: ${formatReport(r)}`);
    if (r.failures.length) throw new Error(formatReport(r));
  });
});
