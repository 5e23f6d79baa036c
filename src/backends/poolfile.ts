// poolfile.ts — getting hold of a pool file: what the file and mapped
// backends share before their ways part (read it in / map it).
//
// Create is exclusive (never clobbers) and leaves nothing behind on failure;
// open checks existence, type, the advisory lock and the header's recorded
// size against the file before anything else touches it.

import * as fs from 'node:fs';
import { HEADER_SIZE } from '../layout.js';
import { NotAPoolError, PoolExistsError, PoolNotFoundError } from '../errors.js';
import { recordedPoolSize } from '../format.js';
import { acquireLock } from './lock.js';

export interface PoolFile {
  fd: number;
  size: number;
  /** Releases the advisory lock. */
  unlock: () => void;
}

/** Create `path` with `size` zero bytes (sparse) and lock it. Throws PoolExistsError if it exists. */
export function createPoolFile(path: string, size: number): PoolFile {
  let fd: number;
  try {
    fd = fs.openSync(path, 'wx+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new PoolExistsError(path);
    throw e;
  }
  try {
    const unlock = acquireLock(path);
    fs.ftruncateSync(fd, size);
    return { fd, size, unlock };
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
    throw e;
  }
}

/** Lock and open an existing pool file, validating its header's size against the file. Reads only. */
export function openPoolFile(path: string): PoolFile {
  if (!fs.existsSync(path)) throw new PoolNotFoundError(path);
  if (!fs.statSync(path).isFile()) throw new NotAPoolError(path, 'it is not a regular file');
  const unlock = acquireLock(path); // keyed by the real path: a symlink to an open pool is the same pool
  let fd = -1;
  try {
    fd = fs.openSync(path, 'r+');
    const head = new Uint8Array(HEADER_SIZE);
    const got = fs.readSync(fd, head, 0, HEADER_SIZE, 0);
    return { fd, size: recordedPoolSize(head.subarray(0, got), fs.fstatSync(fd).size, path), unlock };
  } catch (e) {
    if (fd >= 0) fs.closeSync(fd);
    unlock();
    throw e;
  }
}
