// adv2-model.ts — the reference model and the seeded random driver of the
// adversarial group-commit tests (test/adversarial-group.test.ts).
//
// Owns: the shape of the test pool (a root of value slots, pointer slots that
// `into` / `from` publish objects in, one raw slot written only by
// write + persist), the model State of that shape, and `Driver`, which runs
// one seeded random interleaving of txAsync (awaited or not, failing, with
// nested tx() that aborts and is swallowed, with hand drains), tx(),
// beginTx/commitTx/abortTx, commitBatch(), plain alloc/free/realloc with
// `into`/`from`, close + reopen and crash() against the public API only.
//
// Invariants the driver keeps and checks:
// - `cur` is what the pool must show now; `committed` is what a crash must
//   leave (batches all-or-nothing and in order; the open batch is lost);
//   the driver moves `committed` only at the documented commit points
//   (an awaited member, commitBatch(), close(), tx()/beginTx() at the top
//   level, the maxBatch-th successful member).
// - every txAsync promise settles as the model predicts: resolved (with fn's
//   result) iff its member succeeded and its batch committed; rejected with
//   the member's own error when it failed, with a PheapError when a crash
//   dropped its batch.
// - at every quiet point (no batch open) the pool's slots, its live objects
//   (set and count by type, type, size, tag) equal the model and check() passes.
// Every choice comes from one Prng seeded by the run's seed, so a seed and a
// config name replay a run exactly.

import * as fs from 'node:fs';
import { expect } from 'vitest';
import { Pool, Prng, MemoryBackend, PheapError, TxAbortedError, TxStateError, type CrashMode, type Tx } from '../../src/index.js';
import { TYPE_ROOT } from './model.js';

export const POOL_SIZE = 1 << 20;
export const LAYOUT = 'adv2';
/** Value slots (u32) at root + 4*i. */
export const SLOTS = 12;
/** Pointer slots (u32) at root + PTR_BASE + 4*j: 0 or the offset of an object this test owns. */
export const PTRS = 4;
const PTR_BASE = 64;
/** A u32 written only by raw write + persist, outside every transaction. */
const RAW_AT = 96;
export const ROOT_SIZE = 128;
const TYPES = [1, 2, 3];

export interface Obj { off: number; type: number; size: number; tag: number }
export interface State { vals: number[]; ptrs: (Obj | null)[]; raw: number }

const clone = (s: State): State => ({ vals: [...s.vals], ptrs: s.ptrs.map((o) => (o ? { ...o } : null)), raw: s.raw });
const emptyState = (): State => ({ vals: new Array(SLOTS).fill(0), ptrs: new Array(PTRS).fill(null), raw: 0 });

export interface DriverConfig {
  name: string;
  backend: 'memory' | 'file';
  evicts: boolean;
  /** groupCommit.maxBatch (default: the pool's default, 1024). */
  maxBatch?: number;
  /** groupCommit.maxDelayMs. */
  maxDelayMs?: number;
  /** Relative weight of crash steps (default 1). */
  crashWeight?: number;
  /** Where file pools go. */
  file?: string;
}

/** One planned action of a transaction body. */
type Action =
  | { k: 'set'; slot: number; v: number }
  | { k: 'ptr'; slot: number; choice: number; size: number; type: number; tag: number }
  | { k: 'persist' } | { k: 'drain' }
  | { k: 'nestOk'; slot: number; v: number };
interface Plan { actions: Action[]; nestedAbort: boolean; throwAtEnd: boolean; result: number }

/** How a txAsync promise must settle. */
type Expect = 'pending' | 'resolve' | 'reject-own' | 'reject-crash';
interface Member {
  id: number; expect: Expect; result: number;
  /** reject-own: the very error fn threw, else the PheapError class the pool must reject with. */
  err?: unknown; errClass?: typeof PheapError;
  promise?: Promise<unknown>;
  settled?: { ok: boolean; v: unknown };
}

/** The line that replays a run. */
export function replayLine(cfg: DriverConfig, seed: number): string {
  return `PHEAP_ADV2_SEED=${seed} npx vitest run test/adversarial-group.test.ts -t '${cfg.name}'`;
}

export class Driver {
  pool!: Pool;
  private rng: Prng;
  cur: State = emptyState();
  committed: State = emptyState();
  /** Successful members in the open batch. */
  private batchCount = 0;
  private open: Member[] = [];
  private members: Member[] = [];
  private image: Uint8Array | null = null;
  private backendRef: MemoryBackend | null = null;
  root = 0;
  readonly counts = { steps: 0, members: 0, failed: 0, crashes: 0, reopens: 0, txs: 0 };
  private trail: string[] = [];

  constructor(readonly cfg: DriverConfig, readonly seed: number) {
    this.rng = new Prng(`${cfg.name}:${seed}`);
  }

  private fail(msg: string): never {
    throw new Error(`${msg}\n  after: ${this.trail.slice(-12).join(' | ')}\n  replay: ${replayLine(this.cfg, this.seed)}`);
  }

  private opts() {
    const gc: Record<string, number> = {};
    if (this.cfg.maxBatch !== undefined) gc.maxBatch = this.cfg.maxBatch;
    if (this.cfg.maxDelayMs !== undefined) gc.maxDelayMs = this.cfg.maxDelayMs;
    return { layout: LAYOUT, evicts: this.cfg.evicts, groupCommit: gc };
  }

  /** Create the pool (seeded, so equal runs give equal bytes). */
  start(): void {
    if (this.cfg.backend === 'file') {
      this.pool = Pool.create({ ...this.opts(), path: this.cfg.file!, backend: 'file', durability: 'os', size: POOL_SIZE, seed: 7 });
    } else {
      this.backendRef = new MemoryBackend(POOL_SIZE, 'os', undefined, { evicts: this.cfg.evicts });
      this.pool = Pool.create({ ...this.opts(), backend: this.backendRef, size: POOL_SIZE, seed: 7 });
    }
    this.root = this.pool.root(ROOT_SIZE);
  }

  /** The durable bytes of a closed pool. */
  closedImage(): Uint8Array {
    if (this.cfg.backend === 'file') return new Uint8Array(fs.readFileSync(this.cfg.file!));
    return this.image ?? this.backendRef!.durableImage();
  }

  /** Open the closed pool again; a memory pool from `image` (default: the closed pool's durable bytes). */
  private reopen(image?: Uint8Array): void {
    if (this.cfg.backend === 'file') {
      this.pool = Pool.open({ ...this.opts(), path: this.cfg.file!, backend: 'file', durability: 'os' });
    } else {
      this.image = image ?? this.closedImage();
      this.pool = Pool.open({ ...this.opts(), image: this.image });
    }
    this.counts.reopens++;
    if (this.pool.info().evicts !== this.cfg.evicts) this.fail(`reopened with evicts ${this.pool.info().evicts}, asked ${this.cfg.evicts}`);
    this.root = this.pool.root(ROOT_SIZE);
  }

  // ─── plans ──────────────────────────────────────────────────────────────

  private plan(failRate: number): Plan {
    const r = this.rng;
    const actions: Action[] = [];
    const n = 1 + r.below(4);
    for (let i = 0; i < n; i++) {
      const c = r.below(10);
      if (c < 5) actions.push({ k: 'set', slot: r.below(SLOTS), v: r.next() });
      else if (c < 8) actions.push({ k: 'ptr', slot: r.below(PTRS), choice: r.below(2), size: 8 + r.below(200), type: TYPES[r.below(3)], tag: r.next() });
      else if (c === 8) actions.push(r.coin() ? { k: 'persist' } : { k: 'drain' });
      else actions.push({ k: 'nestOk', slot: r.below(SLOTS), v: r.next() });
    }
    const fails = r.below(100) < failRate;
    const nestedAbort = fails && r.coin();
    return { actions, nestedAbort, throwAtEnd: fails && (!nestedAbort || r.coin()), result: r.next() };
  }

  /** Run `plan` with `tx` on `draft` (the model of what it does). Throws as the plan says. */
  private body(tx: Tx, plan: Plan, draft: State, inBatch = false): number {
    const p = this.pool;
    for (const a of plan.actions) {
      if (a.k === 'set') { tx.setU32(this.root + 4 * a.slot, a.v); draft.vals[a.slot] = a.v; }
      else if (a.k === 'nestOk') p.tx((t) => { t.setU32(this.root + 4 * a.slot, a.v); draft.vals[a.slot] = a.v; });
      else if (a.k === 'persist') p.persist(this.root, ROOT_SIZE);
      else if (a.k === 'drain') p.drain();
      else this.txPtr(tx, a, draft);
    }
    if (plan.nestedAbort) {
      try { p.tx((t) => { t.setU32(this.root, 0xdead); throw new Error('inner abort'); }); } catch { /* swallowed on purpose */ }
    }
    if (plan.throwAtEnd) throw new Error(`planned failure ${plan.result}`);
    return plan.result;
  }

  private txPtr(tx: Tx, a: Extract<Action, { k: 'ptr' }>, draft: State): void {
    const at = this.root + PTR_BASE + 4 * a.slot;
    const o = draft.ptrs[a.slot];
    if (!o) {
      const off = tx.alloc(a.size, { type: a.type, into: at });
      tx.setU32(off, a.tag);
      draft.ptrs[a.slot] = { off, type: a.type, size: a.size, tag: a.tag };
    } else if (a.choice === 0) {
      tx.free(o.off, { from: at });
      draft.ptrs[a.slot] = null;
    } else {
      const off = tx.realloc(o.off, a.size, { into: at });
      draft.ptrs[a.slot] = { ...o, off, size: a.size };
    }
  }

  /** Does the plan make its transaction fail (a nested abort, or its own throw)? */
  private static failed(plan: Plan): boolean { return plan.nestedAbort || plan.throwAtEnd; }

  // ─── steps ──────────────────────────────────────────────────────────────

  /** Record how `promise` settles on `m`. */
  private static watch(m: Member, promise: Promise<unknown>): void {
    m.promise = promise.then((v) => { m.settled = { ok: true, v }; }, (e) => { m.settled = { ok: false, v: e }; });
  }

  private batchCommitted(): void {
    this.committed = clone(this.cur);
    this.batchCount = 0;
    for (const m of this.open) m.expect = 'resolve';
    this.open = [];
  }

  private txAsyncStep(): Promise<unknown> {
    const plan = this.plan(25);
    let draft = clone(this.cur);
    let own: unknown;
    const m: Member = { id: this.members.length, expect: 'pending', result: plan.result };
    this.members.push(m);
    this.counts.members++;
    const promise = this.pool.txAsync((tx) => {
      draft = clone(this.cur); // a rerun (log full) starts again from the batch's view
      try { return this.body(tx, plan, draft, true); } catch (e) { own = e; throw e; }
    });
    Driver.watch(m, promise);
    if (Driver.failed(plan)) {
      m.expect = 'reject-own'; this.counts.failed++;
      if (plan.throwAtEnd) m.err = own; else m.errClass = TxAbortedError;
    } else {
      this.cur = draft; this.open.push(m); this.batchCount++;
      if (this.batchCount >= (this.cfg.maxBatch ?? 1024)) this.batchCommitted();
    }
    this.trail.push(`txAsync#${m.id}${Driver.failed(plan) ? '(fails)' : ''}`);
    return promise.catch(() => undefined);
  }

  private syncTxStep(): void {
    const plan = this.plan(30);
    this.batchCommitted(); // tx() at the top level commits the open batch first
    const draft = clone(this.cur);
    let caught: unknown;
    try { this.pool.tx((tx) => this.body(tx, plan, draft)); } catch (e) { caught = e; }
    this.trail.push(`tx${Driver.failed(plan) ? '(fails)' : ''}`);
    if (Driver.failed(plan)) {
      const want = plan.throwAtEnd ? Error : TxAbortedError;
      if (!(caught instanceof want)) this.fail(`tx(): expected ${want.name}, got ${String(caught)}`);
    } else {
      if (caught !== undefined) this.fail(`tx() threw ${String(caught)}`);
      this.cur = draft; this.committed = clone(draft);
    }
    this.counts.txs++;
  }

  /** beginTx, raw logged stores, a refused txAsync (nothing may run or change), then commit or abort. */
  private stepTxStep(): void {
    const p = this.pool;
    p.beginTx();
    this.batchCommitted();
    const draft = clone(this.cur);
    const slot = this.rng.below(SLOTS), v = this.rng.next();
    p.addRange(this.root + 4 * slot, 4);
    p.writeU32(this.root + 4 * slot, v);
    draft.vals[slot] = v;
    if (this.rng.coin()) p.drain();
    let ran = false;
    const refused = p.txAsync(() => { ran = true; });
    const m: Member = { id: this.members.length, expect: 'reject-own', result: 0, errClass: TxStateError };
    this.members.push(m);
    Driver.watch(m, refused);
    if (ran) this.fail('txAsync() inside beginTx() ran its function');
    const commit = this.rng.coin();
    if (commit) { p.commitTx(); this.cur = draft; this.committed = clone(draft); } else p.abortTx();
    this.trail.push(`beginTx/${commit ? 'commit' : 'abort'}`);
  }

  /** commitBatch, then plain (non-transactional) alloc/free/realloc with into/from, or a raw write + persist. */
  private plainStep(): void {
    const p = this.pool;
    p.commitBatch();
    this.batchCommitted();
    const r = this.rng;
    const slot = r.below(PTRS), at = this.root + PTR_BASE + 4 * slot;
    const o = this.cur.ptrs[slot];
    const c = r.below(3);
    if (c === 0) {
      const v = r.next();
      p.writeU32(this.root + RAW_AT, v); p.persist(this.root + RAW_AT, 4);
      this.cur.raw = v;
      this.trail.push('raw+persist');
    } else if (!o) {
      const size = 8 + r.below(200), type = TYPES[r.below(3)];
      const off = p.alloc(size, { type, into: at, zero: true });
      this.cur.ptrs[slot] = { off, type, size, tag: 0 };
      this.trail.push('alloc into');
    } else if (c === 1) {
      p.free(o.off, { from: at });
      this.cur.ptrs[slot] = null;
      this.trail.push('free from');
    } else {
      const size = 8 + r.below(200);
      const off = p.realloc(o.off, size, { into: at });
      this.cur.ptrs[slot] = { ...o, off, size };
      this.trail.push('realloc into');
    }
    this.committed = clone(this.cur);
  }

  private async closeReopenStep(): Promise<void> {
    this.pool.close(); // commits the open batch first
    this.batchCommitted();
    this.reopen();
    this.trail.push('close+reopen');
    await this.quiet();
  }

  private crashModes(): CrashMode[] {
    return this.cfg.evicts ? ['strict', 'pending', 'evict', 'tear8', 'eadr'] : ['strict', 'pending'];
  }

  private async crashStep(): Promise<void> {
    const modes = this.crashModes();
    const mode = modes[this.rng.below(modes.length)];
    const seed = this.rng.below(1000);
    if (!this.cfg.evicts) this.refusedCrash();
    this.pool = this.pool.crash({ mode, seed });
    for (const m of this.open) m.expect = 'reject-crash';
    this.open = [];
    this.batchCount = 0;
    this.cur = clone(this.committed);
    this.counts.crashes++;
    this.trail.push(`crash ${mode}:${seed}`);
    this.root = this.pool.root(ROOT_SIZE);
    await this.quiet();
    // Re-home the pool (a memory pool's image is then ours to read after close); the file
    // backend does the same, so both see one sequence of opens (byte-identical runs).
    const image = this.cfg.backend === 'memory' ? this.pool.durableImage() : undefined;
    this.pool.close();
    this.reopen(image);
  }

  /** A mode the cache model cannot have is refused, and the pool (batch included) is untouched. */
  private refusedCrash(): void {
    const before = this.pool.durableImage();
    const bad: CrashMode = (['evict', 'tear8', 'eadr'] as const)[this.rng.below(3)];
    let e: unknown;
    try { this.pool.crash({ mode: bad, seed: 1 }); } catch (x) { e = x; }
    if (!(e instanceof PheapError) || this.pool.isClosed) this.fail(`crash({ mode: '${bad}' }) on a non-evicting pool: ${String(e)}`);
    if (!Buffer.from(before).equals(Buffer.from(this.pool.durableImage()))) this.fail(`a refused crash('${bad}') changed the durable image`);
  }

  /** A new member, then await the batch's last successful member (it commits on the next turn / after maxDelayMs). */
  private async awaitStep(): Promise<void> {
    const mine = this.txAsyncStep();
    const last = this.open[this.open.length - 1];
    await (last ? last.promise : mine);
    this.batchCommitted();
    this.trail.push('await');
    await this.quiet();
  }

  /** Let settlements run, then check promises and (no batch open) the pool. */
  async quiet(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    this.checkMembers();
    if (this.open.length === 0) this.checkPool();
  }

  /** One random step. */
  async step(): Promise<void> {
    this.counts.steps++;
    const w = this.rng.below(100);
    const crashW = 4 * (this.cfg.crashWeight ?? 1);
    if (w < 35) void this.txAsyncStep();
    else if (w < 50) await this.awaitStep();
    else if (w < 58) this.syncTxStep();
    else if (w < 64) this.stepTxStep();
    else if (w < 72) this.commitBatchStep();
    else if (w < 82) this.plainStep();
    else if (w < 86) await this.closeReopenStep();
    else if (w < 86 + crashW) await this.crashStep();
    else this.commitBatchStep();
    if (this.open.length === 0) await this.quiet();
  }

  private commitBatchStep(): void {
    this.pool.commitBatch();
    this.batchCommitted();
    this.trail.push('commitBatch');
  }

  /** Commit what is open, check, close. */
  async finish(): Promise<void> {
    this.pool.commitBatch();
    this.batchCommitted();
    await this.quiet();
    this.pool.close();
  }

  // ─── checks ─────────────────────────────────────────────────────────────

  private checkMembers(): void {
    for (const m of this.members) {
      const s = m.settled;
      if (m.expect === 'pending') { if (s) this.fail(`member #${m.id} settled (${String(s.v)}) while its batch is open`); continue; }
      if (!s) this.fail(`member #${m.id} (${m.expect}) has not settled`);
      if (m.expect === 'resolve' && (!s.ok || s.v !== m.result)) this.fail(`member #${m.id} should resolve with ${m.result}: ${s.ok ? s.v : String(s.v)}`);
      if (m.expect === 'reject-crash' && (s.ok || !(s.v instanceof PheapError))) this.fail(`member #${m.id} of a crashed batch: ${s.ok ? 'resolved' : String(s.v)}`);
      if (m.expect === 'reject-own') {
        if (s.ok) this.fail(`failing member #${m.id} resolved`);
        const right = m.errClass ? s.v instanceof m.errClass : s.v === m.err;
        if (!right) this.fail(`failing member #${m.id} rejected with ${String(s.v)}, not ${m.errClass?.name ?? String(m.err)}`);
      }
    }
  }

  /** The pool equals `cur` (= `committed`: no batch is open). */
  checkPool(): void {
    const p = this.pool, s = this.cur;
    const diff: string[] = [];
    for (let i = 0; i < SLOTS; i++) if (p.readU32(this.root + 4 * i) !== s.vals[i]) diff.push(`slot ${i}: ${p.readU32(this.root + 4 * i)} != ${s.vals[i]}`);
    if (p.readU32(this.root + RAW_AT) !== s.raw) diff.push(`raw slot ${p.readU32(this.root + RAW_AT)} != ${s.raw}`);
    const want = new Map<number, Obj>();
    for (let j = 0; j < PTRS; j++) {
      const o = s.ptrs[j];
      const at = p.readU32(this.root + PTR_BASE + 4 * j);
      if (at !== (o?.off ?? 0)) diff.push(`pointer slot ${j}: ${at} != ${o?.off ?? 0}`);
      if (o) want.set(o.off, o);
      if (o && !p.isLive(o.off)) diff.push(`pointer slot ${j} names ${o.off} (type ${o.type}, ${o.size} B), which is not live`);
    }
    const live = [...p.objects()].filter((off) => p.typeOf(off) !== TYPE_ROOT);
    const countBy = (types: number[]) => TYPES.map((t) => types.filter((x) => x === t).length).join('/');
    const liveCounts = countBy(live.map((o) => p.typeOf(o))), wantCounts = countBy([...want.values()].map((o) => o.type));
    if (liveCounts !== wantCounts) diff.push(`live objects by type ${liveCounts} != ${wantCounts}`);
    for (const off of live) {
      const o = want.get(off);
      if (!o) { diff.push(`object ${off} is live but unowned`); continue; }
      if (p.typeOf(off) !== o.type || p.sizeOf(off) !== o.size || p.readU32(off) !== o.tag) diff.push(`object ${off}: type/size/tag ${p.typeOf(off)}/${p.sizeOf(off)}/${p.readU32(off)} != ${o.type}/${o.size}/${o.tag}`);
    }
    if (live.length !== want.size) diff.push(`${live.length} live objects, model has ${want.size}`);
    try { p.check(); } catch (e) { diff.push(`check(): ${String(e)}`); }
    if (diff.length) this.fail(`pool differs from the model: ${diff.slice(0, 6).join('; ')}`);
  }
}

/** Run `steps` random steps of `cfg` with `seed`; returns the driver (closed). */
export async function runDriver(cfg: DriverConfig, seed: number, steps: number): Promise<Driver> {
  const d = new Driver(cfg, seed);
  d.start();
  for (let i = 0; i < steps; i++) await d.step();
  await d.finish();
  expect(d.counts.steps).toBe(steps);
  return d;
}
