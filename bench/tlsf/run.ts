// The no-persistence ceiling: AssemblyScript's TLSF allocator (heap.alloc /
// heap.free, runtime "minimal") running the same loops as the PMDK harness.
// Ops are counted like the harness: alloc_free_* = alloc+free pairs.
//
//   import { runTlsf } from './bench/tlsf/run.js';  // TS (NodeNext) import
//   const tlsf = await runTlsf({ runs: 5 });
//
// Directly (needs a TS loader on Node 20, e.g. tsx): tsx bench/tlsf/run.ts

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { buildTlsf } from './build.mjs';
import { measureRuns, median, printTable, type Row } from '../lib/report.js';

interface TlsfExports {
  allocFree64Lifo(n: number, batch: number): number;
  allocFree64Random(n: number, seed: number, batch: number): number;
  allocFreeMixed(n: number, seed: number, batch: number): number;
  allocFreeLarge(n: number, batch: number): number;
  alloc64ThenFree(n: number, batch: number): number;
  allocMs(): number;
  freeMs(): number;
}

export interface TlsfOptions {
  /** Timed runs per case; the median is reported (default 5). */
  runs?: number;
  /** Minimum duration of one timed run (default 200 ms). */
  minTimeMs?: number;
  /** Objects alive at once (default 1000, as the PMDK harness). */
  batch?: number;
  /** Objects alive at once in alloc_free_large (default 16). */
  largeBatch?: number;
  /** Ops per run for alloc_64 / free_64 (default 2,000,000). */
  splitOps?: number;
  seed?: number;
}

export interface TlsfResult {
  opsPerSec: number;
  runs: number[];
}

export type TlsfCase =
  | 'alloc_free_64_lifo'
  | 'alloc_free_64_random'
  | 'alloc_free_mixed'
  | 'alloc_free_large'
  | 'alloc_64'
  | 'free_64';

async function instantiate(module: WebAssembly.Module): Promise<TlsfExports> {
  const imports = {
    env: {
      now: () => performance.now(),
      abort: (_msg: number, _file: number, line: number, col: number) => {
        throw new Error(`tlsf.wasm abort at ${line}:${col}`);
      },
    },
  };
  const inst = await WebAssembly.instantiate(module, imports);
  return inst.exports as unknown as TlsfExports;
}

/** Median ops/s per case; a fresh instance (fresh TLSF heap) per case. */
export async function runTlsf(opts: TlsfOptions = {}): Promise<Record<TlsfCase, TlsfResult>> {
  const runs = opts.runs ?? 5;
  const minTimeMs = opts.minTimeMs ?? 200;
  const batch = opts.batch ?? 1000;
  const largeBatch = opts.largeBatch ?? 16;
  const seed = opts.seed ?? 42;
  const splitOps = opts.splitOps ?? 2_000_000;
  const module = await WebAssembly.compile(readFileSync(await buildTlsf()));

  const loops: [TlsfCase, (x: TlsfExports, n: number) => unknown][] = [
    ['alloc_free_64_lifo', (x, n) => x.allocFree64Lifo(n, batch)],
    ['alloc_free_64_random', (x, n) => x.allocFree64Random(n, seed, batch)],
    ['alloc_free_mixed', (x, n) => x.allocFreeMixed(n, seed, batch)],
    ['alloc_free_large', (x, n) => x.allocFreeLarge(n, largeBatch)],
  ];
  const out = {} as Record<TlsfCase, TlsfResult>;
  for (const [name, loop] of loops) {
    const x = await instantiate(module);
    const m = measureRuns((n) => loop(x, n), { runs, minTimeMs });
    out[name] = { opsPerSec: m.opsPerSec, runs: m.runs };
  }

  // alloc_64 / free_64: the loop times allocs and frees apart (clock import
  // called once per batch of allocs and once per batch of frees).
  const x = await instantiate(module);
  x.alloc64ThenFree(splitOps, batch); // warm-up
  const a: number[] = [];
  const f: number[] = [];
  for (let i = 0; i < runs; i++) {
    x.alloc64ThenFree(splitOps, batch);
    a.push((splitOps * 1000) / x.allocMs());
    f.push((splitOps * 1000) / x.freeMs());
  }
  out.alloc_64 = { opsPerSec: median(a), runs: a };
  out.free_64 = { opsPerSec: median(f), runs: f };
  return out;
}

async function main(): Promise<void> {
  const runs = Number(process.env.RUNS ?? 5);
  const res = await runTlsf({ runs });
  const rows: Row[] = Object.entries(res).map(([name, r]) => ({
    case: name,
    backend: 'tlsf (AS heap, wasm)',
    durability: 'none',
    opsPerSec: r.opsPerSec,
  }));
  printTable(rows, `AssemblyScript TLSF (runtime minimal, -O3), median of ${runs} runs; alloc_free_* = pairs/s`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
