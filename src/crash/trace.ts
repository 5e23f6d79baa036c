// trace.ts — recording a workload's persistence points.
//
// A trace is what crash exploration needs to rebuild, afterwards, every
// image a crash could have left while the workload ran:
//
//   initial   the durable image when recording started
//   drains    for every drain (SFENCE), in order: the lines it made durable
//             and their bytes — and, when asked (`withDirty`), the lines that
//             were dirty at that moment (stored, never flushed), which the
//             `evict` and `tear8` crash modes may also keep
//   markers   labels the workload placed ("op 17 returned"), each stamped
//             with the number of drains completed when it was placed
//
// Recording is done by a different backend, TracingBackend, so a pool that
// is not traced pays nothing: no hook, no branch on its drain path.
// A traced drain costs a copy of the drained lines. Dirty lines cost more:
// finding them means comparing the cache with the durable image. Small
// pools (< 4 MiB) are compared whole at every drain (natively, 4 KiB blocks
// at a time, where Node's Buffer exists). Larger pools are recorded in two
// passes: the first runs the workload without comparing and collects every
// line that could ever be dirty — lines stored through the Pool API, lines
// drained, lines still dirty at the end (one whole compare) — and the second
// runs it again comparing only those lines. The core persists whatever it
// stores, so a line it stores is drained at some point and lands in the set.
// If the second pass drains differently (a non-deterministic workload), the
// recording falls back to whole compares and says so in `notes`.
//
//   const trace = recordTrace((pool, mark) => { ...; mark('op 1 returned'); },
//     { size: 1 << 20, layout: 'demo', seed: 1, withDirty: true });

import { LINE_BYTES, LINE_SHIFT, type Backend, type Durability } from '../backends/backend.js';
import { Pool } from '../pool.js';
import type { Seed } from '../prng.js';
import { interceptPool, WRITE_WIDTH } from './intercept.js';

export interface LineSet {
  /** Line numbers (pool offset / 64), ascending. */
  lines: number[];
  /** 64 bytes per line, in the same order. */
  bytes: Uint8Array;
}

/** One drain: the state just before it completes is a crash point. */
export interface DrainRecord {
  drained: LineSet;
  /** Dirty, never-flushed lines at that moment (only when tracing dirty lines). */
  dirty?: LineSet;
}

export interface Marker {
  label: string;
  /** Drains completed when the marker was placed: it is "before" crash point k iff afterDrains <= k. */
  afterDrains: number;
  /**
   * Set by explore(): the run it was placed in — 1 the workload, 2 the run
   * after the first crash and its recovery, and so on (see ExploreOptions.depth).
   */
  level?: number;
}

export interface Trace {
  /** Durable image when recording started. */
  initial: Uint8Array;
  drains: DrainRecord[];
  /** Dirty lines when recording stopped (crash after the last drain). */
  finalDirty?: LineSet;
  markers: Marker[];
  /** Anything unusual about the recording (e.g. a two-pass recording that had to fall back). */
  notes?: string[];
}

type BufferLike = Uint8Array & { compare(target: Uint8Array, tStart: number, tEnd: number, sStart: number, sEnd: number): number; equals(other: Uint8Array): boolean };
const NodeBuffer = (globalThis as { Buffer?: { from(b: ArrayBufferLike, off: number, len: number): BufferLike } }).Buffer;
const BLOCK = 4096;

/**
 * Lines whose `cache` content differs from `durable` (dirty), ascending.
 * Blocks of 4 KiB are compared natively first when Node's Buffer exists.
 */
export function dirtyLines(durable: Uint8Array, cache: Uint8Array): number[] {
  const a = new Int32Array(durable.buffer, durable.byteOffset, durable.length >>> 2);
  const b = new Int32Array(cache.buffer, cache.byteOffset, cache.length >>> 2);
  const out: number[] = [];
  const scan = (from: number, to: number) => {
    for (let w = from; w < to; w++) {
      if (a[w] !== b[w]) {
        out.push(w >>> 4);
        w = (((w >>> 4) + 1) << 4) - 1; // skip to the next line
      }
    }
  };
  if (NodeBuffer && durable.length % BLOCK === 0) {
    const da = NodeBuffer.from(durable.buffer, durable.byteOffset, durable.length);
    const ca = NodeBuffer.from(cache.buffer, cache.byteOffset, cache.length);
    for (let s = 0; s < durable.length; s += BLOCK) {
      if (da.compare(ca, s, s + BLOCK, s, s + BLOCK) !== 0) scan(s >>> 2, (s + BLOCK) >>> 2);
    }
  } else {
    scan(0, a.length);
  }
  return out;
}

/** Are the two arrays byte-identical? (One native compare where Node's Buffer exists.) */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  if (NodeBuffer) return NodeBuffer.from(a.buffer, a.byteOffset, a.length).equals(NodeBuffer.from(b.buffer, b.byteOffset, b.length));
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Copy the given lines of `source` into a LineSet. */
export function captureLines(source: Uint8Array, lines: number[]): LineSet {
  const bytes = new Uint8Array(lines.length << LINE_SHIFT);
  for (let i = 0; i < lines.length; i++) {
    const at = lines[i] * LINE_BYTES;
    bytes.set(source.subarray(at, at + 64), i << LINE_SHIFT);
  }
  return { lines, bytes };
}

/**
 * How a TracingBackend finds dirty lines: not at all, by comparing the whole
 * pool, or by comparing only the given lines (ascending).
 */
export type DirtyScan = 'none' | 'full' | number[];

/**
 * A memory backend (kind 'memory') that records a Trace between start() and
 * stop(). It is its own backend rather than a hook in MemoryBackend, so
 * untraced pools pay nothing.
 */
export class TracingBackend implements Backend {
  readonly kind = 'memory' as const;
  readonly isPmem = false;
  readonly durability: Durability = 'os';
  private image: Uint8Array;
  private cache: Uint8Array | null = null;
  /** Built over a zeroed image: the first attach (Pool.create's fresh memory) needs no copy. */
  private fresh: boolean;
  private recording = false;
  private trace: Trace | null = null;
  private readonly scan: DirtyScan;
  /** Lazy start: the original bytes of each line overwritten since start(). */
  private saved: Map<number, Uint8Array> | null = null;

  /**
   * `withDirty`: also record the dirty lines at every drain (needed by evict
   * and tear8): true compares the whole pool (O(pool) per drain), a list of
   * lines compares only those. `image` is used as is, not copied.
   * `evicts`: the cache it models (Backend.evicts; default true, pmem).
   */
  constructor(readonly size: number, withDirty: boolean | number[], image?: Uint8Array, readonly evicts = true) {
    this.image = image ?? new Uint8Array(size);
    this.fresh = !image;
    this.scan = withDirty === true ? 'full' : withDirty === false ? 'none' : withDirty;
  }

  attach(memory: WebAssembly.Memory, base: number): void {
    this.cache = new Uint8Array(memory.buffer, base, this.size);
    // Pool.create attaches a new (zeroed) memory: copying zeros over zeros is skipped.
    if (!this.fresh) this.cache.set(this.image);
    this.fresh = false;
  }

  /**
   * Start recording from the current durable image. The trace keeps a copy
   * of it — or, with 'lazy', the image itself is handed over at stop() (only
   * the lines drained meanwhile are saved and put back): no whole-pool copy,
   * but the backend must not be used after stop().
   */
  start(initial: boolean | 'lazy' = true): void {
    this.trace = { initial: initial === true ? this.image.slice() : new Uint8Array(0), drains: [], markers: [] };
    this.saved = initial === 'lazy' ? new Map() : null;
    this.recording = true;
  }

  /** Place a marker (ignored when not recording). */
  mark(label: string): void {
    if (this.trace) this.trace.markers.push({ label, afterDrains: this.trace.drains.length });
  }

  private dirtyNow(): number[] {
    if (this.scan === 'none') return [];
    if (this.scan === 'full') return dirtyLines(this.image, this.cache!);
    const a = new Int32Array(this.image.buffer, this.image.byteOffset, this.image.length >>> 2);
    const b = new Int32Array(this.cache!.buffer, this.cache!.byteOffset, this.cache!.length >>> 2);
    return this.scan.filter((l) => { for (let w = l << 4, e = w + 16; w < e; w++) if (a[w] !== b[w]) return true; return false; });
  }

  /** Lines dirty right now, by a whole-pool compare. */
  dirtyAll(): number[] {
    return this.cache ? dirtyLines(this.image, this.cache) : [];
  }

  /** Stop recording and return the trace. */
  stop(): Trace {
    const trace = this.trace;
    if (!trace) throw new Error('TracingBackend.stop() without start()');
    if (this.scan !== 'none' && this.cache) trace.finalDirty = captureLines(this.cache, this.dirtyNow());
    if (this.saved) {
      for (const [line, bytes] of this.saved) this.image.set(bytes, line * LINE_BYTES);
      trace.initial = this.image;
      this.image = new Uint8Array(0);
      this.cache = null;
      this.saved = null;
    }
    this.recording = false;
    this.trace = null;
    return trace;
  }

  drain(ranges: Uint32Array, count: number, _final: boolean): void {
    const lines: number[] = [];
    for (let i = 0; i < count; i++) for (let l = 0; l < ranges[2 * i + 1]; l++) lines.push(ranges[2 * i] + l);
    if (this.recording) {
      const record: DrainRecord = { drained: captureLines(this.cache!, lines) };
      if (this.scan !== 'none') {
        const drainedSet = new Set(lines);
        record.dirty = captureLines(this.cache!, this.dirtyNow().filter((l) => !drainedSet.has(l)));
      }
      this.trace!.drains.push(record);
    }
    const { image, cache, saved } = this;
    for (const line of lines) {
      const at = line * LINE_BYTES;
      if (saved && !saved.has(line)) saved.set(line, image.slice(at, at + 64));
      image.set(cache!.subarray(at, at + 64), at);
    }
  }

  /**
   * Growth inside the image's capacity (it is made as large as the pool may
   * grow: RecordOptions.capacity): [from, to) becomes zeros in image and
   * memory. If that changes durable bytes (what a growth interrupted by an
   * earlier crash left), the change is recorded as a drain of its own, a
   * persistence point like the file's zero-filling write. Past the capacity
   * the pool cannot grow (OutOfSpaceError).
   */
  grow(memory: WebAssembly.Memory, base: number, from: number, to: number): void {
    this.cache = new Uint8Array(memory.buffer, base, this.size);
    if (to > this.size) throw new Error(`the traced image holds ${this.size} bytes; the pool cannot grow to ${to} (raise the capacity option)`);
    const lines: number[] = [];
    for (let l = from / LINE_BYTES; l < to / LINE_BYTES; l++) {
      if (this.image.subarray(l * LINE_BYTES, (l + 1) * LINE_BYTES).some((b) => b !== 0)) lines.push(l);
    }
    this.cache = new Uint8Array(memory.buffer, base, this.size);
    if (lines.length > 0) this.drain(Uint32Array.from(lines.flatMap((l) => [l, 1])), lines.length, true);
  }

  durableImage(): Uint8Array { return this.image.slice(); }
  replaceDurableImage(image: Uint8Array): void { this.image.set(image); }
  close(): void { this.cache = null; }
}

export interface RecordOptions {
  /** Pool size (default 1 MiB), layout name (default 'explore'), UUID seed (default 1). */
  size?: number;
  /** Bytes the pool may grow to (default `size`: it cannot grow); every image of the trace is this long. */
  capacity?: number;
  layout?: string;
  seed?: Seed;
  /** Record the dirty lines at each drain (default false). */
  withDirty?: boolean;
  /** The cache model of the pool (Backend.evicts; default true, pmem: an eager undo log). */
  evicts?: boolean;
  /** Runs before recording starts; its drains are not in the trace. */
  setup?: (pool: Pool) => void;
  /** Pools from this size up record dirty lines in two passes (default 4 MiB; Infinity: never). */
  twoPassFrom?: number;
}

type Workload = (pool: Pool, mark: (label: string) => void) => void;

function recordOnce(workload: Workload, opts: RecordOptions, scan: boolean | number[], written?: Set<number>): Trace {
  let endDirty: number[] = [];
  const size = opts.size ?? 1 << 20;
  const backend = new TracingBackend(Math.max(size, opts.capacity ?? 0), scan, undefined, opts.evicts ?? true);
  const real = Pool.create({ backend, size, maxSize: backend.size, layout: opts.layout ?? 'explore', seed: opts.seed ?? 1 });
  let pool = real;
  if (written) {
    // Note every line stored through the Pool API (setup included: its stores may still be dirty).
    const note = (off: number, len: number) => { for (let l = off >>> 6, e = (off + len - 1) >>> 6; l <= e; l++) written.add(l); };
    const overrides: Record<string, (...a: never[]) => unknown> = {};
    for (const [m, width] of Object.entries(WRITE_WIDTH)) {
      overrides[m] = ((off: number, v: never) => { (real as unknown as Record<string, (o: number, v: never) => void>)[m](off, v); note(off, width); }) as (...a: never[]) => unknown;
    }
    overrides.writeBytes = ((off: number, d: Uint8Array) => { real.writeBytes(off, d); if (d.length) note(off, d.length); }) as (...a: never[]) => unknown;
    pool = interceptPool(() => real, overrides);
  }
  try {
    opts.setup?.(pool);
    backend.start('lazy');
    workload(pool, (label) => backend.mark(label));
    if (written) endDirty = backend.dirtyAll(); // stored and never flushed by anyone
    return backend.stop();
  } finally {
    real.close();
    for (const l of endDirty) written?.add(l);
  }
}

function sameDrains(a: Trace, b: Trace): boolean {
  if (a.drains.length !== b.drains.length) return false;
  return a.drains.every((d, i) => {
    const e = b.drains[i].drained;
    return d.drained.lines.length === e.lines.length && d.drained.lines.every((l, j) => l === e.lines[j]);
  });
}

/**
 * Create a deterministic in-memory pool, run `setup`, then run `workload`
 * while recording its trace. The pool is closed afterwards. With
 * `withDirty`, pools of `twoPassFrom` bytes and more run the workload twice
 * (see the header comment); it must then be deterministic to gain from it.
 */
export function recordTrace(workload: Workload, opts: RecordOptions = {}): Trace {
  const size = Math.max(opts.size ?? 1 << 20, opts.capacity ?? 0);
  if (!opts.withDirty) return recordOnce(workload, opts, false);
  if (size < (opts.twoPassFrom ?? 4 << 20)) return recordOnce(workload, opts, true);
  const written = new Set<number>();
  const first = recordOnce(workload, opts, [], written);
  for (const d of first.drains) for (const l of d.drained.lines) written.add(l);
  const lines = [...written].sort((x, y) => x - y);
  const second = recordOnce(workload, opts, lines);
  if (sameDrains(first, second)) return second;
  const full = recordOnce(workload, opts, true);
  full.notes = ['the workload drained differently when run twice (not deterministic): dirty lines were found by whole-pool compares'];
  return full;
}

export interface RecordFromOptions {
  layout: string;
  /** Record the dirty lines at each drain (whole-pool compares). */
  withDirty: boolean;
  /** The cache model (Backend.evicts; default true). */
  evicts?: boolean;
  /** Runs after the open, before recording starts (user-level recovery); its drains are not in the trace. */
  before?: (pool: Pool) => void;
}

/**
 * The run after a crash: open `image` (the core's recovery runs), run
 * `opts.before`, then record `workload` on the recovered pool. `image` is
 * used as is (it becomes the backing store). Stores `before` left unflushed
 * are dirty lines of the trace, as they would be in the cache.
 */
export function recordFromImage(image: Uint8Array, workload: Workload, opts: RecordFromOptions): Trace {
  const backend = new TracingBackend(image.length, opts.withDirty, image, opts.evicts ?? true);
  const pool = Pool.open({ backend, layout: opts.layout, maxSize: image.length });
  try {
    opts.before?.(pool);
    backend.start('lazy');
    workload(pool, (label) => backend.mark(label));
    return backend.stop();
  } finally {
    pool.close();
  }
}

/**
 * For each drain of a trace, the number of aligned 8-byte words it changed in
 * the durable image: a lower bound on the stores it made durable (two stores
 * to one word count once). Used to compute what ReorderFull would explore.
 */
export function changedWordsPerDrain(trace: Trace): number[] {
  const durable = trace.initial.slice();
  const out: number[] = [];
  for (const d of trace.drains) {
    let n = 0;
    d.drained.lines.forEach((line, i) => {
      const at = line * LINE_BYTES;
      for (let w = 0; w < 64; w += 8) {
        for (let b = 0; b < 8; b++) {
          if (durable[at + w + b] !== d.drained.bytes[(i << LINE_SHIFT) + w + b]) { n++; break; }
        }
      }
      durable.set(d.drained.bytes.subarray(i << LINE_SHIFT, (i + 1) << LINE_SHIFT), at);
    });
    out.push(n);
  }
  return out;
}
