// The crash explorer itself: determinism, points, modes, replay specs and
// image hashes, minimization, recovery crashes, the loader's restores and
// its safety net (regressions: failures named after the base moved on with
// `all`, unflushed stores of `recover` leaking into later states, states
// keyed by image alone), the linearizability oracle, the vitest helper —
// and the core's transaction and allocator workloads explored exhaustively
// at small sizes, crashed twice in a row (depth 2; more in multicrash.test.ts).

import { describe, expect, it } from 'vitest';
import {
  Pool, explore, formatReport, parseSpec, caseSpec, recordTrace, changedWordsPerDrain, checkLinearizable, checkRerun, prefixKeys,
  progressOf, canonical, linearizable, LinearizabilityError, sha256, type ExploreOptions, type CrashCase, type Marker,
} from '../src/index.js';
import { crashTest } from '../src/crash/vitest.js';

const FILE = 'test/explore.test.ts';

/** A small transactional workload: an array of counters, with a tx per step. */
function counters(steps = 4): ExploreOptions {
  let root = 0;
  return {
    setup: (p) => { root = p.root(64 * 4); },
    workload: (p, mark) => {
      for (let t = 0; t < steps; t++) {
        p.tx((tx) => { for (const i of [t % 4, (t + 1) % 4]) tx.setU32(root + 64 * i, p.readU32(root + 64 * i) + 1); });
        mark(`op ${t} returned`);
      }
    },
    check: (p, markers) => {
      const r = p.root(64 * 4);
      const sum = [0, 1, 2, 3].reduce((s, i) => s + p.readU32(r + 64 * i), 0);
      expect(sum % 2).toBe(0);
      expect(sum).toBeGreaterThanOrEqual(2 * markers.length);
    },
  };
}

/**
 * `opts` plus a spare object in a line that nothing else touches; when `now()` says so, the
 * check stores into it behind the tracking proxy's back (Pool.prototype.writeU32.call(proxy, …)
 * writes the real pool), and every check asserts that no earlier stray store is visible.
 */
function withStray(opts: ExploreOptions, now: () => boolean): ExploreOptions {
  const SPARE = 9;
  return {
    ...opts,
    setup: (p) => { opts.setup?.(p); p.alloc(128, { align64: true, zero: true, type: SPARE }); },
    check: (p, markers, c) => {
      opts.check(p, markers, c);
      const spare = [...p.objects(SPARE)][0] + 64;
      expect(p.readU32(spare), 'a stray store of an earlier state').toBe(0);
      if (now()) Pool.prototype.writeU32.call(p, spare, 7);
    },
  };
}

/** A workload whose check fails when a chosen line is durable before its time (a planted bug). */
function planted(lines = 10, bad = 3): ExploreOptions {
  let obj = 0;
  return {
    name: 'planted', file: FILE, modes: ['strict', 'pending'],
    setup: (p) => { obj = p.alloc(64 * lines, { align64: true, zero: true, into: p.root(8) }); },
    workload: (p, mark) => {
      for (let i = 0; i < lines; i++) p.writeU32(obj + 64 * i, i + 1);
      p.persist(obj, 64 * lines); // one drain, `lines` candidate lines: sampled, not exhaustive
      mark('wrote all');
      p.writeU32(obj, 100); p.persist(obj, 4);
    },
    check: (p, markers) => {
      const o = p.readU32(p.root(8));
      // planted bug: line `bad` may only be durable together with line 0
      if (markers.length === 0 && p.readU32(o + 64 * bad) !== 0 && p.readU32(o) === 0) throw new Error(`line ${bad} durable before line 0`);
    },
  };
}

describe('determinism', () => {
  it('the same options give the same report and the same image hashes, state by state', () => {
    const run = () => {
      const seen: string[] = [];
      const r = explore({ ...counters(), seeds: 3, onState: (c, key) => seen.push(`${caseSpec(c)}=${key}`) });
      return { r, seen };
    };
    const a = run(), b = run();
    expect(a.r.failures).toEqual([]);
    expect(a.seen.length).toBe(a.r.states);
    expect(b.seen).toEqual(a.seen);
    const strip = ({ ms: _1, statesPerSecond: _2, recordMs: _3, ...rest }: ReturnType<typeof explore>) => rest;
    expect(strip(b.r)).toEqual(strip(a.r));
    console.log(`determinism: ${a.r.states} states, identical twice`);
  });

  it('a different sampling seed explores different sampled images; failures report the same case and SHA-256 twice', () => {
    const keys = (seed: number) => { const s = new Set<string>(); explore({ ...planted(), seed, onState: (_c, k) => s.add(k) }); return s; };
    const k0 = keys(0), k1 = keys(1);
    expect([...k1].some((k) => !k0.has(k))).toBe(true);
    const f1 = explore({ ...planted() }).failures[0], f2 = explore({ ...planted() }).failures[0];
    expect(f1).toBeDefined();
    expect(f2).toEqual(f1);
  });

  it('identical images are explored once', () => {
    const keys: string[] = [];
    const r = explore({ ...counters(), onState: (_c, k) => keys.push(k) });
    expect(new Set(keys).size).toBe(keys.length);
    expect(r.generated).toBe(r.states + r.duplicates);
    expect(r.duplicates).toBeGreaterThan(0);
  });
});

describe('points and modes', () => {
  it('all points: one per drain plus the point after the last drain', () => {
    const r = explore({ ...counters(), modes: ['strict'], recoveryCrashes: false });
    expect(r.points).toBe(r.drains + 1);
  });

  it('a range explores exactly the points in it; a sample explores n distinct points, reproducibly', () => {
    const pointsOf = (points: ExploreOptions['points']) => {
      const s = new Set<number>();
      const r = explore({ ...counters(), points, onState: (c) => s.add(c.point) });
      return { s, r };
    };
    const range = pointsOf({ from: 3, to: 6 });
    expect([...range.s].sort((a, b) => a - b)).toEqual([3, 4, 5, 6]);
    expect(range.r.points).toBe(4);
    const s1 = pointsOf({ sample: 5, seed: 9 }), s2 = pointsOf({ sample: 5, seed: 9 });
    expect(s1.r.points).toBe(5);
    expect([...s1.s].sort()).toEqual([...s2.s].sort());
    expect(s1.s.size).toBeLessThanOrEqual(5);
  });

  it('small points are enumerated exhaustively (every non-empty subset), large ones sampled with `seeds` samples', () => {
    const byPointMode = new Map<string, CrashCase[]>();
    const r = explore({
      ...planted(), modes: ['pending'], recoveryCrashes: false, seeds: 5, all: true,
      check: () => {},
      onState: (c) => { const k = `${c.point}`; byPointMode.set(k, [...(byPointMode.get(k) ?? []), c]); },
    });
    expect(r.failures).toEqual([]);
    const pl = planted();
    const trace = recordTrace(pl.workload, { setup: pl.setup });
    trace.drains.forEach((d, k) => {
      const cases = byPointMode.get(`${k}`) ?? [];
      if (d.drained.lines.length > 6) {
        expect(cases.every((c) => c.choice.kind === 's')).toBe(true);
        expect(cases.length).toBeLessThanOrEqual(5);
      } else if (d.drained.lines.length > 0) {
        // every mask 1 .. 2^n − 1, minus images already seen at an earlier point
        expect(cases.every((c) => c.choice.kind === 'm')).toBe(true);
        expect(cases.length).toBeLessThanOrEqual(2 ** d.drained.lines.length - 1);
      }
    });
    const withSix = explore({ ...planted(6), modes: ['pending'], recoveryCrashes: false, check: () => {}, exhaustiveLines: 6, onState: () => {} });
    expect(withSix.states).toBeGreaterThanOrEqual(63); // the 6-line drain alone: 2^6 − 1 subsets
  });

  it('evict and tear8 add never-flushed lines and torn lines; eadr keeps everything', () => {
    let obj = 0;
    const modes: Record<string, number> = {};
    const r = explore({
      modes: ['strict', 'pending', 'evict', 'tear8', 'eadr'], seeds: 8,
      setup: (p) => { obj = p.alloc(128, { align64: true, zero: true, into: p.root(8) }); },
      workload: (p) => {
        p.writeU64(obj + 64, 7n); // never flushed: only evict / tear8 / eadr can keep it
        p.writeU64(obj, 1n); p.writeU64(obj + 8, 2n); p.persist(obj, 16);
      },
      check: () => {},
      onState: (c) => { modes[c.mode] = (modes[c.mode] ?? 0) + 1; },
    });
    expect(r.failures).toEqual([]);
    expect(modes.evict).toBeGreaterThan(0);
    expect(modes.tear8).toBeGreaterThan(0);
    // eadr's image equals an evict subset here (everything survives), so it may be a duplicate
    expect(r.generated).toBeGreaterThan(r.states);
  });
});

describe('failures, minimization and replay', () => {
  it('reports the smallest failing case, minimized, with its image SHA-256 and a replay command', () => {
    const r = explore(planted());
    expect(r.failures).toHaveLength(1);
    const f = r.failures[0];
    expect(f.case.mode).toBe('pending');
    expect(f.case.choice.kind).toBe('x'); // minimized from a sample
    expect(f.case.minimizedFrom?.kind).toBe('s');
    expect(f.case.choice.survivors).toHaveLength(1);
    expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(f.spec).toBe(`planted@${caseSpec(f.case)}#${f.sha256.slice(0, 16)}`);
    expect(f.replay).toBe(`PHEAP_REPLAY='${f.spec}' npx vitest run ${FILE} -t 'planted'`);
    const text = formatReport(r);
    expect(text).toContain(f.sha256);
    expect(text).toContain('minimized to surviving lines');
    console.log(`a planted failure, reported as expected:\n  ${text.replace(/\n/g, '\n  ')}`);
  });

  it('replaying the spec reproduces the failure on a byte-identical image', () => {
    const f = explore(planted()).failures[0];
    const seen: CrashCase[] = [];
    const r = explore({ ...planted(), replay: f.spec, onState: (c) => seen.push(c) });
    expect(r.states).toBe(1);
    expect(seen).toHaveLength(1);
    expect(r.replayed).toEqual({ spec: f.spec, sha256: f.sha256, matches: true });
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0].error).toBe(f.error);
    expect(r.failures[0].sha256).toBe(f.sha256);
    // the unminimized sample replays too
    const orig = `planted@${f.case.point}:pending:s${f.case.minimizedFrom!.n}`;
    const r2 = explore({ ...planted(), replay: orig });
    expect(r2.failures).toHaveLength(1);
    expect(r2.failures[0].case.choice.survivors.length).toBeGreaterThanOrEqual(1);
  });

  it('replay reads PHEAP_REPLAY, ignores other explorations\' specs, and says when the image differs', () => {
    const f = explore(planted()).failures[0];
    process.env.PHEAP_REPLAY = f.spec;
    try {
      expect(explore(planted()).replayed?.matches).toBe(true);
      const other = explore({ ...planted(), name: 'another' });
      expect(other.replayed).toBeUndefined(); // not this exploration's case: explored in full
      expect(other.states).toBeGreaterThan(1);
    } finally {
      delete process.env.PHEAP_REPLAY;
    }
    const wrong = f.spec.replace(/#.*/, '#0123456789abcdef');
    const r = explore({ ...planted(), replay: wrong });
    expect(r.replayed?.matches).toBe(false);
    expect(r.failures[0].error).toContain('not byte-identical');
  });

  it('parses and rejects specs', () => {
    expect(parseSpec('a b@3:tear8:x7w3.9/1:pending:m2#abcd')).toEqual({
      name: 'a b', point: 3, mode: 'tear8', choice: { kind: 'x', n: 0, survivors: [7, 9], words: [3, 0xff] },
      recovery: { point: 1, mode: 'pending', choice: { kind: 'm', n: 2, survivors: [] } }, sha: 'abcd',
    });
    expect(() => parseSpec('3:melt:m1')).toThrow(/unknown mode/);
    expect(() => parseSpec('nonsense')).toThrow(/cannot parse/);
  });

  it('finds a crash inside user recovery, and replays it', () => {
    // Recovery that is not idempotent: a crash between its two steps breaks the invariant a == b.
    const opts: ExploreOptions = {
      name: 'recovery', modes: ['strict'],
      setup: (p) => { p.root(128); },
      workload: (p) => { const r = p.root(128); p.writeU32(r + 64, 1); p.persist(r + 64, 4); },
      recover: (p) => {
        const r = p.root(128);
        if (p.readU32(r + 64) === 0) return;
        p.writeU32(r, p.readU32(r) + 1); p.persist(r, 4);
        p.writeU32(r + 4, p.readU32(r + 4) + 1); p.persist(r + 4, 4);
      },
      check: (p) => { const r = p.root(128); expect(p.readU32(r)).toBe(p.readU32(r + 4)); },
    };
    const r = explore(opts);
    expect(r.failures).toHaveLength(1);
    const f = r.failures[0];
    expect(f.case.recovery).toBeDefined();
    expect(formatReport(r)).toContain('crash inside recovery');
    const again = explore({ ...opts, replay: f.spec });
    expect(again.replayed?.matches).toBe(true);
    expect(again.failures[0]?.sha256).toBe(f.sha256);
    expect(explore({ ...opts, recoveryCrashes: false }).failures).toEqual([]);
  });

  it('stores made by a check never leak into the next image', () => {
    const r = explore({
      ...counters(),
      check: (p, markers, c) => {
        counters().check(p, markers, c);
        const root = p.root(64 * 4);
        p.writeU32(root, 0xdead); // scribble, never flushed
        p.writeBytes(root + 64, new Uint8Array(8).fill(0xee));
        p.tx((tx) => tx.setU32(root + 128, 0xbeef)); // and a committed transaction
      },
    });
    expect(r.failures).toEqual([]);
    expect(r.notes).toEqual([]);
  });

  it('with all: true every failure names its own image: each spec replays byte-identically (E1)', () => {
    // Failures used to be turned into specs after the base image had moved on to the last point.
    const r = explore({ ...planted(), all: true });
    expect(r.failures.length).toBeGreaterThanOrEqual(1);
    expect(r.points).toBeGreaterThan(Math.max(...r.failures.map((f) => f.case.point)) + 1); // the base moved on after them
    for (const f of r.failures) {
      const again = explore({ ...planted(), replay: f.spec });
      expect(again.replayed, f.spec).toEqual({ spec: f.spec, sha256: f.sha256, matches: true });
      expect(again.failures[0]?.error).toBe(f.error);
    }
  });

  it('stores made by recover never leak into the next image (E2)', () => {
    // recover bumps a field with a raw store and no flush, only once the workload's counter is
    // durably past 1 (so not on the first states). Every open must see the field at 0.
    const obj = (p: Pool) => p.readU32(p.root(8));
    const r = explore({
      modes: ['strict', 'pending'],
      setup: (p) => { p.alloc(128, { align64: true, zero: true, into: p.root(8) }); },
      workload: (p) => { const o = obj(p); for (let i = 1; i <= 4; i++) { p.writeU32(o, i); p.persist(o, 4); } },
      recover: (p) => { const o = obj(p); if (p.readU32(o) >= 2) p.writeU32(o + 64, p.readU32(o + 64) + 1); },
      check: (p) => { const o = obj(p); expect(p.readU32(o + 64), 'opened with a stale field').toBe(p.readU32(o) >= 2 ? 1 : 0); },
    });
    expect(r.failures).toEqual([]);
    expect(r.notes).toEqual([]);
    expect(r.states).toBeGreaterThan(4);
  });

  it('the safety net flags a store that bypasses the tracking, and no later state sees it', () => {
    // Pool.prototype.writeU32.call(proxy, ...) stores into the real pool behind the tracking proxy's back.
    let n = 0;
    const STRAY = 20; // not the 1st, 16th or 256th state: the old net compared only then
    const r = explore(withStray(counters(6), () => ++n === STRAY));
    expect(n).toBeGreaterThan(STRAY);
    expect(r.failures).toEqual([]);
    expect(r.notes.join('\n')).toMatch(/changed outside the flush model.*comparison after every state/);
  });

  it('on pools large enough to be compared every few states, a late catch explores everything again with whole-image restores', () => {
    let n = 0;
    const STRAY = 21; // the 8 MiB loader compares after every 2nd state: this one is caught one state late
    const r = explore({ ...withStray(counters(6), () => ++n === STRAY), size: 8 << 20 });
    expect(n).toBeGreaterThan(2 * STRAY); // explored twice
    expect(r.failures).toEqual([]); // the second exploration saw no stray store
    expect(r.notes.join('\n')).toMatch(/explored everything again with whole-image restores/);
  });

  it('the same image with more acknowledged operations is checked again (states are keyed by image and markers)', () => {
    // The op returns after a drain of another line, its own store never flushed. The image without it
    // is first met before the op returned (fine there), then again after it returned (a bug there).
    const r = explore({
      setup: (p) => { p.root(128); },
      workload: (p, mark) => { const r0 = p.root(128); p.writeU32(r0 + 64, 1); p.persist(r0, 4); mark('op returned'); },
      check: (p, markers) => { if (markers.length) expect(p.readU32(p.root(128) + 64), 'the returned op is durable').toBe(1); },
    });
    expect(r.failures[0]?.error).toMatch(/the returned op is durable/);
  });

  it('a state limit truncates the exploration and says so', () => {
    const r = explore({ ...counters(), limit: 10 });
    expect(r.states).toBe(10);
    expect(r.truncated).toBe(true);
    expect(formatReport(r)).toContain('state limit');
  });
});

describe('the linearizability oracle', () => {
  const model = { initial: 0, apply: (s: number, op: number) => s + op };
  it('accepts the state after any prefix between returned and called operations', () => {
    const keys = prefixKeys(model, [1, -1, 1, 5]); // 0 1 0 1 6: states repeat
    expect(keys).toEqual(['0', '1', '0', '1', '6']);
    expect(() => checkLinearizable('1', keys, { returned: 2, called: 3 })).not.toThrow(); // after 3 (not only at index 1)
    expect(() => checkLinearizable('0', keys, { returned: 2, called: 3 })).not.toThrow();
    expect(() => checkLinearizable('6', keys, { returned: 2, called: 3 })).toThrow(LinearizabilityError);
    expect(() => checkLinearizable('1', keys, { returned: 4, called: 4 })).toThrow(/is not the model after 4\.\.4/);
  });

  it('after two crashes with the operations run again: a level-1 prefix, then a level-2 prefix of the same operations', () => {
    const ops = [1, 10, 100]; // states are sums: each prefix pair gives a distinct total
    const m = (label: string, level: number): Marker => ({ label, afterDrains: 0, level });
    // level 1 crashed inside op 1 (prefix 1 or 2), and so did level 2 (again prefix 1 or 2 of the same operations)
    const markers = [m('op 0 called', 1), m('op 0 returned', 1), m('op 1 called', 1), m('op 0 called', 2), m('op 0 returned', 2), m('op 1 called', 2)];
    for (const ok of [1 + 1, 1 + 11, 11 + 1, 11 + 11]) expect(() => checkRerun(String(ok), model, ops, markers), String(ok)).not.toThrow();
    for (const bad of [0, 1, 11, 1 + 111, 111 + 1]) expect(() => checkRerun(String(bad), model, ops, markers), String(bad)).toThrow(LinearizabilityError);
  });

  it('reads call/return markers', () => {
    const m = (label: string): Marker => ({ label, afterDrains: 0 });
    expect(progressOf([m('op 0 called'), m('op 0 returned'), m('op 1 called'), m('something else')])).toEqual({ called: 2, returned: 1 });
  });

  it('canonical() sorts maps, sets and keys', () => {
    expect(canonical(new Map([[2, 'b'], [1, 'a']]))).toBe(canonical(new Map([[1, 'a'], [2, 'b']])));
    expect(canonical({ b: 1, a: new Set([3, 1]) })).toBe('{"a":{"$set":[1,3]},"b":1}');
    expect(canonical(5n)).toBe('"5n"');
  });

  it('drives an exploration: a correct counter passes, a counter updated without a transaction fails', () => {
    const spec = (bad: boolean) => {
      const lin = linearizable({
        model: { initial: [0, 0], apply: ([a, b]: number[], op: number) => [a + op, b + op] },
        ops: [1, 2, 3],
        run: (p, op) => {
          const r = p.root(128);
          if (bad) { p.writeU32(r, p.readU32(r) + op); p.persist(r, 4); p.writeU32(r + 64, p.readU32(r + 64) + op); p.persist(r + 64, 4); }
          else p.tx((tx) => { tx.setU32(r, p.readU32(r) + op); tx.setU32(r + 64, p.readU32(r + 64) + op); });
        },
        read: (p) => { const r = p.root(128); return [p.readU32(r), p.readU32(r + 64)]; },
      });
      return explore({ setup: (p) => { p.root(128); }, workload: lin.workload, check: lin.check });
    };
    expect(spec(false).failures).toEqual([]);
    const bad = spec(true);
    expect(bad.failures[0]?.error).toMatch(/LinearizabilityError/);
  });
});

describe('the core explored exhaustively at small sizes', () => {
  it('transactions: every subset of every drain (and of every recovery drain), strict/pending/evict, two crashes in a row', () => {
    // Multi-range commits, a transactional alloc + publish, a transactional free, an abort —
    // checked against a sequential model with the linearizability oracle.
    type Op = 'set' | 'alloc' | 'free' | 'abort';
    let total = 0, second = 0;
    for (const ranges of [1, 2, 3]) {
      const seen: CrashCase[] = [];
      let obj = 0, root = 0;
      const ops: Op[] = ['set', 'alloc', 'set', 'free', 'abort', 'set'];
      type S = { v: number; node: boolean };
      const model = { initial: { v: 0, node: false }, apply: (s: S, op: Op) =>
        op === 'set' ? { ...s, v: s.v + 1 } : op === 'alloc' ? { ...s, node: true } : op === 'free' ? { ...s, node: false } : s };
      const readState = (p: Pool): S => {
        const r = p.root(8), o = p.readU32(r + 4);
        const vals = Array.from({ length: ranges }, (_, i) => p.readU32(o + 64 * i));
        if (new Set(vals).size !== 1) throw new Error(`ranges of one transaction disagree: ${vals}`);
        const node = p.readU32(r);
        if (node !== 0 && !p.isLive(node)) throw new Error('published node is not live');
        if ([...p.objects(4)].length !== (node ? 1 : 0)) throw new Error('leaked or lost node');
        return { v: vals[0], node: node !== 0 };
      };
      const lin = linearizable({
        model,
        ops,
        run: (p, op) => {
          const fill = (tx: { setU32(o: number, v: number): void }, v: number) => { for (let i = 0; i < ranges; i++) tx.setU32(obj + 64 * i, v); };
          try {
            p.tx((tx) => {
              if (op === 'set') fill(tx, p.readU32(obj) + 1);
              else if (op === 'alloc') tx.setU32(root, tx.alloc(24, { type: 4 }));
              else if (op === 'free') { tx.free(p.readU32(root)); tx.setU32(root, 0); }
              else { fill(tx, 99); throw new Error('abort'); }
            });
          } catch (e) { if ((e as Error).message !== 'abort') throw e; }
        },
        read: readState,
      });
      const r = explore({
        size: 256 << 10, modes: ['strict', 'pending', 'evict'], exhaustiveLines: 12,
        setup: (p) => { root = p.root(8); obj = p.alloc(64 * ranges, { align64: true, zero: true, into: root + 4 }); },
        workload: lin.workload, depth: 2,
        // after a crash and its recovery: drop the node if there is one, then the same operations again
        continue: (p, mark) => {
          const node = p.readU32(root);
          if (node) p.tx((tx) => { tx.free(node); tx.setU32(root, 0); });
          mark('cleared');
          lin.workload(p, mark);
        },
        check: (p, markers, crash) => {
          if (!crash.prior) return lin.check(p, markers);
          // level 2: the model after a prefix of the operations (level 1), maybe without its node, then a prefix again
          const after = (s: S, n: number) => ops.slice(0, n).reduce(model.apply, s);
          const l1 = progressOf(markers.filter((m) => m.level === 1));
          const own = markers.filter((m) => m.level === 2), l2 = progressOf(own);
          const allowed = new Set<string>();
          for (let p1 = l1.returned; p1 <= l1.called; p1++) {
            const s1 = after(model.initial, p1);
            for (const start of own.some((m) => m.label === 'cleared') ? [{ ...s1, node: false }] : [s1, { ...s1, node: false }]) {
              for (let p2 = l2.returned; p2 <= l2.called; p2++) allowed.add(canonical(after(start, p2)));
            }
          }
          const got = canonical(readState(p));
          expect([...allowed], `level 2: recovered ${got}`).toContain(got);
        },
        onState: (c) => seen.push(c),
      });
      if (r.failures.length) throw new Error(formatReport(r));
      // nothing was sampled: every choice is an exhaustive subset
      expect(seen.every((c) => c.choice.kind === 'm' && (!c.recovery || c.recovery.choice.kind === 'm'))).toBe(true);
      expect(r.recoveryStates).toBeGreaterThan(0);
      total += r.states;
      second += r.levels[1].states;
    }
    console.log(`core tx, exhaustive: ${total} crash states (${second} at crash level 2)`);
  });

  it('allocator: atomic alloc/publish and free/clear, every subset, strict/pending/evict, two crashes in a row', () => {
    let total = 0, second = 0;
    for (const [a, b, c, align64] of [[40, 70_000, 200, false], [16, 640, 120, true], [8, 100_000, 64, false]] as const) {
      let root = 0;
      const seen: CrashCase[] = [];
      const workload = (p: Pool, mark: (label: string) => void) => {
        p.alloc(a, { type: 3, into: root }); mark('a');
        p.alloc(b, { type: 3, into: root + 4, align64 }); mark('b');
        p.alloc(c, { type: 3, into: root + 8 }); mark('c');
        p.free(p.readU32(root), { from: root }); mark('free a');
        p.free(p.readU32(root + 4), { from: root + 4 }); mark('free b');
        p.realloc(p.readU32(root + 8), 2 * c, { into: root + 8 }); mark('realloc c'); // another size class: moves
      };
      const r = explore({
        modes: ['strict', 'pending', 'evict'], exhaustiveLines: 12, depth: 2,
        setup: (p) => { root = p.root(16); },
        workload,
        // after a crash and its recovery: free what is published (atomically with clearing it), then the same again
        continue: (p, mark) => {
          for (let i = 0; i < 3; i++) { const o = p.readU32(root + 4 * i); if (o) p.free(o, { from: root + 4 * i }); }
          mark('cleared');
          workload(p, mark);
        },
        check: (p) => {
          const r0 = p.root(16);
          const pub = [p.readU32(r0), p.readU32(r0 + 4), p.readU32(r0 + 8)].filter((x) => x !== 0);
          for (const o of pub) expect(p.isLive(o)).toBe(true);
          expect([...p.objects(3)].sort()).toEqual(pub.sort());
        },
        onState: (x) => seen.push(x),
      });
      if (r.failures.length) throw new Error(formatReport(r));
      expect(seen.every((x) => x.choice.kind === 'm' && (!x.recovery || x.recovery.choice.kind === 'm'))).toBe(true);
      total += r.states;
      second += r.levels[1].states;
    }
    console.log(`core allocator, exhaustive: ${total} crash states (${second} at crash level 2)`);
  });
});

describe('traces', () => {
  it('records drains, dirty lines and markers; counts changed words per drain', () => {
    const t = recordTrace((p, mark) => {
      const r = p.root(128);
      p.writeU64(r, 1n); p.writeU64(r + 8, 2n); p.persist(r, 16);
      mark('one');
      p.writeU64(r + 64, 3n); // dirty at the next drain
      p.writeU64(r + 16, 4n); p.persist(r + 16, 8);
    }, { withDirty: true, setup: (p) => { p.root(128); } });
    expect(t.drains).toHaveLength(2);
    expect(t.markers).toEqual([{ label: 'one', afterDrains: 1 }]);
    expect(t.drains[1].dirty?.lines).toHaveLength(1);
    expect(changedWordsPerDrain(t)).toEqual([2, 1]);
    expect(t.finalDirty?.lines).toEqual(t.drains[1].dirty?.lines);
  });

  it('two-pass recording finds the same dirty lines as whole-pool compares, and falls back when the workload is not deterministic', () => {
    const opts = counters(5);
    const evictish = (p: Pool, mark: (l: string) => void) => {
      opts.workload(p, mark);
      const r = p.root(64 * 4);
      p.writeU32(r + 4, 9); p.writeU32(r + 68, 9); // stored, never flushed
    };
    const whole = recordTrace(evictish, { setup: opts.setup, withDirty: true, twoPassFrom: Infinity });
    const twice = recordTrace(evictish, { setup: opts.setup, withDirty: true, twoPassFrom: 0 });
    expect(twice.notes).toBeUndefined();
    expect(twice).toEqual(whole);
    expect(whole.drains.some((d) => d.dirty!.lines.length > 0)).toBe(true);
    expect(whole.finalDirty!.lines.length).toBeGreaterThan(0);
    let runs = 0;
    const moody = recordTrace((p) => { const r = p.root(64); for (let i = 0; i <= runs; i++) p.persist(r, 4); runs++; },
      { setup: (p) => { p.root(64); }, withDirty: true, twoPassFrom: 0 });
    expect(moody.notes?.[0]).toMatch(/not deterministic/);
  });

  it('sha256 matches known vectors', () => {
    expect(sha256(new Uint8Array(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const long = new TextEncoder().encode('a'.repeat(1000));
    expect(sha256(long)).toBe('41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3');
  });
});

describe('crashTest', () => {
  crashTest('crashTest: a transactional counter survives every crash', {
    setup: (p) => { p.root(8); },
    workload: (p, mark) => {
      const root = p.root(8);
      for (let i = 1; i <= 3; i++) { p.tx((tx) => tx.setU32(root, i)); mark(`op ${i - 1} returned`); }
    },
    check: (p, markers) => expect(p.readU32(p.root(8))).toBeGreaterThanOrEqual(markers.length),
  });

  crashTest('crashTest: a counter bumped with a raw store and no flush is caught', {
    expectFailure: true,
    setup: (p) => { p.root(8); },
    workload: (p, mark) => { p.writeU32(p.root(8), 1); p.drain(); mark('op 0 returned'); },
    check: (p, markers) => expect(p.readU32(p.root(8))).toBeGreaterThanOrEqual(markers.length),
    onReport: (r) => {
      expect(r.failures[0].replay).toMatch(/^PHEAP_REPLAY='crashTest: a counter bumped.*' npx vitest run test\/explore\.test\.ts -t 'crashTest: a counter bumped/);
    },
  });
});

it('Pool instances handed to check are real pools', () => {
  explore({ ...counters(1), check: (p) => { expect(p).toBeInstanceOf(Pool); } });
});
