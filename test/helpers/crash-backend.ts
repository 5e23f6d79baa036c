// crash-backend.ts — a memory backend that crashes at a chosen drain.
//
// Owns crash injection for the torture test (test/helpers/torture.ts). Armed
// with (countdown, mode, seed), it lets `countdown` drains through and, at
// the next one, builds the image a crash at that persistence point leaves
// (src/crash/modes.ts: the durable image before this drain, plus what the
// mode lets survive of the lines being drained and, for evict / tear8, of
// the dirty lines), calls `onCrash` (the harness closes the pool there, so
// Pool.tx does not run an abort on a core whose stack was torn down) and
// throws a CrashSignal carrying the image out of whatever operation — or
// open — was running.
//
// Invariants: an unarmed backend behaves exactly like MemoryBackend; after a
// crash the durable image is never written again (every later drain throws
// the same signal); the crash image depends only on (image, cache, drained
// lines, mode, seed), so a seed replays it.

import { MemoryBackend } from '../../src/backends/memory.js';
import { crashImage, linesOfRanges, type CrashMode } from '../../src/crash/modes.js';

/** Thrown out of an operation when the armed crash fires; never a PheapError. */
export class CrashSignal extends Error {
  constructor(readonly image: Uint8Array, readonly mode: CrashMode) {
    super(`simulated ${mode} crash`);
    this.name = 'CrashSignal';
  }
}

/** When and how the next crash happens. */
export interface CrashPlan {
  /** Drains to let through before crashing at the next one. */
  countdown: number;
  mode: CrashMode;
  /** Seed of the mode's coin flips. */
  seed: number;
}

export class CrashBackend extends MemoryBackend {
  private plan: CrashPlan | null = null;
  private signal: CrashSignal | null = null;
  /** Drains made durable by this backend (crashed ones excluded). */
  drains = 0;
  /** Called once, just before the CrashSignal is thrown. */
  onCrash: (() => void) | null = null;

  /** A backend over `image` (used as is) or a fresh zeroed one of `size` bytes; `evicts` as in MemoryBackend (default true: pmem). */
  constructor(size: number, image?: Uint8Array, evicts = true) {
    super(size, 'os', image, { evicts });
  }

  /** Crash at a later drain (replacing any earlier plan); null disarms. */
  arm(plan: CrashPlan | null): void {
    this.plan = plan;
  }

  /** Is a crash still to come? */
  get armed(): boolean {
    return this.plan !== null;
  }

  override drain(ranges: Uint32Array, count: number, final?: boolean): void {
    if (this.signal) throw this.signal;
    const plan = this.plan;
    if (plan && plan.countdown-- === 0) {
      this.plan = null;
      const image = crashImage(this.image, this.cache!, linesOfRanges(ranges, count), { mode: plan.mode, seed: plan.seed });
      this.signal = new CrashSignal(image, plan.mode);
      this.onCrash?.();
      throw this.signal;
    }
    this.drains++;
    super.drain(ranges, count, final);
  }
}
