// deferred-log.test.ts — the undo log on a cache that only drains write.
//
// Owns the tests of the flush model's ordered flush (flushFirst: early lines
// are made durable by a drain of their own before any other line) and of the
// deferred log built on it (docs/durability.md, "eviction"): a commit costs
// 3 drains whatever it snapshots; the first host call of a drain carries the
// log's entries alone; crash exploration with the cache model that matches
// the backend (evicts: false → strict and pending) finds nothing at depth 2,
// including transactions that drain by hand, allocate, free and abort; and
// the modes that need eviction are refused for that model. The torture test
// (test/torture.test.ts) runs the deferred model on every even seed.

import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  Pool, MemoryBackend, explore, formatReport, InvalidArgumentError, type Backend,
} from '../src/index.js';

const MiB = 1 << 20;
const SEED = Number(process.env.PHEAP_DEFERRED_SEED ?? 20261201);

/** A memory backend whose drains (host calls) are recorded as line lists. */
function recorded(size: number, evicts: boolean): { backend: Backend; calls: number[][] } {
  const inner = new MemoryBackend(size, 'os', undefined, { evicts });
  const calls: number[][] = [];
  const backend: Backend = {
    kind: 'memory', durability: 'os', size, isPmem: false, evicts,
    attach: (memory, base) => inner.attach(memory, base),
    drain(ranges, count, final) {
      const lines: number[] = [];
      for (let i = 0; i < count; i++) for (let l = 0; l < ranges[2 * i + 1]; l++) lines.push(ranges[2 * i] + l);
      calls.push(lines);
      inner.drain(ranges, count, final);
    },
    durableImage: () => inner.durableImage(),
    replaceDurableImage: (image) => inner.replaceDurableImage(image),
    close: () => inner.close(),
  };
  return { backend, calls };
}

describe('drains per transaction', () => {
  it('a commit costs 3 drains whatever it snapshots, allocates or publishes (deferred), 2 + one per snapshot when eager', () => {
    console.log(`reproduce: PHEAP_DEFERRED_SEED=${SEED} npx vitest run test/deferred-log.test.ts -t "3 drains"`);
    fc.assert(fc.property(fc.integer({ min: 1, max: 64 }), fc.constantFrom('none', 'alloc', 'publish'), (ranges, alloc) => {
      const counts: number[] = [];
      for (const evicts of [false, true]) {
        const p = Pool.create({ size: MiB, layout: 'drains', seed: 1, evicts });
        const r = p.root(64 * 64);
        p.free(p.alloc(100)); // the run for this size exists before the measured transaction (making one costs its own drains)
        const d0 = p.stats().drains;
        p.tx((tx) => {
          for (let i = 0; i < ranges; i++) tx.setU32(r + 64 * i, i + 1);
          if (alloc !== 'none') tx.alloc(100, alloc === 'publish' ? { into: r + 8 } : {});
        });
        counts.push(p.stats().drains - d0);
        expect(p.readU32(r + 64 * (ranges - 1))).toBe(ranges);
        p.check();
        p.close();
      }
      expect(counts[0]).toBe(3);
      // eager: one per snapshot, one for the allocator word, one for the published slot, two to commit
      expect(counts[1]).toBe(ranges + 2 + { none: 0, alloc: 1, publish: 2 }[alloc]);
    }), { seed: SEED, numRuns: 40 });
  });

  it('a transaction that logs nothing costs no drain in either model', () => {
    for (const evicts of [false, true]) {
      const p = Pool.create({ size: MiB, layout: 'drains', evicts });
      const d0 = p.stats().drains;
      p.tx(() => 0);
      expect(p.stats().drains - d0).toBe(0);
      p.close();
    }
  });
});

describe('ordered flush', () => {
  it("a drain inside a deferred transaction hands the host the log's entries alone first, then the data with the entry count", () => {
    const { backend, calls } = recorded(MiB, false);
    const p = Pool.create({ backend, size: MiB, layout: 'order', seed: 2 });
    const r = p.root(4096);
    const { logOffset, logBytes } = p.layoutInfo();
    const inLog = (l: number) => l * 64 >= logOffset && l * 64 < logOffset + logBytes;
    p.beginTx();
    for (let i = 0; i < 5; i++) { p.addRange(r + 512 * i, 8); p.writeU64(r + 512 * i, BigInt(i + 1)); }
    calls.length = 0;
    p.flush(r, 4096);
    p.drain(); // by hand, inside the transaction
    expect(calls).toHaveLength(2);
    const [entries, rest] = calls;
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every(inLog)).toBe(true);
    expect(entries).not.toContain(logOffset / 64); // the header line (seq word, count) rides with the data
    expect(rest).toContain(logOffset / 64);
    expect(rest.filter((l) => !inLog(l))).toEqual(Array.from({ length: 4096 / 64 }, (_, i) => r / 64 + i));
    expect(rest.some((l) => entries.includes(l))).toBe(false);
    p.commitTx();
    p.check();
    p.close();
  });

  it('an eager transaction drains each snapshot at once: its drains carry no data line before the entries protecting it', () => {
    const { backend, calls } = recorded(MiB, true);
    const p = Pool.create({ backend, size: MiB, layout: 'order', seed: 2 });
    const r = p.root(64);
    calls.length = 0;
    p.beginTx();
    p.addRange(r, 8);
    expect(calls).toHaveLength(1); // the entry, drained before addRange returns
    p.writeU64(r, 9n);
    p.commitTx();
    expect(calls).toHaveLength(3);
    p.close();
  });
});

/**
 * Three transactions that each add 1 to four counters on four lines, drain
 * by hand (the second), allocate a new object and free the old one; then an
 * aborted one. Run again after a crash (depth 2), it goes on counting.
 */
function workload(pool: Pool, mark: (label: string) => void): void {
  const root = pool.root(256);
  for (let i = 1; i <= 3; i++) {
    pool.tx((tx) => {
      const v = pool.readU32(root) + 1;
      for (let k = 0; k < 4; k++) tx.setU32(root + 64 * k, v);
      if (i === 2) { pool.flush(root, 256); pool.drain(); }
      const old = pool.readU32(root + 240);
      const o = tx.alloc(48, { type: 1 });
      tx.setU32(root + 240, o);
      if (old) tx.free(old);
    });
    mark(`op ${i - 1} returned`);
  }
  try {
    pool.tx((tx) => { tx.setU32(root, 99); tx.alloc(64); throw new Error('abort'); });
  } catch { /* aborted on purpose */ }
  mark('abort returned');
}

/** Every counter equal, at least the transactions that returned (over every run), at most those begun; one live object once counting started. */
function check(pool: Pool, markers: { label: string; level?: number }[]): void {
  const root = pool.root(256);
  const v = pool.readU32(root);
  for (let k = 1; k < 4; k++) expect(pool.readU32(root + 64 * k)).toBe(v);
  const returned = markers.filter((m) => m.label.startsWith('op ')).length;
  const runs = Math.max(1, ...markers.map((m) => m.level ?? 1));
  expect(v).toBeGreaterThanOrEqual(returned);
  expect(v).toBeLessThanOrEqual(3 * runs);
  const objects = [...pool.objects(1)];
  expect(objects).toEqual(v === 0 ? [] : [pool.readU32(root + 240)]);
}

describe('crash exploration with the cache model of the backend', () => {
  it('deferred log (evicts: false, strict and pending): no failure at depth 2', () => {
    const r = explore({ name: 'deferred log', file: 'test/deferred-log.test.ts', evicts: false, workload, check, depth: 2, seed: 5 });
    if (r.failures.length) throw new Error(formatReport(r));
    expect(r.levels).toHaveLength(2);
    expect(r.states).toBeGreaterThan(100);
    console.log(`deferred log, depth 2: ${r.states} states, ${r.drains} drains; per level ${r.levels.map((l) => l.states).join(' + ')}`);
  });

  it('the same workload on the pmem model (eager log, every mode): no failure', () => {
    const r = explore({ name: 'eager log', file: 'test/deferred-log.test.ts', evicts: true, workload, check, seed: 5 });
    if (r.failures.length) throw new Error(formatReport(r));
    console.log(`eager log: ${r.states} states, ${r.drains} drains`);
  });

  it('the deferred log makes fewer drains than the eager one for the same workload', () => {
    const deferred = explore({ name: 'count deferred', evicts: false, workload, check, limit: 1 });
    const eager = explore({ name: 'count eager', evicts: true, workload, check, limit: 1 });
    expect(deferred.drains).toBeLessThan(eager.drains);
  });

  it('modes that need eviction are refused for a cache that only drains write', () => {
    for (const mode of ['evict', 'tear8', 'eadr'] as const) {
      expect(() => explore({ name: 'refused', evicts: false, modes: ['strict', mode], workload, check })).toThrow(InvalidArgumentError);
    }
  });
});

describe('the cache model is the backend\'s, or stricter', () => {
  it('a file pool defers its log; evicts: true makes it eager; a mapping cannot be told it does not evict', () => {
    const p = Pool.create({ size: MiB, layout: 'model' });
    expect(p.info().evicts).toBe(false);
    p.close();
    const q = Pool.create({ size: MiB, layout: 'model', evicts: true });
    expect(q.info().evicts).toBe(true);
    q.close();
    const evicting = { ...recorded(MiB, true).backend };
    expect(() => Pool.create({ backend: evicting, size: MiB, layout: 'model', evicts: false })).toThrow(InvalidArgumentError);
    expect(() => Pool.create({ size: MiB, layout: 'model', evicts: 'yes' as unknown as boolean })).toThrow(InvalidArgumentError);
  });

  it('the same workload gives byte-identical images on memory and file (deferred log) and mapped (eager log)', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pheap-deferred-'));
    try {
      const images: Uint8Array[] = [];
      for (const backend of ['memory', 'file', 'mapped'] as const) {
        const file = path.join(dir, `${backend}.pool`);
        const p = Pool.create({ backend, ...(backend !== 'memory' ? { path: file } : {}), size: MiB, layout: 'same', seed: 9, durability: 'os' });
        workload(p, () => {});
        const root = p.root(256);
        const members = await Promise.allSettled([p.txAsync((tx) => tx.setU32(root + 8, 5)), p.txAsync(() => { throw new Error('member fails'); })]);
        expect(members.map((m) => m.status)).toEqual(['fulfilled', 'rejected']);
        const image = backend === 'memory' ? p.durableImage() : null;
        p.close();
        images.push(image ?? new Uint8Array(fs.readFileSync(file)));
      }
      expect(Buffer.compare(images[0], images[1])).toBe(0);
      expect(Buffer.compare(images[1], images[2])).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
