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
}

/** Detail of the last failure, for the host's error message. */
export let lastError: Code = Code.OK;

export function fail(code: Code): u32 {
  lastError = code;
  return 0;
}
