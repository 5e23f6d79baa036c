// bench/mapped.ts — `npm run bench:mapped` (node bench/run.mjs mapped): the
// mapped backend (pool file mmap'd into linear memory by the native shim)
// against the file and memory backends, and against lmdb on the same disk.
//
//   open   Pool.open of a 64 MiB, 256 MiB and 1 GiB pool whose every byte is
//          on disk (not sparse), page cache warm, mapped vs file backend.
//          Target: mapped ≤ 20 ms, independent of the size. At 'os' and at
//          'fsync' (the default for paths): open persists the open counter,
//          so at 'fsync' it includes one msync/fdatasync of the header page.
//          A full GC runs before each timed open (not timed).
//   tx     the tx bench's case (a), through the TS API: snapshot 64 B +
//          modify + commit (pool.tx, tx.setU64), rotating over 1024 lines.
//          Mapped at 'os' vs the memory backend (target ≥ 0.9×); then at
//          'fsync': mapped (msync of the touched pages per drain), file
//          (pwrite + fdatasync per drain) and lmdb-js `putSync` of 64 B with
//          lmdb's default sync settings, all in the same directory.
//
// Every row names its durability level. Medians of BENCH_RUNS runs (default 5).
// BENCH_DIR picks the directory (default: os.tmpdir()).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { open as openLmdb } from 'lmdb';
import { Pool, OutOfSpaceError, type Durability } from '../src/index.js';
import { nativeStatus } from '../src/backends/native.js';
import { measure, median, printTable, type Row } from './lib/report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MiB = 1 << 20;
const LAYOUT = 'bench-mapped';
const HOT = 1024;

const status = nativeStatus();
if (!status.native) {
  console.error(`bench:mapped needs the native shim: ${status.reason}`);
  process.exit(1);
}

const dir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'pheap-bench-mapped-'));
const flag = (b: boolean) => (b ? 'yes' : 'no');

// A full GC and a short pause before each timed open, so no open pays for
// collecting the previous pool's memory: a 1 GiB file-backend memory is 1 GiB
// of touched pages, and V8 unmaps it on a background thread, holding the
// process's mmap lock that the mapped backend's mmap needs.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

// ─── open time ──────────────────────────────────────────────────────────────

/** A pool of `size` bytes whose whole heap is allocated and written, so the file is not sparse. */
function makeFullPool(file: string, size: number): void {
  const p = Pool.create({ path: file, backend: 'mapped', size, layout: LAYOUT, seed: 1, durability: 'os' });
  const r = p.root(64);
  const fill = new Uint8Array(MiB).fill(0x5a);
  let slot = 0;
  for (let chunk = 16 * MiB; chunk >= 64 * 1024; chunk >>= 1) {
    for (;;) {
      let o: number;
      try { o = p.alloc(chunk, { type: 1 }); } catch (e) { if (e instanceof OutOfSpaceError) break; throw e; }
      for (let at = 0; at < chunk; at += MiB) p.writeBytes(o + at, fill.subarray(0, Math.min(MiB, chunk - at)));
      p.persist(o, chunk);
      if (slot < 16) { p.writeU32(r + 4 * slot, o); slot++; }
    }
  }
  p.persist(r, 64);
  p.close();
  const fd = fs.openSync(file, 'r+');
  fs.fsyncSync(fd); // no dirty pages left over for the first timed msync/fdatasync to pay for
  fs.closeSync(fd);
  // (Almost) every block allocated: only metadata pages the core never wrote stay holes.
  const st = fs.statSync(file);
  if (st.blocks * 512 < 0.99 * size) throw new Error(`${file} is sparse (${st.blocks * 512} of ${size} bytes on disk)`);
}

/** Pool.open time in ms, and the part of it the core spent validating and recovering. */
/** Collect garbage and give the engine's background threads time to unmap freed memories. */
async function settle(): Promise<void> {
  gc();
  await new Promise((r) => setTimeout(r, 50));
}

async function openMs(file: string, backend: 'mapped' | 'file', durability: Durability): Promise<{ ms: number; coreMs: number }> {
  await settle();
  const t0 = performance.now();
  const p = Pool.open({ path: file, backend, layout: LAYOUT, durability });
  const ms = performance.now() - t0;
  if (p.info().backend !== backend) throw new Error(`opened ${p.info().backend}, wanted ${backend}`);
  if (p.readU32(p.root(64)) === 0) throw new Error('root lost');
  const coreMs = p.stats().recovery.ms;
  p.close();
  return { ms, coreMs };
}

const openRows: Row[] = [];
const openSummary: string[] = [];
for (const size of [64 * MiB, 256 * MiB, 1024 * MiB]) {
  const file = path.join(dir, `open-${size / MiB}.pool`);
  makeFullPool(file, size);
  fs.readFileSync(file); // warm the page cache for both backends alike (a read, not a mapping)
  const label = size >= 1024 * MiB ? `${size / 1024 / MiB} GiB` : `${size / MiB} MiB`;
  type Key = `${'mapped' | 'file'} ${Durability}`;
  const keys: Key[] = ['mapped os', 'mapped fsync', 'file os', 'file fsync'];
  const times = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<Key, number[]>;
  const core: number[] = [];
  await openMs(file, 'mapped', 'os'); await openMs(file, 'file', 'os'); // warm-up: compile, JIT
  // One backend at a time: all mapped opens, then all file opens.
  for (const k of keys) {
    const [backend, durability] = k.split(' ') as ['mapped' | 'file', Durability];
    for (let i = 0; i < RUNS; i++) {
      const m = await openMs(file, backend, durability);
      times[k].push(m.ms);
      if (backend === 'mapped') core.push(m.coreMs);
    }
  }
  for (const d of ['os', 'fsync'] as const) {
    const mapped = median(times[`mapped ${d}`]), filed = median(times[`file ${d}`]);
    openRows.push({ case: `open ${label}`, backend: 'mapped', durability: d, usPerOp: mapped * 1000, anchor: `file backend, ${label}`, anchorOpsPerSec: 1000 / filed });
    openRows.push({ case: `open ${label}`, backend: 'file', durability: d, usPerOp: filed * 1000 });
  }
  const runs = (k: Key, digits: number) => times[k].map((t) => t.toFixed(digits)).join(', ');
  openSummary.push(`${label}: mapped runs (ms) os ${runs('mapped os', 1)} | fsync ${runs('mapped fsync', 1)}; ` +
    `core open + recovery median ${median(core).toFixed(2)} ms; file runs os ${runs('file os', 0)} | fsync ${runs('file fsync', 0)}`);
  fs.rmSync(file);
}

// ─── transactions ───────────────────────────────────────────────────────────

/** case (a): snapshot 64 B + modify + commit over HOT lines of a 64-byte-aligned area. */
function txRate(pool: Pool, minTimeMs = 200): number {
  const area = pool.alloc(HOT * 64, { zero: true, align64: true });
  return measure((n) => {
    for (let i = 0; i < n; i++) {
      const off = area + ((i % HOT) << 6);
      pool.tx((tx) => tx.setU64(off, pool.readU64(off) + 1n));
    }
  }, { runs: RUNS, minTimeMs });
}

function pathPool(backend: 'mapped' | 'file', durability: Durability, size = 64 * MiB): Pool {
  const file = path.join(dir, `tx-${backend}-${durability}-${Date.now()}.pool`);
  return Pool.create({ path: file, backend, size, layout: LAYOUT, durability });
}

function withPool<T>(p: Pool, fn: (p: Pool) => T): T {
  try { return fn(p); } finally { p.close(); }
}

// Interleave memory and mapped measurements, several times, and take medians
// of the medians: the two figures are compared as a ratio, so drift between
// them matters more than absolute speed.
const memRates: number[] = [];
const mappedOsRates: number[] = [];
let mappedIsPmem = false;
for (let round = 0; round < 3; round++) {
  memRates.push(withPool(Pool.create({ size: 64 * MiB, layout: LAYOUT, durability: 'os' }), (p) => txRate(p)));
  mappedOsRates.push(withPool(pathPool('mapped', 'os'), (p) => { mappedIsPmem = p.info().isPmem; return txRate(p); }));
}
const mem = median(memRates);
const mappedOs = median(mappedOsRates);
const mappedNone = withPool(pathPool('mapped', 'none'), (p) => txRate(p));
const fileOs = withPool(pathPool('file', 'os'), (p) => txRate(p));

const mappedFsync = withPool(pathPool('mapped', 'fsync'), (p) => txRate(p, 500));
const fileFsync = withPool(pathPool('file', 'fsync'), (p) => txRate(p, 500));

// lmdb-js with its default sync settings: each putSync is one durable write transaction.
const lmdbDir = path.join(dir, 'lmdb');
const db = openLmdb({ path: lmdbDir });
const value = Buffer.alloc(64, 7);
for (let i = 0; i < HOT; i++) db.putSync(i, value); // the keys exist: updates, like the tx case
const lmdbPutSync = measure((n) => { for (let i = 0; i < n; i++) { value[0] = i & 255; db.putSync(i % HOT, value); } }, { runs: RUNS, minTimeMs: 500 });
await db.close();

// The floor on this disk: one 64-byte pwrite + fdatasync (a transaction drains 3 times).
const floorFd = fs.openSync(path.join(dir, 'floor'), 'w+');
const buf64 = Buffer.alloc(64, 1);
const floor = measure((n) => { for (let i = 0; i < n; i++) { fs.writeSync(floorFd, buf64, 0, 64, (i % 64) * 64); fs.fdatasyncSync(floorFd); } }, { runs: RUNS, minTimeMs: 500 });
fs.closeSync(floorFd);

const txRows: Row[] = [
  { case: 'tx_snapshot_64', backend: 'memory', durability: 'os', opsPerSec: mem },
  { case: 'tx_snapshot_64', backend: 'mapped', durability: 'os', opsPerSec: mappedOs, anchor: 'memory backend, os', anchorOpsPerSec: mem },
  { case: 'tx_snapshot_64', backend: 'mapped', durability: 'none', opsPerSec: mappedNone, anchor: 'memory backend, os', anchorOpsPerSec: mem },
  { case: 'tx_snapshot_64', backend: 'file', durability: 'os', opsPerSec: fileOs, anchor: 'memory backend, os', anchorOpsPerSec: mem },
  { case: 'tx_snapshot_64', backend: 'mapped', durability: 'fsync', usPerOp: 1e6 / mappedFsync, anchor: 'lmdb putSync 64 B', anchorOpsPerSec: lmdbPutSync },
  { case: 'tx_snapshot_64', backend: 'file', durability: 'fsync', usPerOp: 1e6 / fileFsync, anchor: 'lmdb putSync 64 B', anchorOpsPerSec: lmdbPutSync },
  { case: 'putSync 64 B (default sync)', backend: 'lmdb', durability: 'fsync', usPerOp: 1e6 / lmdbPutSync },
  { case: 'pwrite 64 B + fdatasync', backend: 'file', durability: 'fsync', usPerOp: 1e6 / floor },
];

fs.rmSync(dir, { recursive: true, force: true });

const where = `${process.env.BENCH_DIR ?? os.tmpdir()} (${os.platform()}-${os.arch()}, ${os.cpus().length} CPUs)`;
console.log(`pheap mapped backend: shim loaded, flush instruction ${status.native.flushInstruction()}, isPmem here: ${flag(mappedIsPmem)}; files in ${where}\n`);
printTable(openRows, `open time (warm page cache, pool fully written), medians of ${RUNS} runs; ratio = file time ÷ mapped time`);
console.log(openSummary.map((s) => `  ${s}`).join('\n'));
console.log();
printTable(txRows, `transactions, snapshot 64 B + modify + commit through pool.tx (3 drains each), medians of ${RUNS} runs` +
  ` (memory and mapped 'os': median of 3 interleaved rounds)`);
console.log(`  memory rounds: ${memRates.map((r) => (r / 1e3).toFixed(0)).join(', ')} k/s; mapped 'os' rounds: ${mappedOsRates.map((r) => (r / 1e3).toFixed(0)).join(', ')} k/s`);
console.log(`  mapped 'os' ÷ memory = ${(mappedOs / mem).toFixed(2)}× (target ≥ 0.9×); mapped 'fsync' = ${(1e6 / mappedFsync).toFixed(0)} µs/tx, ` +
  `lmdb putSync = ${(1e6 / lmdbPutSync).toFixed(0)} µs/op`);
