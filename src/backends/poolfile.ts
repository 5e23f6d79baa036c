// poolfile.ts — getting hold of a pool file: what the file and mapped
// backends share before their ways part (read it in / map it).
//
// Invariants:
//  - Every pool file handed out is locked (lock.ts) on the very fd returned,
//    so the lock is on the file that is used, whatever path led to it.
//  - Create is atomic and exclusive. The new pool is made under a hidden temp
//    name beside `path` (`.<name>.pheap-new-<pid>-<hex>`, same directory, so
//    same file system), locked, formatted there by the core, and only then
//    published by `finishCreate`: (fdatasync,) link(temp, path) — which fails
//    with EEXIST rather than clobber, answered with PoolExistsError — unlink
//    the temp, (fsync the directory). A kill at any moment leaves either no
//    file at `path` or the complete pool; the lock carries over because it is
//    on the inode, not the name. A create that fails or is abandoned removes
//    its temp file; one killed leaves a temp that nothing opens, removed by
//    the next create of the same name once its pid is gone.
//  - Open checks existence, type, the lock and the header's recorded size
//    against the file before anything else touches it, and answers a file
//    that vanishes meanwhile with PoolNotFoundError, never a raw ENOENT.

import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { HEADER_SIZE } from '../layout.js';
import { NotAPoolError, OutOfSpaceError, PoolExistsError, PoolNotFoundError } from '../errors.js';
import { recordedPoolSize } from '../format.js';
import { lockPoolFile, processAlive } from './lock.js';

export interface PoolFile {
  fd: number;
  size: number;
  /** Releases the lock (the fd is closed by the caller). For a create that was never finished, also removes its temp file. */
  unlock: () => void;
  /**
   * New pools only: publish the formatted temp file at its path. `durable`
   * (durability 'fsync') adds fdatasync before and a directory fsync after.
   * Throws PoolExistsError if `path` appeared meanwhile; nothing is clobbered.
   */
  finishCreate?: (durable: boolean) => void;
}

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code;

/** Name prefix of the temp files a create of `path` makes beside it. */
function tempPrefix(path: string): string {
  return `.${basename(path)}.pheap-new-`;
}

/** Remove temp files left beside `path` by creates whose process is gone (killed mid-create). */
function sweepLeftovers(path: string): void {
  const dir = dirname(path);
  const prefix = tempPrefix(path);
  for (const name of fs.readdirSync(dir)) {
    const pid = /^(\d+)-[0-9a-f]+$/.exec(name.startsWith(prefix) ? name.slice(prefix.length) : '')?.[1];
    if (pid !== undefined && !processAlive(Number(pid))) fs.rmSync(join(dir, name), { force: true });
  }
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** link(temp, path), or, where the file system has no hard links, an existence check and rename. */
function publish(temp: string, path: string): void {
  try {
    fs.linkSync(temp, path);
  } catch (e) {
    if (errno(e) === 'EEXIST') throw new PoolExistsError(path);
    if (errno(e) !== 'EPERM' && errno(e) !== 'ENOTSUP' && errno(e) !== 'EOPNOTSUPP') throw e;
    if (exists(path)) throw new PoolExistsError(path);
    fs.renameSync(temp, path);
  }
}

/**
 * Start creating `path`: a locked temp file of `size` zero bytes (sparse)
 * beside it. Throws PoolExistsError if `path` exists. The pool appears at
 * `path` only with `finishCreate`.
 */
export function createPoolFile(path: string, size: number): PoolFile {
  if (exists(path)) throw new PoolExistsError(path);
  sweepLeftovers(path);
  const temp = join(dirname(path), `${tempPrefix(path)}${process.pid}-${randomBytes(6).toString('hex')}`);
  const fd = fs.openSync(temp, 'wx+');
  let unlock: () => void;
  try {
    fs.ftruncateSync(fd, size);
    unlock = lockPoolFile(fd, path);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw e;
  }
  let published = false;
  return {
    fd, size,
    unlock: () => {
      unlock();
      if (!published) fs.rmSync(temp, { force: true });
    },
    finishCreate: (durable) => {
      if (durable) fs.fdatasyncSync(fd);
      publish(temp, path);
      published = true;
      fs.rmSync(temp, { force: true }); // the pool lives on under `path`
      if (durable) fsyncDir(dirname(path));
    },
  };
}

const ZEROS = new Uint8Array(1 << 20);

/**
 * A growing pool: write zeros over [from, to) of the pool file (blocks
 * reserved now, not left sparse, so a full disk is found here and not at a
 * later drain or as a fault in a mapping), then fdatasync when `durable`.
 * On failure the file gets its old length back and OutOfSpaceError says
 * why; nothing else changed.
 */
export function extendPoolFile(fd: number, path: string, from: number, to: number, durable: boolean): void {
  const length = fs.fstatSync(fd).size;
  try {
    // writeSync may write less than asked (a file size limit reached mid-way): go on from where it stopped.
    for (let off = from; off < to;) off += fs.writeSync(fd, ZEROS, 0, Math.min(ZEROS.length, to - off), off);
    if (durable) fs.fdatasyncSync(fd);
  } catch (e) {
    try { fs.ftruncateSync(fd, Math.max(length, from)); } catch { /* the error below is the one to report */ }
    throw new OutOfSpaceError(`${path}: the pool could not grow from ${from} to ${to} bytes: ${(e as Error).message} (the pool is unchanged)`);
  }
}

/** True when anything, even a dangling symlink, has the name `path`. */
function exists(path: string): boolean {
  try {
    fs.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** fs.openSync(path, 'r+'), with a file that vanished or is not a file answered by typed errors. */
function openExisting(path: string): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') throw new PoolNotFoundError(path);
    throw e;
  }
  if (!st.isFile()) throw new NotAPoolError(path, 'it is not a regular file');
  try {
    return fs.openSync(path, 'r+');
  } catch (e) {
    if (errno(e) === 'ENOENT') throw new PoolNotFoundError(path);
    if (errno(e) === 'EISDIR') throw new NotAPoolError(path, 'it is not a regular file');
    throw e;
  }
}

/** Open and lock an existing pool file, validating its header's size against the file. Reads only. */
export function openPoolFile(path: string): PoolFile {
  const fd = openExisting(path);
  let unlock: (() => void) | null = null;
  try {
    unlock = lockPoolFile(fd, path); // keyed by the inode: every link to an open pool is the same pool
    const head = new Uint8Array(HEADER_SIZE);
    const got = fs.readSync(fd, head, 0, HEADER_SIZE, 0);
    return { fd, size: recordedPoolSize(head.subarray(0, got), fs.fstatSync(fd).size, path), unlock };
  } catch (e) {
    fs.closeSync(fd);
    unlock?.();
    throw e;
  }
}
