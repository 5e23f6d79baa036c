// Integrity: regression tests for the data loss that independent programs
// found (an open that freed live 64-byte-aligned objects, ghost undo entries
// restored after a second crash, damaged metadata trusted), each written so
// that it fails on the core that had the bug. The broad methods that would
// have found them first live beside this file: the torture test (random
// operations with several crashes), multi-crash exploration and pool-file
// fuzzing; these pin the exact cases.
import { describe, it, expect } from 'vitest';
import {
  Pool, CorruptHeapError, CorruptLogError, PheapError, PoolFileError, explore, formatReport, CHUNK_SIZE,
} from '../src/index.js';
import * as path from 'node:path';
import { sameBytes, useTempDir } from './helpers/pool-files.js';

const MiB = 1 << 20;
const mem = (size = 4 * MiB) => Pool.create({ size, layout: 'integrity', seed: 3 });
const reopen = (p: Pool) => p.crash({ mode: 'strict' }); // everything was persisted: a clean reopen
const openImage = (image: Uint8Array) => Pool.open({ image: image.slice(), layout: 'integrity' });

function fill(p: Pool, off: number, len: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(len).map((_, i) => (i * 31 + seed) & 0xff);
  p.writeBytes(off, bytes);
  p.persist(off, len);
  return bytes;
}

/** A transaction larger than the fixed log: its extension blocks take heap chunks, released at commit. */
function bigTx(p: Pool): void {
  const big = p.alloc(300_000);
  p.tx((tx) => tx.addRange(big, 300_000));
}

describe('finding 1: open never frees a live 64-byte-aligned large object', () => {
  const ways: Record<string, (p: Pool) => number> = {
    'alloc(n, {align64})': (p) => p.alloc(40_000, { align64: true, type: 5 }),
    'realloc of an aligned object': (p) => p.realloc(p.alloc(64, { align64: true, type: 5 }), 40_000),
    'tx realloc of an aligned object': (p) => { const a = p.alloc(64, { align64: true, type: 5 }); return p.tx((tx) => tx.realloc(a, 40_000)); },
    'root(n) grown from a 64-aligned root': (p) => { p.root(48); return p.root(40_000); },
  };
  for (const [name, make] of Object.entries(ways)) {
    it(`${name}, placed where a log extension block was, survives close and open`, () => {
      const p = mem();
      bigTx(p);
      const obj = make(p);
      expect(obj % 64).toBe(0);
      const bytes = fill(p, obj, 40_000, 7);
      const q = reopen(p);
      expect(q.isLive(obj)).toBe(true);
      expect(sameBytes(q.readBytes(obj, 40_000), bytes)).toBe(true);
      q.check();
      const other = q.alloc(40_000); // must not reuse the live object's chunk
      expect(other + 40_000 <= obj || other >= obj + 40_000).toBe(true);
      expect(sameBytes(q.readBytes(obj, 40_000), bytes)).toBe(true);
    });
  }
});

describe('finding 2: no ghost undo entry after two crashes', () => {
  it('a commit drain torn in pending mode, then recovery, then more work that aborts: nothing vanishes (every subset explored)', () => {
    const report = explore({
      size: 2 * MiB,
      layout: 'ghost',
      setup: (p) => { p.root(64); },
      // one commit drain carries four undo entries on two lines (four large allocations' chunk words)
      workload: (p) => { p.tx((tx) => { for (let i = 0; i < 4; i++) tx.alloc(CHUNK_SIZE, { type: 1 }); }); },
      modes: ['pending'],
      recoveryCrashes: false,
      check: (recovered) => {
        // the second session, on a copy of what recovery left: the same chunks allocated without
        // the log, then a transaction whose two entries end where the torn commit's later ones begin
        const p = Pool.open({ image: recovered.durableImage(), layout: 'ghost' });
        const objs = Array.from({ length: 4 }, () => p.alloc(CHUNK_SIZE, { type: 3 }));
        const r = p.root(64);
        expect(() => p.tx((tx) => { tx.setU32(r, 1); tx.setU32(r + 32, 2); throw new Error('abort'); })).toThrow('abort');
        for (const o of objs) expect(p.isLive(o)).toBe(true);
        p.check();
        const q = p.crash({ mode: 'strict' }); // and a second crash
        for (const o of objs) expect(q.isLive(o)).toBe(true);
        q.check();
      },
    });
    expect(report.failures, formatReport(report)).toEqual([]);
    expect(report.states).toBeGreaterThan(3);
  });

  it('every open moves the log to a fresh sequence, even when it rolled nothing back', () => {
    const p = mem();
    const seq = p.layoutInfo().logSequence;
    const q = reopen(p);
    expect(q.stats().recovery.entriesRolledBack).toBe(0);
    expect(q.layoutInfo().logSequence).toBe(seq + 1);
  });
});

/** A pool with history: objects of several classes, a large and an aligned large one, a root. */
function sample(): { pool: Pool; objs: number[] } {
  const pool = mem(2 * MiB);
  pool.root(128);
  bigTx(pool);
  const objs = [24, 100, 1000, 70_000, 5000].map((n, i) => pool.alloc(n, { type: i + 1, align64: i === 3 }));
  objs.forEach((o, i) => fill(pool, o, 16, i));
  return { pool, objs };
}

function expectRefused(image: Uint8Array, kind: new (...a: never[]) => PheapError): void {
  const before = image.slice();
  expect(() => openImage(image)).toThrow(kind);
  expect(sameBytes(image, before)).toBe(true);
}

describe('finding 4: damage is detected, never obeyed', () => {
  it('every single-bit flip of the log header words is refused with CorruptLogError, the image untouched', () => {
    const { pool } = sample();
    const image = pool.durableImage();
    const log = pool.layoutInfo().logOffset;
    for (let bit = 0; bit < 16 * 8; bit++) {
      const m = image.slice();
      m[log + (bit >> 3)] ^= 1 << (bit & 7);
      expectRefused(m, CorruptLogError);
    }
  });

  it('a damaged entry below the durable count makes recovery refuse (no partial rollback)', () => {
    const p = mem();
    const a = p.alloc(64 * 1024);
    const b = p.alloc(64);
    let image: Uint8Array | undefined;
    p.tx((tx) => {
      tx.addRange(a, 40 * 1024); // three entries, one drain
      tx.addRange(b, 64); // a later batch: the count now covers the first three
      p.writeU32(a, 1); p.writeU32(b, 2); p.persist(a, 4); p.persist(b, 4);
      image = p.crashImage({ mode: 'strict' });
    });
    const log = p.layoutInfo().logOffset;
    // the second entry's data starts after entry 0 (16 B header + 16 KiB) and its own header
    const m = image!.slice();
    m[log + 64 + 16 + 16384 + 16 + 100] ^= 0x10;
    expectRefused(m, CorruptLogError);
    const q = openImage(image!); // undamaged: the whole transaction is rolled back
    expect([q.readU32(a), q.readU32(b)]).toEqual([0, 0]);
    expect(q.stats().recovery.entriesRolledBack).toBe(4);
  });

  it("a large object's header size that disagrees with its span is refused by free, usableSize, stores and check()", () => {
    const { pool, objs } = sample();
    const big = objs[3];
    const image = pool.durableImage();
    image[big - 16 + 2] ^= 0x04; // the size field's third byte: +256 KiB
    const q = openImage(image);
    expect(() => q.check()).toThrow(CorruptHeapError);
    expect(() => q.usableSize(big)).toThrow(CorruptHeapError);
    expect(() => q.free(big)).toThrow(CorruptHeapError);
    expect(() => q.writeU32(big + 70_000, 1)).toThrow(CorruptHeapError);
    expect(() => q.writeU32(big, 1)).toThrow(CorruptHeapError);
    expect(q.isLive(objs[4])).toBe(true);
  });

  it('64 zeroed bytes in the chunk table are refused at open', () => {
    const { pool } = sample();
    const image = pool.durableImage();
    image.fill(0, 4096, 4096 + 64);
    expectRefused(image, CorruptHeapError);
  });

  it('a zeroed run bitmap or one flipped bitmap bit is caught by check(), and the allocator never hands out a live slot', () => {
    const { pool, objs } = sample();
    const image = pool.durableImage();
    const run = objs[0] - ((objs[0] - pool.layoutInfo().heapOffset) % CHUNK_SIZE);
    for (const damage of [(m: Uint8Array) => m.fill(0, run, run + 512), (m: Uint8Array) => { m[run] ^= 1; }, (m: Uint8Array) => { m[run] ^= 4; }]) {
      const m = image.slice();
      damage(m);
      const q = openImage(m);
      expect(() => q.check()).toThrow(CorruptHeapError);
      const fresh: number[] = [];
      for (let i = 0; i < 50; i++) {
        try { fresh.push(q.alloc(24)); } catch (e) { expect(e).toBeInstanceOf(CorruptHeapError); break; }
      }
      expect(fresh).not.toContain(objs[0]);
      expect(q.stats().heap.freeBytes).toBeLessThanOrEqual(q.size); // a damaged run counts as full, not as 2^16 live slots
      expect(q.readBytes(objs[0], 16)).toEqual(m.slice(objs[0], objs[0] + 16));
    }
  });
});

describe('a refused open leaves nothing half-open', () => {
  it('a recycled pool whose open was refused is closed again and can be recycled by the next open', () => {
    const { pool } = sample();
    const good = pool.durableImage();
    const bad = good.slice();
    bad.fill(0, 4096, 4096 + 64);
    const shell = openImage(good);
    shell.close();
    expect(() => Pool.open({ image: bad, layout: 'integrity', recycle: shell })).toThrow(CorruptHeapError);
    expect(shell.isClosed).toBe(true);
    const again = Pool.open({ image: good.slice(), layout: 'integrity', recycle: shell });
    expect(again).toBe(shell);
    again.check();
  });
});

describe('the log count never claims entries of an earlier session (found by the torture test)', () => {
  it('a crash inside a transaction, a reopen on the same instance, a persist outside any transaction: the pool still opens', () => {
    const p = mem();
    const r = p.root(64);
    let image: Uint8Array | undefined;
    expect(() => p.tx((tx) => {
      tx.setU32(r, 1);
      tx.setU32(r + 32, 2);
      image = p.crashImage({ mode: 'strict' });
      p.close(); // the process "dies" here; its core instance is reused below
    })).toThrow();
    const q = Pool.open({ image: image!, layout: 'integrity', recycle: p });
    expect(q).toBe(p);
    q.writeU32(r, 7);
    q.persist(r, 4); // outside a transaction: must not count the crashed session's entries
    const again = reopen(q);
    expect(again.readU32(r)).toBe(7);
    again.check();
  });
});

describe('only typed errors escape from the file system', () => {
  const tmp = useTempDir('pheap-integrity-');
  it('creating a pool in a directory that does not exist is a PoolFileError (ENOENT), nothing created', () => {
    const where = path.join(tmp.dir, 'no-such-dir', 'p.pool');
    const err = (() => { try { Pool.create({ path: where, size: 1 << 20, layout: 'x' }); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(PoolFileError);
    expect((err as PoolFileError).errno).toBe('ENOENT');
    expect((err as PoolFileError).code).toBe('ERR_POOL_FILE');
  });
});
