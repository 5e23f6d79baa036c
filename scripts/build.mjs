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
/**
 * ordered-binary builds its string reader with a direct eval() that names the
 * module's own `position` and `fromCharCode`; a bundle renames those (other
 * modules have their own), so the eval'd reader would read another module's
 * `position` (and string keys would never decode: the browser Store's worker
 * died on them). Its other branch, made for Bun, builds the reader with
 * new Function and syncs `position` through accessors, which survives
 * bundling: take that branch in browser bundles.
 */
const orderedBinaryForBundles = {
  name: 'pheap-ordered-binary-no-eval',
  setup(b) {
    b.onLoad({ filter: /ordered-binary[\\/]index\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      const branch = "typeof process !== 'undefined' && process.isBun ?";
      if (!src.includes(branch)) throw new Error(`${args.path}: the reader branch this build relies on is gone; see scripts/build.mjs`);
      return { contents: src.replace(branch, 'true ?'), loader: 'js' };
    });
  },
};
const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' };
const browser = { bundle: true, platform: 'browser', format: 'esm', target: 'chrome110', logLevel: 'warning', plugins: [orderedBinaryForBundles] };

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
