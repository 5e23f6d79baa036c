// build.mjs — bundles the TypeScript host with esbuild (Node 20 cannot run .ts).
//
//   dist/index.js              `pheap` in Node: the library
//   dist/cli.js                the `pheap` command
//   dist/testing.js            `pheap/testing` (crashTest for vitest), sharing dist/index.js
//   dist/browser.js            `pheap/browser`: PoolClient, with the pool worker and the
//                              release core embedded (no file to serve, no bundler config)
//   playground/dist/app.js     the playground page (browser, ESM)
//   playground/dist/worker.js  the playground's pool worker: fetches the core from /build/
// The WASM core is built first (npm run build:wasm) into build/; the type
// declarations (dist/types/) are emitted by tsc -p tsconfig.build.json.
// No bundle carries a source map: the package ships no sources.
// Every output replaces its file atomically (written aside, then renamed), so
// a test that packs or serves dist/ while another rebuilds it never reads a
// half-written bundle.
import * as esbuild from 'esbuild';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const sharedLibrary = {
  name: 'pheap-shared-library',
  setup(b) { b.onResolve({ filter: /^\.\.\/index\.js$/ }, () => ({ path: './index.js', external: true })); },
};
const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' };
const browser = { bundle: true, platform: 'browser', format: 'esm', target: 'chrome110', logLevel: 'warning' };

/** Bundle `opts` in memory, then put each output file in place atomically. */
async function build(opts) {
  const r = await esbuild.build({ ...opts, write: false });
  for (const f of r.outputFiles) {
    mkdirSync(dirname(f.path), { recursive: true });
    const aside = `${f.path}.${process.pid}.tmp`;
    writeFileSync(aside, f.contents);
    renameSync(aside, f.path);
  }
}

/** The pool worker with the release core inside, as source text. */
async function embeddedWorker() {
  const core = readFileSync('build/pheap.wasm').toString('base64');
  const r = await esbuild.build({
    ...browser, entryPoints: ['src/browser/worker.ts'], write: false, minify: true,
    define: { __PHEAP_CORE_BASE64__: JSON.stringify(core) },
  });
  return r.outputFiles[0].text;
}

await Promise.all([
  build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js' }),
  build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } }),
  // The testing entry imports the library from dist/index.js instead of bundling a second copy of Pool.
  build({ ...common, entryPoints: ['src/crash/vitest.ts'], outfile: 'dist/testing.js', plugins: [sharedLibrary] }),
  embeddedWorker().then((worker) => build({
    ...browser, entryPoints: ['src/browser/index.ts'], outfile: 'dist/browser.js',
    define: { __PHEAP_WORKER_SOURCE__: JSON.stringify(worker) },
  })),
  build({ ...browser, entryPoints: ['playground/main.ts'], outfile: 'playground/dist/app.js' }),
  build({ ...browser, entryPoints: ['src/browser/worker.ts'], outfile: 'playground/dist/worker.js' }),
]);
chmodSync('dist/cli.js', 0o755);
