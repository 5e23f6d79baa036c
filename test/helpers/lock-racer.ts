// lock-racer.ts — the child process of test/lock.test.ts, bundled by the test
// with esbuild and started with fork() (an IPC channel). It owns nothing on
// disk: every file it touches is named by the parent.
//
// Messages (one reply each, except `createLoop`, which replies once and then
// creates pools until it is killed, and `createKill`, which is killed at its
// chosen step):
//   open       — wait for the common start instant, Pool.open the file; on a
//                win hold the pool `holdMs`, with the overlap marker created
//                exclusively ('wx') for exactly that time, so two holders at
//                once are seen by the second one's EEXIST; close.
//   create     — the same start, then Pool.create the (missing) file.
//   createKill — Pool.create through a backend wrapper that SIGKILLs this
//                process at step `killAt`: before each drain, before
//                finishCreate, after it (no kill when out of range: the reply
//                says how many steps there were).
//   createLoop — create pools <dir>/p-<i>.pool one after another, forever.
// `native: false` sets PHEAP_NO_NATIVE=1 for the call (the portable lock).
// Errors are reported, never thrown: `typed` says whether it is a PheapError.
// The test imports only this file's types (its body runs in the child).

import * as fs from 'node:fs';
import { Pool, PheapError, FileBackend, MappedBackend, type Backend } from '../../src/index.js';
import { setModuleLoader } from '../../src/core.js';

setModuleLoader(() => new WebAssembly.Module(fs.readFileSync(process.env.PHEAP_WASM!)));

interface Common { id: number; native: boolean; layout: string }
export type RacerRequest =
  | (Common & { op: 'open'; file: string; startAt: string; holdMs: number; marker: string })
  | (Common & { op: 'create'; file: string; startAt: string; size: number })
  | (Common & { op: 'createKill'; file: string; size: number; killAt: number })
  | (Common & { op: 'createLoop'; dir: string; size: number });

export interface RacerReply {
  id: number;
  won: boolean;
  /** A win that found another holder's overlap marker. */
  overlap?: boolean;
  error?: { name: string; typed: boolean; message: string };
  /** createKill without a kill: the number of steps the create took. */
  steps?: number;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleepMs(ms: number): void {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
}

/** Block until the monotonic clock (shared by all processes) reaches `at` ns. */
function waitUntil(at: bigint): void {
  const coarse = Number(at - process.hrtime.bigint()) / 1e6 - 1;
  sleepMs(coarse);
  while (process.hrtime.bigint() < at) { /* spin the last millisecond */ }
}

function setNative(native: boolean): void {
  if (native) delete process.env.PHEAP_NO_NATIVE;
  else process.env.PHEAP_NO_NATIVE = '1';
}

function failure(id: number, e: unknown): RacerReply {
  const err = e as Error;
  return { id, won: false, error: { name: err?.name ?? String(e), typed: e instanceof PheapError, message: String(err?.message ?? e) } };
}

/** The last pool this racer closed: its memory and core are reused by the next open (as crash exploration does). */
let recycle: Pool | undefined;

function openRace(m: Extract<RacerRequest, { op: 'open' }>): RacerReply {
  waitUntil(BigInt(m.startAt));
  let pool: Pool;
  try {
    pool = Pool.open({ path: m.file, layout: m.layout, backend: m.native ? 'mapped' : 'file', durability: 'os', recycle });
  } catch (e) {
    return failure(m.id, e);
  }
  recycle = pool;
  let overlap = false;
  try {
    fs.writeFileSync(m.marker, String(process.pid), { flag: 'wx' });
  } catch {
    overlap = true; // another racer holds the pool right now
  }
  sleepMs(m.holdMs);
  if (!overlap) fs.unlinkSync(m.marker);
  pool.close();
  return { id: m.id, won: true, overlap };
}

function createRace(m: Extract<RacerRequest, { op: 'create' }>): RacerReply {
  waitUntil(BigInt(m.startAt));
  try {
    Pool.create({ path: m.file, size: m.size, layout: m.layout, backend: m.native ? 'mapped' : 'file', seed: m.id }).close();
    return { id: m.id, won: true };
  } catch (e) {
    return failure(m.id, e);
  }
}

/** The real backend behind a wrapper whose steps (drains, publishing) count towards a SIGKILL at `killAt`. */
function killingBackend(m: Extract<RacerRequest, { op: 'createKill' }>, counter: { steps: number }): Backend {
  const real = m.native ? MappedBackend.create(m.file, m.size, 'fsync') : FileBackend.create(m.file, m.size, 'fsync');
  const step = () => { if (counter.steps++ === m.killAt) process.kill(process.pid, 'SIGKILL'); };
  return {
    kind: real.kind, durability: real.durability, size: real.size, evicts: real.evicts,
    get isPmem() { return real.isPmem; },
    attach: (memory, base) => real.attach(memory, base),
    drain: (ranges, count, final) => { step(); real.drain(ranges, count, final); },
    finishCreate: () => { step(); real.finishCreate(); step(); },
    close: (flush) => real.close(flush),
  };
}

function createKill(m: Extract<RacerRequest, { op: 'createKill' }>): RacerReply {
  const counter = { steps: 0 };
  Pool.create({ path: m.file, size: m.size, layout: m.layout, backend: killingBackend(m, counter), seed: m.id }).close();
  return { id: m.id, won: true, steps: counter.steps };
}

function createLoop(m: Extract<RacerRequest, { op: 'createLoop' }>): void {
  let i = 0;
  const next = () => {
    Pool.create({ path: `${m.dir}/p-${i}.pool`, size: m.size, layout: m.layout, backend: m.native ? 'mapped' : 'file', seed: i }).close();
    i++;
    setImmediate(next);
  };
  process.send!({ id: m.id, won: true } satisfies RacerReply, () => setImmediate(next));
}

process.on('message', (m: RacerRequest) => {
  setNative(m.native);
  if (m.op === 'createLoop') return createLoop(m);
  let reply: RacerReply;
  try {
    reply = m.op === 'open' ? openRace(m) : m.op === 'create' ? createRace(m) : createKill(m);
  } catch (e) {
    reply = failure(m.id, e);
  }
  process.send!(reply);
});
