// exit.ts — how the `pheap` command ends: its exit codes and its one-line
// error message.
//
// Owns: the mapping from an error to an exit code, and the text of the
// single stderr line every failure prints.
// Invariants (documented in docs/cli.md, tested in test/cli.test.ts):
//   0   success (doctor: the path is on persistent memory);
//   1   a problem was found: the pool is damaged or inconsistent (a
//       Corrupt*Error or TruncatedPoolError, from any command that reads it),
//       the pool is open in another process (PoolLockedError), or doctor
//       found the path is not on persistent memory;
//   2   usage or bad input: a wrong argument or option, a file that is not
//       there or not a pool, a layout that does not match, a bad size, range,
//       port or operation log, a backend that cannot be had;
//   70  an unexpected internal error (EX_SOFTWARE): the only case that
//       prints a stack trace.
// A typed error is printed as exactly one line: `pheap: <ErrorClass>: message`.

import { CommanderError } from 'commander';
import {
  CorruptHeaderError, CorruptHeapError, CorruptLogError, InvalidArgumentError, PheapError, PoolLockedError,
  TruncatedPoolError,
} from '../index.js';

/** The exit codes of `pheap`. */
export const EXIT = { OK: 0, PROBLEM: 1, USAGE: 2, INTERNAL: 70 } as const;

/** True when `e` says the pool itself is damaged (what `check` exists to find). */
export function isDamage(e: unknown): boolean {
  return e instanceof CorruptHeaderError || e instanceof CorruptHeapError || e instanceof CorruptLogError ||
    e instanceof TruncatedPoolError;
}

/** A commander usage error as the typed error the CLI reports: one line, without commander's "error: " prefix. */
export function usageError(e: CommanderError): InvalidArgumentError {
  return new InvalidArgumentError(e.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim());
}

/** True for an error the CLI answers with one line (not a stack trace). */
function expected(e: unknown): e is Error {
  return e instanceof PheapError;
}

/** The exit code for a command that failed with `e`. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof PoolLockedError || isDamage(e)) return EXIT.PROBLEM;
  if (expected(e) || e instanceof CommanderError) return EXIT.USAGE;
  return EXIT.INTERNAL;
}

/** What to print on stderr for `e`: one line for an expected error, a stack trace for an internal one. */
export function errorText(e: unknown): string {
  if (e instanceof CommanderError) return errorText(usageError(e));
  if (expected(e)) return `pheap: ${e.name}: ${e.message.replace(/\s*\n\s*/g, ' ')}`;
  return `pheap: internal error (exit ${EXIT.INTERNAL}), please report it:\n${e instanceof Error ? e.stack : String(e)}`;
}
