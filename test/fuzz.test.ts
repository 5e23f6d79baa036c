// Pool-file fuzzing: every mutant of a pool's metadata is refused, detected,
// or harmless — never opened with objects silently missing or changed.
//
// Two realistic pools, built with the public API on the memory backend,
// created at 256 KiB and grown twice by the workload (region tables):
//   A  the durable image after a seeded workload (clean);
//   B  a crash image in the middle of a transaction whose snapshots and
//      modified data are durable: recovery rolls entries back, one of them
//      from a log extension block.
// Their metadata (helpers/metadata-regions.ts) is mutated byte by byte, bit
// by bit, line by line, and truncated. Every mutant is opened in a watched
// worker (helpers/fuzz-worker.ts) and classified (helpers/mutants.ts):
//   refused   Pool.open throws a PheapError; the image is byte-identical
//   detected  it opens and pool.check() throws a PheapError
//   harmless  it opens, check() passes, and the contents equal the original's
//             (root word; each live object's offset, type, size, payload)
//   failure   silent loss (anything else), written on refusal, raw exception,
//             trap, hang
// Asserted: no failure of any kind. A sample of refused mutants also goes
// through the file backend: same error, file byte-identical, no lock left.
//
// Bounded: an image's region with more than WHOLE_UP_TO mutants is fuzzed by
// a seeded sample of SAMPLE_CAP of them.
// PHEAP_FUZZ_ALL=1 opens every mutant; PHEAP_FUZZ_SEED=<n> changes the
// workload, the sample and the random byte values; PHEAP_FUZZ_REPLAY=<spec>,...
// opens just those mutants (specs are printed with every failure).

import { beforeAll, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { CHUNK_SIZE, Pool, PheapError, Prng } from '../src/index.js';
import { dirListing, sameBytes, sha256File, thrown, useTempDir } from './helpers/pool-files.js';
import {
  IMAGE_NAMES, LINE, MutantRunner, OUTCOMES, applyMutant, contentsDiff, contentsOf, encodeMutants, isFailure, mutantImage, mutantSpec,
  parseMutant, type ImageName, type Mutant, type Outcome,
} from './helpers/mutants.js';
import { CLASS_STRIDES, REGION_NAMES, RUN_DATA, metadataRegions, runSlots, mutantsOf, type MutantGroups, type RegionName, type Region } from './helpers/metadata-regions.js';
import type { FuzzBatch, FuzzJob } from './helpers/fuzz-worker.js';
import { LAYOUT, buildImages, type Images } from './helpers/fuzz-images.js';

/** A region with at most WHOLE_UP_TO mutants is fuzzed whole; a bigger one by a seeded sample of SAMPLE_CAP. */
const WHOLE_UP_TO = 3500;
const SAMPLE_CAP = 600;
const FILE_SAMPLE_PER_REGION = 3;
/** Failure lines printed in full up to MAX_LINES; past it, LINES_PER_REGION per image and region. */
const MAX_LINES = 10_000;
const LINES_PER_REGION = 100;
/** A mutant whose open has not returned after this long is a hang. */
const HANG_MS = 20_000;
/** A worker that has not reached its first mutant after this long (loading, opening the bases) is stuck. */
const STARTUP_MS = 60_000;

const SEED = process.env.PHEAP_FUZZ_SEED ?? '1';
const ALL = process.env.PHEAP_FUZZ_ALL === '1';
const REPLAY = process.env.PHEAP_FUZZ_REPLAY;
const DEBUG = process.env.PHEAP_CORE === 'debug';
const REPO = fileURLToPath(new URL('..', import.meta.url));
const tmp = useTempDir('pheap-fuzz-');

// ─── regions, mutants, the sample ─────────────────────────────────────────

interface Target { regions: Region[]; groups: MutantGroups; rolledBack: number }

const regionCount = (t: Target, name: RegionName) => t.regions.filter((r) => r.name === name).length;

function targetOf(name: ImageName, base: Uint8Array, rng: Prng): Target {
  const pool = Pool.open({ image: base.slice(), layout: LAYOUT });
  const regions = metadataRegions(base, pool);
  const t = { regions, groups: mutantsOf(name, base, regions, pool.layoutInfo().heapOffset, rng), rolledBack: pool.stats().recovery.entriesRolledBack };
  pool.close();
  return t;
}

/** `cap` mutants of `list` chosen by `rng` (all of them if there are no more), in list order. */
function sample<T>(list: T[], cap: number, rng: Prng): T[] {
  if (list.length <= cap) return list;
  const idx = list.map((_, i) => i);
  for (let i = 0; i < cap; i++) {
    const j = i + rng.below(idx.length - i);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, cap).sort((x, y) => x - y).map((i) => list[i]);
}

interface Planned { mutant: Mutant; region: RegionName }

/** Every mutant (PHEAP_FUZZ_ALL=1), or each region whole when small and sampled when big. */
function plan(targets: Map<ImageName, Target>, rng: Prng): Planned[] {
  const planned: Planned[] = [];
  for (const t of targets.values()) {
    for (const [region, list] of t.groups) {
      for (const mutant of ALL || list.length <= WHOLE_UP_TO ? list : sample(list, SAMPLE_CAP, rng)) planned.push({ mutant, region });
    }
  }
  return planned;
}

/** The replayed mutants, each with the region it hits (any value may replace a 'set' mutant's). */
function replayPlan(targets: Map<ImageName, Target>, specs: string): Planned[] {
  return specs.split(',').map((spec) => {
    const mutant = parseMutant(spec);
    for (const [region, list] of targets.get(mutant.image)!.groups) {
      if (list.some((m) => m.kind === mutant.kind && m.at === mutant.at)) return { mutant, region };
    }
    throw new Error(`${spec} is not a mutant of image ${mutant.image}'s metadata`);
  });
}

// ─── running the mutants in a watched worker ──────────────────────────────

interface Results { outcomes: Uint8Array; failures: Map<number, string>; errors: Map<string, number> }

async function bundleWorker(): Promise<string> {
  const out = path.join(tmp.dir, 'fuzz-worker.mjs');
  await build({
    entryPoints: [path.join(REPO, 'test/helpers/fuzz-worker.ts')],
    bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out, logLevel: 'silent',
  });
  return out;
}

function merge(into: Results, b: FuzzBatch): void {
  into.outcomes.set(b.outcomes, b.from);
  for (const [i, detail] of b.failures) into.failures.set(i, detail);
  for (const [k, n] of Object.entries(b.errors)) into.errors.set(k, (into.errors.get(k) ?? 0) + n);
}

/**
 * One worker from `job.from` on; resolves with the index of the mutant whose
 * open did not return within `hangMs`, or null when the worker finished.
 */
function watchWorker(script: string, job: FuzzJob, hangMs: number, onBatch: (b: FuzzBatch) => void): Promise<number | null> {
  return new Promise((resolve, reject) => {
    Atomics.store(job.progress, 0, job.from - 1);
    const worker = new Worker(script, { workerData: job });
    let settled = false;
    let last = job.from - 1;
    let since = Date.now();
    const finish = (hung: number | null, error?: unknown) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      if (error) reject(error); else resolve(hung);
    };
    const timer = setInterval(() => {
      const at = Atomics.load(job.progress, 0);
      if (at !== last) { last = at; since = Date.now(); return; }
      if (Date.now() - since < (at < job.from ? Math.max(hangMs, STARTUP_MS) : hangMs)) return;
      void worker.terminate();
      finish(at, at < job.from ? new Error('the fuzz worker hung before its first mutant') : undefined);
    }, Math.min(250, hangMs / 4));
    worker.on('message', (b: FuzzBatch) => { if (!settled) onBatch(b); });
    worker.on('error', (e) => finish(null, e));
    worker.on('exit', () => finish(null));
  });
}

/** Every planned mutant's verdict; a mutant that hangs is recorded, and a new worker goes on after it. */
async function runAll(script: string, bases: Map<ImageName, Uint8Array>, planned: Planned[], hangMs = HANG_MS): Promise<Results> {
  const results: Results = { outcomes: new Uint8Array(planned.length).fill(0xff), failures: new Map(), errors: new Map() };
  const mutants = encodeMutants(planned.map((p) => p.mutant));
  const wasm = path.join(REPO, 'build', DEBUG ? 'pheap.debug.wasm' : 'pheap.wasm');
  const hangs: number[] = [];
  let from = 0;
  while (from < planned.length) {
    const progress = new Int32Array(new SharedArrayBuffer(4));
    const job: FuzzJob = { wasm, debug: DEBUG, layout: LAYOUT, bases: IMAGE_NAMES.map((n) => bases.get(n)!), mutants, from, hangs, progress };
    const hung = await watchWorker(script, job, hangMs, (b) => { merge(results, b); from = b.from + b.outcomes.length; });
    if (hung !== null) hangs.push(hung);
    else if (from < planned.length) throw new Error(`the fuzz worker stopped at mutant ${from} of ${planned.length}`);
  }
  return results;
}

// ─── the report ───────────────────────────────────────────────────────────

const WIDTHS = OUTCOMES.map((o) => Math.max(o.length, 6) + 2);
const sum = (ns: number[]) => ns.reduce((a, b) => a + b, 0);

function tableRow(label: string, cells: Array<string | number>, counts: Array<string | number>): string {
  return label.padEnd(22) + cells.map((c) => String(c).padStart(9)).join('') + counts.map((c, k) => String(c).padStart(WIDTHS[k])).join('');
}

/** Outcomes per image and region: how many mutants the region has, how many were run, and each outcome's count. */
function reportTable(planned: Planned[], results: Results, totals: Map<string, number>): string {
  const count = new Map<string, number[]>();
  planned.forEach((p, i) => {
    const key = `${p.mutant.image} ${p.region}`;
    if (!count.has(key)) count.set(key, new Array(OUTCOMES.length).fill(0));
    count.get(key)![results.outcomes[i]]++;
  });
  const lines = [tableRow('image region', ['mutants', 'run'], [...OUTCOMES])];
  for (const image of IMAGE_NAMES) {
    for (const region of REGION_NAMES) {
      const key = `${image} ${region}`;
      const row = count.get(key);
      if (row) lines.push(tableRow(key, [totals.get(key)!, sum(row)], row));
    }
  }
  const byOutcome = OUTCOMES.map((_, k) => sum([...count.values()].map((row) => row[k])));
  lines.push(tableRow('total', [sum([...totals.values()]), planned.length], byOutcome));
  return lines.join('\n');
}

/** Failures per image, region, outcome and kind (the detail's first words, before ':'). */
function failureKinds(planned: Planned[], results: Results): string[] {
  const count = new Map<string, number>();
  for (const [i, detail] of results.failures) {
    const key = `${planned[i].mutant.image} ${planned[i].region}: ${OUTCOMES[results.outcomes[i]]}, ${detail.split(':')[0]}`;
    count.set(key, (count.get(key) ?? 0) + 1);
  }
  return [...count].sort().map(([k, n]) => `  ${k}: ${n}`);
}

/** One line per failure, in plan order: its spec (PHEAP_FUZZ_REPLAY takes it), region, outcome, what happened. */
function failureLines(planned: Planned[], results: Results): Array<{ outcome: Outcome; region: string; line: string }> {
  return [...results.failures.entries()].sort((x, y) => x[0] - y[0]).map(([i, detail]) => {
    const { mutant, region } = planned[i];
    const outcome = OUTCOMES[results.outcomes[i]];
    return { outcome, region: `${mutant.image} ${region}`, line: `PHEAP_FUZZ_REPLAY=${mutantSpec(mutant)}  # ${mutant.image} ${region}: ${outcome}: ${detail}` };
  });
}

/** Every failure line, or (past MAX_LINES) the first LINES_PER_REGION of each image and region. */
function printedFailureLines(planned: Planned[], results: Results): string[] {
  const lines = failureLines(planned, results);
  if (lines.length <= MAX_LINES) return lines.map((l) => l.line);
  const shown = new Map<string, number>();
  const out = lines.filter((l) => shown.set(l.region, (shown.get(l.region) ?? 0) + 1).get(l.region)! <= LINES_PER_REGION);
  return [...out.map((l) => l.line), `... and ${lines.length - out.length} more (the first ${LINES_PER_REGION} of each image and region are shown)`];
}

/** The whole printed report: what ran, how to run it again, the table, error classes, failures. */
function reportText(targets: Map<ImageName, Target>, planned: Planned[], results: Results, secs: number): string {
  const totals = new Map<string, number>();
  for (const [image, t] of targets) for (const [region, list] of t.groups) totals.set(`${image} ${region}`, list.length);
  const how = REPLAY ? 'replay' : ALL ? 'all' : `regions of more than ${WHOLE_UP_TO} sampled to ${SAMPLE_CAP}; PHEAP_FUZZ_ALL=1 for all`;
  const errors = [...results.errors.entries()].sort().map(([k, n]) => `${k} ${n}`).join(', ');
  return [
    `pool-file fuzzing: ${planned.length} of ${sum([...totals.values()])} mutants opened in ${secs.toFixed(1)} s (${how})`,
    `reproduce: PHEAP_FUZZ_SEED=${SEED}${ALL ? ' PHEAP_FUZZ_ALL=1' : ''} npx vitest run test/fuzz.test.ts`,
    reportTable(planned, results, totals),
    `refusals and detections by error class: ${errors}`,
    'failures by kind:',
    ...failureKinds(planned, results),
    ...printedFailureLines(planned, results),
  ].join('\n');
}

// ─── the tests ────────────────────────────────────────────────────────────

describe(`pool-file fuzzing (PHEAP_FUZZ_SEED=${SEED}${ALL ? ', PHEAP_FUZZ_ALL=1' : ''})`, () => {
  let images: Images;
  let targets: Map<ImageName, Target>;
  let planned: Planned[];
  let results: Results;

  beforeAll(async () => {
    const t0 = performance.now();
    images = buildImages(SEED);
    const rng = new Prng(`fuzz-mutants:${SEED}`);
    targets = new Map(IMAGE_NAMES.map((n) => [n, targetOf(n, images.bases.get(n)!, rng)]));
    planned = REPLAY ? replayPlan(targets, REPLAY) : plan(targets, rng);
    results = await runAll(await bundleWorker(), images.bases, planned);
    console.log(reportText(targets, planned, results, (performance.now() - t0) / 1000));
  }, ALL ? 6 * 3600_000 : 120_000);

  it('the images: A clean, B mid-transaction with entries to roll back (one in an extension block) back to exactly A', () => {
    const a = targets.get('A')!;
    const b = targets.get('B')!;
    expect(regionCount(a, 'run bitmaps'), 'runs of seven size classes').toBeGreaterThanOrEqual(7);
    expect(regionCount(a, 'large heads'), 'three large objects').toBe(3);
    expect(images.extensionsUsed, 'the big transaction used an extension block').toBeGreaterThan(0);
    expect(regionCount(a, 'region tables'), 'the pool grew at least twice').toBeGreaterThanOrEqual(2);
    // A's log holds no entry, but keeps the extension block the big transaction linked (reused by the next big one).
    expect([regionCount(a, 'log entry headers'), a.rolledBack, regionCount(a, 'log extension')]).toEqual([0, 0, 1]);
    expect(regionCount(b, 'log extension'), 'extension blocks in use in B').toBe(1);
    expect(regionCount(b, 'log entry headers')).toBeGreaterThan(3);
    expect(b.rolledBack, 'every valid entry found is rolled back').toBe(regionCount(b, 'log entry headers'));
    const [poolA, poolB] = IMAGE_NAMES.map((n) => Pool.open({ image: images.bases.get(n)!.slice(), layout: LAYOUT }));
    poolB.check();
    expect(contentsOf(poolA).objects.length).toBeGreaterThan(15);
    expect(contentsDiff(poolB, contentsOf(poolA)), 'B recovered').toBeNull();
    poolA.close();
    poolB.close();
    for (const [name, t] of targets) {
      const found = new Set(t.regions.filter((r) => r.end > r.start).map((r) => r.name));
      const want = REGION_NAMES.filter((r) => r !== 'truncation' && (name === 'B' || !r.startsWith('log entry')));
      expect([...found].sort(), `regions of ${name}`).toEqual([...want].sort());
    }
  });

  it('the size classes the bitmap regions rest on mirror the core: each class\'s stride and slots per run', () => {
    const pool = Pool.create({ size: 6 << 20, layout: LAYOUT });
    const { heapOffset } = pool.layoutInfo();
    CLASS_STRIDES.forEach((stride, cls) => {
      const slots = runSlots(cls);
      const offs = Array.from({ length: slots + 1 }, () => pool.alloc(stride - 16));
      const chunk = offs[0] - ((offs[0] - heapOffset) % CHUNK_SIZE);
      expect(offs.slice(0, slots), `class ${cls}`).toEqual(offs.slice(0, slots).map((_, i) => chunk + RUN_DATA + i * stride + 16));
      expect(pool.usableSize(offs[0]), `class ${cls}`).toBe(stride - 16);
      expect(offs[slots] - chunk, `class ${cls}: slot ${slots} starts a new run`).toBeGreaterThanOrEqual(CHUNK_SIZE);
    });
    pool.close();
  });

  it('no mutant is answered with a raw exception, a trap, a hang, or a write to a pool it refuses', () => {
    expect(results.outcomes.includes(0xff), 'every mutant has a verdict').toBe(false);
    const bad = failureLines(planned, results).filter((l) => l.outcome !== 'silent loss').map((l) => l.line);
    expect(bad, `${bad.length} mutants (lines above)`).toEqual([]);
  });

  it('no mutant is a silent loss: opened, passing check(), with different contents', () => {
    const silent = failureLines(planned, results).filter((l) => l.outcome === 'silent loss');
    expect(silent.length, `${silent.length} silent losses (one reproduction per line above)`).toBe(0);
  });

  it('refused mutants through the file backend: the same error, the file byte-identical, no lock left', () => {
    const runner = new MutantRunner(images.bases, LAYOUT, DEBUG);
    const rng = new Prng(`fuzz-file:${SEED}`);
    const byRegion = new Map<string, Mutant[]>();
    planned.forEach((p, i) => {
      if (OUTCOMES[results.outcomes[i]] !== 'refused') return;
      const key = `${p.mutant.image} ${p.region}`;
      const list = byRegion.get(key);
      if (list) list.push(p.mutant); else byRegion.set(key, [p.mutant]);
    });
    const picked = [...byRegion.values()].flatMap((list) => sample(list, FILE_SAMPLE_PER_REGION, rng));
    if (!REPLAY) expect(picked.length).toBeGreaterThan(20);
    for (const m of picked) {
      const memory = runner.run(m);
      const file = tmp.file('mutant');
      fs.writeFileSync(file, mutantImage(images.bases.get(m.image)!, m));
      const before = sha256File(file);
      const listing = dirListing(tmp.dir);
      const e = thrown(() => Pool.open({ backend: 'file', path: file, layout: LAYOUT, durability: 'os' }).close());
      const label = mutantSpec(m);
      expect(memory.outcome, label).toBe<Outcome>('refused');
      expect(e, label).toBeInstanceOf(PheapError);
      expect((e as PheapError).name, label).toBe(memory.detail);
      expect(sha256File(file), `${label}: file modified`).toBe(before);
      expect(dirListing(tmp.dir), `${label}: files added or removed`).toEqual(listing);
      fs.rmSync(file);
    }
  });

  it('a worker that hangs is stopped, its mutant recorded as a hang, and a new worker goes on after it', async () => {
    // A stand-in worker speaking the same protocol, which spins forever on mutant 3 (unless told it hung).
    const script = path.join(tmp.dir, 'hanging-worker.mjs');
    fs.writeFileSync(script, `
      import { parentPort, workerData } from 'node:worker_threads';
      const { mutants, from, hangs, progress } = workerData;
      for (let i = from; i < mutants.length / 4; i++) {
        Atomics.store(progress, 0, i);
        if (i === 3 && !hangs.includes(i)) for (;;);
        const hang = hangs.includes(i);
        parentPort.postMessage({ from: i, outcomes: Uint8Array.of(hang ? ${OUTCOMES.indexOf('hang')} : ${OUTCOMES.indexOf('harmless')}),
          failures: hang ? [[i, 'spun']] : [], errors: {} });
      }`);
    const few = Array.from({ length: 6 }, (_, at): Planned => ({ mutant: { image: 'A', kind: 'xor', at, arg: 0xff }, region: 'header' }));
    const r = await runAll(script, images.bases, few, 400);
    expect([...r.outcomes].map((o) => OUTCOMES[o])).toEqual(['harmless', 'harmless', 'harmless', 'hang', 'harmless', 'harmless']);
    expect([...r.failures]).toEqual([[3, 'spun']]);
  });

  it('every spec names its mutant exactly, and every mutant differs from its base', () => {
    const work = new Map([...images.bases].map(([n, b]) => [n, b.slice()]));
    const differs = (m: Mutant) => {
      const base = images.bases.get(m.image)!;
      const w = work.get(m.image)!;
      const img = applyMutant(w, m);
      const changed = m.kind === 'trunc' ? img.length < base.length : !sameBytes(w.subarray(m.at, m.at + LINE), base.subarray(m.at, m.at + LINE));
      w.set(base.subarray(m.at, m.at + LINE), m.at);
      return changed;
    };
    const misnamed = planned.filter(({ mutant }) => JSON.stringify(parseMutant(mutantSpec(mutant))) !== JSON.stringify(mutant));
    const noops = planned.filter(({ mutant }) => !differs(mutant));
    expect(misnamed.map((p) => mutantSpec(p.mutant))).toEqual([]);
    expect(noops.map((p) => mutantSpec(p.mutant))).toEqual([]);
    expect(isFailure('silent loss') && isFailure('hang') && !isFailure('harmless')).toBe(true);
  });
});
