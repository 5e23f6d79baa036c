// group-commit.test.ts — Pool.txAsync(): many transactions, one commit protocol.
//
// Owns the tests of group commit (src/group.ts, the core's savepoints):
// a batch costs one commit protocol (3 drains on the deferred log) however
// many transactions it holds; a member that throws — or whose nested tx()
// aborts — is rolled back alone (snapshots and allocations), the rest
// commit; promises resolve only once their batch is durable; tx()/beginTx()
// at the top level, close() and commitBatch() commit the open batch first;
// batch limits; crash() rejects the open batch. A fast-check model runs
// random batches with failing members; crash exploration (both cache
// models, two crashes deep) checks that batches are all-or-nothing, in
// order, and that every batch whose commit returned survives.

import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Pool, explore, formatReport, PoolClosedError, TxAbortedError, TxStateError, InvalidArgumentError } from '../src/index.js';

const MiB = 1 << 20;
const SEED = Number(process.env.PHEAP_GROUP_SEED ?? 20261201);
const u32At = (image: Uint8Array, off: number) => new DataView(image.buffer, image.byteOffset).getUint32(off, true);

describe('txAsync: one commit protocol per batch', () => {
  it('a batch of 200 transactions with failing members, several on one slot, costs 3 drains; failures roll back alone; promises resolve once durable', async () => {
    const p = Pool.create({ size: 4 * MiB, layout: 'group', seed: 1 });
    const r = p.root(1024);
    p.free(p.alloc(48)); // the run for this size exists already (making one costs drains of its own)
    const live0 = p.stats().heap.liveObjects;
    const d0 = p.stats().drains;
    const durableAtResolve: number[] = [];
    const all = Array.from({ length: 200 }, (_, i) => p.txAsync((tx) => {
      tx.setU32(r + 4 * i, i + 1);
      tx.setU32(r + 800, i + 1); // every member writes this slot too: the last one that succeeded wins
      tx.alloc(48, { type: 7 });
      if (i % 7 === 3) throw new Error(`member ${i} fails`);
      return i;
    }).then((v) => { durableAtResolve.push(u32At(p.durableImage(), r + 4 * v)); return v; }));
    expect(p.readU32(r)).toBe(1); // visible at once, before the commit
    const out = await Promise.allSettled(all);
    expect(p.stats().drains - d0).toBe(3);
    const failed = out.flatMap((o, i) => (o.status === 'rejected' ? [i] : []));
    expect(failed).toEqual(Array.from({ length: 200 }, (_, i) => i).filter((i) => i % 7 === 3));
    for (const i of failed) expect(((out[i] as PromiseRejectedResult).reason as Error).message).toBe(`member ${i} fails`);
    expect(durableAtResolve).toEqual(out.flatMap((o) => (o.status === 'fulfilled' ? [o.value + 1] : [])));
    for (let i = 0; i < 200; i++) expect(p.readU32(r + 4 * i), `slot ${i}`).toBe(i % 7 === 3 ? 0 : i + 1);
    expect(p.readU32(r + 800)).toBe(199); // member 199 failed (199 % 7 = 3): the last that succeeded is 198
    expect(p.stats().heap.liveObjects - live0).toBe(200 - failed.length); // failed members' allocations released
    p.check();
    p.close();
  });

  it("a member whose nested tx() aborts gets TxAbortedError; its batch's others commit", async () => {
    const p = Pool.create({ size: MiB, layout: 'group', seed: 2 });
    const r = p.root(64);
    const res = await Promise.allSettled([
      p.txAsync((tx) => { tx.setU32(r, 1); }),
      p.txAsync((tx) => { tx.setU32(r + 4, 2); try { p.tx(() => { throw new Error('inner'); }); } catch { /* swallowed */ } }),
      p.txAsync((tx) => { tx.setU32(r + 8, 3); }),
    ]);
    expect(res.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((res[1] as PromiseRejectedResult).reason).toBeInstanceOf(TxAbortedError);
    expect([p.readU32(r), p.readU32(r + 4), p.readU32(r + 8)]).toEqual([1, 0, 3]);
    p.check();
    p.close();
  });

  it('tx() and beginTx() at the top level, commitBatch() and close() commit the open batch first; inside a member tx() nests and txAsync() is refused', async () => {
    const p = Pool.create({ size: MiB, layout: 'group', seed: 3 });
    const r = p.root(64);
    const a = p.txAsync((tx) => { tx.setU32(r, 1); return 'a'; });
    const d0 = p.stats().drains;
    p.tx((tx) => tx.setU32(r + 4, 2)); // commits the batch (3 drains), then itself (3)
    expect(p.stats().drains - d0).toBe(6);
    expect(await a).toBe('a');
    const b = p.txAsync((tx) => { tx.setU32(r + 8, 3); p.tx((inner) => inner.setU32(r + 12, 4)); return 'b'; });
    p.beginTx(); p.addRange(r + 16, 4); p.writeU32(r + 16, 5); p.commitTx();
    expect(await b).toBe('b');
    let nested: unknown;
    await p.txAsync(() => { p.txAsync(() => 0).catch((e: unknown) => { nested = e; }); });
    expect(nested).toBeInstanceOf(TxStateError);
    const c = p.txAsync((tx) => { tx.setU32(r + 20, 6); return 'c'; });
    p.commitBatch();
    expect(u32At(p.durableImage(), r + 20)).toBe(6);
    expect(await c).toBe('c');
    const d = p.txAsync((tx) => { tx.setU32(r + 24, 7); return 'd'; });
    p.close();
    expect(await d).toBe('d');
  });

  it('maxBatch splits a burst into batches of that many transactions', async () => {
    const p = Pool.create({ size: MiB, layout: 'group', seed: 4, groupCommit: { maxBatch: 4 } });
    const r = p.root(64);
    const d0 = p.stats().drains;
    await Promise.all(Array.from({ length: 10 }, (_, i) => p.txAsync((tx) => tx.setU32(r + 4 * i, i))));
    expect(p.stats().drains - d0).toBe(3 * 3); // 4 + 4 + 2
    p.close();
  });

  it('crash() with a batch open: its promises reject, and recovery removes every member', async () => {
    const p = Pool.create({ size: MiB, layout: 'group', seed: 5 });
    const r = p.root(64);
    await p.txAsync((tx) => tx.setU32(r, 1));
    const lost = p.txAsync((tx) => tx.setU32(r, 2));
    const q = p.crash({ mode: 'pending', seed: 1 });
    await expect(lost).rejects.toBeInstanceOf(TxStateError);
    expect(q.readU32(q.root(64))).toBe(1);
    q.check();
    q.close();
    await expect(q.txAsync(() => 0)).rejects.toBeInstanceOf(PoolClosedError);
    const other = Pool.create({ size: MiB, layout: 'g' });
    await expect(other.txAsync('no' as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(other.txAsync(async () => 0)).rejects.toBeInstanceOf(TxStateError);
    other.close();
  });

  it('a member that fills the log in a batch with others runs again in a batch of its own', async () => {
    // A small pool whose heap is full: the log cannot grow past its fixed area.
    const p = Pool.create({ size: 256 * 1024, maxSize: 256 * 1024, layout: 'group', seed: 6 }); // maxSize: the heap cannot grow either
    const big = p.alloc(80 * 1024);
    const { logBytes } = p.layoutInfo();
    const piece = Math.floor(logBytes / 3);
    try { for (;;) p.alloc(4096); } catch { /* full */ }
    let runs = 0;
    const res = await Promise.allSettled([
      p.txAsync((tx) => tx.setBytes(big, new Uint8Array(piece).fill(1))),
      p.txAsync((tx) => tx.setBytes(big + piece, new Uint8Array(piece).fill(2))),
      p.txAsync((tx) => { runs++; tx.setBytes(big + 2 * piece, new Uint8Array(piece).fill(3)); }),
    ]);
    expect(res.map((x) => x.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(runs).toBe(2);
    expect([p.readBytes(big, 1)[0], p.readBytes(big + piece, 1)[0], p.readBytes(big + 2 * piece, 1)[0]]).toEqual([1, 2, 3]);
    p.check();
    p.close();
  });
});

describe('regressions found by the torture test (batches of txAsync with crashes)', () => {
  it('a member that frees an object an earlier member allocated, then fails, leaves the object alive', async () => {
    const p = Pool.create({ size: MiB, layout: 'group', seed: 8 });
    const r = p.root(64);
    const made = p.txAsync((tx) => tx.alloc(5000, { type: 2, into: r }));
    const failed = p.txAsync((tx) => { tx.free(p.readU32(r), { from: r }); throw new Error('no'); });
    const again = p.txAsync((tx) => tx.realloc(p.readU32(r), 9000, { into: r }));
    await expect(failed).rejects.toThrow('no');
    const [x, moved] = await Promise.all([made, again]);
    expect(p.readU32(r)).toBe(moved);
    expect([...p.objects(2)]).toEqual([moved]);
    expect(x === moved || !p.isLive(x)).toBe(true);
    p.check();
    p.close();
  });

  it('a member that frees a live object, then fails, does not keep a later member from freeing it', async () => {
    const p = Pool.create({ size: MiB, layout: 'group', seed: 9 });
    const y = p.alloc(100, { type: 4 });
    const r = p.root(64);
    const first = p.txAsync((tx) => tx.setU32(r, 1)); // the batch holds a member before the failing one
    const failed = p.txAsync((tx) => { tx.free(y); throw new Error('no'); });
    const freed = p.txAsync((tx) => tx.free(y));
    await expect(failed).rejects.toThrow('no');
    await Promise.all([first, freed]);
    expect(p.isLive(y)).toBe(false);
    p.check();
    p.close();
  });

  it('a core instance reused after a crash inside a member keeps flattened aborts: a swallowed nested abort still fails the commit', async () => {
    const p = Pool.create({ size: MiB, layout: 'group', seed: 10 });
    const r = p.root(64);
    let image: Uint8Array | undefined;
    const lost = p.txAsync((tx) => { tx.setU32(r, 1); image = p.crashImage({ mode: 'strict' }); p.close(); });
    await expect(lost).rejects.toThrow(/the pool was closed .* inside fn/);
    const q = Pool.open({ image: image!, layout: 'group', recycle: p });
    expect(q).toBe(p);
    expect(() => q.tx(() => { try { q.tx(() => { throw new Error('inner'); }); } catch { /* swallowed */ } })).toThrow(TxAbortedError);
    expect(q.readU32(q.root(64))).toBe(0);
    q.check();
    q.close();
  });
});

describe('txAsync against a model (fast-check)', () => {
  it('random batches with failing members: the pool holds exactly the members that resolved', async () => {
    console.log(`reproduce: PHEAP_GROUP_SEED=${SEED} npx vitest run test/group-commit.test.ts -t model`);
    const member = fc.record({ slot: fc.integer({ min: 0, max: 31 }), value: fc.integer({ min: 1, max: 1e9 }), fail: fc.boolean(), alloc: fc.boolean() });
    await fc.assert(fc.asyncProperty(fc.array(fc.array(member, { minLength: 1, maxLength: 12 }), { maxLength: 8 }), fc.boolean(), async (batches, evicts) => {
      const p = Pool.create({ size: MiB, layout: 'model', seed: 7, evicts });
      const r = p.root(128);
      const model = new Array<number>(32).fill(0);
      for (const batch of batches) {
        const next = model.slice();
        const settled = await Promise.allSettled(batch.map((m) => p.txAsync((tx) => {
          tx.setU32(r + 4 * m.slot, m.value);
          if (m.alloc) tx.alloc(40, { type: 3 });
          if (m.fail) throw new Error('fail');
        })));
        batch.forEach((m, i) => { if (!m.fail) next[m.slot] = m.value; expect(settled[i].status).toBe(m.fail ? 'rejected' : 'fulfilled'); });
        model.splice(0, 32, ...next);
        const durable = p.durableImage();
        for (let s = 0; s < 32; s++) expect(u32At(durable, r + 4 * s)).toBe(model[s]);
      }
      expect(p.stats().heap.objectsByType[3] ?? 0).toBe(batches.flat().filter((m) => m.alloc && !m.fail).length);
      p.check();
      p.close();
    }), { seed: SEED, numRuns: 40 });
  });
});

/**
 * Three batches of three members (each adds 1 to counter c[batch] and sets
 * its own slot; the middle member of each batch throws), committed by
 * commitBatch(); marker `batch k committed` after each. Run again after a
 * crash (depth 2), it commits the same batches again from the start.
 */
function batches(pool: Pool, mark: (label: string) => void): void {
  const root = pool.root(256);
  for (let b = 0; b < 3; b++) {
    for (let m = 0; m < 3; m++) {
      void pool.txAsync((tx) => {
        tx.setU32(root + 64 + 4 * (3 * b + m), 1 + m);
        tx.setU32(root, pool.readU32(root) + 1);
        if (m === 1) { tx.alloc(32); throw new Error('member fails'); }
      }).catch(() => { /* the failing member */ });
    }
    pool.commitBatch();
    mark(`batch ${b} committed`);
  }
}

/** A prefix of the batches is there, each whole, in order; every batch whose commit returned (in any run) is there. */
function checkBatches(pool: Pool, markers: { label: string; level?: number }[]): void {
  const root = pool.root(256);
  const slots = Array.from({ length: 9 }, (_, i) => pool.readU32(root + 64 + 4 * i));
  let whole = 0;
  for (let b = 0; b < 3; b++) {
    const s = slots.slice(3 * b, 3 * b + 3);
    if (s[0] === 1 && s[1] === 0 && s[2] === 3) whole++;
    else expect(s, `batch ${b} is whole or absent`).toEqual([0, 0, 0]);
  }
  expect(slots.slice(0, 3 * whole).every((v, i) => v === [1, 0, 3][i % 3])).toBe(true); // a prefix
  const counter = pool.readU32(root);
  expect(counter).toBeGreaterThanOrEqual(2 * whole);
  expect(counter % 2, 'the failing member\'s increment of the shared counter never survives').toBe(0);
  const committed = Math.max(0, ...[1, 2, 3].map((level) => markers.filter((m) => (m.level ?? 1) === level).length));
  expect(whole).toBeGreaterThanOrEqual(committed);
  expect(pool.stats().heap.liveObjects).toBe(1); // the root: failed members' allocations never survive
}

describe('group commit under crash exploration', () => {
  for (const evicts of [false, true]) {
    it(`batches are all-or-nothing and in order, two crashes deep (${evicts ? 'pmem model' : 'deferred log'})`, () => {
      const r = explore({
        name: `group commit ${evicts ? 'pmem' : 'deferred'}`, file: 'test/group-commit.test.ts', evicts, depth: 2, seed: 3,
        workload: batches, check: checkBatches,
      });
      if (r.failures.length) throw new Error(formatReport(r));
      expect(r.states).toBeGreaterThan(50);
      console.log(`group commit (${evicts ? 'pmem' : 'deferred'}): ${r.states} states over ${r.drains} drains, levels ${r.levels.map((l) => l.states).join(' + ')}`);
    });
  }
});
