// env.ts — wires the host to Node: the WASM module from build/, file backends.
//
// Imported for its effect by the package entry (src/index.ts). Browser code
// never imports this file.

import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setModuleLoader } from '../core.js';
import { registerBackend } from '../pool.js';
import { FileBackend } from '../backends/file.js';

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
