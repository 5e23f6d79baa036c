// store-torture.test.ts — Store operations under random crashes, against a model.
//
// Owns the Store's part of the torture method (test/helpers/torture.ts is the
// Pool's): a seeded generator runs random Store operations — putSync and
// removeSync on the main database and a named one, transactionSync with
// several writes, values from empty to 40 KiB (the pool, created at 128 KiB,
// grows) — on a CrashBackend (test/helpers/crash-backend.ts) armed now and
// then to crash at a random drain in a random crash mode, also inside the
// recovery of the open that follows. After a crash the reopened Store must
// hold exactly the model before or after the interrupted operation (every
// key and value of both databases) and pass pool.check(); after other
// operations it is compared every few steps. PHEAP_STORE_TORTURE_SEED=s and
// PHEAP_STORE_TORTURE_OPS=n run one seed longer.

import { describe, it, expect } from 'vitest';
import { CRASH_MODES, Pool, Prng, STORE_LAYOUT, Store, type CrashMode } from '../src/index.js';
import { CrashBackend, CrashSignal } from './helpers/crash-backend.js';

const OPS = Number(process.env.PHEAP_STORE_TORTURE_OPS ?? 1000);
const SEEDS = process.env.PHEAP_STORE_TORTURE_SEED !== undefined ? [Number(process.env.PHEAP_STORE_TORTURE_SEED)] : [1, 2, 3, 4, 5, 6];

type Db = 'main' | 'named';
/** The model: per database, encoded-key order does not matter here (compared as sorted JSON). */
type Model = Record<Db, Map<string, unknown>>;
type Write = { db: Db; key: unknown; value?: unknown };
type Op = { label: string; writes: Write[]; tx: boolean };

const clone = (m: Model): Model => ({ main: new Map(m.main), named: new Map(m.named) });

function apply(m: Model, op: Op): Model {
  const next = clone(m);
  for (const w of op.writes) {
    const k = JSON.stringify(w.key);
    if (w.value === undefined) next[w.db].delete(k); else next[w.db].set(k, w.value);
  }
  return next;
}

class Run {
  private readonly rng: Prng;
  private readonly modes: CrashMode[];
  private backend!: CrashBackend;
  private pool!: Pool;
  private dbs!: Record<Db, Store>;
  model: Model = { main: new Map(), named: new Map() };
  readonly stats = { ops: 0, crashes: 0, recoveryCrashes: 0, states: 0, after: 0, growths: 0 };

  constructor(readonly seed: number, private readonly evicts: boolean) {
    this.rng = new Prng(`store-torture:${seed}`);
    this.modes = evicts ? [...CRASH_MODES] : ['strict', 'pending'];
  }

  private attach(pool: Pool): void {
    this.pool = pool;
    const main = Store.attach(pool);
    this.dbs = { main, named: main.openDB('named') };
  }

  start(): void {
    this.backend = new CrashBackend(128 * 1024, undefined, this.evicts);
    this.backend.onCrash = () => this.pool.close();
    this.attach(Pool.create({ backend: this.backend, size: 128 * 1024, maxSize: 8 << 20, layout: STORE_LAYOUT, seed: this.seed, debug: true }));
  }

  private key(): unknown {
    const n = this.rng.below(40);
    switch (this.rng.below(3)) {
      case 0: return `k${n}`;
      case 1: return n;
      default: return ['a', n];
    }
  }

  private value(): unknown {
    const r = this.rng.below(10);
    if (r === 0) return '';
    if (r < 8) return { n: this.rng.below(1000), s: 'x'.repeat(this.rng.below(200)) };
    return new Uint8Array(1 + this.rng.below(40 * 1024)).fill(this.rng.below(256));
  }

  private write(): Write {
    const db: Db = this.rng.below(4) === 0 ? 'named' : 'main';
    return this.rng.below(3) === 0 ? { db, key: this.key() } : { db, key: this.key(), value: this.value() };
  }

  private nextOp(): Op {
    if (this.rng.below(4) === 0) {
      const writes = Array.from({ length: 2 + this.rng.below(3) }, () => this.write());
      return { label: `transactionSync of ${writes.length} writes`, writes, tx: true };
    }
    const w = this.write();
    return { label: `${w.value === undefined ? 'removeSync' : 'putSync'} on ${w.db}`, writes: [w], tx: false };
  }

  private run(op: Op): void {
    const one = (w: Write) => { if (w.value === undefined) this.dbs[w.db].removeSync(w.key as never); else this.dbs[w.db].putSync(w.key as never, w.value); };
    if (op.tx) this.dbs.main.transactionSync(() => op.writes.forEach(one));
    else one(op.writes[0]);
  }

  /** The Store's contents, as the model holds them. */
  private contents(): Model {
    const out: Model = { main: new Map(), named: new Map() };
    for (const db of ['main', 'named'] as const) for (const { key, value } of this.dbs[db].getRange()) out[db].set(JSON.stringify(key), value);
    return out;
  }

  private same(m: Model): boolean {
    this.stats.states++;
    const c = this.contents();
    return (['main', 'named'] as const).every((db) => c[db].size === m[db].size && [...m[db]].every(([k, v]) => {
      const got = c[db].get(k);
      return got instanceof Uint8Array && v instanceof Uint8Array ? got.length === v.length && got.every((b, i) => b === v[i]) : JSON.stringify(got) === JSON.stringify(v);
    }));
  }

  private reopen(image: Uint8Array): void {
    for (;;) {
      this.backend = new CrashBackend(image.length, image, this.evicts);
      this.backend.onCrash = () => this.pool.close();
      if (this.rng.below(3) === 0) this.backend.arm({ countdown: this.rng.below(4), mode: this.modes[this.rng.below(this.modes.length)], seed: this.rng.next() });
      try {
        this.attach(Pool.open({ backend: this.backend, layout: STORE_LAYOUT, debug: true, maxSize: 8 << 20 }));
        this.backend.arm(null);
        return;
      } catch (e) {
        if (!(e instanceof CrashSignal)) throw e;
        this.stats.recoveryCrashes++;
        image = e.image;
      }
    }
  }

  step(i: number): void {
    const op = this.nextOp();
    if (this.rng.below(6) === 0) this.backend.arm({ countdown: this.rng.below(10), mode: this.modes[this.rng.below(this.modes.length)], seed: this.rng.next() });
    const before = this.model;
    const after = apply(before, op);
    const size = this.pool.size;
    try {
      this.run(op);
      this.backend.arm(null);
      this.model = after;
      if (this.pool.size > size) this.stats.growths++;
      if (i % 10 === 0 && !this.same(this.model)) throw new Error(`op ${i} (${op.label}): the store differs from the model`);
    } catch (e) {
      if (!(e instanceof CrashSignal)) throw e;
      this.stats.crashes++;
      this.reopen(e.image);
      this.pool.check();
      if (this.same(before)) this.model = before;
      else if (this.same(after)) { this.model = after; this.stats.after++; }
      else throw new Error(`op ${i} (${op.label}): after a ${e.mode} crash and recovery the store is neither before nor after it`);
    }
    this.stats.ops++;
  }

  end(): void {
    if (!this.same(this.model)) throw new Error('at the end: the store differs from the model');
    this.pool.check();
    this.pool.close();
  }
}

describe('Store torture: random operations, crashes anywhere, the model holds', () => {
  for (const seed of SEEDS) {
    const evicts = seed % 2 === 1;
    it(`seed ${seed}: ${OPS} Store operations (${evicts ? 'pmem' : 'deferred log'})`, () => {
      console.log(`store torture: PHEAP_STORE_TORTURE_SEED=${seed} PHEAP_STORE_TORTURE_OPS=${OPS} npx vitest run test/store-torture.test.ts`);
      const run = new Run(seed, evicts);
      run.start();
      for (let i = 1; i <= OPS; i++) run.step(i);
      run.end();
      const s = run.stats;
      console.log(`store torture seed ${seed}: ${s.ops} ops, ${s.crashes} crashes (${s.after} kept the op) + ${s.recoveryCrashes} in recovery, ${s.states} states compared, ${s.growths} ops grew the pool`);
      expect(s.crashes).toBeGreaterThan(5);
      expect(s.growths).toBeGreaterThan(0);
    });
  }
});
