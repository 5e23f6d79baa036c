// The native mmap shim (native/pheap_mmap.c) against real WebAssembly.Memory
// objects and real files. These tests FAIL, not skip, when the shim is not
// built: CI builds it (node scripts/build-native.mjs), and a silent skip would
// hide exactly the breakage they exist to catch.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DrainMode, loadNative, nativeStatus, NATIVE_ADDON_PATH, type NativeMmap } from '../src/backends/native.js';

const WASM_PAGE = 65536;
const status = nativeStatus();

function shim(): NativeMmap {
  if (!status.native) {
    throw new Error(`native shim unavailable (${status.reason}); build it with: node scripts/build-native.mjs`);
  }
  return status.native;
}

let dir = '';
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pheap-native-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

let fileCounter = 0;
/** A pool-like file of `size` bytes where byte i holds (i * 7 + seed) & 255. */
function patternFile(size: number, seed = 1): { file: string; fd: number; pattern: Uint8Array } {
  const pattern = new Uint8Array(size);
  for (let i = 0; i < size; i++) pattern[i] = (i * 7 + seed) & 255;
  const file = path.join(dir, `pool-${fileCounter++}.bin`);
  fs.writeFileSync(file, pattern);
  return { file, fd: fs.openSync(file, 'r+'), pattern };
}

/** Byte equality without vitest's slow element-by-element diff of typed arrays. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.compare(actual, expected), 'bytes differ').toBe(0);
}

function expectRefused(fn: () => unknown, message: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'the call should have been refused').toBeInstanceOf(Error);
  expect((thrown as NodeJS.ErrnoException).code).toBe('ERR_PHEAP_MMAP');
  expect((thrown as Error).message).toMatch(message);
}

describe('native shim: loading', () => {
  it('is built and loads (run `node scripts/build-native.mjs` if this fails)', () => {
    expect(status.reason, `could not load ${NATIVE_ADDON_PATH}`).toBeNull();
    expect(typeof shim().map).toBe('function');
  });

  it('PHEAP_NO_NATIVE=1 makes loadNative() return null with a reason, without throwing', () => {
    const saved = process.env.PHEAP_NO_NATIVE;
    process.env.PHEAP_NO_NATIVE = '1';
    try {
      expect(loadNative()).toBeNull();
      expect(nativeStatus().reason).toMatch(/PHEAP_NO_NATIVE/);
    } finally {
      if (saved === undefined) delete process.env.PHEAP_NO_NATIVE;
      else process.env.PHEAP_NO_NATIVE = saved;
    }
    expect(loadNative()).toBe(status.native);
  });

  it('reports the page size and the flush instruction this CPU offers', () => {
    const n = shim();
    expect(n.pageSize).toBeGreaterThan(0);
    expect(WASM_PAGE % n.pageSize).toBe(0);
    const flags = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1].split(/\s+/) ?? [];
    const expected =
      process.arch !== 'x64'
        ? 'none'
        : flags.includes('clwb')
          ? 'clwb'
          : flags.includes('clflushopt')
            ? 'clflushopt'
            : 'clflush';
    expect(n.flushInstruction()).toBe(expected);
  });
});

describe('native shim: mapping a file into WebAssembly.Memory', () => {
  it('shows the file through linear memory, and stores land in the file after an msync drain', () => {
    const n = shim();
    const { file, fd, pattern } = patternFile(2 * WASM_PAGE);
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 4 });
    const before = new Uint8Array(memory.buffer);
    before[0] = 11; // outside the mapped range: must survive the mapping
    try {
      const { isPmem } = n.map(memory.buffer, WASM_PAGE, 2 * WASM_PAGE, fd, true);
      // Consistency with the probe rather than a machine-specific answer.
      expect(isPmem).toBe(n.probeMapSync(fd, 2 * WASM_PAGE).ok);
      const view = new Uint8Array(memory.buffer);
      expectSameBytes(view.subarray(WASM_PAGE, 3 * WASM_PAGE), pattern);
      expect(view[0]).toBe(11);
      expect(view[3 * WASM_PAGE]).toBe(0); // just past the mapping: untouched

      view.set([1, 2, 3, 4], WASM_PAGE + 64 * 5); // line 5
      view[WASM_PAGE + 2 * WASM_PAGE - 1] = 0xee; // last line of the mapping
      const lastLine = (2 * WASM_PAGE) / 64 - 1;
      n.drain(memory.buffer, WASM_PAGE, new Uint32Array([5, 1, lastLine, 1]), 2, DrainMode.msync);

      // Reading with fs goes through the page cache, so this proves the stores
      // are in the file's pages (not a private copy); that msync reached the
      // device cannot be observed without pulling the plug.
      const onDisk = fs.readFileSync(file);
      expect([...onDisk.subarray(64 * 5, 64 * 5 + 4)]).toEqual([1, 2, 3, 4]);
      expect(onDisk[2 * WASM_PAGE - 1]).toBe(0xee);
      expect(onDisk[64 * 5 + 4]).toBe(pattern[64 * 5 + 4]);
      n.unmap(memory.buffer, WASM_PAGE, 2 * WASM_PAGE);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('drains in every mode over the mapping (dax runs the flush instructions, none does nothing)', () => {
    const n = shim();
    const { file, fd } = patternFile(WASM_PAGE);
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 2 });
    try {
      n.map(memory.buffer, WASM_PAGE, WASM_PAGE, fd, false);
      const view = new Uint8Array(memory.buffer);
      view[WASM_PAGE + 128] = 0x5a;
      // A view with a byteOffset: the shim must read the pairs where the view starts
      // (the leading pair is out of range and would be refused if read).
      const ranges = new Uint32Array([0xffffffff, 5, 0, 1024]).subarray(2);
      for (const mode of [DrainMode.dax, DrainMode.msync, DrainMode.none]) {
        n.drain(memory.buffer, WASM_PAGE, ranges, 1, mode);
      }
      n.drain(memory.buffer, WASM_PAGE, new Uint32Array(0), 0, DrainMode.dax); // empty drain: just the fence
      expect(view[WASM_PAGE + 128]).toBe(0x5a);
      expect(fs.readFileSync(file)[128]).toBe(0x5a);
      n.unmap(memory.buffer, WASM_PAGE, WASM_PAGE);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('follows memory.grow: checks the backing-store address and keeps (or re-makes) the mapping', () => {
    const n = shim();
    const { file, fd, pattern } = patternFile(WASM_PAGE);
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 64 });
    try {
      const oldBuffer = memory.buffer;
      const oldAddress = n.address(oldBuffer);
      expect(oldAddress).toBeGreaterThan(0n);
      expect(oldAddress % BigInt(n.pageSize)).toBe(0n);
      n.map(oldBuffer, WASM_PAGE, WASM_PAGE, fd, false);

      memory.grow(30);
      expect(n.address(oldBuffer)).toBe(0n); // detached by the grow
      expectRefused(() => n.drain(oldBuffer, WASM_PAGE, new Uint32Array([0, 1]), 1, DrainMode.msync), /detached/);

      const newAddress = n.address(memory.buffer);
      if (newAddress !== oldAddress) {
        // The store moved: the old mapping went with it, and the shim must
        // refuse to act on the new buffer until the host maps again.
        expectRefused(() => n.drain(memory.buffer, WASM_PAGE, new Uint32Array([0, 1]), 1, DrainMode.msync), /nothing was mapped/);
        n.map(memory.buffer, WASM_PAGE, WASM_PAGE, fd, false);
      }
      const view = new Uint8Array(memory.buffer);
      expect(view.length).toBe(32 * WASM_PAGE);
      expectSameBytes(view.subarray(WASM_PAGE, 2 * WASM_PAGE), pattern);
      view[WASM_PAGE + 4000] = 0x77;
      view[20 * WASM_PAGE] = 9; // a grown page stays ordinary memory
      n.drain(memory.buffer, WASM_PAGE, new Uint32Array([62, 1]), 1, DrainMode.msync);
      expect(fs.readFileSync(file)[4000]).toBe(0x77);
      expect(view[20 * WASM_PAGE]).toBe(9);
      n.unmap(memory.buffer, WASM_PAGE, WASM_PAGE);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('unmap puts zero pages back: the memory stays usable and the file keeps its bytes', () => {
    const n = shim();
    const { file, fd, pattern } = patternFile(2 * WASM_PAGE, 3);
    const memory = new WebAssembly.Memory({ initial: 3, maximum: 3 });
    n.map(memory.buffer, WASM_PAGE, 2 * WASM_PAGE, fd, false);
    fs.closeSync(fd); // the mapping holds its own reference to the file
    const view = new Uint8Array(memory.buffer);
    expect(view[WASM_PAGE + 1]).toBe(pattern[1]);
    view[WASM_PAGE + 1] = 0xab;
    n.drain(memory.buffer, WASM_PAGE, new Uint32Array([0, 1]), 1, DrainMode.msync);
    n.unmap(memory.buffer, WASM_PAGE, 2 * WASM_PAGE);

    expect(view.subarray(WASM_PAGE, 3 * WASM_PAGE).every((b) => b === 0)).toBe(true);
    view[WASM_PAGE + 1] = 0xcd; // writable, and private again
    expect(view[WASM_PAGE + 1]).toBe(0xcd);
    const onDisk = fs.readFileSync(file);
    expect(onDisk[1]).toBe(0xab);
    expectSameBytes(onDisk.subarray(2), pattern.subarray(2));

    expectRefused(() => n.unmap(memory.buffer, WASM_PAGE, 2 * WASM_PAGE), /nothing was mapped/);
    expectRefused(() => n.drain(memory.buffer, WASM_PAGE, new Uint32Array([0, 1]), 1, DrainMode.msync), /nothing was mapped/);
  });

  it('supports several mappings in one memory and re-mapping after unmap', () => {
    const n = shim();
    const a = patternFile(WASM_PAGE, 5);
    const b = patternFile(WASM_PAGE, 9);
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 4 });
    try {
      for (let round = 0; round < 3; round++) {
        n.map(memory.buffer, WASM_PAGE, WASM_PAGE, a.fd, false);
        n.map(memory.buffer, 3 * WASM_PAGE, WASM_PAGE, b.fd, false);
        const view = new Uint8Array(memory.buffer);
        expectSameBytes(view.subarray(WASM_PAGE, 2 * WASM_PAGE), a.pattern);
        expectSameBytes(view.subarray(3 * WASM_PAGE, 4 * WASM_PAGE), b.pattern);
        n.unmap(memory.buffer, WASM_PAGE, WASM_PAGE);
        n.unmap(memory.buffer, 3 * WASM_PAGE, WASM_PAGE);
      }
    } finally {
      fs.closeSync(a.fd);
      fs.closeSync(b.fd);
    }
  });
});

describe('native shim: refusals leave everything as it was', () => {
  function setup(fileSize = WASM_PAGE, flags = 'r+') {
    const { file, pattern } = patternFile(fileSize);
    const fd = fs.openSync(file, flags);
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 4 });
    const view = new Uint8Array(memory.buffer);
    view.fill(0x42);
    const untouched = () => view.every((x) => x === 0x42);
    return { fd, memory, view, pattern, untouched };
  }

  it('refuses an offset that is not a multiple of 64 KiB', () => {
    const n = shim();
    const s = setup();
    try {
      expectRefused(() => n.map(s.memory.buffer, 4096, WASM_PAGE, s.fd, false), /offset 4096 is not a multiple of 64 KiB/);
      expectRefused(() => n.map(s.memory.buffer, WASM_PAGE + 4096, 4096, s.fd, false), /not a multiple of 64 KiB/);
      expectRefused(() => n.map(s.memory.buffer, WASM_PAGE, 100, s.fd, false), /length 100 is not a positive multiple of the page size/);
      expectRefused(() => n.map(s.memory.buffer, WASM_PAGE, 0, s.fd, false), /length 0/);
      expectRefused(() => n.map(s.memory.buffer, -WASM_PAGE, WASM_PAGE, s.fd, false), /offset must be a non-negative integer/);
      expectRefused(() => n.map(s.memory.buffer, WASM_PAGE + 0.5, WASM_PAGE, s.fd, false), /offset must be a non-negative integer/);
      expect(s.untouched()).toBe(true);
    } finally {
      fs.closeSync(s.fd);
    }
  });

  it('refuses a range beyond the buffer', () => {
    const n = shim();
    const s = setup(4 * WASM_PAGE);
    try {
      expectRefused(() => n.map(s.memory.buffer, 2 * WASM_PAGE, 3 * WASM_PAGE, s.fd, false), /lies outside the buffer/);
      expectRefused(() => n.map(s.memory.buffer, 4 * WASM_PAGE, WASM_PAGE, s.fd, false), /lies outside the buffer/);
      expectRefused(() => n.map(s.memory.buffer, 2 ** 52, WASM_PAGE, s.fd, false), /lies outside the buffer/);
      expect(s.untouched()).toBe(true);
    } finally {
      fs.closeSync(s.fd);
    }
  });

  it('refuses a file shorter than the range, a read-only fd, a closed fd and a non-file', () => {
    const n = shim();
    const s = setup(WASM_PAGE);
    const ro = patternFile(2 * WASM_PAGE);
    const roFd = fs.openSync(ro.file, 'r');
    const dirFd = fs.openSync(dir, 'r');
    try {
      expectRefused(() => n.map(s.memory.buffer, WASM_PAGE, 2 * WASM_PAGE, s.fd, false), /file is 65536 bytes, shorter than the 131072 bytes/);
      expectRefused(() => n.map(s.memory.buffer, WASM_PAGE, WASM_PAGE, roFd, false), /must be open read-write/);
      expectRefused(() => n.map(s.memory.buffer, WASM_PAGE, WASM_PAGE, dirFd, false), /not a regular file/);
      const closed = fs.openSync(ro.file, 'r+');
      fs.closeSync(closed);
      expectRefused(() => n.map(s.memory.buffer, WASM_PAGE, WASM_PAGE, closed, false), /is not open/);
      expect(s.untouched()).toBe(true);
    } finally {
      fs.closeSync(s.fd);
      fs.closeSync(ro.fd);
      fs.closeSync(roFd);
      fs.closeSync(dirFd);
    }
  });

  it('refuses buffers that are not WebAssembly memory', () => {
    const n = shim();
    const s = setup();
    try {
      // A plain ArrayBuffer is malloc-backed, never page-aligned in glibc.
      expectRefused(() => n.map(new ArrayBuffer(1 << 20), 0, WASM_PAGE, s.fd, false), /not page-aligned/);
      const shared = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
      expectRefused(() => n.map(shared.buffer as unknown as ArrayBuffer, 0, WASM_PAGE, s.fd, false), /expected an ArrayBuffer/);
      expectRefused(() => n.map(new Uint8Array(WASM_PAGE) as unknown as ArrayBuffer, 0, WASM_PAGE, s.fd, false), /expected an ArrayBuffer/);
    } finally {
      fs.closeSync(s.fd);
    }
  });

  it('refuses drains outside the mapping, of the wrong shape, or with an unknown mode', () => {
    const n = shim();
    const s = setup(WASM_PAGE);
    try {
      n.map(s.memory.buffer, WASM_PAGE, WASM_PAGE, s.fd, false);
      const lines = WASM_PAGE / 64;
      const buf = s.memory.buffer;
      expectRefused(() => n.drain(buf, WASM_PAGE, new Uint32Array([lines - 1, 2]), 1, DrainMode.msync), /lies outside the 65536-byte mapping/);
      expectRefused(() => n.drain(buf, WASM_PAGE, new Uint32Array([0xffffffff, 0xffffffff]), 1, DrainMode.dax), /lies outside/);
      expectRefused(() => n.drain(buf, 2 * WASM_PAGE, new Uint32Array([0, 1]), 1, DrainMode.msync), /nothing was mapped at offset 131072/);
      expectRefused(() => n.drain(buf, WASM_PAGE, new Uint32Array([0, 1]), 2, DrainMode.msync), /count 2 exceeds the 1 pairs/);
      expectRefused(() => n.drain(buf, WASM_PAGE, new Float64Array([0, 1]) as unknown as Uint32Array, 1, DrainMode.msync), /must be a Uint32Array/);
      expectRefused(() => n.drain(buf, WASM_PAGE, new Uint32Array([0, 1]), 1, 3 as DrainMode), /drain mode must be/);
      expectRefused(() => n.unmap(buf, WASM_PAGE, 2 * WASM_PAGE), /nothing was mapped/); // wrong length
      n.unmap(buf, WASM_PAGE, WASM_PAGE);
    } finally {
      fs.closeSync(s.fd);
    }
  });
});

describe('native shim: msync coalescing', () => {
  const strace = spawnSync('strace', ['-V'], { encoding: 'utf8' });
  const haveStrace = strace.status === 0;

  // Needs strace (installed by scripts/setup-system.sh) to count syscalls.
  it('issues one msync per run of adjacent pages (counted with strace)', () => {
    expect(haveStrace, 'strace is missing: run scripts/setup-system.sh as root').toBe(true);
    shim();
    const file = path.join(dir, 'coalesce.bin');
    fs.writeFileSync(file, new Uint8Array(4 * WASM_PAGE));
    const script = `
      import { createRequire } from 'node:module';
      import fs from 'node:fs';
      const n = createRequire(import.meta.url)(${JSON.stringify(NATIVE_ADDON_PATH)});
      const fd = fs.openSync(${JSON.stringify(file)}, 'r+');
      const memory = new WebAssembly.Memory({ initial: 5, maximum: 5 });
      n.map(memory.buffer, 65536, 4 * 65536, fd, false);
      // page size P: lines 0-1 -> page 0; line P/64 -> page 1; lines 2P/64 .. 4P/64-1 -> pages 2-3
      // (one run 0..4P); then line (4*65536-64)/64 -> the last page alone.
      const L = n.pageSize / 64;
      n.drain(memory.buffer, 65536, new Uint32Array([0, 2, L, 1, 2 * L + 3, 2 * L - 3, 4 * 65536 / 64 - 1, 1]), 4, 1);
    `;
    const out = path.join(dir, 'strace.txt');
    const run = spawnSync('strace', ['-f', '-e', 'trace=msync', '-o', out, process.execPath, '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const calls = fs.readFileSync(out, 'utf8').split('\n').filter((l) => l.includes('msync('));
    expect(calls.length, calls.join('\n')).toBe(2);
    const page = shim().pageSize;
    expect(calls[0]).toMatch(new RegExp(`, ${4 * page}, MS_SYNC\\) = 0`));
    expect(calls[1]).toMatch(new RegExp(`, ${page}, MS_SYNC\\) = 0`));
  });
});
