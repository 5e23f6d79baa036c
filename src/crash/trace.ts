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
// A traced drain costs a copy of the drained lines; with `withDirty` it also
// compares the whole cache with the durable image (natively, 4 KiB blocks at
// a time, where Node's Buffer is available), so it costs O(pool size).
//
//   const trace = recordTrace({ size: 1 << 20, layout: 'demo', seed: 1 },
//     (pool, mark) => { ...; mark('op 1 returned'); }, { withDirty: true });

import { MemoryBackend } from '../backends/memory.js';
import { LINE_SHIFT } from '../backends/backend.js';
import { Pool } from '../pool.js';
import type { Seed } from '../prng.js';

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
}

export interface Trace {
  /** Durable image when recording started. */
  initial: Uint8Array;
  drains: DrainRecord[];
  /** Dirty lines when recording stopped (crash after the last drain). */
  finalDirty?: LineSet;
  markers: Marker[];
}

type BufferLike = Uint8Array & { compare(target: Uint8Array, tStart: number, tEnd: number, sStart: number, sEnd: number): number };
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

/** Copy the given lines of `source` into a LineSet. */
export function captureLines(source: Uint8Array, lines: number[]): LineSet {
  const bytes = new Uint8Array(lines.length << LINE_SHIFT);
  for (let i = 0; i < lines.length; i++) {
    const at = lines[i] << LINE_SHIFT;
    bytes.set(source.subarray(at, at + 64), i << LINE_SHIFT);
  }
  return { lines, bytes };
}

/** A memory backend that records a Trace between start() and stop(). */
export class TracingBackend extends MemoryBackend {
  private recording = false;
  private trace: Trace | null = null;

  /** `withDirty`: also record the dirty lines at every drain (needed by evict / tear8; O(pool) per drain). */
  constructor(size: number, private readonly withDirty: boolean, image?: Uint8Array) {
    super(size, 'os', image);
  }

  /** Start recording from the current durable image (kept in the trace unless `keepInitial` is false). */
  start(keepInitial = true): void {
    this.trace = { initial: keepInitial ? this.image.slice() : new Uint8Array(0), drains: [], markers: [] };
    this.recording = true;
  }

  /** Place a marker (ignored when not recording). */
  mark(label: string): void {
    if (this.trace) this.trace.markers.push({ label, afterDrains: this.trace.drains.length });
  }

  /** Stop recording and return the trace. */
  stop(): Trace {
    const trace = this.trace;
    if (!trace) throw new Error('TracingBackend.stop() without start()');
    if (this.withDirty && this.cache) trace.finalDirty = captureLines(this.cache, dirtyLines(this.image, this.cache));
    this.recording = false;
    this.trace = null;
    return trace;
  }

  override drain(ranges: Uint32Array, count: number, final: boolean): void {
    if (this.recording) {
      const lines: number[] = [];
      for (let i = 0; i < count; i++) for (let l = 0; l < ranges[2 * i + 1]; l++) lines.push(ranges[2 * i] + l);
      const record: DrainRecord = { drained: captureLines(this.cache!, lines) };
      if (this.withDirty) {
        const drainedSet = new Set(lines);
        record.dirty = captureLines(this.cache!, dirtyLines(this.image, this.cache!).filter((l) => !drainedSet.has(l)));
      }
      this.trace!.drains.push(record);
    }
    super.drain(ranges, count, final);
  }
}

export interface RecordOptions {
  /** Pool size (default 1 MiB), layout name (default 'explore'), UUID seed (default 1). */
  size?: number;
  layout?: string;
  seed?: Seed;
  /** Record the dirty lines at each drain (default false). */
  withDirty?: boolean;
  /** Runs before recording starts; its drains are not in the trace. */
  setup?: (pool: Pool) => void;
}

/**
 * Create a deterministic in-memory pool, run `setup`, then run `workload`
 * while recording its trace. The pool is closed afterwards.
 */
export function recordTrace(workload: (pool: Pool, mark: (label: string) => void) => void, opts: RecordOptions = {}): Trace {
  const size = opts.size ?? 1 << 20;
  const backend = new TracingBackend(size, opts.withDirty ?? false);
  const pool = Pool.create({ backend, size, layout: opts.layout ?? 'explore', seed: opts.seed ?? 1 });
  try {
    opts.setup?.(pool);
    backend.start();
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
      const at = line << LINE_SHIFT;
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
