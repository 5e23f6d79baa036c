// kill-growth.test.ts — real processes killed (SIGKILL) while their pools grow.
//
// Owns the end-to-end check of crash-atomic growth (docs/format.md,
// "Growth") against a real SIGKILL: a child process opens or creates a
// pool of 128 KiB (maxSize 64 MiB) on the file or mapped backend and loops:
// allocate object n (its size from a seeded list the parent made, 1 KiB to
// ~300 KiB), fill it with pattern(size, n), persist it, publish it in one
// transaction (its offset in root slot n, the counter at root+0 set to n),
// then print `ok n size growths`. A young pool grows every few objects
// (128 KiB → 64 MiB is nine growths), so the child is SIGKILLed at a seeded
// moment in its first DELAY_MS after `ready` (by a killer process it starts:
// its own loop never yields, and the parent is busy checking other lanes'
// pools). LANES children per backend run at once. Every file is killed
// twice: once fresh, once after the child reopened it (recovery ran, and
// the bytes an interrupted growth left past the committed size are grown
// over). After each kill the parent reopens the pool and checks:
//   - it opens (no typed error) and pool.check() passes;
//   - the counter is at least the last printed n, and every object up to
//     the counter is live with its exact bytes; the slot past it is empty;
//   - the pool is at least as large, with at least as many growths, as the
//     last printed line said; the file is at least the pool's size.
// It counts kills mid-growth: the file longer than the pool (killed after
// the storage was extended, before the grown word committed it), and kills
// whose reopened pool had grown past the last printed line (the growth
// committed, the object's line not printed yet). Kill times and object
// sizes come from seeded Prngs, one per lane (PHEAP_KILL_SEED); the test prints the
// line that reproduces the run. Durability 'os': a killed process leaves
// every write it made in the page cache.

import { describe, it, expect, beforeAll } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Pool, Prng } from '../src/index.js';
import { pattern } from './helpers/growth-workload.js';
import { useTempDir } from './helpers/pool-files.js';
import { REPO } from './helpers/readme.js';

const KiB = 1024;
const SEED = Number(process.env.PHEAP_KILL_SEED ?? 20261203);
const KILLS = Number(process.env.PHEAP_KILLS ?? 200);
const KILLS_PER_FILE = 2;
const LANES = 3; // children alive at once per backend: a child spends most of its life starting node, not growing
const DELAY_MS = 150; // the kill lands this soon after `ready`: the pool is young (≤ ~30 MiB), growing every few objects
const LAYOUT = 'kill-growth';
const OBJECTS = 1024; // root slots; 64 MiB of objects of ~150 KiB on average is fewer
const ROOT_BYTES = 4 + 4 * OBJECTS;
const START_SIZE = 128 * KiB;
const MAX_SIZE = 64 << 20;
const tmp = useTempDir('pheap-kill-growth-');
let child = '';

/**
 * The child: open or create the pool, start a killer that SIGKILLs it
 * `delayMs` after `ready` (a process of its own: the loop below never
 * yields, and the parent's event loop is busy verifying other lanes), then
 * allocate, fill, persist and publish objects; `ok n size growths` after each.
 */
const CHILD = (lib: string) => `
import { Pool, OutOfSpaceError } from ${JSON.stringify(lib)};
import { spawn } from 'node:child_process';
const pattern = ${pattern.toString()};
const [file, backend, sizeList, delayMs] = process.argv.slice(2);
const sizes = sizeList.split(',').map(Number);
const pool = Pool.openOrCreate({ path: file, backend, size: ${START_SIZE}, maxSize: ${MAX_SIZE}, layout: ${JSON.stringify(LAYOUT)}, durability: 'os' });
const root = pool.root(${ROOT_BYTES});
spawn('sh', ['-c', 'sleep ' + Number(delayMs) / 1000 + '; kill -KILL ' + process.pid], { stdio: 'ignore' });
process.stdout.write('ready\\n');
for (let n = pool.readU32(root) + 1; n <= ${OBJECTS}; n++) {
  const size = sizes[n - 1];
  let off;
  try { off = pool.alloc(size); } catch (e) {
    if (!(e instanceof OutOfSpaceError)) throw e;
    process.stdout.write('full\\n');
    await new Promise(() => setInterval(() => {}, 1000)); // the pool reached maxSize: wait for the kill
  }
  pool.writeBytes(off, pattern(size, n));
  pool.persist(off, size);
  pool.tx((tx) => { tx.setU32(root + 4 * n, off); tx.setU32(root, n); });
  process.stdout.write('ok ' + n + ' ' + pool.size + ' ' + pool.stats().growths + '\\n');
}
`;

beforeAll(() => {
  child = path.join(tmp.dir, 'growth-writer.mjs');
  fs.writeFileSync(child, CHILD(pathToFileURL(path.join(REPO, 'dist', 'index.js')).href));
});

/** What the child last printed: object n published, the pool's size and growths then (zeros before any line). */
interface Printed { n: number; size: number; growths: number }

/** Object sizes 1 KiB .. ~300 KiB, seeded (the child gets the list, the parent checks against it). */
function objectSizes(rng: Prng): number[] {
  return Array.from({ length: OBJECTS }, () => KiB + rng.below(300 * KiB));
}

/** Run the child on `file`, killed `delayMs` after its ready line; resolves with its last `ok` line and whether it reached maxSize. */
function runAndKill(file: string, backend: string, sizes: number[], delayMs: number): Promise<Printed & { full: boolean }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, file, backend, sizes.join(','), String(delayMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let last: Printed = { n: 0, size: 0, growths: 0 };
    let full = false;
    p.stdout.on('data', (d: Buffer) => {
      out += d;
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const l of lines) {
        if (l === 'full') full = true;
        else if (l.startsWith('ok ')) { const [, n, size, growths] = l.split(' ').map(Number); last = { n, size, growths }; }
      }
    });
    p.stderr.on('data', (d: Buffer) => { err += d; });
    p.on('close', (code, signal) => (signal === 'SIGKILL' ? resolve({ ...last, full }) : reject(new Error(`child was not killed (exit ${code}): ${err}`))));
  });
}

/** What a reopened pool showed. */
interface Seen { counter: number; size: number; growths: number; fileSize: number }

/** Reopen (recovery runs), check, and compare with what the child printed; returns what the pool holds. */
function verify(file: string, backend: 'file' | 'mapped', sizes: number[], printed: Printed, label: string): Seen {
  const fileSize = fs.statSync(file).size; // before open: what the killed child left
  const pool = Pool.open({ path: file, backend, layout: LAYOUT, maxSize: MAX_SIZE });
  try {
    pool.check();
    const root = pool.root(ROOT_BYTES);
    const counter = pool.readU32(root);
    const { size, growths } = pool.stats();
    expect(counter, `${label}: an object whose line was printed is missing`).toBeGreaterThanOrEqual(printed.n);
    expect(size, `${label}: the pool is smaller than printed`).toBeGreaterThanOrEqual(printed.size);
    expect(growths, `${label}: fewer growths than printed`).toBeGreaterThanOrEqual(printed.growths);
    expect(fileSize, `${label}: the file is shorter than the pool`).toBeGreaterThanOrEqual(size);
    for (let n = 1; n <= counter; n++) {
      const off = pool.readU32(root + 4 * n);
      expect(off !== 0 && pool.isLive(off), `${label}: object ${n} (counter ${counter}) is lost`).toBe(true);
      const same = Buffer.from(pool.readBytes(off, sizes[n - 1])).equals(pattern(sizes[n - 1], n));
      expect(same, `${label}: object ${n} at ${off} has other bytes`).toBe(true);
    }
    if (counter < OBJECTS) expect(pool.readU32(root + 4 * (counter + 1)), `${label}: slot past the counter`).toBe(0);
    return { counter, size, growths, fileSize };
  } finally {
    pool.close();
  }
}

/** The figures of a run of kills. */
interface Tally { kills: number; full: number; growths: number; extended: number; grewUnprinted: number; verified: number }

/** One lane: `kills` kills, KILLS_PER_FILE on each fresh file, with its own seeded sizes and delays; adds its figures to `tally`. */
async function lane(backend: 'file' | 'mapped', rng: Prng, kills: number, tally: Tally): Promise<void> {
  let file = '';
  let sizes: number[] = [];
  let before: Seen = { counter: 0, size: 0, growths: 0, fileSize: 0 };
  for (let k = 0; k < kills; k++) {
    if (k % KILLS_PER_FILE === 0) {
      if (file) fs.rmSync(file);
      file = tmp.file(`grow-${backend}`);
      sizes = objectSizes(rng);
      before = { counter: 0, size: 0, growths: 0, fileSize: 0 };
    }
    const label = `${backend} ${path.basename(file)} kill ${k % KILLS_PER_FILE}`;
    const printed = await runAndKill(file, backend, sizes, rng.below(DELAY_MS));
    const seen = verify(file, backend, sizes, printed, label);
    expect(seen.counter, `${label}: the counter went back`).toBeGreaterThanOrEqual(before.counter);
    expect(seen.growths, `${label}: growths went back`).toBeGreaterThanOrEqual(before.growths);
    tally.kills++;
    if (printed.full) tally.full++;
    if (seen.fileSize > seen.size && seen.fileSize > before.fileSize) tally.extended++; // not one a previous kill of this file left
    if (seen.growths > Math.max(printed.growths, before.growths)) tally.grewUnprinted++;
    tally.growths += seen.growths - before.growths;
    tally.verified += seen.counter;
    before = seen;
  }
  if (file) fs.rmSync(file);
}

describe('SIGKILL while a pool grows', () => {
  for (const backend of ['file', 'mapped'] as const) {
    it(`${backend}: ${KILLS} kills of young pools; every published object survives, recovery and the next growth see a whole pool`, async () => {
      console.log(`reproduce: PHEAP_KILL_SEED=${SEED} PHEAP_KILLS=${KILLS} npx vitest run test/kill-growth.test.ts -t ${backend}`);
      const tally: Tally = { kills: 0, full: 0, growths: 0, extended: 0, grewUnprinted: 0, verified: 0 };
      const perLane = Math.ceil(KILLS / LANES / KILLS_PER_FILE) * KILLS_PER_FILE;
      await Promise.all(Array.from({ length: LANES }, (_, i) => lane(backend, new Prng(`${SEED}:${backend}:${i}`), perLane, tally)));
      const { kills, full, growths, extended, grewUnprinted, verified } = tally;
      console.log(`${backend}: ${kills} kills, ${growths} growths, ${extended + grewUnprinted} kills mid-growth (${extended} with the file extended but the growth not committed, ${grewUnprinted} after a growth committed, before its object's line), ${verified} objects verified, ${full} children reached maxSize before their kill`);
      expect(kills).toBeGreaterThanOrEqual(KILLS);
      expect(growths).toBeGreaterThan(kills); // the children grew their pools between kills
      expect(extended, 'no kill landed inside a growth').toBeGreaterThan(0);
    }, 600_000);
  }
});
