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
//             the same writers (its default: batched, durable) and putSync.
// Every row names its durability level; ratios are against the anchor named.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { open as openLmdb } from 'lmdb';
import { measure, median, printTable, type Row } from './lib/report.js';
import { Pool, type BackendKind } from '../src/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 1000);
const WRITERS = [1, 8, 64, 1000];
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
