// object.ts — the 16-byte header in front of every object's payload.
//
//   payload-16 ┌ u32 size │ u32 check ┐ word 0: changes (realloc in place) with
//              │                      │ one aligned 8-byte store
//   payload-8  ├ u32 type │ u32 self  ┘ word 1: written once
//   payload    └ payload bytes ...
//
//   size   bytes asked for (the object's length)
//   check  OBJ_MAGIC ^ type ^ rotl(size, 11) ^ rotl(self, 21)
//   self   the payload's own pool offset (catches a header read from the
//          wrong place, or a stale header of another slot layout)
//
// A header is valid iff its check and self-offset agree. Any single changed
// byte of a header changes its check (the rotations are bijective), so a
// damaged header of a live object is always detected; a zeroed one fails
// because OBJ_MAGIC is not zero. A header is written (and made durable)
// before the object becomes live, so every live object has a valid header.
// Type numbers from FIRST_INTERNAL_TYPE up are the pool's own.

import { abs } from "./layout";

export const OBJ_HEADER: u32 = 16;
const OBJ_MAGIC: u32 = 0x4A424F50; // "POBJ"
export const TYPE_ANY: u32 = 0xFFFF_FFFF;
/** Types from here up are the pool's own; users get [0, FIRST_INTERNAL_TYPE). */
export const FIRST_INTERNAL_TYPE: u32 = 0xFFFF_0000;
export const TYPE_ROOT: u32 = 0xFFFF_0001;
export const TYPE_LOG_EXT: u32 = 0xFFFF_0002;
/** A region's chunk table (table.ts): the first chunks of every region growth appended. */
export const TYPE_REGION: u32 = 0xFFFF_0003;

// @ts-ignore: decorator
@inline function headerCheck(size: u32, type: u32, self: u32): u32 {
  return OBJ_MAGIC ^ type ^ rotl<u32>(size, 11) ^ rotl<u32>(self, 21);
}

/** Word 0 of a header: size and check, stored together so a resize is one atomic store. */
export function headerWord0(payload: u32, type: u32, size: u32): u64 {
  return <u64>size | (<u64>headerCheck(size, type, payload) << 32);
}

/** Pool offset of word 0 (size + check) of the header of `payload`. */
// @ts-ignore: decorator
@inline export function headerWord0Off(payload: u32): u32 { return payload - OBJ_HEADER; }

export function writeObjectHeader(payload: u32, type: u32, size: u32): void {
  const h = abs(payload - OBJ_HEADER);
  store<u64>(h, headerWord0(payload, type, size));
  store<u32>(h, type, 8);
  store<u32>(h, payload, 12);
}

export function objectDataLen(off: u32): u32 { return load<u32>(abs(off - OBJ_HEADER)); }
export function objectType(off: u32): u32 { return load<u32>(abs(off - OBJ_HEADER), 8); }

/** Is the header in front of `off` intact (check and self-offset agree)? */
export function headerValid(off: u32): bool {
  const h = abs(off - OBJ_HEADER);
  return load<u32>(h, 12) == off && load<u32>(h, 4) == headerCheck(load<u32>(h), load<u32>(h, 8), off);
}
