// bench/tx.ts — `npm run bench:tx`: undo-log transactions, side by side with
// PMDK libpmemobj transactions measured in this same run.
//
//   (a) tx_snapshot_64       snapshot 64 B + modify + commit
//   (b) tx_snapshot_8x64     8 scattered 64 B snapshots + modify + commit
//   (c) tx_alloc_64_publish  tx alloc 64 B, publish its offset into a slot
// Each inside WASM (loops in the core) and through the TS API (pool.tx),
// memory backend at durability 'os'. Then (a) on the file backend at
// 'fsync' next to one pwrite(64 B) + fdatasync on the same disk: the floor.
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
const { pool, loops } = loopsPool({ size: 64 * MiB, layout: 'bench', seed: 1 });
const area = pool.alloc(MiB, { zero: true, align64: true });
const slots = pool.alloc(4 * SLOTS, { zero: true });

/** Run `n` tx allocs in batches of SLOTS, freeing each batch untimed (as the PMDK harness does). */
function allocPublishRate(oneBatch: (m: number) => void): number {
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let t = 0, n = 0;
    while (t < 300) {
      const t0 = performance.now();
      oneBatch(SLOTS);
      t += performance.now() - t0;
      loops.freePublished(SLOTS, slots);
      n += SLOTS;
    }
    rates.push((n / t) * 1000);
  }
  return rates.sort((a, b) => a - b)[rates.length >> 1];
}

const wasm = {
  tx_snapshot_64: measure((n) => loops.txSnapshot64(n, area, HOT), { runs: RUNS }),
  tx_snapshot_8x64: measure((n) => loops.txSnapshot8x64(n, area, AREA_LINES), { runs: RUNS }),
  tx_alloc_64_publish: allocPublishRate((m) => loops.txAllocPublish(m, slots)),
};

let seed = 1;
const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; };
const ts = {
  tx_snapshot_64: measure((n) => {
    for (let i = 0; i < n; i++) {
      const off = area + ((i % HOT) << 6);
      pool.tx((tx) => tx.setU64(off, pool.readU64(off) + 1n));
    }
  }, { runs: RUNS }),
  tx_snapshot_8x64: measure((n) => {
    for (let i = 0; i < n; i++) {
      pool.tx((tx) => {
        for (let k = 0; k < 8; k++) { const off = area + ((rnd() % AREA_LINES) << 6); tx.setU64(off, pool.readU64(off) + 1n); }
      });
    }
  }, { runs: RUNS }),
  tx_alloc_64_publish: allocPublishRate((m) => { for (let i = 0; i < m; i++) pool.tx((tx) => tx.alloc(64, { type: 1, into: slots + 4 * i })); }),
};

// (a) on a real file at 'fsync', and the physical floor on the same disk.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pheap-bench-tx-'));
const filePool = Pool.create({ path: path.join(dir, 'tx.pool'), backend: 'file', size: 4 * MiB, layout: 'bench', durability: 'fsync' });
const fileObj = filePool.alloc(64, { zero: true });
const fileTx = measure((n) => { for (let i = 0; i < n; i++) filePool.tx((tx) => tx.setU64(fileObj, BigInt(i))); }, { runs: RUNS, minTimeMs: 500 });
filePool.close();
const fd = fs.openSync(path.join(dir, 'floor'), 'w+');
const buf = Buffer.alloc(64, 1);
const floor = measure((n) => { for (let i = 0; i < n; i++) { fs.writeSync(fd, buf, 0, 64, (i % 64) * 64); fs.fdatasyncSync(fd); } }, { runs: RUNS, minTimeMs: 500 });
fs.closeSync(fd);
fs.rmSync(dir, { recursive: true, force: true });

const pmdk = await runPmdk({ runs: RUNS, cases: ['tx_snapshot_64', 'tx_snapshot_8x64', 'tx_alloc_64_publish'] });
const rows: Row[] = [];
for (const [k, v] of Object.entries(wasm)) rows.push({ case: k, backend: 'wasm/memory', durability: 'os', opsPerSec: v, anchor: `pmdk ${k}`, anchorOpsPerSec: pmdk?.[k]?.opsPerSec ?? null });
for (const [k, v] of Object.entries(ts)) rows.push({ case: k, backend: 'ts/memory', durability: 'os', opsPerSec: v, anchor: `pmdk ${k}`, anchorOpsPerSec: pmdk?.[k]?.opsPerSec ?? null });
rows.push({ case: 'tx_snapshot_64', backend: 'ts/file', durability: 'fsync', usPerOp: 1e6 / fileTx, anchor: 'pwrite 64 B + fdatasync', anchorOpsPerSec: floor });
rows.push({ case: 'pwrite 64 B + fdatasync', backend: 'file', durability: 'fsync', usPerOp: 1e6 / floor });
printTable(rows, `transactions, medians of ${RUNS} runs (pmdk: /dev/shm, PMEM_IS_PMEM_FORCE=1)`);
console.log('\ndrains per transaction: (a) 3 = 1 snapshot + 2 commit; (b) 10 = 8 + 2 (one per addRange call; addRange of one larger range is one drain); (c) 4 = 1 for the published slot + 1 allocator word + 2 commit');
