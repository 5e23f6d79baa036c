// hash.ts — hashes for crash images.
//
// ImageHash: a 64-bit hash of a pool image that is the sum (mod 2^32, two
// lanes) of per-line hashes, each salted with its line number. Replacing a
// line updates it in O(64 bytes), so the explorer can name thousands of
// images that differ from one base in a few lines without rehashing the
// pool. It identifies images for de-duplication only.
//
// sha256: a plain synchronous SHA-256 (FIPS 180-4), for the hashes printed in
// reports and checked on replay (byte-identical reproduction). It runs in
// Node and in browsers alike; ~10 ms per MiB, so it is only used on the few
// images a report names.

export const LINE = 64;

/** Hash of one 64-byte line at `at` in `bytes`, salted with its line number. Writes two u32 to out[0..1]. */
function lineHash(line: number, bytes: Uint8Array, at: number, out: Uint32Array): void {
  let a = (0x811c9dc5 ^ line) >>> 0, b = (0x9e3779b9 + line) | 0;
  const base = bytes.byteOffset + at;
  if ((base & 3) === 0) {
    const w32 = new Uint32Array(bytes.buffer, base, 16);
    for (let i = 0; i < 16; i++) {
      const w = w32[i];
      a = Math.imul(a ^ w, 0x01000193);
      b = Math.imul(b + w, 0x85ebca6b) ^ (b >>> 13);
    }
  } else {
    for (let i = 0; i < LINE; i += 4) {
      const w = (bytes[at + i] | (bytes[at + i + 1] << 8) | (bytes[at + i + 2] << 16) | (bytes[at + i + 3] << 24)) >>> 0;
      a = Math.imul(a ^ w, 0x01000193);
      b = Math.imul(b + w, 0x85ebca6b) ^ (b >>> 13);
    }
  }
  out[0] = a; out[1] = b;
}

const scratch = new Uint32Array(2);

type BufferLike = Uint8Array & { compare(target: Uint8Array, tStart: number, tEnd: number, sStart: number, sEnd: number): number };
const NodeBuffer = (globalThis as { Buffer?: { from(b: ArrayBufferLike, off?: number, len?: number): BufferLike } }).Buffer;
const ZERO_BLOCK = new Uint8Array(4096);
const ZERO_LINE = new Uint8Array(LINE);

/**
 * A hash of a whole image that can be updated one line at a time: the sum
 * over lines of lineHash(line, bytes) − lineHash(line, zeros). All-zero lines
 * add nothing, so hashing a mostly empty pool skips them (4 KiB blocks are
 * compared with zeros natively where Node's Buffer exists).
 */
export class ImageHash {
  constructor(public a = 0, public b = 0) {}

  static of(image: Uint8Array): ImageHash {
    const h = new ImageHash();
    const lines = image.length / LINE;
    if (NodeBuffer && image.length % ZERO_BLOCK.length === 0) {
      const img = NodeBuffer.from(image.buffer, image.byteOffset, image.length);
      const zero = NodeBuffer.from(ZERO_BLOCK.buffer);
      const per = ZERO_BLOCK.length / LINE;
      for (let blk = 0; blk < image.length; blk += ZERO_BLOCK.length) {
        if (img.compare(zero, 0, ZERO_BLOCK.length, blk, blk + ZERO_BLOCK.length) === 0) continue;
        for (let l = blk / LINE, e = l + per; l < e; l++) h.addLine(l, image);
      }
    } else {
      for (let l = 0; l < lines; l++) h.addLine(l, image);
    }
    return h;
  }

  private addLine(l: number, image: Uint8Array): void {
    const w = new Uint32Array(image.buffer, image.byteOffset + l * LINE, 16);
    for (let i = 0; i < 16; i++) if (w[i] !== 0) { this.replace(l, ZERO_LINE, 0, image, l * LINE); return; }
  }

  /** Replace line `line`: its old bytes at old[oldAt..], its new bytes at neu[newAt..]. */
  replace(line: number, old: Uint8Array, oldAt: number, neu: Uint8Array, newAt: number): void {
    lineHash(line, old, oldAt, scratch);
    const a0 = scratch[0], b0 = scratch[1];
    lineHash(line, neu, newAt, scratch);
    this.a = (this.a + scratch[0] - a0) >>> 0;
    this.b = (this.b + scratch[1] - b0) >>> 0;
  }

  clone(): ImageHash { return new ImageHash(this.a, this.b); }
  key(): string { return `${this.a.toString(16).padStart(8, '0')}${this.b.toString(16).padStart(8, '0')}`; }
}

// ─── SHA-256 ────────────────────────────────────────────────────────────────

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

function compress(st: Uint32Array, w: Uint32Array, block: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++) {
    const j = at + 4 * i;
    w[i] = ((block[j] << 24) | (block[j + 1] << 16) | (block[j + 2] << 8) | block[j + 3]) >>> 0;
  }
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15], y = w[i - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
  }
  let a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + K[i] + w[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  st[0] = (st[0] + a) >>> 0; st[1] = (st[1] + b) >>> 0; st[2] = (st[2] + c) >>> 0; st[3] = (st[3] + d) >>> 0;
  st[4] = (st[4] + e) >>> 0; st[5] = (st[5] + f) >>> 0; st[6] = (st[6] + g) >>> 0; st[7] = (st[7] + h) >>> 0;
}

/** SHA-256 of `data`, as 64 lowercase hex digits. */
export function sha256(data: Uint8Array): string {
  const st = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  const full = data.length - (data.length % 64);
  for (let at = 0; at < full; at += 64) compress(st, w, data, at);
  const tail = new Uint8Array(data.length % 64 < 56 ? 64 : 128);
  tail.set(data.subarray(full));
  tail[data.length - full] = 0x80;
  const bits = data.length * 8;
  const v = new DataView(tail.buffer);
  v.setUint32(tail.length - 8, Math.floor(bits / 0x1_0000_0000));
  v.setUint32(tail.length - 4, bits >>> 0);
  for (let at = 0; at < tail.length; at += 64) compress(st, w, tail, at);
  return Array.from(st, (x) => x.toString(16).padStart(8, '0')).join('');
}
