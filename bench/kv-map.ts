// bench/kv-map.ts — `node bench/run.mjs kv-map`: the ordered map
// (OrderedMap, src/containers/ordered-map.ts) next to lmdb-js doing the same
// work in this same run.
//
//   put      insert 1e5 16-byte keys with 100-byte values, each call its
//            own transaction (lmdb: putSync, one write transaction each)
//   get      look each key up again (a copy of the value is returned)
//   range    one forward scan over every entry (key and value copies)
//   remove   remove every key, each call its own transaction
// Keys in sequential and in random order (a seeded shuffle). Figures are
// medians of BENCH_RUNS runs (default 3), each on a fresh pool / database.
// pheap: memory backend at durability 'os' (the deferred log: only drains
// write it); lmdb: noSync (written to the OS, never fsync'ed) — both
// survive a process crash, neither a power cut. Figures only, no assertions.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { open } from 'lmdb';
import { median, printTable, type Row } from './lib/report.js';
import { OrderedMap, Pool, Prng } from '../src/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const N = 100_000;
const MiB = 1 << 20;

function keys(order: 'sequential' | 'random'): Uint8Array[] {
  const out = Array.from({ length: N }, (_, i) => { const k = new Uint8Array(16); new DataView(k.buffer).setUint32(12, i); return k; });
  if (order === 'random') {
    const rng = new Prng('kv-map');
    for (let i = N - 1; i > 0; i--) { const j = rng.below(i + 1); [out[i], out[j]] = [out[j], out[i]]; }
  }
  return out;
}

interface Store {
  put(k: Uint8Array, v: Uint8Array): void;
  get(k: Uint8Array): Uint8Array | undefined;
  scan(): number;
  remove(k: Uint8Array): void;
  close(): void;
}

function pheapStore(): Store {
  const pool = Pool.create({ size: 128 * MiB, layout: 'bench', seed: 1 });
  const map = OrderedMap.create(pool);
  return {
    put: (k, v) => map.put(k, v),
    get: (k) => map.get(k),
    scan: () => { let n = 0; for (const e of map.range()) n += e.value.length > 0 ? 1 : 0; return n; },
    remove: (k) => { map.remove(k); },
    close: () => pool.close(),
  };
}

function lmdbStore(dir: string): Store {
  const db = open({ path: path.join(dir, `db-${Math.random().toString(36).slice(2)}`), noSync: true, keyEncoding: 'binary', encoding: 'binary' });
  return {
    put: (k, v) => { db.putSync(k, v); },
    get: (k) => db.get(k) as Uint8Array | undefined,
    scan: () => { let n = 0; for (const e of db.getRange({})) n += (e.value as Uint8Array).length > 0 ? 1 : 0; return n; },
    remove: (k) => { db.removeSync(k); },
    close: () => { db.close(); },
  };
}

/** ops/s of each phase on one fresh store. */
function runOnce(make: () => Store, ks: Uint8Array[]): Record<string, number> {
  const value = new Uint8Array(100).fill(7);
  const s = make();
  const time = (fn: () => void, ops: number) => { const t0 = performance.now(); fn(); return (ops * 1000) / (performance.now() - t0); };
  const put = time(() => { for (const k of ks) s.put(k, value); }, N);
  const get = time(() => { for (const k of ks) if (!s.get(k)) throw new Error('missing key'); }, N);
  const range = time(() => { if (s.scan() !== N) throw new Error('scan lost entries'); }, N);
  const remove = time(() => { for (const k of ks) s.remove(k); }, N);
  s.close();
  return { put, get, range, remove };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pheap-bench-kv-'));
const rows: Row[] = [];
for (const order of ['sequential', 'random'] as const) {
  const ks = keys(order);
  const runs = { pheap: [] as Record<string, number>[], lmdb: [] as Record<string, number>[] };
  for (let r = 0; r < RUNS; r++) {
    runs.pheap.push(runOnce(pheapStore, ks));
    runs.lmdb.push(runOnce(() => lmdbStore(dir), ks));
  }
  for (const phase of ['put', 'get', 'range', 'remove']) {
    const lm = median(runs.lmdb.map((x) => x[phase]));
    rows.push({ case: `${phase} ${order}`, backend: 'ts/memory OrderedMap', durability: 'os', opsPerSec: median(runs.pheap.map((x) => x[phase])), anchor: 'lmdb-js noSync', anchorOpsPerSec: lm });
  }
}
fs.rmSync(dir, { recursive: true, force: true });
printTable(rows, `ordered map, 1e5 16-byte keys, 100-byte values, medians of ${RUNS} runs (range: entries/s of one full scan)`);
