// bench/browser.ts — `npm run bench:browser` (node bench/run.mjs browser):
// the OPFS backend in Chromium, next to the memory backend in the same page.
//
//   tx/s: a transaction that snapshots 64 B, stores, and commits, looped
//   inside the pool worker (Pool.tx; no message passing in the loop), on
//   memory (os) and OPFS at 'os' (writes, no flush()) and 'fsync' (each
//   drain ends with FileSystemSyncAccessHandle.flush()). A commit is 3–4
//   drains (tx.ts), so each tx is several OPFS write (+ flush) calls.
//   Also: the same tx sent from the main thread through PoolClient.tx, one
//   round trip each (OPFS, fsync).
//
//   open: a 64 MiB OPFS pool, closed and reopened — the worker's time
//   (sync handle + read of 64 MiB into linear memory + validation/recovery)
//   and the main thread's wall time for PoolClient.open (worker start, WASM
//   compile, the same open).
//
//   key-value: the browser Store (`open` from pheap/browser, on OPFS, at
//   'os' and 'fsync') next to IndexedDB through `idb` in the same page, at
//   transaction durability 'relaxed' and 'strict' (Chromium's hint; 'strict'
//   flushes to the device at each commit, 'relaxed' leaves it to the OS, so
//   they sit beside 'fsync' and 'os'). BENCH_KEYS keys (default 1e4) of 16
//   bytes, 100-byte values: puts one at a time (each awaited: one Store
//   group commit, one IndexedDB transaction) and 1000 in flight (one Store
//   message and group commit, one IndexedDB transaction), gets one at a time
//   and 1000 in flight (one Store message: the calls of one page turn go
//   together; bench/browser-kv.ts, the page side). Ratio = Store ÷
//   IndexedDB; the target (issue 13) is ≥ 10× on get and put. An awaited
//   put is one commit: at 'fsync' several OPFS flush() calls, so its rate is
//   bounded by the in-worker 'tx … opfs fsync' row above, whatever the page does.
//   The section's page is crossOriginIsolated (COOP/COEP added to every
//   response), so an awaited Store get reads through shared memory;
//   BENCH_ISOLATED=0 measures the message path instead.
//   BENCH_SECTION=kv runs the key-value section alone.
//
// Medians of BENCH_RUNS runs (default 5); backends interleaved run by run.
// Needs Debian's chromium (scripts/setup-system.sh) or PHEAP_CHROMIUM.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import * as esbuild from 'esbuild';
import { serve } from '../src/cli/serve.js';
import { median, printTable, type Row } from './lib/report.js';
import { CHROMIUM, launchChromium } from '../test/helpers/chromium.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MIN_MS = 300;
const KEYS = Number(process.env.BENCH_KEYS ?? 1e4);
const SEED = Number(process.env.BENCH_SEED ?? 13);
/** The key-value section's page is crossOriginIsolated (COOP/COEP headers) unless BENCH_ISOLATED=0: then every Store call is a message. */
const ISOLATED = process.env.BENCH_ISOLATED !== '0';
/** BENCH_SECTION=kv: the key-value section alone (no transactions, no open). */
const KV_ONLY = process.env.BENCH_SECTION === 'kv';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

if (!fs.existsSync(CHROMIUM)) {
  console.error(`bench:browser: Chromium not found at ${CHROMIUM}; run \`bash scripts/setup-system.sh\` or set PHEAP_CHROMIUM`);
  process.exit(1);
}
if (!fs.existsSync(path.join(ROOT, 'build', 'pheap.wasm'))) execFileSync('npm', ['run', 'build:wasm'], { cwd: ROOT, stdio: 'inherit' });
execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pheap-bench-browser-'));
const server = await serve(0);
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const ctx = await launchChromium(path.join(tmp, 'profile'));

try {
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  await page.goto(`${base}/`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 30_000 });
  const ua = await page.evaluate(() => navigator.userAgent);
  console.log(`pheap browser benchmarks — ${ua.match(/Chrome\/[\d.]+/)?.[0] ?? ua}, headless, ${os.cpus().length} cores; medians of ${RUNS} runs`);
  if (!KV_ONLY) await transactionsAndOpen(page);
  await keyValue(page);
} finally {
  await ctx.close();
  server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}

/** The transactions and open sections (see the header), printed as two tables. */
async function transactionsAndOpen(page: import('playwright-core').Page): Promise<void> {

  const configs = [
    { key: 'memory-os', backend: 'memory', durability: 'os' },
    { key: 'opfs-os', backend: 'opfs', durability: 'os' },
    { key: 'opfs-fsync', backend: 'opfs', durability: 'fsync' },
  ] as const;

  // Open one pool per configuration, kept in window.benchPools.
  await page.evaluate(async (cfgs) => {
    const { PoolClient } = (window as any).pheap;
    const pools: Record<string, { c: any; root: number }> = {};
    for (const k of cfgs) {
      const name = `bench-${k.key}.pool`;
      if (k.backend === 'opfs') await PoolClient.remove(name);
      const c = await PoolClient.create(name, { layout: 'bench', size: 1 << 20, backend: k.backend, durability: k.durability });
      pools[k.key] = { c, root: await c.root(256) };
    }
    (window as any).benchPools = pools;
  }, configs as unknown as { key: string; backend: string; durability: string }[]);

  const txLoop = (key: string, n: number) => page.evaluate(async ([k, count]) => {
    const p = (window as any).benchPools[k];
    const [ms] = await p.c.batch([{ op: 'benchTx', n: count, off: p.root, len: 64 }]);
    return ms as number;
  }, [key, n] as const);

  const roundTrips = (key: string, n: number) => page.evaluate(async ([k, count]) => {
    const p = (window as any).benchPools[k];
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await p.c.tx([{ op: 'set', type: 'u32', off: p.root, value: i }]);
    return performance.now() - t0;
  }, [key, n] as const);

  async function calibrate(fn: (n: number) => Promise<number>): Promise<number> {
    let n = 8;
    for (;;) {
      const ms = await fn(n);
      if (ms >= MIN_MS) return n;
      n = ms > 10 ? Math.ceil((n * MIN_MS * 1.1) / ms) : n * 4;
    }
  }

  const ns: Record<string, number> = {};
  for (const k of configs) ns[k.key] = await calibrate((n) => txLoop(k.key, n));
  const nRt = await calibrate((n) => roundTrips('opfs-fsync', n));
  const rates: Record<string, number[]> = {};
  for (let r = 0; r < RUNS; r++) {
    for (const k of configs) (rates[k.key] ??= []).push((ns[k.key] * 1000) / (await txLoop(k.key, ns[k.key])));
    (rates.rt ??= []).push((nRt * 1000) / (await roundTrips('opfs-fsync', nRt)));
  }
  await page.evaluate(async () => { for (const p of Object.values((window as any).benchPools) as any[]) await p.c.close(); });

  const rows: Row[] = configs.map((k) => ({
    case: 'tx: snapshot 64 B + store + commit (in worker)', backend: k.backend === 'memory' ? 'memory (browser)' : 'opfs',
    durability: k.durability, opsPerSec: median(rates[k.key]),
  }));
  rows.push({ case: 'tx via PoolClient.tx (1 round trip each)', backend: 'opfs', durability: 'fsync', opsPerSec: median(rates.rt) });

  // Open time of a 64 MiB pool.
  const open = await page.evaluate(async (runs) => {
    const { PoolClient } = (window as any).pheap;
    const name = 'bench-open-64m.pool';
    await PoolClient.remove(name);
    const c = await PoolClient.create(name, { layout: 'bench', size: 64 << 20, durability: 'fsync' });
    const root = await c.root(64);
    await c.writeU64(root, 42n);
    await c.persist(root, 8);
    await c.close();
    const worker: number[] = [], wall: number[] = [];
    let value = 0n;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const o = await PoolClient.open(name, { layout: 'bench' });
      wall.push(performance.now() - t0);
      worker.push(o.openMs);
      value = await o.readU64(root);
      await o.close();
    }
    await PoolClient.remove(name);
    return { worker, wall, value: String(value) };
  }, RUNS);
  if (open.value !== '42') throw new Error(`64 MiB pool reopened with the wrong value ${open.value}`);

  printTable(rows, 'transactions');
  printTable([
    { case: 'open 64 MiB pool: worker (handle + read + validate)', backend: 'opfs', durability: 'fsync', usPerOp: median(open.worker) * 1000 },
    { case: 'open 64 MiB pool: PoolClient.open wall time', backend: 'opfs', durability: 'fsync', usPerOp: median(open.wall) * 1000 },
  ], 'open');
  console.log(`open 64 MiB (ms): worker ${median(open.worker).toFixed(1)}, wall ${median(open.wall).toFixed(1)}`);
}

type KvTimes = { putAwaited: number; putInFlight: number; getAwaited: number; getInFlight: number };

/** Reload `page` served with COOP/COEP headers: crossOriginIsolated, so the Store's gets alone in a turn read through shared memory. */
async function isolate(page: import('playwright-core').Page): Promise<void> {
  await page.route('**/*', async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } });
  });
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 30_000 });
}

/** The page side (bench/browser-kv.ts) bundled as one script. */
async function kvScript(): Promise<string> {
  const r = await esbuild.build({
    entryPoints: [path.join(ROOT, 'bench', 'browser-kv.ts')], bundle: true, platform: 'browser', format: 'iife',
    target: 'chrome110', write: false, logLevel: 'warning',
  });
  return r.outputFiles[0].text;
}

/** The key-value section: the browser Store vs IndexedDB, medians of RUNS runs, printed as one table. */
async function keyValue(page: import('playwright-core').Page): Promise<void> {
  if (ISOLATED) await isolate(page);
  const isolated = await page.evaluate(() => crossOriginIsolated);
  await page.addScriptTag({ content: await kvScript() });
  const hint = await page.evaluate(() => (window as any).kvBench.idbDurabilityHint() as Promise<string>);
  const pairs = [
    { store: 'os', idb: 'relaxed' },
    { store: 'fsync', idb: 'strict' },
  ] as const;
  const times: Record<string, KvTimes[]> = {};
  for (let r = 0; r < RUNS; r++) {
    for (const p of pairs) {
      (times[`store-${p.store}`] ??= []).push(await page.evaluate(([d, n, s]) => (window as any).kvBench.storeRun(d, n, s) as Promise<KvTimes>, [p.store, KEYS, SEED + r] as const));
      (times[`idb-${p.idb}`] ??= []).push(await page.evaluate(([d, n, s]) => (window as any).kvBench.idbRun(d, n, s) as Promise<KvTimes>, [p.idb, KEYS, SEED + r] as const));
    }
  }
  const rate = (key: string, phase: keyof KvTimes) => median(times[key].map((t) => (KEYS * 1000) / t[phase]));
  const phases: Array<[keyof KvTimes, string]> = [
    ['getAwaited', 'get, one at a time (awaited)'],
    ['getInFlight', 'get, 1000 in flight'],
    ['putAwaited', 'put, one at a time (awaited)'],
    ['putInFlight', 'put, 1000 in flight'],
  ];
  const rows: Row[] = [];
  for (const [phase, label] of phases) {
    for (const p of pairs) {
      const ops = rate(`store-${p.store}`, phase);
      const anchor = rate(`idb-${p.idb}`, phase);
      rows.push({
        case: label, backend: 'Store (opfs)', durability: p.store, opsPerSec: ops,
        anchor: `IndexedDB (idb), durability '${p.idb}'`, anchorOpsPerSec: anchor,
        note: ops / anchor >= 10 ? 'target ≥ 10×: met' : 'target ≥ 10×: not met',
      });
    }
  }
  console.log(`\nkey-value: ${KEYS} keys of 16 B, 100 B values; get order shuffled with seed ${SEED}+run (BENCH_SEED=${SEED} BENCH_KEYS=${KEYS} npm run bench:browser); ` +
    `page ${isolated ? 'crossOriginIsolated: a Store get alone in its turn reads through shared memory' : 'not crossOriginIsolated: every Store call is a message'} (BENCH_ISOLATED=${ISOLATED ? 1 : 0}); ` +
    `IndexedDB transaction durability hint ${hint ? `supported (a 'strict' transaction reports '${hint}')` : 'ignored by this browser'}`);
  printTable(rows, 'browser Store vs IndexedDB (ratio = Store ÷ IndexedDB)');
}
