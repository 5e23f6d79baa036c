// bench/tx.ts — `npm run bench:tx`: undo-log transactions, side by side with
// PMDK libpmemobj transactions measured in this same run.
//
//   (a) tx_snapshot_64       snapshot 64 B + modify + commit
//   (b) tx_snapshot_8x64     8 scattered 64 B snapshots + modify + commit
//   (c) tx_alloc_64_publish  tx alloc 64 B, publish its offset into a slot
// Each inside WASM (loops in the core) and through the TS API (pool.tx),
// memory backend at durability 'os'.
// Both undo-log orders are measured (docs/durability.md, "Eviction"): the
// memory backend as it is by default (only drains write it: the deferred log,
// 3 drains per commit) and modelling pmem (evicts: true: the eager log, one
// drain per snapshot plus two — what PMDK does). Then (a) and (b) on the file
// backend at 'fsync' (deferred) next to one pwrite(64 B) + fdatasync on the
// same disk: the floor. Drains per transaction are counted, not assumed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { useLoopsCore, loopsPool } from './core/instance.js';
import { measure, printTable, type Row } from './lib/report.js';
import { runPmdk } from './pmdk/run.mjs';
import { Pool } from '../src/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MiB = 1 << 20;
const HOT = 1024; // tx_snapshot_64 rotates over 64 KiB, as the PMDK harness does
const AREA_LINES = MiB / 64; // tx_snapshot_8x64 scatters over 1 MiB
const SLOTS = 16384;

useLoopsCore();

/** One memory pool per cache model, with the areas the cases use. */
function setUp(evicts: boolean) {
  const { pool, loops } = loopsPool({ size: 64 * MiB, layout: 'bench', seed: 1, evicts });
  return { pool, loops, area: pool.alloc(MiB, { zero: true, align64: true }), slots: pool.alloc(4 * SLOTS, { zero: true }) };
}
type Bench = ReturnType<typeof setUp>;

/** Run `n` tx allocs in batches of SLOTS, freeing each batch untimed (as the PMDK harness does). */
function allocPublishRate(b: Bench, oneBatch: (m: number) => void): number {
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let t = 0, n = 0;
    while (t < 300) {
      const t0 = performance.now();
      oneBatch(SLOTS);
      t += performance.now() - t0;
      b.loops.freePublished(SLOTS, b.slots);
      n += SLOTS;
    }
    rates.push((n / t) * 1000);
  }
  return rates.sort((a, b) => a - b)[rates.length >> 1];
}

function wasmCases(b: Bench) {
  return {
    tx_snapshot_64: measure((n) => b.loops.txSnapshot64(n, b.area, HOT), { runs: RUNS }),
    tx_snapshot_8x64: measure((n) => b.loops.txSnapshot8x64(n, b.area, AREA_LINES), { runs: RUNS }),
    tx_alloc_64_publish: allocPublishRate(b, (m) => b.loops.txAllocPublish(m, b.slots)),
  };
}

let seed = 1;
const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; };

/** The TS API's transactions over `area` of `pool`; `lines` bounds the scattered case. */
const tsTx = {
  snapshot64: (pool: Pool, area: number, i: number) => { const off = area + ((i % HOT) << 6); pool.tx((tx) => tx.setU64(off, pool.readU64(off) + 1n)); },
  snapshot8x64: (pool: Pool, area: number, lines: number) => pool.tx((tx) => {
    for (let k = 0; k < 8; k++) { const off = area + ((rnd() % lines) << 6); tx.setU64(off, pool.readU64(off) + 1n); }
  }),
};

function tsCases(b: Bench) {
  return {
    tx_snapshot_64: measure((n) => { for (let i = 0; i < n; i++) tsTx.snapshot64(b.pool, b.area, i); }, { runs: RUNS }),
    tx_snapshot_8x64: measure((n) => { for (let i = 0; i < n; i++) tsTx.snapshot8x64(b.pool, b.area, AREA_LINES); }, { runs: RUNS }),
    tx_alloc_64_publish: allocPublishRate(b, (m) => { for (let i = 0; i < m; i++) b.pool.tx((tx) => tx.alloc(64, { type: 1, into: b.slots + 4 * i })); }),
  };
}

/** Drains one transaction of each case costs on `b`'s pool (the TS API). */
function drainsPerTx(b: Bench): Record<string, number> {
  const count = (fn: () => void) => { const d0 = b.pool.stats().drains; fn(); return b.pool.stats().drains - d0; };
  const out = {
    tx_snapshot_64: count(() => tsTx.snapshot64(b.pool, b.area, 0)),
    tx_snapshot_8x64: count(() => tsTx.snapshot8x64(b.pool, b.area, AREA_LINES)),
    tx_alloc_64_publish: count(() => b.pool.tx((tx) => tx.alloc(64, { type: 1, into: b.slots }))),
  };
  b.loops.freePublished(1, b.slots);
  return out;
}

const models = { deferred: setUp(false), pmem: setUp(true) };
const results = Object.entries(models).map(([name, b]) => ({ name, wasm: wasmCases(b), ts: tsCases(b), drains: drainsPerTx(b) }));

// (a) and (b) on a real file at 'fsync' (deferred log), and the physical floor on the same disk.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pheap-bench-tx-'));
const filePool = Pool.create({ path: path.join(dir, 'tx.pool'), backend: 'file', size: 4 * MiB, layout: 'bench', durability: 'fsync' });
const fileArea = filePool.alloc(64 * 64, { zero: true, align64: true });
const fileTx = {
  tx_snapshot_64: measure((n) => { for (let i = 0; i < n; i++) tsTx.snapshot64(filePool, fileArea, i % 64); }, { runs: RUNS, minTimeMs: 500 }),
  tx_snapshot_8x64: measure((n) => { for (let i = 0; i < n; i++) tsTx.snapshot8x64(filePool, fileArea, 64); }, { runs: RUNS, minTimeMs: 500 }),
};
const fileDrains = (() => { const d0 = filePool.stats().drains; tsTx.snapshot8x64(filePool, fileArea, 64); return filePool.stats().drains - d0; })();
filePool.close();
const fd = fs.openSync(path.join(dir, 'floor'), 'w+');
const buf = Buffer.alloc(64, 1);
const floor = measure((n) => { for (let i = 0; i < n; i++) { fs.writeSync(fd, buf, 0, 64, (i % 64) * 64); fs.fdatasyncSync(fd); } }, { runs: RUNS, minTimeMs: 500 });
fs.closeSync(fd);
fs.rmSync(dir, { recursive: true, force: true });

const pmdk = await runPmdk({ runs: RUNS, cases: ['tx_snapshot_64', 'tx_snapshot_8x64', 'tx_alloc_64_publish'] });
const rows: Row[] = [];
for (const r of results) {
  const label = r.name === 'pmem' ? ', evicts (eager log)' : ' (deferred log)';
  for (const [k, v] of Object.entries(r.wasm)) rows.push({ case: k, backend: `wasm/memory${label}`, durability: 'os', opsPerSec: v, anchor: `pmdk ${k}`, anchorOpsPerSec: pmdk?.[k]?.opsPerSec ?? null });
  for (const [k, v] of Object.entries(r.ts)) rows.push({ case: k, backend: `ts/memory${label}`, durability: 'os', opsPerSec: v, anchor: `pmdk ${k}`, anchorOpsPerSec: pmdk?.[k]?.opsPerSec ?? null });
}
for (const [k, v] of Object.entries(fileTx)) rows.push({ case: k, backend: 'ts/file (deferred log)', durability: 'fsync', usPerOp: 1e6 / v, anchor: 'pwrite 64 B + fdatasync', anchorOpsPerSec: floor });
rows.push({ case: 'pwrite 64 B + fdatasync', backend: 'file', durability: 'fsync', usPerOp: 1e6 / floor });
printTable(rows, `transactions, medians of ${RUNS} runs (pmdk: /dev/shm, PMEM_IS_PMEM_FORCE=1)`);
for (const r of results) console.log(`drains per transaction, ${r.name === 'pmem' ? 'eager log (evicts)' : 'deferred log'}: ${Object.entries(r.drains).map(([k, v]) => `${k} ${v}`).join(', ')}`);
console.log(`drains per transaction, file backend at fsync: tx_snapshot_8x64 ${fileDrains} (each one an fdatasync)`);
