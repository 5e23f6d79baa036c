// torture.ts — the model-based torture generator: random operations on the
// public API, crashes at random persistence points, recovery, comparison.
//
// Owns one run: a seeded Prng (src/prng.ts) picks weighted operations —
// alloc (1 B … several 64 KiB chunks; into, zero, align64, types), free
// (from), realloc (grow / shrink, into, align64 objects too), root growth,
// raw writes + persist, transactions (setU32 / setBytes, tx alloc / free /
// realloc, nested levels, aborts by throwing), transactions larger than the
// fixed undo log, clean reopens — on a small memory pool that grows (crashes
// inside growths included) up to 4× its size and then runs out of space. A Model (model.ts) follows every operation the pool reports done.
// A CrashBackend (crash-backend.ts) is armed now and then to crash at a
// random drain in a random crash mode (strict, pending, evict, tear8, eadr),
// also during the recovery of the open that follows; the recovered pool must
// equal the model before or after the interrupted operation.
//
// Invariants: everything random comes from the one Prng of the seed, so
// (seed, ops) replays a run exactly; the model is updated only when the pool
// says an operation succeeded (or a crash image shows it took effect);
// expected errors (out of space, log full, too large, aborted) leave the
// model unchanged and are checked at once; any other mismatch, error or core
// trap ends the run with a TortureFailure naming the seed, the operation
// index, how to replay it and the tail of the operation log. Plain
// TypeScript, no vitest import: scripts/soak.mjs bundles it.

import { Pool, type Tx } from '../../src/pool.js';
import { Prng } from '../../src/prng.js';
import { CRASH_MODES, type CrashMode } from '../../src/crash/modes.js';
import { LogFullError, OutOfSpaceError, PheapError, TxAbortedError, TxTooLargeError } from '../../src/errors.js';
import { CrashBackend, CrashSignal } from './crash-backend.js';
import { KNOWN, Model, TYPE_ROOT } from './model.js';

const LAYOUT = 'pheap-torture';
const KiB = 1024;
const CHUNK = 64 * KiB;
const DIR_TYPE = 99;
const DIR_SLOTS = 64;
const LOG_TAIL = 25;
/** The pool starts at poolSize and may grow to this many times it (then runs out of space): growth under crashes. */
const GROWTH = 4;
/** Operations after a crash during which crashes are armed more often. */
const HOT_OPS = 8;

export interface TortureOptions {
  seed: number;
  /** Operations to run. */
  ops: number;
  /** Initial pool size in bytes (default 512 KiB); it grows to at most 4× that (small enough to run out of space). */
  poolSize?: number;
  /** Percent of operations before which a crash is armed (default 10; 40 for a few operations after a crash). */
  crashPercent?: number;
  /**
   * The cache model (Backend.evicts): true models pmem (an eager undo log,
   * every crash mode), false a backend only drains write (a deferred log;
   * strict and pending crashes). Default: odd seeds true, even seeds false.
   */
  evicts?: boolean;
}

/** The cache model a run uses (TortureOptions.evicts). */
export function tortureEvicts(opts: Pick<TortureOptions, 'seed' | 'evicts'>): boolean {
  return opts.evicts ?? opts.seed % 2 === 1;
}

export interface TortureStats {
  ops: number;
  /** Crashes injected inside operations, and inside the recovery of an open. */
  crashes: number;
  recoveryCrashes: number;
  /** Crashes per mode. */
  modes: Record<CrashMode, number>;
  /** Times the whole pool was compared with the model. */
  states: number;
  /** Crashes after which the pool held the interrupted operation's effect (not the state before it). */
  crashedAfter: number;
  /** Operations that ended in an expected error (out of space, log full, aborts), by error name. */
  errors: Record<string, number>;
  /** Operations that grew the pool (returned, or crashed after the growth committed). */
  growths: number;
}

/** A run that found the pool and the model disagreeing (or the core failing). */
export class TortureFailure extends Error {
  constructor(readonly seed: number, readonly opIndex: number, detail: string, tail: string[], ops: number) {
    super(`torture seed ${seed} failed at operation ${opIndex}: ${detail}\n` +
      `  replay: ${replayLine(seed, ops)}\n  last operations:\n${tail.map((l) => `    ${l}`).join('\n')}`);
    this.name = 'TortureFailure';
  }
}

/** The one line that replays a run. */
export function replayLine(seed: number, ops: number): string {
  return `PHEAP_TORTURE_SEED=${seed} PHEAP_TORTURE_OPS=${ops} npx vitest run test/torture.test.ts`;
}

/** Thrown by a transaction body to abort on purpose. */
class AbortSignal extends Error {}

/** What an operation leaves: the model after it and, for crash checks, how to recognise its effect. */
interface Step {
  label: string;
  /** Run it; returns the model after it. Throws on failure (the pool's error, or a CrashSignal). */
  run(): Model;
  /** After a crash inside run(): the model if the operation took effect, given the recovered pool; null if it cannot have. */
  after(recovered: Pool): Model | null;
  /** A raw write: after a crash each of its bytes may be old or new. */
  torn?: Torn;
}

interface Torn { off: number; len: number; data: Uint8Array }

/**
 * A transaction body's shape and what it did: its sub-operations, whether a
 * nested level aborted it; `allocatorOnly` bodies only allocate and free
 * (no `into`), so their first log write is the commit's one drain of several
 * allocator-word entries; `short` bodies (right after a crash) have at most
 * three sub-operations and often abort, rolling back over whatever the
 * interrupted operation left in the log.
 */
interface TxLog { plan: string[]; aborted: boolean; allocatorOnly: boolean; short: boolean }

/** Errors an operation may end with, leaving the pool as it was. */
function expectedError(e: unknown): string | null {
  if (e instanceof AbortSignal) return 'abort';
  for (const cls of [OutOfSpaceError, LogFullError, TxTooLargeError, TxAbortedError]) if (e instanceof cls) return cls.name;
  return null;
}

class Run {
  private readonly rng: Prng;
  private readonly size: number;
  private pool!: Pool;
  private backend!: CrashBackend;
  private model = new Model();
  private readonly log: string[] = [];
  private opIndex = -1;
  /** The next alloc is a large align64 one (set after a big transaction). */
  private alignedNext = false;
  /** Operation index of the last crash. */
  private lastCrashOp = -Infinity;
  readonly stats: TortureStats;
  private readonly evicts: boolean;
  /** The crash modes the cache model allows. */
  private readonly modes: readonly CrashMode[];

  constructor(private readonly opts: TortureOptions) {
    this.rng = new Prng(opts.seed);
    this.evicts = tortureEvicts(opts);
    this.modes = this.evicts ? CRASH_MODES : ['strict', 'pending'];
    this.size = opts.poolSize ?? 512 * KiB;
    this.stats = { ops: 0, crashes: 0, recoveryCrashes: 0, modes: { strict: 0, pending: 0, evict: 0, tear8: 0, eadr: 0 }, states: 0, crashedAfter: 0, errors: {}, growths: 0 };
  }

  // ─── random choices ───────────────────────────────────────────────────────

  private pick<T>(xs: readonly T[]): T { return xs[this.rng.below(xs.length)]; }
  private range(lo: number, hi: number): number { return lo + this.rng.below(hi - lo + 1); }
  private percent(p: number): boolean { return this.rng.below(100) < p; }

  /** Sizes from 1 B to three chunks, mostly small. */
  private objectSize(): number {
    const r = this.rng.below(100);
    if (r < 50) return this.range(1, 256);
    if (r < 80) return this.range(257, 16 * KiB);
    return this.range(16 * KiB, 3 * CHUNK);
  }

  private slot(): number { return this.model.dirOff + 4 * this.rng.below(DIR_SLOTS); }

  /** A directory slot that holds `off`, or undefined. */
  private slotOf(m: Model, off: number): number | undefined {
    for (let k = 0; k < DIR_SLOTS; k++) if (m.readU32(m.dirOff + 4 * k) === off) return m.dirOff + 4 * k;
    return undefined;
  }

  /** A random range inside a random live object of `m`: up to `max` bytes. */
  private target(m: Model, max: number): { off: number; len: number } {
    const base = this.pick([...m.objects.keys()]);
    const size = m.objects.get(base)!.bytes.length;
    const len = this.range(1, Math.min(size, max));
    return { off: base + this.rng.below(size - len + 1), len };
  }

  private data(len: number): Uint8Array { return this.rng.bytes(new Uint8Array(len)); }

  private u32(v: number): Uint8Array { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); return b; }

  // ─── set-up, crash and reopen ─────────────────────────────────────────────

  setup(): void {
    this.backend = new CrashBackend(this.size, undefined, this.evicts);
    this.pool = Pool.create({ backend: this.backend, size: this.size, maxSize: GROWTH * this.size, layout: LAYOUT, seed: this.opts.seed, debug: true });
    this.model.rootOff = this.pool.root(64);
    this.model.add(this.model.rootOff, TYPE_ROOT, 64, true, false, -1);
    const dir = this.pool.alloc(4 * DIR_SLOTS, { type: DIR_TYPE, zero: true });
    this.model.add(dir, DIR_TYPE, 4 * DIR_SLOTS, true, false, -1);
    this.model.dirOff = dir;
    this.pool.writeU32(this.model.rootOff, dir);
    this.pool.persist(this.model.rootOff, 4);
    this.model.writeU32(this.model.rootOff, dir);
    this.watch();
  }

  /**
   * Let the backend close the pool when it crashes: no abort then runs on a
   * core whose stack was torn down, and the closed pool's memory and core can
   * be recycled by the next open (which forgets all volatile state; a fresh
   * 18 MiB memory per crash would dominate the run).
   */
  private watch(): void {
    this.backend.onCrash = () => this.pool.close();
  }

  private maybeArm(percent: number, maxCountdown: number): void {
    if (this.backend.armed || !this.percent(percent)) return;
    this.backend.arm({ countdown: this.rng.below(maxCountdown), mode: this.pick(this.modes), seed: this.rng.next() });
  }

  /** Open `image` (recovery runs), crashing during the open now and then; returns the open pool. */
  private reopen(image: Uint8Array): void {
    for (;;) {
      this.backend = new CrashBackend(image.length, image, this.evicts);
      this.watch();
      if (this.stats.recoveryCrashes < 4 * (this.stats.crashes + 1)) this.maybeArm(30, 4);
      try {
        this.pool = Pool.open({ backend: this.backend, layout: LAYOUT, debug: true, recycle: this.pool, maxSize: GROWTH * this.size });
        this.backend.arm(null);
        return;
      } catch (e) {
        if (!(e instanceof CrashSignal)) throw e;
        this.stats.recoveryCrashes++;
        this.stats.modes[e.mode]++;
        this.note(`  crash (${e.mode}) during recovery`);
        image = e.image;
      }
    }
  }

  // ─── checking ─────────────────────────────────────────────────────────────

  private note(line: string): void {
    this.log.push(line);
    if (this.log.length > LOG_TAIL) this.log.shift();
  }

  fail(detail: string): never {
    throw new TortureFailure(this.opts.seed, this.opIndex, detail, this.log, this.opts.ops);
  }

  private verify(m: Model, what: string): void {
    this.stats.states++;
    const p = m.problems(this.pool);
    if (p.length > 0) this.fail(`${what}: the pool differs from the model:\n    ${p.slice(0, 8).join('\n    ')}`);
  }

  /** After a crash inside `step`: reopen, and accept the model before or after it. */
  private recover(step: Step, before: Model, signal: CrashSignal): void {
    this.stats.crashes++;
    this.stats.modes[signal.mode]++;
    this.lastCrashOp = this.opIndex;
    this.note(`  crash (${signal.mode}) inside it`);
    this.reopen(signal.image);
    const skip = step.torn;
    const after = step.after(this.pool);
    const candidates: [string, Model][] = [['before', before]];
    if (after) candidates.push(['after', after]);
    const seen: string[] = [];
    for (const [name, m] of candidates) {
      this.stats.states++;
      const p = m.problems(this.pool, skip);
      if (p.length === 0 && (!skip || this.tornOk(before, skip))) {
        if (skip) m.adopt(this.pool, skip.off, skip.len);
        if (name === 'after') this.stats.crashedAfter++;
        this.model = m;
        return;
      }
      seen.push(`compared with the model ${name} the operation:\n      ${(p.length ? p : ['written bytes are neither old nor new']).slice(0, 6).join('\n      ')}`);
    }
    this.fail(`after a ${signal.mode} crash inside "${step.label}" and recovery, the pool is neither before nor after it:\n    ${seen.join('\n    ')}`);
  }

  /** Every byte of a raw write interrupted by a crash is its old (if known) or its new value. */
  private tornOk(before: Model, w: Torn): boolean {
    const got = this.pool.readBytes(w.off, w.len);
    const { base, obj } = before.locate(w.off, w.len);
    const data = w.data;
    for (let i = 0; i < w.len; i++) {
      const at = w.off - base + i;
      if (got[i] !== data[i] && obj.known[at] === KNOWN && got[i] !== obj.bytes[at]) return false;
    }
    return true;
  }

  // ─── one operation ────────────────────────────────────────────────────────

  step(i: number): void {
    this.opIndex = i;
    // Right after a crash the log may hold leftovers of the interrupted operation: crash again soon, often.
    const hot = i - this.lastCrashOp <= HOT_OPS;
    this.maybeArm(hot ? 40 : this.opts.crashPercent ?? 10, hot ? 6 : 12);
    const step = this.chooseStep();
    this.note(`#${i} ${step.label}`);
    const before = this.model.clone();
    const size = this.pool.size;
    try {
      this.model = step.run();
      this.stats.ops++;
      if (this.pool.size > size) this.stats.growths++;
    } catch (e) {
      this.stats.ops++;
      if (e instanceof TortureFailure) throw e;
      if (e instanceof CrashSignal) {
        this.recover(step, before, e);
        if (this.pool.size > size) this.stats.growths++; // grew, and the growth survived the crash
        return;
      }
      const name = expectedError(e);
      if (name === null) this.fail(`"${step.label}" threw ${e instanceof PheapError ? `${e.name} (${e.code})` : ''}: ${(e as Error).stack ?? e}`);
      this.stats.errors[name] = (this.stats.errors[name] ?? 0) + 1;
      this.note(`  → ${name}`);
      this.model = before;
      this.verify(before, `after "${step.label}" failed with ${name}`);
      return;
    }
    if (i % 4 === 3) this.verify(this.model, `after "${step.label}"`);
  }

  /** Disarm, compare the pool with the model one last time, close. */
  finish(): void {
    this.backend.arm(null);
    this.verify(this.model, 'at the end');
    this.pool.close();
  }

  private chooseStep(): Step {
    const full = this.model.liveBytes() > GROWTH * this.size * 0.6;
    const table: [number, () => Step][] = [
      [this.alignedNext ? 1000 : full ? 8 : 20, () => this.allocStep()],
      [full ? 20 : 10, () => this.freeStep()],
      [10, () => this.reallocStep()],
      [3, () => this.rootStep()],
      [15, () => this.writeStep()],
      [16, () => this.txStep()],
      [3, () => this.bigTxStep()],
      [6, () => this.batchStep()],
      [2, () => this.reopenStep()],
    ];
    let r = this.rng.below(table.reduce((s, [w]) => s + w, 0));
    for (const [w, make] of table) {
      if (r < w) return make();
      r -= w;
    }
    throw new Error('unreachable');
  }

  /** Objects in `recovered` that `m` does not have. */
  private fresh(recovered: Pool, m: Model): number[] {
    return [...recovered.objects()].filter((o) => !m.objects.has(o));
  }

  private allocStep(): Step {
    const big = this.alignedNext;
    this.alignedNext = false;
    const size = big ? this.range(CHUNK / 2, 2 * CHUNK) : this.objectSize();
    const type = this.rng.below(6);
    const zero = this.rng.coin();
    const align64 = big || this.percent(30);
    const into = this.percent(40) ? this.slot() : undefined;
    const m = this.model;
    const apply = (to: Model, off: number): Model => {
      to.add(off, type, size, zero, align64, this.opIndex);
      if (into !== undefined) to.writeU32(into, off);
      return to;
    };
    return {
      label: `alloc(${size}, {type: ${type}${zero ? ', zero' : ''}${align64 ? ', align64' : ''}${into !== undefined ? `, into: ${into}` : ''}})`,
      run: () => apply(m.clone(), this.pool.alloc(size, { type, zero, align64, into })),
      after: (p) => { const f = this.fresh(p, m); return f.length === 1 ? apply(m.clone(), f[0]) : null; },
    };
  }

  private freeStep(): Step {
    const m = this.model;
    const users = m.userObjects();
    if (users.length === 0) return this.allocStep();
    const off = this.pick(users);
    const from = this.percent(40) ? this.slotOf(m, off) ?? this.slot() : undefined;
    const apply = (to: Model): Model => {
      to.remove(off);
      if (from !== undefined) to.writeU32(from, 0);
      return to;
    };
    return {
      label: `free(${off}${from !== undefined ? `, {from: ${from}}` : ''})`,
      run: () => { this.pool.free(off, { from }); return apply(m.clone()); },
      after: () => apply(m.clone()),
    };
  }

  private reallocStep(): Step {
    const m = this.model;
    const users = m.userObjects();
    if (users.length === 0) return this.allocStep();
    const off = this.pick(users);
    const old = m.objects.get(off)!.bytes.length;
    const size = this.rng.coin() ? this.range(1, old) : this.objectSize() + old;
    // `into`: the slot that points at the object, as a program would publish a moved object.
    const into = this.percent(50) ? this.slotOf(m, off) : undefined;
    const apply = (to: Model, at: number): Model => {
      to.resize(off, at, size, this.opIndex);
      if (into !== undefined) to.writeU32(into, at);
      return to;
    };
    return {
      label: `realloc(${off}${m.objects.get(off)!.align64 ? ' align64' : ''}, ${old} → ${size}${into !== undefined ? `, {into: ${into}}` : ''})`,
      run: () => apply(m.clone(), this.pool.realloc(off, size, { into })),
      after: (p) => {
        const f = this.fresh(p, m);
        if (f.length === 1) return apply(m.clone(), f[0]);
        return f.length === 0 && p.isLive(off) && p.sizeOf(off) === size ? apply(m.clone(), off) : null;
      },
    };
  }

  private rootStep(): Step {
    const m = this.model;
    const old = m.objects.get(m.rootOff)!.bytes.length;
    const size = this.rng.coin() ? this.range(1, old) : old + this.objectSize();
    const grow = (to: Model, at: number): Model => { if (size > old) to.resize(m.rootOff, at, size, this.opIndex); return to; };
    return {
      label: `root(${size}) (root ${m.rootOff}, ${old} B)`,
      run: () => grow(m.clone(), this.pool.root(size)),
      after: (p) => (size > old ? grow(m.clone(), p.root(1)) : null),
    };
  }

  private writeStep(): Step {
    const m = this.model;
    const { off, len } = this.target(m, 4 * KiB);
    const data = this.data(len);
    return {
      label: `writeBytes(${off}, ${len} B) + persist`,
      run: () => {
        this.pool.writeBytes(off, data);
        this.pool.persist(off, len);
        const to = m.clone();
        to.write(off, data);
        return to;
      },
      after: () => null,
      torn: { off, len, data },
    };
  }

  private reopenStep(): Step {
    return {
      label: 'close + open',
      run: () => {
        const image = this.backend.durableImage();
        this.backend.arm(null);
        this.pool.close();
        this.reopen(image);
        return this.model;
      },
      after: () => null,
    };
  }

  // ─── transactions ─────────────────────────────────────────────────────────

  /** A transaction of a few random sub-operations; it may nest and abort. */
  private txStep(): Step {
    const m = this.model;
    let done: Model | null = null;
    const seed = this.rng.next();
    const log: TxLog = { plan: [], aborted: false, allocatorOnly: this.rng.below(3) === 0, short: this.opIndex - this.lastCrashOp <= HOT_OPS };
    return {
      label: `tx (body seed ${seed})`,
      run: () => {
        const rng = new Prng(seed);
        const work = m.clone();
        try {
          this.pool.tx((tx) => {
            this.txBody(tx, work, rng, 0, log);
            if (log.short && rng.below(3) === 0) { log.plan.push('throw (abort)'); throw new AbortSignal('abort'); }
            if (!log.aborted) done = work; // the commit may now take effect
          });
        } finally {
          this.note(`  tx body: ${log.plan.join('; ')}`);
        }
        return work;
      },
      after: () => done,
    };
  }

  /** Sub-operations of a tx on `work` (the model if it commits). */
  private txBody(tx: Tx, work: Model, rng: Prng, depth: number, log: TxLog): void {
    const plan = log.plan;
    const n = 1 + rng.below(log.short ? 3 : 6);
    const allocatorOnly = depth === 0 && log.allocatorOnly;
    for (let k = 0; k < n; k++) {
      const r = allocatorOnly ? 30 + rng.below(44) : rng.below(100);
      if (r < 30) this.txSet(tx, work, rng, log);
      else if (r < 50) this.txAlloc(tx, work, rng, log);
      else if (r < 62) this.txFree(tx, work, rng, log);
      else if (r < 74) this.txRealloc(tx, work, rng, log);
      else if (r < 84 && depth < 2) this.txNested(work, rng, depth, log);
      else if (r < 92) { plan.push('throw (abort)'); throw new AbortSignal('abort'); }
      else this.txSet(tx, work, rng, log);
      if (log.aborted) return;
    }
  }

  private txSet(tx: Tx, work: Model, rng: Prng, log: TxLog): void {
    const plan = log.plan;
    const base = [...work.objects.keys()][rng.below(work.objects.size)];
    const size = work.objects.get(base)!.bytes.length;
    if (size >= 4 && rng.coin()) {
      const off = base + 4 * rng.below(size >> 2);
      const v = rng.next();
      plan.push(`setU32(${off})`);
      tx.setU32(off, v);
      work.write(off, this.u32(v));
      return;
    }
    const len = 1 + rng.below(Math.min(size, rng.coin() ? 16 : 2 * KiB)); // ≤ 16 B: one 32-byte log entry
    const off = base + rng.below(size - len + 1);
    const data = rng.bytes(new Uint8Array(len));
    plan.push(`setBytes(${off}, ${len})`);
    tx.setBytes(off, data);
    work.write(off, data);
  }

  private txAlloc(tx: Tx, work: Model, rng: Prng, log: TxLog): void {
    const plan = log.plan;
    const size = rng.coin() ? 1 + rng.below(512) : 1 + rng.below(2 * CHUNK);
    const align64 = rng.below(3) === 0;
    const zero = rng.coin();
    const into = !log.allocatorOnly && rng.coin() ? work.dirOff + 4 * rng.below(DIR_SLOTS) : undefined;
    const type = 1 + rng.below(5);
    plan.push(`alloc(${size}${align64 ? ' align64' : ''}${zero ? ' zero' : ''}${into !== undefined ? ` into ${into}` : ''})`);
    const off = tx.alloc(size, { type, zero, align64, into });
    work.add(off, type, size, zero, align64, this.opIndex);
    if (into !== undefined) work.writeU32(into, off);
  }

  private txFree(tx: Tx, work: Model, rng: Prng, log: TxLog): void {
    const plan = log.plan;
    const users = work.userObjects();
    if (users.length === 0) return;
    const off = users[rng.below(users.length)];
    const from = !log.allocatorOnly && rng.coin() ? this.slotOf(work, off) : undefined;
    plan.push(`free(${off}${from !== undefined ? ` from ${from}` : ''})`);
    tx.free(off, { from });
    work.remove(off);
    if (from !== undefined) work.writeU32(from, 0);
  }

  private txRealloc(tx: Tx, work: Model, rng: Prng, log: TxLog): void {
    const plan = log.plan;
    const users = work.userObjects();
    if (users.length === 0) return;
    const off = users[rng.below(users.length)];
    const old = work.objects.get(off)!.bytes.length;
    const size = rng.coin() ? 1 + rng.below(old) : old + 1 + rng.below(CHUNK);
    const into = !log.allocatorOnly && rng.coin() ? this.slotOf(work, off) : undefined;
    plan.push(`realloc(${off}, ${old} → ${size}${into !== undefined ? ` into ${into}` : ''})`);
    const at = tx.realloc(off, size, { into });
    work.resize(off, at, size, this.opIndex);
    if (into !== undefined) work.writeU32(into, at);
  }

  /**
   * A nested level. When it aborts, the whole transaction is aborted: the
   * outer level either lets the abort through or catches it, checks that
   * further work is refused (TxAbortedError) and returns — then the commit
   * must fail with TxAbortedError too.
   */
  private txNested(work: Model, rng: Prng, depth: number, log: TxLog): void {
    const plan = log.plan;
    plan.push('tx {');
    const inner = work.clone();
    const catchIt = rng.coin();
    try {
      this.pool.tx((tx) => this.txBody(tx, inner, rng, depth + 1, log));
    } catch (e) {
      if (!(e instanceof AbortSignal) || !catchIt) throw e;
      plan.push('} caught the abort');
      log.aborted = true;
      let refused = false;
      try {
        this.pool.tx((tx) => tx.setU32(work.rootOff + 60, 1));
      } catch (e2) {
        if (!(e2 instanceof TxAbortedError)) throw e2;
        refused = true;
      }
      if (!refused) this.fail('a write inside a transaction that a nested level aborted was accepted');
      return;
    }
    plan.push('}');
    if (!log.aborted) Model.assign(work, inner);
  }

  /**
   * A group-commit batch: 1–6 txAsync members, each a transaction body of its
   * own (some throw, some abort a nested level), committed by commitBatch().
   * The model applies the members that succeeded, in order; a crash inside
   * the batch leaves all of them or none. A crash inside a member (its
   * drains, eager log) rejects its promise rather than escaping: it is
   * caught here and rethrown, as the process would have died.
   */
  private batchStep(): Step {
    const m = this.model;
    let done: Model | null = null;
    const seeds = Array.from({ length: 1 + this.rng.below(6) }, () => this.rng.next());
    return {
      label: `batch of ${seeds.length} txAsync (body seeds ${seeds.join(', ')})`,
      run: () => {
        let work = m.clone();
        let crash: CrashSignal | null = null;
        for (const seed of seeds) {
          const log: TxLog = { plan: [], aborted: false, allocatorOnly: false, short: false };
          let result: Model | null = null;
          const base = work;
          this.pool.txAsync((tx) => {
            const rng = new Prng(seed);
            const mine = base.clone();
            log.plan.length = 0;
            try {
              this.txBody(tx, mine, rng, 0, log);
              if (rng.below(4) === 0) { log.plan.push('throw (member fails)'); throw new AbortSignal('abort'); }
            } catch (e) {
              if (e instanceof CrashSignal) crash = e;
              throw e;
            }
            if (!log.aborted) result = mine;
          }).catch(() => { /* a failing member: the model leaves it out */ });
          this.note(`  member ${seed}: ${log.plan.join('; ')}${result ? '' : ' → rolled back'}`);
          if (crash) throw crash;
          if (result) work = result;
        }
        done = work;
        this.pool.commitBatch();
        return work;
      },
      after: () => done,
    };
  }

  /** A transaction snapshotting more than the fixed log holds (the log grows extension blocks). */
  private bigTxStep(): Step {
    const m = this.model;
    let done: Model | null = null;
    const users = m.userObjects().filter((o) => m.objects.get(o)!.bytes.length >= 4 * KiB);
    const picks = users.length > 0 ? Array.from({ length: 1 + this.rng.below(6) }, () => this.pick(users)) : [];
    const abort = this.percent(20);
    const seed = this.rng.next();
    // The big tx frees its extension blocks: an aligned large object allocated next may land on one.
    this.alignedNext = this.rng.coin();
    return {
      label: `big tx over objects ${picks.join(', ')}${abort ? ', abort' : ''}`,
      run: () => {
        const rng = new Prng(seed);
        const work = m.clone();
        this.pool.tx((tx) => {
          for (const off of picks) {
            const data = rng.bytes(new Uint8Array(work.objects.get(off)!.bytes.length));
            tx.setBytes(off, data);
            work.write(off, data);
          }
          if (abort) throw new AbortSignal('abort');
          done = work;
        });
        return work;
      },
      after: () => done,
    };
  }
}

/** Run one seeded torture run; throws TortureFailure when the pool and the model disagree. */
export function runTorture(opts: TortureOptions): TortureStats {
  const run = new Run(opts);
  run.setup();
  for (let i = 0; i < opts.ops; i++) {
    try {
      run.step(i);
    } catch (e) {
      if (e instanceof TortureFailure) throw e;
      run.fail(`unexpected ${(e as Error).stack ?? e}`);
    }
  }
  run.finish();
  return run.stats;
}
