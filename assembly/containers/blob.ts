// containers/blob.ts — a persistent byte string whose contents can be
// replaced as a whole (PBlob in the host).
//
//   header (TYPE_BLOB, 16 B)                     data (TYPE_BLOB_DATA, length B)
//   b+0  ┌ u32 magic "PBLB"  ┐ once               data ┌ the bytes ┐
//   b+4  ├ u32 length        ┐ logged together        └───────────┘
//   b+8  │ u32 data          ┘
//   b+12 └ u32 check         ─ once: CHECK_SEED ^ rotl(b, 16)
//
// Invariants: data == 0 iff length == 0; otherwise data is a live
// TYPE_BLOB_DATA object of exactly `length` bytes that only this header
// names. The header's offset never changes: replace() makes a new data
// object and frees the old one in one transaction (two-phase, shared.ts).

import { Code } from "../errors";
import { abs } from "../layout";
import { objectDataLen } from "../object";
import {
  NOT_A_CONTAINER, TYPE_BLOB, TYPE_BLOB_DATA, allocFailure, allocNew, beginOp, dropNew, entriesReady, freeOld, isHeader,
  isObjectOf, logUnless, setOut,
} from "./shared";

const MAGIC: u32 = 0x424C4250; // "PBLB"
const CHECK_SEED: u32 = 0xB10B_5EED;
const HEADER: u32 = 16;
const H_LENGTH: u32 = 4;
const H_DATA: u32 = 8;
const H_CHECK: u32 = 12;

function isBlob(b: u32): bool {
  return isHeader(b, TYPE_BLOB, HEADER, MAGIC) && load<u32>(abs(b + H_CHECK)) == (CHECK_SEED ^ rotl<u32>(b, 16));
}

/** A data object for `len` bytes (none for 0); 0 with the failure in lastError. */
function newData(len: u32): u32 {
  return len == 0 ? 0 : allocNew(len, TYPE_BLOB_DATA, false);
}

/** Create a blob of `len` bytes. out = [its offset, where the host writes the bytes (0 if len is 0)]. */
export function blobCreate(len: u32): Code {
  const ready = beginOp();
  if (ready != Code.OK) return ready;
  const b = allocNew(HEADER, TYPE_BLOB, true);
  if (b == 0) return allocFailure();
  const data = newData(len);
  if (data == 0 && len != 0) { const code = allocFailure(); dropNew(b); return code; }
  store<u32>(abs(b), MAGIC);
  store<u32>(abs(b + H_LENGTH), len);
  store<u32>(abs(b + H_DATA), data);
  store<u32>(abs(b + H_CHECK), CHECK_SEED ^ rotl<u32>(b, 16));
  setOut(0, b);
  setOut(1, data);
  return Code.OK;
}

/** out = [offset of the bytes (0 if empty), length]. */
export function blobInfo(b: u32): Code {
  if (!isBlob(b)) return NOT_A_CONTAINER;
  setOut(0, load<u32>(abs(b + H_DATA)));
  setOut(1, load<u32>(abs(b + H_LENGTH)));
  return Code.OK;
}

/** Replace the contents by `len` bytes. out[0] = where the host writes them (0 if len is 0). */
export function blobReplace(b: u32, len: u32): Code {
  const ready = beginOp();
  if (ready != Code.OK) return ready;
  if (!isBlob(b)) return NOT_A_CONTAINER;
  const data = newData(len);
  if (data == 0 && len != 0) return allocFailure();
  let code = logUnless(Code.OK, false, b + H_LENGTH, 8);
  entriesReady();
  if (code != Code.OK) { dropNew(data); return code; }
  code = freeOld(load<u32>(abs(b + H_DATA)));
  if (code != Code.OK) return code;
  store<u32>(abs(b + H_LENGTH), len);
  store<u32>(abs(b + H_DATA), data);
  setOut(0, data);
  return Code.OK;
}

/** Free the blob and its bytes. */
export function blobFree(b: u32): Code {
  const ready = beginOp();
  if (ready != Code.OK) return ready;
  if (!isBlob(b)) return NOT_A_CONTAINER;
  const code = freeOld(load<u32>(abs(b + H_DATA)));
  return code != Code.OK ? code : freeOld(b);
}

/** Deep check: the data object matches the header; out[0] = offset of the bad word. */
export function blobVerify(b: u32): Code {
  if (!isBlob(b)) return NOT_A_CONTAINER;
  const len = load<u32>(abs(b + H_LENGTH)), data = load<u32>(abs(b + H_DATA));
  setOut(0, b + H_DATA);
  if ((len == 0) != (data == 0)) return Code.CORRUPT_HEAP;
  if (data != 0 && (!isObjectOf(data, TYPE_BLOB_DATA) || objectDataLen(data) != len)) return Code.CORRUPT_HEAP;
  return Code.OK;
}
