// ordered-map-split.test.ts — where OrderedMap splits a full node, and how
// full that leaves the tree (docs/containers.md, "Splits").
//
// Owns the tests of the split policy: a put on a run (the new key goes just
// past the node's newest cell, at its end or its start) keeps the old cells
// together, full, and starts a node with the new one; any other put splits
// the node in two balanced halves. Checked on seeded loads (fast-check) of
// fixed-size entries in ascending, descending, interleaved-ascending (several
// key prefixes, each appended in turn) and random order: check() passes, the
// map reads back in order, and the node count is near the fewest that hold
// the entries (ascending, descending, interleaved: the old middle split
// left about twice as many) or, for random order, the fill stays that of a
// balanced split. The same seeded load gives byte-identical pools, and the
// crash explorer runs ascending, descending and interleaved run splits at
// every level (leaf, inner, a new root) crashed at every drain in every mode.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  OrderedMap, Pool, Prng, compareKeys, explore, formatReport, linearizable,
} from '../src/index.js';
import { intactMap } from './helpers/map-check.js';
import { sha256 } from './helpers/pool-files.js';

const FILE = 'test/ordered-map-split.test.ts';
const SEED = Number(process.env.PHEAP_SPLIT_SEED ?? 20261203);
/** A node's room for slots and cells (docs/containers.md, "Invariants"): each entry takes a 2-byte slot and its cell. */
const NODE_ROOM = 4064;
const leafCell = (klen: number, vlen: number) => 2 + 6 + klen + vlen;
const innerCell = (klen: number) => 2 + 6 + klen;

type Order = 'ascending' | 'descending' | 'interleaved' | 'random';
interface Load { order: Order; klen: number; vlen: number; leaves: number; prefixes: number; seed: number }

/** Key `i` of prefix `p`: the prefix byte, then i big-endian, padded to klen (so byte order is (p, i) order). */
function keyOf(p: number, i: number, klen: number): Uint8Array {
  const k = new Uint8Array(klen);
  k[0] = p;
  new DataView(k.buffer).setUint32(klen - 4, i);
  return k;
}

/** The load's keys in insertion order; `leaves` full leaves' worth of entries. */
function loadKeys(l: Load): Uint8Array[] {
  const n = Math.floor(NODE_ROOM / leafCell(l.klen, l.vlen)) * l.leaves;
  const asc = Array.from({ length: n }, (_, i) => keyOf(0, i, l.klen));
  if (l.order === 'ascending') return asc;
  if (l.order === 'descending') return asc.reverse();
  if (l.order === 'interleaved') return asc.map((_, j) => keyOf(j % l.prefixes, Math.floor(j / l.prefixes), l.klen));
  const rng = new Prng(`split:${l.seed}`);
  for (let i = n - 1; i > 0; i--) { const j = rng.below(i + 1); [asc[i], asc[j]] = [asc[j], asc[i]]; }
  return asc;
}

/** Load `l` into a fresh map (memory pool, fixed seed); returns its node count, height and the pool image. */
function runLoad(l: Load): { keys: Uint8Array[]; nodes: number; height: number; image: Uint8Array } {
  const pool = Pool.create({ size: 1 << 20, layout: 'map', seed: SEED, durability: 'os' });
  const map = OrderedMap.create(pool, { into: pool.root(8) });
  const keys = loadKeys(l);
  for (const k of keys) map.put(k, new Uint8Array(l.vlen).fill(k[l.klen - 1]));
  const c = map.check();
  expect(c.entries).toBe(keys.length);
  const read = [...map.range()];
  expect(read.map((e) => e.key)).toEqual([...keys].sort(compareKeys));
  expect(read.every((e) => e.value.length === l.vlen && e.value.every((b) => b === e.key[l.klen - 1]))).toBe(true);
  pool.check();
  const image = pool.durableImage();
  pool.close();
  return { keys, nodes: c.objects - 1, height: c.height, image }; // values are inline: the objects are the header and the nodes
}

/** The fewest nodes that hold `n` entries: full leaves, and over them full inner levels. */
function fewestNodes(n: number, klen: number, vlen: number): number {
  let level = Math.ceil(n / Math.floor(NODE_ROOM / leafCell(klen, vlen)));
  let total = level;
  const fanout = Math.floor(NODE_ROOM / innerCell(klen)) + 1;
  while (level > 1) { level = Math.ceil(level / fanout); total += level; }
  return total;
}

const loadArb = (orders: Order[]) => fc.record({
  order: fc.constantFrom(...orders),
  klen: fc.integer({ min: 8, max: 48 }),
  vlen: fc.integer({ min: 16, max: 256 }),
  leaves: fc.integer({ min: 40, max: 70 }),
  prefixes: fc.integer({ min: 2, max: 6 }),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
});

describe('OrderedMap split policy', () => {
  for (const order of ['ascending', 'descending', 'interleaved'] as const) {
    it(`${order} loads fill their nodes: near the fewest nodes, check() passes`, () => {
      console.log(`reproduce: PHEAP_SPLIT_SEED=${SEED} npx vitest run ${FILE} -t '${order} loads'`);
      fc.assert(fc.property(loadArb([order]), (l) => {
        const { keys, nodes, height } = runLoad(l);
        const fewest = fewestNodes(keys.length, l.klen, l.vlen);
        // A run split leaves every node full but the last of each run; interleaved prefixes start mixed in shared leaves (balanced splits) before each has leaves of its own.
        const allowed = fewest + height + (order === 'interleaved' ? 2 * l.prefixes : 0);
        console.log(`  ${order} ${keys.length} × (${l.klen} + ${l.vlen}) B${order === 'interleaved' ? `, ${l.prefixes} prefixes` : ''}: ${nodes} nodes, fewest ${fewest}, height ${height}`);
        expect(nodes, JSON.stringify(l)).toBeLessThanOrEqual(allowed);
      }), { numRuns: 3, seed: SEED });
    }, 60_000);
  }

  it('random order keeps the balanced split: nodes at least about ln 2 full on average', () => {
    console.log(`reproduce: PHEAP_SPLIT_SEED=${SEED} npx vitest run ${FILE} -t 'random order'`);
    fc.assert(fc.property(loadArb(['random']), (l) => {
      const { keys, nodes } = runLoad(l);
      const fewest = fewestNodes(keys.length, l.klen, l.vlen);
      console.log(`  random ${keys.length} × (${l.klen} + ${l.vlen}) B: ${nodes} nodes, fewest ${fewest}, fill ${(fewest / nodes).toFixed(2)}`);
      expect(fewest / nodes, JSON.stringify(l)).toBeGreaterThanOrEqual(0.6);
    }), { numRuns: 3, seed: SEED });
  }, 60_000);

  it('the same seeded load gives byte-identical pools', () => {
    const l: Load = { order: 'interleaved', klen: 16, vlen: 100, leaves: 20, prefixes: 3, seed: SEED };
    expect(sha256(runLoad(l).image)).toBe(sha256(runLoad(l).image));
  });
});

// ─── crash exploration ──────────────────────────────────────────────────────

/** 1000-byte keys: three to a leaf, four to an inner node, so a few puts on a run split every level. */
const bigKey = (id: number) => { const k = new Uint8Array(1000).fill(0x41); k[0] = id; k[999] = id; return k; };
const bigValue = (id: number) => new Uint8Array(16).fill(id);
type State = Set<number>;

describe('OrderedMap run splits under the crash explorer', () => {
  it('ascending, descending, then two interleaved runs of puts (leaf, inner and root splits on runs) crashed at every drain, every mode: linearizable, no leak', () => {
    const ascending = Array.from({ length: 16 }, (_, i) => 100 + i);
    const descending = Array.from({ length: 10 }, (_, i) => 99 - i);
    const interleaved = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? 150 : 180) + (i >> 1)); // two runs, one ending where the other's keys begin
    const ops = [...ascending, ...descending, ...interleaved];
    const mapOf = (p: Pool) => OrderedMap.open(p, p.readU32(p.root(8)));
    const read = (p: Pool): State => {
      const map = intactMap(p, mapOf(p));
      const s: State = new Set();
      for (const { key, value } of map.range()) {
        expect(key).toEqual(bigKey(key[0]));
        expect(value).toEqual(bigValue(key[0]));
        s.add(key[0]);
      }
      return s;
    };
    // Without crashes first: the heights the workload passes through, and the nodes it ends with.
    const heights = new Set<number>();
    const plain = Pool.create({ size: 1 << 20, layout: 'map' });
    const map = OrderedMap.create(plain, { into: plain.root(8) });
    for (const id of ops) { map.put(bigKey(id), bigValue(id)); heights.add(map.check().height); }
    const { objects, height } = map.check();
    plain.close();
    const lin = linearizable<State, number>({
      model: { initial: () => new Set(), apply: (s, id) => new Set(s).add(id) },
      ops,
      run: (p, id) => { mapOf(p).put(bigKey(id), bigValue(id)); },
      read,
    });
    const r = explore({
      name: 'ordered map, run splits', file: FILE, size: 1 << 20, modes: ['strict', 'pending', 'evict', 'tear8'], seeds: 1, recoveryCrashes: false,
      setup: (p: Pool) => { OrderedMap.create(p, { into: p.root(8) }); },
      workload: lin.workload, check: lin.check,
    });
    if (r.failures.length) throw new Error(formatReport(r));
    expect([...heights].sort()).toEqual([1, 2, 3]);
    const fewest = fewestNodes(ops.length, 1000, 16);
    console.log(`ordered map, run splits: ${r.states} crash states explored, heights ${[...heights].sort().join(',')}, ${objects - 1} nodes for ${ops.length} entries (fewest ${fewest}); reproduce: npx vitest run ${FILE} -t 'ascending, descending'`);
    expect(objects - 1, 'run splits keep the nodes full').toBeLessThanOrEqual(fewest + height);
  }, 120_000);
});
