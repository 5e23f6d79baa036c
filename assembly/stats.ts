// stats.ts — heap figures for pool.stats(): live, free, fragmentation, overhead.
//
// Computed on demand by walking the chunk table and run bitmaps (loads every
// run); not a hot path. Results go to SCRATCH as little-endian fields that
// src/pool.ts decodes:
//   +0 f64 liveObjects  +8 f64 liveBytes  +16 f64 usableBytes  +24 f64 freeBytes
//   +32 f64 largestFree +40 f64 metadataBytes  +48 f64 runs  +56 f64 freeChunks

import { SCRATCH } from "./layout";
import { CHUNK_SIZE, HEADER_SIZE, chunkCount, heapOff, tableOff } from "./format";
import { RUN_DATA, classSlots, classStride } from "./classes";
import { largestExtent, runLive } from "./heap";
import { FLAG_ALIGN64, KIND_LARGE, KIND_RUN, argOf, chunkStart, chunkWord, flagsOf, kindOf } from "./table";
import { OBJ_HEADER, TYPE_ANY, TYPE_REGION, objectDataLen, objectType } from "./object";
import { nextObject } from "./alloc";

/** Live slots of run c, at most its slot count (a damaged run counts as full: heap.ts loadRun). */
function liveSlots(c: u32, cls: u32): u32 {
  const live = runLive(c);
  return live < classSlots(cls) ? live : classSlots(cls);
}

export function heapStats(): void {
  let objects: f64 = 0, liveBytes: f64 = 0, usableBytes: f64 = 0, freeBytes: f64 = 0;
  let runs: u32 = 0, freeChunks: u32 = 0, largestSlot: u32 = 0, regionBytes: f64 = 0;
  let c: u32 = 0;
  while (c < chunkCount) {
    const w = chunkWord(c);
    const kind = kindOf(w);
    if (kind == KIND_RUN) {
      runs++;
      const cls = argOf(w);
      const free = classSlots(cls) - liveSlots(c, cls);
      freeBytes += <f64>free * classStride(cls);
      if (free != 0 && classStride(cls) - OBJ_HEADER > largestSlot) largestSlot = classStride(cls) - OBJ_HEADER;
      c++;
    } else if (kind == KIND_LARGE) {
      const off = chunkStart(c) + OBJ_HEADER + ((flagsOf(w) & FLAG_ALIGN64) != 0 ? 48 : 0);
      if (objectType(off) == TYPE_REGION) regionBytes += <f64>argOf(w) * CHUNK_SIZE;
      else usableBytes += <f64>((argOf(w) * CHUNK_SIZE) - (off - chunkStart(c)));
      c += argOf(w);
    } else {
      freeChunks++;
      c++;
    }
  }
  for (let off = nextObject(0, TYPE_ANY); off != 0; off = nextObject(off, TYPE_ANY)) {
    objects += 1;
    liveBytes += <f64>objectDataLen(off);
  }
  freeBytes += <f64>freeChunks * CHUNK_SIZE;
  // Usable bytes of small objects: their slot strides minus headers.
  for (let k: u32 = 0; k < chunkCount; k++) {
    const w = chunkWord(k);
    if (kindOf(w) == KIND_RUN) usableBytes += <f64>liveSlots(k, argOf(w)) * (classStride(argOf(w)) - OBJ_HEADER);
  }
  const largestChunks = <f64>largestExtent() * CHUNK_SIZE;
  const metadata = <f64>heapOff - <f64>tableOff + <f64>HEADER_SIZE + <f64>runs * RUN_DATA + objects * OBJ_HEADER + regionBytes;
  store<f64>(SCRATCH, objects);
  store<f64>(SCRATCH + 8, liveBytes);
  store<f64>(SCRATCH + 16, usableBytes);
  store<f64>(SCRATCH + 24, freeBytes);
  store<f64>(SCRATCH + 32, largestChunks > <f64>largestSlot ? largestChunks : <f64>largestSlot);
  store<f64>(SCRATCH + 40, metadata);
  store<f64>(SCRATCH + 48, <f64>runs);
  store<f64>(SCRATCH + 56, <f64>freeChunks);
}
