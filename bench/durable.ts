// bench/durable.ts — `npm run bench:durable`: durable writes at 'fsync', side
// by side in one run, on one disk (a temp directory), medians of RUNS runs.
//
//   latency   one tx_snapshot_64 and one tx_snapshot_8x64 per commit on the
//             file and mapped backends (their drains counted: each is a
//             sync), next to one pwrite(64 B) + fdatasync (the device's
//             floor) and lmdb-js putSync of 64 B (default, durable settings);
//   group     durable throughput with group commit (pool.txAsync, file
//             backend): 1, 8, 64 and 1000 writers, each awaiting its own
//             64-byte transactions in a loop, next to lmdb-js async put with
//             the same writers (its default: batched, durable) and putSync;
//   growth    per backend (memory; file and mapped at 'os' and 'fsync'):
//             a pool grown from 1 MiB to 1 GiB by allocating 1 MiB objects
//             (total time, growths, MiB/s of pool grown), and the cost of
//             one growth step: the 1 MiB allocation that grows a pool of
//             8, 64 or 256 MiB to twice that, next to the allocations before
//             it that did not grow it (medians of GROWTH_RUNS fresh pools).
// Every row names its durability level; ratios are against the anchor named.
// Every pool file is made in one temp directory, removed at the end.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { open as openLmdb } from 'lmdb';
import { measure, median, printTable, type Durability, type Row } from './lib/report.js';
import { Pool, type BackendKind } from '../src/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 1000);
const WRITERS = [1, 8, 64, 1000];
const GROWTH_RUNS = Number(process.env.BENCH_GROWTH_RUNS ?? 3);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pheap-bench-durable-'));
const value = new Uint8Array(64);

// ─── latency of one durable commit ────────────────────────────────────────

let seed = 1;
const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; };

function commitLatency(backend: BackendKind): { rows: Row[]; drains: Record<string, number> } {
  const file = path.join(dir, `latency-${backend}.pool`);
  const pool = Pool.create({ path: file, backend, size: 4 << 20, layout: 'bench', durability: 'fsync' });
  const area = pool.alloc(64 * 64, { zero: true, align64: true });
  const one = (i: number) => pool.tx((tx) => tx.setU64(area + 64 * (i % 64), BigInt(i)));
  const eight = () => pool.tx((tx) => { for (let k = 0; k < 8; k++) tx.setU64(area + 64 * (rnd() % 64), BigInt(k)); });
  const drainsOf = (fn: () => void) => { const d0 = pool.stats().drains; fn(); return pool.stats().drains - d0; };
  const drains = { tx_snapshot_64: drainsOf(() => one(0)), tx_snapshot_8x64: drainsOf(eight) };
  const a = measure((n) => { for (let i = 0; i < n; i++) one(i); }, { runs: RUNS, minTimeMs: 500 });
  const b = measure((n) => { for (let i = 0; i < n; i++) eight(); }, { runs: RUNS, minTimeMs: 500 });
  const kind = pool.info().backend;
  pool.close();
  const log = kind === 'mapped' ? 'eager log' : 'deferred log';
  return {
    drains,
    rows: [
      { case: 'tx_snapshot_64', backend: `${kind} (${log})`, durability: 'fsync', usPerOp: 1e6 / a, anchor: 'lmdb putSync 64 B', anchorOpsPerSec: null },
      { case: 'tx_snapshot_8x64', backend: `${kind} (${log})`, durability: 'fsync', usPerOp: 1e6 / b, anchor: 'lmdb putSync 64 B', anchorOpsPerSec: null },
    ],
  };
}

const latency = (['file', 'mapped'] as const).map(commitLatency);

const fd = fs.openSync(path.join(dir, 'floor'), 'w+');
const floor = measure((n) => { for (let i = 0; i < n; i++) { fs.writeSync(fd, value, 0, 64, (i % 64) * 64); fs.fdatasyncSync(fd); } }, { runs: RUNS, minTimeMs: 500 });
fs.closeSync(fd);

const db = openLmdb({ path: path.join(dir, 'lmdb') });
const putSync = measure((n) => { for (let i = 0; i < n; i++) { value[0] = i & 255; db.putSync(i % 1024, value); } }, { runs: RUNS, minTimeMs: 500 });

// ─── durable throughput with concurrent writers ────────────────────────────

/** Commits per second of `writers` loops, each awaiting `write(writer, i)` for WINDOW_MS; median of RUNS. */
async function throughput(writers: number, write: (w: number, i: number) => Promise<unknown>): Promise<number> {
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let done = 0;
    const end = performance.now() + WINDOW_MS;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) { await write(w, i); done++; }
    }));
    rates.push(done / ((performance.now() - t0) / 1000));
  }
  return median(rates);
}

const groupPool = Pool.create({ path: path.join(dir, 'group.pool'), backend: 'file', size: 16 << 20, layout: 'bench', durability: 'fsync' });
const slots = groupPool.alloc(64 * 1000, { zero: true, align64: true });
const groupRows: Row[] = [];
for (const writers of WRITERS) {
  const pheap = await throughput(writers, (w, i) => groupPool.txAsync((tx) => tx.setU64(slots + 64 * w, BigInt(i))));
  const lmdbAsync = await throughput(writers, (w, i) => { value[0] = i & 255; return db.put(w, value); });
  groupRows.push({ case: `txAsync 64 B, ${writers} writer(s)`, backend: 'file (deferred log)', durability: 'fsync', opsPerSec: pheap, anchor: 'lmdb async put', anchorOpsPerSec: lmdbAsync });
  groupRows.push({ case: `txAsync 64 B, ${writers} writer(s)`, backend: 'file (deferred log)', durability: 'fsync', opsPerSec: pheap, anchor: 'lmdb putSync', anchorOpsPerSec: putSync });
  groupRows.push({ case: `lmdb async put 64 B, ${writers} writer(s)`, backend: 'lmdb', durability: 'fsync', opsPerSec: lmdbAsync });
}
groupPool.close();
await db.close();

// ─── growth ───────────────────────────────────────────────────────────────

const MiB = 1 << 20;
const GROWN = 1 << 30; // the fill's target size
const STEPS = [8 * MiB, 64 * MiB, 256 * MiB]; // one growth from each to twice it

interface GrowthConfig { backend: BackendKind; durability: Durability }
const GROWTH_CONFIGS: GrowthConfig[] = [
  { backend: 'memory', durability: 'os' },
  ...(['file', 'mapped'] as const).flatMap((backend) => (['os', 'fsync'] as const).map((durability) => ({ backend, durability }))),
];

/** Run `fn` on a fresh pool of `size` bytes that may grow to `maxSize` (its file in the temp directory); the pool and its file are gone after. */
function withPool<T>(c: GrowthConfig, size: number, maxSize: number, fn: (pool: Pool) => T): T {
  const file = c.backend === 'memory' ? undefined : path.join(dir, 'growth.pool');
  const pool = Pool.create({ backend: c.backend, size, maxSize, layout: 'bench', durability: c.durability, ...(file ? { path: file } : {}) });
  try {
    return fn(pool);
  } finally {
    pool.close();
    if (file) fs.rmSync(file, { force: true });
  }
}

/** Grow a pool from 1 MiB to 1 GiB by allocating 1 MiB objects: the time it took, the allocations and the growths. */
function fill(c: GrowthConfig): { ms: number; allocs: number; growths: number } {
  return withPool(c, MiB, GROWN, (pool) => {
    let allocs = 0;
    const t0 = performance.now();
    for (; pool.size < GROWN; allocs++) pool.alloc(MiB);
    return { ms: performance.now() - t0, allocs, growths: pool.stats().growths };
  });
}

/** Allocate 1 MiB objects in a pool of `from` bytes until one grows it (to 2 × from): µs of that allocation, median µs of the others. */
function step(c: GrowthConfig, from: number): { growUs: number; plainUs: number } {
  return withPool(c, from, 2 * from, (pool) => {
    const plain: number[] = [];
    for (;;) {
      const before = pool.stats().growths;
      const t0 = performance.now();
      pool.alloc(MiB);
      const us = (performance.now() - t0) * 1000;
      if (pool.stats().growths > before) return { growUs: us, plainUs: median(plain) };
      plain.push(us);
    }
  });
}

const growthRows: Row[] = [];
for (const c of GROWTH_CONFIGS) {
  step(c, STEPS[0]); // warm-up: the backend's code paths compiled before the timed runs
  const fills = Array.from({ length: GROWTH_RUNS }, () => fill(c));
  const ms = median(fills.map((f) => f.ms));
  const { allocs, growths } = fills[0];
  const mibPerSec = (GROWN - MiB) / MiB / (ms / 1000);
  growthRows.push({ case: 'fill 1 MiB → 1 GiB (1 MiB allocs)', backend: c.backend, durability: c.durability, opsPerSec: allocs / (ms / 1000), note: `total ${(ms / 1000).toFixed(2)} s, ${allocs} allocs, ${growths} growths, ${mibPerSec.toFixed(0)} MiB/s grown` });
  for (const from of STEPS) {
    const steps = Array.from({ length: GROWTH_RUNS }, () => step(c, from));
    const growUs = median(steps.map((s) => s.growUs));
    const plainUs = median(steps.map((s) => s.plainUs));
    const anchor = `alloc 1 MiB, no growth (${from / MiB} MiB pool)`;
    growthRows.push({ case: `alloc 1 MiB that grows ${from / MiB} → ${(2 * from) / MiB} MiB`, backend: c.backend, durability: c.durability, usPerOp: growUs, anchor, anchorOpsPerSec: 1e6 / plainUs });
    growthRows.push({ case: anchor, backend: c.backend, durability: c.durability, usPerOp: plainUs });
  }
}
fs.rmSync(dir, { recursive: true, force: true });

const rows: Row[] = latency.flatMap((l) => l.rows.map((row) => ({ ...row, anchorOpsPerSec: putSync })));
rows.push({ case: 'pwrite 64 B + fdatasync', backend: 'file', durability: 'fsync', usPerOp: 1e6 / floor });
rows.push({ case: 'putSync 64 B (default sync)', backend: 'lmdb', durability: 'fsync', usPerOp: 1e6 / putSync });
printTable(rows, `durable commit latency, medians of ${RUNS} runs`);
for (const [i, l] of latency.entries()) {
  console.log(`drains (each a sync) per commit, ${['file', 'mapped'][i]}: ${Object.entries(l.drains).map(([k, v]) => `${k} ${v}`).join(', ')}`);
}
console.log(`floor: pwrite 64 B + fdatasync = ${(1e6 / floor).toFixed(0)} µs`);
printTable(groupRows, `\ndurable throughput with group commit, ${WINDOW_MS} ms windows, medians of ${RUNS} runs`);
printTable(growthRows, `\ngrowth, medians of ${GROWTH_RUNS} fresh pools (the fill's growths and allocs: the first run's)`);
