// The mapped backend (src/backends/mapped.ts): the pool file mapped straight
// over the pool region of linear memory by the native shim. These tests FAIL,
// not skip, when the shim is not built (CI builds it at npm install): the
// default backend for a path on Linux is 'mapped', and a silent fallback here
// would hide exactly the breakage they exist to catch. The fallback itself is
// tested on purpose, with PHEAP_NO_NATIVE=1.
//
// What is shown: round trips; stores by the WASM core are in the file (read
// with fs) right after a drain at 'fsync', one native call per drain with the
// right mode; the address guard (grow in place, a simulated move re-maps, a
// failed re-map is a typed error); close unmaps (a recycled memory never
// writes into the old file); byte-identical files on mapped, file and memory
// for the same seeded workload; crash() is refused with a typed error; a
// child process killed with SIGKILL at many different moments leaves a pool
// that reopens consistent, holding a prefix of its committed transactions;
// the fallback to the file backend with its one-line notice; `pheap doctor
// --json` on this machine.

import { describe, it, expect, beforeAll, vi } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import {
  Pool, MappedBackend, MappedBackendError, UnsupportedOperationError, PoolExistsError, PoolNotFoundError,
  NotAPoolError, PoolLockedError, LayoutMismatchError, POOL_BASE, MAX_POOL_SIZE, type Durability,
} from '../src/index.js';
import { DrainMode, NATIVE_ADDON_PATH, fallbackNotice, nativeStatus, type NativeMmap } from '../src/backends/native.js';
import { useTempDir, sha256File, sameBytes, thrown } from './helpers/pool-files.js';
import { claimFiles } from '../src/backends/lock.js';
import { applyTx, committed, stateProblems, WORKLOAD_LAYOUT } from './helpers/tx-workload.js';

const tmp = useTempDir('pheap-mapped-');
const repo = fileURLToPath(new URL('..', import.meta.url));
const WASM = path.join(repo, 'build', 'pheap.wasm');
const MiB = 1024 * 1024;
const SIZE = MiB;
const LAYOUT = 'mapped-test';
const status = nativeStatus();

function shim(): NativeMmap {
  if (!status.native) throw new Error(`native shim unavailable (${status.reason}); build it with: node scripts/build-native.mjs`);
  return status.native;
}


/** The file's bytes, read with a separate fd (read(2), not through our mapping). */
function fileBytes(file: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(file));
}

interface SpyCall { fn: string; args: unknown[] }

/** The real shim behind a recorder; `moveBy` makes address() report a moved store. */
function spyNative(real: NativeMmap) {
  const calls: SpyCall[] = [];
  const ctl = { moveBy: 0n, failMap: false };
  const native: NativeMmap = {
    pageSize: real.pageSize,
    map(buffer, offset, length, fd, tryDax) {
      calls.push({ fn: 'map', args: [offset, length, tryDax] });
      if (ctl.failMap) throw Object.assign(new Error('pheap_mmap: simulated refusal'), { code: 'ERR_PHEAP_MMAP' });
      return real.map(buffer, offset, length, fd, tryDax);
    },
    unmap(buffer, offset, length) { calls.push({ fn: 'unmap', args: [offset, length] }); real.unmap(buffer, offset, length); },
    address(buffer) { const a = real.address(buffer); return a === 0n ? a : a + ctl.moveBy; },
    drain(buffer, offset, ranges, count, mode) {
      calls.push({ fn: 'drain', args: [offset, count, mode] });
      real.drain(buffer, offset, ranges, count, mode);
    },
    flushInstruction: () => real.flushInstruction(),
    probeMapSync: (fd, length) => real.probeMapSync(fd, length),
    lock: (fd) => real.lock(fd),
  };
  return { native, calls, ctl, count: (fn: string) => calls.filter((c) => c.fn === fn).length };
}

describe('choosing the backend', () => {
  it('the shim is built and loads (run `node scripts/build-native.mjs` if this fails)', () => {
    expect(status.reason, `could not load ${NATIVE_ADDON_PATH}`).toBeNull();
  });

  it("a path without a `backend` option gets 'mapped' here; info() names backend, isPmem and durability", () => {
    shim();
    const file = tmp.file('default');
    const p = Pool.create({ path: file, size: SIZE, layout: LAYOUT });
    try {
      expect(p.info()).toEqual({ backend: 'mapped', isPmem: false, evicts: true, durability: 'fsync', size: SIZE, maxSize: MAX_POOL_SIZE, path: file });
    } finally {
      p.close();
    }
    const q = Pool.open({ path: file, layout: LAYOUT, durability: 'os' });
    expect(q.info()).toMatchObject({ backend: 'mapped', isPmem: false, durability: 'os' });
    q.close();
  });

  it("an explicit backend overrides the default: 'file' and 'memory'", () => {
    const file = tmp.file('explicit');
    const p = Pool.create({ path: file, size: SIZE, layout: LAYOUT, backend: 'file', durability: 'os' });
    expect(p.info()).toMatchObject({ backend: 'file', isPmem: false, durability: 'os' });
    p.close();
    const q = Pool.open({ path: file, layout: LAYOUT, backend: 'mapped' });
    expect(q.info()).toMatchObject({ backend: 'mapped', durability: 'fsync' });
    q.close();
    const m = Pool.create({ size: SIZE, layout: LAYOUT });
    expect(m.info()).toMatchObject({ backend: 'memory', isPmem: false, durability: 'os' });
    m.close();
  });

  it('isPmem agrees with the kernel: MAP_SYNC is refused here, so the mapping is not pmem', () => {
    const file = tmp.file('probe');
    fs.writeFileSync(file, new Uint8Array(65536));
    const fd = fs.openSync(file, 'r+');
    const probe = shim().probeMapSync(fd, 65536);
    fs.closeSync(fd);
    const pfile = tmp.file('pmem');
    const p = Pool.create({ path: pfile, size: SIZE, layout: LAYOUT });
    expect(p.info().isPmem).toBe(probe.ok);
    expect(probe.ok).toBe(false); // this machine has no DAX (see the doctor test below)
    p.close();
  });
});

describe('mapped pools', () => {
  it('round trip: create, root, transactions, close, reopen, read', () => {
    const file = tmp.file('rt');
    const p = Pool.create({ path: file, size: SIZE, layout: LAYOUT, seed: 1 });
    const r = p.root(128);
    const obj = p.alloc(100, { type: 3, into: r });
    p.tx((tx) => {
      tx.setU64(r + 8, 0x0123_4567_89ab_cdefn);
      tx.setBytes(obj, new TextEncoder().encode('mapped straight into linear memory'));
      tx.setF64(r + 16, Math.E);
    });
    expect(() => p.tx((tx) => { tx.setU32(r + 24, 99); throw new Error('abort'); })).toThrow('abort');
    expect(p.readU32(r + 24)).toBe(0);
    p.check();
    p.close();

    const q = Pool.open({ path: file, layout: LAYOUT });
    try {
      expect(q.info().backend).toBe('mapped');
      const r2 = q.root(128);
      expect(r2).toBe(r);
      expect(q.readU32(r2)).toBe(obj);
      expect(q.readU64(r2 + 8)).toBe(0x0123_4567_89ab_cdefn);
      expect(q.readF64(r2 + 16)).toBe(Math.E);
      expect(q.readU32(r2 + 24)).toBe(0);
      expect(new TextDecoder().decode(q.readBytes(obj, 34))).toBe('mapped straight into linear memory');
      expect(q.typeOf(obj)).toBe(3);
      expect(q.stats().openCount).toBe(1);
      q.check();
    } finally {
      q.close();
    }
    expect(claimFiles(file)).toEqual([]);
  });

  it("at 'fsync', the core's stores are in the file (read with fs) right after each drain, one msync-mode native call per drain", () => {
    const file = tmp.file('fsync');
    const spy = spyNative(shim());
    const backend = MappedBackend.create(file, SIZE, 'fsync', spy.native);
    const p = Pool.create({ path: file, backend, size: SIZE, layout: LAYOUT, seed: 2 });
    try {
      expect(backend.drainMode).toBe(DrainMode.msync);
      const r = p.root(64);
      let prevDrains = p.stats().drains;
      for (let i = 0; i < 20; i++) {
        p.tx((tx) => {
          const o = tx.alloc(48 + i, { type: 5 });
          tx.setU32(r + 4 * (i % 8), o);
          tx.setBytes(o, new Uint8Array(48 + i).fill(i + 1));
        });
        // Everything the core wrote (header, log, chunk table, objects, root) is in the file now.
        expect(sameBytes(fileBytes(file), p.readBytes(0, SIZE)), `tx ${i}: file differs from the pool`).toBe(true);
        const drains = p.stats().drains;
        expect(drains).toBeGreaterThan(prevDrains);
        prevDrains = drains;
      }
      expect(spy.count('drain')).toBe(p.stats().drains);
      expect(spy.calls.filter((c) => c.fn === 'drain').every((c) => c.args[0] === POOL_BASE && c.args[2] === DrainMode.msync)).toBe(true);
      expect(spy.count('map')).toBe(1);
    } finally {
      p.close();
    }
    expect(spy.count('unmap')).toBe(1);
  });

  it("drain modes: 'os' and 'none' make no native call (nothing to do); stores reach the file's pages before any drain", () => {
    for (const durability of ['os', 'none'] as Durability[]) {
      const file = tmp.file(durability);
      const spy = spyNative(shim());
      const backend = MappedBackend.create(file, SIZE, durability, spy.native);
      const p = Pool.create({ path: file, backend, size: SIZE, layout: LAYOUT });
      try {
        expect(backend.drainMode).toBe(DrainMode.none);
        const r = p.root(64);
        p.writeU64(r, 0xfeed_f00d_dead_beefn); // a raw store, never flushed
        const onDisk = new DataView(fileBytes(file).buffer).getBigUint64(r, true);
        expect(onDisk, 'a mapped store is a store into the file page').toBe(0xfeed_f00d_dead_beefn);
        p.persist(r, 8);
        p.tx((tx) => tx.setU64(r + 8, 1n));
        expect(p.stats().drains).toBeGreaterThan(3);
        expect(spy.count('drain')).toBe(0);
      } finally {
        p.close();
      }
    }
    // The file backend, for contrast: an un-drained store is not in the file.
    const file = tmp.file('filecontrast');
    const p = Pool.create({ path: file, backend: 'file', size: SIZE, layout: LAYOUT, durability: 'os' });
    const r = p.root(64);
    p.writeU64(r, 0xfeed_f00d_dead_beefn);
    expect(new DataView(fileBytes(file).buffer).getBigUint64(r, true)).toBe(0n);
    p.close();
  });

  it('close unmaps: zero pages go back, and a recycled memory never writes into the old file', () => {
    const a = tmp.file('recycle-a');
    const pa = Pool.create({ path: a, size: SIZE, layout: LAYOUT, seed: 3 });
    pa.persist(pa.root(64), 64);
    pa.close();
    const before = sha256File(a);
    // B: a different pool of the same size; reopened into A's memory and core.
    const b = tmp.file('recycle-b');
    const pb = Pool.create({ path: b, size: SIZE, layout: LAYOUT, seed: 4, backend: 'file' });
    pb.close();
    const pb2 = Pool.open({ path: b, layout: LAYOUT, backend: 'file', recycle: pa });
    expect(pb2).toBe(pa);
    const rb = pb2.root(64);
    pb2.tx((tx) => tx.setU64(rb, 42n));
    pb2.close();
    expect(sha256File(a), 'the mapped file was written after close').toBe(before);
    // And the other way: a mapped reopen of A into the same memory sees A, not B.
    const pa2 = Pool.open({ path: a, layout: LAYOUT, recycle: pb2 });
    expect(pa2.info().backend).toBe('mapped');
    expect(pa2.readU64(pa2.root(64))).toBe(0n);
    pa2.check();
    pa2.close();
  });

  it('the backend on its own: stores through the memory are in the file, close puts zero pages back', () => {
    const file = tmp.file('raw');
    const backend = MappedBackend.create(file, SIZE, 'fsync', shim());
    const pages = (POOL_BASE + SIZE) / 65536;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    backend.attach(memory, POOL_BASE);
    backend.finishCreate(); // a new pool appears at its path once published
    const view = new Uint8Array(memory.buffer, POOL_BASE, SIZE);
    view.fill(0xa5, 4096, 4096 + 200);
    backend.drain(new Uint32Array([64, 4]), 1, true);
    expect(fileBytes(file).subarray(4096, 4096 + 200).every((b) => b === 0xa5)).toBe(true);
    backend.close(true);
    expect(view.subarray(4096, 4096 + 200).every((b) => b === 0)).toBe(true);
    expect(fileBytes(file)[4096]).toBe(0xa5);
    expect(claimFiles(file)).toEqual([]);
    backend.close(true); // twice is fine
  });

  it('address guard: after memory.grow in place the mapping still works', () => {
    const file = tmp.file('grow');
    const spy = spyNative(shim());
    const backend = MappedBackend.create(file, SIZE, 'fsync', spy.native);
    const pages = (POOL_BASE + SIZE) / 65536;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages + 16 });
    backend.attach(memory, POOL_BASE);
    backend.finishCreate(); // a new pool appears at its path once published
    const oldBuffer = memory.buffer;
    const addr = shim().address(oldBuffer);
    memory.grow(4);
    expect(oldBuffer.byteLength).toBe(0); // detached
    expect(shim().address(memory.buffer)).toBe(addr); // grew in place (V8 on x86-64)
    new Uint8Array(memory.buffer, POOL_BASE + 8192, 64).fill(0x3c);
    backend.drain(new Uint32Array([128, 1]), 1, true);
    expect(fileBytes(file)[8192]).toBe(0x3c);
    expect(spy.count('map')).toBe(1); // no re-map was needed
    backend.close(true);
    expect(spy.count('unmap')).toBe(1);
  });

  it('address guard: a moved backing store is mapped again at the next drain, or refused with a typed error', () => {
    // V8 grows in place, so the move is simulated: after each grow (a new
    // buffer object, which is what makes the backend look again) the spy
    // reports the store at another address.
    const file = tmp.file('moved');
    const spy = spyNative(shim());
    const backend = MappedBackend.create(file, SIZE, 'fsync', spy.native);
    const pages = (POOL_BASE + SIZE) / 65536;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages + 4 });
    backend.attach(memory, POOL_BASE);
    backend.finishCreate(); // a new pool appears at its path once published
    new Uint8Array(memory.buffer, POOL_BASE + 64, 64).fill(7);
    backend.drain(new Uint32Array([1, 1]), 1, true);
    expect(spy.count('map')).toBe(1);
    spy.ctl.moveBy = 1n << 20n; // without a new buffer the store cannot have moved: no second look
    backend.drain(new Uint32Array([1, 1]), 1, true);
    expect(spy.count('map')).toBe(1);

    memory.grow(1); // new buffer, "moved" store
    new Uint8Array(memory.buffer, POOL_BASE + 128, 64).fill(8);
    backend.drain(new Uint32Array([2, 1]), 1, true);
    expect(spy.count('map')).toBe(2); // mapped again before draining
    expect(fileBytes(file)[64]).toBe(7);
    expect(fileBytes(file)[128]).toBe(8);

    spy.ctl.moveBy = 2n << 20n;
    spy.ctl.failMap = true;
    memory.grow(1);
    const drainsBefore = spy.count('drain');
    const e = thrown(() => backend.drain(new Uint32Array([1, 1]), 1, true));
    expect(e).toBeInstanceOf(MappedBackendError);
    expect((e as MappedBackendError).code).toBe('ERR_MAPPED');
    expect((e as Error).message).toMatch(/backing store moved .* could not be mapped again/);
    expect(spy.count('drain')).toBe(drainsBefore); // the refused drain never reached the shim
    spy.ctl.failMap = false;
    spy.ctl.moveBy = 0n;
    backend.close(true);
    expect(claimFiles(file)).toEqual([]);
  });

  it('a pool that does not fit the memory is refused before mapping, leaving no file or lock behind', () => {
    const file = tmp.file('toosmall');
    const backend = MappedBackend.create(file, 4 * SIZE, 'fsync', shim());
    const pages = (POOL_BASE + SIZE) / 65536;
    const e = thrown(() => backend.attach(new WebAssembly.Memory({ initial: pages, maximum: pages }), POOL_BASE));
    expect(e).toBeInstanceOf(MappedBackendError);
    expect((e as Error).message).toMatch(/too few to map/);
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.readdirSync(tmp.dir).filter((n) => n.includes(path.basename(file)))).toEqual([]); // no temp file either
  });

  it('crash simulation is refused with a typed error that points to a copy-style backend', () => {
    const file = tmp.file('crash');
    const p = Pool.create({ path: file, size: SIZE, layout: LAYOUT });
    try {
      const r = p.root(64);
      p.tx((tx) => tx.setU32(r, 5));
      for (const fn of [() => p.crash({ mode: 'strict' }), () => p.crashImage({ mode: 'strict' }), () => p.durableImage()]) {
        const e = thrown(fn);
        expect(e).toBeInstanceOf(UnsupportedOperationError);
        expect((e as UnsupportedOperationError).code).toBe('ERR_UNSUPPORTED');
      }
      const e = thrown(() => p.crash({ mode: 'strict' })) as Error;
      expect(e.message).toMatch(/copy-style backend \(memory, file, opfs\), not 'mapped'/);
      expect(e.message).toMatch(/live mapping/);
      // the pool is untouched and still usable
      expect(p.isClosed).toBe(false);
      expect(p.readU32(r)).toBe(5);
      p.check();
    } finally {
      p.close();
    }
  });

  it('bad input: missing, existing, not a pool, a directory, locked (also through a symlink), with the file unchanged', () => {
    const n = shim();
    const missing = path.join(tmp.dir, 'missing.pool');
    expect(thrown(() => MappedBackend.open(missing, 'fsync', n))).toBeInstanceOf(PoolNotFoundError);
    expect(fs.existsSync(missing)).toBe(false);

    const file = tmp.file('bad');
    Pool.create({ path: file, size: SIZE, layout: LAYOUT }).close();
    const sum = sha256File(file);
    expect(thrown(() => MappedBackend.create(file, SIZE, 'fsync', n))).toBeInstanceOf(PoolExistsError);

    const text = tmp.file('text');
    fs.writeFileSync(text, 'not a pool\n'.repeat(10000));
    expect(thrown(() => Pool.open({ path: text, layout: LAYOUT }))).toBeInstanceOf(NotAPoolError);
    const dir = path.join(tmp.dir, 'a-dir.pool');
    fs.mkdirSync(dir);
    expect(thrown(() => Pool.open({ path: dir, layout: LAYOUT }))).toBeInstanceOf(NotAPoolError);

    const p = Pool.open({ path: file, layout: LAYOUT });
    try {
      expect(thrown(() => Pool.open({ path: file, layout: LAYOUT }))).toBeInstanceOf(PoolLockedError);
      const link = path.join(tmp.dir, 'link-to-bad.pool');
      fs.symlinkSync(file, link);
      expect(thrown(() => Pool.open({ path: link, layout: LAYOUT }))).toBeInstanceOf(PoolLockedError);
    } finally {
      p.close();
    }
    expect(claimFiles(file)).toEqual([]);
    const q = Pool.open({ path: file, layout: LAYOUT });
    q.close();
    expect(sha256File(file)).not.toBe(sum); // a successful open bumps the open counter…
    const sum2 = sha256File(file);
    expect(thrown(() => Pool.open({ path: file, layout: 'wrong-layout' }))).toBeInstanceOf(LayoutMismatchError);
    expect(sha256File(file), '…a refused one changes nothing').toBe(sum2);
  });
});

describe('byte-identical files across backends', () => {
  /** A seeded workload: allocations, frees, reallocs, transactions, a reopen. */
  function workload(open: (create: boolean) => Pool): void {
    let p = open(true);
    for (let i = 0; i < 60; i++) applyTx(p, i);
    const r = p.root(64);
    const big = p.alloc(200_000, { zero: true, type: 9 });
    p.tx((tx) => { tx.setU32(r + 32, big); tx.setBytes(big + 1000, new Uint8Array(5000).fill(0x5a)); });
    const moved = p.realloc(big, 300_000, { into: r + 32 });
    p.persist(r + 32, 4);
    p.free(moved, { from: r + 32 });
    p.close();
    p = open(false);
    for (let i = 60; i < 100; i++) applyTx(p, i);
    expect(stateProblems(p)).toEqual([]);
    p.check();
    p.close();
  }

  it.each<Durability>(['fsync', 'os'])("the same seeded workload gives the same bytes on mapped, file and memory (durability '%s')", (durability) => {
    const files: Record<string, string> = {};
    for (const backend of ['mapped', 'file'] as const) {
      const file = tmp.file(`ident-${backend}`);
      files[backend] = file;
      workload((create) => {
        const p = create
          ? Pool.create({ path: file, backend, size: 2 * MiB, layout: WORKLOAD_LAYOUT, seed: 'identical', durability })
          : Pool.open({ path: file, backend, layout: WORKLOAD_LAYOUT, durability });
        expect(p.info().backend).toBe(backend);
        return p;
      });
    }
    let image: Uint8Array | null = null;
    workload((create) => {
      const p = create
        ? Pool.create({ size: 2 * MiB, layout: WORKLOAD_LAYOUT, seed: 'identical' })
        : Pool.open({ image: image!, layout: WORKLOAD_LAYOUT });
      const close = p.close.bind(p);
      p.close = () => { image = p.durableImage(); close(); };
      return p;
    });
    expect(sha256File(files.mapped)).toBe(sha256File(files.file));
    expect(sameBytes(fileBytes(files.mapped), image!)).toBe(true);
  });
});

// ─── child processes ─────────────────────────────────────────────────────

const CHILD_ENV = () => ({ ...process.env, PHEAP_WASM: WASM, PHEAP_NATIVE_ADDON: NATIVE_ADDON_PATH });

interface ChildResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Bundle `contents` (TypeScript, resolved from the repo root) into a plain-node script. */
async function bundle(contents: string, name: string): Promise<string> {
  const out = path.join(tmp.dir, `${name}.mjs`);
  await build({
    stdin: { contents, resolveDir: repo, loader: 'ts', sourcefile: `${name}.ts` },
    bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out, logLevel: 'silent',
    // commander is CommonJS: give the ESM bundle a require() for it.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return out;
}

/** Plain node cannot import the TypeScript sources: child scripts install their own module loader. */
const CHILD_PRELUDE = `
  import * as fs from 'node:fs';
  import { setModuleLoader } from './src/core.ts';
  setModuleLoader(() => new WebAssembly.Module(fs.readFileSync(process.env.PHEAP_WASM)));
`;

describe('fallback to the file backend when the shim is absent', () => {
  let script = '';
  beforeAll(async () => {
    script = await bundle(`${CHILD_PRELUDE}
      import { Pool } from './src/index.ts';
      const [dir] = process.argv.slice(2);
      const out = [];
      const a = Pool.create({ path: dir + '/a.pool', size: 131072, layout: 'fb' });
      out.push(a.info()); a.close();
      const b = Pool.open({ path: dir + '/a.pool', layout: 'fb', backend: 'mapped' });
      out.push(b.info()); b.close();
      const c = Pool.create({ path: dir + '/c.pool', size: 131072, layout: 'fb', backend: 'file' });
      out.push(c.info()); c.close();
      process.stdout.write(JSON.stringify(out));
    `, 'fallback');
  });

  function run(env: NodeJS.ProcessEnv): ChildResult & { infos: { backend: string; isPmem: boolean; durability: string }[] } {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'fb-'));
    const r = spawnSync(process.execPath, [script, dir], { env, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, infos: JSON.parse(r.stdout) };
  }

  it('PHEAP_NO_NATIVE=1 in a child process: file backend for the default and for an explicit "mapped", one notice line saying why', () => {
    const r = run({ ...CHILD_ENV(), PHEAP_NO_NATIVE: '1' });
    expect(r.infos.map((i) => i.backend)).toEqual(['file', 'file', 'file']);
    expect(r.infos.every((i) => i.isPmem === false && i.durability === 'fsync')).toBe(true);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toEqual([fallbackNotice('disabled by PHEAP_NO_NATIVE=1')]);
    expect(lines[0]).toMatch(/^pheap: native mmap shim not available \(disabled by PHEAP_NO_NATIVE=1\); the mapped backend falls back to the file backend$/);
  });

  it('the same child with the shim: mapped, no notice', () => {
    const r = run(CHILD_ENV());
    expect(r.infos.map((i) => i.backend)).toEqual(['mapped', 'mapped', 'file']);
    expect(r.stderr).toBe('');
  });

  it('a shim that cannot be found: file backend, and the notice names the missing file', () => {
    const r = run({ ...CHILD_ENV(), PHEAP_NATIVE_ADDON: path.join(tmp.dir, 'nope', 'pheap_mmap.node') });
    expect(r.infos.map((i) => i.backend)).toEqual(['file', 'file', 'file']);
    expect(r.stderr.trim()).toMatch(/^pheap: native mmap shim not available \(.*nope\/pheap_mmap\.node is not built .*\); the mapped backend falls back to the file backend$/);
  });

  it('in this process too (PHEAP_NO_NATIVE set after import): file backend, notice at most once', () => {
    const saved = process.env.PHEAP_NO_NATIVE;
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    process.env.PHEAP_NO_NATIVE = '1';
    try {
      for (let i = 0; i < 3; i++) {
        const file = tmp.file('inproc-fallback');
        const p = Pool.create({ path: file, size: SIZE, layout: LAYOUT });
        expect(p.info().backend).toBe('file');
        p.close();
      }
      const notices = write.mock.calls.map((c) => String(c[0])).filter((s) => s.includes('native mmap shim not available'));
      expect(notices).toEqual([`${fallbackNotice('disabled by PHEAP_NO_NATIVE=1')}\n`]);
    } finally {
      write.mockRestore();
      if (saved === undefined) delete process.env.PHEAP_NO_NATIVE;
      else process.env.PHEAP_NO_NATIVE = saved;
    }
    const file = tmp.file('inproc-back');
    const p = Pool.create({ path: file, size: SIZE, layout: LAYOUT });
    expect(p.info().backend).toBe('mapped');
    p.close();
  });
});

describe('SIGKILL mid-workload', () => {
  let script = '';
  beforeAll(async () => {
    // Opens the pool (running recovery), says how many transactions it holds,
    // then commits transaction after transaction, writing "c <n>" after each
    // commit returns (stdout to a pipe is synchronous), until killed.
    script = await bundle(`${CHILD_PRELUDE}
      import { Pool } from './src/index.ts';
      import { applyTx, committed, WORKLOAD_LAYOUT } from './test/helpers/tx-workload.ts';
      const [file, durability] = process.argv.slice(2);
      const pool = Pool.open({ path: file, layout: WORKLOAD_LAYOUT, durability });
      if (pool.info().backend !== 'mapped') throw new Error('not mapped: ' + pool.info().backend);
      let n = committed(pool);
      fs.writeSync(1, 'ready ' + n + '\\n');
      const stop = Date.now() + 20000;
      while (Date.now() < stop) { applyTx(pool, n); n++; fs.writeSync(1, 'c ' + n + '\\n'); }
      process.exit(3);
    `, 'killme');
  });

  /**
   * Start the child; kill it with SIGKILL `delayMs` after it reports ready
   * (or, with `fromSpawn`, after spawning: during startup, open or recovery).
   */
  function killRun(file: string, durability: Durability, delayMs: number, fromSpawn: boolean): Promise<ChildResult & { readyAt: number | null; lastCommitted: number | null; startedWith: number | null }> {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const child = spawn(process.execPath, [script, file, durability], { env: CHILD_ENV(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let readyAt: number | null = null;
      let timer: NodeJS.Timeout | null = null;
      const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const kill = () => { timer = setTimeout(() => child.kill('SIGKILL'), delayMs); };
      if (fromSpawn) kill();
      child.stdout.setEncoding('utf8');
      child.stderr.setEncoding('utf8');
      child.stdout.on('data', (d: string) => {
        stdout += d;
        if (readyAt === null && stdout.includes('ready ')) {
          readyAt = performance.now() - t0;
          if (!fromSpawn) kill();
        }
      });
      child.stderr.on('data', (d: string) => { stderr += d; });
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(guard);
        if (timer) clearTimeout(timer);
        const lines = stdout.split('\n');
        const ready = lines.find((l) => l.startsWith('ready '));
        const commits = lines.filter((l) => /^c \d+$/.test(l));
        resolve({
          code, signal, stdout, stderr, readyAt,
          startedWith: ready ? Number(ready.slice(6)) : null,
          lastCommitted: commits.length ? Number(commits[commits.length - 1].slice(2)) : null,
        });
      });
    });
  }

  it('reopen after SIGKILL at many moments recovers a consistent pool holding a prefix of the committed transactions', async () => {
    const file = tmp.file('killed');
    Pool.create({ path: file, size: MiB, layout: WORKLOAD_LAYOUT, seed: 'kill' }).close();
    let expected = 0; // transactions the pool held when the last child started
    const outcomes: string[] = [];
    let startup = 150;
    // Delays after "ready" (mid-workload), then kills timed from spawn around
    // the startup time (mid-open, mid-recovery), alternating durability.
    const plan: { delay: number; fromSpawn: boolean; durability: Durability }[] = [];
    const delays = [0, 1, 2, 3, 5, 7, 10, 13, 17, 21, 26, 32, 40, 50, 65, 80];
    delays.forEach((d, i) => plan.push({ delay: d, fromSpawn: false, durability: i % 3 === 2 ? 'fsync' : 'os' }));
    for (const f of [0.6, 0.8, 0.9, 1.0, 1.05, 1.1, 1.2, 1.4]) plan.push({ delay: f, fromSpawn: true, durability: 'os' });

    let killedMidWorkload = 0;
    let killedMidTx = 0; // reported, not asserted: where a kill lands is up to the scheduler
    for (const step of plan) {
      const delay = step.fromSpawn ? Math.round(step.delay * startup) : step.delay;
      const r = await killRun(file, step.durability, delay, step.fromSpawn);
      expect(r.signal, `child ended by itself (code ${r.code}): ${r.stderr}`).toBe('SIGKILL');
      if (!step.fromSpawn && r.readyAt !== null) startup = r.readyAt;
      if (r.startedWith !== null) expect(r.startedWith, 'the child saw fewer transactions than the last reopen').toBe(expected);

      const p = Pool.open({ path: file, layout: WORKLOAD_LAYOUT, durability: 'os' });
      try {
        expect(p.info().backend).toBe('mapped');
        p.check();
        expect(stateProblems(p)).toEqual([]);
        const n = committed(p);
        // Every commit the child reported is there; at most the one in flight besides.
        const reported = r.lastCommitted ?? expected;
        expect(n, `reported ${reported} committed`).toBeGreaterThanOrEqual(reported);
        expect(n).toBeLessThanOrEqual(reported + 1);
        if (r.lastCommitted !== null) killedMidWorkload++;
        const rolledBack = p.stats().recovery.entriesRolledBack;
        if (rolledBack > 0) killedMidTx++;
        outcomes.push(`${step.fromSpawn ? 'spawn+' : 'ready+'}${delay}ms ${step.durability}: ${expected}→${n} ` +
          `(reported ${r.lastCommitted ?? '-'}; undo entries rolled back: ${rolledBack})`);
        expected = n;
      } finally {
        p.close();
      }
    }
    // The plan must really have killed mid-workload, many times, with progress.
    expect(killedMidWorkload, outcomes.join('\n')).toBeGreaterThanOrEqual(12);
    expect(expected, outcomes.join('\n')).toBeGreaterThan(100);
    console.log(`SIGKILL runs (${killedMidTx} landed inside a transaction):\n  ${outcomes.join('\n  ')}`);
  }, 180_000);
});

describe('pheap doctor --json on this machine', () => {
  it('reports no persistent memory and no DAX for a temp dir (the CLI, bundled, run by plain node)', async () => {
    const cli = await bundle("import './src/cli/main.ts';", 'cli');
    const r = spawnSync(process.execPath, [cli, 'doctor', '--json', tmp.dir], { env: CHILD_ENV(), encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(1); // doctor's exit status is its answer: 1, not on persistent memory (docs/cli.md)
    const report = JSON.parse(r.stdout);
    expect(report.shim.available).toBe(true);
    expect(report.dax).toBe(false);
    expect(report.onPersistentMemory).toBe(false);
    expect(report.mapSync).toMatchObject({ tested: true, ok: false, code: 'EOPNOTSUPP' });
    expect(report.iomem.pmemRanges).toEqual([]);
    expect(report.nvdimm.activeRegions + report.nvdimm.activeNamespaces).toBe(0);
    expect(report.verdict).toMatch(/is NOT on persistent memory/);
    expect(report.drain).toMatch(/msync/);
  }, 60_000);
});
