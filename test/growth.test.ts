// growth.test.ts — pools that grow (docs/format.md, "Growth").
//
// Owns the tests of growth itself: a pool created small grows by whole
// regions, by a quarter of its size (whole chunks, at least four:
// amortised O(1), at most a fifth of the file left free) or by what one
// allocation needs, up to maxSize; the same seeded workload gives byte-identical files
// on the memory, file and mapped backends with growth mid-run (fast-check);
// growth inside transactions (committed, aborted, the undo log's own blocks);
// a growth refused (maxSize, a file that cannot be extended) is a typed error
// with the pool unchanged; bytes an interrupted growth left past the
// committed size are ignored, then zeroed by the next growth; every byte of
// the growth metadata damaged is refused, never obeyed; and the crash
// explorer at every persistence point of a workload that grows several
// times, one crash and two in a row, loses nothing.
// SIGKILL during growth is test/kill-growth.test.ts.

import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CHUNK_SIZE, InvalidSizeError, OutOfSpaceError, PheapError, Pool, explore, formatReport, type Marker, type BackendKind,
} from '../src/index.js';
import { ROOT_BYTES, applyOp, growthOps, modelDifference, runOps, type GrowthModel, type GrowthOp } from './helpers/growth-workload.js';
import { sha256, useTempDir } from './helpers/pool-files.js';
import { REPO } from './helpers/readme.js';
import { formatInfo, runInfo } from '../src/cli/info.js';

const KiB = 1024;
const MiB = 1 << 20;
const SEED = Number(process.env.PHEAP_GROWTH_SEED ?? 20261202);
const tmp = useTempDir('pheap-growth-');
const LAYOUT = 'growth';

/** Header offsets (docs/format.md): the grown word, the heap's offset and the initial chunk count. */
const GROWN = 0x110;
const HEAP_OFF = 0x40;
const NCHUNKS = 0x34;

/** The fewest chunks one growth adds (assembly/table.ts). */
const MIN_STEP_CHUNKS = 4;

/** The growth policy's step from a pool of `size` bytes (no allocation needing more): a quarter, in whole chunks, at least 4. */
function policyStep(size: number): number {
  return Math.max(Math.ceil(size / 4 / CHUNK_SIZE), MIN_STEP_CHUNKS) * CHUNK_SIZE;
}

/** Chunks the largest allocation of `ops` spans (object header included). */
function largestChunks(ops: GrowthOp[]): number {
  const sizes = ops.flatMap((o) => (o.kind === 'alloc' ? [o.size] : o.kind === 'tx' ? o.sizes : []));
  return Math.ceil((Math.max(...sizes) + 64) / CHUNK_SIZE);
}

function create(backend: BackendKind, size: number, extra: { maxSize?: number; path?: string } = {}): Pool {
  const pool = Pool.create({ backend, size, layout: LAYOUT, seed: SEED, durability: 'os', ...extra });
  pool.root(ROOT_BYTES);
  return pool;
}

/** The regions of a grown image: [first byte, end of its table words) each, from the header and region headers. */
function regionTables(image: Uint8Array): Array<[number, number]> {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const heapOff = v.getUint32(HEAP_OFF, true);
  const total = v.getUint32(GROWN, true);
  const out: Array<[number, number]> = [];
  for (let c = v.getUint32(NCHUNKS, true); total !== 0 && c < total;) {
    const at = heapOff + c * CHUNK_SIZE;
    const n = v.getUint32(at + 16 + 4, true);
    out.push([at, at + 48 + 8 * n]);
    c += n;
  }
  return out;
}

describe('a pool grows as it needs room', () => {
  it('from 128 KiB by whole regions, each a quarter of the pool (at least 4 chunks), with every object intact after reopening', () => {
    const ops = growthOps(SEED, 150, 120 * KiB);
    const p = create('memory', 128 * KiB);
    // Per op: the size and growth count after it (a transaction of several allocations may grow more than once).
    const after = [{ size: p.size, growths: 0 }];
    const states = runOps(p, ops, () => after.push({ size: p.size, growths: p.stats().growths }));
    const model = states[states.length - 1];
    const stats = p.stats();
    const sizes = [...new Set(after.map((a) => a.size))];
    console.log(`growth: ${ops.length} ops from 128 KiB: sizes ${sizes.map((s) => s / KiB).join(' → ')} KiB, ${stats.growths} growths`);
    expect(stats.growths).toBeGreaterThanOrEqual(3);
    expect(stats.size).toBe(p.size);
    expect(stats.maxSize).toBe(p.info().maxSize);
    // This workload's largest allocation (with its region's table chunk) is under the 4-chunk floor: every step is the policy's own.
    expect(largestChunks(ops) + 1).toBeLessThanOrEqual(MIN_STEP_CHUNKS);
    for (let i = 1; i < after.length; i++) {
      let size = after[i - 1].size;
      for (let g = after[i - 1].growths; g < after[i].growths; g++) size += policyStep(size);
      expect(after[i].size, `op ${i}: ${after[i].growths - after[i - 1].growths} growths from ${after[i - 1].size} bytes`).toBe(size);
    }
    expect(modelDifference(p, model)).toBeNull();
    p.check();
    const image = p.durableImage();
    p.close();
    const q = Pool.open({ image, layout: LAYOUT });
    expect(q.size).toBe(sizes[sizes.length - 1]);
    expect(q.stats().growths).toBe(stats.growths);
    expect(modelDifference(q, model)).toBeNull();
    q.check();
    q.close();
  });

  it('a pool filled by small objects to 8 MiB grows by the policy\'s step each time, and leaves at most that step (plus one run) free', () => {
    const pool = create('memory', 128 * KiB);
    let growths = 0;
    while (pool.size < 8 * MiB) {
      const before = pool.size;
      pool.alloc(4000);
      if (pool.size === before) continue;
      growths++;
      const step = pool.size - before;
      expect(step, `growth ${growths} from ${before} bytes`).toBe(policyStep(before));
      expect(pool.stats().heap.freeBytes, `free right after growth ${growths}`).toBeLessThanOrEqual(step + CHUNK_SIZE);
    }
    const { size, heap } = pool.stats();
    console.log(`growth: 4000-byte objects from 128 KiB to ${size / KiB} KiB in ${growths} growths, ${heap.freeBytes} bytes free at the end`);
    expect(heap.freeBytes, 'the free room is at most a fifth of the file').toBeLessThanOrEqual(size / 5 + CHUNK_SIZE);
    pool.check();
    pool.close();
  });

  it('pheap info reports the size, the size at creation and the growth count', () => {
    const file = tmp.file('info');
    const pool = create('file', 128 * KiB, { path: file });
    runOps(pool, growthOps(SEED + 3, 40));
    const { size, growths } = pool.stats();
    pool.close();
    const { report } = runInfo(file);
    expect([report.header.size, report.header.initialSize, report.growths]).toEqual([size, 128 * KiB, growths]);
    expect(growths).toBeGreaterThan(0);
    expect(formatInfo(report)).toContain(`size         ${size} bytes, ${report.header.chunks} heap chunks of 65536 bytes (created at 131072 bytes, grown ${growths} times)`);
  });

  it('one allocation larger than the pool grows it by what it needs, in one step', () => {
    const pool = create('memory', 128 * KiB);
    const off = pool.alloc(3 * MiB, { zero: true });
    expect(pool.size).toBeGreaterThanOrEqual(3 * MiB);
    expect(pool.size).toBeLessThan(4 * MiB);
    expect(pool.stats().growths).toBe(1);
    expect(pool.sizeOf(off)).toBeGreaterThanOrEqual(3 * MiB);
    pool.check();
    pool.close();
  });

  it('byte-identical pools on the memory, file and mapped backends for any seeded workload (growth mid-run)', () => {
    console.log(`reproduce: PHEAP_GROWTH_SEED=${SEED} npx vitest run test/growth.test.ts -t byte-identical`);
    let runs = 0;
    fc.assert(fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 20, max: 90 }), (seed, n) => {
      const ops = growthOps(seed, n);
      const images = (['memory', 'file', 'mapped'] as const).map((backend) => {
        const file = tmp.file(`same-${runs}-${backend}`);
        const pool = create(backend, 128 * KiB, backend === 'memory' ? {} : { path: file });
        const states = runOps(pool, ops);
        expect(modelDifference(pool, states[states.length - 1])).toBeNull();
        const image = backend === 'memory' ? pool.durableImage() : null;
        const size = pool.size;
        pool.close();
        const bytes = image ?? new Uint8Array(fs.readFileSync(file));
        expect(bytes.length, backend).toBe(size);
        return bytes;
      });
      runs++;
      expect(sha256(images[1]), 'file = memory').toBe(sha256(images[0]));
      expect(sha256(images[2]), 'mapped = memory').toBe(sha256(images[0]));
    }), { numRuns: 8, seed: SEED });
    expect(runs).toBe(8);
  });

  it('inside transactions: a committed one keeps what it grew into, an aborted one leaves the pool grown and the objects gone', () => {
    const pool = create('memory', 128 * KiB);
    const root = pool.root(ROOT_BYTES);
    pool.tx((tx) => { tx.alloc(400 * KiB, { into: root }); });
    const grown = pool.size;
    expect(grown).toBeGreaterThan(128 * KiB);
    expect(() => pool.tx((tx) => { tx.alloc(2 * MiB, { into: root + 4 }); throw new Error('abort'); })).toThrow('abort');
    expect(pool.size, 'growth is not rolled back').toBeGreaterThan(grown);
    expect(pool.readU32(root + 4)).toBe(0);
    expect(pool.stats().heap.liveObjects).toBe(2); // the root and the first object
    pool.check();
    // A snapshot larger than the fixed log and the free heap: the log's blocks come from a growth.
    const before = pool.size;
    const big = pool.readU32(root);
    pool.tx((tx) => tx.setBytes(big, new Uint8Array(400 * KiB).fill(7)));
    expect(pool.readU8(big + 400 * KiB - 1)).toBe(7);
    expect(pool.size).toBeGreaterThanOrEqual(before);
    pool.check();
    pool.close();
  });
});

describe('a growth that cannot happen is a typed error, the pool unchanged', () => {
  it('maxSize: OutOfSpaceError naming it; the durable image is byte-identical; a larger maxSize at the next open lets it grow', () => {
    const pool = create('memory', 128 * KiB, { maxSize: 512 * KiB });
    const offs: number[] = [];
    let image = pool.durableImage();
    let error: unknown;
    for (let i = 0; i < 100 && !error; i++) {
      image = pool.durableImage();
      try { offs.push(pool.alloc(30 * KiB)); } catch (e) { error = e; }
    }
    expect(error).toBeInstanceOf(OutOfSpaceError);
    expect((error as Error).message).toMatch(/maxSize \(524288\)/);
    expect(pool.size).toBe(512 * KiB);
    expect(sha256(pool.durableImage()), 'the refused allocation changed nothing').toBe(sha256(image));
    pool.check();
    pool.close();
    const again = Pool.open({ image, layout: LAYOUT, maxSize: 2 * MiB });
    again.alloc(30 * KiB);
    expect(again.size).toBe(512 * KiB + policyStep(512 * KiB));
    again.check();
    again.close();
  });

  it('bad sizes are refused before anything is made', () => {
    const file = tmp.file('bad-size');
    for (const opts of [{ size: MiB, maxSize: 512 * KiB }, { maxSize: 100 }, { maxSize: 3 * MiB + 1 }, { maxSize: 2 ** 33 }, { size: 64 * KiB }]) {
      expect(() => Pool.create({ path: file, backend: 'file', layout: LAYOUT, ...opts }), JSON.stringify(opts)).toThrow(InvalidSizeError);
      expect(fs.existsSync(file)).toBe(false);
    }
    const pool = Pool.create({ layout: LAYOUT });
    expect(pool.size, 'the default initial size').toBe(MiB);
    pool.close();
  });

  for (const backend of ['file', 'mapped'] as const) {
    it(`${backend}: a file that cannot be extended (RLIMIT_FSIZE) is OutOfSpaceError, the file byte-identical and usable`, () => {
      const file = tmp.file(`fsize-${backend}`);
      const lib = pathToFileURL(path.join(REPO, 'dist', 'index.js')).href;
      const script = `
        import { Pool } from ${JSON.stringify(lib)};
        import { createHash } from 'node:crypto';
        import * as fs from 'node:fs';
        const hash = () => createHash('sha256').update(fs.readFileSync(${JSON.stringify(file)})).digest('hex');
        const pool = Pool.create({ path: ${JSON.stringify(file)}, backend: '${backend}', size: 128 * 1024, layout: 'growth', durability: 'fsync' });
        const root = pool.root(4096);
        let n = 0, before = hash(), size = pool.size;
        try {
          for (;; n++) { before = hash(); size = pool.size; pool.alloc(60 * 1024, { into: root + 4 * n }); }
        } catch (e) {
          const after = hash();
          pool.free(pool.readU32(root), { from: root });
          pool.alloc(1000, { into: root });
          pool.check();
          pool.close();
          console.log(JSON.stringify({ name: e.name, message: e.message, same: before === after, size, objects: n }));
        }`;
      const js = path.join(tmp.dir, `fsize-${backend}.mjs`);
      fs.writeFileSync(js, script);
      // 1600 KiB of file: the pool grows 128 KiB → 384 → 640 → 896 → 1152 → 1472 KiB, and the next growth (to 1856 KiB) fails.
      let last = 128 * KiB;
      while (last + policyStep(last) <= 1600 * KiB) last += policyStep(last);
      expect([last, last + policyStep(last)]).toEqual([1472 * KiB, 1856 * KiB]);
      const r = spawnSync('bash', ['-c', `ulimit -f 1600; exec "${process.execPath}" "${js}"`], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { name: string; message: string; same: boolean; size: number; objects: number };
      console.log(`${backend} with a 1600 KiB file limit: ${out.objects} objects, then ${out.name}: ${out.message}`);
      expect(out.name).toBe('OutOfSpaceError');
      expect(out.message).toMatch(new RegExp(`could not grow from ${last} to ${last + policyStep(last)} bytes.*(EFBIG|too large)`, 'i'));
      expect(out.same, 'the file is byte-identical after the refused growth').toBe(true);
      expect(out.size).toBe(last);
      expect(fs.statSync(file).size).toBe(last);
      const reopened = Pool.open({ path: file, backend, layout: LAYOUT });
      reopened.check();
      reopened.close();
    });
  }
});

describe('what a growth leaves, and damage to it', () => {
  it('bytes past the committed size (an interrupted growth) are ignored, then zeroed by the next growth', () => {
    const ops = growthOps(SEED + 1, 60);
    const cut = 20;
    /** Run ops[0, cut), close, append `tail` bytes to the storage, reopen, run the rest; returns the final bytes. */
    const interrupted = (backend: 'memory' | 'file', tail: Uint8Array): Uint8Array => {
      const file = tmp.file(`tail-${backend}`);
      const first = create(backend, 128 * KiB, backend === 'file' ? { path: file } : {});
      const states = runOps(first, ops.slice(0, cut));
      const committed = first.size;
      const image = backend === 'memory' ? first.durableImage() : null;
      first.close();
      if (image === null) fs.appendFileSync(file, tail);
      const again = backend === 'memory'
        ? Pool.open({ image: Uint8Array.from([...image!, ...tail]), layout: LAYOUT })
        : Pool.open({ path: file, backend, layout: LAYOUT });
      expect(again.size, 'the pool opens at its committed size').toBe(committed);
      expect(modelDifference(again, states[cut])).toBeNull();
      again.check();
      const end = ops.slice(cut).reduce<GrowthModel>((m, op, i) => applyOp(again, m, op, cut + i + 1), states[cut]);
      expect(modelDifference(again, end)).toBeNull();
      expect(again.size).toBeGreaterThan(committed);
      const size = again.size;
      const out = backend === 'memory' ? again.durableImage() : null;
      again.close();
      return (out ?? new Uint8Array(fs.readFileSync(file))).subarray(0, size);
    };
    const clean = interrupted('memory', new Uint8Array(0));
    const withTail = interrupted('file', new Uint8Array(MiB).fill(0xa5));
    expect(sha256(withTail), 'the tail left no trace once the pool grew over it').toBe(sha256(clean));
  });

  it('every byte of the growth metadata damaged (the grown word, each region\'s header and chunk words) is refused untouched or harmless', () => {
    const pool = create('memory', 128 * KiB);
    const states = runOps(pool, growthOps(SEED + 2, 20, 20 * KiB));
    const model = states[states.length - 1];
    const base = pool.durableImage();
    pool.close();
    const regions = regionTables(base);
    expect(regions.length).toBeGreaterThanOrEqual(2);
    const targets = [...Array.from({ length: 8 }, (_, i) => GROWN + i), ...regions.flatMap(([a, b]) => Array.from({ length: b - a }, (_, i) => a + i))];
    const verdicts = { refused: 0, harmless: 0 };
    let recycle: Pool | undefined;
    for (const at of targets) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const image = base.slice();
        image[at] ^= mask;
        const copy = image.slice();
        try {
          recycle = Pool.open({ image, layout: LAYOUT, recycle });
        } catch (e) {
          expect(e, `flip 0x${mask.toString(16)} at 0x${at.toString(16)}`).toBeInstanceOf(PheapError);
          expect(sha256(image), `refused, yet written (0x${at.toString(16)})`).toBe(sha256(copy));
          verdicts.refused++;
          continue;
        }
        // Opened: it must be a byte that does not matter, and the pool must be whole.
        recycle.check();
        expect(modelDifference(recycle, model), `flip at 0x${at.toString(16)} opened`).toBeNull();
        recycle.close();
        verdicts.harmless++;
      }
    }
    console.log(`growth metadata damaged: ${targets.length} bytes × 3 masks: ${verdicts.refused} refused, ${verdicts.harmless} harmless`);
    expect(verdicts.refused).toBeGreaterThan(targets.length * 2);
  });
});

describe('crash exploration of growth', () => {
  const ops = growthOps(`explore:${SEED}`, 20, 100 * 1024);
  /** The model before and after each op, and which op the markers say returned last. */
  const states: GrowthModel[] = (() => { const p = create('memory', 128 * KiB); try { return runOps(p, ops); } finally { p.close(); } })();
  const check = (pool: Pool, markers: Marker[]) => {
    const done = markers.filter((m) => (m.level ?? 1) === 1).length;
    const diffs = [states[done], states[done + 1]].filter(Boolean).map((s) => modelDifference(pool, s));
    if (!diffs.includes(null)) throw new Error(`after ${done} ops returned, the pool is neither before nor after op ${done + 1}: ${diffs.join('; ')}`);
  };
  const opts = {
    name: 'growth', file: 'test/growth.test.ts', size: 128 * KiB, capacity: 2 * MiB, poolSeed: SEED,
    setup: (p: Pool) => { p.root(ROOT_BYTES); },
    workload: (p: Pool, mark: (l: string) => void) => { runOps(p, ops, mark); },
    check,
  };

  it('a workload that grows the pool several times: every persistence point, every mode, one crash', () => {
    const growths = (() => { const p = create('memory', 128 * KiB); runOps(p, ops); const g = p.stats().growths; p.close(); return g; })();
    expect(growths, 'the workload grows the pool several times').toBeGreaterThanOrEqual(3);
    for (const evicts of [true, false]) {
      const r = explore({ ...opts, evicts });
      if (r.failures.length) throw new Error(formatReport(r));
      console.log(`growth (${growths} growths, ${ops.length} ops, evicts ${evicts}): ${r.points} points, ${r.states} states, 0 failures`);
      expect(r.states).toBeGreaterThan(100);
    }
  });

  it('two crashes in a row: crash, recover, grow again, crash again', () => {
    const r = explore({
      ...opts, depth: 2, deeper: { states: 6, points: 12, seed: SEED },
      continue: (p, mark) => { p.alloc(700 * KiB); mark('grown again'); },
      check: (p, markers) => check(p, markers),
    });
    if (r.failures.length) throw new Error(formatReport(r));
    console.log(`growth, depth 2: ${r.levels.map((l) => `level ${l.level}: ${l.states} states (${l.runs} runs)`).join(', ')}`);
    expect(r.levels).toHaveLength(2);
    expect(r.levels[1].states).toBeGreaterThan(0);
  });
});

