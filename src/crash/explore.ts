// explore.ts — enumerate the states a crash could leave, recover each, check.
//
// The workload runs once on a TracingBackend (trace.ts). Then, for every
// persistence point k (just before drain k completes, and after the last
// drain), the explorer rebuilds the durable image of that moment and derives
// the crash images each mode allows (modes.ts):
//
//   strict   the durable image itself
//   pending  + any subset of the lines drain k was making durable
//   evict    + any subset of those and of the dirty, never-flushed lines
//   tear8    like evict, keeping only some 8-byte words of each line
//   eadr     + everything stored
//
// Subsets are enumerated exhaustively when there are at most
// `exhaustiveLines` candidate lines (default 6, i.e. <= 63 subsets), else
// sampled with `seeds` seeded coin-flip choices. Each image is opened (the
// real recovery runs), checked with pool.check() and the caller's check.
// Identical images are explored once: an image's hash is a sum of per-line
// hashes, so it is updated per changed line instead of rehashing the pool.
// Crashes inside recovery are explored too: recovery's own drains are
// traced and each becomes a crash point (strict and pending) one level deep.
//
// A case is named by (point, mode, choice): `choice` is the seed when
// sampled and the subset mask when exhaustive. PHEAP_REPLAY="k:mode:choice"
// (or opts.replay) explores exactly that case again, byte for byte.

import { Pool } from '../pool.js';
import { Prng, type Seed } from '../prng.js';
import type { CrashMode } from './modes.js';
import { TracingBackend, type LineSet, type Marker, type Trace } from './trace.js';

export interface ExploreOptions {
  /** Pool size (default 1 MiB) and layout name (default 'explore'). */
  size?: number;
  layout?: string;
  /** Seed of the pool's UUID, so runs are byte-identical (default 1). */
  poolSeed?: Seed;
  /** Builds the starting state; not explored. */
  setup?: (pool: Pool) => void;
  /** The operations to crash. Call `mark(label)` when an operation returns. */
  workload: (pool: Pool, mark: (label: string) => void) => void;
  /** Called on every recovered pool; throw to report a bug. `returned` = markers of operations that had returned. */
  check: (pool: Pool, returned: Marker[]) => void;
  /** Default: strict, pending, evict, tear8. */
  modes?: CrashMode[];
  /** Sampled choices per point for pending/evict/tear8 when not exhaustive (default 4). */
  seeds?: number;
  /** Enumerate every subset when a point has at most this many candidate lines (default 6). */
  exhaustiveLines?: number;
  /** Which points: all (default), a seeded sample of n, or the range [from, to]. */
  points?: 'all' | { sample: number; seed?: Seed } | { from: number; to: number };
  /** Also crash inside recovery (default true). */
  recoveryCrashes?: boolean;
  /** Run pool.check() on every recovered pool (default true). */
  heapCheck?: boolean;
  /** Explore only this case: "point:mode:choice" (default: env PHEAP_REPLAY). */
  replay?: string;
  /** Keep going after the first failure (default false: stop at the smallest one). */
  all?: boolean;
  /** Test name, for the replay command in reports. */
  name?: string;
  /** File that runs this exploration, for the replay command. */
  file?: string;
}

export interface CrashCase {
  point: number;
  mode: CrashMode;
  /** Seed (sampled) or subset mask (exhaustive). */
  choice: number;
  exhaustive: boolean;
  /** Lines that survived beyond the durable image. */
  survivors: number[];
  /** Set when the crash happened inside the recovery of `outer`. */
  recoveryPoint?: number;
}

export interface Failure {
  case: CrashCase;
  error: string;
  /** One line that replays exactly this case. */
  replay: string;
}

export interface ExploreReport {
  /** Crash images opened and checked (unique), including those inside recovery. */
  states: number;
  /** Candidate images generated, before removing duplicates. */
  generated: number;
  points: number;
  drains: number;
  recoveryStates: number;
  failures: Failure[];
  ms: number;
  statesPerSecond: number;
}

const LINE = 64;

// ─── image hashing: a sum of per-line hashes, updatable per line ───────────

function lineHash(line: number, bytes: Uint8Array, at: number): [number, number] {
  let a = (0x811c9dc5 ^ line) >>> 0, b = (0x9e3779b9 + line) | 0;
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, LINE);
  for (let i = 0; i < LINE; i += 4) {
    const w = v.getUint32(i, true);
    a = Math.imul(a ^ w, 0x01000193);
    b = Math.imul(b + w, 0x85ebca6b) ^ (b >>> 13);
  }
  return [a >>> 0, b >>> 0];
}

class ImageHash {
  constructor(public a = 0, public b = 0) {}
  static of(image: Uint8Array): ImageHash {
    const h = new ImageHash();
    for (let l = 0; l < image.length / LINE; l++) h.add(l, image, l * LINE, 1);
    return h;
  }
  add(line: number, bytes: Uint8Array, at: number, sign: 1 | -1): void {
    const [x, y] = lineHash(line, bytes, at);
    this.a = (this.a + sign * x) >>> 0;
    this.b = (this.b + sign * y) >>> 0;
  }
  clone(): ImageHash { return new ImageHash(this.a, this.b); }
  key(): string { return `${this.a.toString(16)}.${this.b.toString(16)}`; }
}

// ─── the candidate lines of a point ─────────────────────────────────────────

interface Candidate { line: number; bytes: Uint8Array; at: number }

function candidatesOf(mode: CrashMode, drained: LineSet | undefined, dirty: LineSet | undefined): Candidate[] {
  const out: Candidate[] = [];
  const push = (s: LineSet | undefined) => s?.lines.forEach((line, i) => out.push({ line, bytes: s.bytes, at: i * LINE }));
  if (mode === 'pending') push(drained);
  else if (mode === 'evict' || mode === 'tear8' || mode === 'eadr') { push(drained); push(dirty); }
  return out.sort((x, y) => x.line - y.line);
}

/** One crash image as a list of (candidate, word mask) survivors. */
interface Choice { choice: number; exhaustive: boolean; picks: Array<{ c: Candidate; words: number }> }

function choicesFor(mode: CrashMode, cands: Candidate[], opts: Required<Pick<ExploreOptions, 'seeds' | 'exhaustiveLines'>>, only?: number): Choice[] {
  if (mode === 'strict') return [{ choice: 0, exhaustive: true, picks: [] }];
  if (mode === 'eadr') return [{ choice: 0, exhaustive: true, picks: cands.map((c) => ({ c, words: 0xff })) }];
  if (cands.length === 0) return [];
  const out: Choice[] = [];
  if (mode !== 'tear8' && cands.length <= opts.exhaustiveLines) {
    for (let mask = 1; mask < 1 << cands.length; mask++) {
      if (only !== undefined && mask !== only) continue;
      out.push({ choice: mask, exhaustive: true, picks: cands.filter((_, i) => (mask >>> i) & 1).map((c) => ({ c, words: 0xff })) });
    }
    return out;
  }
  for (let seed = 0; seed < opts.seeds; seed++) {
    if (only !== undefined && seed !== only) continue;
    const rng = new Prng(seed);
    const picks: Choice['picks'] = [];
    for (const c of cands) {
      if (!rng.coin()) continue;
      let words = 0xff;
      if (mode === 'tear8') { words = 0; for (let w = 0; w < 8; w++) if (rng.coin()) words |= 1 << w; }
      if (words) picks.push({ c, words });
    }
    out.push({ choice: seed, exhaustive: false, picks });
  }
  return out;
}

function applyPicks(base: Uint8Array, picks: Choice['picks']): Uint8Array {
  const img = base.slice();
  for (const { c, words } of picks) {
    const at = c.line * LINE;
    if (words === 0xff) img.set(c.bytes.subarray(c.at, c.at + LINE), at);
    else for (let w = 0; w < 8; w++) if ((words >>> w) & 1) img.set(c.bytes.subarray(c.at + w * 8, c.at + w * 8 + 8), at + w * 8);
  }
  return img;
}

function hashWithPicks(base: ImageHash, durable: Uint8Array, picks: Choice['picks']): string {
  if (picks.length === 0) return base.key();
  const h = base.clone();
  const scratch = new Uint8Array(LINE);
  for (const { c, words } of picks) {
    const at = c.line * LINE;
    h.add(c.line, durable, at, -1);
    scratch.set(durable.subarray(at, at + LINE));
    for (let w = 0; w < 8; w++) if ((words >>> w) & 1) scratch.set(c.bytes.subarray(c.at + w * 8, c.at + w * 8 + 8), w * 8);
    h.add(c.line, scratch, 0, 1);
  }
  return h.key();
}

// ─── the explorer ───────────────────────────────────────────────────────────

function record(opts: ExploreOptions, size: number, layout: string, withDirty: boolean): Trace {
  const backend = new TracingBackend(size, withDirty);
  const pool = Pool.create({ backend, size, layout, seed: opts.poolSeed ?? 1 });
  try {
    opts.setup?.(pool);
    backend.start();
    opts.workload(pool, (label) => backend.mark(label));
    return backend.stop();
  } finally {
    pool.close();
  }
}

function selectPoints(spec: ExploreOptions['points'], total: number): number[] {
  const all = Array.from({ length: total }, (_, i) => i);
  if (!spec || spec === 'all') return all;
  if ('sample' in spec) {
    const rng = new Prng(spec.seed ?? 0);
    const picked = new Set<number>();
    while (picked.size < Math.min(spec.sample, total)) picked.add(rng.below(total));
    return [...picked].sort((a, b) => a - b);
  }
  return all.filter((k) => k >= spec.from && k <= spec.to);
}

function parseReplay(s: string | undefined): { point: number; mode: CrashMode; choice: number; recoveryPoint?: number } | undefined {
  if (!s) return undefined;
  const [point, mode, choice, recoveryPoint] = s.split(':');
  return { point: Number(point), mode: mode as CrashMode, choice: Number(choice), recoveryPoint: recoveryPoint === undefined ? undefined : Number(recoveryPoint) };
}

/** Run the workload once, then explore its crash states. Never throws for a failing case: see `failures`. */
export function explore(opts: ExploreOptions): ExploreReport {
  const t0 = performance.now();
  const size = opts.size ?? 1 << 20;
  const layout = opts.layout ?? 'explore';
  const modes = opts.modes ?? ['strict', 'pending', 'evict', 'tear8'];
  const tune = { seeds: opts.seeds ?? 4, exhaustiveLines: opts.exhaustiveLines ?? 6 };
  const replay = parseReplay(opts.replay ?? (typeof process !== 'undefined' ? process.env.PHEAP_REPLAY : undefined));
  const withDirty = modes.some((m) => m === 'evict' || m === 'tear8' || m === 'eadr');
  const trace = record(opts, size, layout, withDirty);
  const report: ExploreReport = { states: 0, generated: 0, points: 0, drains: trace.drains.length, recoveryStates: 0, failures: [], ms: 0, statesPerSecond: 0 };
  const seen = new Set<string>();
  const durable = trace.initial.slice();
  const hash = ImageHash.of(durable);
  const points = new Set(selectPoints(opts.points, trace.drains.length + 1));

  const fail = (c: CrashCase, e: unknown) => {
    const spec = `${c.point}:${c.mode}:${c.choice}${c.recoveryPoint !== undefined ? `:${c.recoveryPoint}` : ''}`;
    const where = opts.file ? `npx vitest run ${opts.file}${opts.name ? ` -t ${JSON.stringify(opts.name)}` : ''}` : 'your test';
    report.failures.push({ case: c, error: e instanceof Error ? e.message : String(e), replay: `PHEAP_REPLAY=${spec} ${where}` });
  };

  for (let k = 0; k <= trace.drains.length; k++) {
    const rec = trace.drains[k];
    if (points.has(k) && (!replay || replay.point === k)) {
      report.points++;
      const markers = trace.markers.filter((m) => m.afterDrains <= k);
      for (const mode of modes) {
        if (replay && replay.mode !== mode) continue;
        const cands = candidatesOf(mode, rec?.drained, rec ? rec.dirty : trace.finalDirty);
        for (const ch of choicesFor(mode, cands, tune, replay?.choice)) {
          report.generated++;
          const key = hashWithPicks(hash, durable, ch.picks);
          if (!replay && seen.has(key)) continue;
          seen.add(key);
          const c: CrashCase = { point: k, mode, choice: ch.choice, exhaustive: ch.exhaustive, survivors: ch.picks.map((p) => p.c.line) };
          const ok = exploreImage(applyPicks(durable, ch.picks), c, markers, opts, layout, report, fail, replay?.recoveryPoint);
          if (!ok && !opts.all) return finish(report, t0);
        }
      }
    }
    if (rec) {
      rec.drained.lines.forEach((line, i) => {
        hash.add(line, durable, line * LINE, -1);
        durable.set(rec.drained.bytes.subarray(i * LINE, (i + 1) * LINE), line * LINE);
        hash.add(line, durable, line * LINE, 1);
      });
    }
  }
  return finish(report, t0);
}

function finish(report: ExploreReport, t0: number): ExploreReport {
  report.ms = performance.now() - t0;
  report.statesPerSecond = report.states / (report.ms / 1000);
  return report;
}

/** Open one image (recovery runs), check it; then crash inside that recovery. False on failure. */
function exploreImage(image: Uint8Array, c: CrashCase, markers: Marker[], opts: ExploreOptions, layout: string,
  report: ExploreReport, fail: (c: CrashCase, e: unknown) => void, onlyRecoveryPoint?: number): boolean {
  const wantRecovery = opts.recoveryCrashes ?? true;
  const original = wantRecovery ? image.slice() : image; // the backend's drains change `image`
  const backend = new TracingBackend(image.length, false, image);
  if (wantRecovery) backend.start(false);
  if (onlyRecoveryPoint === undefined && !verify(backend, c, markers, opts, layout, report, fail)) return false;
  if (!wantRecovery) return true;
  const trace = backend.stop();
  // The last drain of an open only counts the open: crashing there is the image itself.
  const recovery = trace.drains.length > 1 ? trace.drains.slice(0, -1) : [];
  const durable = original;
  for (let r = 0; r < recovery.length; r++) {
    if (onlyRecoveryPoint === undefined || onlyRecoveryPoint === r) {
      for (const mode of ['strict', 'pending'] as CrashMode[]) {
        const cands = candidatesOf(mode, recovery[r].drained, undefined);
        for (const ch of choicesFor(mode, cands, { seeds: 2, exhaustiveLines: 3 })) {
          const inner: CrashCase = { ...c, recoveryPoint: r, survivors: ch.picks.map((p) => p.c.line) };
          report.recoveryStates++;
          if (!verify(new TracingBackend(image.length, false, applyPicks(durable, ch.picks)), inner, markers, opts, layout, report, fail)) return false;
        }
      }
    }
    recovery[r].drained.lines.forEach((line, i) => durable.set(recovery[r].drained.bytes.subarray(i * LINE, (i + 1) * LINE), line * LINE));
  }
  return true;
}

/** One closed pool whose memory and core every verification reuses. */
let shell: Pool | undefined;

function verify(backend: TracingBackend, c: CrashCase, markers: Marker[], opts: ExploreOptions, layout: string,
  report: ExploreReport, fail: (c: CrashCase, e: unknown) => void): boolean {
  report.states++;
  let pool: Pool | null = null;
  try {
    pool = Pool.open({ backend, layout, recycle: shell });
    shell = pool;
    if (opts.heapCheck ?? true) pool.check();
    opts.check(pool, markers);
    return true;
  } catch (e) {
    fail(c, e);
    return false;
  } finally {
    pool?.close();
  }
}

/** A readable account of a report's first failure (or a one-line summary). */
export function formatReport(r: ExploreReport): string {
  const head = `${r.states} crash states (${r.recoveryStates} of them inside recovery) at ${r.points} points over ${r.drains} drains, ${Math.round(r.statesPerSecond)} states/s`;
  if (r.failures.length === 0) return head;
  const f = r.failures[0];
  return `${head}\nFAILED at point ${f.case.point}${f.case.recoveryPoint !== undefined ? ` (inside recovery, at its drain ${f.case.recoveryPoint})` : ''}, ` +
    `mode ${f.case.mode}, ${f.case.exhaustive ? 'subset mask' : 'seed'} ${f.case.choice}, surviving lines [${f.case.survivors.join(', ')}]:\n  ${f.error}\nreplay: ${f.replay}`;
}
