// The README's examples, run as written (through the package's own entry
// points, `pheap` and `pheap/testing`, i.e. the built dist/ bundles).
// The Node example is taken from README.md itself (its first ts block) and
// run as a Node program twice in one directory: the only change is that its
// `'pheap'` import names the built bundle, since the temp directory has no
// node_modules. The second run must open the pool the first one created.
import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { Pool } from 'pheap';
import { crashTest } from 'pheap/testing';
import { parseExampleRun, readmeNodeExample, REPO } from './helpers/readme.js';

/** The README's Node example, importing the built bundle. */
function nodeExample(): string {
  return readmeNodeExample().replace("from 'pheap'", `from ${JSON.stringify(pathToFileURL(path.join(REPO, 'dist/index.js')).href)}`);
}

describe('README: a Node example', () => {
  it('runs twice on one path: the first run creates the pool, the second opens it with its data', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pheap-readme-'));
    try {
      const script = path.join(dir, 'example.mjs');
      fs.writeFileSync(script, nodeExample());
      const run = () => execFileSync(process.execPath, [script], { cwd: dir, encoding: 'utf8' }).trim();
      const first = parseExampleRun(run());
      const second = parseExampleRun(run());
      expect(first?.[0]).toBe(1);
      expect(second).toEqual([2, first![1]]);
      const again = Pool.open({ path: path.join(dir, 'counters.pool'), layout: 'counters' });
      const r = again.root(64);
      expect([again.readU32(r), again.readU32(again.readU32(r + 8))]).toEqual([2, 42]);
      again.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('README: crash-testing your own code', () => {
  crashTest('a counter survives every crash', {
    setup: (pool) => { pool.root(8); },
    workload: (pool, mark) => {
      const root = pool.root(8);
      for (let i = 1; i <= 3; i++) { pool.tx((tx) => tx.setU32(root, i)); mark(`op ${i - 1} returned`); }
    },
    check: (pool, markers) => expect(pool.readU32(pool.root(8))).toBeGreaterThanOrEqual(markers.length),
  });
});
