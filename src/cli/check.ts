// check.ts — `pheap check <file> [--json] [--repair] [--layout name]`, like
// `pmempool check`.
//
// Owns: the consistency verdict and its report.
// Invariants:
//  - Without --repair, check never writes the pool file, not even recovery:
//    it checks a copy read under the pool's lock (image.ts), so it refuses a
//    pool open elsewhere (PoolLockedError) and leaves the file
//    byte-identical. The copy's recovery tells whether recovery is pending.
//  - A pool is consistent when it opens (after the copy's recovery) and
//    Pool.check() finds every heap invariant holding. Pending recovery is not
//    a problem: it is what a crash leaves, and the next open completes it
//    (exit 0; the report says so).
//  - With --repair the pool is opened for real (file backend): recovery runs
//    and is written, then the same check runs on the recovered pool. A pool
//    that damage keeps from opening is left untouched either way.

import type { Command } from 'commander';
import { Pool, type PheapError } from '../index.js';
import { isDamage } from './exit.js';
import { layoutFor, openCopyForReport, readPoolImage, type LogState } from './image.js';
import { formatLog, problemOf, type Problem } from './info.js';

export interface CheckCliOptions {
  layout?: string;
  json?: boolean;
  repair?: boolean;
}

export interface CheckCliResult {
  path: string;
  /** Every invariant holds (after recovery). */
  consistent: boolean;
  /** The undo log as found on disk (before --repair ran recovery). */
  log: LogState;
  /** Recovery is pending in the file: true before a --repair, false after it. */
  recoveryPending: boolean;
  /** With --repair: the undo entries its recovery rolled back (null: no repair was done). */
  repairedEntries: number | null;
  problem: Problem | null;
}

/** Run Pool.check() on `pool` (closing it), returning the damage it finds. */
function checkPool(pool: Pool): PheapError | null {
  try {
    pool.check();
    return null;
  } catch (e) {
    if (isDamage(e)) return e as PheapError;
    throw e;
  } finally {
    pool.close();
  }
}

/** Open the file for real (recovery is written), check it; the entries rolled back, or the damage. */
function repair(path: string, layout: string): { entries: number | null; damage: PheapError | null } {
  let pool: Pool;
  try {
    pool = Pool.open({ path, layout, backend: 'file' });
  } catch (e) {
    if (isDamage(e)) return { entries: null, damage: e as PheapError };
    throw e;
  }
  const entries = pool.stats().recovery.entriesRolledBack;
  return { entries, damage: checkPool(pool) };
}

/** Read-only part: the log state, and the damage found in the copy (null: consistent). */
function checkCopy(path: string, opts: CheckCliOptions): { layout: string; log: LogState; damage: PheapError | null } {
  const image = readPoolImage(path, { json: opts.json });
  const layout = layoutFor(image, opts.layout);
  const { pool, log, damage } = openCopyForReport(image, layout);
  return { layout, log, damage: pool ? checkPool(pool) : damage };
}

/**
 * Check the pool at `path` (see the invariants above); returns the report and
 * the damage found (null when consistent). Throws what keeps it from checking
 * at all: not a pool, locked, another layout, ...
 */
export function runCheck(path: string, opts: CheckCliOptions = {}): { report: CheckCliResult; damage: PheapError | null } {
  let found: ReturnType<typeof checkCopy>;
  try {
    found = checkCopy(path, opts);
  } catch (e) {
    if (!isDamage(e)) throw e; // a damaged header or a truncated file: found before any copy opens
    const log: LogState = { state: 'unknown', entries: null };
    const report = { path, consistent: false, log, recoveryPending: false, repairedEntries: null, problem: problemOf(e as PheapError) };
    return { report, damage: e as PheapError };
  }
  const pending = found.log.state === 'needs-recovery';
  const fixed = opts.repair && !found.damage ? repair(path, found.layout) : null;
  const damage = fixed ? fixed.damage : found.damage;
  const report: CheckCliResult = {
    path, consistent: damage === null, log: found.log,
    recoveryPending: pending && !(fixed && fixed.entries !== null),
    repairedEntries: fixed ? fixed.entries : null,
    problem: problemOf(damage),
  };
  return { report, damage };
}

export function formatCheck(r: CheckCliResult): string {
  const lines = [`${r.path}: ${r.consistent ? 'consistent' : 'INCONSISTENT'}`, `  undo log   ${r.repairedEntries !== null ? 'as found: ' : ''}${formatLog(r.log)}`];
  if (r.repairedEntries !== null) lines.push(`  repaired   recovery ran and rolled back ${r.repairedEntries} undo entr${r.repairedEntries === 1 ? 'y' : 'ies'} (written to the file)`);
  else if (r.recoveryPending) lines.push('  note       check is read-only: the next open, or `pheap check --repair`, runs the recovery');
  if (r.problem) lines.push(`  problem    ${r.problem.error}: ${r.problem.message}`);
  return lines.join('\n');
}

/** Register `pheap check` on the CLI program: it prints the report, then fails with the damage it found (if any). */
export function registerCheck(program: Command): void {
  program.command('check')
    .description('verify every invariant of a pool, read-only (the file is never written); --repair runs recovery for real first')
    .argument('<file>', 'pool file')
    .option('-l, --layout <name>', 'layout name to expect (default: the one in the header)')
    .option('--repair', 'open the pool for real: recovery runs and is written, then check')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  $ pheap check counters.pool\n  $ pheap check counters.pool --repair --json')
    .action((file: string, opts: CheckCliOptions) => {
      const { report, damage } = runCheck(file, opts);
      console.log(opts.json ? JSON.stringify(report, null, 2) : formatCheck(report));
      if (damage) throw damage;
    });
}
