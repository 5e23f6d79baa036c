// The AssemblyScript runtime never reaches the pool (assembly/layout.ts draws the
// linear memory map): the core's runtime heap end stays below POOL_BASE — and below the
// 1 MiB cap of runtime/capped.ts — however hard the core is driven. And the
// host's copies of the layout constants (src/layout.ts) equal the core's own.
//
// The core is instantiated directly (src/core.ts), as replay tools do, so the
// test can read its exports and the volatile area below POOL_BASE.

import { describe, it, expect } from 'vitest';
import '../src/index.js'; // installs the Node module loader
import { instantiateCore, poolMemory, type CoreExports } from '../src/core.js';
import { MemoryBackend } from '../src/backends/memory.js';
import { Prng } from '../src/prng.js';
import {
  POOL_BASE, MIN_POOL_SIZE, MAX_POOL_SIZE, CHUNK_SIZE, WASM_PAGE, HEADER_SIZE, LINE_SIZE,
} from '../src/layout.js';

const MiB = 1024 * 1024;
const RUNTIME_HEAP_LIMIT = 1 * MiB; // assembly/layout.ts

interface Bench { core: CoreExports; memory: WebAssembly.Memory; backend: MemoryBackend; bytes: Uint8Array }

/** A core on its own memory with a MemoryBackend behind its drains. */
function bareCore(size: number, debug: boolean, image?: Uint8Array): Bench {
  const memory = poolMemory(size);
  const backend = new MemoryBackend(size, 'os', image);
  backend.attach(memory, POOL_BASE);
  const core = instantiateCore(memory, (r, c, f) => backend.drain(r, c, f), debug);
  const layout = new TextEncoder().encode('runtime');
  const mem = new Uint8Array(memory.buffer);
  const scratch = core.scratch();
  mem.fill(0, scratch, scratch + 80);
  mem.set(layout, scratch);
  mem.set(new Prng('uuid').bytes(new Uint8Array(16)), scratch + 64);
  const code = image ? core.openPool(size, layout.length) : core.createPool(size, layout.length);
  expect(code).toBe(0);
  return { core, memory, backend, bytes: new Uint8Array(memory.buffer, POOL_BASE, size) };
}

function expectHeapEndSafe(core: CoreExports, when: string): void {
  const end = core.runtimeHeapEnd();
  expect(end, when).toBeGreaterThan(0);
  expect(end, when).toBeLessThanOrEqual(RUNTIME_HEAP_LIMIT);
  expect(end, when).toBeLessThan(POOL_BASE);
}

/**
 * Thousands of allocations, frees, reallocs, transactions (committed and
 * aborted), deliberate errors, checks and stats. With `strict`, every
 * allocator result is asserted too (no live object handed out twice, frees
 * succeed, check() passes); without, only the runtime heap end is (so that
 * test measures one thing).
 */
function heavyWorkload(b: Bench, seed: number, rounds: number, strict: boolean): void {
  const { core } = b;
  const rng = new Prng(seed);
  const live: number[] = [];
  const root = core.root(4096);
  expect(root).toBeGreaterThan(0);
  const ok = (cond: boolean, msg: string) => { if (strict) expect(cond, msg).toBe(true); };
  let failures = 0;
  for (let i = 0; i < rounds; i++) {
    const pick = rng.below(100);
    if (pick < 40 || live.length === 0) {
      const size = rng.below(8) === 0 ? 1 + rng.below(200_000) : 1 + rng.below(2048);
      const off = core.alloc(size, rng.below(5), rng.below(4), 0);
      if (off === 0) { failures++; ok(core.lastError() > 0, 'a failed alloc sets lastError'); } else {
        ok(!live.includes(off), `round ${i}: alloc returned live object ${off}`);
        live.push(off);
      }
    } else if (pick < 70) {
      const off = live.splice(rng.below(live.length), 1)[0];
      const code = core.free(off, 0);
      ok(code === 0, `round ${i}: free(${off}) returned ${code}`);
    } else if (pick < 78) {
      const k = rng.below(live.length);
      const off = core.realloc(live[k], 1 + rng.below(10_000), 0);
      if (off !== 0) live[k] = off; else failures++;
    } else if (pick < 95) {
      ok(core.txBegin() === 0, 'txBegin');
      core.txAddRange(root, 64);
      new DataView(b.memory.buffer).setUint32(POOL_BASE + root, i, true);
      const inner = core.alloc(32 + rng.below(500), 7, 0, 0);
      ok(!live.includes(inner), `round ${i}: tx alloc returned live object ${inner}`);
      if (inner !== 0 && rng.coin()) core.free(inner, 0);
      if (live.length && rng.below(4) === 0) core.free(live.pop()!, 0);
      if (rng.below(5) === 0) core.txAbort(); else core.txCommit();
      expect(core.txDepth()).toBe(0);
    } else if (pick < 97) {
      // errors on purpose: bad offsets, double frees, tx state
      core.free(12345, 0);
      core.free(0xffff_fff0, 0);
      core.txCommit();
      core.txAddRange(root, 8);
      core.alloc(0, 0, 0, 0);
      core.rangeWritable(0, 8);
    } else {
      const code = core.check();
      ok(code === 0, `round ${i}: check() = ${code}, problem ${core.checkProblem()} at ${core.checkProblemAt()}`);
      core.heapStats();
      for (let o = core.nextObject(0, 0xffff_ffff); o !== 0; o = core.nextObject(o, 0xffff_ffff));
    }
    core.flush(rng.below(b.bytes.length - 64), 1 + rng.below(4096));
    if (rng.below(3) === 0) core.drain();
    if (i % 500 === 0) expectHeapEndSafe(core, `round ${i}`);
  }
  core.drain();
  ok(core.check() === 0, 'check() after the workload');
  // the workload really exercised the allocator
  expect(failures).toBeLessThan(rounds / 2);
}

describe('the runtime heap stays below the pool', () => {
  for (const debug of [false, true]) {
    it(`${debug ? 'debug' : 'release'} build: runtimeHeapEnd < POOL_BASE and <= 1 MiB through a heavy workload`, () => {
      const b = bareCore(16 * MiB, debug);
      const start = b.core.runtimeHeapEnd();
      expectHeapEndSafe(b.core, 'after create');
      heavyWorkload(b, debug ? 2 : 1, 6000, false);
      expectHeapEndSafe(b.core, 'after the workload');
      // reopen the image in a fresh core (recovery, rebuild) and go again
      const image = b.backend.durableImage();
      const c = bareCore(16 * MiB, debug, image);
      expectHeapEndSafe(c.core, 'after open');
      heavyWorkload(c, 3, 3000, false);
      expectHeapEndSafe(c.core, 'after the second workload');
      // the core allocates nothing managed per operation: the heap end does not creep
      expect(b.core.runtimeHeapEnd()).toBe(start);
    });
  }

  it('the memory is exactly POOL_BASE + size and cannot grow: there is nothing above the pool to spill into', () => {
    const size = 2 * MiB;
    const b = bareCore(size, false);
    expect(b.memory.buffer.byteLength).toBe(POOL_BASE + size);
    expect(() => b.memory.grow(1)).toThrow(RangeError);
  });
});

describe('the heavy workload keeps the heap consistent', () => {
  it('no live object handed out twice, every free succeeds, check() passes (release build)', () => {
    heavyWorkload(bareCore(16 * MiB, false), 1, 6000, true);
  });

  // claimSlot scans from the run's hint with ~(word >>> (slot & 63)): the
  // zeros shifted in look like free slots, so when every slot from the hint
  // to the end of its bitmap word is taken, it returns the first slot of the
  // NEXT word without looking at it — a live object.
  it('an allocation never returns a live object (hint inside a full bitmap word) — the minimal case', () => {
    const b = bareCore(MiB, false);
    const objs: number[] = [];
    for (let i = 0; i < 70; i++) objs.push(b.core.alloc(48, 0, 0, 0));
    expect(new Set(objs).size).toBe(70);
    expect(b.core.free(objs[10], 0)).toBe(0);
    const again = b.core.alloc(48, 0, 0, 0);
    expect(again).toBe(objs[10]); // the freed slot is reused
    const next = b.core.alloc(48, 0, 0, 0); // slots 11..69 are all live
    expect(objs.includes(next), `alloc returned live object #${objs.indexOf(next)}`).toBe(false);
    expect(b.core.check()).toBe(0);
  });
});

describe('host layout constants equal the core\'s', () => {
  it('POOL_BASE, MIN_POOL_SIZE, MAX_POOL_SIZE', () => {
    const b = bareCore(MIN_POOL_SIZE, false);
    expect(b.core.poolBase()).toBe(POOL_BASE);
    expect(b.core.minPoolSize()).toBe(MIN_POOL_SIZE);
    expect(b.core.maxPoolSize()).toBe(MAX_POOL_SIZE);
    // and the debug build agrees
    const d = bareCore(MIN_POOL_SIZE, true);
    expect(d.core.poolBase()).toBe(POOL_BASE);
    expect(d.core.minPoolSize()).toBe(MIN_POOL_SIZE);
    expect(d.core.maxPoolSize()).toBe(MAX_POOL_SIZE);
  });

  it('the derived facts hold: 64 KiB alignment, the wasm32 limit, header and line sizes', () => {
    expect(POOL_BASE % WASM_PAGE).toBe(0);
    expect(POOL_BASE % CHUNK_SIZE).toBe(0);
    expect(POOL_BASE).toBeGreaterThanOrEqual(RUNTIME_HEAP_LIMIT);
    expect(POOL_BASE + MAX_POOL_SIZE).toBe(2 ** 32);
    expect(MIN_POOL_SIZE % CHUNK_SIZE).toBe(0);
    expect(MAX_POOL_SIZE % CHUNK_SIZE).toBe(0);
    expect(HEADER_SIZE).toBe(4096);
    expect(LINE_SIZE).toBe(64);
    const b = bareCore(4 * MiB, false);
    expect(b.core.heapOffset() % CHUNK_SIZE).toBe(0);
    expect(b.core.logOffset()).toBeGreaterThanOrEqual(HEADER_SIZE);
    expect(b.core.logOffset() + b.core.logBytes()).toBe(b.core.heapOffset());
    expect(b.core.chunks()).toBe((4 * MiB - b.core.heapOffset()) / CHUNK_SIZE);
    // the drain ranges and scratch areas lie in the volatile area, above the runtime heap
    for (const addr of [b.core.scratch(), b.core.drainRanges()]) {
      expect(addr).toBeGreaterThanOrEqual(b.core.runtimeHeapEnd());
      expect(addr).toBeLessThan(POOL_BASE);
    }
  });
});
