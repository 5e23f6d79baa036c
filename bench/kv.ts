// bench/kv.ts — `npm run bench:kv`: the pheap key-value store next to lmdb-js
// and better-sqlite3, side by side in one run, on one disk (a temp directory).
// The stores and their durability settings are in bench/kv-stores.ts (its
// openPheapStore() is the one switch to make at the merge of the Store).
//
// For 1e5 keys (and 1e6 with BENCH_KV_1E6=1), 16-byte binary keys (keyEncoding
// 'binary': stored as they are), values of 100
// bytes ('binary') and small objects ('msgpack'), keys in sequential and in
// random order (a seeded shuffle), each run on fresh stores:
//   putSync         insert every key, one write transaction each   (at os)
//   file size       of the store's files after the load, closed     (at os)
//   get             look every key up again, once, just after the reopen
//   get, warm       then WARM_PASSES more passes over every key: their median
//   getRange 100    read 100 entries from a key (ranges/s)
//   mixed 90/10     every 10th op a putSync overwrite, else a get   (at os)
//   remove          removeSync every key                            (at os)
//   put async       insert every key with put(), 1000 in flight, each
//                   awaited (group commit)                at os and at fsync
//                   (BENCH_KV_FSYNC_KEYS=n: at fsync the first n keys only)
// pheap runs on its default backend, or BENCH_KV_BACKEND ('file' | 'mapped').
// Then, with BENCH_KV_OPEN_MIB=<size> (1024 for the 1 GiB), one store
// of about that size is built once per contender and the reopen (open + one
// get) is timed. Figures are medians of BENCH_RUNS runs (default 5)
// (BENCH_KV_KEYS=<n> runs n keys only, for a quick look; 0: no tables.) After
// each msgpack table, the decode floor: msgpackr decoding the same values
// alone (both stores decode every get once), next to what get ≥ 3× lmdb-js
// would need. Every row names the durability of all three sides; ratios are pheap ÷ the other
// (ops/s: > 1 is pheap faster; sizes and times: < 1 is pheap smaller/faster),
// next to the target. Figures only, no assertions.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { median, printGrid, rate } from './lib/report.js';
import { lmdb, pheap, pheapBackend, sqlite, sqliteVersion, type KvContender, type KvDurability, type KvEncoding, type KvStore } from './kv-stores.js';
import { Prng } from '../src/index.js';
import { Packr } from 'msgpackr';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SIZES = process.env.BENCH_KV_KEYS ? [Number(process.env.BENCH_KV_KEYS)].filter((n) => n > 0) : process.env.BENCH_KV_1E6 === '1' ? [100_000, 1_000_000] : [100_000];
const OPEN_MIB = Number(process.env.BENCH_KV_OPEN_MIB ?? 0);
const IN_FLIGHT = 1000;
const FSYNC_KEYS = Number(process.env.BENCH_KV_FSYNC_KEYS ?? Infinity);
const RANGE = 100;
const WARM_PASSES = 3;
const BACKEND = process.env.BENCH_KV_BACKEND as 'file' | 'mapped' | undefined;
const CONTENDERS = [pheap, lmdb, sqlite] as const;
const MiB = 1 << 20;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pheap-bench-kv-'));

type Order = 'sequential' | 'random';
/** A phase's result on one store: ops/s, or bytes for 'file size'. */
type Figures = Record<string, number>;

/** The i-th key: 12 zero bytes, then i big-endian (so byte order is i order). */
function key(i: number): Uint8Array {
  const k = new Uint8Array(16);
  new DataView(k.buffer).setUint32(12, i);
  return k;
}

function keys(n: number, order: Order): Uint8Array[] {
  const out = Array.from({ length: n }, (_, i) => key(i));
  if (order === 'random') {
    const rng = new Prng(`kv-${n}`);
    for (let i = n - 1; i > 0; i--) { const j = rng.below(i + 1); [out[i], out[j]] = [out[j], out[i]]; }
  }
  return out;
}

function values(n: number, encoding: KvEncoding): unknown[] {
  if (encoding === 'binary') return Array.from({ length: n }, (_, i) => new Uint8Array(100).fill(i & 255));
  return Array.from({ length: n }, (_, i) => ({ id: i, name: `user-${i}`, active: i % 3 !== 0, score: i / 7, tags: ['kv', 'bench'] }));
}

/** Bytes of every file under `d` (the store, its log / WAL / lock files). */
function dirBytes(d: string): number {
  return fs.readdirSync(d, { recursive: true, encoding: 'utf8' }).reduce((n, f) => {
    const st = fs.statSync(path.join(d, f));
    return n + (st.isFile() ? st.size : 0);
  }, 0);
}

function opsPerSec(ops: number, fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (ops * 1000) / (performance.now() - t0);
}

async function opsPerSecAsync(ops: number, fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (ops * 1000) / (performance.now() - t0);
}

const openOpts = (encoding: KvEncoding, durability: KvDurability) => ({ encoding, durability, backend: BACKEND });

let stores = 0;
/** A fresh, empty directory for one store; the store file is <dir>/db. */
function freshPath(c: KvContender): string {
  const d = path.join(dir, `${c.name.split(' ')[0]}-${stores++}`);
  fs.mkdirSync(d);
  return path.join(d, 'db');
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bench:kv: ${what}`);
}

/** Insert every key with put(), IN_FLIGHT awaited at a time; ops/s. */
async function putAsync(c: KvContender, durability: KvDurability, encoding: KvEncoding, allKeys: Uint8Array[], vs: unknown[]): Promise<number> {
  const ks = durability === 'fsync' ? allKeys.slice(0, FSYNC_KEYS) : allKeys;
  const s = c.open(freshPath(c), openOpts(encoding, durability));
  const r = await opsPerSecAsync(ks.length, async () => {
    for (let i = 0; i < ks.length; i += IN_FLIGHT) {
      await Promise.all(ks.slice(i, i + IN_FLIGHT).map((k, j) => s.put(k, vs[i + j])));
    }
  });
  check(s.getCount() === ks.length, `${c.name}: put async lost entries`);
  await s.close();
  return r;
}

/** The synchronous phases on one store at 'os' (see the header). */
async function syncPhases(c: KvContender, encoding: KvEncoding, order: Order, ks: Uint8Array[], vs: unknown[]): Promise<Figures> {
  const file = freshPath(c);
  const opts = openOpts(encoding, 'os');
  let s: KvStore = c.open(file, opts);
  const n = ks.length;
  const f: Figures = {};
  f.putSync = opsPerSec(n, () => { for (let i = 0; i < n; i++) s.putSync(ks[i], vs[i]); });
  await s.close();
  f['file size'] = dirBytes(path.dirname(file));
  s = c.open(file, opts);
  const getAll = () => { for (const k of ks) check(s.get(k) !== undefined, `${c.name}: a key is missing`); };
  f.get = opsPerSec(n, getAll);
  f['get, warm'] = median(Array.from({ length: WARM_PASSES }, () => opsPerSec(n, getAll)));
  // Ranges start at every (n / starts)-th key of the order, so they read the whole key space; the last 100 keys never start one.
  const starts = Math.min(2000, n / RANGE);
  const from = (order === 'random' ? ks : [...ks].sort((a, b) => Buffer.compare(a, b))).filter((k) => new DataView(k.buffer).getUint32(12) < n - RANGE);
  f['getRange 100'] = opsPerSec(starts, () => {
    for (let r = 0; r < starts; r++) {
      let got = 0;
      for (const e of s.getRange({ start: from[Math.floor((r * from.length) / starts)], limit: RANGE })) got += e.value === undefined ? 0 : 1;
      check(got === RANGE, `${c.name}: a range is short`);
    }
  });
  f['mixed 90/10'] = opsPerSec(n, () => {
    for (let i = 0; i < n; i++) { if (i % 10 === 9) s.putSync(ks[i], vs[i]); else s.get(ks[i]); }
  });
  f.remove = opsPerSec(n, () => { for (const k of ks) s.removeSync(k); });
  check(s.getCount() === 0, `${c.name}: remove left entries`);
  await s.close();
  return f;
}

/** One run: every contender, every phase, fresh stores. */
async function runOnce(c: KvContender, encoding: KvEncoding, order: Order, ks: Uint8Array[], vs: unknown[]): Promise<Figures> {
  const f = await syncPhases(c, encoding, order, ks, vs);
  f['put async os'] = await putAsync(c, 'os', encoding, ks, vs);
  f['put async fsync'] = await putAsync(c, 'fsync', encoding, ks, vs);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  return f;
}

interface Case { phase: string; durability: KvDurability; target?: string; size?: true }
const CASES: Case[] = [
  { phase: 'get', durability: 'os', target: '≥ 3×' },
  { phase: 'get, warm', durability: 'os', target: '≥ 3×' },
  { phase: 'putSync', durability: 'os', target: '≥ 3×' },
  { phase: 'put async fsync', durability: 'fsync', target: '≥ 2×' },
  { phase: 'put async os', durability: 'os', target: '≥ 2×' },
  { phase: 'remove', durability: 'os' },
  { phase: 'getRange 100', durability: 'os', target: '≥ 2×' },
  { phase: 'mixed 90/10', durability: 'os' },
  { phase: 'file size', durability: 'os', target: '≤ 1.5×', size: true },
];

const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '-');
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
const durabilities = (d: KvDurability) => CONTENDERS.map((c) => c.durability[d]).join(' / ');

/**
 * Decodes/s of msgpackr alone on these values, encoded with shared
 * structures (median of WARM_PASSES passes after one unmeasured): every msgpack get, on either
 * side, decodes its value once, so no get can run faster than this.
 */
function decodeRate(vs: unknown[]): number {
  const packr = new Packr({ structures: [] });
  const encoded = vs.map((v) => Uint8Array.from(packr.pack(v)));
  // One buffer holding them all, as both stores decode from memory they reuse (msgpackr keeps a view per buffer).
  const all = new Uint8Array(encoded.reduce((n, b) => n + b.length, 0));
  const ends: number[] = [];
  encoded.reduce((at, b) => { all.set(b, at); ends.push(at + b.length); return at + b.length; }, 0);
  const pass = () => { for (let i = 0; i < ends.length; i++) check(packr.unpack(all, { start: i ? ends[i - 1] : 0, end: ends[i] }) !== undefined, 'a value does not decode'); };
  pass(); // warm, as the stores' warm gets are
  return median(Array.from({ length: WARM_PASSES }, () => opsPerSec(ends.length, pass)));
}

async function table(n: number, encoding: KvEncoding): Promise<void> {
  const vs = values(n, encoding);
  const body: string[][] = [];
  const warmGets: Array<{ order: string; lmdb: number }> = [];
  for (const order of ['sequential', 'random'] as const) {
    const ks = keys(n, order);
    const runs: Figures[][] = CONTENDERS.map(() => []);
    for (let r = 0; r < RUNS; r++) {
      // Rotate who goes first, so warm-up and page-cache effects fall on each in turn.
      for (let j = 0; j < CONTENDERS.length; j++) {
        const i = (j + r) % CONTENDERS.length;
        runs[i].push(await runOnce(CONTENDERS[i], encoding, order, ks, vs));
      }
    }
    if (encoding === 'msgpack') warmGets.push({ order, lmdb: median(runs[1].map((x) => x['get, warm'])) });
    for (const cs of CASES) {
      const [p, l, q] = runs.map((rs) => median(rs.map((x) => x[cs.phase])));
      const show = cs.size ? mib : rate;
      body.push([cs.phase, order, durabilities(cs.durability), show(p), show(l), show(q), ratio(p, l), cs.target ?? '', ratio(p, q)]);
    }
  }
  printGrid(
    ['case', 'order', `durability (${CONTENDERS.map((c) => c.name).join(' / ')})`, 'pheap', 'lmdb-js', 'sqlite', 'pheap/lmdb', 'target', 'pheap/sqlite'],
    body,
    (i) => i >= 3,
    `\n${n.toExponential(0)} keys, 16-byte keys, ${encoding === 'binary' ? '100-byte binary values' : 'small msgpack objects'}, medians of ${RUNS} runs (put async: ${IN_FLIGHT} in flight; getRange: ranges of ${RANGE}/s)`,
  );
  if (encoding === 'msgpack') {
    const floor = decodeRate(vs);
    for (const g of warmGets) console.log(`decode floor (${g.order}): msgpackr decodes these values alone at ${rate(floor)}; get ≥ 3× lmdb-js's warm get would need ${rate(3 * g.lmdb)}${3 * g.lmdb > floor ? ', faster than decoding alone' : ''}`);
  }
}

/** Build a store of about OPEN_MIB MiB (1000-byte values, 10 000 puts per transaction), close it; then the median time of RUNS reopens (open + one get), in ms. */
async function reopenMs(c: KvContender): Promise<{ ms: number; bytes: number }> {
  const file = freshPath(c);
  const n = Math.ceil((OPEN_MIB * MiB) / 1000);
  const value = new Uint8Array(1000).fill(1);
  let s = c.open(file, openOpts('binary', 'os'));
  for (let i = 0; i < n; i += 10_000) s.transactionSync(() => { for (let j = i; j < Math.min(n, i + 10_000); j++) s.putSync(key(j), value); });
  await s.close();
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    s = c.open(file, openOpts('binary', 'os'));
    check(s.get(key(n - 1)) !== undefined, `${c.name}: the last key is missing after reopen`);
    times.push(performance.now() - t0);
    await s.close();
  }
  const bytes = dirBytes(path.dirname(file));
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  return { ms: median(times), bytes };
}

async function openTable(): Promise<void> {
  const res = [];
  for (const c of CONTENDERS) res.push(await reopenMs(c));
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  printGrid(
    ['case', `durability (${CONTENDERS.map((c) => c.name).join(' / ')})`, 'pheap', 'lmdb-js', 'sqlite', 'pheap/lmdb', 'pheap/sqlite'],
    [
      ['reopen (open + 1 get)', durabilities('os'), ...res.map((x) => ms(x.ms)), ratio(res[0].ms, res[1].ms), ratio(res[0].ms, res[2].ms)],
      ['file size', durabilities('os'), ...res.map((x) => mib(x.bytes)), ratio(res[0].bytes, res[1].bytes), ratio(res[0].bytes, res[2].bytes)],
    ],
    (i) => i >= 2,
    `\nopen time of a ${OPEN_MIB} MiB store (${Math.ceil((OPEN_MIB * MiB) / 1000)} keys × 1000-byte values), medians of ${RUNS} reopens (ratios: < 1 is pheap faster / smaller)`,
  );
}

console.log(`pheap: ${pheap.name} on the ${BACKEND ?? 'default'} backend (BENCH_KV_BACKEND): at os ${pheapBackend('os', BACKEND)}, at fsync ${pheapBackend('fsync', BACKEND)}; sqlite ${sqliteVersion()}`);
for (const n of SIZES) for (const encoding of ['binary', 'msgpack'] as const) await table(n, encoding);
if (OPEN_MIB > 0) await openTable();
else console.log('\nopen time of a 1 GiB store: not run (set BENCH_KV_OPEN_MIB=1024)');
if (!SIZES.includes(1_000_000)) console.log('1e6 keys: not run (set BENCH_KV_1E6=1)');
fs.rmSync(dir, { recursive: true, force: true });
