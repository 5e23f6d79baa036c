// instance.ts — pools whose core is the benchmark build (bench/core/loops.ts).
//
// The loops module is the whole core plus in-WASM loops; registering it as
// the compiled module makes every Pool created afterwards use it, so the TS
// API and the in-WASM loops run the very same code side by side.
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { packageRoot } from '../../src/cli/serve.js';
import { setCompiledModule, type CoreExports } from '../../src/core.js';
import { Pool, type CreateOptions } from '../../src/index.js';

export interface Loops extends CoreExports {
  seedRng(seed: number): void;
  allocBatch(count: number, size: number, dest: number): number;
  freeBatch(count: number, random: number): void;
  allocFree(n: number, batch: number, size: number, random: number): number;
  freePublished(count: number, dest: number): void;
  txSnapshot64(n: number, base: number, hot: number): void;
  txSnapshot8x64(n: number, base: number, lines: number): void;
  txAllocPublish(n: number, dest: number): number;
}

/** Build and register the loops module in place of the core (paths from the package root: benches run bundled). */
export function useLoopsCore(): void {
  const dir = path.join(packageRoot(), 'bench', 'core');
  execFileSync(process.execPath, [path.join(dir, 'build.mjs')], { stdio: 'inherit' });
  setCompiledModule(false, new WebAssembly.Module(fs.readFileSync(path.join(dir, 'build', 'loops.wasm'))));
}

/** A pool and its core's loop exports. */
export function loopsPool(opts: CreateOptions): { pool: Pool; loops: Loops } {
  const pool = Pool.create(opts);
  return { pool, loops: (pool as unknown as { core: Loops }).core };
}
