// native.ts: loads the mapped backend's native shim (native/pheap_mmap.c) and
// gives it types.
//
// The shim also holds the pool's OS lock (`lock`, used by lock.ts). It is
// optional: it is built by `npm install` (scripts/build-native.mjs)
// when a compiler is present, and only on Linux. `loadNative()` therefore never
// throws; it returns null and `nativeStatus()` says why, so the caller can
// fall back to the file backend with a one-line notice (`fallbackNotice`).
// Setting PHEAP_NO_NATIVE=1 simulates absence (tests, or to rule the shim out).
//
// What the shim checks and what it cannot is in docs/mapped.md.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

/**
 * Where node-gyp puts the addon: native/build/Release at the package root,
 * which is two levels up from src/backends/ and one up from the dist/ bundle.
 * PHEAP_NATIVE_ADDON=<path> names it explicitly (a bundle placed elsewhere,
 * e.g. a test's child process). Resolved once, at load.
 */
export const NATIVE_ADDON_PATH = addonPath();

function addonPath(): string {
  const explicit = process.env.PHEAP_NATIVE_ADDON;
  if (explicit) return explicit;
  const candidates = ['../../native/build/Release/pheap_mmap.node', '../native/build/Release/pheap_mmap.node']
    .map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}

/** How `drain` makes lines durable. */
export const DrainMode = {
  /** File is on DAX (mapped with MAP_SYNC): CLWB/CLFLUSHOPT/CLFLUSH over each line, then one SFENCE. No syscall. */
  dax: 0,
  /** msync(MS_SYNC) over the pages the lines touch, adjacent pages coalesced into one call. Durability `fsync`. */
  msync: 1,
  /** Nothing: stores are already in the page cache. Durability `os`. */
  none: 2,
} as const;
export type DrainMode = (typeof DrainMode)[keyof typeof DrainMode];

/** The cache-line write-back instruction a DAX drain uses, picked once by CPUID. 'none' off x86-64 (drain falls back to msync). */
export type FlushInstruction = 'clwb' | 'clflushopt' | 'clflush' | 'none';

/** Outcome of a throwaway MAP_SHARED_VALIDATE|MAP_SYNC mapping. */
export interface MapSyncProbe {
  /** True when the kernel accepted MAP_SYNC: the file is on a DAX file system. */
  ok: boolean;
  /** errno of the failure (EOPNOTSUPP: not DAX; EINVAL: kernel too old or flags unknown; EACCES: fd not writable), 0 on success. */
  errno: number;
  /** strerror text of `errno`, or a success note. */
  message: string;
}

/**
 * The shim's functions. Every refusal throws an Error with
 * `code === 'ERR_PHEAP_MMAP'` and a message that names the problem; a refused
 * call changes nothing. Offsets are byte offsets into `buffer`, which must be
 * the current `memory.buffer` of a non-shared WebAssembly.Memory.
 */
export interface NativeMmap {
  /** The OS page size in bytes (mapping lengths must be multiples of it). */
  readonly pageSize: number;
  /**
   * Map the file behind `fd` (from file offset 0, `length` bytes) over
   * [offset, offset + length) of `buffer` with MAP_SHARED|MAP_FIXED, so stores
   * into linear memory land in the file's pages. With `tryDax`, first tries
   * MAP_SHARED_VALIDATE|MAP_SYNC; `isPmem` says whether that succeeded.
   *
   * Refuses unless: `offset` is a multiple of 64 KiB and of the page size,
   * `length` a positive multiple of the page size, the range inside the
   * buffer, the buffer's address page-aligned, `fd` an open regular file
   * opened read-write and at least `length` bytes long. The range's previous
   * contents are lost. If mmap itself fails, the range is left as zero pages.
   */
  map(buffer: ArrayBuffer, offset: number, length: number, fd: number, tryDax: boolean): { isPmem: boolean };
  /**
   * Replace the mapping made by `map` (same offset and length, else refused)
   * with anonymous zero pages, so the memory stays usable. Does not flush:
   * drain first. The fd may be closed afterwards.
   */
  unmap(buffer: ArrayBuffer, offset: number, length: number): void;
  /**
   * Address of the buffer's backing store (0n when detached). Compare it
   * before and after `memory.grow`: if it changed, the mapping is gone with
   * the old store and must be made again on the new buffer.
   */
  address(buffer: ArrayBuffer): bigint;
  /**
   * Make lines durable, in one native call. `ranges` holds `count` pairs
   * (firstLine, lineCount) of 64-byte lines relative to `offset`, which must
   * be the offset of a live mapping; every line must lie inside it (checked
   * range by range, so lines before a refused pair are already flushed).
   * Mode `dax` is only durable on a mapping whose `isPmem` was true; on any
   * other mapping it runs the flush instructions but does not reach the file.
   */
  drain(buffer: ArrayBuffer, offset: number, ranges: Uint32Array, count: number, mode: DrainMode): void;
  /** Instruction used by `drain` in mode `dax`. */
  flushInstruction(): FlushInstruction;
  /** Try a MAP_SYNC mapping of `length` bytes of `fd` at an address the kernel picks, then unmap it. For `doctor`. */
  probeMapSync(fd: number, length: number): MapSyncProbe;
  /**
   * Take the pool's OS lock on `fd`: an exclusive write lock on the whole
   * file, never blocking. It belongs to the open file description (fcntl
   * F_OFD_SETLK, or flock(LOCK_EX|LOCK_NB) where OFD locks are missing), so a
   * second open of the same file conflicts even in this process, and the
   * kernel drops it when the fd is closed or the process dies. Returns which
   * lock was taken, or 'busy' when another open file description holds it;
   * throws (ERR_PHEAP_MMAP) on any other failure, leaving the fd unlocked.
   */
  lock(fd: number): LockOutcome;
}

/** What `NativeMmap.lock` did: took an OFD lock, took a flock, or found the file locked. */
export type LockOutcome = 'ofd' | 'flock' | 'busy';

export type NativeStatus = { native: NativeMmap; reason: null } | { native: null; reason: string };

const FUNCTIONS = ['map', 'unmap', 'address', 'drain', 'flushInstruction', 'probeMapSync', 'lock'] as const;

let cached: NativeMmap | null = null;

/** Load the shim, or say why it is unavailable. Never throws. */
export function nativeStatus(): NativeStatus {
  if (process.env.PHEAP_NO_NATIVE === '1') return { native: null, reason: 'disabled by PHEAP_NO_NATIVE=1' };
  if (process.platform !== 'linux') return { native: null, reason: `platform ${process.platform} is not Linux` };
  if (cached) return { native: cached, reason: null };
  let raw: Record<string, unknown>;
  try {
    raw = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as Record<string, unknown>;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const reason =
      err.code === 'MODULE_NOT_FOUND'
        ? `${NATIVE_ADDON_PATH} is not built (run: node scripts/build-native.mjs)`
        : `${NATIVE_ADDON_PATH} does not load: ${String(err.message).split('\n')[0]}`;
    return { native: null, reason };
  }
  const missing = FUNCTIONS.filter((f) => typeof raw[f] !== 'function');
  if (missing.length > 0 || typeof raw.pageSize !== 'number') {
    return { native: null, reason: `${NATIVE_ADDON_PATH} is stale (missing ${missing.join(', ') || 'pageSize'}); rebuild it` };
  }
  cached = raw as unknown as NativeMmap;
  return { native: cached, reason: null };
}

/** The shim, or null when it is missing, fails to load, or PHEAP_NO_NATIVE=1. Never throws. */
export function loadNative(): NativeMmap | null {
  return nativeStatus().native;
}

/** The one-line notice to print when the mapped backend has to fall back. */
export function fallbackNotice(reason: string): string {
  return `pheap: native mmap shim not available (${reason}); the mapped backend falls back to the file backend`;
}

let noticed = false;

/**
 * Print `fallbackNotice(reason)` to stderr, once per process (later calls do
 * nothing and return false). Used when a pool that would be mapped is opened
 * with the file backend instead.
 */
export function noticeFallbackOnce(reason: string, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): boolean {
  if (noticed) return false;
  noticed = true;
  write(fallbackNotice(reason));
  return true;
}
