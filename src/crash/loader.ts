// loader.ts — load crash images into one recycled pool without copying pools.
//
// Crash exploration opens thousands of images that differ from one "base"
// image (the durable image at the current crash point) in a handful of
// lines. Copying a whole image per state (twice: building it, then loading
// it into linear memory) was most of the cost. ImageLoader is the backend of
// every explored pool; it keeps the pool region of the recycled pool's
// linear memory equal to `base`, and per state:
//
//   load(overlay)   the image is base + overlay (line -> 64 bytes)
//   attach          writes only the overlay lines into linear memory
//                   (a full copy only when the memory is new)
//   drain           records the lines recovery / the check made durable
//                   (they are the crash points inside recovery)
//   restore()       puts back the base bytes of every line that may have
//                   changed: the overlay, every drained line, and every
//                   line the check stored into through the tracked pool
//
// Everything the core writes during open it persists (so it is drained),
// and stores by the user's recover and check go through a tracking proxy
// (explore.ts), so the touched set should be complete. It is not trusted:
// the safety net compares the whole region with base after every restore
// (one native compare, ~25 µs per MiB) for pools up to VERIFY_BYTES_PER_STATE,
// and after every ⌊size / VERIFY_BYTES_PER_STATE⌋-th restore (and at
// verify()) for larger ones, so it costs at most about one 4 MiB compare per
// state. A difference — a store that bypassed the tracking — is recorded in
// `untracked` and switches this loader to whole-image restores. Comparing
// after every state, the state that made the stray store is the only one it
// touched; with a longer interval, states since the last comparison may have
// seen it, and `late` says so (the explorer then explores again with
// whole-image restores from the start). (Comparing only after the 1st, 16th,
// 256th … state, as before, let stores made by later states leak unnoticed.)

import type { Backend } from '../backends/backend.js';
import { LINE_BYTES, LINE_SHIFT } from '../backends/backend.js';
import { ImageHash, LINE } from './hash.js';
import { dirtyLines, sameBytes, type LineSet } from './trace.js';

/** An image as the lines where it differs from the base image. */
export type Overlay = Map<number, Uint8Array>;

/** The safety net compares at most about this many bytes per state (see the header comment). */
export const VERIFY_BYTES_PER_STATE = 4 << 20;

export class ImageLoader implements Backend {
  readonly kind = 'memory' as const;
  readonly durability = 'os' as const;
  readonly isPmem = false;
  readonly size: number;
  /** Hash of `base`, kept up to date by advance(). */
  readonly hash: ImageHash;
  private memory: WebAssembly.Memory | null = null;
  private mem: Uint8Array | null = null;
  private overlay: Overlay = new Map();
  private touchedFlag: Uint8Array;
  private touched: number[] = [];
  /** Drains seen since load(): lines and their bytes at drain time. */
  drains: LineSet[] = [];
  /** Set when the safety net found an untracked change (or asked for): every restore copies the whole image. */
  fullRestore: boolean;
  /** The safety net found a change more than one state after the last comparison. */
  late = false;
  /** Restores between two comparisons. */
  private readonly verifyEvery: number;
  private restores = 0;
  /** Untracked changes found by the safety net (line numbers), for the report. */
  untracked: number[] = [];

  /**
   * `base` is used as is and updated by advance(). `fullRestore`: copy the
   * whole image at every restore. `evicts`: the cache model of the workload
   * being explored (Backend.evicts).
   */
  constructor(readonly base: Uint8Array, fullRestore = false, readonly evicts = true) {
    this.fullRestore = fullRestore;
    this.verifyEvery = Math.max(1, Math.floor(base.length / VERIFY_BYTES_PER_STATE));
    this.size = base.length;
    this.hash = ImageHash.of(base);
    this.touchedFlag = new Uint8Array(base.length >>> LINE_SHIFT);
  }

  /** The base image moves on: a drain made these lines durable. */
  advance(set: LineSet): void {
    const { base, mem } = this;
    set.lines.forEach((line, i) => {
      const at = line * LINE_BYTES;
      this.hash.replace(line, base, at, set.bytes, i << LINE_SHIFT);
      base.set(set.bytes.subarray(i << LINE_SHIFT, (i + 1) << LINE_SHIFT), at);
      mem?.set(set.bytes.subarray(i << LINE_SHIFT, (i + 1) << LINE_SHIFT), at);
    });
  }

  /** Hash key of base + overlay. */
  keyOf(overlay: Overlay): string {
    if (overlay.size === 0) return this.hash.key();
    const h = this.hash.clone();
    for (const [line, bytes] of overlay) h.replace(line, this.base, line * LINE_BYTES, bytes, 0);
    return h.key();
  }

  /** A full copy of base + overlay. */
  imageOf(overlay: Overlay): Uint8Array {
    const img = this.base.slice();
    for (const [line, bytes] of overlay) img.set(bytes, line * LINE_BYTES);
    return img;
  }

  /** The next open sees base + overlay. */
  load(overlay: Overlay): void {
    this.overlay = overlay;
    this.drains = [];
  }

  private touch(line: number): void {
    if (!this.touchedFlag[line]) { this.touchedFlag[line] = 1; this.touched.push(line); }
  }

  /** Mark [off, off+len) as possibly changed (a store by the check). */
  touchRange(off: number, len: number): void {
    if (len <= 0) return;
    const last = Math.min((off + len - 1) >>> LINE_SHIFT, this.touchedFlag.length - 1);
    for (let l = off >>> LINE_SHIFT; l <= last; l++) this.touch(l);
  }

  attach(memory: WebAssembly.Memory, base: number): void {
    if (memory !== this.memory) {
      this.memory = memory;
      this.mem = new Uint8Array(memory.buffer, base, this.size);
      this.mem.set(this.base);
      this.touched.forEach((l) => { this.touchedFlag[l] = 0; });
      this.touched = [];
    }
    const mem = this.mem!;
    for (const [line, bytes] of this.overlay) {
      mem.set(bytes, line * LINE_BYTES);
      this.touch(line);
    }
  }

  drain(ranges: Uint32Array, count: number): void {
    const mem = this.mem!;
    const lines: number[] = [];
    for (let i = 0; i < count; i++) for (let l = 0; l < ranges[2 * i + 1]; l++) lines.push(ranges[2 * i] + l);
    const bytes = new Uint8Array(lines.length << LINE_SHIFT);
    lines.forEach((line, i) => {
      bytes.set(mem.subarray(line * LINE_BYTES, (line + 1) * LINE_BYTES), i << LINE_SHIFT);
      this.touch(line);
    });
    this.drains.push({ lines, bytes });
  }

  /** base + overlay + every drain so far (what a crash right now would keep in strict mode). */
  durableImage(): Uint8Array {
    const img = this.imageOf(this.overlay);
    for (const d of this.drains) d.lines.forEach((line, i) => img.set(d.bytes.subarray(i * LINE, (i + 1) * LINE), line * LINE));
    return img;
  }

  close(): void {}

  /** Make linear memory equal to base again, and check that it is (the safety net). */
  restore(): void {
    const mem = this.mem;
    if (!mem) return;
    if (this.fullRestore) {
      mem.set(this.base);
    } else {
      for (const line of this.touched) {
        const at = line * LINE_BYTES;
        mem.set(this.base.subarray(at, at + LINE), at);
      }
    }
    for (const l of this.touched) this.touchedFlag[l] = 0;
    this.touched = [];
    this.overlay = new Map();
    if (++this.restores % this.verifyEvery === 0) this.verify();
  }

  /** The safety net: is linear memory equal to base? If not, note the lines and switch to whole-image restores. */
  verify(): void {
    const mem = this.mem;
    if (!mem || this.fullRestore || sameBytes(this.base, mem)) return;
    this.untracked.push(...dirtyLines(this.base, mem));
    this.late = this.verifyEvery > 1;
    this.fullRestore = true;
    mem.set(this.base);
  }
}
