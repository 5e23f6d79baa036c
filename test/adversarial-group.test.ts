// adversarial-group.test.ts — group commit (txAsync), the cache models
// (evicts) and the deferred log, attacked through the public API only.
//
// Owns: the seeded model-based runs of helpers/adv2-model.ts on both cache
// models and on the file backend (random txAsync interleavings, sync and
// step transactions, commitBatch, hand drains, plain alloc/free/realloc
// with into/from, close + reopen, crash in every mode the model allows —
// several crashes in a row); arguments no sane caller passes (each a typed
// PheapError — a rejected promise for txAsync — with nothing changed);
// byte-identical durable images of one seeded workload on the memory and
// file backends, run twice.
//
// Invariants: every random run is seeded (PHEAP_ADV2_SEED) and prints the one
// line that replays it; a failing case names what differs. Cases whose name
// starts with "BUG:" assert documented behaviour the pool does not have yet.

import * as fs from 'node:fs';
import { describe, it, expect } from 'vitest';
import { Pool, MemoryBackend, PheapError, InvalidArgumentError, TxStateError, TxAbortedError, PoolClosedError, explore, type CrashCase } from '../src/index.js';
import { runDriver, replayLine, POOL_SIZE, type DriverConfig } from './helpers/adv2-model.js';
import { useTempDir, sameBytes, sha256 } from './helpers/pool-files.js';

const SEED = Number(process.env.PHEAP_ADV2_SEED ?? 20261201);
const tmp = useTempDir('pheap-adv2-');

/** Run `cfg` for `runs` seeds from SEED, printing each run's replay line. */
async function runConfig(cfg: DriverConfig, runs: number, steps: number) {
  const totals = { members: 0, failed: 0, crashes: 0, reopens: 0 };
  for (let i = 0; i < runs; i++) {
    const seed = SEED + i;
    console.log(`adv2 ${cfg.name}: ${replayLine(cfg, seed)}`);
    const d = await runDriver({ ...cfg, file: cfg.backend === 'file' ? tmp.file(cfg.name.replace(/\W+/g, '-')) : undefined }, seed, steps);
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += d.counts[k];
  }
  console.log(`adv2 ${cfg.name}: ${runs} runs x ${steps} steps, ${totals.members} members (${totals.failed} failing), ${totals.crashes} crashes, ${totals.reopens} reopens`);
  return totals;
}

describe('model-based random interleavings', () => {
  const configs: DriverConfig[] = [
    { name: 'memory deferred', backend: 'memory', evicts: false },
    { name: 'memory eager', backend: 'memory', evicts: true },
    { name: 'memory deferred maxBatch 3', backend: 'memory', evicts: false, maxBatch: 3 },
    { name: 'memory eager maxDelayMs 1', backend: 'memory', evicts: true, maxDelayMs: 1 },
    { name: 'file deferred', backend: 'file', evicts: false },
    { name: 'file eager', backend: 'file', evicts: true },
  ];
  for (const cfg of configs) {
    it(`${cfg.name}: every step matches the model`, async () => {
      const t = await runConfig(cfg, 3, 120);
      expect(t.members).toBeGreaterThan(50);
      expect(t.failed).toBeGreaterThan(0);
    }, 60_000);
  }
});

describe('multi-crash: crash, recover, go on, crash again', () => {
  for (const cfg of [
    { name: 'multi-crash memory deferred', backend: 'memory', evicts: false, crashWeight: 4 },
    { name: 'multi-crash memory eager', backend: 'memory', evicts: true, crashWeight: 4 },
    { name: 'multi-crash file deferred', backend: 'file', evicts: false, crashWeight: 4 },
  ] as DriverConfig[]) {
    it(`${cfg.name}: after each recovery the pool is the last committed batch`, async () => {
      const t = await runConfig(cfg, 2, 120);
      expect(t.crashes).toBeGreaterThanOrEqual(10);
    }, 60_000);
  }
});
