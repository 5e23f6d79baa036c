// bench/crash.ts — `npm run bench:crash`: the crash-state explorer.
//
//   1. crash states explored per second, 1 MiB and 64 MiB pools, on the
//      examples' correct list and hash map (every mode but eadr, crashes
//      inside recovery on): "overall" counts recording the workload too,
//      "exploring" only the part after it (opening, recovering, checking).
//   2. how exploring scales with the number of drains (list workloads of
//      growing length).
//   3. states explored vs what pmreorder's ReorderFull engine would check on
//      the same trace — computed, not run: between two fences ReorderFull
//      replays every ordered subset of the n stores made there,
//      sum_{l=0..n} n!/(n-l)! sequences. n per drain is taken as the number
//      of aligned 8-byte words the drain changed in the durable image, a
//      lower bound on its stores, so the ReorderFull figure is a lower bound.
//
// Exploration runs on the memory backend; its drains are labelled 'os'.
import { explore, recordTrace, changedWordsPerDrain, type CrashMode, type ExploreOptions } from '../src/index.js';
import { listScenario, LIST_OPS, type ListOp } from '../examples/list.js';
import { mapScenario } from '../examples/hashmap.js';
import { median, printTable, type Row } from './lib/report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MiB = 1 << 20;
const MODES: CrashMode[] = ['strict', 'pending', 'evict', 'tear8'];

interface Rate { overall: number; exploring: number; states: number; drains: number; recordMs: number; ms: number }

/** Explore `opts` repeatedly (≥ 300 ms per run, RUNS runs); medians. */
function rate(opts: ExploreOptions, minMs = 300): Rate {
  explore(opts); // warm-up
  const overall: number[] = [], exploring: number[] = [], recordMs: number[] = [], ms: number[] = [];
  let states = 0, drains = 0;
  for (let r = 0; r < RUNS; r++) {
    let s = 0, t = 0, rec = 0, n = 0;
    while (t < minMs) {
      const rep = explore(opts);
      if (rep.failures.length) throw new Error(`unexpected failure in a correct workload: ${rep.failures[0].error}`);
      s += rep.states; t += rep.ms; rec += rep.recordMs; n++;
      states = rep.states; drains = rep.drains;
    }
    overall.push((s * 1000) / t);
    exploring.push((s * 1000) / (t - rec));
    recordMs.push(rec / n);
    ms.push(t / n);
  }
  return { overall: median(overall), exploring: median(exploring), states, drains, recordMs: median(recordMs), ms: median(ms) };
}

const fmt = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));

function listOps(n: number): ListOp[] {
  const ops: ListOp[] = [];
  for (let i = 0; ops.length < n; i++) {
    ops.push({ op: 'push', value: i + 1 });
    if (i % 3 === 2) ops.push({ op: 'pop' });
    if (i % 7 === 6) ops.push({ op: 'reverse' });
  }
  return ops.slice(0, n);
}

// ─── 1. states per second ───────────────────────────────────────────────────

const rows: Row[] = [];
const detail: string[] = [];
for (const size of [MiB, 64 * MiB]) {
  for (const [name, opts] of [
    ['list', listScenario('correct')], ['map', mapScenario('correct')], ['list 80 ops', listScenario('correct', listOps(80))],
  ] as Array<[string, ExploreOptions]>) {
    const r = rate({ ...opts, size, modes: [...MODES] });
    const label = `${name}, ${size / MiB} MiB`;
    rows.push({ case: `${label}: overall`, backend: 'explore/memory', durability: 'os', opsPerSec: r.overall });
    rows.push({ case: `${label}: exploring`, backend: 'explore/memory', durability: 'os', opsPerSec: r.exploring });
    detail.push(`  ${label}: ${r.states} states over ${r.drains} drains per run; ${r.ms.toFixed(1)} ms per run, of which recording ${r.recordMs.toFixed(1)} ms`);
  }
}
printTable(rows, `crash states explored per second (modes ${MODES.join('/')}, crashes inside recovery; medians of ${RUNS} runs; target ≥ 5,000/s on 1 MiB)`);
console.log(detail.join('\n'));

// ─── 2. scaling with the number of drains ──────────────────────────────────

console.log(`\nscaling with the number of drains (list workloads, 1 MiB, modes ${MODES.join('/')}):`);
console.log('  ops  drains   states  states/drain   ms/run  states/s');
const traces: Array<{ name: string; opts: ExploreOptions; states: number; outer: number }> = [];
for (const n of [10, 20, 40, 80, 160]) {
  const opts: ExploreOptions = { ...listScenario('correct', listOps(n)), modes: [...MODES] };
  const r = rate(opts, 200);
  const rep = explore(opts);
  traces.push({ name: `list, ${n} ops`, opts, states: rep.states, outer: rep.states - rep.recoveryStates });
  console.log(`  ${String(n).padStart(3)}  ${String(r.drains).padStart(6)}  ${String(r.states).padStart(7)}  ${(r.states / r.drains).toFixed(1).padStart(12)}  ${r.ms.toFixed(1).padStart(7)}  ${fmt(r.overall).padStart(8)}`);
}

// ─── 3. vs ReorderFull ──────────────────────────────────────────────────────

/** sum_{l=0..n} n!/(n-l)!: ordered subsets (partial permutations) of n stores. */
function orderedSubsets(n: number): bigint {
  let total = 0n, term = 1n;
  for (let l = 0; l <= n; l++) { total += term; term *= BigInt(n - l); }
  return total;
}
const pow10 = (x: bigint) => { const s = x.toString(); return s.length <= 9 ? Number(x).toLocaleString('en-US') : `${s[0]}.${s.slice(1, 3)}e${s.length - 1}`; };

for (const [name, opts] of [['map, 11 ops', { ...mapScenario('correct'), modes: [...MODES] }]] as Array<[string, ExploreOptions]>) {
  const rep = explore(opts);
  traces.push({ name, opts, states: rep.states, outer: rep.states - rep.recoveryStates });
}
console.log('\nstates explored vs pmreorder ReorderFull on the same trace (computed; stores per drain >= changed 8-byte words):');
console.log('  workload        drains  stores>=  max/drain  ReorderFull>=  explored (outside recovery)  reduction');
for (const t of traces) {
  const trace = recordTrace(t.opts.workload, { setup: t.opts.setup, layout: t.opts.layout });
  const words = changedWordsPerDrain(trace);
  const full = words.reduce((s, n) => s + orderedSubsets(n), 0n);
  const ratio = full / BigInt(Math.max(1, t.states));
  console.log(`  ${t.name.padEnd(14)}  ${String(words.length).padStart(6)}  ${String(words.reduce((a, b) => a + b, 0)).padStart(8)}  ${String(Math.max(...words)).padStart(9)}` +
    `  ${pow10(full).padStart(13)}  ${`${t.states} (${t.outer})`.padStart(27)}  ${pow10(ratio)}×`);
}
