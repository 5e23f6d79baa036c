// build.mjs — compiles bench/core/loops.ts (the core + in-WASM benchmark loops).
// Same runtime and memory settings as the core's release build (asconfig.json).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
mkdirSync(join(here, 'build'), { recursive: true });
execFileSync(join(root, 'node_modules', '.bin', 'asc'), [
  'bench/core/loops.ts', '--config', 'bench/core/asconfig.json',
  '--outFile', 'bench/core/build/loops.wasm',
], { cwd: root, stdio: 'inherit' });
