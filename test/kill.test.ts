// kill.test.ts — real processes killed (SIGKILL) in the middle of group commits.
//
// Owns the end-to-end check of what the crash explorer models: a child
// process commits batches of txAsync() members in a loop on a file pool —
// the deferred undo log: every drain of a commit is two pwrite rounds, the
// entries first — or on a mapped pool (the eager log: stores land in the
// page cache at once), printing `committed b` after each batch's promises
// resolved. The parent kills it with SIGKILL at a random moment, reopens
// the pool (recovery runs) and checks:
//   - every batch whose `committed` line was printed is there;
//   - batches are whole and in order: batch b is there iff b ≤ the counter;
//   - the member of each batch that threw left nothing.
// The kill times come from one seeded Prng (PHEAP_KILL_SEED); the test
// prints the line that reproduces the run. What it cannot see: the order in
// which one drain's lines reach the device. A killed process leaves every
// pwrite it made in the page cache, and a drain writes its ranges in address
// order (the log lies below the heap), so a deferred log that forgot to
// drain its entries first still passes here (checked by hand with 150
// kills); the crash explorer, which keeps any subset of a drain's lines,
// is the test of that (test/deferred-log.test.ts).

import { describe, it, expect, beforeAll } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Pool, Prng } from '../src/index.js';
import { useTempDir } from './helpers/pool-files.js';
import { REPO } from './helpers/readme.js';

const SEED = Number(process.env.PHEAP_KILL_SEED ?? 20261201);
const KILLS = Number(process.env.PHEAP_KILLS ?? 40);
const LAYOUT = 'kill';
const SLOTS = 3; // per batch: member 0 (the counter and a slot), member 1 (throws), member 2 (a slot)
const BATCHES = 20000;
const tmp = useTempDir('pheap-kill-');
let child = '';

/** The child: commit batches until killed; `committed b` after each. */
const CHILD = (lib: string) => `
import { Pool } from ${JSON.stringify(lib)};
const [file, backend] = process.argv.slice(2);
const pool = Pool.openOrCreate({ path: file, backend, size: 2 << 20, layout: ${JSON.stringify(LAYOUT)}, durability: 'os' });
const root = pool.root(8);
let table = pool.readU32(root + 4);
if (table === 0) { table = pool.alloc(${4 * SLOTS * BATCHES}, { zero: true, into: root + 4 }); }
process.stdout.write('ready\\n');
for (let b = pool.readU32(root) + 1; b <= ${BATCHES}; b++) {
  const at = table + ${4 * SLOTS} * (b - 1);
  const members = [
    pool.txAsync((tx) => { tx.setU32(at, b); tx.setU32(root, b); }),
    pool.txAsync((tx) => { tx.setU32(at + 4, b); throw new Error('member fails'); }).catch(() => {}),
    pool.txAsync((tx) => { tx.setU32(at + 8, b); }),
  ];
  await Promise.all(members);
  process.stdout.write('committed ' + b + '\\n');
}
pool.close();
`;

beforeAll(() => {
  child = path.join(tmp.dir, 'batch-writer.mjs');
  fs.writeFileSync(child, CHILD(pathToFileURL(path.join(REPO, 'dist', 'index.js')).href));
});

/** Run the child on `file`, kill it after `delayMs` from its ready line; resolves with the last batch it printed as committed. */
function runAndKill(file: string, backend: string, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, file, backend], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let last = 0;
    p.stdout.on('data', (d: Buffer) => {
      out += d;
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const l of lines) {
        if (l === 'ready') setTimeout(() => p.kill('SIGKILL'), delayMs);
        else last = Number(l.slice('committed '.length));
      }
    });
    p.stderr.on('data', (d: Buffer) => { err += d; });
    p.on('exit', (code, signal) => (signal === 'SIGKILL' || code === 0 ? resolve(last) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

/** Open the pool (recovery runs) and check the invariants in the header; returns the counter. */
function verify(file: string, backend: string, printed: number, label: string): number {
  const pool = Pool.open({ path: file, backend: backend as 'file', layout: LAYOUT });
  try {
    pool.check();
    const root = pool.root(8);
    const counter = pool.readU32(root);
    const table = pool.readU32(root + 4);
    expect(counter, `${label}: a batch whose promises resolved is missing`).toBeGreaterThanOrEqual(printed);
    if (table === 0) { expect(counter).toBe(0); return 0; }
    for (let b = 1; b <= Math.min(counter + 2, BATCHES); b++) {
      const at = table + 4 * SLOTS * (b - 1);
      const got = [pool.readU32(at), pool.readU32(at + 4), pool.readU32(at + 8)];
      expect(got, `${label}: batch ${b} with counter ${counter}`).toEqual(b <= counter ? [b, 0, b] : [0, 0, 0]);
    }
    return counter;
  } finally {
    pool.close();
  }
}

describe('SIGKILL during group commits', () => {
  for (const backend of ['file', 'mapped'] as const) {
    it(`${backend}: ${KILLS} kills; every batch that resolved survives, batches are whole and in order`, async () => {
      console.log(`reproduce: PHEAP_KILL_SEED=${SEED} PHEAP_KILLS=${KILLS} npx vitest run test/kill.test.ts -t ${backend}`);
      const rng = new Prng(`${SEED}:${backend}`);
      const file = tmp.file(`kill-${backend}`);
      let counter = 0;
      let midBatch = 0;
      let kills = 0;
      for (; kills < KILLS; kills++) {
        const printed = await runAndKill(file, backend, rng.below(40));
        const now = verify(file, backend, printed, `${backend} kill ${kills}`);
        if (now > printed) midBatch++; // killed after a commit, before its line was printed
        expect(now).toBeGreaterThanOrEqual(counter);
        counter = now;
      }
      console.log(`${backend}: ${kills} kills, ${counter} batches committed, ${midBatch} kills between a batch's commit and its line`);
      expect(kills).toBe(KILLS);
      expect(counter).toBeGreaterThan(KILLS); // the children got work done between kills
      expect(counter).toBeLessThan(BATCHES); // and were always killed before the end
    }, 300_000);
  }
});
