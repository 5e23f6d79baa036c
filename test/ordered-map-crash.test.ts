// ordered-map-crash.test.ts — OrderedMap under the crash explorer: every
// put / remove (leaf and root splits, merges, the tree collapsing back to
// one leaf, a transaction of several map calls) crashed at every drain in
// every mode, once and twice in a row. The oracle: after recovery the map
// is the model after a prefix of the operations that includes every one
// that returned (durable linearizability), its count and check() agree,
// pool.check() passes, and the pool holds exactly the objects the map owns
// (plus the root): nothing leaked, nothing lost.

import { describe, expect, it } from 'vitest';
import {
  OrderedMap, Pool, explore, formatReport, linearizable, progressOf, checkLinearizable, checkRerun, canonical, type ExploreOptions,
} from '../src/index.js';
import { intactMap } from './helpers/map-check.js';

const FILE = 'test/ordered-map-crash.test.ts';

type Op = { k: 'put'; key: number; len: number } | { k: 'remove'; key: number } | { k: 'batch'; ops: Op[] };
type State = Map<number, number>; // key id → value length

/** 1000-byte keys: three to a leaf, four to an inner node, so a few operations split and merge every level. */
const keyBytes = (id: number) => { const k = new Uint8Array(1000).fill(0x41); k[0] = id; k[999] = id; return k; };
/** Values are their key id repeated: short ones inline, 300+ bytes in a blob of their own. */
const valueBytes = (id: number, len: number) => new Uint8Array(len).fill(id);

function applyOp(s: State, op: Op): State {
  if (op.k === 'put') s.set(op.key, op.len);
  else if (op.k === 'remove') s.delete(op.key);
  else for (const o of op.ops) applyOp(s, o);
  return s;
}

function runOp(map: OrderedMap, op: Op): void {
  if (op.k === 'put') map.put(keyBytes(op.key), valueBytes(op.key, op.len));
  else if (op.k === 'remove') map.remove(keyBytes(op.key));
  else for (const o of op.ops) runOp(map, o);
}

const mapOf = (p: Pool) => OrderedMap.open(p, p.readU32(p.root(8)));

/** The map's state in model terms, after checking everything the oracle demands besides the state itself. */
function readState(p: Pool): State {
  const map = intactMap(p, mapOf(p));
  const s: State = new Map();
  for (const { key, value } of map.range()) {
    expect(key).toEqual(keyBytes(key[0]));
    expect(value).toEqual(valueBytes(key[0], value.length));
    s.set(key[0], value.length);
  }
  return s;
}

const SETUP_KEYS = [10, 20, 30];
const setup = (p: Pool) => {
  const map = OrderedMap.create(p, { into: p.root(8) });
  for (const id of SETUP_KEYS) map.put(keyBytes(id), valueBytes(id, id === 20 ? 320 : 16));
};
const initial = (): State => new Map(SETUP_KEYS.map((id) => [id, id === 20 ? 320 : 16]));

/** Splits from height 1 to 3, an overwrite that moves a value to a blob, a batch, then merges back to one leaf. */
const OPS: Op[] = [
  ...[40, 50, 15, 25, 35, 45, 12, 13, 14, 11, 16, 17].map((key): Op => ({ k: 'put', key, len: key === 25 ? 400 : 16 })),
  { k: 'put', key: 10, len: 300 },
  { k: 'batch', ops: [{ k: 'put', key: 18, len: 16 }, { k: 'remove', key: 25 }, { k: 'put', key: 11, len: 500 }] },
  ...[10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 30, 35].map((key): Op => ({ k: 'remove', key })),
];

/** One operation of the workload: alone, or (a batch) several map calls in one transaction. */
function runTop(p: Pool, op: Op, heights?: Set<number>): void {
  const map = mapOf(p);
  if (op.k === 'batch') p.tx(() => runOp(map, op)); else runOp(map, op);
  heights?.add(map.check().height);
}

describe('OrderedMap crash exploration', () => {
  it('every put / remove (splits, merges, collapse, a batch in one transaction) crashed at every drain, every mode: linearizable, no leak', () => {
    const heights = new Set<number>();
    const lin = linearizable<State, Op>({ model: { initial, apply: applyOp }, ops: OPS, run: (p, op) => runTop(p, op, heights), read: readState });
    const r = explore({
      name: 'ordered map, one crash', file: FILE, size: 1 << 20, modes: ['strict', 'pending', 'evict', 'tear8'], seeds: 2, recoveryCrashes: false,
      setup, workload: lin.workload, check: lin.check,
    });
    if (r.failures.length) throw new Error(formatReport(r));
    expect([...heights].sort()).toEqual([1, 2, 3]);
    console.log(`ordered map, one crash: ${r.states} crash states explored (crashes inside recovery: the two-crash test), heights ${[...heights].sort().join(',')}; reproduce: npx vitest run ${FILE} -t 'every put'`);
  }, 120_000);

  it('two crashes in a row (deferred log: file / memory backends): the run after recovery does the operations again', () => {
    const ops = OPS.slice(0, 3).concat(OPS.slice(12, 16));
    const model = { initial, apply: applyOp };
    const lin = linearizable<State, Op>({ model, ops, run: (p, op) => runTop(p, op), read: readState });
    const opts: ExploreOptions = {
      name: 'ordered map, two crashes', file: FILE, size: 1 << 20, evicts: false, depth: 2, seeds: 2, deeper: { states: 4, points: 6 },
      setup, workload: lin.workload,
      check: (p, markers, crash) => {
        const got = canonical(readState(p));
        if (!crash.prior) return checkLinearizable(got, lin.keys, progressOf(markers.filter((m) => m.level === 1)));
        checkRerun(got, model, ops, markers); // level 2: the state after some level-1 prefix, then a prefix of the same operations again
      },
    };
    const r = explore(opts);
    if (r.failures.length) throw new Error(formatReport(r));
    expect(r.levels).toHaveLength(2);
    console.log(`ordered map, two crashes: ${r.states} crash states explored (${r.levels.map((l) => `level ${l.level}: ${l.states}`).join(', ')}); reproduce: npx vitest run ${FILE} -t 'two crashes'`);
  }, 120_000);
});
