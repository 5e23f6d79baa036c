// The README's examples, run as written (through the package's own entry
// points, `pheap` and `pheap/testing`, i.e. the built dist/ bundles).
import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Pool } from 'pheap';
import { crashTest } from 'pheap/testing';

describe('README: a Node example', () => {
  it('runs, and the pool reopens with its data', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pheap-readme-'));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const pool = Pool.create({ path: 'counters.pool', size: 8 << 20, layout: 'counters' });
      const root = pool.root(64);
      pool.tx((tx) => tx.setU32(root, pool.readU32(root) + 1));
      const node = pool.alloc(32, { type: 1, into: root + 8 });
      pool.writeU32(node, 42); pool.persist(node, 4);
      expect([...pool.objects(1)]).toEqual([node]);
      pool.close();
      const again = Pool.open({ path: 'counters.pool', layout: 'counters' });
      const r = again.root(64);
      expect([again.readU32(r), again.readU32(again.readU32(r + 8))]).toEqual([1, 42]);
      again.close();
    } finally {
      process.chdir(cwd);
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
