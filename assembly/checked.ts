// checked.ts — the encodings of self-checking words.
//
// Every metadata word the pool trusts carries its own check, so that damage
// is detected instead of obeyed. The checks are linear folds, not hashes:
// any single changed byte (or bit) of a word always changes its check, and
// an all-zero word never validates. Each owner module builds its words from
// these pieces and documents their layout beside its code:
//
//   complement word   u32 value │ u32 ~value           format.ts, log.ts
//   fold16            16-bit xor of a 48-bit value       heap.ts chunk words
//   fold8             8-bit xor of a 56-bit value        log.ts seq word
//
// Nothing here reads or writes memory.

/** A u32 stored with its complement: one aligned 8-byte store, failure-atomic. */
// @ts-ignore: decorator
@inline export function complementWord(value: u32): u64 {
  return <u64>value | (<u64>(~value) << 32);
}

/** Do the halves of a complement word agree? */
// @ts-ignore: decorator
@inline export function complementValid(w: u64): bool {
  return <u32>(w >>> 32) == ~<u32>w;
}

/** The 16-bit xor of the three 16-bit limbs of the low 48 bits of `v`. */
// @ts-ignore: decorator
@inline export function fold16(v: u64): u32 {
  return <u32>((v ^ (v >>> 16) ^ (v >>> 32)) & 0xFFFF);
}

/** The 8-bit xor of the seven low bytes of `v` (bits 56..63 must be zero). */
// @ts-ignore: decorator
@inline export function fold8(v: u64): u32 {
  let x = v ^ (v >>> 32);
  x ^= x >>> 16;
  x ^= x >>> 8;
  return <u32>(x & 0xFF);
}
