// Seeded bugs prove the explorer works: a persistent linked list and a hash
// map (examples/), each in a correct version and in variants with one
// classic persistent-memory bug. Every buggy variant must be reported, by
// the mode that can see it, with a case that replays byte-identically;
// every correct version must pass (no false alarm), with every mode, the
// crashes inside recovery, and the durable-linearizability oracle.

import { afterAll, describe, expect, it } from 'vitest';
import { explore, formatReport, type CrashMode, type ExploreOptions, type ExploreReport } from '../src/index.js';
import { LIST_VARIANTS, listScenario } from '../examples/list.js';
import { MAP_VARIANTS, mapScenario } from '../examples/hashmap.js';

const FILE = 'test/seeded-bugs.test.ts';

/** Modes that can see each bug (the first failure must come from one of them). */
const SEEN_BY: Record<string, CrashMode[]> = {
  'missing-flush': ['strict', 'pending', 'evict'], // durable root, node never flushed: visible at the next point in strict
  'missing-fence': ['pending', 'evict'],           // node and root drained together: only a subset shows it
  'non-atomic-16': ['tear8'],                      // both words share one line: only torn lines show it
  'tx-no-addrange': ['strict', 'pending', 'evict', 'tear8'],
  'recovery-ignores-incomplete': ['strict', 'pending', 'evict', 'tear8'],
};

let total = 0;
const found: string[] = [];
afterAll(() => {
  console.log(`seeded bugs: ${total} crash states explored in all; every buggy variant found:\n${found.join('\n')}`);
});

function run(opts: ExploreOptions): ExploreReport {
  const r = explore({ ...opts, file: FILE, modes: ['strict', 'pending', 'evict', 'tear8'] });
  total += r.states;
  return r;
}

for (const [structure, variants, scenario] of [
  ['list', LIST_VARIANTS, listScenario],
  ['map', MAP_VARIANTS, mapScenario],
] as const) {
  describe(`${structure}`, () => {
    for (const variant of variants) {
      if (variant === 'correct') {
        it(`${structure}/correct passes every crash state (no false alarm)`, () => {
          const r = run((scenario as (v: string) => ExploreOptions)(variant));
          console.log(`${structure}/correct: ${formatReport(r)}`);
          if (r.failures.length) throw new Error(formatReport(r));
          expect(r.recoveryStates).toBeGreaterThan(0);
          expect(r.points).toBe(r.drains + 1);
        });
        continue;
      }
      it(`${structure}/${variant} is reported, and its case replays byte-identically`, () => {
        const opts = (scenario as (v: string) => ExploreOptions)(variant);
        const r = run(opts);
        expect(r.failures.length, `${structure}/${variant} was not found:\n${formatReport(r)}`).toBeGreaterThan(0);
        const f = r.failures[0];
        expect(SEEN_BY[variant]).toContain(f.case.mode);
        found.push(`  ${structure}/${variant}: ${f.case.mode} at point ${f.case.point}, lines [${f.case.choice.survivors}], ` +
          `in flight: ${f.markers.at(-1)?.label ?? 'none'} — ${f.error.slice(0, 160)}\n    ${f.replay}`);
        console.log(`${structure}/${variant} (a seeded bug, found as it should be): ${formatReport(r).replace(/\n/g, '\n  ')}`);
        // The printed command's spec explores exactly that case again, on the same image.
        const again = explore({ ...opts, file: FILE, replay: f.spec });
        total += again.states;
        expect(again.replayed?.matches).toBe(true);
        expect(again.failures[0]?.sha256).toBe(f.sha256);
        expect(again.failures[0]?.error).toBe(f.error);
      });
    }
  });
}

describe('which mode finds what', () => {
  it('a missing fence is invisible in strict mode (a drain is atomic there); pending mode finds it', () => {
    const r = explore({ ...listScenario('missing-fence'), modes: ['strict'] });
    total += r.states;
    expect(r.failures).toEqual([]);
  });

  it('a non-atomic 16-byte update is invisible to whole-line modes: only tear8 finds it', () => {
    const r = explore({ ...mapScenario('non-atomic-16'), modes: ['strict', 'pending', 'evict'] });
    total += r.states;
    expect(r.failures).toEqual([]);
  });

  it('an interrupted clear() is the operation in flight when the ignoring recovery fails', () => {
    const r = explore({ ...mapScenario('recovery-ignores-incomplete') });
    total += r.states;
    const last = r.failures[0].markers.at(-1)?.label;
    expect(last).toBe('op 7 called'); // MAP_OPS[7] is the clear()
  });
});
