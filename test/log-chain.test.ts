// log-chain.test.ts — big transactions cost a few drains, not one per log
// block or new run: the undo log's extension chain outlives the transaction
// that grew it (reused with no drain, its stale entries never validate),
// and a run made inside a transaction rides the commit's drains.
//
// Owns: the drain bound of a group-commit batch of ~1000 map puts on the
// file backend at durability 'fsync' (steady state: at most 5 drains), and
// crash exploration of big transactions — one that grows the chain over
// several blocks and makes new runs, one that writes over the kept blocks'
// stale entries, a txAsync batch, and one whose allocations need the kept
// chunks back (the chain given back inside the transaction) — in every
// crash mode of both cache models, once and twice in a row, with the model
// oracle: the recovered map is the model after a prefix of the operations
// that includes every one that returned, check() passes on map and pool,
// and the pool holds exactly the map's objects.

import { describe, expect, it } from 'vitest';
import {
  OrderedMap, Pool, Prng, explore, formatReport, linearizable, progressOf, checkLinearizable, checkRerun, canonical, type ExploreOptions,
} from '../src/index.js';
import { intactMap } from './helpers/map-check.js';
import { useTempDir } from './helpers/pool-files.js';

const FILE = 'test/log-chain.test.ts';
const MiB = 1 << 20;
const SEED = Number(process.env.PHEAP_CHAIN_SEED ?? 20261202);
const tmp = useTempDir('pheap-chain-');

describe('a group-commit batch of 1000 puts costs a few drains', () => {
  it('file backend, durability fsync: after the first batches a batch of ~1000 random puts costs at most 5 drains, 2 more per log block it adds', async () => {
    console.log(`log chain drains: seed ${SEED}; reproduce: PHEAP_CHAIN_SEED=${SEED} npx vitest run ${FILE} -t 'at most 5 drains'`);
    const rng = new Prng(SEED);
    const p = Pool.create({ path: tmp.file('drains'), backend: 'file', size: 8 * MiB, layout: 'chain', durability: 'fsync' });
    const map = OrderedMap.create(p, { into: p.root(8) });
    const value = new Uint8Array(100).fill(0x5a);
    const keys: Uint8Array[] = [];
    /** Chunks taken, not by runs: the log's extension chain (values are inline: the map lives in runs). */
    const chain = () => { const h = p.stats().heap; return p.size / 65536 - h.freeChunks - h.runs; };
    const batch = async () => {
      const d0 = p.stats().drains, c0 = chain();
      const ks = Array.from({ length: 1000 }, () => rng.bytes(new Uint8Array(16)));
      keys.push(...ks);
      await Promise.all(ks.map((k) => p.txAsync(() => map.put(k, value))));
      return { drains: p.stats().drains - d0, linked: chain() - c0 };
    };
    const warm: number[] = [];
    for (let i = 0; i < 3; i++) warm.push((await batch()).drains);
    const steady: { drains: number; linked: number }[] = [];
    for (let i = 0; i < 5; i++) steady.push(await batch());
    console.log(`log chain drains: warm-up batches ${warm.join(', ')} drains, then ${steady.map((b) => `${b.drains}${b.linked ? ` (${b.linked} new log blocks)` : ''}`).join(', ')} (pool ${p.size / MiB} MiB)`);
    // 3 for the commit, one now and then for the empty bitmaps of the next runs, 2 per log block when a batch outgrows the chain.
    for (const b of steady) expect(b.drains).toBeLessThanOrEqual(5 + 2 * b.linked);
    expect(steady.filter((b) => b.linked === 0).length, 'most batches fit in the kept chain').toBeGreaterThanOrEqual(3);
    expect(p.size, 'no growth in the measured batches').toBe(8 * MiB);
    expect(map.count).toBe(new Set(keys.map((k) => k.join())).size);
    for (const k of keys.slice(-50)) expect(map.get(k)).toEqual(value);
    map.check();
    p.check();
    p.close();
  }, 60_000);

  it('a pool growing under batches keeps its log blocks: a batch costs at most 5 drains, 4 more if it grows the pool, 2 per log block it links (was: 17–37 drains around each growth, the kept blocks given to the heap and linked again)', async () => {
    const p = Pool.create({ path: tmp.file('growing'), backend: 'file', size: MiB, layout: 'chain', durability: 'fsync' });
    const map = OrderedMap.create(p, { into: p.root(8) });
    const value = new Uint8Array(100).fill(0x3c);
    const key = (i: number) => { const k = new Uint8Array(16); new DataView(k.buffer).setUint32(12, i); return k; };
    /** Chunks held by the log's chain: taken, not by runs (values are inline: the map lives in runs), not by the regions' tables. */
    const chain = () => { const h = p.stats().heap; return p.size / 65536 - h.freeChunks - h.runs - p.stats().growths; };
    const batches: { drains: number; grew: boolean; linked: number }[] = [];
    for (let b = 0; b < 60; b++) {
      const s0 = p.stats(), c0 = chain();
      await Promise.all(Array.from({ length: 1000 }, (_, j) => p.txAsync(() => map.put(key(b * 1000 + j), value))));
      const s1 = p.stats();
      batches.push({ drains: s1.drains - s0.drains, grew: s1.growths > s0.growths, linked: Math.max(0, chain() - c0) });
    }
    const shown = (bs: typeof batches) => bs.map((b) => `${b.drains}${b.linked ? `+${b.linked}b` : ''}`).join(' ');
    console.log(`drains per batch while growing from 1 MiB to ${p.size / MiB} MiB (+nb: n log blocks linked): batches that grew ${shown(batches.filter((b) => b.grew))}; the others ${shown(batches.filter((b) => !b.grew))}`);
    expect(batches.filter((b) => b.grew).length, 'the pool grew several times').toBeGreaterThanOrEqual(4);
    // a commit is 3 drains, a primed run bitmap now and then 1 or 2 more, a new log block 2; a growth (region, table, header) 4 more
    for (const b of batches.slice(3)) expect(b.drains, `a batch that ${b.grew ? 'grew' : 'did not grow'}, ${b.linked} log blocks linked`).toBeLessThanOrEqual(5 + (b.grew ? 4 : 0) + 2 * b.linked);
    expect(map.count).toBe(60_000);
    map.check();
    p.check();
    p.close();
  }, 60_000);
});

// ─── crash exploration ──────────────────────────────────────────────────────

type Op =
  | { k: 'tx'; puts: number[]; removes: number[]; len: number } // 1000-byte keys: splits log whole nodes and make new runs
  | { k: 'batch'; puts: number[] } // one txAsync member per put
  | { k: 'blobs'; first: number; n: number }; // 1-chunk values (large objects), one transaction
type State = Map<number, number>; // key id → value length

const BLOB = 60_000; // one chunk each
/** Key id < 1000: 1000-byte keys (three to a leaf); id >= 1000: 8-byte keys. */
const keyBytes = (id: number) => {
  if (id >= 1000) { const k = new Uint8Array(8).fill(0x42); new DataView(k.buffer).setUint32(4, id); return k; }
  const k = new Uint8Array(1000).fill(0x41); k[0] = id >> 8; k[1] = id & 0xff; return k;
};
const idOf = (k: Uint8Array) => (k.length === 8 ? new DataView(k.buffer, k.byteOffset).getUint32(4) : (k[0] << 8) | k[1]);
const valueBytes = (id: number, len: number) => new Uint8Array(len).fill(id & 0xff);
const lenOf = (op: Op, id: number) => (op.k === 'blobs' ? BLOB : op.k === 'tx' ? op.len - (id % 2) : 16);

function applyOp(s: State, op: Op): State {
  if (op.k === 'blobs') for (let i = 0; i < op.n; i++) s.set(op.first + i, BLOB);
  else for (const id of op.puts) s.set(id, lenOf(op, id));
  if (op.k === 'tx') for (const id of op.removes) s.delete(id);
  return s;
}

const mapOf = (p: Pool) => OrderedMap.open(p, p.readU32(p.root(8)));

function runOp(p: Pool, op: Op): void {
  const map = mapOf(p);
  const put = (id: number) => map.put(keyBytes(id), valueBytes(id, lenOf(op, id)));
  if (op.k === 'batch') {
    void Promise.allSettled(op.puts.map((id) => p.txAsync(() => put(id)))); // the oracle judges the recovered pool
    p.commitBatch();
  } else if (op.k === 'blobs') {
    p.tx(() => { for (let i = 0; i < op.n; i++) put(op.first + i); });
  } else {
    p.tx(() => { for (const id of op.puts) put(id); for (const id of op.removes) map.remove(keyBytes(id)); });
  }
}

function readState(p: Pool): State {
  const map = intactMap(p, mapOf(p));
  const s: State = new Map();
  for (const { key, value } of map.range()) {
    const id = idOf(key);
    expect(key).toEqual(keyBytes(id));
    expect(value).toEqual(valueBytes(id, value.length));
    s.set(id, value.length);
  }
  return s;
}

const SIZE = 2 * MiB;
const setup = (p: Pool) => { OrderedMap.create(p, { into: p.root(8) }); };
const initial = (): State => new Map();

/** The workload: every operation from one seeded Prng; the blob count is sized so that only the kept log blocks make room. */
function workload(seed: number): { ops: Op[]; kept: number; free: number } {
  const rng = new Prng(seed);
  const shuffled = (ids: number[]) => { for (let i = ids.length - 1; i > 0; i--) { const j = rng.below(i + 1); [ids[i], ids[j]] = [ids[j], ids[i]]; } return ids; };
  const ids = shuffled(Array.from({ length: 260 }, (_, i) => i));
  const grow: Op = { k: 'tx', puts: ids.slice(0, 240), removes: [], len: 250 };
  // Overwrites (same length: the cell is logged and rewritten), new keys and removes: the kept blocks' entries are written over.
  const reuse: Op = { k: 'tx', puts: [...ids.slice(10, 70), ...ids.slice(240, 250)], removes: ids.slice(0, 10), len: 250 };
  const batch: Op = { k: 'batch', puts: ids.slice(250, 260) };
  // Measure what the first three leave: free chunks, and chunks held by the kept chain.
  const p = Pool.create({ size: SIZE, maxSize: SIZE, layout: 'explore', seed: 1 });
  setup(p);
  const before = p.stats().heap;
  for (const op of [grow, reuse, batch]) runOp(p, op);
  const after = p.stats().heap;
  const free = after.freeChunks;
  const kept = before.freeChunks - free - (after.runs - before.runs); // taken, not by runs: the chain (the map lives in runs)
  p.close();
  return { ops: [grow, reuse, batch, { k: 'blobs', first: 1000, n: free + 1 }], kept, free };
}

describe('big transactions under the crash explorer', () => {
  const { ops, kept, free } = workload(SEED);

  it('the workload needs several extension blocks, new runs, and the kept chunks back', () => {
    expect(kept, 'the first transaction grew the chain over several blocks').toBeGreaterThanOrEqual(2);
    const p = Pool.create({ size: SIZE, maxSize: SIZE, layout: 'explore', seed: 1 });
    setup(p);
    const runs0 = p.stats().heap.runs;
    runOp(p, ops[0]);
    expect(p.stats().heap.runs - runs0, 'the first transaction made new runs').toBeGreaterThanOrEqual(2);
    for (const op of ops.slice(1)) runOp(p, op); // the blobs need free + 1 chunks: only releasing the chain makes room
    expect(p.stats().heap.freeChunks).toBeLessThan(free);
    expect(canonical(readState(p))).toBe(canonical(ops.reduce(applyOp, initial())));
    p.check();
    p.close();
  });

  for (const evicts of [true, false]) {
    const model = evicts ? 'pmem model, eager log' : 'deferred log';
    it(`every drain crashed in every mode (${model}): linearizable, no leak`, () => {
      const lin = linearizable<State, Op>({ model: { initial, apply: applyOp }, ops, run: runOp, read: readState });
      // Every point of the deferred log (a few per transaction); a seeded sample of the eager log's (one per snapshot call).
      const r = explore({
        name: `log chain, one crash, ${model}`, file: FILE, size: SIZE, evicts, seeds: 2, exhaustiveLines: 3, recoveryCrashes: false,
        setup, workload: lin.workload, check: lin.check,
        ...(evicts ? { modes: ['strict', 'pending', 'evict', 'tear8', 'eadr'], points: { sample: 12, seed: SEED } } : {}),
      });
      if (r.failures.length) throw new Error(formatReport(r));
      expect(r.states).toBeGreaterThan(ops.length);
      console.log(`log chain, one crash (${model}): ${r.states} crash states over ${r.points} points; reproduce: PHEAP_CHAIN_SEED=${SEED} npx vitest run ${FILE} -t '${model}'`);
    }, 120_000);

    it(`two crashes in a row (${model}): the run after recovery does the operations again`, () => {
      const model = { initial, apply: applyOp };
      const lin = linearizable<State, Op>({ model, ops, run: runOp, read: readState });
      const opts: ExploreOptions = {
        name: `log chain, two crashes, ${model}`, file: FILE, size: SIZE, evicts, depth: 2, seeds: 1, exhaustiveLines: 3,
        points: { sample: 6, seed: SEED }, deeper: { states: 3, points: 4, seed: SEED }, recoveryCrashes: false, setup, workload: lin.workload,
        check: (p, markers, crash) => {
          const got = canonical(readState(p));
          if (!crash.prior) return checkLinearizable(got, lin.keys, progressOf(markers.filter((m) => m.level === 1)));
          checkRerun(got, model, ops, markers);
        },
      };
      const r = explore(opts);
      if (r.failures.length) throw new Error(formatReport(r));
      expect(r.levels).toHaveLength(2);
      console.log(`log chain, two crashes (${model}): ${r.levels.map((l) => `level ${l.level}: ${l.states}`).join(', ')} states; reproduce: PHEAP_CHAIN_SEED=${SEED} npx vitest run ${FILE} -t 'two crashes'`);
    }, 120_000);
  }
});
