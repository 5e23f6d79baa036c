// classes.ts — size classes for small objects.
//
// A class is a slot stride (object header included). Strides grow by 16 B up
// to 128 B, then by four steps per doubling up to 16 KiB, plus two strides
// that split a run into exactly 3 and 2 slots; anything bigger is a large
// object made of whole chunks. Worst-case internal waste is ~25%.
//
// Every stride is a multiple of 16 (16-byte payload alignment). Runs place
// their first slot so that a payload is 64-byte aligned whenever the stride
// is a multiple of 64; the ALIGN64 table only names such classes.
//
// Invariants: classes are sorted by stride; STRIDE_TO_CLASS[q] is the
// smallest class with stride >= 16*q; 0xFF means "no class: use a large".

import { CLASS_SLOTS, CLASS_STRIDE, STRIDE_TO_CLASS, STRIDE_TO_CLASS64 } from "./layout";
import { CHUNK_SIZE } from "./format";
import { OBJ_HEADER } from "./object";

/** Run layout: 64 checked bitmap words (512 B, 32 slots each; heap.ts), then slots from RUN_DATA (RUN_DATA + 16 is 64-aligned). */
export const RUN_BITMAP_WORDS: u32 = 64;
export const RUN_DATA: u32 = 560;
export const RUN_CAPACITY: u32 = CHUNK_SIZE - RUN_DATA;
export const MAX_SLOTS: u32 = RUN_BITMAP_WORDS << 5;
const MAX_Q: u32 = 2048;
export const NO_CLASS: u8 = 0xFF;

export let classCount: u32 = 0;

function addClass(stride: u32): void {
  store<u32>(CLASS_STRIDE + (<usize>classCount << 2), stride);
  const slots = RUN_CAPACITY / stride;
  store<u32>(CLASS_SLOTS + (<usize>classCount << 2), slots < MAX_SLOTS ? slots : MAX_SLOTS);
  classCount++;
}

function fillLookup(table: usize, onlyAligned64: bool): void {
  let c: u32 = 0;
  for (let q: u32 = 0; q <= MAX_Q; q++) {
    while (c < classCount && (classStride(c) < q << 4 || (onlyAligned64 && (classStride(c) & 63) != 0))) c++;
    store<u8>(table + q, c < classCount ? <u8>c : NO_CLASS);
    if (c >= classCount) c = 0xFFFF; // stays past the end
  }
}

/** Build the class tables (volatile; identical on every run). */
export function initClasses(): void {
  classCount = 0;
  for (let s: u32 = 32; s <= 128; s += 16) addClass(s);
  for (let step: u32 = 32; step <= 2048; step <<= 1) {
    const base = step << 2;
    for (let k: u32 = 1; k <= 4; k++) addClass(base + k * step);
  }
  addClass(((RUN_CAPACITY / 3) >>> 6) << 6);
  addClass(((RUN_CAPACITY / 2) >>> 6) << 6);
  fillLookup(STRIDE_TO_CLASS, false);
  fillLookup(STRIDE_TO_CLASS64, true);
}

// @ts-ignore: decorator
@inline export function classStride(c: u32): u32 {
  return load<u32>(CLASS_STRIDE + (<usize>c << 2));
}

// @ts-ignore: decorator
@inline export function classSlots(c: u32): u32 {
  return load<u32>(CLASS_SLOTS + (<usize>c << 2));
}

/** Class for a payload of `size` bytes, or NO_CLASS if it must be a large object. */
export function classFor(size: u32, align64: bool): u32 {
  if (size > (MAX_Q << 4) - OBJ_HEADER) return NO_CLASS;
  const q = (size + OBJ_HEADER + 15) >>> 4;
  return load<u8>((align64 ? STRIDE_TO_CLASS64 : STRIDE_TO_CLASS) + q);
}
