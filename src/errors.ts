// errors.ts — every error pheap throws, as classes callers can `instanceof`.
//
// The core returns numeric codes (assembly/errors.ts); `errorForCode` maps
// them here. Every class extends PheapError, carries a stable `code` string,
// and a message that says what went wrong and what to do about it.

import { FORMAT_VERSION } from './layout.js';

/**
 * Each code's class name, written out rather than read from the constructor:
 * a minifier (the package's own embedded worker, or an app's bundler) renames
 * classes, and `name` must still say which error it is — in messages, and
 * for the browser client, which rebuilds worker errors by name.
 */
const ERROR_NAMES: Record<string, string> = {
  ERR_POOL_NOT_FOUND: 'PoolNotFoundError',
  ERR_POOL_EXISTS: 'PoolExistsError',
  ERR_NOT_A_POOL: 'NotAPoolError',
  ERR_POOL_TRUNCATED: 'TruncatedPoolError',
  ERR_POOL_CORRUPT_HEADER: 'CorruptHeaderError',
  ERR_POOL_VERSION: 'UnsupportedVersionError',
  ERR_POOL_LAYOUT: 'LayoutMismatchError',
  ERR_POOL_SIZE: 'InvalidSizeError',
  ERR_POOL_LOCKED: 'PoolLockedError',
  ERR_BAD_OFFSET: 'OffsetError',
  ERR_POOL_CLOSED: 'PoolClosedError',
  ERR_OUT_OF_SPACE: 'OutOfSpaceError',
  ERR_NOT_LIVE: 'NotLiveError',
  ERR_BAD_TYPE: 'BadTypeError',
  ERR_TX_STATE: 'TxStateError',
  ERR_TX_ABORTED: 'TxAbortedError',
  ERR_LOG_FULL: 'LogFullError',
  ERR_TX_TOO_LARGE: 'TxTooLargeError',
  ERR_HEAP_CORRUPT: 'CorruptHeapError',
  ERR_LOG_CORRUPT: 'CorruptLogError',
  ERR_UNSUPPORTED: 'UnsupportedOperationError',
  ERR_STORAGE_UNAVAILABLE: 'StorageUnavailableError',
  ERR_QUOTA: 'QuotaError',
  ERR_POOL_FILE: 'PoolFileError',
  ERR_BAD_ARGUMENT: 'InvalidArgumentError',
  ERR_MAPPED: 'MappedBackendError',
  ERR_OPLOG: 'OpLogError',
  ERR_NOT_A_CONTAINER: 'NotAContainerError',
  ERR_BAD_KEY: 'KeyError',
  ERR_VALUE_DECODE: 'ValueDecodeError',
};

export class PheapError extends Error {
  /** Stable machine-readable name, e.g. 'ERR_POOL_CORRUPT_HEADER'. */
  readonly code: string;
  /** `options.cause`: the error that led to this one (e.g. a caller's getter that threw). */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERROR_NAMES[code] ?? 'PheapError';
    this.code = code;
  }
}

/** The pool file does not exist and `create` was not asked for. */
export class PoolNotFoundError extends PheapError {
  constructor(path: string) { super('ERR_POOL_NOT_FOUND', `no pool at ${path}: the file does not exist (use Pool.create to make one)`); }
}
/** Pool.create was asked to make a file that already exists. */
export class PoolExistsError extends PheapError {
  constructor(path: string) { super('ERR_POOL_EXISTS', `cannot create ${path}: the file already exists (open it, or remove it first)`); }
}
/** The file is not a pheap pool (wrong magic, or too short to hold a header). */
export class NotAPoolError extends PheapError {
  constructor(what: string, detail = 'it does not start with the pheap magic "PHEAPOOL"') { super('ERR_NOT_A_POOL', `${what} is not a pheap pool: ${detail}`); }
}
/** The file is shorter than the pool size its header records. */
export class TruncatedPoolError extends PheapError {
  /** `want` is the size the header records, or, with `headerOnly`, the header's own size. */
  constructor(what: string, have: number, want: number, headerOnly = false) {
    super('ERR_POOL_TRUNCATED', headerOnly
      ? `${what} is truncated: ${have} bytes, less than the ${want}-byte header`
      : `${what} is truncated: ${have} bytes on disk, the header says ${want}`);
  }
}
/** The header fails its checksum or a state word, or its fields disagree. */
export class CorruptHeaderError extends PheapError {
  constructor(what: string, detail = 'checksum, state words or region offsets do not validate') { super('ERR_POOL_CORRUPT_HEADER', `${what} has a corrupt header (${detail}); it was not opened and not modified`); }
}
/** The pool was written by a format version (or with features) this build does not know. */
export class UnsupportedVersionError extends PheapError {
  constructor(what: string) {
    super('ERR_POOL_VERSION', `${what} uses an unsupported pool format version or feature: this build reads format version ${FORMAT_VERSION} ` +
      '(a newer file needs a newer pheap; a format-1 file, written before metadata carried its own checks, must be recreated)');
  }
}
/** The layout name given to open() differs from the one the pool was created with. */
export class LayoutMismatchError extends PheapError {
  constructor(what: string, layout: string) { super('ERR_POOL_LAYOUT', `${what} was not created with layout "${layout}"`); }
}
/** A pool size outside [min, max] or not a multiple of 64 KiB. */
export class InvalidSizeError extends PheapError {
  constructor(message: string) { super('ERR_POOL_SIZE', message); }
}
/** The pool is already open in this process or in another one. */
export class PoolLockedError extends PheapError {
  constructor(path: string, holder: string) { super('ERR_POOL_LOCKED', `${path} is open elsewhere (${holder}); close it there first`); }
}
/** An offset or length that falls outside the pool or outside the object it should be in. */
export class OffsetError extends PheapError {
  constructor(message: string) { super('ERR_BAD_OFFSET', message); }
}
/** Any operation on a pool after close(). */
export class PoolClosedError extends PheapError {
  constructor() { super('ERR_POOL_CLOSED', 'the pool is closed'); }
}
/** The heap has no room for the allocation; the heap is unchanged. */
export class OutOfSpaceError extends PheapError {
  constructor(message = 'out of space: the pool has no free block large enough (the heap is unchanged)') { super('ERR_OUT_OF_SPACE', message); }
}
/** free/realloc of something that is not a live object (including a double free). */
export class NotLiveError extends PheapError {
  constructor(off: number) { super('ERR_NOT_LIVE', `offset ${off} is not a live object (never allocated, already freed, or not an object's start)`); }
}
/** A type number outside the user range, or an operation on one of the pool's own objects. */
export class BadTypeError extends PheapError {
  constructor(message = 'type numbers must be integers in [0, 0xFFFF0000); the pool\'s own objects cannot be freed or resized') { super('ERR_BAD_TYPE', message); }
}
/** A transaction operation outside a transaction, or root() inside one. */
export class TxStateError extends PheapError {
  constructor(message = 'this operation needs an open transaction (or, for root(), no open transaction)') { super('ERR_TX_STATE', message); }
}
/** The transaction was aborted (maybe by a nested level); it can only end now. */
export class TxAbortedError extends PheapError {
  constructor() { super('ERR_TX_ABORTED', 'the transaction was aborted (possibly by a nested transaction); its changes were rolled back'); }
}
/** The undo log could not grow for this transaction; the transaction was rolled back. */
export class LogFullError extends PheapError {
  constructor() { super('ERR_LOG_FULL', 'the undo log is full and the heap has no chunk to extend it; the transaction was rolled back'); }
}
/** A transaction touched more distinct ranges/objects than the core tracks (65 536). */
export class TxTooLargeError extends PheapError {
  constructor() { super('ERR_TX_TOO_LARGE', 'the transaction touches too many distinct ranges or objects (limit 65536); split it'); }
}
/** The heap consistency check found a broken invariant. */
export class CorruptHeapError extends PheapError {
  constructor(message: string) { super('ERR_HEAP_CORRUPT', message); }
}
/**
 * The undo log is damaged: a header word fails its check, an extension link
 * names something that is not a log block, or an entry the log counts as
 * durable does not validate. Recovery refuses rather than roll back part of
 * a transaction; the pool was not modified.
 */
export class CorruptLogError extends PheapError {
  /** Pool offset of the damaged log word or entry. */
  readonly offset: number;
  constructor(what: string, offset: number) {
    super('ERR_LOG_CORRUPT', `${what}: the undo log is damaged at offset ${offset} (recovery refused: rolling back part of a transaction would lose data); the pool was not modified`);
    this.offset = offset;
  }
}
/** The backend cannot do what was asked (e.g. crash simulation on a live mapping). */
export class UnsupportedOperationError extends PheapError {
  constructor(message: string) { super('ERR_UNSUPPORTED', message); }
}

/** Codes shared with assembly/errors.ts. */
export const enum Code {
  OK = 0, NOT_A_POOL = 1, CORRUPT_HEADER = 2, UNSUPPORTED_VERSION = 3, LAYOUT_MISMATCH = 4, BAD_SIZE = 5,
  OUT_OF_SPACE = 6, BAD_OFFSET = 7, NOT_LIVE = 8, BAD_TYPE = 9, TX_STATE = 10, TX_ABORTED = 11,
  LOG_FULL = 12, TX_TOO_LARGE = 13, CORRUPT_HEAP = 14, CORRUPT_LOG = 15,
}

/** Error for a failed core call; `subject` names the pool or the offset in messages. */
export function errorForCode(code: number, ctx: { what?: string; layout?: string; off?: number; damage?: number } = {}): PheapError {
  const what = ctx.what ?? 'the pool';
  switch (code) {
    case Code.NOT_A_POOL: return new NotAPoolError(what);
    case Code.CORRUPT_HEADER: return new CorruptHeaderError(what);
    case Code.UNSUPPORTED_VERSION: return new UnsupportedVersionError(what);
    case Code.LAYOUT_MISMATCH: return new LayoutMismatchError(what, ctx.layout ?? '');
    case Code.BAD_SIZE: return new InvalidSizeError('size must be at least 1 byte and fit in the pool');
    case Code.OUT_OF_SPACE: return new OutOfSpaceError();
    case Code.BAD_OFFSET: return new OffsetError(`offset ${ctx.off ?? '?'} is outside the pool or not inside a live object`);
    case Code.NOT_LIVE: return new NotLiveError(ctx.off ?? 0);
    case Code.BAD_TYPE: return new BadTypeError();
    case Code.TX_STATE: return new TxStateError();
    case Code.TX_ABORTED: return new TxAbortedError();
    case Code.LOG_FULL: return new LogFullError();
    case Code.TX_TOO_LARGE: return new TxTooLargeError();
    case Code.CORRUPT_HEAP: return new CorruptHeapError(`${what}: the heap metadata is damaged ${ctx.damage ? `at offset ${ctx.damage}` : '(chunk table, run bitmaps or object headers)'}: a word fails its check, so it was not trusted`);
    case Code.CORRUPT_LOG: return new CorruptLogError(what, ctx.damage ?? 0);
    default: return new PheapError('ERR_INTERNAL', `core returned unknown code ${code}`);
  }
}

/** Texts for check() problems (assembly/check.ts). */
export const CHECK_PROBLEMS: Record<number, string> = {
  1: 'the header does not validate',
  2: 'a chunk word fails its check, or a large object overlaps another chunk',
  3: 'a run bitmap word fails its check, or has a bit set past the last slot',
  4: 'a live object has a damaged header, or a size that disagrees with its slot or span, or a bad type',
  5: 'the root word does not name a live root object',
  6: 'the undo log is damaged, or holds entries or an extension it should not',
  7: "a run's volatile live count disagrees with its bitmap",
  8: 'the free extents do not cover exactly the free chunks',
};

/** OPFS (the browser's origin private file system) cannot be used here. */
export class StorageUnavailableError extends PheapError {
  constructor(detail: string) {
    super('ERR_STORAGE_UNAVAILABLE', `persistent browser storage (OPFS) is unavailable: ${detail}. ` +
      'Serve the page over http://localhost or https (not file://), leave private/incognito mode, and run pools in a dedicated Worker');
  }
}
/** The browser refused the space the pool needs (storage quota). */
export class QuotaError extends PheapError {
  constructor(what: string, bytes: number) {
    super('ERR_QUOTA', `${what}: the browser's storage quota does not allow ${bytes} bytes; free space (delete other pools or site data) or use a smaller pool`);
  }
}
/**
 * The operating system refused a pool file operation (a missing directory,
 * no permission, a read-only or full file system): `errno` names the cause.
 */
export class PoolFileError extends PheapError {
  /** The system error code, e.g. 'ENOENT', 'EACCES', 'ENOSPC'. */
  readonly errno: string;
  constructor(path: string, errno: string, detail: string) {
    super('ERR_POOL_FILE', `${path}: the system refused the pool file (${errno}: ${detail}); nothing was created or changed`);
    this.errno = errno;
  }
}

/** An argument of the wrong kind (a string, null, a bigint where a number is wanted, an unknown option) or a value that does not fit the store. */
export class InvalidArgumentError extends PheapError {
  constructor(message: string, options?: ErrorOptions) { super('ERR_BAD_ARGUMENT', message, options); }
}

/** An offset that does not hold the container asked for (a PVector opened on a blob, a freed vector, any other object). */
export class NotAContainerError extends PheapError {
  constructor(kind: string, off: number) { super('ERR_NOT_A_CONTAINER', `offset ${off} does not hold a ${kind} (not a live ${kind} header: never created, freed, or another object)`); }
}
/**
 * Stored value bytes that do not decode in the database's encoding: a
 * damaged value (values carry no checksum), or bytes written under another
 * `encoding`. `cause` is the decoder's error. Nothing was changed.
 */
export class ValueDecodeError extends PheapError {
  constructor(message: string, options?: ErrorOptions) { super('ERR_VALUE_DECODE', message, options); }
}
/** A key the Store cannot encode: an unsupported type, or longer than the key limit once encoded. */
export class KeyError extends PheapError {
  constructor(message: string, options?: ErrorOptions) { super('ERR_BAD_KEY', message, options); }
}

/**
 * A raw system error (EACCES, ELOOP, EISDIR, …) about the pool file at
 * `path` as a PoolFileError; a PheapError or anything else is returned
 * unchanged. Only typed errors escape the file backends and the CLI.
 */
export function typedFileError(e: unknown, path: string): unknown {
  if (e instanceof PheapError) return e;
  const errno = (e as { code?: unknown } | null | undefined)?.code;
  return typeof errno === 'string' && /^E[A-Z0-9]+$/.test(errno) ? new PoolFileError(path, errno, (e as Error).message) : e;
}
