// hash.ts — the one checksum the pool format uses (header, undo-log entries).
//
// A 64-bit multiply-xorshift hash over little-endian 8-byte words, with the
// tail bytes folded in one at a time. Not cryptographic: it only has to catch
// torn and stale bytes. The host mirrors it in src/format.ts for tools that
// rewrite headers (tests); both must stay bit-identical.

const K: u64 = 0x9E3779B97F4A7C15;

// @ts-ignore: decorator
@inline function mix(h: u64): u64 {
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93;
  h ^= h >> 32;
  return h;
}

/** Hash `len` bytes at absolute address `ptr`, starting from `seed`. */
export function hash64(ptr: usize, len: u32, seed: u64): u64 {
  let h = seed ^ (<u64>len * K);
  const words = len >>> 3;
  for (let i: u32 = 0; i < words; i++) {
    h = mix(h ^ load<u64>(ptr + (<usize>i << 3)));
  }
  for (let i = words << 3; i < len; i++) {
    h = mix(h ^ (<u64>load<u8>(ptr + i) << 56) ^ <u64>i);
  }
  return mix(h ^ K);
}
