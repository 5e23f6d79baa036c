// image.ts — how the read-only commands (info, check, dump) get at a pool:
// a copy of the file in memory, taken under the pool's lock.
//
// Owns: reading a pool file whole, in chunks, with a progress bar; opening
// such a copy with the memory backend; the layout name to open it with.
// Invariants:
//  - The pool file is never written. The lock is taken the way every opener
//    takes it (backends/poolfile.ts openPoolFile: the OS lock needs a
//    writable descriptor, so the file is opened read-write, but only read),
//    which refuses a pool open elsewhere (PoolLockedError) and validates the
//    header against the file's size (NotAPoolError, TruncatedPoolError,
//    CorruptHeaderError) before a byte of the rest is read; a refusal by the
//    system (EACCES, ELOOP, ...) is PoolFileError. The lock is released, and
//    the descriptor closed, before the copy is used.
//  - Recovery, the open count, every write an open makes go to the copy.
//  - A copy that the pool refuses to open for damage is reported (what the
//    damage is, what it says about the undo log), not thrown: the commands
//    print what they know, then fail with that error.

import * as fs from 'node:fs';
import { Pool } from '../index.js';
import { openPoolFile } from '../backends/poolfile.js';
import { CorruptLogError, LayoutMismatchError, PoolFileError, typedFileError, type PheapError } from '../errors.js';
import { isDamage } from './exit.js';
import { parseHeader, type PoolHeader } from './header.js';
import { progress, type ProgressOptions } from './progress.js';

/** Read in pieces of this many bytes (one progress step each). */
const CHUNK = 4 << 20;
/** Pools smaller than this are read without a bar. */
export const PROGRESS_MIN_BYTES = 32 << 20;

/** A pool file's bytes as they are on disk, and its decoded header. */
export interface PoolImage {
  path: string;
  bytes: Uint8Array;
  header: PoolHeader;
}

/** Read all `size` bytes of `fd` into `out`, reporting progress. */
function readWhole(fd: number, out: Uint8Array, path: string, opts: ProgressOptions): void {
  const bar = progress(`reading ${path}`, out.length, { ...opts, minTotal: PROGRESS_MIN_BYTES, bytes: true });
  try {
    let done = 0;
    while (done < out.length) {
      const n = fs.readSync(fd, out, done, Math.min(CHUNK, out.length - done), done);
      if (n === 0) throw new PoolFileError(path, 'EIO', `the file ended at ${done} bytes while it was being read`);
      done += n;
      bar.update(done);
    }
  } finally {
    bar.stop();
  }
}

/** The whole pool file at `path`, read under its lock (see the invariants above). */
export function readPoolImage(path: string, opts: ProgressOptions = {}): PoolImage {
  let file: ReturnType<typeof openPoolFile>;
  try {
    file = openPoolFile(path);
  } catch (e) {
    throw typedFileError(e, path);
  }
  try {
    const bytes = new Uint8Array(file.size);
    readWhole(file.fd, bytes, path, opts);
    return { path, bytes, header: parseHeader(bytes) };
  } finally {
    fs.closeSync(file.fd);
    file.unlock();
  }
}

/** The layout to open with: the one asked for (which must be the pool's), else the header's. */
export function layoutFor(image: PoolImage, asked: string | undefined): string {
  if (asked !== undefined && asked !== image.header.layout) throw new LayoutMismatchError(image.path, asked);
  return image.header.layout;
}

/**
 * Open `image` with the memory backend: recovery and every write of the open
 * change only these bytes in memory (`image.bytes` belongs to the pool from
 * then on; `image.header` keeps what the file said).
 */
export function openCopy(image: PoolImage, layout: string | undefined): Pool {
  return Pool.open({ backend: 'memory', image: image.bytes, path: image.path, layout: layoutFor(image, layout) });
}

/** The undo log as a report shows it. */
export interface LogState {
  /** clean: nothing to roll back; needs-recovery: the next open rolls back `entries`; corrupt: recovery refuses; unknown: other damage stopped the open first. */
  state: 'clean' | 'needs-recovery' | 'corrupt' | 'unknown';
  /** Undo entries the next open rolls back (0 when clean), null when not known. */
  entries: number | null;
  /** Pool offset of the damage, for a corrupt log. */
  damageOffset?: number;
}

/** A copy opened for a report: the pool (null when damage refused it), its log state, and the damage. */
export interface OpenedCopy {
  pool: Pool | null;
  log: LogState;
  damage: PheapError | null;
}

/** Open `image` (see openCopy), answering damage with a report instead of an exception. */
export function openCopyForReport(image: PoolImage, layout: string | undefined): OpenedCopy {
  let pool: Pool;
  try {
    pool = openCopy(image, layout);
  } catch (e) {
    if (!isDamage(e)) throw e;
    const log: LogState = e instanceof CorruptLogError
      ? { state: 'corrupt', entries: null, damageOffset: e.offset }
      : { state: 'unknown', entries: null };
    return { pool: null, log, damage: e as PheapError };
  }
  const entries = pool.stats().recovery.entriesRolledBack;
  return { pool, log: { state: entries > 0 ? 'needs-recovery' : 'clean', entries }, damage: null };
}
