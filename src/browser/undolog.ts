// undolog.ts — read the undo log out of a pool image (for the playground).
//
// Mirrors assembly/log.ts and assembly/hash.ts: the log area starts with a
// 64-byte header whose first u64 is the seq word (bits 0..39 the sequence
// number, 40..55 the count of durable entries, 56..63 a check); entries
// follow, each a 16-byte header (u32 off, u32 len, u64 check) and the old
// bytes padded to 16. Entry i is valid iff check = hash64(old bytes; seq,
// off, len, i) for the current seq; bumping seq invalidates all entries at
// once. Only the fixed log area is decoded (extension blocks are not followed).

const M64 = (1n << 64n) - 1n;
const K = 0x9E3779B97F4A7C15n;
const LOG_HEADER = 64;
const ENTRY_HEADER = 16;
const MAX_ENTRY = 16 << 10;
const SEQ_MASK = (1n << 40n) - 1n;

/** rotr of a u64 by `n` bits. */
function rotr(v: bigint, n: bigint): bigint {
  return ((v >> n) | (v << (64n - n))) & M64;
}

function mix(h: bigint): bigint {
  h ^= h >> 32n;
  h = (h * 0xD6E8FEB86659FD93n) & M64;
  h ^= h >> 32n;
  return h;
}

/** hash64 of assembly/hash.ts over `bytes`. */
export function hash64(bytes: Uint8Array, seed: bigint): bigint {
  const len = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let h = (seed ^ ((BigInt(len) * K) & M64)) & M64;
  const words = len >>> 3;
  for (let i = 0; i < words; i++) h = mix(h ^ view.getBigUint64(i * 8, true));
  for (let i = words * 8; i < len; i++) h = mix(h ^ (BigInt(bytes[i]) << 56n) ^ BigInt(i));
  return mix(h ^ K);
}

/** The sequence number in the log's seq word at `logOffset`. */
export function logSeq(image: Uint8Array, logOffset: number): bigint {
  return new DataView(image.buffer, image.byteOffset, image.byteLength).getBigUint64(logOffset, true) & SEQ_MASK;
}

/** The check word entry `index` carries when it snapshots `old` from [off, off+len) under `seq`. */
export function entryCheck(old: Uint8Array, seq: bigint, off: number, len: number, index: number): bigint {
  const seed = ((seq * K) & M64) ^ ((BigInt(off) << 32n) | BigInt(len)) ^ rotr((BigInt(index) * K) & M64, 23n);
  return hash64(old, seed);
}

export interface LogEntry {
  /** Pool offset of the entry itself. */
  at: number;
  /** The snapshotted range. */
  off: number;
  len: number;
  check: bigint;
  /** Valid for the current sequence number: recovery would roll it back. */
  valid: boolean;
  /** The old bytes (a copy). */
  old: Uint8Array;
}

export interface DecodedLog {
  seq: bigint;
  entries: LogEntry[];
}

/** Decode the fixed log area [logOffset, logOffset + logBytes) of `image`. */
export function decodeLog(image: Uint8Array, logOffset: number, logBytes: number): DecodedLog {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const seq = logSeq(image, logOffset);
  const end = logOffset + logBytes;
  const entries: LogEntry[] = [];
  let pos = logOffset + LOG_HEADER;
  while (pos + ENTRY_HEADER <= end && entries.length < 4096) {
    const off = view.getUint32(pos, true);
    const len = view.getUint32(pos + 4, true);
    if (len === 0 || len > MAX_ENTRY || off + len > image.length) break;
    const padded = (len + 15) & ~15;
    if (pos + ENTRY_HEADER + padded > end) break;
    const check = view.getBigUint64(pos + 8, true);
    const old = image.slice(pos + ENTRY_HEADER, pos + ENTRY_HEADER + len);
    entries.push({ at: pos, off, len, check, valid: entryCheck(old, seq, off, len, entries.length) === check, old });
    pos += ENTRY_HEADER + padded;
  }
  // Entries after the first invalid one are never rolled back (recovery stops there).
  let stop = entries.findIndex((e) => !e.valid);
  if (stop >= 0) for (; stop < entries.length; stop++) entries[stop].valid = false;
  return { seq, entries };
}
