/// <reference lib="dom" preserve="true" />
// index.ts — the package entry for browsers: `import { PoolClient } from 'pheap/browser'`.
//
// Owns: what a browser app needs and nothing that imports node:*. The pool
// runs in a dedicated Worker (OPFS sync access handles exist only there);
// PoolClient is its main-thread handle. In the published bundle
// (dist/browser.js) the worker's code and the release WASM core are
// embedded, so any bundler (esbuild, Vite, webpack) picks them up with no
// configuration and no file to copy; PoolClient.workerUrl overrides that
// (a served worker, e.g. under a CSP that forbids blob: workers).
// Errors are the same classes as in Node, so `instanceof` works here too.

export { PoolClient } from './client.js';
export { open, BrowserStore } from './store.js';
export type { BrowserStoreOptions, BrowserEntry, BrowserRangeOptions } from './store.js';
export { STORE_LAYOUT } from '../store/layout.js';
export type { ClientOptions, CrashResult, Inspection, Off, Op, OpenResult, RecoverResult } from './client.js';
export type { NumType, ValueType, Value } from './protocol.js';
export type { PoolInfo, PoolStats } from '../pool.js';
export type { Durability, BackendKind } from '../backends/backend.js';
export { CRASH_MODES } from '../crash/modes.js';
export type { CrashMode } from '../crash/modes.js';
export { POOL_BASE, MIN_POOL_SIZE, MAX_POOL_SIZE, CHUNK_SIZE, FORMAT_VERSION } from '../layout.js';
export * from '../errors.js';
