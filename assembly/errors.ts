// errors.ts — result codes the core returns to the host.
//
// The core never throws: every exported operation that can fail returns one
// of these codes (or 0 / a negative value, as its doc says) and the host maps
// it to a typed error class (src/errors.ts). Keep the two lists in step.

export const enum Code {
  OK = 0,
  NOT_A_POOL = 1,
  CORRUPT_HEADER = 2,
  UNSUPPORTED_VERSION = 3,
  LAYOUT_MISMATCH = 4,
  BAD_SIZE = 5,
  OUT_OF_SPACE = 6,
  BAD_OFFSET = 7,
  NOT_LIVE = 8,
  BAD_TYPE = 9,
  TX_STATE = 10,
  TX_ABORTED = 11,
  LOG_FULL = 12,
  TX_TOO_LARGE = 13,
  CORRUPT_HEAP = 14,
  CORRUPT_LOG = 15,
}

/** Detail of the last failure, for the host's error message. */
export let lastError: Code = Code.OK;

export function fail(code: Code): u32 {
  lastError = code;
  return 0;
}

/**
 * Pool offset of the first damaged metadata word noticed since the last
 * clearDamage() (0 = none). Allocator paths that find a word whose check
 * fails note it here and refuse; the public operation then fails with
 * CORRUPT_HEAP (or CORRUPT_LOG) naming this offset.
 */
export let damageAt: u32 = 0;

export function noteDamage(off: u32): void {
  if (damageAt == 0) damageAt = off == 0 ? 1 : off;
}

export function clearDamage(): void { damageAt = 0; }

/** Fail with CORRUPT_HEAP if damage was noticed, else with `code`. */
export function failOrDamage(code: Code): u32 {
  return fail(damageAt != 0 ? Code.CORRUPT_HEAP : code);
}
