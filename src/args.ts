// args.ts — argument checks of the public API: pure functions of the argument.
//
// Owns how a wrong argument is answered: each check throws the typed error
// (InvalidArgumentError, BadTypeError, TxStateError) naming the argument as
// the caller wrote it (`shown`), and returns nothing or the checked value.
// None of them touches a pool, so a refused call changes nothing. Used by
// src/pool.ts (Pool and Tx); kept apart so that the Pool class holds only
// what acts on a pool.

import { BadTypeError, InvalidArgumentError, TxStateError } from './errors.js';
import { CRASH_MODES } from './crash/modes.js';
import type { GroupCommitOptions } from './group.js';
import { MAX_POOL_SIZE } from './layout.js';
import { checkPoolSize } from './format.js';

/** Type numbers from here up belong to the pool itself (root, log blocks); user types are below. */
export const FIRST_INTERNAL_TYPE = 0xffff_0000;

/** An argument as a message shows it: numbers and bigints as written, strings quoted, else its kind. */
export function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  return `a ${typeof v}`;
}

/** `v` must be a JS number (any number: range checks are the caller's). */
export function numberArg(v: unknown, what: string): number {
  if (typeof v !== 'number') throw new InvalidArgumentError(`${what} must be a number, not ${shown(v)}`);
  return v;
}

/** Integer stores: the range each one accepts. Values outside it are refused, never truncated. */
export const INT_RANGES = {
  u8: [0, 0xff], u16: [0, 0xffff], u32: [0, 0xffff_ffff], i32: [-0x8000_0000, 0x7fff_ffff],
} as const;
export type IntStore = keyof typeof INT_RANGES;

/** `v` must be an integer that fits `kind`. */
export function intValue(v: unknown, kind: IntStore): void {
  const [min, max] = INT_RANGES[kind];
  if (!Number.isInteger(numberArg(v, `a ${kind} value`)) || (v as number) < min || (v as number) > max) {
    throw new InvalidArgumentError(`${shown(v)} is not a ${kind} value (an integer in [${min}, ${max}]); pheap refuses it rather than truncate it`);
  }
}

/** `v` must be a number (any f64, NaN and ±Infinity included). */
export function f64Value(v: unknown): void {
  numberArg(v, 'an f64 value');
}

export const U64_MAX = (1n << 64n) - 1n;
/** `v` must be a bigint in [0, 2**64). */
export function u64Value(v: unknown): void {
  if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) {
    throw new InvalidArgumentError(`${shown(v)} is not a u64 value (a bigint in [0, 2**64)); pheap refuses it rather than truncate it`);
  }
}

/** `v` must be a Uint8Array (a Buffer is one; other typed arrays and plain arrays are not). */
export function bytesValue(v: unknown): void {
  if (!(v instanceof Uint8Array)) throw new InvalidArgumentError(`data must be a Uint8Array, not ${shown(v)}`);
}

/** An options argument: undefined (all defaults) or a plain object holding only `keys`. */
export function optionsArg<K extends string>(v: unknown, keys: readonly K[], what: string): Partial<Record<K, unknown>> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidArgumentError(`${what} must be an object or undefined, not ${shown(v)}`);
  const out: Partial<Record<K, unknown>> = {};
  try {
    for (const k in v) { // no key array: option objects are checked on every call
      if (Object.hasOwn(v, k) && !(keys as readonly string[]).includes(k)) throw new InvalidArgumentError(`${what}: unknown option '${k}' (known: ${keys.join(', ')})`);
    }
    // Each option read once, now: a getter that throws is answered here, and one that changes its answer cannot make a checked value differ from the used one.
    for (const k of keys) if (k in v) out[k] = (v as Record<K, unknown>)[k];
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw e;
    throw new InvalidArgumentError(`${what} could not be read: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
  return out;
}

/** A boolean option: undefined (false) or a boolean. */
export function flagArg(v: unknown, what: string): boolean {
  if (v !== undefined && typeof v !== 'boolean') throw new InvalidArgumentError(`${what} must be a boolean or undefined, not ${shown(v)}`);
  return v === true;
}

/** A user type number: an integer in [0, 0xFFFF0000). */
export function userType(v: unknown, what: string): number {
  if (!Number.isInteger(numberArg(v, what)) || (v as number) < 0 || (v as number) >= FIRST_INTERNAL_TYPE) {
    throw new BadTypeError(`${what} ${shown(v)} is not a user type number (an integer in [0, 0xFFFF0000))`);
  }
  return v as number;
}

/** Crash options: an object naming a crash mode, with an optional seed (a finite number or a string). */
export function crashOptionsArg(v: unknown): void {
  if (v === undefined) throw new InvalidArgumentError(`crash options are required: { mode: ${CRASH_MODES.map((m) => `'${m}'`).join(' | ')} }`);
  const o = optionsArg(v, ['mode', 'seed'], 'crash options');
  if (!(CRASH_MODES as readonly unknown[]).includes(o.mode)) throw new InvalidArgumentError(`crash mode ${shown(o.mode)} is not one of ${CRASH_MODES.join(', ')}`);
  if (o.seed !== undefined && typeof o.seed !== 'string' && !Number.isFinite(o.seed)) {
    throw new InvalidArgumentError(`crash seed ${shown(o.seed)} must be a finite number or a string`);
  }
}

/** The largest txAsync() batch and the longest wait a caller may ask for (setTimeout's limit). */
export const MAX_BATCH = 65536;
export const MAX_DELAY_MS = 0x7fff_ffff;

/** PoolOptions.groupCommit: absent, or an object of known keys with integers in range. */
export function groupCommitArg(v: unknown): GroupCommitOptions {
  if (v === undefined) return {};
  const o = optionsArg(v, ['maxBatch', 'maxDelayMs'], 'groupCommit options');
  if (o.maxBatch !== undefined && (!Number.isInteger(o.maxBatch) || (o.maxBatch as number) < 1 || (o.maxBatch as number) > MAX_BATCH)) {
    throw new InvalidArgumentError(`groupCommit.maxBatch must be an integer from 1 to ${MAX_BATCH}, not ${shown(o.maxBatch)}`);
  }
  if (o.maxDelayMs !== undefined && (typeof o.maxDelayMs !== 'number' || !(o.maxDelayMs >= 0 && o.maxDelayMs <= MAX_DELAY_MS))) {
    throw new InvalidArgumentError(`groupCommit.maxDelayMs must be a number of milliseconds from 0 to ${MAX_DELAY_MS}, not ${shown(o.maxDelayMs)}`);
  }
  return o as GroupCommitOptions;
}

/** A transaction function: a synchronous function (`what` names the call in messages). */
export function txFunctionArg(fn: unknown, what: string): void {
  if (typeof fn !== 'function') throw new InvalidArgumentError(`${what}() needs a function, not ${shown(fn)}`);
  if (ASYNC_CONSTRUCTORS.has(fn.constructor)) {
    throw new TxStateError(`${what}(fn): fn is an async function; transaction functions must be synchronous (nothing was run or begun)`);
  }
}

/** The constructors of async functions (a property read, not a toString, on the hot path). */
export const ASYNC_CONSTRUCTORS: ReadonlySet<unknown> = new Set([(async () => {}).constructor, (async function* () {}).constructor]);

/** A promise or other thenable (what an asynchronous transaction function returns). */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** Mark a refused promise handled, so its rejection is never an unhandled rejection. */
export function ignoreOutcome(p: PromiseLike<unknown>): void {
  try {
    p.then(undefined, () => {});
  } catch {
    // a thenable whose then() throws has no outcome to ignore
  }
}

/** PoolOptions.maxSize: undefined (the wasm32 limit) or a pool size (format.ts checkPoolSize). */
export function maxSizeArg(v: unknown): number {
  if (v === undefined) return MAX_POOL_SIZE;
  checkPoolSize(numberArg(v, 'maxSize'), MAX_POOL_SIZE, 'maxSize');
  return v as number;
}
