// env.ts — wires the host to Node: the WASM module from build/, the file and
// mapped backends, and which of them a path gets by default.
//
// Backend choice for a pool with a `path` (docs/mapped.md):
//   - an explicit `backend` option wins ('file', 'mapped', 'memory', or a Backend);
//   - otherwise 'mapped': the file is mmap'd into linear memory by the native
//     shim (Linux only, built at npm install);
//   - when the shim is not available (not built, does not load, not Linux, or
//     PHEAP_NO_NATIVE=1), 'mapped' falls back to the file backend, and one
//     line saying why goes to stderr, once per process. `pool.info().backend`
//     tells what was actually used.
// The shim is looked up at each open (cheap once loaded), so PHEAP_NO_NATIVE
// may also be set after import.
//
// Imported for its effect by the package entry (src/index.ts). Browser code
// never imports this file.

import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setModuleLoader } from '../core.js';
import { registerBackend, setDefaultPathBackend } from '../pool.js';
import { FileBackend } from '../backends/file.js';
import { MappedBackend } from '../backends/mapped.js';
import { nativeStatus, noticeFallbackOnce, type NativeMmap } from '../backends/native.js';

/** build/ sits at the package root: two levels up from src/node/, one from dist/. */
function wasmPath(debug: boolean): string {
  const name = debug ? 'pheap.debug.wasm' : 'pheap.wasm';
  for (const rel of [`../../build/${name}`, `../build/${name}`]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`pheap: ${name} not found; run \`npm run build:wasm\``);
}

setModuleLoader((debug) => new WebAssembly.Module(fs.readFileSync(wasmPath(debug))));

registerBackend('file', {
  create: (path, size, durability) => FileBackend.create(path, size, durability),
  open: (path, durability) => FileBackend.open(path, durability),
});

/** The shim, or null after printing (once) why the file backend is used instead. */
function shimOrNotice(): NativeMmap | null {
  const st = nativeStatus();
  if (st.native) return st.native;
  noticeFallbackOnce(st.reason);
  return null;
}

registerBackend('mapped', {
  create: (path, size, durability) => {
    const native = shimOrNotice();
    return native ? MappedBackend.create(path, size, durability, native) : FileBackend.create(path, size, durability);
  },
  open: (path, durability) => {
    const native = shimOrNotice();
    return native ? MappedBackend.open(path, durability, native) : FileBackend.open(path, durability);
  },
});

setDefaultPathBackend('mapped');
