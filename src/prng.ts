// prng.ts — the one seeded random source: every random choice in crash
// simulation and deterministic pools comes from here, so a seed replays it.
//
// sfc32 seeded through splitmix32: small, fast, good statistical quality,
// and identical on every JS engine (pure 32-bit integer arithmetic).

export type Seed = number | string;

function splitmix32(state: number): () => number {
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function seedToInt(seed: Seed): number {
  if (typeof seed === 'number') return seed >>> 0 ^ Math.floor(seed / 0x1_0000_0000);
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A seeded generator of uint32 values. */
export class Prng {
  private a: number; private b: number; private c: number; private d: number;
  constructor(seed: Seed) {
    const s = splitmix32(seedToInt(seed));
    this.a = s(); this.b = s(); this.c = s(); this.d = s();
  }
  /** Next uint32. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** A fair coin. */
  coin(): boolean { return (this.next() & 1) === 1; }
  /** Integer in [0, n). */
  below(n: number): number { return Math.floor((this.next() / 0x1_0000_0000) * n); }
  /** Fill `out` with random bytes. */
  bytes(out: Uint8Array): Uint8Array {
    for (let i = 0; i < out.length; i += 4) {
      const v = this.next();
      for (let k = 0; k < 4 && i + k < out.length; k++) out[i + k] = (v >>> (8 * k)) & 0xff;
    }
    return out;
  }
}
