// vitest.ts — crash tests in a few lines, for vitest users.
//
//   import { crashTest } from 'pheap/testing';
//
//   crashTest('counter survives every crash', {
//     setup: (pool) => { pool.root(8); },
//     workload: (pool, mark) => {
//       for (let i = 1; i <= 3; i++) { pool.tx((tx) => tx.setU32(pool.root(8), i)); mark(`op ${i - 1} returned`); }
//     },
//     check: (pool, markers) => expect(pool.readU32(pool.root(8))).toBeGreaterThanOrEqual(markers.length),
//   });
//
// It registers one vitest test that runs explore() and fails with the
// report — the smallest failing case, its crash image's SHA-256 and a
// one-line command that replays exactly that case. Every explore() option
// passes through, `depth` (crash, recover, continue, crash again) included. Not exported from the
// package root (vitest is a dev tool): it is the 'pheap/testing' subpath.

import { expect, it } from 'vitest';
import { explore, formatReport, type ExploreOptions, type ExploreReport } from '../index.js';

export interface CrashTestOptions extends Omit<ExploreOptions, 'name' | 'file'> {
  /** The exploration must find a failure (tests of deliberately broken code). Default false. */
  expectFailure?: boolean;
  /** Print the one-line summary (states explored, rate). Default true. */
  log?: boolean;
  /** Test timeout in ms (default: vitest's). */
  timeout?: number;
  /** Called with the report after the exploration, e.g. for extra assertions. */
  onReport?: (report: ExploreReport) => void;
}

function testFile(): string | undefined {
  const path = expect.getState().testPath;
  if (!path) return undefined;
  const cwd = typeof process !== 'undefined' ? process.cwd() : '';
  return cwd && path.startsWith(cwd + '/') ? path.slice(cwd.length + 1) : path;
}

/** Register a vitest test that explores every crash state of `options.workload`. */
export function crashTest(name: string, options: CrashTestOptions | (() => CrashTestOptions)): void {
  it(name, () => {
    const { expectFailure, log, timeout: _t, onReport, ...opts } = typeof options === 'function' ? options() : options;
    const report = explore({ ...opts, name, file: testFile() });
    if (log ?? true) console.log(`${name}: ${formatReport(report).split('\n')[0]}`);
    onReport?.(report);
    if (expectFailure) {
      if (report.failures.length === 0) throw new Error(`expected a crash-consistency failure, found none:\n${formatReport(report)}`);
    } else if (report.failures.length) {
      throw new Error(formatReport(report));
    }
  }, typeof options === 'function' ? undefined : options.timeout);
}
