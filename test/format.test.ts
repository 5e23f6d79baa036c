// The pool format on both copy-style backends: a round trip through close and
// reopen, the header fields (docs/format.md), the root object, byte-identical
// files from the same deterministic workload, and the closed-pool guard.

import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import {
  Pool, Prng, PoolClosedError, InvalidSizeError, MIN_POOL_SIZE, CHUNK_SIZE, FORMAT_VERSION,
} from '../src/index.js';
import {
  useTempDir, headerChecksum, storedChecksum, stateWord, sameBytes, u32At, u64At, H, MAGIC, differingLines,
} from './helpers/pool-files.js';

const tmp = useTempDir('pheap-format-');
const MiB = 1024 * 1024;
const LAYOUT = 'format-test';

type Kind = 'memory' | 'file';

/** A pool on `kind`, and how to reopen what it left behind after close(). */
function makePool(kind: Kind, opts: { size?: number; seed?: number | string; layout?: string } = {}) {
  const size = opts.size ?? MiB;
  const layout = opts.layout ?? LAYOUT;
  if (kind === 'memory') {
    const pool = Pool.create({ size, layout, seed: opts.seed });
    let image: Uint8Array | null = null;
    return {
      pool,
      /** Close, keeping the durable image (what a memory pool leaves behind). */
      close() { image = pool.durableImage(); pool.close(); },
      reopen(l = layout) { return Pool.open({ image: image!.slice(), layout: l }); },
      /** Close a reopened pool; its durable image is what the next reopen sees. */
      closeReopened(q: Pool) { image = q.durableImage(); q.close(); },
      bytes() { return image!; },
    };
  }
  const path = tmp.file('fmt');
  const pool = Pool.create({ backend: 'file', path, size, layout, seed: opts.seed, durability: 'os' });
  return {
    pool,
    close() { pool.close(); },
    reopen(l = layout) { return Pool.open({ backend: 'file', path, layout: l, durability: 'os' }); },
    closeReopened(q: Pool) { q.close(); },
    bytes() { return new Uint8Array(fs.readFileSync(path)); },
  };
}

describe.each<Kind>(['memory', 'file'])('round trip on the %s backend', (kind) => {
  it('writes through root + persist survive close and reopen, every typed accessor', () => {
    const h = makePool(kind, { seed: 7 });
    const p = h.pool;
    const r = p.root(256);
    p.writeU8(r, 0xab);
    p.writeU16(r + 2, 0xbeef);
    p.writeU32(r + 4, 0xdeadbeef);
    p.writeI32(r + 8, -123456);
    p.writeU64(r + 16, 0x0123456789abcdefn);
    p.writeF64(r + 24, Math.PI);
    const blob = new Prng('blob').bytes(new Uint8Array(200));
    p.writeBytes(r + 40, blob);
    p.persist(r, 256);
    h.close();

    const q = h.reopen();
    try {
      expect(q.root(256)).toBe(r);
      expect(q.readU8(r)).toBe(0xab);
      expect(q.readU16(r + 2)).toBe(0xbeef);
      expect(q.readU32(r + 4)).toBe(0xdeadbeef);
      expect(q.readI32(r + 8)).toBe(-123456);
      expect(q.readU64(r + 16)).toBe(0x0123456789abcdefn);
      expect(q.readF64(r + 24)).toBe(Math.PI);
      expect(q.readBytes(r + 40, 200)).toEqual(blob);
      expect(q.stats().size).toBe(MiB);
      expect(q.size).toBe(MiB);
      q.check();
    } finally {
      q.close();
    }
  });

  it('a store that was never persisted is not in the reopened pool (close drains nothing)', () => {
    const h = makePool(kind, { seed: 8 });
    const r = h.pool.root(64);
    h.pool.writeU64(r, 111n);
    h.pool.persist(r, 8);
    h.pool.writeU64(r, 222n); // in the cache only
    h.close();
    const q = h.reopen();
    try {
      expect(q.readU64(q.root(64))).toBe(111n);
    } finally {
      q.close();
    }
  });

  it('the open counter in the header counts every open', () => {
    const h = makePool(kind, { seed: 9 });
    expect(h.pool.stats().openCount).toBe(0);
    expect(h.pool.readU64(H.OPEN_COUNT)).toBe(stateWord(0));
    h.close();
    expect(u64At(h.bytes(), H.OPEN_COUNT)).toBe(stateWord(0));
    for (let n = 1; n <= 3; n++) {
      const q = h.reopen();
      expect(q.stats().openCount).toBe(n);
      expect(q.readU64(H.OPEN_COUNT)).toBe(stateWord(n));
      // the bump is durable at once, not at close
      expect(u64At(q.durableImage(), H.OPEN_COUNT)).toBe(stateWord(n));
      h.closeReopened(q);
      expect(u64At(h.bytes(), H.OPEN_COUNT)).toBe(stateWord(n));
    }
  });

  it('the file (or image) holds exactly the header the pool shows', () => {
    const h = makePool(kind, { seed: 10 });
    const header = h.pool.readBytes(0, H.PAGE);
    h.close();
    expect(sameBytes(h.bytes().subarray(0, H.PAGE), header)).toBe(true);
    expect(h.bytes().length).toBe(MiB);
  });
});

describe('header fields', () => {
  it('magic, format version, size, layout name, geometry and checksum', () => {
    const size = 4 * MiB;
    const p = Pool.create({ size, layout: 'my-layout/v1', seed: 'hdr' });
    try {
      const hdr = p.readBytes(0, H.PAGE);
      expect(new TextDecoder().decode(hdr.subarray(0, 8))).toBe('PHEAPOOL');
      expect(u64At(hdr, H.MAGIC)).toBe(MAGIC);
      expect(u32At(hdr, H.VERSION)).toBe(FORMAT_VERSION); // the host's constant is the core's
      expect(u32At(hdr, H.INCOMPAT)).toBe(0);
      expect(u32At(hdr, H.CHUNK_SHIFT)).toBe(16);
      expect(u64At(hdr, H.SIZE)).toBe(BigInt(size));
      const layout = hdr.subarray(H.LAYOUT, H.LAYOUT + 64);
      const name = new TextEncoder().encode('my-layout/v1');
      expect(layout.subarray(0, name.length)).toEqual(name);
      expect(layout.subarray(name.length).every((b) => b === 0)).toBe(true);
      // region offsets: table right after the header page, log after it, heap chunk-aligned
      expect(u32At(hdr, H.TABLE_OFF)).toBe(H.PAGE);
      const heapOff = u32At(hdr, H.HEAP_OFF);
      expect(heapOff % CHUNK_SIZE).toBe(0);
      expect(u32At(hdr, H.NCHUNKS)).toBe((size - heapOff) / CHUNK_SIZE);
      expect(u32At(hdr, H.LOG_OFF)).toBeGreaterThanOrEqual(H.PAGE + u32At(hdr, H.NCHUNKS) * 8);
      expect(u32At(hdr, H.LOG_OFF) + u32At(hdr, H.LOG_SIZE)).toBe(heapOff);
      expect(u32At(hdr, H.LOG_SIZE)).toBeGreaterThanOrEqual(16 * 1024);
      // state words: open counter 0, no root yet
      expect(u64At(hdr, H.OPEN_COUNT)).toBe(stateWord(0));
      expect(u64At(hdr, H.ROOT)).toBe(stateWord(0));
      // the rest of the header page is zero
      expect(hdr.subarray(H.END).every((b) => b === 0)).toBe(true);
    } finally {
      p.close();
    }
  });

  it('the TS checksum mirror (test/helpers) equals the checksum the core stored', () => {
    const cases: { size: number; layout: string; seed?: number | string }[] = [
      { size: MIN_POOL_SIZE, layout: 'a', seed: 1 },
      { size: MiB, layout: LAYOUT, seed: 'x' },
      { size: 3 * MiB + CHUNK_SIZE, layout: 'ü'.repeat(31) }, // random UUID, 62-byte UTF-8 name
      { size: 16 * MiB, layout: 'L'.repeat(63), seed: 0xffffffff },
    ];
    for (const c of cases) {
      const p = Pool.create(c);
      const hdr = p.readBytes(0, H.PAGE);
      p.close();
      expect(storedChecksum(hdr)).not.toBe(0n);
      expect(headerChecksum(hdr)).toBe(storedChecksum(hdr));
      // and the mirror is sensitive to every covered byte we try
      for (const at of [0, 8, 0x18, 0x20, 0x2f, 0x80, 0xbf, 0xf7]) {
        const forged = hdr.slice();
        forged[at] ^= 1;
        expect(headerChecksum(forged)).not.toBe(storedChecksum(hdr));
      }
    }
  });

  it('the UUID comes from the seed when one is given, and is random otherwise', () => {
    const uuidOf = (seed?: number | string) => {
      const p = Pool.create({ size: MIN_POOL_SIZE, layout: 'u', seed });
      const u = p.readBytes(H.UUID, 16);
      p.close();
      return u;
    };
    expect(uuidOf(42)).toEqual(uuidOf(42));
    expect(uuidOf('s')).toEqual(uuidOf('s'));
    expect(uuidOf(42)).toEqual(new Prng(42).bytes(new Uint8Array(16)));
    expect(uuidOf(42)).not.toEqual(uuidOf(43));
    const a = uuidOf(), b = uuidOf();
    expect(a).not.toEqual(b);
    expect(a.some((x) => x !== 0)).toBe(true);
    // a random UUID is not the one seed 0 would give
    expect(a).not.toEqual(new Prng(0).bytes(new Uint8Array(16)));
  });

  it('the file backend writes the same header for the same seed as the memory backend', () => {
    const path = tmp.file('hdr');
    Pool.create({ backend: 'file', path, size: MiB, layout: LAYOUT, seed: 5, durability: 'os' }).close();
    const m = Pool.create({ size: MiB, layout: LAYOUT, seed: 5 });
    const mem = m.durableImage();
    m.close();
    expect(sameBytes(new Uint8Array(fs.readFileSync(path)).subarray(0, H.PAGE), mem.subarray(0, H.PAGE))).toBe(true);
  });
});

describe('root object', () => {
  it('is created zeroed on first use and recorded in the header root word', () => {
    const p = Pool.create({ size: MiB, layout: LAYOUT, seed: 1 });
    try {
      expect(p.readU64(H.ROOT)).toBe(stateWord(0));
      const r = p.root(100);
      expect(r).toBeGreaterThan(0);
      expect(r % 8).toBe(0);
      expect(p.readU64(H.ROOT)).toBe(stateWord(r));
      // the root word is durable as soon as root() returns
      expect(u64At(p.durableImage(), H.ROOT)).toBe(stateWord(r));
      expect(p.sizeOf(r)).toBeGreaterThanOrEqual(100);
      expect(p.readBytes(r, 100).every((b) => b === 0)).toBe(true);
      expect(p.isLive(r)).toBe(true);
      // asking again, for less or the same, gives the same object
      expect(p.root(100)).toBe(r);
      expect(p.root(1)).toBe(r);
      p.check();
    } finally {
      p.close();
    }
  });

  it('is zeroed even when its space held garbage before', () => {
    const p = Pool.create({ size: MiB, layout: LAYOUT, seed: 2 });
    try {
      // Fill freed space of every small class with 0xFF first.
      const offs: number[] = [];
      for (let s = 16; s <= 4096; s *= 2) {
        for (let i = 0; i < 4; i++) {
          const o = p.alloc(s);
          p.writeBytes(o, new Uint8Array(s).fill(0xff));
          p.persist(o, s);
          offs.push(o);
        }
      }
      for (const o of offs) p.free(o);
      const r = p.root(200);
      expect(p.readBytes(r, 200).every((b) => b === 0)).toBe(true);
      expect(p.readBytes(r, 200)).toEqual(p.durableImage().subarray(r, r + 200));
    } finally {
      p.close();
    }
  });

  it('grows keeping its old bytes and zeroing the new ones, and survives reopen', () => {
    const p = Pool.create({ size: 4 * MiB, layout: LAYOUT, seed: 3 });
    const r1 = p.root(64);
    const old = new Prng('old').bytes(new Uint8Array(64));
    p.writeBytes(r1, old);
    p.persist(r1, 64);
    // Dirty freed space so that "zeroed" means something wherever the root moves.
    const junk: number[] = [];
    for (const s of [128, 1000, 5000, 70000]) {
      const o = p.alloc(s);
      p.writeBytes(o, new Uint8Array(s).fill(0xee));
      p.persist(o, s);
      junk.push(o);
    }
    for (const o of junk) p.free(o);

    const sizes = [65, 500, 4000, 100_000];
    let r = r1;
    let prev = 64;
    for (const s of sizes) {
      r = p.root(s);
      expect(p.readU64(H.ROOT)).toBe(stateWord(r));
      expect(p.sizeOf(r)).toBeGreaterThanOrEqual(s);
      expect(p.readBytes(r, 64)).toEqual(old);
      expect(p.readBytes(r + 64, s - 64).every((b) => b === 0)).toBe(true);
      // the grown root is durable: the durable image agrees
      const img = p.durableImage();
      expect(u64At(img, H.ROOT)).toBe(stateWord(r));
      expect(sameBytes(img.subarray(r, r + s), p.readBytes(r, s))).toBe(true);
      prev = s;
    }
    expect(prev).toBe(100_000);
    p.check();
    // the old root object is not live any more if the root moved
    if (r !== r1) expect(p.isLive(r1)).toBe(false);
    const img = p.durableImage();
    p.close();
    const q = Pool.open({ image: img, layout: LAYOUT });
    try {
      expect(q.root(1)).toBe(r);
      expect(q.sizeOf(r)).toBeGreaterThanOrEqual(100_000);
      expect(q.readBytes(r, 64)).toEqual(old);
      q.check();
    } finally {
      q.close();
    }
  });

  it('rejects a size that is not a positive integer', () => {
    const p = Pool.create({ size: MiB, layout: LAYOUT });
    try {
      for (const bad of [0, -1, 1.5, NaN, Infinity]) expect(() => p.root(bad)).toThrow(InvalidSizeError);
      expect(p.readU64(H.ROOT)).toBe(stateWord(0)); // nothing was created
    } finally {
      p.close();
    }
  });
});

/** One deterministic workload: root, stores, persists, allocations, a transaction, a free, a realloc. */
function workload(p: Pool): void {
  const r = p.root(512);
  const rng = new Prng('workload');
  for (let i = 0; i < 32; i++) p.writeU64(r + 8 * i, BigInt(rng.next()) * 0x1_0000_0000n + BigInt(rng.next()));
  p.persist(r, 256);
  p.writeU32(r + 300, 77);
  p.flush(r + 300, 4);
  p.drain();
  const objs: number[] = [];
  for (let i = 0; i < 40; i++) {
    const o = p.alloc(16 + rng.below(3000), { type: 1 + (i % 3), zero: i % 2 === 0 });
    p.writeBytes(o, rng.bytes(new Uint8Array(16)));
    p.persist(o, 16);
    objs.push(o);
  }
  p.alloc(100, { into: r + 400 });
  p.tx((tx) => {
    tx.setU64(r + 8, 0xfeedn);
    const o = tx.alloc(256, { zero: true });
    tx.setU32(r + 404, o);
    tx.free(objs[3]);
  });
  p.free(objs[5]);
  objs[7] = p.realloc(objs[7], 9000);
  p.writeU32(r + 500, 5); // left in the cache: must not reach either image
}

describe('byte-identical pools from the same deterministic workload', () => {
  it('the memory image equals the file, byte for byte, after create + workload + reopen', () => {
    const path = tmp.file('same');
    const f = Pool.create({ backend: 'file', path, size: 2 * MiB, layout: LAYOUT, seed: 'same', durability: 'os' });
    const m = Pool.create({ size: 2 * MiB, layout: LAYOUT, seed: 'same' });
    workload(f);
    workload(m);
    f.check();
    m.check();
    const memImage = m.durableImage();
    expect(sameBytes(f.durableImage(), memImage)).toBe(true);
    f.close();
    m.close();
    const fileBytes = new Uint8Array(fs.readFileSync(path));
    expect(differingLines(fileBytes, memImage)).toEqual([]);
    // The store left in the cache reached neither.
    expect(u32At(memImage, u32At(memImage, H.ROOT) + 500)).toBe(0);

    // Reopen both (recovery, open counter) and do more: still identical.
    const f2 = Pool.open({ backend: 'file', path, layout: LAYOUT, durability: 'os' });
    const m2 = Pool.open({ image: memImage, layout: LAYOUT });
    for (const p of [f2, m2]) {
      const r = p.root(2000);
      p.writeU64(r + 1000, 99n);
      p.persist(r + 1000, 8);
    }
    const memImage2 = m2.durableImage();
    f2.close();
    m2.close();
    expect(differingLines(new Uint8Array(fs.readFileSync(path)), memImage2)).toEqual([]);
  });

  it('different seeds give different files (the seed reaches the bytes)', () => {
    const a = Pool.create({ size: 2 * MiB, layout: LAYOUT, seed: 1 });
    const b = Pool.create({ size: 2 * MiB, layout: LAYOUT, seed: 2 });
    workload(a);
    workload(b);
    const diff = differingLines(a.durableImage(), b.durableImage());
    a.close();
    b.close();
    // only the header lines holding the UUID (0x20) and the checksum (0xF8)
    expect(diff).toEqual([H.UUID >> 6, H.CHECKSUM >> 6]);
  });
});

describe('objects after reopen', () => {
  // Runs load their live counters lazily on first touch after open. A free
  // of an object in a run that was not loaded yet must count the object it
  // frees exactly once, or the run looks emptier than it is.
  it('freeing one object of a run right after reopen keeps the heap consistent', () => {
    const m = Pool.create({ size: 2 * MiB, layout: LAYOUT, seed: 11 });
    const a = m.alloc(512);
    m.alloc(512);
    const img = m.durableImage();
    m.close();
    const p = Pool.open({ image: img, layout: LAYOUT, maxSize: 2 * MiB }); // fixed: the heap must fill up
    try {
      p.free(a);
      p.check();
    } finally {
      p.close();
    }
  });

  it('a live object survives a neighbour\'s free after reopen and a heap that fills up', () => {
    const m = Pool.create({ size: 2 * MiB, layout: LAYOUT, seed: 12 });
    const a = m.alloc(512);
    const b = m.alloc(512);
    m.writeBytes(b, new Uint8Array(512).fill(0x5a));
    m.persist(b, 512);
    const img = m.durableImage();
    m.close();
    const p = Pool.open({ image: img, layout: LAYOUT, maxSize: 2 * MiB }); // fixed: the heap must fill up
    try {
      p.free(a);
      // Fill the heap with large objects: chunks run out, empty runs are reclaimed.
      for (;;) {
        let o: number;
        try { o = p.alloc(60_000); } catch { break; }
        p.writeBytes(o, new Uint8Array(60_000).fill(0x11));
      }
      expect(p.isLive(b)).toBe(true);
      expect(p.readBytes(b, 512).every((x) => x === 0x5a)).toBe(true);
    } finally {
      p.close();
    }
  });
});

describe('a closed pool', () => {
  it('throws PoolClosedError from every operation; close() again is harmless', () => {
    const path = tmp.file('closed');
    const p = Pool.create({ backend: 'file', path, size: MiB, layout: LAYOUT, durability: 'os' });
    const r = p.root(64);
    const o = p.alloc(32);
    p.close();
    expect(p.isClosed).toBe(true);
    const ops: [string, () => unknown][] = [
      ['root', () => p.root(64)],
      ['readU8', () => p.readU8(r)], ['readU16', () => p.readU16(r)], ['readU32', () => p.readU32(r)],
      ['readI32', () => p.readI32(r)], ['readU64', () => p.readU64(r)], ['readF64', () => p.readF64(r)],
      ['readBytes', () => p.readBytes(r, 8)],
      ['writeU8', () => p.writeU8(r, 1)], ['writeU16', () => p.writeU16(r, 1)], ['writeU32', () => p.writeU32(r, 1)],
      ['writeI32', () => p.writeI32(r, 1)], ['writeU64', () => p.writeU64(r, 1n)], ['writeF64', () => p.writeF64(r, 1)],
      ['writeBytes', () => p.writeBytes(r, new Uint8Array(4))],
      ['flush', () => p.flush(r, 8)], ['drain', () => p.drain()], ['persist', () => p.persist(r, 8)],
      ['alloc', () => p.alloc(16)], ['free', () => p.free(o)], ['realloc', () => p.realloc(o, 64)],
      ['usableSize', () => p.usableSize(o)], ['typeOf', () => p.typeOf(o)], ['sizeOf', () => p.sizeOf(o)],
      ['isLive', () => p.isLive(o)], ['objects', () => [...p.objects()]],
      ['tx', () => p.tx(() => 1)], ['addRange', () => p.addRange(r, 8)], ['txDepth', () => p.txDepth],
      ['check', () => p.check()], ['stats', () => p.stats()], ['info', () => p.info()],
      ['pendingLines', () => p.pendingLines()], ['crashImage', () => p.crashImage({ mode: 'strict' })],
      ['crash', () => p.crash({ mode: 'strict' })], ['durableImage', () => p.durableImage()],
    ];
    for (const [name, op] of ops) {
      let caught: unknown = null;
      try { op(); } catch (e) { caught = e; }
      expect(caught, name).toBeInstanceOf(PoolClosedError);
      expect((caught as Error).message, name).toMatch(/closed/);
      expect((caught as PoolClosedError).code, name).toBe('ERR_POOL_CLOSED');
    }
    expect(() => p.close()).not.toThrow();
    // the file is free again: it opens
    const q = Pool.open({ backend: 'file', path, layout: LAYOUT, durability: 'os' });
    expect(q.root(1)).toBe(r);
    q.close();
  });
});
