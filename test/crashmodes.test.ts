// Crash modes exactly as docs/durability.md defines them, on copy-style backends:
//   strict   only drained lines survive (deterministic)
//   pending  each flushed-but-not-drained line survives or not (seeded)
//   evict    additionally each dirty, never-flushed line may survive
//   tear8    a surviving candidate line may keep only some aligned 8-byte words
//   eadr     everything stored survives
// and pool.crash() makes the crash image the durable storage and reopens it.

import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import { Pool, PoolClosedError, TxStateError, InvalidArgumentError, CRASH_MODES, type CrashMode } from '../src/index.js';
import { useTempDir, sameBytes, differingLines, u64At, H, stateWord } from './helpers/pool-files.js';
import { claimFiles, lockHolder } from '../src/backends/lock.js';

const tmp = useTempDir('pheap-crash-');
const LAYOUT = 'crash-test';
const MiB = 1024 * 1024;
const SEEDS = Array.from({ length: 64 }, (_, i) => i);

/** 64 bytes, all 8 words non-zero and distinct per tag: a line that differs from zeroes in every word. */
function lineBytes(tag: number): Uint8Array {
  const b = new Uint8Array(64);
  for (let i = 0; i < 64; i++) b[i] = ((tag * 37 + i * 11) & 0xff) | 1;
  return b;
}

/**
 * A pool with a root and three kinds of lines, all inside the root:
 *   A (persisted) · B[0..7] (flushed, not drained) · C[0..7] (stored, never flushed)
 * Every one of those lines differs from its durable content in all 8 words.
 */
function scenario(kind: 'memory' | 'file' = 'memory') {
  const path = kind === 'file' ? tmp.file('crash') : undefined;
  // evicts: the scenario models pmem, so every crash mode applies (a deferred log is tested below).
  const pool = Pool.create({ backend: path ? 'file' : 'memory', path, size: MiB, layout: LAYOUT, seed: 'crash', durability: 'os', evicts: true });
  const r = pool.root(64 * 64);
  const base = Math.ceil(r / 64) * 64;
  const at = (i: number) => base + 64 * i;
  const A = at(0);
  const B = Array.from({ length: 8 }, (_, i) => at(2 + 2 * i)); // not adjacent: each its own range
  const C = Array.from({ length: 8 }, (_, i) => at(20 + 2 * i));
  pool.writeBytes(A, lineBytes(0));
  pool.persist(A, 64);
  B.forEach((b, i) => { pool.writeBytes(b, lineBytes(1 + i)); pool.flush(b, 64); });
  C.forEach((c, i) => pool.writeBytes(c, lineBytes(20 + i)));
  const lineOf = (off: number) => off / 64;
  expect(pool.pendingLines()).toEqual(B.map(lineOf));
  return { pool, path, A, B, C, lineOf };
}

type Outcome = 'kept' | 'lost' | 'torn';

/** What became of the line at `off` in `image`: all cache bytes, all durable bytes, or a mix of whole 8-byte words. */
function outcome(image: Uint8Array, durable: Uint8Array, cache: Uint8Array, off: number): Outcome {
  const got = image.subarray(off, off + 64);
  if (sameBytes(got, cache.subarray(off, off + 64))) return 'kept';
  if (sameBytes(got, durable.subarray(off, off + 64))) return 'lost';
  for (let w = 0; w < 64; w += 8) {
    const word = got.subarray(w, w + 8);
    const fromCache = sameBytes(word, cache.subarray(off + w, off + w + 8));
    const fromDurable = sameBytes(word, durable.subarray(off + w, off + w + 8));
    if (!fromCache && !fromDurable) throw new Error(`line at ${off}: word ${w / 8} is neither the cached nor the durable value`);
  }
  return 'torn';
}

describe('crash images', () => {
  it('crashImage changes nothing: cache, durable image and pending set stay as they were', () => {
    const { pool } = scenario();
    try {
      const cache = pool.readBytes(0, MiB);
      const durable = pool.durableImage();
      const pending = pool.pendingLines();
      for (const mode of CRASH_MODES) for (const seed of [0, 1, 'x']) pool.crashImage({ mode, seed });
      expect(sameBytes(pool.readBytes(0, MiB), cache)).toBe(true);
      expect(sameBytes(pool.durableImage(), durable)).toBe(true);
      expect(pool.pendingLines()).toEqual(pending);
    } finally {
      pool.close();
    }
  });

  it('strict: exactly the durable image; loses unflushed and flushed-but-undrained stores, keeps persisted ones', () => {
    const { pool, A, B, C } = scenario();
    try {
      const durable = pool.durableImage();
      const cache = pool.readBytes(0, MiB);
      for (const seed of [0, 1, 99, 'any']) {
        const img = pool.crashImage({ mode: 'strict', seed });
        expect(sameBytes(img, durable)).toBe(true);
        expect(outcome(img, durable, cache, A)).toBe('kept');
        for (const b of B) expect(outcome(img, durable, cache, b)).toBe('lost');
        for (const c of C) expect(outcome(img, durable, cache, c)).toBe('lost');
      }
      // the default seed is fine too
      expect(sameBytes(pool.crashImage({ mode: 'strict' }), durable)).toBe(true);
    } finally {
      pool.close();
    }
  });

  it('pending: a seeded, deterministic subset of the pending lines; never a dirty unflushed line', () => {
    const { pool, A, B, C, lineOf } = scenario();
    try {
      const durable = pool.durableImage();
      const cache = pool.readBytes(0, MiB);
      const subsets = new Set<string>();
      const perLine = B.map(() => new Set<Outcome>());
      for (const seed of SEEDS) {
        const img = pool.crashImage({ mode: 'pending', seed });
        // same seed, same image
        expect(sameBytes(pool.crashImage({ mode: 'pending', seed }), img)).toBe(true);
        expect(outcome(img, durable, cache, A)).toBe('kept');
        for (const c of C) expect(outcome(img, durable, cache, c), `seed ${seed}`).toBe('lost');
        const kept: number[] = [];
        B.forEach((b, i) => {
          const o = outcome(img, durable, cache, b);
          expect(o, `seed ${seed}`).not.toBe('torn'); // whole lines only
          perLine[i].add(o);
          if (o === 'kept') kept.push(i);
        });
        // nothing but pending lines differs from the durable image
        const diff = differingLines(img, durable);
        expect(diff).toEqual(kept.map((i) => lineOf(B[i])));
        subsets.add(kept.join(','));
      }
      // over many seeds, every pending line is sometimes kept and sometimes lost
      for (const s of perLine) expect([...s].sort()).toEqual(['kept', 'lost']);
      // and different seeds choose different subsets
      expect(subsets.size).toBeGreaterThan(8);
      // string seeds work and are deterministic too
      expect(sameBytes(pool.crashImage({ mode: 'pending', seed: 'abc' }), pool.crashImage({ mode: 'pending', seed: 'abc' }))).toBe(true);
    } finally {
      pool.close();
    }
  });

  it('evict: dirty never-flushed lines may survive too (whole lines), clean lines never change', () => {
    const { pool, A, B, C, lineOf } = scenario();
    try {
      const durable = pool.durableImage();
      const cache = pool.readBytes(0, MiB);
      const candidates = new Set([...B, ...C].map(lineOf));
      const seenB = new Set<Outcome>();
      const seenC = new Set<Outcome>();
      for (const seed of SEEDS) {
        const img = pool.crashImage({ mode: 'evict', seed });
        expect(sameBytes(pool.crashImage({ mode: 'evict', seed }), img)).toBe(true);
        expect(outcome(img, durable, cache, A)).toBe('kept');
        for (const b of B) seenB.add(outcome(img, durable, cache, b));
        for (const c of C) seenC.add(outcome(img, durable, cache, c));
        for (const l of differingLines(img, durable)) expect(candidates.has(l), `line ${l}`).toBe(true);
      }
      expect([...seenB].sort()).toEqual(['kept', 'lost']);
      expect([...seenC].sort()).toEqual(['kept', 'lost']);
    } finally {
      pool.close();
    }
  });

  it('tear8: a surviving line may keep only some of its 8-byte words; there is a seed that tears one', () => {
    const { pool, A, B, C, lineOf } = scenario();
    try {
      const durable = pool.durableImage();
      const cache = pool.readBytes(0, MiB);
      const candidates = new Set([...B, ...C].map(lineOf));
      let tornSeed: number | null = null;
      const seen = new Set<Outcome>();
      for (const seed of SEEDS) {
        const img = pool.crashImage({ mode: 'tear8', seed });
        expect(sameBytes(pool.crashImage({ mode: 'tear8', seed }), img)).toBe(true);
        expect(outcome(img, durable, cache, A)).toBe('kept');
        for (const off of [...B, ...C]) {
          const o = outcome(img, durable, cache, off); // throws if a word is neither old nor new
          seen.add(o);
          if (o === 'torn' && tornSeed === null) tornSeed = seed;
        }
        for (const l of differingLines(img, durable)) expect(candidates.has(l)).toBe(true);
      }
      expect(tornSeed).not.toBeNull();
      expect([...seen].sort()).toEqual(['kept', 'lost', 'torn']);
      // a torn line is reproducible from its seed
      const again = pool.crashImage({ mode: 'tear8', seed: tornSeed! });
      expect([...B, ...C].some((off) => outcome(again, durable, cache, off) === 'torn')).toBe(true);
    } finally {
      pool.close();
    }
  });

  it('eadr: everything stored survives — the image is the cache', () => {
    const { pool, A, B, C } = scenario();
    try {
      const durable = pool.durableImage();
      const cache = pool.readBytes(0, MiB);
      for (const seed of [0, 5]) {
        const img = pool.crashImage({ mode: 'eadr', seed });
        expect(sameBytes(img, cache)).toBe(true);
        for (const off of [A, ...B, ...C]) expect(outcome(img, durable, cache, off)).toBe('kept');
      }
    } finally {
      pool.close();
    }
  });

  it('modes are nested: strict ⊆ pending ⊆ evict ⊆ eadr in the lines they may keep', () => {
    const { pool, B, C, lineOf } = scenario();
    try {
      const durable = pool.durableImage();
      const pendingSet = new Set(B.map(lineOf));
      const evictSet = new Set([...B, ...C].map(lineOf));
      const keptBy = (mode: CrashMode) => {
        const s = new Set<number>();
        for (const seed of SEEDS) for (const l of differingLines(pool.crashImage({ mode, seed }), durable)) s.add(l);
        return s;
      };
      expect(keptBy('strict').size).toBe(0);
      expect(keptBy('pending')).toEqual(pendingSet);
      expect(keptBy('evict')).toEqual(evictSet);
      expect(keptBy('tear8')).toEqual(evictSet);
      expect(keptBy('eadr')).toEqual(evictSet);
    } finally {
      pool.close();
    }
  });
});

describe('pool.crash()', () => {
  for (const kind of ['memory', 'file'] as const) {
    for (const mode of CRASH_MODES) {
      it(`${kind}, ${mode}: the reopened pool holds the crash image (plus the open count and log seq), the old one is closed`, () => {
        const { pool, path, A, B, C } = scenario(kind);
        const seed = 7;
        const expected = pool.crashImage({ mode, seed });
        const openCount = pool.stats().openCount;
        const q = pool.crash({ mode, seed });
        try {
          expect(pool.isClosed).toBe(true);
          expect(() => pool.readU8(0)).toThrow(PoolClosedError);
          expect(q.isClosed).toBe(false);
          expect(q.stats().openCount).toBe(openCount + 1);
          // what the reopened pool sees is the crash image, apart from the open counter it bumped
          const now = q.readBytes(0, MiB);
          // ...and the undo log's seq word, which every open moves on (stale entries never validate again)
          const changed = [H.OPEN_COUNT / 64, q.layoutInfo().logOffset / 64];
          expect(differingLines(now, expected)).toEqual(changed);
          expect(u64At(now, H.OPEN_COUNT)).toBe(stateWord(openCount + 1));
          for (const off of [A, ...B, ...C]) expect(sameBytes(now.subarray(off, off + 64), expected.subarray(off, off + 64))).toBe(true);
          // ...and so does its durable storage
          expect(differingLines(q.durableImage(), expected)).toEqual(changed);
          if (path) {
            expect(differingLines(new Uint8Array(fs.readFileSync(path)), expected)).toEqual(changed);
            expect(lockHolder(path)).toBe(process.pid);
          }
          q.check();
        } finally {
          q.close();
        }
        if (path) {
          expect(claimFiles(path)).toEqual([]);
          const z = Pool.open({ backend: 'file', path, layout: LAYOUT, durability: 'os' });
          expect(sameBytes(z.readBytes(A, 64), expected.subarray(A, A + 64))).toBe(true);
          z.close();
        }
      });
    }
  }

  it('a pool whose cache only drains write refuses the crash modes that need eviction, changing nothing', () => {
    for (const kind of ['memory', 'file'] as const) {
      const path = kind === 'file' ? tmp.file('noevict') : undefined;
      const p = Pool.create({ backend: path ? 'file' : 'memory', path, size: MiB, layout: LAYOUT, seed: 3, durability: 'os' });
      expect(p.info().evicts).toBe(false);
      const r = p.root(64);
      p.beginTx();
      p.addRange(r, 8);
      p.writeU64(r, 5n);
      const before = [p.durableImage(), p.readBytes(0, p.size), p.pendingLines()] as const;
      for (const mode of ['evict', 'tear8', 'eadr'] as const) {
        expect(() => p.crashImage({ mode }), `${kind} ${mode}`).toThrow(/needs a cache that writes lines back on its own/);
        expect(() => p.crash({ mode }), `${kind} ${mode}`).toThrow(InvalidArgumentError);
      }
      expect([p.durableImage(), p.readBytes(0, p.size), p.pendingLines()]).toEqual(before);
      p.commitTx();
      p.close();
    }
  });

  it('strict crash on a file pool: the file loses what was not drained', () => {
    const { pool, path, A, B, C } = scenario('file');
    const q = pool.crash({ mode: 'strict' });
    q.close();
    const file = new Uint8Array(fs.readFileSync(path!));
    expect(sameBytes(file.subarray(A, A + 64), lineBytes(0))).toBe(true);
    for (const off of [...B, ...C]) expect(file.subarray(off, off + 64).every((x) => x === 0)).toBe(true);
  });

  it('a file pool at durability none: a crash in every mode leaves the file as the last close wrote it (and zeros a growth appended), which opens and checks (was: the stale file plus in-flight lines, CorruptHeapError)', () => {
    for (const evicts of [false, true]) {
      const path = tmp.file(`none-${evicts}`);
      const setup = Pool.create({ path, size: 128 << 10, layout: 'none', backend: 'file', durability: 'none', evicts });
      const root = setup.root(64);
      setup.tx(() => { setup.addRange(root, 8); setup.writeU32(root, 1); });
      setup.close();
      const closed = fs.readFileSync(path);
      const pool = Pool.open({ path, layout: 'none', backend: 'file', durability: 'none', evicts });
      pool.tx(() => { pool.addRange(root, 8); pool.writeU32(root, 2); pool.alloc(100); });
      pool.beginTx();
      pool.addRange(root, 8);
      pool.writeU32(root, 3);
      pool.alloc(200);
      for (const mode of CRASH_MODES.filter((m) => evicts || m === 'strict' || m === 'pending')) {
        const image = Buffer.from(pool.crashImage({ mode, seed: 7 }));
        expect(image.subarray(0, closed.length).equals(closed), `${mode}, evicts ${evicts}: the file as closed`).toBe(true);
        expect(image.subarray(closed.length).every((b) => b === 0), `${mode}: past it, the zeros a growth appended`).toBe(true);
      }
      const q = pool.crash({ mode: evicts ? 'evict' : 'pending', seed: 7 });
      expect(q.readU32(root), 'what the last close wrote').toBe(1);
      q.check();
      q.close();
    }
  });

  it('a crash in the middle of a transaction is rolled back on reopen, in every mode of both cache models', () => {
    const cases = [
      ...CRASH_MODES.map((mode) => ({ mode, evicts: true })),
      ...(['strict', 'pending'] as const).map((mode) => ({ mode, evicts: false })),
    ];
    for (const kind of ['memory', 'file'] as const) {
      for (const { mode, evicts } of cases) {
        const path = kind === 'file' ? tmp.file('txcrash') : undefined;
        const p = Pool.create({ backend: path ? 'file' : 'memory', path, size: MiB, layout: LAYOUT, seed: 3, durability: 'os', evicts });
        const r = p.root(256);
        p.writeU64(r, 1n);
        p.writeU64(r + 64, 2n);
        p.persist(r, 128);
        let q: Pool | undefined;
        // tx() says it could not commit: the pool crashed inside it
        expect(() => p.tx((tx) => {
          tx.setU64(r, 100n);
          tx.setU64(r + 64, 200n);
          p.flush(r, 128); // even flushed (and, in eadr, everything kept): the log still undoes it
          q = p.crash({ mode, seed: 11 });
        })).toThrow(TxStateError);
        try {
          expect(p.isClosed).toBe(true);
          expect(q!.readU64(r), `${kind} ${mode}`).toBe(1n);
          expect(q!.readU64(r + 64), `${kind} ${mode}`).toBe(2n);
          expect(q!.txDepth).toBe(0);
          q!.check();
          const durable = new DataView(q!.durableImage().buffer);
          expect(durable.getBigUint64(r, true)).toBe(1n);
          expect(durable.getBigUint64(r + 64, true)).toBe(2n);
          // eager: the log was durable before the stores; deferred: the stores never reached the image
          if (evicts) expect(q!.stats().recovery.entriesRolledBack, `${kind} ${mode}`).toBeGreaterThan(0);
        } finally {
          q!.close();
        }
        if (path) {
          // the abandoned core wrote nothing after the crash: the file is what the reopened pool left
          const z = Pool.open({ backend: 'file', path, layout: LAYOUT, durability: 'os' });
          expect(z.readU64(r)).toBe(1n);
          expect(z.readU64(r + 64)).toBe(2n);
          z.close();
        }
      }
    }
  });
});
