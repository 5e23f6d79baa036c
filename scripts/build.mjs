// build.mjs — bundles the TypeScript host with esbuild (Node 20 cannot run .ts).
//
//   dist/index.js              the library (Node entry)
//   dist/cli.js                the `pheap` command
//   dist/testing.js            `pheap/testing` (crashTest for vitest), sharing dist/index.js
//   playground/dist/app.js     the playground page (browser, ESM)
//   playground/dist/worker.js  the pool worker: core + OPFS backend (browser, ESM)
// The WASM core is built separately (npm run build:wasm) into build/; the
// playground's worker fetches it from /build/pheap.wasm.
import * as esbuild from 'esbuild';
import { chmodSync } from 'node:fs';

const sharedLibrary = {
  name: 'pheap-shared-library',
  setup(b) { b.onResolve({ filter: /^\.\.\/index\.js$/ }, () => ({ path: './index.js', external: true })); },
};
const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', sourcemap: true, logLevel: 'warning' };
const browser = { bundle: true, platform: 'browser', format: 'esm', target: 'chrome110', sourcemap: true, logLevel: 'warning' };
await Promise.all([
  esbuild.build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js' }),
  esbuild.build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } }),
  // The testing entry imports the library from dist/index.js instead of bundling a second copy of Pool.
  esbuild.build({ ...common, entryPoints: ['src/crash/vitest.ts'], outfile: 'dist/testing.js', plugins: [sharedLibrary] }),
  esbuild.build({ ...browser, entryPoints: ['playground/main.ts'], outfile: 'playground/dist/app.js' }),
  esbuild.build({ ...browser, entryPoints: ['src/browser/worker.ts'], outfile: 'playground/dist/worker.js' }),
]);
chmodSync('dist/cli.js', 0o755);
