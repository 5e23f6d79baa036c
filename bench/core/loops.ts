// loops.ts — benchmark loops that run inside WASM (no host call per op).
//
// Compiled together with the whole core (re-exported below) into
// bench/core/build/loops.wasm by bench/core/build.mjs; the host registers
// that module in place of the core, so a Pool built on it offers these
// loops next to the usual exports. Each loop mirrors a case of the PMDK
// harness (bench/pmdk/harness.c) so the two can be compared op for op.
// Offsets of live objects are kept in SCRATCH (at most SCRATCH_SIZE / 4).
//
// @ts-nocheck — AssemblyScript, not TypeScript (tsconfig includes bench/).

export * from "../../assembly/index";
import { alloc, free } from "../../assembly/alloc";
import { txBegin, txAddRange, txCommit } from "../../assembly/tx";
import { SCRATCH, abs } from "../../assembly/layout";

let rng: u32 = 1;
function next(): u32 { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }
export function seedRng(seed: u32): void { rng = seed | 1; }

// @ts-ignore: decorator
@inline function slot(i: u32): usize { return SCRATCH + (<usize>i << 2); }

/** Allocate `count` objects of `size` (0 = random 16..4096) into SCRATCH, optionally publishing into dest + 4i. */
export function allocBatch(count: u32, size: u32, dest: u32): u32 {
  for (let i: u32 = 0; i < count; i++) {
    const s = size != 0 ? size : 16 + next() % 4081;
    const off = alloc(s, 1, 0, dest != 0 ? dest + (i << 2) : 0);
    if (off == 0) return i;
    store<u32>(slot(i), off);
  }
  return count;
}

/** Free the `count` objects in SCRATCH: LIFO, or in a random order. */
export function freeBatch(count: u32, random: bool): void {
  if (random) {
    for (let i = count - 1; i > 0; i--) { // Fisher-Yates over SCRATCH
      const j = next() % (i + 1);
      const t = load<u32>(slot(i)); store<u32>(slot(i), load<u32>(slot(j))); store<u32>(slot(j), t);
    }
  }
  for (let k: u32 = 0; k < count; k++) free(load<u32>(slot(count - 1 - k)), 0);
}

/** n alloc+free pairs with `batch` objects alive at once. */
export function allocFree(n: u32, batch: u32, size: u32, random: bool): u32 {
  let done: u32 = 0;
  while (done < n) {
    const m = n - done < batch ? n - done : batch;
    if (allocBatch(m, size, 0) != m) return done;
    freeBatch(m, random);
    done += m;
  }
  return done;
}

/** Free objects published at dest + 4i (clearing each pointer atomically), LIFO. */
export function freePublished(count: u32, dest: u32): void {
  for (let k: u32 = 0; k < count; k++) {
    const i = count - 1 - k;
    free(load<u32>(abs(dest + (i << 2))), dest + (i << 2));
  }
}

/** n transactions: snapshot 64 B (rotating over `hot` lines from base), modify, commit. */
export function txSnapshot64(n: u32, base: u32, hot: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const off = base + ((i % hot) << 6);
    txBegin();
    txAddRange(off, 64);
    store<u64>(abs(off), load<u64>(abs(off)) + 1);
    txCommit();
  }
}

/** n transactions of 8 scattered 64 B snapshots each, over `lines` lines from base. */
export function txSnapshot8x64(n: u32, base: u32, lines: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    txBegin();
    for (let k = 0; k < 8; k++) {
      const off = base + ((next() % lines) << 6);
      txAddRange(off, 64);
      store<u64>(abs(off), load<u64>(abs(off)) + 1);
    }
    txCommit();
  }
}

/** n transactions: allocate 64 B and publish it into dest + 4i (snapshotting the slot). */
export function txAllocPublish(n: u32, dest: u32): u32 {
  for (let i: u32 = 0; i < n; i++) {
    txBegin();
    const off = alloc(64, 1, 0, dest + (i << 2));
    txCommit();
    if (off == 0) return i;
  }
  return n;
}
