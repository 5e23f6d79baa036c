// build.mjs — bundles the TypeScript host with esbuild (Node 20 cannot run .ts).
//
//   dist/index.js   the library (Node entry)
//   dist/cli.js     the `pheap` command
// The WASM core is built separately (npm run build:wasm) into build/.
import * as esbuild from 'esbuild';
import { chmodSync } from 'node:fs';

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', sourcemap: true, logLevel: 'warning' };
await esbuild.build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js' });
await esbuild.build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } });
chmodSync('dist/cli.js', 0o755);
