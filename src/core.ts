// core.ts — instantiating the WASM core and the typed view of its exports.
//
// The host owns the memory: POOL_BASE + the bytes its backend holds, with a
// maximum of POOL_BASE + the pool's maximum size. The core calls back into
// the host once per drain (env.drain) with the address of DRAIN_RANGES and
// the number of (line, count) pairs in it, and when the pool must grow
// (env.grow): the host then grows the memory and the backend's storage and
// returns the new pool size, or 0. Growing the memory replaces
// `memory.buffer` (the old one detaches): every view of it is made again
// after a call that may grow (Pool.onGrow), and the drain view here is
// checked at every drain.
// Compiling the module is done once per flavour and cached; instantiation is
// cheap, so replay and crash exploration can make many cores.

import { POOL_BASE, WASM_PAGE } from './layout.js';

/** The core's exports (assembly/index.ts). Offsets are pool-relative. */
export interface CoreExports {
  runtimeHeapEnd(): number;
  poolBase(): number; scratch(): number; drainRanges(): number;
  maxPoolSize(): number; minPoolSize(): number;
  lastError(): number; checkProblem(): number; checkProblemAt(): number;
  flushCount(): number; drainCount(): number; linesPersisted(): number;
  recoveredEntries(): number; openCount(): number;
  heapOffset(): number; logOffset(): number; logBytes(): number; chunks(): number; logSequence(): number;
  growthCount(): number;
  damageOffset(): number;
  flush(off: number, len: number): void;
  drain(): void;
  persist(off: number, len: number): void;
  pendingLineCount(): number;
  collectPending(): number;
  collectInFlight(): number;
  setDeferredLog(on: number): void;
  discardPending(): void;
  createPool(size: number, layoutLen: number): number;
  openPool(size: number, layoutLen: number): number;
  finishOpen(): void;
  rootOffset(): number;
  alloc(size: number, type: number, flags: number, dest: number): number;
  free(off: number, dest: number): number;
  realloc(off: number, size: number, dest: number): number;
  root(size: number): number;
  usableSize(off: number): number;
  nextObject(prev: number, type: number): number;
  rangeWritable(off: number, len: number): number;
  isLive(off: number): number;
  objectType(off: number): number;
  objectDataLen(off: number): number;
  txBegin(): number; txAddRange(off: number, len: number): number;
  txCommit(): number; txAbort(): number; txDepth(): number; txSavepoint(): number;
  check(): number;
  heapStats(): void;
  validateHeaderPage(): number;
  // containers (assembly/containers/): codes as above, results in containerOut()
  containerOut(): number; containerMustAbort(): number;
  vecCreate(elemSize: number): number; vecInfo(v: number): number; vecAt(v: number, i: number): number;
  vecPush(v: number, len: number): number; vecSet(v: number, i: number, len: number): number;
  vecTruncate(v: number, n: number): number; vecFree(v: number): number; vecVerify(v: number): number;
  blobCreate(len: number): number; blobInfo(b: number): number; blobReplace(b: number, len: number): number;
  blobFree(b: number): number; blobVerify(b: number): number;
  // the ordered map (assembly/containers/btree.ts; src/containers/ordered-map.ts)
  btreeCreate(): number; btreeValid(map: number): number;
  btreeGet(map: number, keyLen: number): number;
  btreePut(map: number, keyLen: number, valLen: number, copy: number): number;
  btreeRemove(map: number, keyLen: number): number;
  btreeSeek(map: number, keyLen: number, mode: number): number;
  btreeStep(leaf: number, idx: number, dir: number): number;
  btreeGather(leaf: number, idx: number, dir: number, max: number, endLen: number): number; btreeGatherOut(): number;
  btreeCount(map: number): number; btreeEpoch(): number;
  btreeIo(): number; btreeIoCap(): number; btreeOut(): number; btreeKeyMax(): number;
  btreeCheck(map: number): number;
}

export type DrainHandler = (ranges: Uint32Array, count: number, final: boolean) => void;
/** The core asks for room: grow to at least `min` pool bytes, `want` if allowed. Returns the new pool size, or 0. Must not throw. */
export type GrowHandler = (min: number, want: number) => number;

/** Where the compiled module bytes come from (Node reads a file, a browser fetches). */
export type ModuleLoader = (debug: boolean) => WebAssembly.Module;

let loader: ModuleLoader | null = null;
const modules = new Map<boolean, WebAssembly.Module>();

/** Install the environment's module loader (done by the Node or browser entry point). */
export function setModuleLoader(load: ModuleLoader): void {
  loader = load;
  modules.clear();
}

/** Register an already compiled module (browser workers compile asynchronously first). */
export function setCompiledModule(debug: boolean, module: WebAssembly.Module): void {
  modules.set(debug, module);
}

function coreModule(debug: boolean): WebAssembly.Module {
  let m = modules.get(debug);
  if (!m) {
    if (!loader) throw new Error('pheap: no WASM module loader installed (import pheap from its package entry point)');
    m = loader(debug);
    modules.set(debug, m);
  }
  return m;
}

/** Memory holding `size` bytes of pool, able to grow to `maxSize` (the engine reserves it, so growing rarely moves it). */
export function poolMemory(size: number, maxSize = size): WebAssembly.Memory {
  const pages = (POOL_BASE + size) / WASM_PAGE;
  return new WebAssembly.Memory({ initial: pages, maximum: Math.max(pages, Math.ceil((POOL_BASE + maxSize) / WASM_PAGE)) });
}

function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return '';
  const len = new Uint32Array(memory.buffer, ptr - 4, 1)[0] >>> 1;
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, len));
}

/** A core instance bound to `memory`, calling `onDrain` at every drain and `onGrow` when the pool needs room (default: never grows). */
export function instantiateCore(memory: WebAssembly.Memory, onDrain: DrainHandler, debug = false, onGrow: GrowHandler = () => 0): CoreExports {
  let ranges: Uint32Array | null = null;
  const instance = new WebAssembly.Instance(coreModule(debug), {
    env: {
      memory,
      drain(ptr: number, count: number, final: number) {
        if (ranges?.buffer !== memory.buffer) ranges = new Uint32Array(memory.buffer, ptr, 2 * 0x1_0000);
        onDrain(ranges, count, final !== 0);
      },
      grow: (min: number, want: number) => onGrow(min >>> 0, want >>> 0),
      abort(msg: number, file: number, line: number, col: number) {
        throw new Error(`pheap core assertion: ${readAsString(memory, msg)} at ${readAsString(memory, file)}:${line}:${col}`);
      },
    },
  });
  return instance.exports as unknown as CoreExports;
}

let probe: { core: CoreExports; page: Uint8Array } | null = null;

/**
 * Validate a pool's first page (magic, checksum, state words, version) with
 * the core itself, before its recorded size is trusted to size a memory.
 * Returns the core's code (0 = the page is sound). One small instance is
 * kept for all probes.
 */
export function probeHeaderPage(head: Uint8Array): number {
  if (!probe) {
    const memory = poolMemory(128 * 1024);
    probe = { core: instantiateCore(memory, () => {}), page: new Uint8Array(memory.buffer, POOL_BASE, 4096) };
  }
  probe.page.set(head.subarray(0, 4096));
  return probe.core.validateHeaderPage();
}
