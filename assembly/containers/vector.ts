// containers/vector.ts — a persistent growable array (PVector in the host).
//
// Two objects, plus one per element in the byte-string flavour:
//
//   header (TYPE_VECTOR, 32 B)          data (TYPE_VECTOR_DATA, capacity × slot B)
//   v+0  ┌ u32 magic "PVEC"      ┐      data ┌ slot 0 ┐  fixed:  elemSize bytes
//   v+4  │ u32 elemSize          │ once       │ slot 1 │  bytes:  u32 offset of a
//   v+8  ├ u32 length            ┐           │ ...    │          TYPE_VECTOR_ELEM
//   v+12 │ u32 capacity          │ logged    │ slot   │          object whose size is
//   v+16 │ u32 data              ┘ together  │ cap-1  │          the element's length
//   v+20 ├ u32 check             ┐ once      └────────┘          (0 = empty element)
//   v+24 └ zero                  ┘
//
//   elemSize  0 = byte-string elements (slot = 4 B), else the fixed element size
//   check     CHECK_SEED ^ elemSize ^ rotl(v, 16): a copied header does not validate
//
// Invariants (after every committed operation, and after recovery):
// - length <= capacity; data == 0 iff capacity == 0; the data object is
//   live, of TYPE_VECTOR_DATA, exactly capacity × slot bytes;
// - byte flavour: each slot below length is 0 or a live TYPE_VECTOR_ELEM
//   object that no other slot names; slots at or above length mean nothing;
// - the header's words 0, 1, 5 never change after creation.
// Growth doubles the capacity (at least 4 slots): a new data object, the old
// slots copied, the old object freed, so a push is amortised O(1). Pop and
// truncate never shrink it. Every operation is one undo-logged transaction
// (or part of the caller's) in two phases (shared.ts).

import { Code } from "../errors";
import { abs } from "../layout";
import { flush } from "../flush";
import { poolSize } from "../format";
import { savepointDepth, txDepth } from "../log";
import { isReserved } from "../heap";
import { objectDataLen } from "../object";
import {
  INDEX_RANGE, NOT_A_CONTAINER, TYPE_VECTOR, TYPE_VECTOR_DATA, TYPE_VECTOR_ELEM, allocFailure, allocNew, beginOp,
  dropNew, entriesReady, freeOld, isHeader, isObjectOf, logUnless, setOut,
} from "./shared";

const MAGIC: u32 = 0x43455650; // "PVEC"
const CHECK_SEED: u32 = 0x5EC7_0A11;
const HEADER: u32 = 32;
const H_ELEM: u32 = 4;
const H_LENGTH: u32 = 8;
const H_CAPACITY: u32 = 12;
const H_DATA: u32 = 16;
const H_CHECK: u32 = 20;
const MIN_CAPACITY: u32 = 4;
/** Largest fixed element (src/containers/vector.ts MAX_ELEM_SIZE). */
const MAX_ELEM_SIZE: u32 = 1 << 16;

// @ts-ignore: decorator
@inline function checkWord(v: u32, elemSize: u32): u32 { return CHECK_SEED ^ elemSize ^ rotl<u32>(v, 16); }
// @ts-ignore: decorator
@inline function word(v: u32, at: u32): u32 { return load<u32>(abs(v + at)); }
// @ts-ignore: decorator
@inline function setWord(v: u32, at: u32, x: u32): void { store<u32>(abs(v + at), x); }
// @ts-ignore: decorator
@inline function slotSize(v: u32): u32 { const e = word(v, H_ELEM); return e == 0 ? 4 : e; }
// @ts-ignore: decorator
@inline function slotOf(v: u32, data: u32, i: u32): u32 { return data + i * slotSize(v); }

function isVector(v: u32): bool {
  if (!isHeader(v, TYPE_VECTOR, HEADER, MAGIC)) return false;
  const e = word(v, H_ELEM);
  return e <= MAX_ELEM_SIZE && word(v, H_CHECK) == checkWord(v, e);
}

/** Create an empty vector (elemSize 0: byte strings). Result: out[0] = its offset. */
export function vecCreate(elemSize: u32): Code {
  const ready = beginOp();
  if (ready != Code.OK) return ready;
  if (elemSize > MAX_ELEM_SIZE) return Code.BAD_SIZE;
  const v = allocNew(HEADER, TYPE_VECTOR, true);
  if (v == 0) return allocFailure();
  setWord(v, 0, MAGIC);
  setWord(v, H_ELEM, elemSize);
  setWord(v, H_CHECK, checkWord(v, elemSize));
  setOut(0, v);
  return Code.OK;
}

/** out = [elemSize, length, capacity, data]. */
export function vecInfo(v: u32): Code {
  if (!isVector(v)) return NOT_A_CONTAINER;
  for (let i: u32 = 0; i < 4; i++) setOut(i, word(v, H_ELEM + (i << 2)));
  return Code.OK;
}

/** Element i: out = [offset of its bytes, its length]. */
export function vecAt(v: u32, i: u32): Code {
  if (!isVector(v)) return NOT_A_CONTAINER;
  if (i >= word(v, H_LENGTH)) return INDEX_RANGE;
  const slot = slotOf(v, word(v, H_DATA), i);
  const e = word(v, H_ELEM);
  if (e != 0) { setOut(0, slot); setOut(1, e); return Code.OK; }
  const elem = load<u32>(abs(slot));
  setOut(0, elem);
  setOut(1, elem == 0 ? 0 : objectDataLen(elem));
  return Code.OK;
}

/** Capacity after growing from `cap` to hold at least `need` slots of `slot` bytes; 0 if it cannot fit the pool. */
function grownCapacity(cap: u32, need: u32, slot: u32): u32 {
  let c = <u64>cap << 1;
  if (c < MIN_CAPACITY) c = MIN_CAPACITY;
  if (c < need) c = need;
  if (c * slot > <u64>poolSize) c = need;
  return c * slot > <u64>poolSize ? 0 : <u32>c;
}

/**
 * Append an element of `len` bytes (fixed flavour: elemSize). Result:
 * out[0] = where the host writes its bytes (0 for an empty element), and
 * flushes them. Grows the data object when full.
 */
export function vecPush(v: u32, len: u32): Code {
  const ready = beginOp();
  if (ready != Code.OK) return ready;
  if (!isVector(v)) return NOT_A_CONTAINER;
  const e = word(v, H_ELEM), slot = slotSize(v);
  if (e != 0 && len != e) return Code.BAD_SIZE;
  const length = word(v, H_LENGTH), cap = word(v, H_CAPACITY), data = word(v, H_DATA);
  // prepare: a bigger data object if full, the element object, the undo entries
  let newData: u32 = 0, newCap = cap;
  if (length == cap) {
    newCap = grownCapacity(cap, length + 1, slot);
    if (newCap == 0) return Code.OUT_OF_SPACE;
    newData = allocNew(newCap * slot, TYPE_VECTOR_DATA, false);
    if (newData == 0) return allocFailure();
    memory.copy(abs(newData), abs(data), <usize>length * slot);
  }
  let elem: u32 = 0;
  if (e == 0 && len != 0) {
    elem = allocNew(len, TYPE_VECTOR_ELEM, false);
    if (elem == 0) { const code = allocFailure(); dropNew(newData); return code; }
  }
  const target = newData != 0 ? newData : data;
  const at = slotOf(v, target, length);
  // Inside a caller's transaction the slot may hold a value from before it
  // (popped earlier in the same transaction): log it unless its object is new
  // to everything a rollback can return to — this operation's, or the
  // transaction's when no savepoint is set (a group-commit member rolls
  // back to its savepoint, and an object an earlier member allocated is
  // reserved yet holds that member's values).
  let code = logUnless(Code.OK, false, v + H_LENGTH, 12);
  const fresh = newData != 0 || txDepth() == 1 || (savepointDepth() == 0 && isReserved(target));
  code = logUnless(code, fresh, at, slot);
  entriesReady();
  if (code != Code.OK) { dropNew(elem); dropNew(newData); return code; }
  // apply
  if (newData != 0) {
    code = freeOld(data);
    if (code != Code.OK) return code;
  }
  if (e == 0) { store<u32>(abs(at), elem); flush(at, 4); }
  setWord(v, H_LENGTH, length + 1);
  setWord(v, H_CAPACITY, newCap);
  setWord(v, H_DATA, target);
  setOut(0, e == 0 ? elem : at);
  return Code.OK;
}

/** Replace element i by `len` bytes. Result: out[0] = where the host writes them (0 for empty). */
export function vecSet(v: u32, i: u32, len: u32): Code {
  const ready = beginOp();
  if (ready != Code.OK) return ready;
  if (!isVector(v)) return NOT_A_CONTAINER;
  const e = word(v, H_ELEM);
  if (e != 0 && len != e) return Code.BAD_SIZE;
  if (i >= word(v, H_LENGTH)) return INDEX_RANGE;
  const at = slotOf(v, word(v, H_DATA), i);
  let elem: u32 = 0;
  if (e == 0 && len != 0) {
    elem = allocNew(len, TYPE_VECTOR_ELEM, false);
    if (elem == 0) return allocFailure();
  }
  let code = logUnless(Code.OK, false, at, slotSize(v));
  entriesReady();
  if (code != Code.OK) { dropNew(elem); return code; }
  if (e != 0) { setOut(0, at); return Code.OK; }
  code = freeOld(load<u32>(abs(at)));
  if (code != Code.OK) return code;
  store<u32>(abs(at), elem);
  setOut(0, elem);
  return Code.OK;
}

/** Cut the vector to its first n elements (n <= length), freeing the dropped byte strings. */
export function vecTruncate(v: u32, n: u32): Code {
  const ready = beginOp();
  if (ready != Code.OK) return ready;
  if (!isVector(v)) return NOT_A_CONTAINER;
  const length = word(v, H_LENGTH);
  if (n > length) return INDEX_RANGE;
  if (n == length) return Code.OK;
  const code = logUnless(Code.OK, false, v + H_LENGTH, 4);
  entriesReady();
  if (code != Code.OK) return code;
  const freed = freeElements(v, n, length);
  if (freed != Code.OK) return freed;
  setWord(v, H_LENGTH, n);
  return Code.OK;
}

/** Apply phase: free the byte strings of slots [from, to). */
function freeElements(v: u32, from: u32, to: u32): Code {
  if (word(v, H_ELEM) != 0) return Code.OK;
  const data = word(v, H_DATA);
  for (let i = from; i < to; i++) {
    const code = freeOld(load<u32>(abs(slotOf(v, data, i))));
    if (code != Code.OK) return code;
  }
  return Code.OK;
}

/** Free the vector: every element, the data object, the header. The offset is dead afterwards. */
export function vecFree(v: u32): Code {
  const ready = beginOp();
  if (ready != Code.OK) return ready;
  if (!isVector(v)) return NOT_A_CONTAINER;
  let code = freeElements(v, 0, word(v, H_LENGTH));
  if (code == Code.OK) code = freeOld(word(v, H_DATA));
  if (code == Code.OK) code = freeOld(v);
  return code;
}

/** Deep check of the invariants above (but not that elements are distinct); out[0] = offset of the first bad word. */
export function vecVerify(v: u32): Code {
  if (!isVector(v)) return NOT_A_CONTAINER;
  const length = word(v, H_LENGTH), cap = word(v, H_CAPACITY), data = word(v, H_DATA);
  setOut(0, v + H_LENGTH);
  if (length > cap || (data == 0) != (cap == 0)) return Code.CORRUPT_HEAP;
  if (data == 0) return Code.OK;
  setOut(0, v + H_DATA);
  if (!isObjectOf(data, TYPE_VECTOR_DATA) || <u64>objectDataLen(data) != <u64>cap * slotSize(v)) return Code.CORRUPT_HEAP;
  if (word(v, H_ELEM) != 0) return Code.OK;
  for (let i: u32 = 0; i < length; i++) {
    const at = slotOf(v, data, i);
    const elem = load<u32>(abs(at));
    setOut(0, at);
    if (elem != 0 && !isObjectOf(elem, TYPE_VECTOR_ELEM)) return Code.CORRUPT_HEAP;
  }
  return Code.OK;
}
