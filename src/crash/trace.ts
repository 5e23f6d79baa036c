// trace.ts — recording a workload's persistence points.
//
// A TracingBackend is a memory backend that remembers, for every drain, the
// lines it made durable and their bytes — and, when asked, the lines that
// were dirty (stored, never flushed) at that moment, which `evict` and
// `tear8` crashes may also keep. Markers placed by the workload ("op 17
// returned") are stamped with the number of drains completed so far.
// Recording is a different backend, so a pool that is not traced pays
// nothing for it.

import { MemoryBackend } from '../backends/memory.js';
import { LINE_SHIFT } from '../backends/backend.js';
import { dirtyLines } from './modes.js';

export interface LineSet {
  /** Line numbers, ascending. */
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

export interface Marker { label: string; afterDrains: number }

export interface Trace {
  /** Durable image when recording started. */
  initial: Uint8Array;
  drains: DrainRecord[];
  /** Dirty lines when recording stopped (crash after the last drain). */
  finalDirty?: LineSet;
  markers: Marker[];
}

function captureLines(source: Uint8Array, lines: number[]): LineSet {
  const bytes = new Uint8Array(lines.length << LINE_SHIFT);
  lines.forEach((l, i) => bytes.set(source.subarray(l << LINE_SHIFT, (l + 1) << LINE_SHIFT), i << LINE_SHIFT));
  return { lines, bytes };
}

export class TracingBackend extends MemoryBackend {
  private recording = false;
  private trace: Trace | null = null;

  constructor(size: number, private readonly withDirty: boolean, image?: Uint8Array) {
    super(size, 'os', image);
  }

  /** Start recording from the current durable image (kept in the trace unless `keepInitial` is false). */
  start(keepInitial = true): void {
    this.trace = { initial: keepInitial ? this.image.slice() : new Uint8Array(0), drains: [], markers: [] };
    this.recording = true;
  }

  mark(label: string): void {
    if (this.trace) this.trace.markers.push({ label, afterDrains: this.trace.drains.length });
  }

  /** Stop recording and return the trace. */
  stop(): Trace {
    const trace = this.trace!;
    if (this.withDirty) trace.finalDirty = captureLines(this.cache!, dirtyLines(this.image, this.cache!));
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
