// open-or-create.test.ts — Pool.openOrCreate (src/pool.ts): open the pool at
// a path if there is one, else create it, race-free.
//
// Owns these checks:
//   - any number of runs on one path: the first creates, every later one
//     opens the same pool (its data, its recorded size, its open count);
//   - a racing creator: simulated in-process (a backend whose create finds
//     the path taken by another creator just before it: PoolExistsError must
//     become an open of that pool), and real child processes racing on one
//     path, each adding 1 to one counter: no run is lost, no pool replaced;
//   - a file at the path that is not a pool (random bytes, a truncated or
//     damaged pool, a directory, a dangling symlink) is refused with a typed
//     error and left byte-identical; nothing is created beside it;
//   - a pool made with another layout name is LayoutMismatchError, untouched;
//   - bad arguments and memory pools are typed errors before any file is touched.
// Random cases come from fast-check with a fixed seed (PHEAP_OOC_SEED), and
// child races from a Prng with the same seed; the reproducing line is printed.

import { describe, it, expect, beforeAll } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  Pool, Prng, registerBackend, FileBackend, MemoryBackend, MIN_POOL_SIZE, CHUNK_SIZE, PheapError,
  NotAPoolError, LayoutMismatchError, InvalidArgumentError, InvalidSizeError,
  UnsupportedOperationError, TruncatedPoolError, PoolNotFoundError, PoolLockedError,
} from '../src/index.js';
import { useTempDir, sha256File, dirListing, thrown } from './helpers/pool-files.js';

const SEED = Number(process.env.PHEAP_OOC_SEED ?? 20261201);
const tmp = useTempDir('pheap-ooc-');
const repo = fileURLToPath(new URL('..', import.meta.url));
const LAYOUT = 'ooc';

beforeAll(() => {
  console.log(`reproduce: PHEAP_OOC_SEED=${SEED} npx vitest run test/open-or-create.test.ts`);
});

/** One run of a program that uses openOrCreate: add 1 to the counter in the root, return the pool's figures. */
function runOnce(file: string, size: number, backend: 'file' | 'mapped'): { count: number; size: number; opens: number } {
  const pool = Pool.openOrCreate({ path: file, size, layout: LAYOUT, backend, durability: 'none' });
  try {
    const root = pool.root(8);
    pool.tx((tx) => tx.setU32(root, pool.readU32(root) + 1));
    return { count: pool.readU32(root), size: pool.stats().size, opens: pool.stats().openCount };
  } finally {
    pool.close();
  }
}

/** A pool size openOrCreate accepts: 2..8 chunks of 64 KiB. */
const sizeArb = fc.integer({ min: MIN_POOL_SIZE / CHUNK_SIZE, max: 8 }).map((n) => n * CHUNK_SIZE);

describe('Pool.openOrCreate: create, then open', () => {
  it('the first run creates, every later run opens the same pool (its data, its recorded size)', () => {
    fc.assert(fc.property(fc.array(sizeArb, { minLength: 1, maxLength: 4 }), fc.constantFrom('file' as const, 'mapped' as const), (sizes, backend) => {
      const file = tmp.file();
      const runs = sizes.map((size) => runOnce(file, size, backend));
      expect(runs.map((r) => r.count)).toEqual(sizes.map((_, i) => i + 1));
      expect(runs.every((r) => r.size === sizes[0])).toBe(true); // size only matters when creating
      for (let i = 1; i < runs.length; i++) expect(runs[i].opens).toBe(runs[i - 1].opens + 1);
    }), { numRuns: 12, seed: SEED });
  });

  it('opening runs recovery: a transaction left open in the file is rolled back', () => {
    const file = tmp.file();
    runOnce(file, MIN_POOL_SIZE, 'file');
    const pool = Pool.openOrCreate({ path: file, size: MIN_POOL_SIZE, layout: LAYOUT, backend: 'file' });
    const root = pool.root(8);
    pool.beginTx();
    pool.addRange(root, 4);
    pool.writeU32(root, 99);
    pool.persist(root, 4);
    pool.close(); // the transaction is left open in the file, its snapshot in the undo log
    const again = Pool.openOrCreate({ path: file, size: MIN_POOL_SIZE, layout: LAYOUT, backend: 'file' });
    expect(again.readU32(again.root(8))).toBe(1);
    again.close();
  });
});

describe('Pool.openOrCreate: a racing creator', () => {
  /** Creates done through the 'opfs' slot (unused in Node), which this file fills with a racing file opener. */
  let creates = 0;
  beforeAll(() => {
    registerBackend('opfs', {
      create: (file, size, durability) => {
        creates++;
        const other = Pool.create({ path: file, size, layout: LAYOUT, backend: 'file' }); // the other process wins
        other.writeU32(other.root(8), 0xfeed);
        other.persist(other.root(8), 4);
        other.close();
        return FileBackend.create(file, size, durability); // exclusive: PoolExistsError
      },
      open: (file, durability) => FileBackend.open(file, durability),
    });
  });

  it('PoolExistsError from its own create means "open it now": the other creator\'s pool is opened', () => {
    const file = tmp.file();
    const pool = Pool.openOrCreate({ path: file, size: MIN_POOL_SIZE, layout: LAYOUT, backend: 'opfs' });
    expect(creates).toBe(1);
    expect(pool.readU32(pool.root(8))).toBe(0xfeed);
    pool.close();
    expect(dirListing(path.dirname(file)).filter((n) => n.includes('pheap-new'))).toEqual([]);
  });

  it('a pool the other creator still holds is PoolLockedError, and its file is untouched', () => {
    const file = tmp.file();
    const holder = Pool.create({ path: file, size: MIN_POOL_SIZE, layout: LAYOUT, backend: 'file', durability: 'none' });
    const before = sha256File(file);
    expect(thrown(() => Pool.openOrCreate({ path: file, size: MIN_POOL_SIZE, layout: LAYOUT, backend: 'file' }))).toBeInstanceOf(PoolLockedError);
    expect(sha256File(file)).toBe(before);
    holder.close();
  });

  it('child processes racing on one path lose no run and replace no pool', async () => {
    const prng = new Prng(SEED);
    const rounds = 2, children = 4;
    let waited = 0;
    for (let r = 0; r < rounds; r++) {
      const file = tmp.file('race');
      const startAt = Date.now() + 700;
      const outs = await Promise.all(Array.from({ length: children }, () => runChild(file, startAt + prng.below(4))));
      for (const out of outs) expect(out, `child output: ${out}`).toMatch(/^ok \d+$/);
      waited += outs.filter((out) => out !== 'ok 0').length;
      const pool = Pool.open({ path: file, layout: LAYOUT });
      expect(pool.readU32(pool.root(8)), `round ${r}`).toBe(children);
      pool.close();
    }
    console.log(`openOrCreate race: ${rounds} rounds x ${children} processes on one path, ${waited} of them waited for another's lock`);
  }, 60_000);
});

/** The child: wait for `startAt` (ms since the epoch), openOrCreate (retrying while another child holds the pool), add 1, close. */
const CHILD = `
import { Pool, PoolLockedError, PheapError } from ${JSON.stringify(path.join(repo, 'dist/index.js'))};
const [file, startAt, size, layout] = process.argv.slice(1);
while (Date.now() < Number(startAt)) { /* spin: every child starts at the same instant */ }
const wait = new Int32Array(new SharedArrayBuffer(4));
for (let tries = 0; ; tries++) {
  let pool;
  try {
    pool = Pool.openOrCreate({ path: file, size: Number(size), layout, durability: 'none' });
  } catch (e) {
    if (e instanceof PoolLockedError && tries < 2000) { Atomics.wait(wait, 0, 0, 2); continue; }
    console.log(e instanceof PheapError ? 'typed ' + e.name + ': ' + e.message : 'untyped ' + e);
    process.exit(0);
  }
  const root = pool.root(8);
  pool.tx((tx) => tx.setU32(root, pool.readU32(root) + 1));
  pool.close();
  console.log('ok ' + tries);
  break;
}
`;

function runChild(file: string, startAt: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, file, String(startAt), String(MIN_POOL_SIZE), LAYOUT], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('exit', () => resolve(out.trim()));
  });
}

describe('Pool.openOrCreate: what is there but is not this pool is refused, untouched', () => {
  /** openOrCreate on `file` must throw `cls`, leave the file byte-identical and make nothing beside it. */
  function refusedUntouched(file: string, cls: new (...a: never[]) => PheapError): void {
    const listing = dirListing(path.dirname(file));
    const before = fs.statSync(file).isFile() ? sha256File(file) : null;
    expect(thrown(() => Pool.openOrCreate({ path: file, size: MIN_POOL_SIZE, layout: LAYOUT, backend: 'file' }))).toBeInstanceOf(cls);
    if (before !== null) expect(sha256File(file)).toBe(before);
    expect(dirListing(path.dirname(file))).toEqual(listing);
  }

  it('a file of other bytes (random, any length, empty included) is NotAPoolError', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 9000 }), (bytes) => {
      const file = tmp.file('junk', '.bin');
      fs.writeFileSync(file, bytes);
      refusedUntouched(file, NotAPoolError);
    }), { numRuns: 25, seed: SEED });
  });

  it('a directory at the path is NotAPoolError', () => {
    const dir = tmp.file('dir', '');
    fs.mkdirSync(dir);
    refusedUntouched(dir, NotAPoolError);
  });

  it('a dangling symlink is not followed to create a pool: PoolNotFoundError, nothing made at either end', () => {
    const link = tmp.file('dangling');
    const target = tmp.file('target');
    fs.symlinkSync(target, link);
    const listing = dirListing(tmp.dir);
    expect(thrown(() => Pool.openOrCreate({ path: link, size: MIN_POOL_SIZE, layout: LAYOUT, backend: 'file' }))).toBeInstanceOf(PoolNotFoundError);
    expect(dirListing(tmp.dir)).toEqual(listing);
    expect(fs.readlinkSync(link)).toBe(target);
  });

  it('a truncated pool is TruncatedPoolError and a damaged header a typed refusal: never recreated', () => {
    fc.assert(fc.property(fc.integer({ min: 8, max: 4095 }), fc.integer({ min: 0, max: 4095 }), (keep, flip) => {
      const truncated = tmp.file();
      runOnce(truncated, MIN_POOL_SIZE, 'file');
      fs.truncateSync(truncated, MIN_POOL_SIZE - keep);
      refusedUntouched(truncated, TruncatedPoolError);
      const damaged = tmp.file();
      runOnce(damaged, MIN_POOL_SIZE, 'file');
      const bytes = fs.readFileSync(damaged);
      bytes[8 + (flip % 0xf0)] ^= 0xff; // inside the checksummed header, past the magic
      fs.writeFileSync(damaged, bytes);
      refusedUntouched(damaged, PheapError);
    }), { numRuns: 6, seed: SEED });
  });

  it('a pool made with another layout name is LayoutMismatchError', () => {
    const name = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes('\0'));
    fc.assert(fc.property(name, name, (made, asked) => {
      fc.pre(made !== asked);
      const file = tmp.file();
      Pool.create({ path: file, size: MIN_POOL_SIZE, layout: made, backend: 'file', durability: 'none' }).close();
      const listing = dirListing(path.dirname(file));
      const before = sha256File(file);
      expect(thrown(() => Pool.openOrCreate({ path: file, size: MIN_POOL_SIZE, layout: asked, backend: 'file' }))).toBeInstanceOf(LayoutMismatchError);
      expect(sha256File(file)).toBe(before);
      expect(dirListing(path.dirname(file))).toEqual(listing);
    }), { numRuns: 8, seed: SEED });
  });
});

describe('Pool.openOrCreate: bad arguments and memory pools', () => {
  const ok = () => ({ path: tmp.file(), size: MIN_POOL_SIZE, layout: LAYOUT });
  const cases: [string, () => unknown, new (...a: never[]) => PheapError][] = [
    ['no options', () => undefined, InvalidArgumentError],
    ['options that are not an object', () => 'x.pool', InvalidArgumentError],
    ['an unknown option', () => ({ ...ok(), create: true }), InvalidArgumentError],
    ['an OpenOptions-only option', () => ({ ...ok(), image: new Uint8Array(8) }), InvalidArgumentError],
    ['no path (a memory pool)', () => ({ size: MIN_POOL_SIZE, layout: LAYOUT }), UnsupportedOperationError],
    ['an empty path', () => ({ ...ok(), path: '' }), UnsupportedOperationError],
    ['a path that is not a string', () => ({ ...ok(), path: 7 }), UnsupportedOperationError],
    ["the 'memory' backend", () => ({ ...ok(), backend: 'memory' }), UnsupportedOperationError],
    ['a ready Backend', () => ({ ...ok(), backend: new MemoryBackend(MIN_POOL_SIZE, 'os') }), UnsupportedOperationError],
    ['an unknown backend', () => ({ ...ok(), backend: 'tape' }), UnsupportedOperationError],
    ['a maxSize below the size', () => ({ ...ok(), size: 2 * MIN_POOL_SIZE, maxSize: MIN_POOL_SIZE }), InvalidSizeError],
    ['a maxSize that is a string', () => ({ ...ok(), maxSize: '1048576' }), InvalidArgumentError],
    ['a maxSize off the 64 KiB grid', () => ({ ...ok(), maxSize: 2 * MIN_POOL_SIZE + 1 }), InvalidSizeError],
    ['a size that is a string', () => ({ ...ok(), size: '131072' }), InvalidArgumentError],
    ['a size below the minimum', () => ({ ...ok(), size: CHUNK_SIZE }), InvalidSizeError],
    ['a size off the 64 KiB grid', () => ({ ...ok(), size: MIN_POOL_SIZE + 1 }), InvalidSizeError],
    ['a layout that is not a string', () => ({ ...ok(), layout: 123 }), InvalidArgumentError],
    ['a layout name too long', () => ({ ...ok(), layout: 'x'.repeat(64) }), InvalidSizeError],
    ['an unknown durability', () => ({ ...ok(), durability: 'eventually' }), InvalidArgumentError],
    ['a seed that is an object', () => ({ ...ok(), seed: {} }), InvalidArgumentError],
    ['a debug flag that is a string', () => ({ ...ok(), debug: 'yes' }), InvalidArgumentError],
  ];

  it.each(cases)('%s is a typed error and creates nothing', (_, make, cls) => {
    const opts = make();
    const listing = dirListing(tmp.dir);
    expect(thrown(() => Pool.openOrCreate(opts as never))).toBeInstanceOf(cls);
    expect(dirListing(tmp.dir)).toEqual(listing);
  });

  it('bad arguments are refused even when the pool exists, which stays byte-identical', () => {
    const file = tmp.file();
    runOnce(file, MIN_POOL_SIZE, 'file');
    const before = sha256File(file);
    for (const [name, make, cls] of cases) {
      const opts = make();
      const aimed = typeof opts === 'object' && opts !== null && 'path' in opts && typeof opts.path === 'string' && opts.path !== '' ? { ...opts, path: file } : opts;
      expect(thrown(() => Pool.openOrCreate(aimed as never)), name).toBeInstanceOf(cls);
    }
    expect(sha256File(file)).toBe(before);
  });
});
