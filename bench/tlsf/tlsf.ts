// @ts-nocheck -- AssemblyScript, compiled by bench/tlsf/build.mjs (not tsc).
//
// AssemblyScript's own volatile allocator (TLSF, runtime "minimal") driven by
// the same loops as the PMDK harness (bench/pmdk/harness.c): the
// no-persistence ceiling for pheap's allocator. No flushes, no logs, no
// persistent metadata: just heap.alloc / heap.free.
//
// Every loop keeps at most `batch` objects alive (pointer array in static
// data), allocates a batch, then frees it (LIFO, or random order by picking a
// random live index and moving the last live pointer into the hole — the same
// scheme as the C harness, so both sides pay the same PRNG cost).
// Returns a checksum so the optimizer cannot drop the work. All arguments are
// required (no optional-argument trampolines); seeds are u32 so JS passes
// plain numbers.

const MAX_BATCH: i32 = 65536;
const PTRS: usize = memory.data(MAX_BATCH << alignof<usize>());

@external("env", "now")
declare function now(): f64;

let rngState: u64 = 0;

function seedRng(seed: u64): void {
  rngState = seed != 0 ? seed : 0x9e3779b97f4a7c15;
}

// xorshift64*, same constants as the C harness.
function rng(): u64 {
  let x = rngState;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rngState = x;
  return x * 0x2545f4914f6cdd1d;
}

function setPtr(i: i32, p: usize): void {
  store<usize>(PTRS + (<usize>i << alignof<usize>()), p);
}

function getPtr(i: i32): usize {
  return load<usize>(PTRS + (<usize>i << alignof<usize>()));
}

// size 0 = mixed (uniform 16..4096 B); random = free in random order.
function allocFreeLoop(n: i32, batch: i32, size: usize, random: bool): usize {
  let sum: usize = 0;
  if (batch > MAX_BATCH) batch = MAX_BATCH;
  let done = 0;
  while (done < n) {
    const m = min(n - done, batch);
    for (let i = 0; i < m; i++) {
      const sz = size != 0 ? size : <usize>(16 + rng() % (4096 - 16 + 1));
      const p = heap.alloc(sz);
      store<u8>(p, <u8>i); // touch the block, as a real user would
      setPtr(i, p);
      sum += p;
    }
    if (random) {
      let live = m;
      while (live > 0) {
        const j = <i32>(rng() % <u64>live);
        heap.free(getPtr(j));
        live--;
        setPtr(j, getPtr(live));
      }
    } else {
      for (let i = m - 1; i >= 0; i--) heap.free(getPtr(i));
    }
    done += m;
  }
  return sum;
}

/** n alloc+free pairs of 64 B, LIFO. */
export function allocFree64Lifo(n: i32, batch: i32): usize {
  return allocFreeLoop(n, batch, 64, false);
}

/** n alloc+free pairs of 64 B, frees in random (seeded) order. */
export function allocFree64Random(n: i32, seed: u32, batch: i32): usize {
  seedRng(<u64>seed);
  return allocFreeLoop(n, batch, 64, true);
}

/** n alloc+free pairs, sizes uniform in 16 B..4 KiB, random free order. */
export function allocFreeMixed(n: i32, seed: u32, batch: i32): usize {
  seedRng(<u64>seed);
  return allocFreeLoop(n, batch, 0, true);
}

/** n alloc+free pairs of 256 KiB, LIFO. */
export function allocFreeLarge(n: i32, batch: i32): usize {
  return allocFreeLoop(n, batch, 256 << 10, false);
}

let lastAllocMs: f64 = 0;
let lastFreeMs: f64 = 0;

/** n allocs of 64 B then n frees (LIFO), in batches; the time spent in
 * allocs and in frees is kept apart (read with allocMs() / freeMs()). */
export function alloc64ThenFree(n: i32, batch: i32): usize {
  let sum: usize = 0;
  if (batch > MAX_BATCH) batch = MAX_BATCH;
  lastAllocMs = 0;
  lastFreeMs = 0;
  let done = 0;
  while (done < n) {
    const m = min(n - done, batch);
    const t0 = now();
    for (let i = 0; i < m; i++) {
      const p = heap.alloc(64);
      store<u8>(p, <u8>i);
      setPtr(i, p);
      sum += p;
    }
    const t1 = now();
    for (let i = m - 1; i >= 0; i--) heap.free(getPtr(i));
    const t2 = now();
    lastAllocMs += t1 - t0;
    lastFreeMs += t2 - t1;
    done += m;
  }
  return sum;
}

export function allocMs(): f64 {
  return lastAllocMs;
}

export function freeMs(): f64 {
  return lastFreeMs;
}
