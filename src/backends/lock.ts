// lock.ts — one opener per pool file, across threads and processes.
//
// Node has no flock(2), so the lock is a sibling file `<pool>.lock` created
// with O_EXCL that holds the owner's pid. A lock whose pid no longer runs is
// stale (the owner crashed) and is taken over; one held by this very process
// means the pool is already open here. The pool file itself is never touched.

import * as fs from 'node:fs';
import { basename, dirname, join as pathJoin } from 'node:path';
import { PoolLockedError } from '../errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The path of the lock file that guards `path`: named after the real path,
 * so a symlink or a relative path to the same pool takes the same lock.
 */
export function lockPath(path: string): string {
  const real = fs.existsSync(path) ? fs.realpathSync(path) : pathJoin(fs.realpathSync(dirname(path)), basename(path));
  return `${real}.lock`;
}

/** Take the lock for `path`, or throw PoolLockedError naming the holder. */
export function acquireLock(path: string): () => void {
  const lp = lockPath(path);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lp, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return () => fs.rmSync(lp, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(lp, 'utf8').trim());
      if (pid === process.pid) throw new PoolLockedError(path, 'already open in this process');
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) throw new PoolLockedError(path, `held by process ${pid}`);
      fs.rmSync(lp, { force: true }); // stale: its owner is gone
    }
  }
  throw new PoolLockedError(path, 'the lock file keeps reappearing');
}
