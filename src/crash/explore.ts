// explore.ts — enumerate the states a crash could leave, recover each, check.
//
// The workload runs once on a TracingBackend (trace.ts). Then, for every
// persistence point k — just before drain k completes, i.e. between the
// flushes and the fence, and once more after the last drain — the explorer
// derives the crash images each mode allows (modes.ts, DESIGN.md):
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
// Identical images are explored once: an image is named by a 64-bit hash
// that is a sum of per-line hashes (hash.ts), updated per changed line.
// Crashes inside recovery are explored one level deep: every drain made by
// the open (the core's rollback) and by `recover` becomes a crash point
// (strict and pending), and each such image is opened and checked in turn.
//
// Images are not built: ImageLoader (loader.ts) patches the few lines that
// differ from the base image into one recycled pool and puts them back.
//
// A case is named by a spec, printed in reports and accepted back through
// PHEAP_REPLAY (or opts.replay) to explore exactly that case again:
//
//   [name@]point:mode:choice[/rpoint:rmode:rchoice][#sha256-prefix]
//   choice = m<mask> (exhaustive subset) | s<n> (n-th seeded sample)
//          | x<line>[w<hex word mask>].<line>...  (explicit surviving lines)
//
// The sha256 prefix is the crash image's; a replay recomputes it and fails
// loudly if the image is not byte-identical.

import { Pool } from '../pool.js';
import { Prng, type Seed } from '../prng.js';
import type { CrashMode } from './modes.js';
import { LINE, sha256 } from './hash.js';
import { ImageLoader, type Overlay } from './loader.js';
import { interceptPool, WRITE_WIDTH } from './intercept.js';
import { recordTrace, type LineSet, type Marker, type Trace } from './trace.js';

export interface ExploreOptions {
  /** Pool size (default 1 MiB) and layout name (default 'explore'). */
  size?: number;
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
  /** Called on every recovered pool; throw to report a bug. `markers` = those placed before the crash point. */
  check: (pool: Pool, markers: Marker[]) => void;
  /** Default: strict, pending, evict, tear8. */
  modes?: CrashMode[];
  /** Sampled choices per point and mode when not exhaustive (default 4). */
  seeds?: number;
  /** Enumerate every subset when a point has at most this many candidate lines (default 6, at most 24). */
  exhaustiveLines?: number;
  /** Which points: all (default), a seeded sample of n, or the range [from, to] (inclusive). */
  points?: 'all' | { sample: number; seed?: Seed } | { from: number; to: number };
  /** Also crash inside recovery (default true). */
  recoveryCrashes?: boolean;
  /** Run pool.check() on every recovered pool (default true). */
  heapCheck?: boolean;
  /** Explore only this case (default: env PHEAP_REPLAY). */
  replay?: string;
  /** Keep going after the first failing point (default false: stop there and report its smallest case). */
  all?: boolean;
  /** Shrink the reported failure by dropping surviving lines while it still fails (default true). */
  minimize?: boolean;
  /** Stop after this many states (default: no limit); the report says it was truncated. */
  limit?: number;
  /** Called for every explored state with its case and image key (determinism tests, progress). */
  onState?: (c: CrashCase, key: string) => void;
  /** Name of this exploration, for replay specs and commands. */
  name?: string;
  /** Test file that runs this exploration, for the replay command. */
  file?: string;
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
}

export interface Failure {
  case: CrashCase;
  error: string;
  /** The replay spec of this case (see the header comment). */
  spec: string;
  /** SHA-256 of the crash image. */
  sha256: string;
  /** Markers placed before the crash point. */
  markers: Marker[];
  /** One line that replays exactly this case. */
  replay: string;
}

export interface ExploreReport {
  /** Crash images opened and checked (unique), including those inside recovery. */
  states: number;
  /** Of which inside recovery. */
  recoveryStates: number;
  /** Candidate images generated, before removing duplicates. */
  generated: number;
  /** Generated images skipped because an identical one was already explored. */
  duplicates: number;
  /** Crash points explored, drains in the trace. */
  points: number;
  drains: number;
  /** Extra images opened to shrink the reported failure. */
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
    yield { choice: { kind: 'm', n: 0, survivors: cands.map((c) => c.line) }, picks: cands.map((c) => ({ c, words: 0xff })) };
    return;
  }
  if (cands.length === 0) return;
  if (mode !== 'tear8' && cands.length <= tune.exhaustiveLines) {
    for (let mask = 1; mask < 1 << cands.length; mask++) {
      const picks = cands.filter((_, i) => (mask >>> i) & 1).map((c) => ({ c, words: 0xff }));
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

/** The spec of a case: `point:mode:choice[/rpoint:rmode:rchoice]`. */
export function caseSpec(c: CrashCase): string {
  const outer = `${c.point}:${c.mode}:${choiceText(c.choice)}`;
  return c.recovery ? `${outer}/${c.recovery.point}:${c.recovery.mode}:${choiceText(c.recovery.choice)}` : outer;
}

interface ReplaySpec { name?: string; point: number; mode: CrashMode; choice: Choice; recovery?: { point: number; mode: CrashMode; choice: Choice }; sha?: string }

const MODES = new Set(['strict', 'pending', 'evict', 'tear8', 'eadr']);

/** Parse a replay spec (see the header comment). */
export function parseSpec(s: string): ReplaySpec {
  const m = /^(?:(.*)@)?(\d+):(\w+):([^/#]*)(?:\/(\d+):(\w+):([^#]*))?(?:#([0-9a-f]+))?$/.exec(s.trim());
  if (!m) throw new Error(`replay: cannot parse '${s}' (expected [name@]point:mode:choice[/rpoint:rmode:rchoice][#sha])`);
  const mode = (x: string) => { if (!MODES.has(x)) throw new Error(`replay: unknown mode '${x}'`); return x as CrashMode; };
  return {
    name: m[1], point: Number(m[2]), mode: mode(m[3]), choice: parseChoice(m[4]),
    recovery: m[5] !== undefined ? { point: Number(m[5]), mode: mode(m[6]), choice: parseChoice(m[7]) } : undefined,
    sha: m[8],
  };
}

function shellQuote(s: string): string { return `'${s.replace(/'/g, `'\\''`)}'`; }
function regexEscape(s: string): string { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

/** The one-line command that replays `spec` in the test that explored it. */
export function replayCommand(fullSpec: string, file?: string, name?: string): string {
  const where = file ? `npx vitest run ${file}${name ? ` -t ${shellQuote(regexEscape(name))}` : ''}` : '<your test command>';
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

/** One closed pool whose memory and core every verification reuses. */
let shell: Pool | undefined;
let tracked: { pool: Pool; proxy: Pool; loader: { current: ImageLoader } } | undefined;

/** The pool handed to `check`: the real one, with stores reported to the loader. */
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

interface Outcome { error: unknown | null; drains: LineSet[]; openDrains: number }

class Explorer {
  readonly report: ExploreReport = {
    states: 0, recoveryStates: 0, generated: 0, duplicates: 0, points: 0, drains: 0, minimizeStates: 0,
    failures: [], truncated: false, recordMs: 0, ms: 0, statesPerSecond: 0, notes: [],
  };
  readonly seen = new Set<string>();
  readonly layout: string;
  readonly tune: Tune;
  loader!: ImageLoader;
  /** Failures found at the current point (before choosing the smallest). */
  pointFailures: Array<{ c: CrashCase; error: unknown; overlay: Overlay; markers: Marker[] }> = [];

  constructor(readonly opts: ExploreOptions) {
    this.layout = opts.layout ?? 'explore';
    this.tune = { seeds: opts.seeds ?? 4, exhaustiveLines: Math.min(opts.exhaustiveLines ?? 6, 24), seed: opts.seed ?? 0 };
  }

  get full(): boolean { return this.opts.limit !== undefined && this.report.states >= this.opts.limit; }

  /** Open base + overlay (recovery runs), run recover, the heap check and the user's check. */
  verify(overlay: Overlay, markers: Marker[]): Outcome {
    const loader = this.loader;
    loader.load(overlay);
    let pool: Pool | null = null;
    let error: unknown = null;
    let openDrains = 0;
    let recoveryDrains = -1;
    try {
      pool = Pool.open({ backend: loader, layout: this.layout, recycle: shell });
      shell = pool;
      openDrains = loader.drains.length;
      this.opts.recover?.(pool);
      recoveryDrains = loader.drains.length; // the check's own drains are not crash points
      if (this.opts.heapCheck ?? true) pool.check();
      this.opts.check(trackedPool(pool, loader), markers);
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

  /** Explore one case (and, outside recovery, the crashes inside its recovery). */
  explore(c: CrashCase, overlay: Overlay, markers: Marker[], key: string): void {
    this.report.states++;
    if (c.recovery) this.report.recoveryStates++;
    this.opts.onState?.(c, key);
    const out = this.verify(overlay, markers);
    if (out.error !== null) this.pointFailures.push({ c, error: out.error, overlay, markers });
    if (c.recovery || !(this.opts.recoveryCrashes ?? true)) return;
    this.recoveryCrashes(c, overlay, markers, out);
  }

  recoveryCrashes(c: CrashCase, overlay: Overlay, markers: Marker[], out: Outcome, only?: ReplaySpec['recovery']): { overlay: Overlay; choice: Choice } | null {
    const prefix: Overlay = new Map(overlay);
    for (let r = 0; r < out.drains.length; r++) {
      if (only && only.point !== r) { overlayOf(this.loader.base, drainCandidates(out.drains[r]).map((c) => ({ c, words: 0xff })), prefix); continue; }
      // The open's last drain only bumps the open counter: crashing before it
      // is the strict image; keeping it changes nothing but that counter.
      const rmodes: CrashMode[] = r === out.openDrains - 1 ? ['strict'] : ['strict', 'pending'];
      const cands = drainCandidates(out.drains[r]);
      for (const rmode of rmodes) {
        if (only && only.mode !== rmode) continue;
        if (only) {
          const picks = this.pick(rmode, cands, `${c.point}/${r}`, only.choice);
          const choice: Choice = only.choice.kind === 'x' ? only.choice : { ...only.choice, survivors: picks.map((p) => p.c.line) };
          return { overlay: overlayOf(this.loader.base, picks, new Map(prefix)), choice };
        }
        for (const { choice, picks } of choicesFor(rmode, rmode === 'strict' ? [] : cands, this.tune, `${c.point}/${r}`)) {
          const img = overlayOf(this.loader.base, picks, new Map(prefix));
          if (this.full) return null;
          this.report.generated++;
          const key = this.loader.keyOf(img);
          if (this.seen.has(key)) { this.report.duplicates++; continue; }
          this.seen.add(key);
          this.explore({ ...c, recovery: { point: r, mode: rmode, choice } }, img, markers, key);
        }
      }
      overlayOf(this.loader.base, cands.map((cc) => ({ c: cc, words: 0xff })), prefix);
    }
    return null;
  }

  /** The picks of a named (m/s) choice. */
  pick(mode: CrashMode, cands: Candidate[], salt: string, choice: Choice): Pick[] {
    if (choice.kind === 'x') return explicitPicks(choice, cands);
    if (mode === 'strict') return [];
    if (mode === 'eadr') return cands.map((c) => ({ c, words: 0xff }));
    if (choice.kind === 'm') {
      if (choice.n >= 2 ** cands.length) throw new Error(`replay: mask ${choice.n} but only ${cands.length} candidate lines`);
      return cands.filter((_, i) => (choice.n >>> i) & 1).map((c) => ({ c, words: 0xff }));
    }
    return sampled(mode, cands, new Prng(`${String(this.tune.seed)}|${salt}|${mode}|${choice.n}`), choice.n).picks;
  }
}

/** Run the workload once, then explore its crash states. Never throws for a failing case: see `failures`. */
export function explore(opts: ExploreOptions): ExploreReport {
  const t0 = performance.now();
  const size = opts.size ?? 1 << 20;
  const ex = new Explorer(opts);
  const report = ex.report;
  const modes = opts.modes ?? ['strict', 'pending', 'evict', 'tear8'];
  const envReplay = typeof process !== 'undefined' ? process.env.PHEAP_REPLAY : undefined;
  let replay = opts.replay ?? envReplay ? parseSpec((opts.replay ?? envReplay)!) : undefined;
  if (replay && replay.name !== undefined && replay.name !== opts.name) replay = undefined; // another exploration's case
  const withDirty = modes.some((m) => m === 'evict' || m === 'tear8' || m === 'eadr');
  const trace = recordTrace(opts.workload, { size, layout: ex.layout, seed: opts.poolSeed ?? 1, withDirty, setup: opts.setup });
  report.recordMs = performance.now() - t0;
  if (trace.notes) report.notes.push(...trace.notes);
  report.drains = trace.drains.length;
  ex.loader = new ImageLoader(trace.initial);

  if (replay) {
    replayCase(ex, trace, replay, modes);
    return finish(ex, t0);
  }

  const points = selectPoints(opts.points, trace.drains.length + 1);
  for (let k = 0; k <= trace.drains.length && !ex.full; k++) {
    const rec = trace.drains[k];
    if (points.has(k)) {
      report.points++;
      const markers = trace.markers.filter((m) => m.afterDrains <= k);
      for (const mode of modes) {
        const cands = candidatesOf(mode, rec?.drained, rec ? rec.dirty : trace.finalDirty);
        for (const { choice, picks } of choicesFor(mode, cands, ex.tune, String(k))) {
          if (ex.full) break;
          report.generated++;
          const overlay = overlayOf(ex.loader.base, picks);
          const key = ex.loader.keyOf(overlay);
          if (ex.seen.has(key)) { report.duplicates++; continue; }
          ex.seen.add(key);
          ex.explore({ point: k, mode, choice }, overlay, markers, key);
        }
      }
      if (ex.pointFailures.length && !opts.all) break;
    }
    if (rec) ex.loader.advance(rec.drained);
  }
  report.truncated = ex.full;
  return finish(ex, t0);
}

function specOf(ex: Explorer, c: CrashCase, sha: string): string {
  return `${ex.opts.name !== undefined ? `${ex.opts.name}@` : ''}${caseSpec(c)}#${sha.slice(0, 16)}`;
}

function failureOf(ex: Explorer, c: CrashCase, error: unknown, overlay: Overlay, markers: Marker[]): Failure {
  const sha = sha256(ex.loader.imageOf(overlay));
  const spec = specOf(ex, c, sha);
  return {
    case: c, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    spec, sha256: sha, markers, replay: replayCommand(spec, ex.opts.file, ex.opts.name),
  };
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

/** Drop surviving lines one at a time while the case still fails. */
function minimize(ex: Explorer, f: Explorer['pointFailures'][number]): Explorer['pointFailures'][number] {
  const c = f.c;
  if (c.recovery || c.choice.survivors.length < 2 || ex.opts.minimize === false) return f;
  let survivors = [...c.choice.survivors];
  let words = c.choice.words ? [...c.choice.words] : undefined;
  let best = f;
  for (let i = 0; i < survivors.length && survivors.length > 1;) {
    const trySurv = survivors.filter((_, j) => j !== i);
    const tryWords = words?.filter((_, j) => j !== i);
    const overlay: Overlay = new Map();
    for (const line of trySurv) overlay.set(line, f.overlay.get(line)!);
    ex.report.minimizeStates++;
    const out = ex.verify(overlay, f.markers);
    if (out.error !== null) {
      survivors = trySurv; words = tryWords;
      const choice: Choice = { kind: 'x', n: 0, survivors, ...(words && words.some((w) => w !== 0xff) ? { words } : {}) };
      best = { c: { ...c, choice, minimizedFrom: c.choice }, error: out.error, overlay, markers: f.markers };
    } else {
      i++;
    }
  }
  return best;
}

function finish(ex: Explorer, t0: number): ExploreReport {
  const report = ex.report;
  if (ex.pointFailures.length) {
    let best = ex.pointFailures[0];
    for (const f of ex.pointFailures) if (smaller(size(f), size(best))) best = f;
    const shrunk = minimize(ex, best);
    report.failures.push(failureOf(ex, shrunk.c, shrunk.error, shrunk.overlay, shrunk.markers));
    if (ex.opts.all) {
      for (const f of ex.pointFailures) if (f !== best) report.failures.push(failureOf(ex, f.c, f.error, f.overlay, f.markers));
    }
  }
  if (ex.loader?.untracked.length) {
    report.notes.push(`lines [${ex.loader.untracked.slice(0, 8).join(', ')}] changed outside the flush model during open/check; ` +
      'switched to whole-image restores (slower, still exact)');
  }
  report.ms = performance.now() - t0;
  report.statesPerSecond = report.states / (report.ms / 1000);
  return report;
}

/** Explore exactly one case, check its image hash. */
function replayCase(ex: Explorer, trace: Trace, spec: ReplaySpec, modes: CrashMode[]): void {
  const report = ex.report;
  if (spec.point > trace.drains.length) throw new Error(`replay: point ${spec.point} but the trace has ${trace.drains.length} drains`);
  if (!modes.includes(spec.mode)) report.notes.push(`replaying mode ${spec.mode}, which this exploration does not list`);
  for (let k = 0; k < spec.point; k++) ex.loader.advance(trace.drains[k].drained);
  const rec = trace.drains[spec.point];
  const markers = trace.markers.filter((m) => m.afterDrains <= spec.point);
  const cands = candidatesOf(spec.mode, rec?.drained, rec ? rec.dirty : trace.finalDirty);
  const choice: Choice = { ...spec.choice, survivors: [...spec.choice.survivors] };
  const picks = ex.pick(spec.mode, cands, String(spec.point), choice);
  if (choice.kind !== 'x') {
    choice.survivors = picks.map((p) => p.c.line);
    if (spec.mode === 'tear8') choice.words = picks.map((p) => p.words);
  }
  let overlay = overlayOf(ex.loader.base, picks);
  let c: CrashCase = { point: spec.point, mode: spec.mode, choice };
  report.points = 1;
  if (spec.recovery) {
    const outer = ex.verify(overlay, markers);
    const inner = ex.recoveryCrashes(c, overlay, markers, outer, spec.recovery);
    if (!inner) throw new Error(`replay: recovery of this image has no drain ${spec.recovery.point}`);
    c = { ...c, recovery: { point: spec.recovery.point, mode: spec.recovery.mode, choice: inner.choice } };
    overlay = inner.overlay;
    report.recoveryStates = 1;
  }
  const sha = sha256(ex.loader.imageOf(overlay));
  const matches = spec.sha ? sha.startsWith(spec.sha) : null;
  report.replayed = { spec: specOf(ex, c, sha), sha256: sha, matches };
  report.generated = 1;
  report.states++;
  ex.opts.onState?.(c, ex.loader.keyOf(overlay));
  const out = ex.verify(overlay, markers);
  if (matches === false) {
    ex.pointFailures.push({ c, overlay, markers, error: new Error(`replay is not byte-identical: crash image sha256 ${sha}, expected ${spec.sha}… — the setup or workload is not deterministic, or the spec belongs to another exploration`) });
  } else if (out.error !== null) {
    ex.pointFailures.push({ c, error: out.error, overlay, markers });
  }
  ex.opts.minimize = false;
}

/** A readable account of a report's first failure (or a one-line summary). */
export function formatReport(r: ExploreReport): string {
  const lines = [`${r.states} crash states explored (${r.recoveryStates} inside recovery; ${r.duplicates} duplicate images skipped) ` +
    `at ${r.points} points over ${r.drains} drains, ${Math.round(r.statesPerSecond)} states/s${r.truncated ? ' (stopped at the state limit)' : ''}`];
  if (r.replayed) lines.push(`replayed ${r.replayed.spec}: image sha256 ${r.replayed.sha256}${r.replayed.matches === null ? '' : r.replayed.matches ? ' (matches)' : ' (DOES NOT MATCH)'}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  const f = r.failures[0];
  if (!f) return lines.join('\n');
  const c = f.case;
  const choice = (ch: Choice) => ch.kind === 'm' ? `subset mask ${ch.n}` : ch.kind === 's' ? `sample ${ch.n}` : 'explicit lines';
  const survivors = (ch: Choice) => `[${ch.survivors.map((l, i) => (ch.words && ch.words[i] !== 0xff ? `${l} (words ${ch.words[i].toString(2).padStart(8, '0')})` : `${l}`)).join(', ')}]`;
  lines.push(`FAILED at point ${c.point} of ${r.drains} (${c.point < r.drains ? `crash just before drain ${c.point} completed` : 'crash after the last drain'}), mode ${c.mode}, ` +
    `${c.minimizedFrom ? `${choice(c.minimizedFrom)} (${c.minimizedFrom.survivors.length} lines) minimized to` : choice(c.choice)} surviving lines ${survivors(c.choice)} (line = pool offset / 64)`);
  if (c.recovery) lines.push(`  crash inside recovery: before its drain ${c.recovery.point} completed, mode ${c.recovery.mode}, ${choice(c.recovery.choice)}, surviving lines ${survivors(c.recovery.choice)}`);
  lines.push(`  markers before the crash: ${f.markers.length}${f.markers.length ? ` (last: "${f.markers[f.markers.length - 1].label}")` : ''}`);
  lines.push(`  error: ${f.error}`);
  lines.push(`  crash image sha256: ${f.sha256}`);
  lines.push(`  replay: ${f.replay}`);
  return lines.join('\n');
}
