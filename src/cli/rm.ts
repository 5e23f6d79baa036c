// rm.ts — `pheap rm [-f] <file>...`: remove pools safely, like `pmempool rm`.
//
// Owns: removing pool files and their lock.
// Invariants: a file is removed only if it is a pool (it starts with the
// magic; a damaged pool is still a pool and can be removed) and only while
// this process holds its lock (lock.ts), so a pool open elsewhere is refused
// (PoolLockedError) and never pulled from under its user. Taking the lock
// sweeps the dead claims a crashed opener left; releasing it after the
// unlink removes ours, so no claim file of the pool is left behind. A file
// that is not a pool is refused (NotAPoolError) and kept. -f only lets a
// missing file pass, as with rm(1). With --layout, only a pool whose
// (valid) header names that layout is removed (LayoutMismatchError, or the
// header's damage, otherwise). Each file is handled on its own: one refusal
// does not stop the others.

import * as fs from 'node:fs';
import type { Command } from 'commander';
import { LayoutMismatchError, NotAPoolError, PoolNotFoundError, typedFileError } from '../index.js';
import { lockPoolFile } from '../backends/lock.js';
import { HEADER_SIZE, MAGIC } from '../layout.js';
import { recordedPoolSize } from '../format.js';
import { parseHeader } from './header.js';
import { errorText, exitCodeOf } from './exit.js';

export interface RmCliOptions {
  force?: boolean;
  layout?: string;
  json?: boolean;
}

export interface RmCliResult {
  removed: string[];
  /** Missing files that -f let pass. */
  missing: string[];
  /** The refusals, one line each (as printed on stderr). */
  errors: string[];
}

/** Throw NotAPoolError unless the file open at `fd` starts with the pool magic; with `layout`, the header must be valid and name it. */
function expectPool(fd: number, path: string, layout: string | undefined): void {
  const head = Buffer.alloc(HEADER_SIZE);
  const got = fs.readSync(fd, head, 0, head.length, 0);
  if (got < MAGIC.length || head.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new NotAPoolError(path);
  if (layout === undefined) return;
  recordedPoolSize(head.subarray(0, got), fs.fstatSync(fd).size, path);
  if (parseHeader(head).layout !== layout) throw new LayoutMismatchError(path, layout);
}

/** Remove the pool at `path` under its lock; 'missing' when it does not exist and `force` is set. */
function removeOne(path: string, force: boolean, layout: string | undefined): 'removed' | 'missing' {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw typedFileError(e, path);
    if (force) return 'missing';
    throw new PoolNotFoundError(path);
  }
  if (!st.isFile()) throw new NotAPoolError(path, 'it is not a regular file');
  let fd: number;
  try {
    fd = fs.openSync(path, 'r+');
  } catch (e) {
    throw typedFileError(e, path);
  }
  let unlock: (() => void) | null = null;
  try {
    unlock = lockPoolFile(fd, path);
    expectPool(fd, path, layout);
    fs.unlinkSync(path);
    return 'removed';
  } finally {
    fs.closeSync(fd);
    unlock?.();
  }
}

/** Remove each of `paths` (see the invariants); the exit code is the worst of the refusals. */
export function runRm(paths: string[], opts: RmCliOptions = {}): { report: RmCliResult; exitCode: number } {
  const report: RmCliResult = { removed: [], missing: [], errors: [] };
  let exitCode = 0;
  for (const path of paths) {
    try {
      report[removeOne(path, opts.force === true, opts.layout)].push(path);
    } catch (e) {
      report.errors.push(errorText(e));
      exitCode = Math.max(exitCode, exitCodeOf(e));
    }
  }
  return { report, exitCode };
}

export function formatRm(r: RmCliResult): string {
  return [...r.removed.map((p) => `removed ${p}`), ...r.missing.map((p) => `not there (ignored with -f): ${p}`)].join('\n');
}

/** Register `pheap rm` on the CLI program. */
export function registerRm(program: Command): void {
  program.command('rm')
    .description('remove pool files and their lock, refusing a pool open elsewhere or a file that is not a pool')
    .argument('<file...>', 'pool files')
    .option('-f, --force', 'ignore files that do not exist (nothing else)')
    .option('-l, --layout <name>', 'remove only pools created with this layout')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ pheap rm counters.pool old.pool')
    .action((files: string[], opts: RmCliOptions) => {
      const { report, exitCode } = runRm(files, opts);
      const text = opts.json ? JSON.stringify(report, null, 2) : formatRm(report);
      if (text) console.log(text);
      for (const line of report.errors) console.error(line);
      process.exitCode = exitCode;
    });
}
