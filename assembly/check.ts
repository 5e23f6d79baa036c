// check.ts — the heap consistency check (what tests and `pheap check` call).
//
// Walks the header, the chunk table, every run bitmap and every object
// header, and compares the volatile indexes with what the pool says. It only
// reads. The first problem found is reported as (problem, offset); the host
// turns that into a message (src/errors.ts keeps the texts).
//
// Invariants verified (each is something the allocator relies on):
//   P_HEADER     the header validates exactly as at open
//   P_CHUNK      every chunk word passes its check (FREE words too); large
//                spans stay in their region and their tail chunks are FREE;
//                every region starts with its table object
//   P_BITMAP     every run bitmap word passes its check, and no bit is set
//                past the run's last slot
//   P_OBJECT     every live object has a valid header (check, own offset) at
//                its exact place, its size fits its slot, a large object's
//                size needs exactly the span its chunk word gives, and a
//                log block is one the log's chain names; region tables
//                are exactly at region starts
//   P_ROOT       the root word is 0 or names a live TYPE_ROOT object
//   P_LOG        the log's header words pass their checks and its chain
//                names exactly the kept extension blocks, all live;
//                outside a transaction it holds no valid entry and count
//                0; inside one, exactly the entries written
//   P_LIVECOUNT  a loaded run's volatile live count equals its bitmap
//   P_EXTENTS    the free extents cover exactly the free chunks

import { Code } from "./errors";
import { CHUNK_SHIFT, CHUNK_SIZE, chunkCount, poolSize, readHeaderAgain, rootOff } from "./format";
import { RUN_BITMAP_WORDS, RUN_DATA, classSlots, classStride } from "./classes";
import { bitmapBits, bitmapWordValid, freeChunkTotal, runLive } from "./heap";
import { FLAG_ALIGN64, KIND_FREE, KIND_LARGE, KIND_RUN, argOf, chunkStart, chunkWord, chunkWordValid, flagsOf, kindOf } from "./table";
import { isRegionStart } from "./table";
import { FIRST_INTERNAL_TYPE, OBJ_HEADER, TYPE_LOG_EXT, TYPE_REGION, TYPE_ROOT, headerValid, objectDataLen, objectType } from "./object";
import { isLive } from "./alloc";
import { inTx, isLogBlock, logProblem } from "./log";

export const P_HEADER: u32 = 1;
export const P_CHUNK: u32 = 2;
export const P_BITMAP: u32 = 3;
export const P_OBJECT: u32 = 4;
export const P_ROOT: u32 = 5;
export const P_LOG: u32 = 6;
export const P_LIVECOUNT: u32 = 7;
export const P_EXTENTS: u32 = 8;

export let problem: u32 = 0;
export let problemAt: u32 = 0;

function report(p: u32, at: u32): Code {
  problem = p;
  problemAt = at;
  return Code.CORRUPT_HEAP;
}

/** A valid header, a size that fits, a type this place may hold (a region table only where a region starts). */
function objectOk(off: u32, room: u32, regionStart: bool = false): bool {
  if (!headerValid(off) || objectDataLen(off) > room || objectDataLen(off) == 0) return false;
  const t = objectType(off);
  if (regionStart || t == TYPE_REGION) return regionStart && t == TYPE_REGION;
  return t < FIRST_INTERNAL_TYPE || t == TYPE_ROOT || (t == TYPE_LOG_EXT && isLogBlock(off));
}

function checkRun(c: u32): Code {
  const cls = argOf(chunkWord(c));
  const slots = classSlots(cls);
  const stride = classStride(cls);
  let count: u32 = 0;
  for (let i: u32 = 0; i < RUN_BITMAP_WORDS; i++) {
    if (!bitmapWordValid(c, i)) return report(P_BITMAP, chunkStart(c) + (i << 3));
    let word = bitmapBits(c, i);
    while (word != 0) {
      const slot = (i << 5) + ctz<u32>(word);
      word &= word - 1;
      if (slot >= slots) return report(P_BITMAP, chunkStart(c));
      const off = chunkStart(c) + RUN_DATA + slot * stride + OBJ_HEADER;
      if (!objectOk(off, stride - OBJ_HEADER)) return report(P_OBJECT, off - OBJ_HEADER);
      count++;
    }
  }
  if (!inTx() && runLive(c) != count) return report(P_LIVECOUNT, chunkStart(c));
  return Code.OK;
}

function checkLarge(c: u32): Code {
  const w = chunkWord(c);
  const span = argOf(w);
  for (let t = c + 1; t < c + span; t++) if (!chunkWordValid(chunkWord(t), t) || kindOf(chunkWord(t)) != KIND_FREE) return report(P_CHUNK, chunkStart(t));
  const off = chunkStart(c) + OBJ_HEADER + ((flagsOf(w) & FLAG_ALIGN64) != 0 ? 48 : 0);
  const room = (span << CHUNK_SHIFT) - (off - chunkStart(c));
  // The span must be exactly what the size needs: more would hide chunks, less overrun them.
  if (!objectOk(off, room, isRegionStart(c)) || objectDataLen(off) + CHUNK_SIZE <= room) return report(P_OBJECT, off - OBJ_HEADER);
  return Code.OK;
}

/** Verify every invariant; Code.OK or the first problem in (problem, problemAt). */
export function check(): Code {
  problem = 0;
  problemAt = 0;
  if (readHeaderAgain() != Code.OK) return report(P_HEADER, 0);
  let freeChunks: u32 = 0;
  let c: u32 = 0;
  while (c < chunkCount) {
    const w = chunkWord(c);
    if (!chunkWordValid(w, c)) return report(P_CHUNK, chunkStart(c));
    const kind = kindOf(w);
    if (kind != KIND_LARGE && isRegionStart(c)) return report(P_CHUNK, chunkStart(c));
    let code = Code.OK;
    if (kind == KIND_RUN) code = checkRun(c);
    else if (kind == KIND_LARGE) code = checkLarge(c);
    else freeChunks++;
    if (code != Code.OK) return code;
    c += kind == KIND_LARGE ? argOf(w) : 1;
  }
  const r = rootOff();
  if (r != 0 && (!isLive(r) || objectType(r) != TYPE_ROOT)) return report(P_ROOT, r);
  const logAt = logProblem();
  if (logAt != 0) return report(P_LOG, logAt);
  if (!inTx() && freeChunkTotal() != freeChunks) return report(P_EXTENTS, 0);
  return poolSize != 0 ? Code.OK : report(P_HEADER, 0);
}
