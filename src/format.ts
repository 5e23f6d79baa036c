// format.ts — what the host reads of a pool header before the core runs.
//
// Only enough to size the memory: the magic and the recorded pool size, and
// whether the bytes at hand can hold that pool. Full validation (checksum,
// version, layout, state words) is the core's job (assembly/format.ts);
// docs/format.md documents every field.

import { CHUNK_SIZE, HEADER_SIZE, HEADER_SIZE_FIELD, MAGIC, MAX_POOL_SIZE, MIN_POOL_SIZE } from './layout.js';
import { Code, CorruptHeaderError, InvalidSizeError, NotAPoolError, TruncatedPoolError, errorForCode } from './errors.js';
import { probeHeaderPage } from './core.js';

const magicBytes = new TextEncoder().encode(MAGIC);

/**
 * The pool size recorded in `head` (the first bytes of a pool), checked
 * against `available` bytes of storage. Throws the typed error that
 * describes what is wrong. Reads only.
 */
export function recordedPoolSize(head: Uint8Array, available: number, what: string): number {
  if (head.length < magicBytes.length || magicBytes.some((b, i) => head[i] !== b)) {
    throw new NotAPoolError(what, head.length < magicBytes.length ? `it holds only ${available} bytes` : undefined);
  }
  if (head.length < HEADER_SIZE) throw new TruncatedPoolError(what, available, HEADER_SIZE, true);
  // A flipped size byte must read as a corrupt header, not as truncation:
  // the core checks the page's checksum before the size is believed.
  const code = probeHeaderPage(head);
  if (code !== Code.OK) throw errorForCode(code, { what });
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const recorded = Number(view.getBigUint64(HEADER_SIZE_FIELD, true));
  if (recorded < MIN_POOL_SIZE || recorded > MAX_POOL_SIZE || recorded % CHUNK_SIZE !== 0) {
    throw new CorruptHeaderError(what, `recorded pool size ${recorded} is impossible`);
  }
  if (available < recorded) throw new TruncatedPoolError(what, available, recorded);
  if (available > recorded) throw new CorruptHeaderError(what, `it holds ${available} bytes but the header says ${recorded}`);
  return recorded;
}

/** Throw InvalidSizeError unless `size` can be a pool size. */
export function checkPoolSize(size: number): void {
  if (!Number.isInteger(size) || size < MIN_POOL_SIZE || size > MAX_POOL_SIZE || size % CHUNK_SIZE !== 0) {
    throw new InvalidSizeError(
      `pool size ${size} is invalid: it must be a multiple of 64 KiB between ${MIN_POOL_SIZE} (128 KiB) and ` +
      `${MAX_POOL_SIZE} (4 GiB minus the 16 MiB below the pool that the wasm32 core keeps for itself)`);
  }
}

/** Throw if `layout` cannot be stored in the header (at most 63 UTF-8 bytes). */
export function encodeLayout(layout: string): Uint8Array {
  const bytes = new TextEncoder().encode(layout);
  if (bytes.length > 63 || bytes.includes(0)) {
    throw new InvalidSizeError(`layout name "${layout}" must be at most 63 UTF-8 bytes with no NUL`);
  }
  return bytes;
}
