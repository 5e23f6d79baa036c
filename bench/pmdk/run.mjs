// Runs the PMDK libpmemobj anchor harness (bench/pmdk/harness.c) and returns
// median ops/s per case. Plain ESM so it runs on Node 20 without a TS loader.
//
//   import { runPmdk } from "./bench/pmdk/run.mjs";
//   const pmdk = await runPmdk({ runs: 5 });   // null when PMDK is absent
//
//   node bench/pmdk/run.mjs [--runs N] [--ops N] [--tx-ops N] [--large-ops N]
//                           [--batch N] [--seed N] [--cases a,b] [--json]
//
// The harness is compiled with gcc -O2 into bench/pmdk/build/ only when the
// source or the compile command changed. Each run gets a fresh pool in
// /dev/shm (PMEM_IS_PMEM_FORCE=1, so flushes are CLWB/CLFLUSHOPT + SFENCE,
// never msync); pool files are removed afterwards.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const SRC = join(HERE, "harness.c");
const BUILD = join(HERE, "build");
const BIN = join(BUILD, "harness");
const STAMP = join(BUILD, "harness.stamp");

/** The published performance anchors (docs/benchmarks.md) (PMDK 1.12, this kind of machine).
 * The anchors do not say where the destination oid lived; the figures match
 * the in-pool (publish) variant, so both variants are compared with them. */
export const PMDK_ANCHORS = {
  alloc_64: 0.76e6,
  free_64: 1.17e6,
  alloc_64_publish: 0.76e6,
  free_64_publish: 1.17e6,
  tx_snapshot_64: 1.25e6,
  tx_alloc_64_publish: 0.69e6,
};

/** What one op is, per case (for tables and docs). */
export const PMDK_CASES = {
  alloc_free_64_lifo: "pmemobj_alloc 64 B + pmemobj_free, LIFO, volatile oid (1 op = pair)",
  alloc_free_64_random: "same, frees in random order (1 op = pair)",
  alloc_free_mixed: "sizes 16 B..4 KiB uniform, random free order (1 op = pair)",
  alloc_free_large: "256 KiB alloc + free, LIFO (1 op = pair)",
  alloc_64: "pmemobj_alloc 64 B, volatile oid",
  free_64: "pmemobj_free 64 B, volatile oid",
  alloc_64_publish: "pmemobj_alloc 64 B into an oid inside the pool",
  free_64_publish: "pmemobj_free 64 B clearing an oid inside the pool",
  tx_snapshot_64: "TX: add_range 64 B + modify + commit",
  tx_snapshot_8x64: "TX: 8 scattered add_range 64 B + modify + commit",
  tx_alloc_64_publish: "TX: add_range slot + pmemobj_tx_alloc 64 B + store oid",
};

const INCLUDE_DIRS = ["/usr/include", "/usr/local/include"];
const LIB_DIRS = [
  "/usr/lib/x86_64-linux-gnu",
  "/usr/lib/aarch64-linux-gnu",
  "/usr/lib64",
  "/usr/lib",
  "/usr/local/lib",
  "/usr/local/lib64",
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function which(cmd) {
  try {
    await run("sh", ["-c", `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

/** Is libpmemobj (header + shared library) installed? */
export async function pmdkPresent() {
  try {
    await run("pkg-config", ["--exists", "libpmemobj"]);
    return true;
  } catch {
    /* no pkg-config or no .pc file: look for the files directly */
  }
  const header = INCLUDE_DIRS.some((d) => existsSync(join(d, "libpmemobj.h")));
  const lib = LIB_DIRS.some((d) => existsSync(join(d, "libpmemobj.so")));
  return header && lib;
}

/** Compile the harness if missing or stale. Returns the binary path. */
export async function buildHarness({ log = () => {} } = {}) {
  const args = ["-O2", "-Wall", "-o", BIN, SRC, "-lpmemobj"];
  const key = createHash("sha256")
    .update(readFileSync(SRC))
    .update(JSON.stringify(args))
    .digest("hex");
  if (existsSync(BIN) && existsSync(STAMP) && readFileSync(STAMP, "utf8") === key) return BIN;
  mkdirSync(BUILD, { recursive: true });
  log("pmdk: compiling bench/pmdk/harness.c");
  await run("gcc", args);
  writeFileSync(STAMP, key);
  return BIN;
}

/**
 * Runs the harness `runs` times and returns { case: { opsPerSec, runs } }
 * with opsPerSec the median, or null when libpmemobj or gcc is missing.
 *
 * @param {{ runs?: number, ops?: number, txOps?: number, largeOps?: number,
 *   batch?: number, seed?: number, cases?: string[],
 *   log?: (line: string) => void }} [opts]
 * @returns {Promise<null | Record<string, { opsPerSec: number, runs: number[] }>>}
 */
export async function runPmdk(opts = {}) {
  const log = opts.log ?? ((line) => console.error(line));
  const runs = opts.runs ?? 5;
  if (!(await pmdkPresent())) {
    log("pmdk: libpmemobj not installed (run scripts/setup-system.sh as root); skipping PMDK anchors");
    return null;
  }
  if (!(await which("gcc"))) {
    log("pmdk: gcc not found; skipping PMDK anchors");
    return null;
  }
  let bin;
  try {
    bin = await buildHarness({ log });
  } catch (e) {
    const first = String(e.stderr || e.message).split("\n").find((l) => l.trim()) ?? "";
    log(`pmdk: harness failed to compile (${first.trim()}); skipping PMDK anchors`);
    return null;
  }

  const args = [];
  const flag = (name, v) => v !== undefined && args.push(name, String(v));
  flag("--ops", opts.ops);
  flag("--tx-ops", opts.txOps);
  flag("--large-ops", opts.largeOps);
  flag("--batch", opts.batch);
  flag("--seed", opts.seed);
  if (opts.cases?.length) args.push("--cases", opts.cases.join(","));

  const shm = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  if (shm !== "/dev/shm") log(`pmdk: /dev/shm missing, pool in ${shm}`);
  const env = { ...process.env, PMEM_IS_PMEM_FORCE: "1" };

  /** @type {Record<string, number[]>} */
  const perCase = {};
  for (let i = 0; i < runs; i++) {
    const pool = join(shm, `pheap-pmdk-${process.pid}-${i}.pool`);
    rmSync(pool, { force: true });
    try {
      const { stdout } = await run(bin, ["--pool", pool, ...args], {
        env,
        maxBuffer: 1 << 20,
      });
      for (const line of stdout.split("\n")) {
        if (!line.startsWith("{")) continue;
        const r = JSON.parse(line);
        (perCase[r.case] ??= []).push(r.opsPerSec);
      }
    } finally {
      rmSync(pool, { force: true });
    }
  }
  /** @type {Record<string, { opsPerSec: number, runs: number[] }>} */
  const out = {};
  for (const [name, xs] of Object.entries(perCase)) out[name] = { opsPerSec: median(xs), runs: xs };
  return out;
}

function fmt(x) {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M/s`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k/s`;
  return `${x.toFixed(1)} /s`;
}

function parseArgs(argv) {
  const o = {};
  const num = (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`bad number: ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === "--json") o.json = true;
    else if (a === "--runs") (o.runs = num(v)), i++;
    else if (a === "--ops") (o.ops = num(v)), i++;
    else if (a === "--tx-ops") (o.txOps = num(v)), i++;
    else if (a === "--large-ops") (o.largeOps = num(v)), i++;
    else if (a === "--batch") (o.batch = num(v)), i++;
    else if (a === "--seed") (o.seed = num(v)), i++;
    else if (a === "--cases") (o.cases = v.split(",")), i++;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const res = await runPmdk(o);
  if (!res) return;
  if (o.json) {
    console.log(JSON.stringify(res, null, 2));
    return;
  }
  const rows = Object.entries(res).map(([name, r]) => {
    const anchor = PMDK_ANCHORS[name];
    return {
      case: name,
      "median ops/s": fmt(r.opsPerSec),
      "µs/op": (1e6 / r.opsPerSec).toFixed(3),
      min: fmt(Math.min(...r.runs)),
      max: fmt(Math.max(...r.runs)),
      "DESIGN anchor": anchor ? fmt(anchor) : "",
      "vs anchor": anchor ? (r.opsPerSec / anchor).toFixed(2) : "",
    };
  });
  const runs = res[Object.keys(res)[0]]?.runs.length ?? 0;
  console.log(`PMDK libpmemobj, pool in /dev/shm, PMEM_IS_PMEM_FORCE=1, median of ${runs} runs`);
  console.table(rows);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
