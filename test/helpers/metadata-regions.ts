// metadata-regions.ts — pool-file fuzzing (test/fuzz.test.ts): where a pool
// image's metadata lives, and every mutant of those bytes.
//
//   metadataRegions  header page, chunk table, the region tables growth
//                    appended, undo log (entries valid for
//                    its seq, extension blocks, stale rest), run bitmaps
//                    (bits of slots, padding), object headers, large objects'
//                    heads — found from the documented format (docs/format.md),
//                    pool.layoutInfo() and pool.objects(); nothing is guessed
//   mutantsOf        each metadata byte xor 0xFF and set to a seeded random
//                    value, each bit flipped, each 64-byte line zeroed, and a
//                    few truncations, grouped by the region they hit
//
// Invariants: regions of one image do not overlap; every mutant differs from
// its base image; the same image, regions and Prng seed give the same list.

import { CHUNK_SIZE, type Pool, type Prng } from '../../src/index.js';
import { H, u32At, u64At } from './pool-files.js';
import { entryCheck, logSeq } from '../../src/browser/undolog.js';
import { LINE, type ImageName, type Mutant } from './mutants.js';

/** Metadata regions, in table order. 'truncation' names the truncated mutants. */
export const REGION_NAMES = [
  'header', 'header padding', 'chunk words', 'table padding', 'region tables', 'log header', 'log entry headers', 'log entry data',
  'log stale', 'log extension', 'run bitmaps', 'bitmap padding', 'object headers', 'large heads', 'truncation',
] as const;
export type RegionName = typeof REGION_NAMES[number];

/** Bytes [start, end) of one image that belong to the region `name`. */
export interface Region { name: RegionName; start: number; end: number }

/** docs/format.md: log header, entry header, extension block header, object header, run bitmap sizes. */
const LOG_HEADER = 64;
const ENTRY_HEADER = 16;
const EXT_HEADER = 16;
const OBJ_HEADER = 16;
/** 64 bitmap words of 32 slot bits + a 32-bit check each. */
const RUN_BITMAP = 512;
export const RUN_DATA = 560;
const KIND_RUN = 1;
const KIND_LARGE = 2;

const align16 = (v: number) => (v + 15) & ~15;

/** docs/format.md, "Growth": a region's object header, info and check come before its chunk words. */
const REGION_WORDS = 48;
const GROWN = 0x110;

/** The regions growth appended: their first chunk, chunk count and pool offset, walked from the header. */
function grownRegions(image: Uint8Array): Array<{ first: number; n: number; at: number }> {
  const heapOffset = u32At(image, H.HEAP_OFF);
  const total = u32At(image, GROWN);
  const out: Array<{ first: number; n: number; at: number }> = [];
  for (let c = u32At(image, H.NCHUNKS); total !== 0 && c < total;) {
    const at = heapOffset + c * CHUNK_SIZE;
    const n = u32At(image, at + 20);
    out.push({ first: c, n, at });
    c += n;
  }
  return out;
}

/** Pool offset of chunk c's word: in the fixed table, or in its region's table. */
function chunkWordAt(image: Uint8Array, c: number): number {
  if (c < u32At(image, H.NCHUNKS)) return u32At(image, H.TABLE_OFF) + 8 * c;
  const r = grownRegions(image).find((g) => c >= g.first && c < g.first + g.n)!;
  return r.at + REGION_WORDS + 8 * (c - r.first);
}

/** Heap chunks, regions included. */
function chunkTotal(image: Uint8Array): number {
  return u32At(image, GROWN) || u32At(image, H.NCHUNKS);
}

/**
 * Slot strides of the size classes, by class number (docs/format.md): 32…128
 * step 16, then four steps per doubling up to 16 KiB, then the two strides that split a
 * run into 3 and 2 slots (rounded down to 64).
 */
export const CLASS_STRIDES: readonly number[] = [
  ...[32, 48, 64, 80, 96, 112, 128],
  ...[32, 64, 128, 256, 512, 1024, 2048].flatMap((step) => [1, 2, 3, 4].map((k) => 4 * step + k * step)),
  ...[3, 2].map((n) => Math.floor((CHUNK_SIZE - RUN_DATA) / n / 64) * 64),
];

/** Slots in a run of class `cls`: as many strides as fit after RUN_DATA, at most one per bitmap bit. */
export function runSlots(cls: number): number {
  return Math.min(Math.floor((CHUNK_SIZE - RUN_DATA) / CLASS_STRIDES[cls]), 32 * (RUN_BITMAP / 8));
}

/**
 * The valid log entries in [start, end) of `image`, in log order, as recovery reads them;
 * `first` is the index of the block's first entry (entries are numbered across blocks).
 */
function validEntries(image: Uint8Array, start: number, end: number, seq: bigint, first: number): Array<{ at: number; len: number }> {
  const out: Array<{ at: number; len: number }> = [];
  for (let pos = start; pos + ENTRY_HEADER <= end;) {
    const off = u32At(image, pos);
    const len = u32At(image, pos + 4);
    const next = pos + ENTRY_HEADER + align16(len);
    if (len === 0 || off + len > image.length || next > end) break;
    const data = image.subarray(pos + ENTRY_HEADER, pos + ENTRY_HEADER + len);
    if (u64At(image, pos + 8) !== entryCheck(data, seq, off, len, first + out.length)) break;
    out.push({ at: pos, len });
    pos = next;
  }
  return out;
}

/** Payload offsets of the extension blocks chained from the log header (docs/format.md). */
function extensionBlocks(image: Uint8Array, logOffset: number): number[] {
  const out: number[] = [];
  for (let p = u32At(image, logOffset + 8); p !== 0 && p + EXT_HEADER <= image.length && !out.includes(p); p = u32At(image, p)) {
    out.push(p);
  }
  return out;
}

function entryRegions(image: Uint8Array, start: number, end: number, seq: bigint, first: number): Region[] {
  return validEntries(image, start, end, seq, first).flatMap(({ at, len }): Region[] => [
    { name: 'log entry headers', start: at, end: at + ENTRY_HEADER },
    { name: 'log entry data', start: at + ENTRY_HEADER, end: at + ENTRY_HEADER + align16(len) },
  ]);
}

function logRegions(image: Uint8Array, logOffset: number, heapOffset: number): Region[] {
  const seq = logSeq(image, logOffset);
  const fixed = entryRegions(image, logOffset + LOG_HEADER, heapOffset, seq, 0);
  let entries = fixed.length / 2;
  const usedEnd = fixed.length ? fixed[fixed.length - 1].end : logOffset + LOG_HEADER;
  const out: Region[] = [{ name: 'log header', start: logOffset, end: logOffset + LOG_HEADER }, ...fixed];
  if (usedEnd < heapOffset) out.push({ name: 'log stale', start: usedEnd, end: heapOffset });
  for (const p of extensionBlocks(image, logOffset)) {
    out.push({ name: 'log extension', start: p - OBJ_HEADER, end: p + EXT_HEADER });
    const inBlock = entryRegions(image, p + EXT_HEADER, p - OBJ_HEADER + CHUNK_SIZE, seq, entries);
    entries += inBlock.length / 2;
    out.push(...inBlock);
  }
  return out;
}

/**
 * Run bitmaps (from the chunk words: the bytes with a bit per slot, and the
 * padding after them), every live run object's header, every large object's
 * head (its chunk's start up to the payload).
 */
function heapRegions(image: Uint8Array, pool: Pool, heapOffset: number): Region[] {
  const chunkStart = (off: number) => off - ((off - heapOffset) % CHUNK_SIZE);
  const wordAt = (off: number) => u64At(image, chunkWordAt(image, (chunkStart(off) - heapOffset) / CHUNK_SIZE));
  const kindAt = (off: number) => Number(wordAt(off) & 0xfn);
  const out: Region[] = [];
  for (let c = 0; c < chunkTotal(image); c++) {
    const start = heapOffset + c * CHUNK_SIZE;
    if (kindAt(start) !== KIND_RUN) continue;
    const used = 8 * Math.ceil(runSlots(Number((wordAt(start) >> 8n) & 0xffffffn)) / 32);
    out.push({ name: 'run bitmaps', start, end: start + used });
    if (used < RUN_BITMAP) out.push({ name: 'bitmap padding', start: start + used, end: start + RUN_BITMAP });
  }
  for (const off of pool.objects()) {
    if (kindAt(off) === KIND_LARGE) out.push({ name: 'large heads', start: chunkStart(off), end: off });
    else out.push({ name: 'object headers', start: off - OBJ_HEADER, end: off });
  }
  return out;
}

/**
 * The metadata regions of `image`. `pool` is a copy of `image`, opened (its
 * recovery may have written; the image's own log is read from `image`).
 */
export function metadataRegions(image: Uint8Array, pool: Pool): Region[] {
  const { logOffset, heapOffset } = pool.layoutInfo();
  const tableOff = u32At(image, H.TABLE_OFF);
  const tableEnd = tableOff + 8 * u32At(image, H.NCHUNKS);
  return [
    { name: 'header', start: 0, end: H.END },
    { name: 'header padding', start: H.END, end: H.PAGE },
    { name: 'chunk words', start: tableOff, end: tableEnd },
    { name: 'table padding', start: tableEnd, end: logOffset },
    ...grownRegions(image).map(({ at, n }): Region => ({ name: 'region tables', start: at, end: at + REGION_WORDS + 8 * n })),
    ...logRegions(image, logOffset, heapOffset),
    ...heapRegions(image, pool, heapOffset),
  ];
}

/** Truncated lengths: inside the header, just past the header page, mid-heap, one byte short. */
function truncations(size: number, heapOffset: number): number[] {
  return [0x80, H.PAGE + 1, heapOffset + (size - heapOffset) / 2, size - 1];
}

/** Mutants grouped by the region they hit (a zeroed line: the region of its first metadata byte). */
export type MutantGroups = Map<RegionName, Mutant[]>;

/** Every byte, bit, line and truncation mutant of `regions` in `base`; `rng` picks the 'set' values. */
export function mutantsOf(image: ImageName, base: Uint8Array, regions: Region[], heapOffset: number, rng: Prng): MutantGroups {
  const groups: MutantGroups = new Map();
  const add = (name: RegionName, m: Mutant) => {
    const g = groups.get(name);
    if (g) g.push(m); else groups.set(name, [m]);
  };
  const lineRegion = new Map<number, RegionName>();
  for (const r of [...regions].sort((x, y) => x.start - y.start)) {
    for (let at = r.start; at < r.end; at++) {
      add(r.name, { image, kind: 'xor', at, arg: 0xff });
      add(r.name, { image, kind: 'set', at, arg: (base[at] + 1 + rng.below(255)) & 0xff });
      for (let bit = 0; bit < 8; bit++) add(r.name, { image, kind: 'bit', at, arg: bit });
      const line = at - (at % LINE);
      if (!lineRegion.has(line)) lineRegion.set(line, r.name);
    }
  }
  for (const [at, name] of lineRegion) {
    if (base.subarray(at, at + LINE).some((b) => b !== 0)) add(name, { image, kind: 'zero', at, arg: 0 });
  }
  for (const len of truncations(base.length, heapOffset)) add('truncation', { image, kind: 'trunc', at: len, arg: 0 });
  return groups;
}
