// torture.test.ts — the bounded model-based torture run of `npm test`.
//
// Runs the generator of test/helpers/torture.ts (random public-API
// operations, crashes at random drains in every crash mode, crashes during
// recovery, comparison with a reference model) for a few fixed seeds, and
// prints per seed the operations, crashes and states checked, with the line
// that replays it. PHEAP_TORTURE_SEED=s (and PHEAP_TORTURE_OPS=n) run that
// one seed instead. Bounded: about a minute in the debug core on two cores.
// Longer runs: `npm run soak -- --minutes N`.

import { describe, it, expect } from 'vitest';
import '../src/index.js';
import { replayLine, runTorture, type TortureStats } from './helpers/torture.js';

const OPS = Number(process.env.PHEAP_TORTURE_OPS ?? 400);
const SEEDS = process.env.PHEAP_TORTURE_SEED !== undefined ? [Number(process.env.PHEAP_TORTURE_SEED)] : [1, 2, 3, 4, 5, 6];

function summary(seed: number, s: TortureStats): string {
  const modes = Object.entries(s.modes).map(([m, n]) => `${m} ${n}`).join(', ');
  const errors = Object.entries(s.errors).map(([e, n]) => `${e} ${n}`).join(', ') || 'none';
  return `torture seed ${seed}: ${s.ops} ops, ${s.crashes} crashes in ops (${s.crashedAfter} kept the op) + ${s.recoveryCrashes} in recovery ` +
    `[${modes}], ${s.states} states checked, expected errors: ${errors}\n  replay: ${replayLine(seed, OPS)}`;
}

describe('torture: random operations, crashes anywhere, the model holds', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${OPS} operations`, () => {
      console.log(`torture: ${replayLine(seed, OPS)}`);
      const stats = runTorture({ seed, ops: OPS });
      console.log(summary(seed, stats));
      expect(stats.ops).toBe(OPS);
      expect(stats.crashes).toBeGreaterThan(0);
      expect(stats.states).toBeGreaterThan(OPS / 4);
    });
  }
});
