// Pool-file fuzzing: every mutant of a pool's metadata is refused, detected,
// or harmless — never opened with objects silently missing or changed.
//
// Two realistic 1 MiB pools, built with the public API on the memory backend:
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
import { Pool, PheapError, Prng, type AllocOptions } from '../src/index.js';
import { dirListing, sameBytes, sha256File, thrown, useTempDir } from './helpers/pool-files.js';
import {
  IMAGE_NAMES, LINE, MutantRunner, OUTCOMES, applyMutant, contentsDiff, contentsOf, encodeMutants, isFailure, mutantImage, mutantSpec,
  parseMutant, type ImageName, type Mutant, type Outcome,
} from './helpers/mutants.js';
import { REGION_NAMES, metadataRegions, mutantsOf, type MutantGroups, type RegionName, type Region } from './helpers/metadata-regions.js';
import type { FuzzBatch, FuzzJob } from './helpers/fuzz-worker.js';

const SIZE = 1 << 20;
const LAYOUT = 'fuzz';
const ROOT_SIZE = 256; // u32 slots holding the published objects' offsets
const SMALL_SIZES = [24, 100, 200, 500, 6000, 20000]; // six run classes (the root's is a seventh); 3 of each fill the last's run
const LARGE = { L1: 100 << 10, L2: 40 << 10, L3: 48 << 10 }; // 2 chunks align64, 1 chunk, 1 chunk align64
/** A region with at most WHOLE_UP_TO mutants is fuzzed whole; a bigger one by a seeded sample of SAMPLE_CAP. */
const WHOLE_UP_TO = 3000;
const SAMPLE_CAP = 1000;
const FILE_SAMPLE_PER_REGION = 3;
/** Failure lines printed in full up to MAX_LINES; past it, LINES_PER_REGION per image and region. */
const MAX_LINES = 10_000;
const LINES_PER_REGION = 100;
/** A mutant whose open has not returned after this long is a hang. */
const HANG_MS = 20_000;

const SEED = process.env.PHEAP_FUZZ_SEED ?? '1';
const ALL = process.env.PHEAP_FUZZ_ALL === '1';
const REPLAY = process.env.PHEAP_FUZZ_REPLAY;
const DEBUG = process.env.PHEAP_CORE === 'debug';
const REPO = fileURLToPath(new URL('..', import.meta.url));
const tmp = useTempDir('pheap-fuzz-');

// ─── the workload ─────────────────────────────────────────────────────────

class Rollback extends Error {}

/** A seeded workload on one pool; every object it keeps is published in a root slot. */
class Workload {
  readonly root: number;
  readonly large: number[] = [];
  /** Extension blocks seen in use during the history (the big transaction's). */
  extensionsUsed = 0;
  private slots = 0;

  constructor(readonly pool: Pool, readonly rng: Prng) {
    this.root = pool.root(ROOT_SIZE);
  }

  random(len: number): Uint8Array { return this.rng.bytes(new Uint8Array(len)); }
  private slot(k: number): number { return this.root + 4 * k; }
  private nextSlot(): number { return this.slot(this.slots++); }

  /** Allocate, publish (atomically, with `into`), fill with random bytes. */
  publish(size: number, opts: AllocOptions): number {
    const off = this.pool.alloc(size, { ...opts, into: this.nextSlot() });
    this.pool.writeBytes(off, this.random(size));
    this.pool.persist(off, size);
    return off;
  }

  /** Published small objects still live, as [slot, offset]. */
  private liveSmall(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let k = 0; k < this.slots; k++) {
      const off = this.pool.readU32(this.slot(k));
      if (off !== 0 && !this.large.includes(off)) out.push([k, off]);
    }
    return out;
  }

  private pickSmall(): [number, number] {
    const live = this.liveSmall();
    return live[this.rng.below(live.length)];
  }

  /** Free a published small object, clearing its slot atomically. */
  freeOne(): void {
    const [k, off] = this.pickSmall();
    this.pool.free(off, { from: this.slot(k) });
  }

  /** Random bytes into a random part of a random small object; returns the range. */
  private edit(write: (off: number, bytes: Uint8Array) => void): [number, number] {
    const [, off] = this.pickSmall();
    const size = this.pool.sizeOf(off);
    const at = this.rng.below(size);
    const bytes = this.random(Math.min(size - at, 1 + this.rng.below(64)));
    write(off + at, bytes);
    return [off + at, bytes.length];
  }

  /** A committed transaction: two edits, an allocation published in a slot, a free. */
  editTx(): void {
    this.pool.tx((tx) => {
      for (let i = 0; i < 2; i++) this.edit((off, b) => tx.setBytes(off, b));
      const size = SMALL_SIZES[this.rng.below(SMALL_SIZES.length)];
      const off = tx.alloc(size, { type: 1 + this.rng.below(5) });
      tx.setBytes(off, this.random(size));
      tx.setU32(this.nextSlot(), off);
      const [k, gone] = this.pickSmall();
      tx.setU32(this.slot(k), 0);
      tx.free(gone);
    });
  }

  /** A committed transaction logging more than the fixed log holds: extension blocks. */
  bigTx(off: number, len: number): void {
    const link = this.pool.layoutInfo().logOffset + 8;
    this.pool.tx((tx) => {
      tx.addRange(off, len);
      this.pool.writeBytes(off, this.random(len));
      if (this.pool.readU32(link) !== 0) this.extensionsUsed++;
    });
  }

  /** Two aborted transactions: one by a throw, one by abortTx(). */
  aborts(): void {
    expect(thrown(() => this.pool.tx((tx) => {
      this.edit((off, b) => tx.setBytes(off, b));
      tx.alloc(SMALL_SIZES[0]);
      throw new Rollback();
    }))).toBeInstanceOf(Rollback);
    this.pool.beginTx();
    this.edit((off, b) => { this.pool.addRange(off, b.length); this.pool.writeBytes(off, b); });
    this.pool.abortTx();
  }

  /**
   * The crash image of a transaction caught after its snapshots and its new
   * data were made durable (the transaction is then aborted).
   */
  crashMidTx(): Uint8Array {
    let image: Uint8Array | undefined;
    expect(thrown(() => this.pool.tx((tx) => {
      const ranges: Array<[number, number]> = this.large.slice(1).map((off) => [off, this.pool.sizeOf(off)]);
      for (const [off, len] of ranges) { tx.addRange(off, len); this.pool.writeBytes(off, this.random(len)); }
      for (let i = 0; i < 3; i++) ranges.push(this.edit((off, b) => tx.setBytes(off, b)));
      tx.free(this.pickSmall()[1]);
      tx.alloc(SMALL_SIZES[1], { type: 3 });
      for (const [off, len] of ranges) this.pool.flush(off, len);
      this.pool.drain();
      image = this.pool.crashImage({ mode: 'strict' });
      throw new Rollback();
    }))).toBeInstanceOf(Rollback);
    return image!;
  }
}

interface Images { bases: Map<ImageName, Uint8Array>; extensionsUsed: number }

function buildImages(seed: string): Images {
  const pool = Pool.create({ size: SIZE, layout: LAYOUT, seed: `fuzz:${seed}` });
  const w = new Workload(pool, new Prng(`fuzz-workload:${seed}`));
  for (const size of SMALL_SIZES) for (let k = 0; k < 3; k++) w.publish(size, { type: 1 + w.rng.below(5) });
  w.large.push(w.publish(LARGE.L1, { type: 8, align64: true }), w.publish(LARGE.L2, { type: 9 }), w.publish(LARGE.L3, { type: 10, align64: true }));
  pool.free(pool.alloc(150 << 10, { type: 11 })); // three chunks used, then free again
  for (let i = 0; i < 4; i++) w.freeOne();
  for (let i = 0; i < 6; i++) w.editTx();
  w.bigTx(w.large[0], LARGE.L1);
  w.aborts();
  w.editTx();
  const a = pool.durableImage();
  const b = w.crashMidTx();
  pool.close();
  return { bases: new Map([['A', a], ['B', b]]), extensionsUsed: w.extensionsUsed };
}

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

function plan(targets: Map<ImageName, Target>, rng: Prng): { planned: Planned[]; total: number } {
  const planned: Planned[] = [];
  let total = 0;
  for (const t of targets.values()) {
    for (const [region, list] of t.groups) {
      total += list.length;
      for (const mutant of ALL || list.length <= WHOLE_UP_TO ? list : sample(list, SAMPLE_CAP, rng)) planned.push({ mutant, region });
    }
  }
  return { planned, total };
}

/** The replayed mutants, each with the region it hits. */
function replayPlan(targets: Map<ImageName, Target>, specs: string): Planned[] {
  return specs.split(',').map((spec) => {
    const mutant = parseMutant(spec);
    const key = mutantSpec(mutant);
    for (const [region, list] of targets.get(mutant.image)!.groups) {
      if (list.some((m) => mutantSpec(m) === key)) return { mutant, region };
    }
    throw new Error(`${spec} mutates no metadata byte of image ${mutant.image}`);
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
      if (Date.now() - since < hangMs) return;
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

const pad = (s: string | number, n: number) => String(s).padStart(n);

function reportTable(planned: Planned[], results: Results, totals: Map<string, number>): string {
  const count = new Map<string, number[]>();
  planned.forEach((p, i) => {
    const key = `${p.mutant.image} ${p.region}`;
    const row = count.get(key) ?? count.set(key, new Array(OUTCOMES.length).fill(0)).get(key)!;
    row[results.outcomes[i]]++;
  });
  const head = `${'image region'.padEnd(22)}${pad('mutants', 8)}${pad('opened', 8)}${OUTCOMES.map((o) => pad(o, Math.max(o.length, 6) + 2)).join('')}`;
  const lines = [head];
  const sum = new Array(OUTCOMES.length).fill(0);
  for (const image of IMAGE_NAMES) {
    for (const region of REGION_NAMES) {
      const row = count.get(`${image} ${region}`);
      if (!row) continue;
      row.forEach((n, k) => { sum[k] += n; });
      lines.push(`${`${image} ${region}`.padEnd(22)}${pad(totals.get(`${image} ${region}`) ?? 0, 8)}${pad(row.reduce((a, b) => a + b), 8)}${row.map((n, k) => pad(n, Math.max(OUTCOMES[k].length, 6) + 2)).join('')}`);
    }
  }
  lines.push(`${'total'.padEnd(22)}${pad([...totals.values()].reduce((a, b) => a + b, 0), 8)}${pad(planned.length, 8)}${sum.map((n, k) => pad(n, Math.max(OUTCOMES[k].length, 6) + 2)).join('')}`);
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
    const all = plan(targets, rng);
    planned = REPLAY ? replayPlan(targets, REPLAY) : all.planned;
    const totals = new Map<string, number>();
    for (const [image, t] of targets) for (const [region, list] of t.groups) totals.set(`${image} ${region}`, list.length);
    results = await runAll(await bundleWorker(), images.bases, planned);
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    const errors = [...results.errors.entries()].sort().map(([k, n]) => `${k} ${n}`).join(', ');
    console.log([
      `pool-file fuzzing: ${planned.length} of ${all.total} mutants opened in ${secs} s (${REPLAY ? 'replay' : ALL ? 'all' : `regions of more than ${WHOLE_UP_TO} sampled to ${SAMPLE_CAP}; PHEAP_FUZZ_ALL=1 for all`})`,
      `reproduce: PHEAP_FUZZ_SEED=${SEED}${ALL ? ' PHEAP_FUZZ_ALL=1' : ''} npx vitest run test/fuzz.test.ts`,
      reportTable(planned, results, totals),
      `refusals and detections by error class: ${errors}`,
      `failures by kind:`,
      ...failureKinds(planned, results),
      ...printedFailureLines(planned, results),
    ].join('\n'));
  }, ALL ? 6 * 3600_000 : 120_000);

  it('the images: A clean, B mid-transaction with entries to roll back (one in an extension block) back to exactly A', () => {
    const a = targets.get('A')!;
    const b = targets.get('B')!;
    expect(regionCount(a, 'run bitmaps'), 'runs of seven size classes').toBeGreaterThanOrEqual(7);
    expect(regionCount(a, 'large heads'), 'three large objects').toBe(3);
    expect(images.extensionsUsed, 'the big transaction used an extension block').toBeGreaterThan(0);
    expect([regionCount(a, 'log entry headers'), a.rolledBack, regionCount(a, 'log extension')]).toEqual([0, 0, 0]);
    expect(regionCount(b, 'log extension'), 'extension blocks in use in B').toBe(1);
    expect(regionCount(b, 'log entry headers')).toBeGreaterThan(3);
    expect(b.rolledBack, 'every valid entry found is rolled back').toBe(regionCount(b, 'log entry headers'));
    const runner = new MutantRunner(images.bases, LAYOUT, DEBUG);
    const pool = Pool.open({ image: images.bases.get('B')!.slice(), layout: LAYOUT });
    expect(contentsDiff(pool, runner.expected.get('A')!)).toBeNull();
    expect(contentsOf(pool).objects.length).toBeGreaterThan(15);
    pool.close();
    for (const [name, t] of targets) {
      const found = new Set(t.regions.filter((r) => r.end > r.start).map((r) => r.name));
      const want = REGION_NAMES.filter((r) => r !== 'truncation' && (name === 'B' || !r.startsWith('log e')));
      expect([...found].sort(), `regions of ${name}`).toEqual([...want].sort());
    }
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
      byRegion.set(key, [...(byRegion.get(key) ?? []), p.mutant]);
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
    const few = planned.slice(0, 6);
    const r = await runAll(script, images.bases, few, 400);
    expect([...r.outcomes].map((o) => OUTCOMES[o])).toEqual(['harmless', 'harmless', 'harmless', 'hang', 'harmless', 'harmless']);
    expect([...r.failures]).toEqual([[3, 'spun']]);
  });

  it('every spec names its mutant exactly, and every mutant differs from its base', () => {
    const work = new Map([...images.bases].map(([n, b]) => [n, b.slice()]));
    for (const { mutant: m } of planned) {
      expect(parseMutant(mutantSpec(m))).toEqual(m);
      const base = images.bases.get(m.image)!;
      const w = work.get(m.image)!;
      const img = applyMutant(w, m);
      const differs = m.kind === 'trunc' ? img.length < base.length : !sameBytes(w.subarray(m.at, m.at + LINE), base.subarray(m.at, m.at + LINE));
      expect(differs, mutantSpec(m)).toBe(true);
      w.set(base.subarray(m.at, m.at + LINE), m.at);
    }
    expect(isFailure('silent loss') && isFailure('hang') && !isFailure('harmless')).toBe(true);
  });
});
