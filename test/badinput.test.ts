// Bad input is answered, never obeyed: every bad input
// gets its typed, exported error with a clear message, and the pool file is
// left byte-identical (sha256 before and after) with no lock file behind.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import {
  Pool, PheapError, PoolNotFoundError, NotAPoolError, TruncatedPoolError, CorruptHeaderError, LayoutMismatchError,
  UnsupportedVersionError, InvalidSizeError, OffsetError, PoolClosedError, PoolLockedError, PoolExistsError,
  NotLiveError, MIN_POOL_SIZE, MAX_POOL_SIZE, CHUNK_SIZE,
} from '../src/index.js';
import {
  useTempDir, sha256File, dirListing, resealHeader, headerChecksum, storedChecksum, setU32At, u32At, H,
  sameBytes, thrown,
} from './helpers/pool-files.js';
import { claimFiles, lockHolder, LOCK_DIR } from '../src/backends/lock.js';

const tmp = useTempDir('pheap-badinput-');
const LAYOUT = 'badinput';
const SIZE = 256 * 1024;
const ROOT_VALUE = 0x1234_5678_9abc_def0n;

/** A valid pool's bytes: created, root holding ROOT_VALUE, closed. */
let template: Uint8Array;
let rootOff = 0;

beforeAll(() => {
  const file = tmp.file('template');
  const p = Pool.create({ backend: 'file', path: file, size: SIZE, layout: LAYOUT, seed: 'bad', durability: 'os' });
  rootOff = p.root(64);
  p.writeU64(rootOff, ROOT_VALUE);
  p.persist(rootOff, 8);
  p.close();
  template = new Uint8Array(fs.readFileSync(file));
});

/** A fresh file holding `bytes`. */
function fileWith(bytes: Uint8Array, stem = 'bad'): string {
  const file = tmp.file(stem);
  fs.writeFileSync(file, bytes);
  return file;
}


type ErrorClass = new (...args: never[]) => PheapError;

/**
 * `fn` must throw an instance of `cls` whose message matches `message`, and
 * leave `file` byte-identical with nothing added next to it (no lock file).
 */
function expectRejected(file: string, fn: () => unknown, cls: ErrorClass, message: RegExp, label = ''): PheapError {
  const exists = fs.existsSync(file);
  const snapshot = () => (fs.statSync(file).isDirectory() ? `dir:${dirListing(file).join('/')}` : sha256File(file));
  const before = exists ? snapshot() : null;
  const listing = dirListing(path.dirname(file));
  const e = thrown(fn);
  expect(e, `${label}: should throw ${cls.name}`).toBeInstanceOf(cls);
  expect(e, label).toBeInstanceOf(PheapError);
  const err = e as PheapError;
  expect(err.name, label).toBe(cls.name);
  expect(err.message, label).toMatch(message);
  expect(err.code, label).toMatch(/^ERR_[A-Z_]+$/);
  expect(fs.existsSync(file), label).toBe(exists);
  if (exists) expect(snapshot(), `${label}: file modified`).toBe(before);
  expect(dirListing(path.dirname(file)), `${label}: files added or removed`).toEqual(listing);
  return err;
}

const open = (file: string, layout = LAYOUT) => () => Pool.open({ backend: 'file', path: file, layout, durability: 'os' }).close();

describe('opening what is not a good pool', () => {
  it('a missing file without create: PoolNotFoundError, and nothing is created', () => {
    const file = path.join(tmp.dir, 'does-not-exist.pool');
    const err = expectRejected(file, open(file), PoolNotFoundError, /does not exist/);
    expect(err.message).toContain(file);
    expect(err.code).toBe('ERR_POOL_NOT_FOUND');
  });

  it('files that are not pools: NotAPoolError', () => {
    const cases: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['3 bytes', new Uint8Array([1, 2, 3])],
      ['zeros', new Uint8Array(SIZE)],
      ['text', new TextEncoder().encode('hello, I am a text file\n'.repeat(20000))],
      ['random', new Uint8Array(SIZE).map((_, i) => (i * 2654435761) >>> 24)],
      ['magic lower-case', (() => { const b = template.slice(); b.set(new TextEncoder().encode('pheapool')); return b; })()],
    ];
    for (const [label, bytes] of cases) {
      const file = fileWith(bytes, 'notapool');
      const err = expectRejected(file, open(file), NotAPoolError, /is not a pheap pool/, label);
      expect(err.message).toContain(file);
      expect(err.code).toBe('ERR_NOT_A_POOL');
    }
  });

  it('a directory where the pool should be: NotAPoolError, not a raw EISDIR', () => {
    const dir = path.join(tmp.dir, 'a-directory.pool');
    fs.mkdirSync(dir);
    expectRejected(dir, open(dir), NotAPoolError, /is not a pheap pool/);
  });

  it('truncated files: TruncatedPoolError naming both sizes', () => {
    for (const len of [SIZE - 1, SIZE - CHUNK_SIZE, SIZE / 2, H.PAGE, H.PAGE - 1, 100, 8]) {
      const file = fileWith(template.subarray(0, len), 'truncated');
      const err = expectRejected(file, open(file), TruncatedPoolError, /truncated/, `length ${len}`);
      expect(err.message).toContain(String(len));
      if (len >= H.PAGE) expect(err.message).toContain(String(SIZE)); // the header (readable) says SIZE
      expect(err.code).toBe('ERR_POOL_TRUNCATED');
    }
  });

  it('a file longer than its header says (what a growth interrupted before its commit leaves) opens at the committed size; the bytes past it are never read', () => {
    const longer = new Uint8Array(SIZE + CHUNK_SIZE).fill(0xee);
    longer.set(template);
    const file = fileWith(longer, 'longer');
    const pool = Pool.open({ path: file, backend: 'file', layout: LAYOUT });
    expect(pool.size).toBe(SIZE);
    pool.check();
    pool.close();
    const after = new Uint8Array(fs.readFileSync(file));
    expect(after.length).toBe(SIZE + CHUNK_SIZE);
    expect(after.subarray(SIZE).every((b) => b === 0xee), 'the tail is left as it was').toBe(true);
  });

  it('every single flipped byte in [0, 0x118) is caught (NotAPoolError in the magic, CorruptHeaderError elsewhere)', () => {
    const file = tmp.file('flip');
    const wrong: string[] = [];
    let checked = 0;
    for (let at = 0; at < H.END; at++) {
      for (const mask of [0xff, 0x01, 0x80]) {
        const bytes = template.slice();
        bytes[at] ^= mask;
        fs.writeFileSync(file, bytes);
        const want = at < 8 ? NotAPoolError : CorruptHeaderError;
        const before = sha256File(file);
        const e = thrown(open(file));
        const label = `byte 0x${at.toString(16)} ^ 0x${mask.toString(16)}`;
        if (!(e instanceof want)) wrong.push(`${label}: ${e === undefined ? 'opened' : (e as Error).name}`);
        // whatever it says, the file is untouched and no lock is left
        expect(sha256File(file), label).toBe(before);
        expect(claimFiles(file), label).toEqual([]);
        checked++;
      }
    }
    expect(checked).toBe(H.END * 3);
    expect(wrong, `flips answered with the wrong error (${wrong.length})`).toEqual([]);
  });

  it('a flipped byte anywhere in the rest of the header page (sampled) is caught', () => {
    const file = tmp.file('flip-page');
    const offsets = [H.END, H.END + 1, 0x1ff, 0x200, 0x7ff, 0x800, 0xffc, H.PAGE - 1];
    for (let at = H.END + 3; at < H.PAGE; at += 53) offsets.push(at);
    for (const at of offsets) {
      const bytes = template.slice();
      bytes[at] ^= 0x20;
      fs.writeFileSync(file, bytes);
      expectRejected(file, open(file), CorruptHeaderError, /corrupt header/, `byte 0x${at.toString(16)}`);
    }
  });

  it('the template itself opens (the rejections above are about the flips)', () => {
    const file = fileWith(template, 'good');
    const p = Pool.open({ backend: 'file', path: file, layout: LAYOUT, durability: 'os' });
    expect(p.readU64(p.root(64))).toBe(ROOT_VALUE);
    p.close();
  });

  it('a wrong layout name: LayoutMismatchError naming the layout asked for', () => {
    const file = fileWith(template, 'layout');
    for (const layout of ['other', 'badinpu', 'badinputs', 'BADINPUT', '']) {
      const err = expectRejected(file, open(file, layout), LayoutMismatchError, /layout/, layout);
      expect(err.message).toContain(`"${layout}"`);
      expect(err.code).toBe('ERR_POOL_LAYOUT');
    }
    // and the memory backend answers the same
    const image = template.slice();
    const e = thrown(() => Pool.open({ image, layout: 'other' }));
    expect(e).toBeInstanceOf(LayoutMismatchError);
    expect(sameBytes(image, template)).toBe(true);
  });

  it('an unsupported format version, with a valid checksum: UnsupportedVersionError', () => {
    for (const version of [3, 1, 0, 0xffffffff]) { // 2 is this build's; 1 was the format before self-checking metadata
      const bytes = template.slice();
      setU32At(bytes, H.VERSION, version);
      resealHeader(bytes);
      expect(headerChecksum(bytes)).toBe(storedChecksum(bytes));
      const file = fileWith(bytes, 'version');
      const err = expectRejected(file, open(file), UnsupportedVersionError, /unsupported pool format version/, `v${version}`);
      expect(err.code).toBe('ERR_POOL_VERSION');
    }
    // an unknown incompatible feature flag, resealed, is refused the same way
    const bytes = template.slice();
    setU32At(bytes, H.INCOMPAT, 1);
    resealHeader(bytes);
    const file = fileWith(bytes, 'incompat');
    expectRejected(file, open(file), UnsupportedVersionError, /unsupported/);
  });

  it('control: a resealed header with only an unknown compatible flag set opens (the forging is sound)', () => {
    const bytes = template.slice();
    setU32At(bytes, H.COMPAT, 1);
    expect(thrown(open(fileWith(bytes, 'compat-unsealed')))).toBeInstanceOf(CorruptHeaderError);
    resealHeader(bytes);
    const file = fileWith(bytes, 'compat');
    const p = Pool.open({ backend: 'file', path: file, layout: LAYOUT, durability: 'os' });
    expect(p.readU64(p.root(64))).toBe(ROOT_VALUE);
    expect(u32At(p.readBytes(0, 64), H.COMPAT)).toBe(1);
    p.close();
  });
});

describe('sizes', () => {
  const bad = [
    0, -CHUNK_SIZE, CHUNK_SIZE, MIN_POOL_SIZE - CHUNK_SIZE, // too small
    MIN_POOL_SIZE + 1, 200_000, 3 * CHUNK_SIZE + 4096, MIN_POOL_SIZE + 0.5, // not a multiple of 64 KiB
    MAX_POOL_SIZE + CHUNK_SIZE, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER, // beyond wasm32
    NaN, Infinity,
  ];

  it('create rejects every bad size with InvalidSizeError, on memory and on file, creating nothing', () => {
    for (const size of bad) {
      const e = thrown(() => Pool.create({ size, layout: LAYOUT }));
      expect(e, `memory ${size}`).toBeInstanceOf(InvalidSizeError);
      const file = tmp.file('size');
      const err = expectRejected(file, () => Pool.create({ backend: 'file', path: file, size, layout: LAYOUT }), InvalidSizeError,
        /multiple of 64 KiB/, `file ${size}`);
      expect(err.code).toBe('ERR_POOL_SIZE');
    }
  });

  it('the message states the limits, including the wasm32 one', () => {
    const e = thrown(() => Pool.create({ size: 2 ** 32, layout: LAYOUT })) as Error;
    expect(e.message).toContain(String(MIN_POOL_SIZE));
    expect(e.message).toContain(String(MAX_POOL_SIZE));
    expect(e.message).toMatch(/4 GiB/);
    expect(e.message).toMatch(/wasm32/);
  });

  it('the limits themselves: MIN_POOL_SIZE is accepted; MAX is 4 GiB minus the core area', () => {
    expect(MAX_POOL_SIZE).toBe(2 ** 32 - 16 * 1024 * 1024);
    const p = Pool.create({ size: MIN_POOL_SIZE, layout: LAYOUT });
    expect(p.size).toBe(MIN_POOL_SIZE);
    p.close();
  });

  it('create over an existing file: PoolExistsError, the file untouched', () => {
    const file = fileWith(template, 'exists');
    expectRejected(file, () => Pool.create({ backend: 'file', path: file, size: SIZE, layout: LAYOUT }), PoolExistsError, /already exists/);
    const other = fileWith(new TextEncoder().encode('not mine'), 'exists-other');
    expectRejected(other, () => Pool.create({ backend: 'file', path: other, size: SIZE, layout: LAYOUT }), PoolExistsError, /already exists/);
  });
});

describe('offsets and lengths', () => {
  let file: string;
  let p: Pool;
  let r: number;
  let o: number;
  let freed: number;

  beforeAll(() => {
    file = fileWith(template, 'offsets');
    p = Pool.open({ backend: 'file', path: file, layout: LAYOUT, durability: 'os' });
    r = p.root(64);
    o = p.alloc(100);
    freed = p.alloc(100);
    p.free(freed);
  });
  afterAll(() => p.close());

  /** `fn` throws `cls`; the file, the durable image and the cache are all unchanged. */
  function rejects(fn: () => unknown, cls: ErrorClass, message: RegExp, label: string): void {
    const cache = p.readBytes(0, SIZE);
    const durable = p.durableImage();
    expectRejected(file, fn, cls, message, label);
    expect(sameBytes(p.readBytes(0, SIZE), cache), `${label}: cache changed`).toBe(true);
    expect(sameBytes(p.durableImage(), durable), `${label}: durable image changed`).toBe(true);
    expect(p.pendingLines(), label).toEqual([]);
  }

  it('reads outside the pool: OffsetError', () => {
    const cases: [string, () => unknown][] = [
      ['readU8(size)', () => p.readU8(SIZE)], ['readU8(-1)', () => p.readU8(-1)],
      ['readU8(1.5)', () => p.readU8(1.5)], ['readU8(NaN)', () => p.readU8(NaN)],
      ['readU16(size-1)', () => p.readU16(SIZE - 1)], ['readU32(size-3)', () => p.readU32(SIZE - 3)],
      ['readI32(size)', () => p.readI32(SIZE)], ['readU64(size-7)', () => p.readU64(SIZE - 7)],
      ['readF64(2^32)', () => p.readF64(2 ** 32)], ['readBytes(size-10, 11)', () => p.readBytes(SIZE - 10, 11)],
      ['readBytes(0, size+1)', () => p.readBytes(0, SIZE + 1)], ['readBytes(0, -1)', () => p.readBytes(0, -1)],
      ['readBytes(-8, 16)', () => p.readBytes(-8, 16)],
    ];
    for (const [label, fn] of cases) rejects(fn, OffsetError, /outside the pool/, label);
    // the edges themselves are fine
    expect(p.readU8(SIZE - 1)).toBe(template[SIZE - 1]);
    expect(p.readBytes(SIZE, 0).length).toBe(0);
  });

  it('writes outside the pool: OffsetError', () => {
    const cases: [string, () => unknown][] = [
      ['writeU8(size)', () => p.writeU8(SIZE, 1)], ['writeU8(-1)', () => p.writeU8(-1, 1)],
      ['writeU16(size-1)', () => p.writeU16(SIZE - 1, 1)], ['writeU32(size-2)', () => p.writeU32(SIZE - 2, 1)],
      ['writeI32(2^32)', () => p.writeI32(2 ** 32, 1)], ['writeU64(size-4)', () => p.writeU64(SIZE - 4, 1n)],
      ['writeF64(size)', () => p.writeF64(SIZE, 1)], ['writeU8(r+0.5)', () => p.writeU8(r + 0.5, 1)],
      ['writeBytes(size-4, 8)', () => p.writeBytes(SIZE - 4, new Uint8Array(8))],
      ['writeBytes(2^32-4, 8)', () => p.writeBytes(2 ** 32 - 4, new Uint8Array(8))],
    ];
    for (const [label, fn] of cases) rejects(fn, OffsetError, /outside the pool/, label);
  });

  it('flush and persist outside the pool: OffsetError', () => {
    const cases: [string, () => unknown][] = [
      ['flush(size, 1)', () => p.flush(SIZE, 1)], ['flush(size-64, 65)', () => p.flush(SIZE - 64, 65)],
      ['flush(-64, 64)', () => p.flush(-64, 64)], ['flush(0, -1)', () => p.flush(0, -1)],
      ['flush(0, 2^32)', () => p.flush(0, 2 ** 32)], ['flush(64, 2^32-64)', () => p.flush(64, 2 ** 32 - 64)],
      ['flush(0.5, 8)', () => p.flush(0.5, 8)],
      ['persist(size, 8)', () => p.persist(SIZE, 8)], ['persist(size-8, 9)', () => p.persist(SIZE - 8, 9)],
      ['persist(-1, 2)', () => p.persist(-1, 2)], ['persist(2^32-64, 128)', () => p.persist(2 ** 32 - 64, 128)],
      ['persist(0, NaN)', () => p.persist(0, NaN)],
    ];
    for (const [label, fn] of cases) rejects(fn, OffsetError, /outside the pool/, label);
  });

  it('stores outside any live object: OffsetError, header/log/allocator metadata untouched', () => {
    const heapOff = u32At(template, H.HEAP_OFF);
    const logOff = u32At(template, H.LOG_OFF);
    const usable = p.usableSize(r);
    const cases: [string, () => unknown][] = [
      ['magic', () => p.writeU64(0, 0n)], ['version', () => p.writeU32(H.VERSION, 2)],
      ['root word', () => p.writeU64(H.ROOT, 0n)], ['open count', () => p.writeU8(H.OPEN_COUNT, 9)],
      ['header zero area', () => p.writeU8(0x800, 1)], ['chunk table', () => p.writeU64(H.PAGE, 0n)],
      ['undo log', () => p.writeU64(logOff, 1n)], ['last byte before heap', () => p.writeU8(heapOff - 1, 1)],
      ['run bitmap', () => p.writeU64(heapOff, (1n << 64n) - 1n)], ['object header', () => p.writeU8(r - 1, 1)],
      ['past the root', () => p.writeU8(r + usable, 1)], ['straddling the root end', () => p.writeU64(r + usable - 4, 1n)],
      ['bytes straddling', () => p.writeBytes(r + usable - 1, new Uint8Array(2))],
      ['freed object', () => p.writeU32(freed, 1)], ['free chunk', () => p.writeU8(SIZE - 64, 1)],
      ['between objects', () => p.writeBytes(r, new Uint8Array(o - r + 1))],
      ['addRange outside a tx on the header', () => p.addRange(0, 8)],
    ];
    for (const [label, fn] of cases) rejects(fn, OffsetError, /not inside one live object/, label);
    p.check();
    // inside the objects the same stores are accepted
    p.writeU8(r + usable - 1, 1);
    p.writeU8(o, 1);
  });

  it('free of something that is not an object: NotLiveError, nothing changed', () => {
    for (const off of [freed, o + 8, r + 1, 0x800, H.PAGE]) {
      rejects(() => p.free(off), NotLiveError, /not a live object/, `free(${off})`);
    }
    p.check();
  });

  it('inside a transaction: a bad snapshot range aborts the transaction with OffsetError', () => {
    const before = p.readU64(r);
    const e = thrown(() => p.tx((tx) => {
      tx.setU64(r, 42n);
      tx.addRange(0, 8);
    }));
    expect(e).toBeInstanceOf(OffsetError);
    expect(p.txDepth).toBe(0);
    expect(p.readU64(r)).toBe(before); // rolled back
    p.check();
  });
});

describe('destinations of alloc/free/realloc', () => {
  // `into` / `from` make the allocator store an offset into the pool: they
  // must name a u32 inside a live object, like any other store. Each case
  // gets its own pool, so one that is wrongly obeyed cannot spoil the next.
  const cases: [string, (p: Pool, o: number, freed: number) => unknown][] = [
    ['alloc into the header', (p) => p.alloc(64, { into: 0x800 })],
    ['alloc into the root word', (p) => p.alloc(64, { into: H.ROOT })],
    ['alloc into the open counter', (p) => p.alloc(64, { into: H.OPEN_COUNT })],
    ['alloc into the chunk table', (p) => p.alloc(64, { into: H.PAGE })],
    ['alloc into a freed object', (p, _o, freed) => p.alloc(64, { into: freed })],
    ['alloc into past the pool', (p) => p.alloc(64, { into: SIZE })],
    ['alloc into -4', (p) => p.alloc(64, { into: -4 })],
    ['free from the root word', (p, o) => p.free(o, { from: H.ROOT })],
    ['free from the header', (p, o) => p.free(o, { from: 0x800 })],
    ['realloc into the root word', (p, o) => p.realloc(o, 4000, { into: H.ROOT })],
    ['free past the pool', (p) => p.free(SIZE + 64)],
    ['free(-1)', (p) => p.free(-1)],
  ];
  it.each(cases)('%s: OffsetError, pool and file unchanged', (label, op) => {
    const file = fileWith(template, 'dest');
    const p = Pool.open({ backend: 'file', path: file, layout: LAYOUT, durability: 'os' });
    try {
      const r = p.root(64);
      const o = p.alloc(100);
      const freed = p.alloc(100);
      p.free(freed);
      const objects = [...p.objects()];
      const durable = p.durableImage();
      expectRejected(file, () => op(p, o, freed), OffsetError, /outside the pool|not inside a live object|not a pool offset/, label);
      expect(sameBytes(p.durableImage(), durable), 'durable image changed').toBe(true);
      expect(p.root(1)).toBe(r);
      expect(p.readU64(r)).toBe(ROOT_VALUE);
      expect([...p.objects()]).toEqual(objects);
      p.check();
    } finally {
      p.close();
    }
  });
});

describe('bad input inside a transaction', () => {
  // The bad call itself writes nothing; the abort it causes may write the
  // undo log (an abort invalidates it) and free space, never the header,
  // the chunk table, run bitmaps or live objects.
  const cases: [string, (p: Pool, r: number, o: number) => unknown][] = [
    ['alloc into the root word', (p) => p.tx((tx) => tx.alloc(64, { into: H.ROOT }))],
    ['alloc into the header', (p) => p.tx((tx) => tx.alloc(64, { into: 0x800 }))],
    ['snapshot of the header', (p) => p.tx((tx) => tx.addRange(H.ROOT, 8))],
    ['set past the root', (p, r) => p.tx((tx) => tx.setU64(r + p.usableSize(r), 1n))],
    ['free from the root word', (p, _r, o) => p.tx((tx) => tx.free(o, { from: H.ROOT }))],
  ];
  it.each(cases)('%s: OffsetError; header, chunk table and objects unchanged', (label, op) => {
    const file = fileWith(template, 'txbad');
    const p = Pool.open({ backend: 'file', path: file, layout: LAYOUT, durability: 'os' });
    try {
      const r = p.root(64);
      const o = p.alloc(32);
      const base = new Uint8Array(fs.readFileSync(file));
      const logOff = u32At(template, H.LOG_OFF);
      const objects = [...p.objects()];
      const e = thrown(() => op(p, r, o));
      expect(e, label).toBeInstanceOf(OffsetError);
      expect(p.txDepth).toBe(0);
      const after = new Uint8Array(fs.readFileSync(file));
      // header and chunk table: unchanged
      expect(sameBytes(after.subarray(0, logOff), base.subarray(0, logOff))).toBe(true);
      // the same objects, with the same bytes
      expect([...p.objects()]).toEqual(objects);
      for (const x of objects) expect(sameBytes(after.subarray(x, x + p.usableSize(x)), base.subarray(x, x + p.usableSize(x)))).toBe(true);
      expect(p.isLive(o)).toBe(true);
      expect(u32At(after, H.ROOT)).toBe(r);
      expect(p.readU64(r)).toBe(ROOT_VALUE);
      p.check();
    } finally {
      p.close();
    }
  });
});

describe('a closed pool', () => {
  it('throws PoolClosedError and leaves the file as it was', () => {
    const file = fileWith(template, 'closed');
    const p = Pool.open({ backend: 'file', path: file, layout: LAYOUT, durability: 'os' });
    const r = p.root(64);
    p.close();
    const ops: [string, () => unknown][] = [
      ['writeU64', () => p.writeU64(r, 1n)], ['persist', () => p.persist(r, 8)], ['flush', () => p.flush(0, 64)],
      ['drain', () => p.drain()], ['root', () => p.root(4096)], ['alloc', () => p.alloc(64)],
      ['tx', () => p.tx((tx) => tx.setU64(r, 1n))], ['readU64', () => p.readU64(r)],
      ['crash', () => p.crash({ mode: 'eadr' })],
    ];
    for (const [label, fn] of ops) {
      const err = expectRejected(file, fn, PoolClosedError, /closed/, label);
      expect(err.code).toBe('ERR_POOL_CLOSED');
    }
  });
});

describe('the advisory lock', () => {
  it('a second open in the same process: PoolLockedError; the first pool keeps working', () => {
    const file = fileWith(template, 'locked');
    const p = Pool.open({ backend: 'file', path: file, layout: LAYOUT, durability: 'os' });
    try {
      expect(lockHolder(file)).toBe(process.pid);
      const [lock] = claimFiles(file);
      const lockBefore = sha256File(lock);
      const err = expectRejected(file, open(file), PoolLockedError, /already open in this process/);
      expect(err.message).toContain(file);
      expect(err.code).toBe('ERR_POOL_LOCKED');
      expectRejected(file, () => Pool.open({ path: file, layout: 'whatever' }), PoolLockedError, /open elsewhere/);
      expectRejected(file, () => Pool.open({ backend: 'file', path: `${path.dirname(file)}/./${path.basename(file)}`, layout: LAYOUT }),
        PoolLockedError, /already open/, 'same file, other spelling');
      expect(claimFiles(file)).toEqual([lock]);
      expect(sha256File(lock)).toBe(lockBefore);
      // the first opener is unaffected
      const r = p.root(64);
      p.writeU64(r, 7n);
      p.persist(r, 8);
      expect(p.readU64(r)).toBe(7n);
    } finally {
      p.close();
    }
    expect(claimFiles(file)).toEqual([]);
    const q = Pool.open({ backend: 'file', path: file, layout: LAYOUT, durability: 'os' });
    expect(q.readU64(q.root(64))).toBe(7n);
    q.close();
  });

  it('a pool being created is locked too', () => {
    const file = tmp.file('creating');
    const p = Pool.create({ backend: 'file', path: file, size: SIZE, layout: LAYOUT, durability: 'os' });
    try {
      expectRejected(file, open(file), PoolLockedError, /already open in this process/);
    } finally {
      p.close();
    }
  });

  it('the same file through a symlink is the same pool: PoolLockedError', () => {
    const file = fileWith(template, 'target');
    const link = path.join(tmp.dir, `link-to-${path.basename(file)}`);
    fs.symlinkSync(file, link);
    const p = Pool.open({ backend: 'file', path: file, layout: LAYOUT, durability: 'os' });
    try {
      const e = thrown(() => Pool.open({ backend: 'file', path: link, layout: LAYOUT, durability: 'os' }).close());
      expect(e).toBeInstanceOf(PoolLockedError);
    } finally {
      p.close();
    }
  });

  describe('across processes', () => {
    let childScript = '';
    const repo = fileURLToPath(new URL('..', import.meta.url));
    const wasm = path.join(repo, 'build', 'pheap.wasm');

    beforeAll(async () => {
      // Plain node cannot import the TypeScript sources: bundle a tiny lock
      // holder with esbuild. It installs its own module loader so it does not
      // depend on where the bundle lives relative to build/.
      const contents = `
        import * as fs from 'node:fs';
        import { Pool } from './src/index.ts';
        import { setModuleLoader } from './src/core.ts';
        setModuleLoader(() => new WebAssembly.Module(fs.readFileSync(process.env.PHEAP_WASM)));
        const [file, layout] = process.argv.slice(2);
        const pool = Pool.open({ backend: 'file', path: file, layout, durability: 'os' });
        process.stdout.write('ready ' + process.pid + '\\n');
        let buf = '';
        process.stdin.setEncoding('utf8');
        process.stdin.on('data', (d) => {
          buf += d;
          if (buf.includes('close')) { pool.close(); process.stdout.write('closed\\n'); process.exit(0); }
        });
      `;
      childScript = path.join(tmp.dir, 'lock-holder.mjs');
      await build({
        stdin: { contents, resolveDir: repo, loader: 'ts', sourcefile: 'lock-holder.ts' },
        bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: childScript, logLevel: 'silent',
      });
    });

    /** Start a child that opens `file` and holds it; resolves once it reports ready. */
    function holder(file: string): Promise<{ child: ChildProcess; pid: number; lines: string[]; exited: Promise<number | null> }> {
      const child = spawn(process.execPath, [childScript, file, LAYOUT], {
        env: { ...process.env, PHEAP_WASM: wasm }, stdio: ['pipe', 'pipe', 'pipe'],
      });
      const lines: string[] = [];
      let stderr = '';
      const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`lock holder did not start: ${stderr}`)); }, 30_000);
        child.stderr!.on('data', (d) => { stderr += d; });
        child.stdout!.setEncoding('utf8');
        child.stdout!.on('data', (d: string) => {
          lines.push(...d.split('\n').filter(Boolean));
          const ready = lines.find((l) => l.startsWith('ready '));
          if (ready) { clearTimeout(timer); resolve({ child, pid: Number(ready.slice(6)), lines, exited }); }
        });
        exited.then((code) => { clearTimeout(timer); reject(new Error(`lock holder exited (${code}) before ready: ${stderr}`)); });
      });
    }

    it('a pool held by another process: PoolLockedError naming it; free again once it closes', async () => {
      const file = fileWith(template, 'xproc');
      const h = await holder(file);
      try {
        expect(h.pid).toBe(h.child.pid);
        expect(lockHolder(file)).toBe(h.pid);
        const err = expectRejected(file, open(file), PoolLockedError, new RegExp(`held by process ${h.pid}`));
        expect(err.message).toContain(file);
        expectRejected(file, () => Pool.create({ backend: 'file', path: file, size: SIZE, layout: LAYOUT }), PoolExistsError, /already exists/);
        h.child.stdin!.write('close\n');
        expect(await h.exited).toBe(0);
        expect(h.lines).toContain('closed');
      } finally {
        h.child.kill('SIGKILL');
      }
      expect(claimFiles(file)).toEqual([]);
      const p = Pool.open({ backend: 'file', path: file, layout: LAYOUT, durability: 'os' });
      expect(p.readU64(p.root(64))).toBe(ROOT_VALUE);
      expect(p.stats().openCount).toBe(2); // created (0), opened by the child (1), by us (2)
      p.close();
    });

    it('a stale lock left by a dead process is taken over', async () => {
      const file = fileWith(template, 'stale');
      const h = await holder(file);
      h.child.kill('SIGKILL');
      await h.exited;
      const left = claimFiles(file);
      expect(left).toHaveLength(1); // left behind by the dead holder
      expect(fs.readFileSync(left[0], 'utf8')).toMatch(new RegExp(`^${h.pid} `));
      expect(lockHolder(file)).toBeNull();
      const p = Pool.open({ backend: 'file', path: file, layout: LAYOUT, durability: 'os' });
      try {
        expect(lockHolder(file)).toBe(process.pid);
        expect(claimFiles(file)).toHaveLength(1); // the dead claim was swept
        expect(claimFiles(file)).not.toEqual(left);
        expect(p.readU64(p.root(64))).toBe(ROOT_VALUE);
        p.check();
      } finally {
        p.close();
      }
      expect(claimFiles(file)).toEqual([]);
    });

    it('an empty or garbled lock file (its owner died before writing its pid, or an older version) is taken over', () => {
      for (const content of ['', 'garbage', '0', '-5', '999999999 - 0\n']) {
        const file = fileWith(template, 'garbled');
        const { dev, ino } = fs.statSync(file, { bigint: true });
        fs.mkdirSync(LOCK_DIR, { recursive: true });
        const planted = path.join(LOCK_DIR, `${dev}-${ino}.0`);
        fs.writeFileSync(planted, content);
        fs.writeFileSync(`${file}.lock`, content); // where an older version kept its lock: ignored now
        const p = Pool.open({ backend: 'file', path: file, layout: LAYOUT, durability: 'os' });
        expect(lockHolder(file), JSON.stringify(content)).toBe(process.pid);
        expect(fs.existsSync(planted)).toBe(false);
        p.close();
        expect(claimFiles(file)).toEqual([]);
        expect(fs.readFileSync(`${file}.lock`, 'utf8')).toBe(content);
      }
    });
  });
});
