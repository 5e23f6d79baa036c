// fuzz-worker.ts — the worker thread that opens pool-file mutants for
// test/fuzz.test.ts, so that a hang in the core cannot stall the test.
//
// Before each mutant the worker stores its index in `progress[0]`; the parent
// terminates the worker when that index stops moving, and starts a new one
// from the first mutant whose verdict it has not received, with the hung
// mutant in `hangs` (reported as 'hang', never opened again).
//
// Protocol: workerData is a FuzzJob; the worker posts a FuzzBatch for every
// BATCH consecutive mutants (the last one may be shorter), then exits.
// Bundled by the test with esbuild: it installs its own WASM loader.

import { parentPort, workerData } from 'node:worker_threads';
import * as fs from 'node:fs';
import { setModuleLoader } from '../../src/core.js';
import { IMAGE_NAMES, MutantRunner, OUTCOMES, decodeMutant, isFailure, type ImageName, type Verdict } from './mutants.js';

export interface FuzzJob {
  /** The core's .wasm file, and whether it is the debug build. */
  wasm: string;
  debug: boolean;
  layout: string;
  /** Base images, in IMAGE_NAMES order. */
  bases: Uint8Array[];
  /** encodeMutants() of the whole list. */
  mutants: Int32Array;
  /** First mutant to open. */
  from: number;
  /** Mutants that hung in an earlier worker. */
  hangs: number[];
  /** Shared: the index of the mutant being opened. */
  progress: Int32Array;
}

export interface FuzzBatch {
  /** Index of the first mutant of the batch. */
  from: number;
  /** OUTCOMES index per mutant. */
  outcomes: Uint8Array;
  /** Failures' details, by mutant index. */
  failures: Array<[number, string]>;
  /** Refusals and detections per error class, keyed "refused: CorruptHeaderError". */
  errors: Record<string, number>;
}

const BATCH = 512;

function runJob(job: FuzzJob, post: (b: FuzzBatch) => void): void {
  setModuleLoader(() => new WebAssembly.Module(fs.readFileSync(job.wasm)));
  const bases = new Map<ImageName, Uint8Array>(IMAGE_NAMES.map((name, i) => [name, job.bases[i]]));
  const runner = new MutantRunner(bases, job.layout, job.debug);
  const count = job.mutants.length / 4;
  for (let from = job.from; from < count; from += BATCH) {
    const batch: FuzzBatch = { from, outcomes: new Uint8Array(Math.min(BATCH, count - from)), failures: [], errors: {} };
    for (let k = 0; k < batch.outcomes.length; k++) {
      const i = from + k;
      Atomics.store(job.progress, 0, i);
      const v: Verdict = job.hangs.includes(i)
        ? { outcome: 'hang', detail: 'opening it did not return (an earlier worker was stopped)' }
        : runner.run(decodeMutant(job.mutants, i));
      batch.outcomes[k] = OUTCOMES.indexOf(v.outcome);
      if (isFailure(v.outcome)) batch.failures.push([i, v.detail]);
      else if (v.detail) batch.errors[`${v.outcome}: ${v.detail}`] = (batch.errors[`${v.outcome}: ${v.detail}`] ?? 0) + 1;
    }
    post(batch);
  }
}

if (parentPort) {
  const port = parentPort;
  runJob(workerData as FuzzJob, (b) => port.postMessage(b));
}
