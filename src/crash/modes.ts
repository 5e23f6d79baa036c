// modes.ts — the image a crash would leave, for each crash mode.
//
// Inputs: the durable image (what drains made durable), the cache (linear
// memory: what the program stored), and the pending lines (flushed, not yet
// drained). Candidates are considered in ascending line order and every
// choice comes from one seeded Prng, so (mode, seed) names exactly one image.
//
//   strict   only drained lines survive                      (deterministic)
//   pending  each pending line survives or not               (coin per line)
//   evict    also each dirty, never-flushed line: caches evict on their own
//   tear8    like evict, but a surviving line keeps only some of its aligned
//            8-byte words (a coin per word) — a stress mode: real hardware
//            writes whole lines back, so this over-approximates it
//   eadr     the cache is in the persistence domain: everything survives

import { Prng, type Seed } from '../prng.js';

export type CrashMode = 'strict' | 'pending' | 'evict' | 'tear8' | 'eadr';
export const CRASH_MODES: readonly CrashMode[] = ['strict', 'pending', 'evict', 'tear8', 'eadr'];

export interface CrashOptions {
  mode: CrashMode;
  /** Seed for the random choices of pending / evict / tear8 (default 0). */
  seed?: Seed;
}

const LINE = 64;

/** Lines whose cache content differs from the durable image (dirty), ascending. */
export function dirtyLines(durable: Uint8Array, cache: Uint8Array): number[] {
  const a = new Int32Array(durable.buffer, durable.byteOffset, durable.length >>> 2);
  const b = new Int32Array(cache.buffer, cache.byteOffset, cache.length >>> 2);
  const out: number[] = [];
  for (let w = 0; w < a.length; w++) {
    if (a[w] !== b[w]) {
      out.push(w >>> 4);
      w = (((w >>> 4) + 1) << 4) - 1; // skip to the next line
    }
  }
  return out;
}

/** Pending lines from (firstLine, count) pairs. */
export function linesOfRanges(ranges: Uint32Array, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) for (let l = 0; l < ranges[2 * i + 1]; l++) out.push(ranges[2 * i] + l);
  return out;
}

/** Candidate lines that may survive in `mode`, ascending and unique. */
export function candidateLines(mode: CrashMode, pending: number[], durable: Uint8Array, cache: Uint8Array): number[] {
  if (mode === 'strict' || mode === 'eadr') return [];
  if (mode === 'pending') return pending;
  const set = new Set(pending);
  for (const l of dirtyLines(durable, cache)) set.add(l);
  return [...set].sort((x, y) => x - y);
}

/**
 * The image a crash leaves. `pending` are the flushed-not-drained lines.
 * Returns a new array; inputs are not modified.
 */
export function crashImage(durable: Uint8Array, cache: Uint8Array, pending: number[], opts: CrashOptions): Uint8Array {
  const image = durable.slice();
  if (opts.mode === 'eadr') {
    image.set(cache);
    return image;
  }
  const rng = new Prng(opts.seed ?? 0);
  for (const line of candidateLines(opts.mode, pending, durable, cache)) {
    if (!rng.coin()) continue;
    const at = line * LINE;
    if (opts.mode === 'tear8') {
      for (let w = 0; w < LINE; w += 8) if (rng.coin()) image.set(cache.subarray(at + w, at + w + 8), at + w);
    } else {
      image.set(cache.subarray(at, at + LINE), at);
    }
  }
  return image;
}
