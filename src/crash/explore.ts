// explore.ts — enumerate the states a crash could leave, recover each, check;
// then (depth ≥ 2) go on from recovered states and crash again.
//
// The workload runs once on a TracingBackend (trace.ts). Then, for every
// persistence point k — just before drain k completes, i.e. between the
// flushes and the fence, and once more after the last drain — the explorer
// derives the crash images each mode allows (modes.ts):
//
//   strict   the durable image of that moment
//   pending  + a subset of the lines drain k was making durable
//   evict    + a subset of those and of the dirty, never-flushed lines
//   tear8    like evict, keeping only some aligned 8-byte words of each line
//   eadr     + everything stored
//
// Exhaustive or sampled: a point whose mode has at most `exhaustiveLines`
// candidate lines (default 6: "small") gets every non-empty subset (at most
// 63 images); above that, `seeds` seeded subsets (default 4). tear8 is always
// sampled (each line alone has 255 word subsets). Every choice comes from a
// Prng seeded with (seed, point, mode, sample), so a run is reproducible.
//
// Each image is opened — the real recovery runs — then the caller's
// `recover` (user-level recovery), pool.check() and the caller's `check`.
// Identical states are explored once: a state is named by its image — a
// 64-bit hash that is a sum of per-line hashes (hash.ts), updated per
// changed line — together with the markers its check receives (the same
// image with more acknowledged operations is a different question).
// Crashes inside recovery are explored one level deep: every drain made by
// the open (the core's rollback) and by `recover` becomes a crash point
// (strict and pending), and each such image is opened and checked in turn.
//
// Crashing more than once (`depth`, default 1). A run is one recorded
// execution: level 1 is the workload; a state of level L that passed its
// checks may be *continued*: its image is opened again on a TracingBackend,
// recovery and `recover` run, and `continue` (default: the workload again)
// is recorded — that recording is a run of level L + 1, explored like the
// first, its checks receiving the markers of every level (Marker.level).
// Level 1 is explored as configured; at levels ≥ 2 a seeded sample of the
// states above is continued and a seeded sample of each run's points is
// crashed (`deeper`, default 8 states × 8 points; 'all' widens either).
//
// Images are not built: ImageLoader (loader.ts) patches the few lines that
// differ from the run's base image into one recycled pool and puts them back.
// `recover` and `check` receive that pool through a proxy that reports their
// stores to the loader, and the loader compares the whole pool with its base
// after every state (the safety net), so no state sees another's stores.
// Failures are turned into reports (spec, SHA-256, minimization) at their
// own point, while the loader's base is still that point's image.
//
// A case is named by a spec, printed in reports and accepted back through
// PHEAP_REPLAY (or opts.replay) to explore exactly that case again:
//
//   [name@]crash[>crash...][#sha256-prefix]      one crash per level, first first
//   crash  = point:mode:choice[/rpoint:rmode:rchoice]
//   choice = m<mask> (exhaustive subset) | s<n> (n-th seeded sample)
//          | x<line>[w<hex word mask>].<line>...  (explicit surviving lines)
//
// The sha256 prefix is the last crash image's; a replay recomputes it and
// fails loudly if the image is not byte-identical.

import { Pool } from '../pool.js';
import { Prng, type Seed } from '../prng.js';
import { InvalidArgumentError } from '../errors.js';
import type { CrashMode } from './modes.js';
import { LINE, sha256 } from './hash.js';
import { ImageLoader, type Overlay } from './loader.js';
import { interceptPool, WRITE_WIDTH } from './intercept.js';
import { recordFromImage, recordTrace, type LineSet, type Marker, type Trace } from './trace.js';

export interface ExploreOptions {
  /** Pool size (default 1 MiB) and layout name (default 'explore'). */
  size?: number;
  /**
   * Bytes the pool may grow to while explored (default `size`: it cannot
   * grow, an allocation that needs more is OutOfSpaceError). Every image is
   * this long; bytes past the pool's committed size are what a growth left.
   */
  capacity?: number;
  layout?: string;
  /** Seed of the pool's UUID, so runs are byte-identical (default 1). */
  poolSeed?: Seed;
  /** Seed of the sampled crash choices (default 0). */
  seed?: Seed;
  /** Builds the starting state; not explored. */
  setup?: (pool: Pool) => void;
  /** The operations to crash. Call `mark(label)` e.g. when an operation returns. */
  workload: (pool: Pool, mark: (label: string) => void) => void;
  /** User-level recovery, run on every reopened pool before the checks; its drains are crash points too. */
  recover?: (pool: Pool) => void;
  /**
   * Called on every recovered pool; throw to report a bug. `markers` = those
   * placed before the crash, of every level: `level` 1 = placed by the
   * workload before the first crash, 2 = by the run after it before the
   * second crash, and so on. `crash` is the case being checked: its level
   * is 1 + `crash.prior.length` (also when no marker of that level exists yet).
   */
  check: (pool: Pool, markers: Marker[], crash: CrashCase) => void;
  /**
   * How many crashes in a row (default 1). 2: crash, recover, check, run
   * `continue` on the recovered pool, crash that run too, recover, check; and so on.
   */
  depth?: number;
  /** What runs on a recovered pool at levels ≥ 2 (default: `workload` again). */
  continue?: (pool: Pool, mark: (label: string) => void) => void;
  /**
   * Levels ≥ 2: how many states of the level above are continued (default 8)
   * and how many crash points of each continued run are explored (default 8),
   * each a seeded sample (seed default `seed`); 'all' explores every one.
   */
  deeper?: { states?: number | 'all'; points?: number | 'all'; seed?: Seed };
  /**
   * The cache the workload's pool is modelled on (Backend.evicts). true
   * (default): pmem, whose cache writes lines back on its own — the undo log
   * is eager and every mode applies. false: a backend only drains write
   * (file, OPFS, memory) — the log is deferred and only strict and pending
   * crashes can happen.
   */
  evicts?: boolean;
  /** Default: strict, pending, evict, tear8 (with evicts: false, strict and pending; listing another is an error). */
  modes?: CrashMode[];
  /** Sampled choices per point and mode when not exhaustive (default 4). */
  seeds?: number;
  /** Enumerate every subset when a point has at most this many candidate lines (default 6, at most 24). */
  exhaustiveLines?: number;
  /** Which points of level 1: all (default), a seeded sample of n, or the range [from, to] (inclusive). */
  points?: 'all' | { sample: number; seed?: Seed } | { from: number; to: number };
  /** Also crash inside recovery (default true). */
  recoveryCrashes?: boolean;
  /** Run pool.check() on every recovered pool (default true). */
  heapCheck?: boolean;
  /** Explore only this case (default: env PHEAP_REPLAY). */
  replay?: string;
  /** Keep going after the first failing point (default false: stop there and report its smallest case). */
  all?: boolean;
  /** Shrink the reported failure by dropping surviving lines of its last crash while it still fails (default true). */
  minimize?: boolean;
  /** Stop after this many states (default: no limit); the report says it was truncated. */
  limit?: number;
  /** Called for every explored state with its case and state key (determinism tests, progress). */
  onState?: (c: CrashCase, key: string) => void;
  /** Name of this exploration, for replay specs and commands. */
  name?: string;
  /** Test file that runs this exploration, for the replay command. */
  file?: string;
  /** The shell command that runs this exploration again (replaces the vitest command in replay lines). */
  command?: string;
}

/** One crash choice: which candidate lines survive. */
export interface Choice {
  /** 'm' exhaustive subset mask, 's' seeded sample, 'x' explicit lines. */
  kind: 'm' | 's' | 'x';
  /** Mask or sample number ('x': 0). */
  n: number;
  /** Surviving lines beyond the durable image, ascending. */
  survivors: number[];
  /** tear8: 8-bit masks of the words kept, per survivor (0xff = whole line). */
  words?: number[];
}

export interface CrashCase {
  /** Crash point: just before drain `point` completes (point = drains: after the last one). */
  point: number;
  mode: CrashMode;
  choice: Choice;
  /** Set when the crash happened inside the recovery of the image above. */
  recovery?: { point: number; mode: CrashMode; choice: Choice };
  /** Set when the case was shrunk from a larger failing choice. */
  minimizedFrom?: Choice;
  /** Levels ≥ 2: the earlier crashes, first first; this one crashed the run that followed the last of them. */
  prior?: CrashCase[];
}

export interface Failure {
  case: CrashCase;
  error: string;
  /** The replay spec of this case (see the header comment). */
  spec: string;
  /** SHA-256 of the (last) crash image. */
  sha256: string;
  /** Markers placed before the crash (of every level). */
  markers: Marker[];
  /** One line that replays exactly this case. */
  replay: string;
}

/** What was explored at one crash level. */
export interface LevelReport {
  /** 1 = crashes of the workload, 2 = crashes of the runs after a first crash, … */
  level: number;
  /** Runs explored (1 at level 1; continued states at deeper levels). */
  runs: number;
  /** States opened and checked (unique), of which inside recovery. */
  states: number;
  recoveryStates: number;
  /** Crash points explored, and drains in the runs' traces. */
  points: number;
  drains: number;
}

export interface ExploreReport {
  /** Crash images opened and checked (unique), at every level, including those inside recovery. */
  states: number;
  /** Of which inside recovery. */
  recoveryStates: number;
  /** Candidate images generated, before removing duplicates. */
  generated: number;
  /** Generated images skipped because an identical state was already explored. */
  duplicates: number;
  /** Crash points explored and drains in the trace, at level 1 (see `levels` for the others). */
  points: number;
  drains: number;
  /** Per crash level (one entry per level reached, up to `depth`). */
  levels: LevelReport[];
  /** Extra images opened to shrink the reported failures. */
  minimizeStates: number;
  failures: Failure[];
  /** The `limit` stopped the exploration early. */
  truncated: boolean;
  /** Set when replaying one case. */
  replayed?: { spec: string; sha256: string; matches: boolean | null };
  /** Time recording the workload, and in total (ms); states per second over the total. */
  recordMs: number;
  ms: number;
  statesPerSecond: number;
  /** Anything the user should know (e.g. the loader's safety net fired). */
  notes: string[];
}

const MODE_RANK: Record<CrashMode, number> = { strict: 0, pending: 1, evict: 2, tear8: 3, eadr: 4 };

// ─── candidates and choices ────────────────────────────────────────────────

interface Candidate { line: number; bytes: Uint8Array; at: number }
interface Pick { c: Candidate; words: number }

function candidatesOf(mode: CrashMode, drained: LineSet | undefined, dirty: LineSet | undefined): Candidate[] {
  const out: Candidate[] = [];
  const push = (s: LineSet | undefined) => s?.lines.forEach((line, i) => out.push({ line, bytes: s.bytes, at: i * LINE }));
  if (mode === 'pending') push(drained);
  else if (mode === 'evict' || mode === 'tear8' || mode === 'eadr') { push(drained); push(dirty); }
  return out.sort((x, y) => x.line - y.line);
}

interface Tune { seeds: number; exhaustiveLines: number; seed: Seed }

/** The choices of a mode at a point; `salt` names the point in the Prng seed. */
function* choicesFor(mode: CrashMode, cands: Candidate[], tune: Tune, salt: string): Generator<{ choice: Choice; picks: Pick[] }> {
  if (mode === 'strict') { yield { choice: { kind: 'm', n: 0, survivors: [] }, picks: [] }; return; }
  if (mode === 'eadr') {
    yield { choice: { kind: 'm', n: 0, survivors: cands.map((c) => c.line) }, picks: wholeLines(cands) };
    return;
  }
  if (cands.length === 0) return;
  if (mode !== 'tear8' && cands.length <= tune.exhaustiveLines) {
    for (let mask = 1; mask < 1 << cands.length; mask++) {
      const picks = wholeLines(cands.filter((_, i) => (mask >>> i) & 1));
      yield { choice: { kind: 'm', n: mask, survivors: picks.map((p) => p.c.line) }, picks };
    }
    return;
  }
  for (let s = 0; s < tune.seeds; s++) {
    yield sampled(mode, cands, new Prng(`${String(tune.seed)}|${salt}|${mode}|${s}`), s);
  }
}

function sampled(mode: CrashMode, cands: Candidate[], rng: Prng, s: number): { choice: Choice; picks: Pick[] } {
  const picks: Pick[] = [];
  for (const c of cands) {
    if (!rng.coin()) continue;
    let words = 0xff;
    if (mode === 'tear8') { words = 0; for (let w = 0; w < 8; w++) if (rng.coin()) words |= 1 << w; }
    if (words) picks.push({ c, words });
  }
  const choice: Choice = { kind: 's', n: s, survivors: picks.map((p) => p.c.line) };
  if (mode === 'tear8') choice.words = picks.map((p) => p.words);
  return { choice, picks };
}

/** The pick list of an explicit ('x') choice; throws if a line is not a candidate. */
function explicitPicks(choice: Choice, cands: Candidate[]): Pick[] {
  return choice.survivors.map((line, i) => {
    const c = cands.find((x) => x.line === line);
    if (!c) throw new Error(`replay: line ${line} is not a candidate line at this point and mode`);
    return { c, words: choice.words?.[i] ?? 0xff };
  });
}

/** base + picks as an overlay (torn lines are built from the base line). */
function overlayOf(base: Uint8Array, picks: Pick[], into: Overlay = new Map()): Overlay {
  for (const { c, words } of picks) {
    if (words === 0xff) { into.set(c.line, c.bytes.subarray(c.at, c.at + LINE)); continue; }
    const at = c.line * LINE;
    const prev = into.get(c.line);
    const line = prev ? prev.slice() : base.slice(at, at + LINE);
    for (let w = 0; w < 8; w++) if ((words >>> w) & 1) line.set(c.bytes.subarray(c.at + w * 8, c.at + w * 8 + 8), w * 8);
    into.set(c.line, line);
  }
  return into;
}

function drainCandidates(set: LineSet): Candidate[] {
  return set.lines.map((line, i) => ({ line, bytes: set.bytes, at: i * LINE }));
}

// ─── specs ─────────────────────────────────────────────────────────────────

function choiceText(c: Choice): string {
  if (c.kind !== 'x') return `${c.kind}${c.n}`;
  return 'x' + c.survivors.map((l, i) => (c.words && c.words[i] !== 0xff ? `${l}w${c.words[i].toString(16)}` : `${l}`)).join('.');
}

function parseChoice(s: string): Choice {
  const kind = s[0];
  if (kind === 'm' || kind === 's') {
    const n = Number(s.slice(1));
    if (!Number.isInteger(n) || n < 0) throw new Error(`replay: bad choice '${s}'`);
    return { kind, n, survivors: [] };
  }
  if (kind !== 'x') throw new Error(`replay: bad choice '${s}' (m<mask>, s<sample> or x<lines>)`);
  const survivors: number[] = [], words: number[] = [];
  for (const part of s.slice(1).split('.').filter(Boolean)) {
    const [l, w] = part.split('w');
    survivors.push(Number(l));
    words.push(w === undefined ? 0xff : parseInt(w, 16));
  }
  return { kind: 'x', n: 0, survivors, words: words.some((w) => w !== 0xff) ? words : undefined };
}

/** One crash of a spec: `point:mode:choice[/rpoint:rmode:rchoice]`. */
function crashSpec(c: CrashCase): string {
  const outer = `${c.point}:${c.mode}:${choiceText(c.choice)}`;
  return c.recovery ? `${outer}/${c.recovery.point}:${c.recovery.mode}:${choiceText(c.recovery.choice)}` : outer;
}

/** The spec of a case: its crashes, first first, joined by '>'. */
export function caseSpec(c: CrashCase): string {
  return [...(c.prior ?? []), c].map(crashSpec).join('>');
}

/** One crash named by a spec. */
export interface SpecCrash { point: number; mode: CrashMode; choice: Choice; recovery?: { point: number; mode: CrashMode; choice: Choice } }

/** A parsed spec: the first crash at the top level, the later ones (depth ≥ 2) in `next`. */
export interface ReplaySpec extends SpecCrash { name?: string; next?: SpecCrash[]; sha?: string }

const MODES = new Set(['strict', 'pending', 'evict', 'tear8', 'eadr']);
const SPEC_FORM = '[name@]point:mode:choice[/rpoint:rmode:rchoice][>point:mode:choice…][#sha]';

function parseCrash(s: string, whole: string): SpecCrash {
  const m = /^(\d+):(\w+):([^/]*)(?:\/(\d+):(\w+):(.*))?$/.exec(s);
  if (!m) throw new Error(`replay: cannot parse '${whole}' (expected ${SPEC_FORM})`);
  const mode = (x: string) => { if (!MODES.has(x)) throw new Error(`replay: unknown mode '${x}'`); return x as CrashMode; };
  const crash: SpecCrash = { point: Number(m[1]), mode: mode(m[2]), choice: parseChoice(m[3]) };
  if (m[4] !== undefined) crash.recovery = { point: Number(m[4]), mode: mode(m[5]), choice: parseChoice(m[6]) };
  return crash;
}

/** Parse a replay spec (see the header comment). */
export function parseSpec(s: string): ReplaySpec {
  const m = /^(?:(.*)@)?([^@#]*)(?:#([0-9a-f]+))?$/.exec(s.trim());
  if (!m) throw new Error(`replay: cannot parse '${s}' (expected ${SPEC_FORM})`);
  const [first, ...next] = m[2].split('>').map((x) => parseCrash(x, s));
  return { name: m[1], ...first, ...(next.length ? { next } : {}), sha: m[3] };
}

function shellQuote(s: string): string { return `'${s.replace(/'/g, `'\\''`)}'`; }
function regexEscape(s: string): string { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

/** The one-line command that replays `spec` in the test that explored it. */
export function replayCommand(fullSpec: string, file?: string, name?: string, command?: string): string {
  const where = command ?? (file ? `npx vitest run ${file}${name ? ` -t ${shellQuote(regexEscape(name))}` : ''}` : '<your test command>');
  return `PHEAP_REPLAY=${shellQuote(fullSpec)} ${where}`;
}

// ─── the explorer ──────────────────────────────────────────────────────────

function selectPoints(spec: ExploreOptions['points'], total: number): Set<number> {
  const all = Array.from({ length: total }, (_, i) => i);
  if (!spec || spec === 'all') return new Set(all);
  if ('sample' in spec) {
    const rng = new Prng(spec.seed ?? 0);
    const picked = new Set<number>();
    while (picked.size < Math.min(spec.sample, total)) picked.add(rng.below(total));
    return picked;
  }
  return new Set(all.filter((k) => k >= spec.from && k <= spec.to));
}

/** `n` distinct indices below `total` (all of them for 'all'), chosen by a Prng seeded with `seed`, ascending. */
function sampleIndices(n: number | 'all', total: number, seed: Seed): number[] {
  return [...selectPoints(n === 'all' ? 'all' : { sample: n, seed }, total)].sort((a, b) => a - b);
}

/** One closed pool whose memory and core every verification reuses. */
let shell: Pool | undefined;
let tracked: { pool: Pool; proxy: Pool; loader: { current: ImageLoader } } | undefined;

/** The pool handed to `recover` and `check`: the real one, with stores reported to the loader. */
function trackedPool(pool: Pool, loader: ImageLoader): Pool {
  if (tracked?.pool !== pool) {
    const ref = { current: loader };
    const overrides: Record<string, (...a: never[]) => unknown> = {};
    for (const [m, width] of Object.entries(WRITE_WIDTH)) {
      overrides[m] = ((off: number, v: never) => {
        (pool as unknown as Record<string, (o: number, v: never) => void>)[m](off, v);
        ref.current.touchRange(off, width);
      }) as (...a: never[]) => unknown;
    }
    overrides.writeBytes = ((off: number, data: Uint8Array) => { pool.writeBytes(off, data); ref.current.touchRange(off, data.length); }) as (...a: never[]) => unknown;
    tracked = { pool, proxy: interceptPool(() => pool, overrides), loader: ref };
  }
  tracked.loader.current = loader;
  return tracked.proxy;
}

/**
 * One recorded execution being explored: the workload (level 1) or a run
 * that continued a recovered state of the level above.
 */
interface Run {
  level: number;
  trace: Trace;
  /** Its base image is the run's durable image at the current point. */
  loader: ImageLoader;
  /** The crashes that led to this run, first first ([] at level 1). */
  prior: CrashCase[];
  /** Markers of the earlier levels (placed before those crashes). */
  priorMarkers: Marker[];
  /** Names the run in state keys (with the number of its markers, it names what a check is told). */
  sig: string;
  /** A copy of the durable image when the run started: kept only to rebuild the states it continues. */
  initial: Uint8Array | null;
  stats: LevelReport;
}

/** An explored state, as needed to check it again or to continue it. */
interface State { c: CrashCase; overlay: Overlay; markers: Marker[]; point: number }
interface Outcome { error: unknown | null; drains: LineSet[]; openDrains: number }

class Explorer {
  readonly report: ExploreReport = {
    states: 0, recoveryStates: 0, generated: 0, duplicates: 0, points: 0, drains: 0, levels: [], minimizeStates: 0,
    failures: [], truncated: false, recordMs: 0, ms: 0, statesPerSecond: 0, notes: [],
  };
  readonly seen = new Set<string>();
  readonly layout: string;
  readonly tune: Tune;
  readonly modes: CrashMode[];
  readonly depth: number;
  readonly withDirty: boolean;
  readonly evicts: boolean;
  /** Failures found at the current point (before choosing the smallest). */
  pointFailures: Array<State & { error: unknown }> = [];
  /** A failing point was reported and `all` is off: explore nothing more. */
  stopped = false;
  /** Shrink reported failures (off when replaying: the spec names the case). */
  minimizing: boolean;
  /** The safety net fired after states may have seen a stray store (large pools): explore again. */
  late = false;
  private runs = 0;

  /** `wholeRestores`: every loader copies the whole image back after every state. */
  constructor(readonly opts: ExploreOptions, readonly wholeRestores = false) {
    this.layout = opts.layout ?? 'explore';
    this.tune = { seeds: opts.seeds ?? 4, exhaustiveLines: Math.min(opts.exhaustiveLines ?? 6, 24), seed: opts.seed ?? 0 };
    this.evicts = opts.evicts ?? true;
    this.modes = opts.modes ?? (this.evicts ? ['strict', 'pending', 'evict', 'tear8'] : ['strict', 'pending']);
    const impossible = this.modes.filter((m) => !this.evicts && m !== 'strict' && m !== 'pending');
    if (impossible.length) throw new InvalidArgumentError(`explore: mode ${impossible.join(', ')} needs a cache that evicts, and evicts is false (only drains write): list strict and pending only`);
    this.depth = Math.max(1, Math.floor(opts.depth ?? 1));
    this.withDirty = this.modes.some((m) => m === 'evict' || m === 'tear8' || m === 'eadr');
    this.minimizing = opts.minimize ?? true;
  }

  get full(): boolean { return this.opts.limit !== undefined && this.report.states >= this.opts.limit; }
  get done(): boolean { return this.stopped || this.full; }

  /** A new run exploring `trace` at `level`. */
  run(level: number, trace: Trace, prior: CrashCase[], priorMarkers: Marker[], sig: string): Run {
    while (this.report.levels.length < level) this.report.levels.push({ level: this.report.levels.length + 1, runs: 0, states: 0, recoveryStates: 0, points: 0, drains: 0 });
    const stats = this.report.levels[level - 1];
    stats.runs++;
    stats.drains += trace.drains.length;
    const initial = level < this.depth ? trace.initial.slice() : null;
    return { level, trace, loader: new ImageLoader(trace.initial, this.wholeRestores, this.evicts), prior, priorMarkers, sig, initial, stats };
  }

  /** Markers a check at point k of `run` is told about, and the part of the state key they stand for. */
  markersAt(run: Run, k: number): { markers: Marker[]; sig: string } {
    const own = run.trace.markers.filter((m) => m.afterDrains <= k).map((m) => ({ ...m, level: run.level }));
    return { markers: [...run.priorMarkers, ...own], sig: `${run.sig}:${own.length}` };
  }

  /** Open base + overlay (recovery runs), run recover, the heap check and the user's check. */
  verify(run: Run, c: CrashCase, overlay: Overlay, markers: Marker[]): Outcome {
    const loader = run.loader;
    loader.load(overlay);
    let pool: Pool | null = null;
    let error: unknown = null;
    let openDrains = 0;
    let recoveryDrains = -1;
    try {
      pool = Pool.open({ backend: loader, layout: this.layout, recycle: shell });
      shell = pool;
      openDrains = loader.drains.length;
      this.opts.recover?.(trackedPool(pool, loader));
      recoveryDrains = loader.drains.length; // the check's own drains are not crash points
      if (this.opts.heapCheck ?? true) pool.check();
      this.opts.check(trackedPool(pool, loader), markers, c);
    } catch (e) {
      error = e;
      if (!openDrains) openDrains = loader.drains.length;
      if (recoveryDrains < 0) recoveryDrains = loader.drains.length;
    } finally {
      pool?.close();
    }
    const drains = loader.drains.slice(0, recoveryDrains);
    loader.restore();
    return { error, drains, openDrains };
  }

  /** Explore one state unless an identical one was (and, outside recovery, the crashes inside its recovery). */
  explore(run: Run, s: State, sig: string, passed: State[]): void {
    this.report.generated++;
    const key = `${run.loader.keyOf(s.overlay)}:${sig}`;
    if (this.seen.has(key)) { this.report.duplicates++; return; }
    this.seen.add(key);
    this.report.states++;
    run.stats.states++;
    if (s.c.recovery) { this.report.recoveryStates++; run.stats.recoveryStates++; }
    this.opts.onState?.(s.c, key);
    const out = this.verify(run, s.c, s.overlay, s.markers);
    if (out.error !== null) this.pointFailures.push({ ...s, error: out.error });
    else passed.push(s);
    if (s.c.recovery || !(this.opts.recoveryCrashes ?? true)) return;
    this.recoveryCrashes(run, s, out, sig, passed);
  }

  /** Explore the crashes inside the recovery of state `s` (outcome `out`). */
  recoveryCrashes(run: Run, s: State, out: Outcome, sig: string, passed: State[]): void {
    const base = run.loader.base;
    const prefix: Overlay = new Map(s.overlay);
    for (let r = 0; r < out.drains.length && !this.full; r++) {
      const cands = drainCandidates(out.drains[r]);
      for (const rmode of this.recoveryModes(r, out)) {
        for (const { choice, picks } of choicesFor(rmode, rmode === 'strict' ? [] : cands, this.tune, `${s.c.point}/${r}`)) {
          if (this.full) return;
          const c: CrashCase = { ...s.c, recovery: { point: r, mode: rmode, choice } };
          this.explore(run, { ...s, c, overlay: overlayOf(base, picks, new Map(prefix)) }, sig, passed);
        }
      }
      overlayOf(base, wholeLines(cands), prefix);
    }
  }

  /** The open's last drain only bumps the open counter: crashing before it is the strict image; keeping it changes nothing but that counter. */
  recoveryModes(r: number, out: Outcome): CrashMode[] {
    return r === out.openDrains - 1 ? ['strict'] : ['strict', 'pending'];
  }

  /** The picks of a named (m/s/x) choice. */
  pick(mode: CrashMode, cands: Candidate[], salt: string, choice: Choice): Pick[] {
    if (choice.kind === 'x') return explicitPicks(choice, cands);
    if (mode === 'strict') return [];
    if (mode === 'eadr') return wholeLines(cands);
    if (choice.kind === 'm') {
      if (choice.n >= 2 ** cands.length) throw new Error(`replay: mask ${choice.n} but only ${cands.length} candidate lines`);
      return wholeLines(cands.filter((_, i) => (choice.n >>> i) & 1));
    }
    return sampled(mode, cands, new Prng(`${String(this.tune.seed)}|${salt}|${mode}|${choice.n}`), choice.n).picks;
  }

  /** Explore the points of `run` (all of them at level 1 unless `points` says otherwise), then continue its states. */
  exploreRun(run: Run, points: Set<number>): void {
    const { trace, loader } = run;
    const passed: State[] = [];
    for (let k = 0; k <= trace.drains.length && !this.done; k++) {
      const rec = trace.drains[k];
      if (points.has(k)) {
        if (run.level === 1) this.report.points++;
        run.stats.points++;
        const { markers, sig } = this.markersAt(run, k);
        for (const mode of this.modes) {
          const cands = candidatesOf(mode, rec?.drained, rec ? rec.dirty : trace.finalDirty);
          for (const { choice, picks } of choicesFor(mode, cands, this.tune, String(k))) {
            if (this.full) break;
            this.explore(run, { c: this.caseOf(run, { point: k, mode, choice }), overlay: overlayOf(loader.base, picks), markers, point: k }, sig, passed);
          }
        }
        this.finishPoint(run);
      }
      if (rec) loader.advance(rec.drained);
    }
    this.noteUntracked(run);
    if (run.level < this.depth && !this.done) this.continueStates(run, passed);
  }

  caseOf(run: Run, c: CrashCase): CrashCase {
    return run.prior.length ? { ...c, prior: run.prior } : c;
  }

  /** Turn the current point's failures into reports while the loader's base is still this point's image. */
  finishPoint(run: Run): void {
    if (!this.pointFailures.length) return;
    const found = this.pointFailures;
    this.pointFailures = [];
    let best = found[0];
    for (const f of found) if (smaller(size(f), size(best))) best = f;
    const shrunk = this.minimize(run, best);
    const failure = (f: State & { error: unknown }) => this.failureOf(f.c, f.error, run.loader.imageOf(f.overlay), f.markers);
    this.report.failures.push(failure(shrunk));
    if (!this.opts.all) { this.stopped = true; return; }
    for (const f of found) if (f !== best) this.report.failures.push(failure(f));
  }

  failureOf(c: CrashCase, error: unknown, image: Uint8Array, markers: Marker[]): Failure {
    const sha = sha256(image);
    const spec = this.specOf(c, sha);
    return {
      case: c, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      spec, sha256: sha, markers, replay: replayCommand(spec, this.opts.file, this.opts.name, this.opts.command),
    };
  }

  specOf(c: CrashCase, sha: string): string {
    return `${this.opts.name !== undefined ? `${this.opts.name}@` : ''}${caseSpec(c)}#${sha.slice(0, 16)}`;
  }

  /** Drop surviving lines of the last crash one at a time while the case still fails. */
  minimize(run: Run, f: State & { error: unknown }): State & { error: unknown } {
    const c = f.c;
    if (c.recovery || c.choice.survivors.length < 2 || !this.minimizing) return f;
    let survivors = [...c.choice.survivors];
    let words = c.choice.words ? [...c.choice.words] : undefined;
    let best = f;
    for (let i = 0; i < survivors.length && survivors.length > 1;) {
      const trySurv = survivors.filter((_, j) => j !== i);
      const tryWords = words?.filter((_, j) => j !== i);
      const overlay: Overlay = new Map();
      for (const line of trySurv) overlay.set(line, f.overlay.get(line)!);
      this.report.minimizeStates++;
      const choice: Choice = { kind: 'x', n: 0, survivors: trySurv, ...(tryWords && tryWords.some((w) => w !== 0xff) ? { words: tryWords } : {}) };
      const tried: CrashCase = { ...c, choice, minimizedFrom: c.choice };
      const out = this.verify(run, tried, overlay, f.markers);
      if (out.error !== null) {
        survivors = trySurv; words = tryWords;
        best = { ...f, c: tried, error: out.error, overlay };
      } else {
        i++;
      }
    }
    return best;
  }

  /** The safety net's last comparison for this run, and its note if it fired. */
  noteUntracked(run: Run): void {
    run.loader.verify();
    const lines = run.loader.untracked;
    if (!lines.length) return;
    this.late ||= run.loader.late;
    this.report.notes.push(`level ${run.level}: lines [${lines.slice(0, 8).join(', ')}] changed outside the flush model and the tracked ` +
      `recover/check stores (caught by the safety net's comparison${run.loader.late ? '' : ' after every state'}); switched to whole-image restores`);
  }

  /** Levels ≥ 2: continue a seeded sample of the states that passed in `run`. */
  continueStates(run: Run, passed: State[]): void {
    const deeper = this.opts.deeper ?? {};
    const seed = `${String(deeper.seed ?? this.tune.seed)}|${run.sig}`;
    const picked = sampleIndices(deeper.states ?? 8, passed.length, `${seed}|states`).map((i) => passed[i]);
    // `picked` is in exploration order, so by point: rebuild each image by replaying the run's drains.
    const image = run.initial!;
    let at = 0;
    for (const s of picked) {
      if (this.done) return;
      for (; at < s.point; at++) applyLines(image, run.trace.drains[at].drained);
      const next = this.continued(run, s, applyOverlay(image.slice(), s.overlay));
      if (!next) continue;
      this.exploreRun(next, new Set(sampleIndices(deeper.points ?? 8, next.trace.drains.length + 1, `${seed}|${this.runs}|points`)));
    }
    run.initial = null;
  }

  /** The run after state `s` (whose image is `image`): `continue` recorded on the recovered image; null (and a failure) if that throws. */
  continued(run: Run, s: State, image: Uint8Array): Run | null {
    const sig = `${run.sig}:${s.markers.length - run.priorMarkers.length}>${++this.runs}`;
    let trace: Trace;
    try {
      trace = recordFromImage(image.slice(), this.opts.continue ?? this.opts.workload, { layout: this.layout, withDirty: this.withDirty, evicts: this.evicts, before: this.opts.recover });
    } catch (e) {
      const f = this.failureOf(s.c, e, image, s.markers);
      f.error = `the run after this crash threw: ${f.error}`;
      this.report.failures.push(f);
      if (!this.opts.all) this.stopped = true;
      return null;
    }
    if (trace.notes) this.report.notes.push(...trace.notes);
    const { prior: _p, ...last } = s.c;
    return this.run(run.level + 1, trace, [...run.prior, last], s.markers, sig);
  }
}

function wholeLines(cands: Candidate[]): Pick[] {
  return cands.map((c) => ({ c, words: 0xff }));
}

function applyLines(image: Uint8Array, set: LineSet): void {
  set.lines.forEach((line, i) => image.set(set.bytes.subarray(i * LINE, (i + 1) * LINE), line * LINE));
}

function applyOverlay(image: Uint8Array, overlay: Overlay): Uint8Array {
  for (const [line, bytes] of overlay) image.set(bytes, line * LINE);
  return image;
}

/** Order failures smallest first: outside recovery, fewer survivors, simpler mode. */
function size(f: { c: CrashCase }): number[] {
  const c = f.c;
  return [c.recovery ? 1 : 0, c.choice.survivors.length + (c.recovery?.choice.survivors.length ?? 0), MODE_RANK[c.mode]];
}
function smaller(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

/**
 * Run the workload once, then explore its crash states (and, with `depth`,
 * the runs after them). Never throws for a failing case: see `failures`.
 * If the loader's safety net fired late (large pools compare every few
 * states), everything is explored again with whole-image restores.
 */
export function explore(opts: ExploreOptions): ExploreReport {
  const t0 = performance.now();
  let ex = exploreWith(opts, false);
  if (ex.late) {
    const notes = ex.report.notes;
    ex = exploreWith(opts, true);
    ex.report.notes.unshift(...notes, 'explored everything again with whole-image restores (states since the comparison before may have seen the stray stores)');
  }
  const report = ex.report;
  report.truncated = ex.full;
  report.ms = performance.now() - t0;
  report.statesPerSecond = report.states / (report.ms / 1000);
  return report;
}

function exploreWith(opts: ExploreOptions, wholeRestores: boolean): Explorer {
  const t0 = performance.now();
  const ex = new Explorer(opts, wholeRestores);
  const report = ex.report;
  const envReplay = typeof process !== 'undefined' ? process.env.PHEAP_REPLAY : undefined;
  let replay = opts.replay ?? envReplay ? parseSpec((opts.replay ?? envReplay)!) : undefined;
  if (replay && replay.name !== undefined && replay.name !== opts.name) replay = undefined; // another exploration's case
  const trace = recordTrace(opts.workload, { size: opts.size ?? 1 << 20, capacity: opts.capacity, layout: ex.layout, seed: opts.poolSeed ?? 1, withDirty: ex.withDirty, evicts: ex.evicts, setup: opts.setup });
  report.recordMs = performance.now() - t0;
  if (trace.notes) report.notes.push(...trace.notes);
  report.drains = trace.drains.length;
  const first = ex.run(1, trace, [], [], '1');
  if (replay) replayCase(ex, first, replay);
  else ex.exploreRun(first, selectPoints(opts.points, trace.drains.length + 1));
  return ex;
}

/** The state a spec's crash names in `run` (the loader's base moves to its point), with its recovery crash if any. */
function resolveCrash(ex: Explorer, run: Run, spec: SpecCrash): State {
  const { trace, loader } = run;
  if (spec.point > trace.drains.length) throw new Error(`replay: point ${spec.point} (level ${run.level}) but the run has ${trace.drains.length} drains`);
  if (!ex.modes.includes(spec.mode)) ex.report.notes.push(`replaying mode ${spec.mode}, which this exploration does not list`);
  for (let k = 0; k < spec.point; k++) loader.advance(trace.drains[k].drained);
  const rec = trace.drains[spec.point];
  const { markers } = ex.markersAt(run, spec.point);
  const cands = candidatesOf(spec.mode, rec?.drained, rec ? rec.dirty : trace.finalDirty);
  const choice = resolvedChoice(ex, spec.mode, cands, String(spec.point), spec.choice);
  const s: State = { c: ex.caseOf(run, { point: spec.point, mode: spec.mode, choice: choice.choice }), overlay: overlayOf(loader.base, choice.picks), markers, point: spec.point };
  if (!spec.recovery) return s;
  const r = spec.recovery;
  const out = ex.verify(run, s.c, s.overlay, markers);
  if (r.point >= out.drains.length || !ex.recoveryModes(r.point, out).includes(r.mode)) {
    throw new Error(`replay: the recovery of this image has no crash ${r.point}:${r.mode} (${out.drains.length} drains)`);
  }
  const prefix: Overlay = new Map(s.overlay);
  for (let i = 0; i < r.point; i++) overlayOf(loader.base, wholeLines(drainCandidates(out.drains[i])), prefix);
  const inner = resolvedChoice(ex, r.mode, r.mode === 'strict' ? [] : drainCandidates(out.drains[r.point]), `${spec.point}/${r.point}`, r.choice);
  ex.report.recoveryStates++;
  return { ...s, c: { ...s.c, recovery: { point: r.point, mode: r.mode, choice: inner.choice } }, overlay: overlayOf(loader.base, inner.picks, prefix) };
}

/** A named choice with its survivors filled in, and its picks. */
function resolvedChoice(ex: Explorer, mode: CrashMode, cands: Candidate[], salt: string, named: Choice): { choice: Choice; picks: Pick[] } {
  const choice: Choice = { ...named, survivors: [...named.survivors] };
  const picks = ex.pick(mode, cands, salt, choice);
  if (choice.kind !== 'x') {
    choice.survivors = picks.map((p) => p.c.line);
    if (mode === 'tear8') choice.words = picks.map((p) => p.words);
  }
  return { choice, picks };
}

/** Explore exactly one case — every crash of its chain in turn — and check the last image's hash. */
function replayCase(ex: Explorer, first: Run, spec: ReplaySpec): void {
  const report = ex.report;
  const crashes: SpecCrash[] = [spec, ...(spec.next ?? [])];
  let run = first;
  let s = resolveCrash(ex, run, crashes[0]);
  for (const next of crashes.slice(1)) {
    const after = ex.continued(run, s, run.loader.imageOf(s.overlay));
    if (!after) return;
    run = after;
    s = resolveCrash(ex, run, next);
  }
  report.points = 1;
  const sha = sha256(run.loader.imageOf(s.overlay));
  const matches = spec.sha ? sha.startsWith(spec.sha) : null;
  report.replayed = { spec: ex.specOf(s.c, sha), sha256: sha, matches };
  report.generated = 1;
  report.states++;
  run.stats.states++;
  ex.opts.onState?.(s.c, run.loader.keyOf(s.overlay));
  const out = ex.verify(run, s.c, s.overlay, s.markers);
  if (matches === false) {
    ex.pointFailures.push({ ...s, error: new Error(`replay is not byte-identical: crash image sha256 ${sha}, expected ${spec.sha}… — the setup or workload is not deterministic, or the spec belongs to another exploration`) });
  } else if (out.error !== null) {
    ex.pointFailures.push({ ...s, error: out.error });
  } else if (crashes.length < ex.depth) {
    ex.continued(run, s, run.loader.imageOf(s.overlay)); // reports the run after this crash if it throws
  }
  ex.minimizing = false;
  ex.finishPoint(run);
  ex.noteUntracked(run);
}

/** A readable account of a report's first failure (or a one-line summary). */
export function formatReport(r: ExploreReport): string {
  const lines = [`${r.states} crash states explored (${r.recoveryStates} inside recovery; ${r.duplicates} duplicate images skipped) ` +
    `at ${r.points} points over ${r.drains} drains, ${Math.round(r.statesPerSecond)} states/s${r.truncated ? ' (stopped at the state limit)' : ''}` +
    (r.levels.length > 1 ? `; per level: ${r.levels.map(levelText).join(', ')}` : '')];
  if (r.replayed) lines.push(`replayed ${r.replayed.spec}: image sha256 ${r.replayed.sha256}${r.replayed.matches === null ? '' : r.replayed.matches ? ' (matches)' : ' (DOES NOT MATCH)'}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  const f = r.failures[0];
  if (!f) return lines.join('\n');
  const c = f.case;
  const choice = (ch: Choice) => ch.kind === 'm' ? `subset mask ${ch.n}` : ch.kind === 's' ? `sample ${ch.n}` : 'explicit lines';
  const survivors = (ch: Choice) => `[${ch.survivors.map((l, i) => (ch.words && ch.words[i] !== 0xff ? `${l} (words ${ch.words[i].toString(2).padStart(8, '0')})` : `${l}`)).join(', ')}]`;
  (c.prior ?? []).forEach((p, i) => lines.push(`crash ${i + 1}: point ${p.point}, mode ${p.mode}, ${choice(p.choice)}${p.recovery ? ` (inside recovery: its drain ${p.recovery.point}, mode ${p.recovery.mode})` : ''}; recovered, checked, continued`));
  if (c.prior) lines.push(`crash ${c.prior.length + 1} (of the run after crash ${c.prior.length}):`);
  lines.push(`FAILED at point ${c.point} of ${c.prior ? 'that run' : r.drains} (${c.prior ? `crash just before its drain ${c.point} completed, or after its last drain` : c.point < r.drains ? `crash just before drain ${c.point} completed` : 'crash after the last drain'}), mode ${c.mode}, ` +
    `${c.minimizedFrom ? `${choice(c.minimizedFrom)} (${c.minimizedFrom.survivors.length} lines) minimized to` : choice(c.choice)} surviving lines ${survivors(c.choice)} (line = pool offset / 64)`);
  if (c.recovery) lines.push(`  crash inside recovery: before its drain ${c.recovery.point} completed, mode ${c.recovery.mode}, ${choice(c.recovery.choice)}, surviving lines ${survivors(c.recovery.choice)}`);
  lines.push(`  markers before the crash: ${f.markers.length}${f.markers.length ? ` (last: "${f.markers[f.markers.length - 1].label}"${c.prior ? `, level ${f.markers[f.markers.length - 1].level}` : ''})` : ''}`);
  lines.push(`  error: ${f.error}`);
  lines.push(`  crash image sha256: ${f.sha256}`);
  lines.push(`  replay: ${f.replay}`);
  return lines.join('\n');
}

function levelText(l: LevelReport): string {
  return l.level === 1 ? `1: ${l.states} states` : `${l.level}: ${l.states} states in ${l.runs} runs at ${l.points} points`;
}
