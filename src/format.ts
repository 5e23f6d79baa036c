// format.ts — what the host reads of a pool header before the core runs.
//
// Only enough to size the memory: the magic and the pool size the header
// commits (the size at creation, or the grown word's chunk count after a
// growth), and whether the bytes at hand can hold that pool. Storage may
// hold more: bytes past the committed size are what a growth interrupted
// before its commit left, and are never read. Full validation (checksum,
// version, layout, state words) is the core's job (assembly/format.ts);
// docs/format.md documents every field.

import { CHUNK_SIZE, GROWN_FIELD, HEADER_SIZE, HEADER_SIZE_FIELD, HEAP_OFFSET_FIELD, MAGIC, MAX_POOL_SIZE, MIN_POOL_SIZE } from './layout.js';
import { Code, CorruptHeaderError, InvalidSizeError, NotAPoolError, TruncatedPoolError, errorForCode } from './errors.js';
import { probeHeaderPage } from './core.js';

const magicBytes = new TextEncoder().encode(MAGIC);

/**
 * The pool size committed in `head` (the first bytes of a pool), checked
 * against `available` bytes of storage (which may hold more). Throws the
 * typed error that describes what is wrong. Reads only.
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
  const initial = Number(view.getBigUint64(HEADER_SIZE_FIELD, true));
  if (initial < MIN_POOL_SIZE || initial > MAX_POOL_SIZE || initial % CHUNK_SIZE !== 0) {
    throw new CorruptHeaderError(what, `recorded pool size ${initial} is impossible`);
  }
  const grown = view.getUint32(GROWN_FIELD, true);
  const recorded = grown === 0 ? initial : view.getUint32(HEAP_OFFSET_FIELD, true) + grown * CHUNK_SIZE;
  if (recorded > MAX_POOL_SIZE) throw new CorruptHeaderError(what, `grown pool size ${recorded} is impossible`);
  if (available < recorded) throw new TruncatedPoolError(what, available, recorded);
  return recorded;
}

/** Throw InvalidSizeError unless `size` can be a pool size no larger than `max` (`what` names it in the message). */
export function checkPoolSize(size: number, max = MAX_POOL_SIZE, what = 'pool size'): void {
  if (!Number.isInteger(size) || size < MIN_POOL_SIZE || size > max || size % CHUNK_SIZE !== 0) {
    const limit = max === MAX_POOL_SIZE ? `${MAX_POOL_SIZE} (4 GiB minus the 16 MiB below the pool that the wasm32 core keeps for itself)` : `${max} (maxSize)`;
    throw new InvalidSizeError(`${what} ${size} is invalid: it must be a multiple of 64 KiB between ${MIN_POOL_SIZE} (128 KiB) and ${limit}`);
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
