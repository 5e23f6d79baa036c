// bytes.ts — copying small byte strings into and out of the pool's memory
// (no imports: every layer, the browser page's bundle included, may use it).
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

/** Copies up to this long are made byte by byte: cheaper than making a view for TypedArray.set. */
const BY_BYTE = 32;

/** Copy `bytes` into `mem` at `at`. */
export function copyIn(mem: Uint8Array, at: number, bytes: Uint8Array): void {
  const n = bytes.length;
  if (n > BY_BYTE) mem.set(bytes, at);
  else for (let i = 0; i < n; i++) mem[at + i] = bytes[i];
}

/**
 * A copy of `src[start, end)`, a Uint8Array. A small one is a view into a
 * shared slab: read it through its byteOffset (its `.buffer` holds others
 * too).
 */
export function copyOut(src: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start;
  if (n > SMALL) return src.slice(start, end);
  if (used + n > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    used = 0;
  }
  const out = new Uint8Array(slab, used, n);
  if (n <= BY_BYTE) for (let i = 0; i < n; i++) out[i] = src[start + i];
  else out.set(src.subarray(start, end));
  used = (used + n + 7) & ~7;
  return out;
}
