// torture.test.ts — the bounded model-based torture run of `npm test`.
//
// Runs the generator of test/helpers/torture.ts (random public-API
// operations, crashes at random drains in every crash mode, crashes during
// recovery, comparison with a reference model) for the seed values 1 … 12, and
// prints per seed the operations, crashes and states checked, with the line
// that replays it. PHEAP_TORTURE_SEED=s (and PHEAP_TORTURE_OPS=n) run that
// one seed instead. Bounded: well under a minute in the debug core.
// Longer runs: `npm run soak -- --minutes N`.
// Also the minimal sequences of the bugs the generator found, as regression
// tests that need no generator to fail: a ghost undo entry resurrected by
// the next transaction's abort, a transaction freeing two objects of one run
// right after an open, and realloc's `into` skipped when it resizes in place.

import { describe, it, expect } from 'vitest';
import { Pool } from '../src/index.js';
import { CrashBackend, CrashSignal } from './helpers/crash-backend.js';
import { replayLine, runTorture, tortureEvicts, type TortureStats } from './helpers/torture.js';

const OPS = Number(process.env.PHEAP_TORTURE_OPS ?? 2000);
const SEED_LIST = process.env.PHEAP_TORTURE_SEED !== undefined ? [Number(process.env.PHEAP_TORTURE_SEED)] : Array.from({ length: 12 }, (_, i) => i + 1);
const SIZE = 2 << 20;

function summary(seed: number, s: TortureStats): string {
  const modes = Object.entries(s.modes).map(([m, n]) => `${m} ${n}`).join(', ');
  const errors = Object.entries(s.errors).map(([e, n]) => `${e} ${n}`).join(', ') || 'none';
  const model = tortureEvicts({ seed }) ? 'pmem model, eager log' : 'drain-only model, deferred log';
  return `torture seed ${seed} (${model}): ${s.ops} ops, ${s.crashes} crashes in ops (${s.crashedAfter} kept the op) + ${s.recoveryCrashes} in recovery ` +
    `[${modes}], ${s.states} states checked, ${s.growths} ops grew the pool, expected errors: ${errors}\n  replay: ${replayLine(seed, OPS)}`;
}

describe('torture: random operations, crashes anywhere, the model holds', () => {
  for (const seed of SEED_LIST) {
    it(`seed ${seed}: ${OPS} operations (${tortureEvicts({ seed }) ? 'pmem' : 'deferred log'})`, () => {
      console.log(`torture: ${replayLine(seed, OPS)}`);
      const stats = runTorture({ seed, ops: OPS });
      console.log(summary(seed, stats));
      expect(stats.ops).toBe(OPS);
      expect(stats.crashes).toBeGreaterThan(0);
      expect(stats.states).toBeGreaterThan(OPS / 4);
      expect(stats.growths, 'the pool grew (from 512 KiB, up to 2 MiB)').toBeGreaterThan(0);
    });
  }
});

describe('regressions found by the torture generator', () => {
  // A transaction that only allocates, in three runs, commits by logging three
  // allocator-word entries (32 B each) in one drain: two in the first log line,
  // one in the second. A pending crash there that keeps only the second line
  // leaves recovery nothing valid to roll back, so the sequence number stays;
  // the third entry stays valid under it. The next transaction logs exactly two
  // entries and aborts: rollback walks on into the stale entry and restores a
  // run's bitmap word from before the crash, freeing what was allocated since.
  it('an aborted transaction never rolls back an entry of a transaction interrupted by an earlier crash', () => {
    let crashes = 0;
    for (let drain = 0; drain < 8; drain++) {
      for (let seed = 0; seed < 16; seed++) {
        const backend = new CrashBackend(SIZE);
        let pool = Pool.create({ backend, size: SIZE, layout: 'ghost', seed: 1 });
        const root = pool.root(64);
        backend.onCrash = () => pool.close();
        backend.arm({ countdown: drain, mode: 'pending', seed });
        let image: Uint8Array | null = null;
        try {
          pool.tx((tx) => { tx.alloc(40); tx.alloc(300); tx.alloc(3000); });
        } catch (e) {
          if (!(e instanceof CrashSignal)) throw e;
          image = e.image;
        }
        if (!image) break; // the transaction drains fewer times: no later drain either
        crashes++;
        pool = Pool.open({ backend: new CrashBackend(SIZE, image), layout: 'ghost' });
        const between = Array.from({ length: 9 }, (_, i) => pool.alloc([40, 300, 3000][i % 3]));
        expect(() => pool.tx((tx) => { tx.setU32(root, 1); tx.setU32(root + 8, 2); throw new Error('abort'); })).toThrow('abort');
        const lost = between.filter((o) => !pool.isLive(o));
        expect(lost, `crash at drain ${drain} (pending, seed ${seed}): objects allocated after recovery were freed by the abort`).toEqual([]);
        pool.check();
        pool.close();
      }
    }
    expect(crashes).toBeGreaterThan(16);
  });

  // Two small objects of one run; reopen; one transaction frees both (or frees
  // one and moves the other with realloc). At commit the run's volatile live
  // count is off: the debug core traps in unclaimSlot ("run has no live slot")
  // with two objects in the run, check() reports problem 7 with three. Calling
  // check() once after the open hides it; without the reopen it does not happen.
  it('right after an open, one transaction frees two objects of one run', () => {
    for (const n of [2, 3]) {
      for (const second of ['free', 'realloc'] as const) {
        let pool = Pool.create({ size: SIZE, layout: 'two-frees', seed: 1 });
        const objs = Array.from({ length: n }, () => pool.alloc(84));
        const image = pool.durableImage();
        pool.close();
        pool = Pool.open({ image, layout: 'two-frees' });
        pool.tx((tx) => {
          tx.free(objs[0]);
          if (second === 'free') tx.free(objs[1]);
          else tx.realloc(objs[1], 23403);
        });
        expect(pool.isLive(objs[0])).toBe(false);
        expect(pool.isLive(objs[1])).toBe(false);
        expect(() => pool.check(), `${n} objects, free + ${second}`).not.toThrow();
        pool.close();
      }
    }
  });

  // realloc(off, n, { into }) documents "publish the new offset": the slot must
  // hold the result whether the object moved or was resized in place. The
  // generator only passes a slot that already points at the object, which
  // hides this; here the slot starts at 0.
  it('realloc with into publishes the result when it resizes in place too', () => {
    const pool = Pool.create({ size: SIZE, layout: 'into', seed: 1 });
    const dir = pool.alloc(64, { zero: true });
    const a = pool.alloc(100);
    const moved = pool.realloc(a, 5000, { into: dir });
    expect(pool.readU32(dir)).toBe(moved);
    const same = pool.realloc(moved, 4000, { into: dir + 4 });
    expect(same).toBe(moved);
    expect(pool.readU32(dir + 4)).toBe(same);
    pool.close();
  });
});
