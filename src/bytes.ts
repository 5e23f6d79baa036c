// bytes.ts — copying bytes out of the pool's memory (no imports: every
// layer, the browser page's bundle included, may use it).
//
// A fresh Uint8Array of n bytes gets a backing store of its own, which
// costs several times as much as copying a small value. copyBytes cuts
// small copies from a shared 8 KiB slab instead (as Node's Buffer pool
// does), so a copy costs one view.
//
// Invariants:
// - what copyBytes returns owns its bytes: no later store into the pool (or
//   growth of its memory), and no later copy, shows through it;
// - a slab is never handed out twice: `used` only grows until a new slab
//   replaces it, and each copy starts 8-aligned.

const SLAB_SIZE = 8192;
/** Copies longer than this get an array of their own (so a slab holds at least 8). */
const SMALL = 1024;
let slab = new ArrayBuffer(SLAB_SIZE);
let used = 0;

/**
 * A copy of `bytes`, a Uint8Array. A small one is a view into a shared
 * slab: read it through its byteOffset (its `.buffer` holds others too).
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  if (n > SMALL) return bytes.slice();
  if (used + n > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    used = 0;
  }
  const out = new Uint8Array(slab, used, n);
  out.set(bytes);
  used = (used + n + 7) & ~7;
  return out;
}
