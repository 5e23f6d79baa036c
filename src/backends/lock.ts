// lock.ts — one opener per pool file, across threads and processes.
//
// Owns: the lock that makes a pool file open in at most one place, keyed by
// the file's identity (device + inode of the open fd), so every path to one
// file — hard links, symlinks, other spellings — takes the same lock.
//
// Three layers, taken in this order and all held while the pool is open:
//
//  1. The in-process registry (`held`, keyed by dev:ino): a second open in
//     this thread is refused with "already open in this process".
//  2. The OS lock, where the native shim loads (native.ts `lock`): an
//     exclusive F_OFD_SETLK (or flock) lock on the pool's own fd. It belongs to
//     the open file description, so it also separates two opens in one
//     process, and the kernel drops it when the fd closes or the process
//     dies: no stale lock ever. Released by closing the fd.
//  3. The portable lock: files in LOCK_DIR (`pheap-locks` under os.tmpdir(),
//     mode 1777 like /tmp itself), one per claim. Taken with the shim too, so
//     a process without the shim (PHEAP_NO_NATIVE=1, not built) still sees a
//     pool held by one with it.
//
// The portable protocol. Claim files are `<key>.<gen>` (key = `<dev>-<ino>`,
// gen a decimal integer) holding "pid starttime nonce". A claim is created
// complete in one step: the owner line goes to a private temp file which is
// then hard-linked to the claim name (link(2) is atomic and fails with EEXIST),
// so no reader ever sees a half-written claim; a claim file is never rewritten.
// A claim's owner is alive when its pid runs with the same start time
// (/proc/<pid>/stat); an empty, garbled or dead claim (an older version, a
// crash) is dead. To acquire:
//
//    a. list the claims; if any has a live owner, refuse (PoolLockedError);
//    b. link our temp to `<key>.<max gen + 1>` (EEXIST: start again);
//    c. list again; if any claim is higher than ours, or any other claim has
//       a live owner, unlink ours and start again (which then refuses);
//    d. otherwise we hold the lock. Dead claims below ours are removed.
//  Release: unlink our claim.
//
// Why two processes never both hold. Files are removed only by their owner
// (back-off, release) or by the holder in (d), which removes only claims it
// read as dead — a dead owner never comes back, and while one process holds
// nobody else removes others' files, so the name cannot be re-used under it.
// So a holder's claim exists, unchanged, from its link until its release.
// Suppose P and Q both hold, and Q's check (c) listed after P's link: Q saw
// P's claim, higher than Q's (Q backs off) or lower with a live owner (Q backs
// off). Otherwise Q listed in (c) before P linked, so Q linked before P's (c)
// listed, and P saw Q's claim and backed off the same way. Either way one did
// not hold. Stale claims are taken over by whoever passes (c): at most one.
// Two racers can both back off and both refuse; refusing is always safe.
//
// Limits (docs/durability.md, "Locking and creation"): the portable lock only
// separates processes that agree on os.tmpdir() and share a kernel (not NFS
// clients on two machines); a pid re-used with the same start time, or a
// system without /proc, can make a dead claim look alive (a refusal, never a
// double open); a tmp cleaner that deletes a live claim weakens the portable
// layer (the OS lock still holds). Claims of pools deleted after a crash stay
// in LOCK_DIR as tiny files.

import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PoolLockedError } from '../errors.js';
import { loadNative } from './native.js';

/** Where the portable lock's claim files live: shared by every process that agrees on os.tmpdir(). */
export const LOCK_DIR = join(os.tmpdir(), 'pheap-locks');

/** Keys of the pool files this thread holds open, with the path each was opened by. */
const held = new Map<string, string>();

/** A file's lock key: `<dev>-<ino>`, the same for every link to it. */
function keyOf(st: fs.BigIntStats): string {
  return `${st.dev}-${st.ino}`;
}

/** The start time of process `pid` in clock ticks since boot (/proc/<pid>/stat field 22), or '-' where unknown. */
function startTime(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '-';
  } catch {
    return '-';
  }
}

/** True when process `pid` runs (a process we may not signal runs too). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of a claim's owner if it still runs, else null (dead, empty, garbled or vanished). */
function liveOwner(file: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null; // removed meanwhile: not a holder's claim
  }
  const m = /^(\d+) (\d+|-) [0-9a-f]+\n$/.exec(text);
  if (!m) return null;
  const pid = Number(m[1]);
  if (!(pid > 0) || !processAlive(pid)) return null;
  const now = startTime(pid);
  return m[2] === '-' || now === '-' || now === m[2] ? pid : null;
}

/** Generations of `key`'s claims in LOCK_DIR, ascending. */
function claims(key: string): number[] {
  const prefix = `${key}.`;
  return fs.readdirSync(LOCK_DIR)
    .filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)))
    .map((n) => Number(n.slice(prefix.length)))
    .sort((a, b) => a - b);
}

const claimPath = (key: string, gen: number) => join(LOCK_DIR, `${key}.${gen}`);

function unlinkQuiet(file: string): void {
  fs.rmSync(file, { force: true });
}

/** The first live owner among `gens` of `key`, or null. */
function firstLive(key: string, gens: number[]): number | null {
  for (const g of gens) {
    const pid = liveOwner(claimPath(key, g));
    if (pid !== null) return pid;
  }
  return null;
}

function holderText(pid: number | null): string {
  if (pid === null) return 'held by another process';
  return pid === process.pid ? 'already open in this process' : `held by process ${pid}`;
}

/** Create LOCK_DIR world-writable and sticky (like /tmp) if it is missing. */
function ensureLockDir(): void {
  try {
    fs.mkdirSync(LOCK_DIR);
    fs.chmodSync(LOCK_DIR, 0o1777); // mkdir's mode is cut by the umask
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/** Remove dead claims below `mine` (read as dead in step c) and temp files of dead processes. */
function sweep(key: string, below: number[]): void {
  const dead = below.filter((g) => liveOwner(claimPath(key, g)) === null).map((g) => claimPath(key, g));
  const tmp = new RegExp(`^${key}\\.tmp-(\\d+)-[0-9a-f]+$`);
  for (const n of fs.readdirSync(LOCK_DIR)) {
    const m = tmp.exec(n);
    if (m && !processAlive(Number(m[1]))) dead.push(join(LOCK_DIR, n));
  }
  for (const file of dead) {
    try {
      fs.unlinkSync(file);
    } catch {
      // another user's file in the sticky directory, or gone already: harmless
    }
  }
}

/** Steps a–d of the protocol with our owner line in `temp`; returns our generation. */
function claim(key: string, temp: string, path: string): number {
  for (let attempt = 0; attempt < 32; attempt++) {
    const before = claims(key);
    const owner = firstLive(key, before);
    if (owner !== null) throw new PoolLockedError(path, holderText(owner));
    const mine = before.length ? before[before.length - 1] + 1 : 0;
    try {
      fs.linkSync(temp, claimPath(key, mine));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw e;
    }
    const others = claims(key).filter((g) => g !== mine);
    if (others.some((g) => g > mine) || firstLive(key, others) !== null) {
      unlinkQuiet(claimPath(key, mine));
      continue;
    }
    sweep(key, others);
    return mine;
  }
  throw new PoolLockedError(path, 'the lock kept changing hands; try again');
}

/** Take the portable lock for `key`; returns its release. */
function portableLock(key: string, path: string): () => void {
  ensureLockDir();
  const nonce = randomBytes(8).toString('hex');
  const temp = join(LOCK_DIR, `${key}.tmp-${process.pid}-${nonce}`);
  fs.writeFileSync(temp, `${process.pid} ${startTime(process.pid)} ${nonce}\n`, { flag: 'wx', mode: 0o644 });
  try {
    const gen = claim(key, temp, path);
    return () => unlinkQuiet(claimPath(key, gen));
  } finally {
    unlinkQuiet(temp);
  }
}

/** The OS lock on `fd` through the shim, when it loads; refuses with PoolLockedError when the file is locked. */
function osLock(fd: number, key: string, path: string): void {
  const native = loadNative();
  if (!native) return;
  let outcome: string;
  try {
    outcome = native.lock(fd);
  } catch (e) {
    throw new PoolLockedError(path, `the OS lock could not be taken: ${(e as Error).message}`);
  }
  if (outcome === 'busy') throw new PoolLockedError(path, holderText(holderOf(key)));
}

/** The lock key of the file at `path`, or null when there is none. */
function keyOfPath(path: string): string | null {
  try {
    return keyOf(fs.statSync(path, { bigint: true }));
  } catch {
    return null;
  }
}

/** The portable lock's claim files for the pool file at `path`, live or dead (diagnostics, tests). */
export function claimFiles(path: string): string[] {
  const key = keyOfPath(path);
  return key === null || !fs.existsSync(LOCK_DIR) ? [] : claims(key).map((g) => claimPath(key, g));
}

/** The pid of the process holding the pool file at `path` by its portable lock, or null when none does. */
export function lockHolder(path: string): number | null {
  return holderOf(keyOfPath(path));
}

/** The live owner of a claim on `key`, or null. */
function holderOf(key: string | null): number | null {
  return key === null || !fs.existsSync(LOCK_DIR) ? null : firstLive(key, claims(key));
}

/**
 * Lock the pool file open at `fd` (`path` names it in messages): all three
 * layers above. Throws PoolLockedError naming the holder when the file is
 * open elsewhere — in this process or another — and then holds nothing.
 * Returns the release of the registry and portable layers; the OS lock is
 * released by closing `fd`, which the caller does (before or after).
 */
export function lockPoolFile(fd: number, path: string): () => void {
  const key = keyOf(fs.fstatSync(fd, { bigint: true }));
  const openAs = held.get(key);
  if (openAs !== undefined) throw new PoolLockedError(path, `already open in this process, as ${openAs}`);
  osLock(fd, key, path);
  let release: () => void;
  try {
    release = portableLock(key, path);
  } catch (e) {
    if (e instanceof PoolLockedError) throw e;
    throw new PoolLockedError(path, `the lock could not be taken in ${LOCK_DIR}: ${(e as Error).message}`);
  }
  held.set(key, path);
  return () => {
    held.delete(key);
    release();
  };
}
