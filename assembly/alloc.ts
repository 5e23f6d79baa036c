// alloc.ts — objects: alloc / free / realloc, atomic publish, iteration.
//
// Every object has a 16-byte header right before its payload:
//
// (object.ts draws it: size, check, type, own offset). The header is written
// and flushed before the object becomes live, so a live object always has a
// valid header; one that does not validate is damage: noted (errors.ts) and
// refused with CORRUPT_HEAP, never trusted. Small objects live in run slots,
// large ones in whole chunks (payload at chunk+16, or chunk+64 when 64-byte
// aligned); a live large object's span is its chunk word's, and its header's
// size must agree with it.
//
// Three ways an object becomes live (drains in brackets):
//   atomic, no publish   header [1], bit/chunk word [2]
//   atomic, publish      header + undo entries for dest and the allocator
//                        word [1], store both [2], invalidate log [3]
//                        so after a crash either both happened or neither
//   in a transaction     reserved now; made live by the tx's commit (tx.ts)
// Frees mirror this; `free` with a destination clears it atomically.

import { Code, clearDamage, damageAt, fail, failOrDamage, noteDamage } from "./errors";
import { MAX_CHUNKS, MAX_POOL_SIZE, abs } from "./layout";
import { CHUNK_SHIFT, CHUNK_SIZE, H_ROOT, chunkCount, poolSize, rootOff, setRootOff } from "./format";
import { NO_CLASS, RUN_DATA, classFor, classSlots, classStride } from "./classes";
import { deferredLog, drain, flush, persist } from "./flush";
import {
  FIRST_INTERNAL_TYPE, OBJ_HEADER, TYPE_ANY, TYPE_LOG_EXT, TYPE_REGION, TYPE_ROOT, headerValid, headerWord0, headerWord0Off,
  objectDataLen, objectType, writeObjectHeader,
} from "./object";
import { chunkOf, claimChunks, claimFreeChunks, claimSlot, isReserved, ownerChunk, reserve, runBitmapWordOff, slotBitSet, bitmapBits, bitmapWordValid, runLive, unclaimChunks, unclaimSlot, unreserve, writeSlotBit } from "./heap";
import { FLAG_ALIGN64, KIND_LARGE, KIND_RUN, argOf, chunkStart, chunkWord, chunkWordOff, flagsOf, freeWord, kindOf, makeChunkWord, setChunkWord } from "./table";
import {
  allocatedSinceSavepoint, beginLog, endTx, finishCommit, inTx, logRange, recordAlloc, recordFree, releaseLogBlocks, txReady,
} from "./log";

export const ALLOC_ZERO: u32 = 1;
export const ALLOC_ALIGN64: u32 = 2;
const ALIGNED_HEADER_POS: u32 = 48; // large + aligned: payload at chunk + 64

// ─── locating an object from its payload offset ─────────────────────────────
// locate() fills these for the caller; any later locate() (e.g. validating a
// destination) overwrites them, so read them right after your own call.

let locChunk: u32 = 0;
let locKind: u32 = 0; // KIND_RUN or KIND_LARGE (a tx-reserved large has a FREE chunk word)
let locClass: u32 = 0;
let locSlot: u32 = 0;

/** Chunks a large object at payload `off` needs for `size` bytes. */
function spanFor(off: u32, head: u32, size: u32): u32 {
  return <u32>((<u64>(off - chunkStart(head)) + size + CHUNK_SIZE - 1) >> CHUNK_SHIFT);
}

/**
 * Chunks a large object spans: its chunk word's count once it is live; the
 * span its header's size needs while a tx only reserved it. Invariant: the
 * two agree (a span is always the minimum for its size: realloc moves rather
 * than shrink a span in place); locate() refuses a live object where not.
 */
function largeSpan(off: u32, head: u32): u32 {
  const w = chunkWord(head);
  return kindOf(w) == KIND_LARGE ? argOf(w) : spanFor(off, head, objectDataLen(off));
}

/**
 * Is `off` exactly the payload offset of an object place (live or not)?
 * A large object not yet live has a FREE chunk word: callers' offsets are
 * accepted there only when a tx reserved them; the allocator's own (`trusted`,
 * an object it is making live right now) always.
 */
function locate(off: u32, trusted: bool = false): bool {
  if ((off & 15) != 0) return false;
  const ci = chunkOf(off);
  if (ci < 0) return false;
  const c = <u32>ci;
  const w = chunkWord(c);
  const start = chunkStart(c);
  locChunk = c;
  if (kindOf(w) == KIND_RUN) {
    const cls = argOf(w);
    if (off < start + RUN_DATA + OBJ_HEADER) return false;
    const rel = off - start - RUN_DATA - OBJ_HEADER;
    const stride = classStride(cls);
    if (rel % stride != 0 || rel / stride >= classSlots(cls)) return false;
    locKind = KIND_RUN;
    locClass = cls;
    locSlot = rel / stride;
    return true;
  }
  locKind = KIND_LARGE;
  if (kindOf(w) == KIND_LARGE) {
    if (off != start + OBJ_HEADER + ((flagsOf(w) & FLAG_ALIGN64) != 0 ? ALIGNED_HEADER_POS : 0)) return false;
    if (!headerValid(off) || spanFor(off, c, objectDataLen(off)) != argOf(w)) { noteDamage(off - OBJ_HEADER); return false; }
    // The pool's own large objects (log blocks, region tables) are never the caller's to use.
    return trusted || objectType(off) < FIRST_INTERNAL_TYPE || objectType(off) == TYPE_ROOT;
  }
  return (trusted || isReserved(off)) && (off == start + OBJ_HEADER || off == start + OBJ_HEADER + ALIGNED_HEADER_POS);
}

/** Live = durable in the bitmap / chunk table (not merely reserved by a tx). */
function liveAfterLocate(): bool {
  if (locKind == KIND_RUN) return slotBitSet(locChunk, locSlot);
  return kindOf(chunkWord(locChunk)) == KIND_LARGE;
}

/** Live with an intact header (a live slot whose header fails its check is noted as damage). */
function liveAndIntact(off: u32): bool {
  if (!liveAfterLocate()) return false;
  if (locKind == KIND_RUN && (!headerValid(off) || objectDataLen(off) > classStride(locClass) - OBJ_HEADER)) {
    noteDamage(off - OBJ_HEADER);
    return false;
  }
  return true;
}

export function isLive(off: u32): bool {
  return locate(off) && liveAndIntact(off);
}

/** Live, or allocated by the open tx. */
function usable(off: u32): bool {
  return locate(off) && (isReserved(off) || liveAndIntact(off));
}

/** Why `off` is not a usable object: damage found on the way, or a plain bad offset. */
function notUsableCode(off: u32): Code {
  return damageAt != 0 ? Code.CORRUPT_HEAP : off < poolSize ? Code.NOT_LIVE : Code.BAD_OFFSET;
}

function notUsable(off: u32): u32 { return fail(notUsableCode(off)); }

// The *Located variants act on the object the last locate() found (no
// second search on the hot paths); the others locate `off` first.

/** Offset of the allocator word whose change makes the located object live or free. */
function metaWordLocated(): u32 {
  return locKind == KIND_RUN ? runBitmapWordOff(locChunk, locSlot) : chunkWordOff(locChunk);
}

/** Offset of the allocator word whose change makes `off` live or free. */
export function metaWordOff(off: u32): u32 {
  assert(locate(off, true), "metaWordOff: not an object place");
  return metaWordLocated();
}

/** Make the object durable-live (a store only; callers persist or log). */
export function commitObject(off: u32): void {
  assert(locate(off, true), "commitObject: not an object place");
  if (locKind == KIND_RUN) { writeSlotBit(locChunk, locSlot, true); return; }
  const aligned = off - chunkStart(locChunk) != OBJ_HEADER;
  setChunkWord(locChunk, makeChunkWord(KIND_LARGE, aligned ? FLAG_ALIGN64 : 0, spanFor(off, locChunk, objectDataLen(off)), locChunk));
}

function releaseLocated(): void {
  if (locKind == KIND_RUN) writeSlotBit(locChunk, locSlot, false);
  else setChunkWord(locChunk, freeWord(locChunk));
}

/** Make the object durable-free (a store only). */
export function releaseObject(off: u32): void {
  assert(locate(off, true), "releaseObject: not an object place");
  releaseLocated();
}

function unclaimLocated(off: u32): void {
  if (locKind == KIND_RUN) unclaimSlot(locChunk, locClass, locSlot);
  else unclaimChunks(locChunk, largeSpan(off, locChunk));
}

/** Return the object's space to the volatile free state. */
export function unclaimObject(off: u32): void {
  assert(locate(off, true), "unclaimObject: not an object place");
  unclaimLocated(off);
}

/** Usable bytes of the object at `off`; 0 (with the reason in lastError) if it is not one. */
export function usableSize(off: u32): u32 {
  clearDamage();
  if (!usable(off)) return notUsable(off);
  return usableBytes(off);
}

/** Usable bytes of the object just located. */
function usableBytes(off: u32): u32 {
  if (locKind == KIND_RUN) return classStride(locClass) - OBJ_HEADER;
  return (largeSpan(off, locChunk) << CHUNK_SHIFT) - (off - chunkStart(locChunk));
}

/** May the caller store into [off, off+len)? Only inside one live (or tx-allocated) object. */
export function rangeWritable(off: u32, len: u32): bool {
  clearDamage();
  const ci = chunkOf(off);
  if (ci < 0 || len == 0) return false;
  const c = ownerChunk(<u32>ci);
  const w = chunkWord(c);
  const start = chunkStart(c);
  if (kindOf(w) == KIND_RUN) {
    if (off < start + RUN_DATA) return false;
    const stride = classStride(argOf(w));
    const slotStart = start + RUN_DATA + ((off - start - RUN_DATA) / stride) * stride;
    if (off < slotStart + OBJ_HEADER || <u64>off + len > <u64>slotStart + stride) return false;
    return usable(slotStart + OBJ_HEADER);
  }
  let payload = start + OBJ_HEADER;
  if (kindOf(w) == KIND_LARGE ? (flagsOf(w) & FLAG_ALIGN64) != 0 : !isReserved(payload)) payload += ALIGNED_HEADER_POS;
  if (off < payload || !usable(payload)) return false;
  return <u64>off + len <= <u64>payload + usableBytes(payload);
}

// ─── reserving space ────────────────────────────────────────────────────────
// The log's kept extension blocks go last, after the heap has reclaimed
// empty runs and grown the pool: the next big transaction would link them
// again, two drains each, so giving them up before growing traded a little
// file for a train of syncs around every growth.

/** A free slot of class `cls`, or 0. When the heap has no chunk for a new run, the log gives back its unused blocks: free chunks, so the retry's new run takes one at once, reclaiming and growing no more. */
function claimSlotSpace(cls: u32): u32 {
  const slot = claimSlot(cls, inTx());
  return slot != 0 || !releaseLogBlocks() ? slot : claimSlot(cls, inTx());
}

/** `n` contiguous chunks, or -1. When the heap has none, the log gives back its unused blocks and the free extents alone are searched again. */
function claimChunkSpace(n: u32): i32 {
  const c = claimChunks(n);
  return c >= 0 || !releaseLogBlocks() ? c : claimFreeChunks(n);
}

/** Claim space, write and flush the header (and zeroes). Returns the payload offset or 0. */
function reserveObject(size: u32, type: u32, flags: u32): u32 {
  const align64 = (flags & ALLOC_ALIGN64) != 0;
  const cls = classFor(size, align64);
  let payload: u32 = 0;
  if (cls != NO_CLASS) {
    const slot = claimSlotSpace(cls);
    if (slot == 0) return 0;
    payload = slot + OBJ_HEADER;
  } else {
    const headerPos: u32 = align64 ? ALIGNED_HEADER_POS : 0;
    const span = <u32>((<u64>headerPos + OBJ_HEADER + size + CHUNK_SIZE - 1) >> CHUNK_SHIFT);
    if (span >= MAX_CHUNKS) return 0;
    const c = claimChunkSpace(span);
    if (c < 0) return 0;
    payload = chunkStart(<u32>c) + headerPos + OBJ_HEADER;
  }
  writeObjectHeader(payload, type, size);
  if ((flags & ALLOC_ZERO) != 0) memory.fill(abs(payload), 0, size);
  flush(payload - OBJ_HEADER, OBJ_HEADER + ((flags & ALLOC_ZERO) != 0 ? size : 0));
  return payload;
}

/** Width of a publish destination: the root word is a full state word. */
function destLen(dest: u32): u32 { return dest == H_ROOT ? 8 : 4; }

function writeDest(dest: u32, value: u32): void {
  if (dest == H_ROOT) setRootOff(value);
  else store<u32>(abs(dest), value);
}

function destValid(dest: u32): bool {
  return dest == H_ROOT || ((dest & 3) == 0 && rangeWritable(dest, 4));
}

/**
 * Atomically: write `value` into `dest` (if any), make `made` live (if any),
 * make `freed` free (if any). One small undo-logged transaction.
 */
function publishAtomically(dest: u32, value: u32, made: u32, freed: u32): Code {
  beginLog();
  let code = Code.OK;
  if (dest != 0) code = logRange(dest, destLen(dest));
  if (code == Code.OK && made != 0) code = logRange(metaWordOff(made), 8);
  if (code == Code.OK && freed != 0) code = logRange(metaWordOff(freed), 8);
  if (code != Code.OK) { endTx(); return code; }
  drain();
  if (dest != 0) writeDest(dest, value);
  if (freed != 0) releaseLocated(); // the last locate() was metaWordOff(freed)
  if (made != 0) commitObject(made);
  finishCommit();
  endTx();
  if (freed != 0) unclaimObject(freed);
  return Code.OK;
}

/** Inside a tx: snapshot `dest` (durable before the store can be: at once, or first at the next drain) and store `value` into it. */
function publishInTx(dest: u32, value: u32): Code {
  const code = logRange(dest, destLen(dest));
  if (!deferredLog()) drain();
  if (code == Code.OK) writeDest(dest, value);
  return code;
}

// ─── the public operations ──────────────────────────────────────────────────

/** Checks shared by alloc and realloc: the size, the destination, a usable tx if one is open. */
function checkRequest(size: u32, dest: u32): Code {
  if (size == 0 || <u64>size > MAX_POOL_SIZE) return Code.BAD_SIZE;
  if (dest != 0 && !destValid(dest)) return Code.BAD_OFFSET;
  return inTx() ? txReady() : Code.OK;
}

function allocChecked(size: u32, type: u32, flags: u32, dest: u32): u32 {
  const bad = checkRequest(size, dest);
  if (bad != Code.OK) return fail(bad);
  if (inTx()) {
    const off = reserveObject(size, type, flags);
    if (off == 0) return failOrDamage(Code.OUT_OF_SPACE);
    if (!reserve(off) || !recordAlloc(off)) { unclaimObject(off); return fail(Code.TX_TOO_LARGE); }
    if (dest != 0) {
      const code = publishInTx(dest, off);
      if (code != Code.OK) return fail(code);
    }
    return off;
  }
  const off = reserveObject(size, type, flags);
  if (off == 0) return failOrDamage(Code.OUT_OF_SPACE);
  if (dest == 0) {
    drain();
    commitObject(off);
    persist(metaWordLocated(), 8);
    return off;
  }
  const code = publishAtomically(dest, off, off, 0);
  if (code != Code.OK) { unclaimObject(off); return fail(code); }
  return off;
}

/** Allocate `size` bytes of type `type`; with `dest`, publish the offset there atomically. 0 on failure. */
export function alloc(size: u32, type: u32, flags: u32, dest: u32): u32 {
  clearDamage();
  if (type >= FIRST_INTERNAL_TYPE) return fail(Code.BAD_TYPE);
  if (dest == H_ROOT) return fail(Code.BAD_OFFSET); // the root word is root()'s alone
  return allocChecked(size, type, flags, dest);
}

/** Free the object at `off`; with `dest`, clear that pointer atomically with the free. */
export function free(off: u32, dest: u32): Code {
  clearDamage();
  if (dest == H_ROOT || (dest != 0 && !destValid(dest))) return Code.BAD_OFFSET;
  // Locate `off` after the destination: destValid() locates the destination's object too.
  if (!locate(off)) return notUsableCode(off);
  if (inTx()) {
    const ready = txReady();
    if (ready != Code.OK) return ready;
    const reserved = isReserved(off);
    if (reserved && allocatedSinceSavepoint(off)) { // allocated by this very tx (or member): it never became durable
      unreserve(off);
      unclaimObject(off);
    } else {
      // A live object, or one an earlier member of the batch allocated: the free is applied at commit.
      if (!reserved && !liveAndIntact(off)) return notUsableCode(off);
      if (isReserved(off | 1)) return Code.NOT_LIVE;
      // Count the run's live slots now, while its bitmap still holds this slot:
      // a run first loaded at commit would miss every slot the commit frees.
      if (locKind == KIND_RUN) runLive(locChunk);
      if (objectType(off) >= FIRST_INTERNAL_TYPE) return Code.BAD_TYPE;
      if (!reserve(off | 1) || !recordFree(off)) return Code.TX_TOO_LARGE;
    }
    return dest != 0 ? publishInTx(dest, 0) : Code.OK;
  }
  if (!liveAndIntact(off)) return notUsableCode(off);
  if (objectType(off) >= FIRST_INTERNAL_TYPE) return Code.BAD_TYPE;
  if (dest != 0) return publishAtomically(dest, 0, 0, off);
  // still located at `off` (liveAndIntact and the type check do not locate)
  releaseLocated();
  persist(metaWordLocated(), 8);
  unclaimLocated(off);
  return Code.OK;
}

function growInPlace(off: u32, size: u32): Code {
  const old = objectDataLen(off);
  const headerWord = headerWord0Off(off); // size + check: one aligned 8-byte store
  const resized = headerWord0(off, objectType(off), size);
  if (inTx()) {
    let code = logRange(headerWord, 8);
    if (code == Code.OK && size > old) code = logRange(off + old, size - old);
    if (!deferredLog()) drain();
    if (code != Code.OK) return code;
    if (size > old) memory.fill(abs(off + old), 0, size - old);
    store<u64>(abs(headerWord), resized);
    return Code.OK;
  }
  if (size > old) {
    memory.fill(abs(off + old), 0, size - old);
    persist(off + old, size - old);
  }
  store<u64>(abs(headerWord), resized);
  persist(headerWord, 8);
  return Code.OK;
}

function reallocChecked(off: u32, size: u32, dest: u32, type: u32): u32 {
  const bad = checkRequest(size, dest);
  if (bad != Code.OK) return fail(bad);
  // Locate `off` last: destValid() locates the destination's object too.
  if (!usable(off)) return notUsable(off);
  // A destination inside the object itself would receive the new offset in freed memory if it moves.
  if (dest != H_ROOT && dest >= off && dest < off + usableBytes(off)) return fail(Code.BAD_OFFSET);
  const sameSpan = locKind == KIND_RUN || spanFor(off, locChunk, size) == largeSpan(off, locChunk);
  if (size <= usableBytes(off) && sameSpan) {
    let code = growInPlace(off, size);
    // Resized in place: the destination is still told where the object is.
    if (code == Code.OK && dest != 0 && dest != H_ROOT) code = inTx() ? publishInTx(dest, off) : publishAtomically(dest, off, 0, 0);
    return code == Code.OK ? off : fail(code);
  }
  const flags = (off & 63) == 0 ? ALLOC_ALIGN64 : 0;
  const keep = objectDataLen(off) < size ? objectDataLen(off) : size;
  if (inTx()) {
    const moved = allocChecked(size, type, flags | ALLOC_ZERO, dest);
    if (moved == 0) return 0;
    memory.copy(abs(moved), abs(off), keep);
    const code = free(off, 0);
    return code == Code.OK ? moved : fail(code);
  }
  const moved = reserveObject(size, type, flags);
  if (moved == 0) return failOrDamage(Code.OUT_OF_SPACE);
  memory.copy(abs(moved), abs(off), keep);
  memory.fill(abs(moved + keep), 0, size - keep);
  flush(moved, size);
  const code = publishAtomically(dest, moved, moved, off);
  if (code != Code.OK) { unclaimObject(moved); return fail(code); }
  return moved;
}

/** Resize, keeping the old bytes and zeroing new ones; may move. 0 on failure. */
export function realloc(off: u32, size: u32, dest: u32): u32 {
  clearDamage();
  if (!usable(off)) return notUsable(off);
  if (dest == H_ROOT) return fail(Code.BAD_OFFSET);
  const type = objectType(off);
  if (type >= FIRST_INTERNAL_TYPE) return fail(Code.BAD_TYPE);
  return reallocChecked(off, size, dest, type);
}

/**
 * The root object, created zeroed on first use and grown (old bytes kept,
 * new bytes zeroed) when asked for more. Not inside a transaction.
 */
export function root(size: u32): u32 {
  clearDamage();
  if (inTx()) return fail(Code.TX_STATE);
  const r = rootOff();
  if (r == 0) {
    if (size == 0 || <u64>size > MAX_POOL_SIZE) return fail(Code.BAD_SIZE);
    const off = reserveObject(size, TYPE_ROOT, ALLOC_ZERO);
    if (off == 0) return failOrDamage(Code.OUT_OF_SPACE);
    const code = publishAtomically(H_ROOT, off, off, 0);
    if (code != Code.OK) { unclaimObject(off); return fail(code); }
    return off;
  }
  if (!usable(r) || objectType(r) != TYPE_ROOT) { noteDamage(r - OBJ_HEADER); return failOrDamage(Code.CORRUPT_HEAP); }
  if (size <= objectDataLen(r)) return r;
  return reallocChecked(r, size, H_ROOT, TYPE_ROOT);
}

// ─── iteration ──────────────────────────────────────────────────────────────

function matches(off: u32, type: u32): bool {
  const t = objectType(off);
  return t != TYPE_LOG_EXT && t != TYPE_REGION && (type == TYPE_ANY || t == type);
}

/**
 * Where iteration goes on after `prev`: its chunk and slot. Works from the
 * position alone, so `prev` may have been freed in the meantime.
 */
function resumeAfter(prev: u32): void {
  const ci = chunkOf(prev);
  locChunk = ci < 0 ? chunkCount : <u32>ci;
  locSlot = 0;
  if (ci < 0) return;
  const w = chunkWord(locChunk);
  const start = chunkStart(locChunk);
  if (kindOf(w) == KIND_RUN) {
    if (prev >= start + RUN_DATA + OBJ_HEADER) locSlot = (prev - start - RUN_DATA - OBJ_HEADER) / classStride(argOf(w)) + 1;
  } else {
    locChunk += kindOf(w) == KIND_LARGE && prev >= start + OBJ_HEADER ? argOf(w) : 1;
  }
}

/**
 * Next live object after `prev` (0 = from the start) of `type` (TYPE_ANY =
 * all); 0 at the end. `prev` need not be live any more (iteration while
 * freeing). A bitmap word that fails its check is noted and yields nothing.
 */
export function nextObject(prev: u32, type: u32): u32 {
  let c: u32 = 0;
  let slot: u32 = 0;
  if (prev != 0) {
    resumeAfter(prev);
    c = locChunk;
    slot = locSlot;
  }
  while (c < chunkCount) {
    const w = chunkWord(c);
    const kind = kindOf(w);
    if (kind == KIND_RUN) {
      const cls = argOf(w);
      const slots = classSlots(cls);
      for (; slot < slots; slot++) {
        if (!bitmapWordValid(c, slot >>> 5)) { noteDamage(runBitmapWordOff(c, slot)); slot |= 31; continue; }
        const bits = bitmapBits(c, slot >>> 5) >>> (slot & 31);
        if (bits == 0) { slot |= 31; continue; }
        slot += ctz<u32>(bits);
        if (slot >= slots) break;
        const off = chunkStart(c) + RUN_DATA + slot * classStride(cls) + OBJ_HEADER;
        if (matches(off, type)) return off;
      }
      c++;
    } else if (kind == KIND_LARGE) {
      const off = chunkStart(c) + OBJ_HEADER + ((flagsOf(w) & FLAG_ALIGN64) != 0 ? ALIGNED_HEADER_POS : 0);
      if (matches(off, type)) return off;
      c += argOf(w);
    } else {
      c++;
    }
    slot = 0;
  }
  return 0;
}
