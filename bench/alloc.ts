// bench/alloc.ts — `npm run bench:alloc`: the persistent allocator, side by
// side with PMDK's atomic pmemobj_alloc/free and AssemblyScript's volatile TLSF
// (the no-persistence ceiling), all measured in this one run.
//
// pheap rows: memory backend, durability 'os' (a drain copies lines to the
// durable image; no device). "wasm" = loops inside the core; "ts" = one
// Pool API call per operation. One op = one alloc + one free unless noted.
import { useLoopsCore, loopsPool } from './core/instance.js';
import { measure, printTable, type Row } from './lib/report.js';
import { runPmdk } from './pmdk/run.mjs';
import { runTlsf } from './tlsf/run.js';
import { Pool, OutOfSpaceError } from '../src/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const BATCH = 1000;
const MiB = 1 << 20;

useLoopsCore();
const { pool, loops } = loopsPool({ size: 256 * MiB, layout: 'bench', seed: 1 });
const dest = pool.alloc(4 * 16384, { zero: true });
loops.seedRng(42);

const wasm = {
  alloc_free_64_lifo: measure((n) => loops.allocFree(n, BATCH, 64, 0), { runs: RUNS }),
  alloc_free_64_random: measure((n) => loops.allocFree(n, BATCH, 64, 1), { runs: RUNS }),
  alloc_free_mixed: measure((n) => loops.allocFree(n, BATCH, 0, 1), { runs: RUNS }),
  alloc_free_large: measure((n) => loops.allocFree(n, 16, 256 << 10, 0), { runs: RUNS }),
  alloc_64: 0, free_64: 0, alloc_64_publish: 0, free_64_publish: 0,
};

/** Time allocs and frees separately, BATCH at a time (alloc timed, then free timed). */
function split(publish: boolean): [number, number] {
  const rates: Array<[number, number]> = [];
  for (let r = 0; r < RUNS; r++) {
    let ta = 0, tf = 0, n = 0;
    while (ta + tf < 300) {
      let t = performance.now();
      loops.allocBatch(BATCH, 64, publish ? dest : 0);
      ta += performance.now() - t;
      t = performance.now();
      if (publish) loops.freePublished(BATCH, dest); else loops.freeBatch(BATCH, 0);
      tf += performance.now() - t;
      n += BATCH;
    }
    rates.push([n / ta * 1000, n / tf * 1000]);
  }
  const med = (i: 0 | 1) => rates.map((x) => x[i]).sort((a, b) => a - b)[rates.length >> 1];
  return [med(0), med(1)];
}
[wasm.alloc_64, wasm.free_64] = split(false);
[wasm.alloc_64_publish, wasm.free_64_publish] = split(true);

// The same through the TS API, one call per operation.
const objs = new Array<number>(BATCH);
function tsAllocFree(n: number, size: () => number, order: 'lifo' | 'random'): void {
  for (let done = 0; done < n; done += BATCH) {
    const m = Math.min(BATCH, n - done);
    for (let i = 0; i < m; i++) objs[i] = pool.alloc(size());
    if (order === 'random') for (let i = m - 1; i > 0; i--) { const j = (i * 7919) % (i + 1); [objs[i], objs[j]] = [objs[j], objs[i]]; }
    for (let i = m - 1; i >= 0; i--) pool.free(objs[i]);
  }
}
let s = 1;
const mixed = () => { s = (s * 1103515245 + 12345) & 0x7fffffff; return 16 + (s % 4081); };
const ts = {
  alloc_free_64_lifo: measure((n) => tsAllocFree(n, () => 64, 'lifo'), { runs: RUNS }),
  alloc_free_64_random: measure((n) => tsAllocFree(n, () => 64, 'random'), { runs: RUNS }),
  alloc_free_mixed: measure((n) => tsAllocFree(n, mixed, 'random'), { runs: RUNS }),
};

const pmdk = await runPmdk({ runs: RUNS });
const tlsf = await runTlsf();
const rows: Row[] = [];
const anchor = (name: string) => (pmdk?.[name]?.opsPerSec ?? null);
for (const [k, v] of Object.entries(wasm)) rows.push({ case: k, backend: 'wasm/memory', durability: 'os', opsPerSec: v, anchor: `pmdk ${k}`, anchorOpsPerSec: anchor(k) });
for (const [k, v] of Object.entries(ts)) rows.push({ case: k, backend: 'ts/memory', durability: 'os', opsPerSec: v, anchor: `pmdk ${k}`, anchorOpsPerSec: anchor(k) });
for (const [k, v] of Object.entries(tlsf)) {
  const mine = (wasm as Record<string, number>)[k];
  if (mine !== undefined) rows.push({ case: k, backend: 'wasm/memory', durability: 'os', opsPerSec: mine, anchor: `tlsf ${k} (volatile)`, anchorOpsPerSec: v.opsPerSec });
}
printTable(rows, `allocator, medians of ${RUNS} runs (pmdk: /dev/shm, PMEM_IS_PMEM_FORCE=1; tlsf: volatile ceiling)`);

// Fragmentation after a random mixed-size workload that leaves ~50% of the heap live.
const frag = Pool.create({ size: 64 * MiB, layout: 'frag', seed: 2 });
const live: number[] = [];
let fs_ = 7;
const rnd = () => { fs_ = (fs_ * 1103515245 + 12345) & 0x7fffffff; return fs_; };
try { for (;;) live.push(frag.alloc(16 + (rnd() % 4081))); } catch (e) { if (!(e instanceof OutOfSpaceError)) throw e; }
for (let i = live.length - 1; i > 0; i--) { const j = rnd() % (i + 1); [live[i], live[j]] = [live[j], live[i]]; }
for (const off of live.splice(0, live.length >> 1)) frag.free(off);
const h = frag.stats().heap;
console.log(`\nfragmentation after filling 64 MiB with 16 B–4 KiB objects and freeing a random half: ` +
  `${h.liveObjects} live objects, ${(h.liveBytes / MiB).toFixed(1)} MiB live, ${(h.freeBytes / MiB).toFixed(1)} MiB free, ` +
  `largest free block ${(h.largestFreeBytes / 1024).toFixed(0)} KiB, fragmentation ${(h.fragmentation * 100).toFixed(1)}%, ` +
  `metadata ${(h.metadataBytes / MiB).toFixed(2)} MiB`);
