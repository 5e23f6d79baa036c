// Shared helpers for pool tests: temp directories that clean up after
// themselves, file hashes (to prove a rejected file was left byte-identical),
// and a TypeScript mirror of the core's header checksum so tests can forge
// headers that pass it (e.g. a valid header with format version 2).
//
// The checksum mirror must stay bit-identical to assembly/hash.ts `hash64`
// applied to header bytes [0, 0xF8) with seed MAGIC (assembly/format.ts);
// test/format.test.ts proves it on freshly created pools.

import { afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// ─── temp directories ─────────────────────────────────────────────────────

const made: string[] = [];

/** A fresh directory under os.tmpdir(); removed by `removeTempDirs` (or `useTempDir`'s afterAll). */
export function makeTempDir(prefix = 'pheap-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Remove every directory `makeTempDir` made so far. */
export function removeTempDirs(): void {
  while (made.length) fs.rmSync(made.pop()!, { recursive: true, force: true });
}

export interface TempDir {
  /** The directory (valid once the suite runs). */
  readonly dir: string;
  /** A path inside it that no test used before: `<dir>/<stem>-<n><ext>`. */
  file(stem?: string, ext?: string): string;
}

/**
 * A temp directory for one test file: created lazily on first use, removed
 * with everything in it after the file's tests (registers an afterAll hook,
 * so call it at module or describe level).
 */
export function useTempDir(prefix = 'pheap-test-'): TempDir {
  let dir: string | null = null;
  let n = 0;
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = null;
  });
  const get = () => (dir ??= fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  return {
    get dir() { return get(); },
    file(stem = 'pool', ext = '.pool') { return path.join(get(), `${stem}-${n++}${ext}`); },
  };
}

// ─── hashing ──────────────────────────────────────────────────────────────

/** sha256 (hex) of a file's bytes. */
export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** sha256 (hex) of bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Names of every entry in `dir`, sorted (to prove nothing was added or left behind, e.g. a lock file). */
export function dirListing(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

// ─── header checksum mirror (assembly/hash.ts, assembly/format.ts) ────────

const M64 = (1n << 64n) - 1n;
const K = 0x9e3779b97f4a7c15n;
const MIX_MUL = 0xd6e8feb86659fd93n;

/** "PHEAPOOL" read as a little-endian u64: the header magic and the checksum seed. */
export const MAGIC = 0x4c4f4f5041454850n;
/** Header field offsets (assembly/format.ts). */
export const H = {
  MAGIC: 0x000, VERSION: 0x008, INCOMPAT: 0x00c, COMPAT: 0x010, CHUNK_SHIFT: 0x014, SIZE: 0x018,
  UUID: 0x020, TABLE_OFF: 0x030, NCHUNKS: 0x034, LOG_OFF: 0x038, LOG_SIZE: 0x03c, HEAP_OFF: 0x040,
  LAYOUT: 0x080, CHECKSUM: 0x0f8, OPEN_COUNT: 0x100, ROOT: 0x108, GROWN: 0x110, END: 0x118, PAGE: 0x1000,
} as const;

function mix(h: bigint): bigint {
  h ^= h >> 32n;
  h = (h * MIX_MUL) & M64;
  h ^= h >> 32n;
  return h;
}

/** Exact mirror of the core's `hash64(ptr, len, seed)` over `bytes[0, len)`. */
export function hash64(bytes: Uint8Array, len: number, seed: bigint): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let h = (seed ^ ((BigInt(len) * K) & M64)) & M64;
  const words = len >>> 3;
  for (let i = 0; i < words; i++) h = mix(h ^ view.getBigUint64(i * 8, true));
  for (let i = words << 3; i < len; i++) h = mix(h ^ ((BigInt(bytes[i]) << 56n) & M64) ^ BigInt(i));
  return mix(h ^ K);
}

/** The checksum the core stores at 0xF8 for the header in `bytes` (a pool's first bytes). */
export function headerChecksum(bytes: Uint8Array): bigint {
  return hash64(bytes, H.CHECKSUM, MAGIC);
}

/** The checksum stored in the header in `bytes`. */
export function storedChecksum(bytes: Uint8Array): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(H.CHECKSUM, true);
}

/** Recompute and store the header checksum of `bytes` in place (to forge a header that validates). */
export function resealHeader(bytes: Uint8Array): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setBigUint64(H.CHECKSUM, headerChecksum(bytes), true);
}

/** A header state word (open counter, root): the u32 value low, its complement high. */
export function stateWord(value: number): bigint {
  return BigInt(value >>> 0) | (BigInt(~value >>> 0) << 32n);
}

// ─── little helpers on byte arrays ────────────────────────────────────────

export function u32At(bytes: Uint8Array, off: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(off, true);
}

export function u64At(bytes: Uint8Array, off: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(off, true);
}

export function setU32At(bytes: Uint8Array, off: number, v: number): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(off, v, true);
}

/** Two byte arrays are equal (fast, via Buffer). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Indices of the 64-byte lines where `a` and `b` (same length) differ, ascending. */
export function differingLines(a: Uint8Array, b: Uint8Array): number[] {
  if (a.length !== b.length) throw new Error(`differingLines: lengths ${a.length} and ${b.length} differ`);
  const out: number[] = [];
  const A = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const B = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const BLOCK = 4096;
  for (let blk = 0; blk < a.length; blk += BLOCK) {
    const end = Math.min(blk + BLOCK, a.length);
    if (A.compare(B, blk, end, blk, end) === 0) continue;
    for (let at = blk; at < end; at += 64) {
      const e = Math.min(at + 64, end);
      if (A.compare(B, at, e, at, e) !== 0) out.push(at >>> 6);
    }
  }
  return out;
}

/** What `fn` throws, or undefined. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}
