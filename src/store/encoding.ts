// store/encoding.ts — the key and value codecs of the lmdb-js-compatible Store.
//
// Keys are encoded with ordered-binary, as lmdb-js encodes them by default,
// so comparing encoded keys byte by byte (memcmp) orders them as lmdb-js
// does. Accepted keys: strings, numbers (not -0), true, false, null,
// Uint8Arrays (written raw, as lmdb-js does), and non-empty flat arrays of
// those but null and Uint8Arrays (raw bytes are undelimited inside an array). Refused with KeyError, before anything is written: undefined,
// bigints, symbols, functions, other objects, nested arrays (ordered-binary
// flattens them, so [1,[2]] and [1,2] would be one key), null inside an
// array (written as the separator byte: [false,'',null] decodes with '' in
// place of the null), strings that would not decode as themselves (a lone
// surrogate; U+0000..U+0004 in a string of 64 or more UTF-16 units, which
// ordered-binary writes unescaped), -0 (it encodes as
// a key that does not decode), keys that encode to no bytes (the empty
// array or Uint8Array) and keys longer than MAX_KEY_SIZE once encoded.
// decodeKey(encodeKey(k)) equals k for every accepted key without a
// Uint8Array (raw bytes decode as whatever they spell, as in lmdb-js —
// unless that is no key, e.g. an array holding raw bytes: then as the bytes),
// except that a one-part array is the same key as its part (as in lmdb-js:
// ['a'] and 'a' encode alike) and decodes as the part.
//
// Values: one codec per store, chosen by the `encoding` option as in
// lmdb-js — 'msgpack' (default: msgpackr with lmdb-js's settings), 'string'
// (UTF-8), 'binary' (the bytes themselves), 'json', 'ordered-binary' (the
// key codec, same rules). A value a codec cannot represent faithfully is
// InvalidArgumentError: msgpack refuses functions and symbols anywhere
// inside the value (msgpackr would silently write them as undefined) and
// integers outside 64 bits. encode returns a fresh Uint8Array nothing else
// shares.
//
// A database's msgpack codec shares structures (sharedMsgpackCodec), as
// lmdb-js does with its sharedStructuresKey: an object's property names are
// written once per database, in a structure list the codec keeps through a
// StructureStore, and a value names its structure by a one-byte id (half
// the bytes, a third of the decode time, for small objects). Invariant: a
// value is only ever encoded against structures that are persisted in the
// same or an earlier transaction — a new structure is saved (store.save)
// before encode returns, and when the store's generation moves (a rollback
// may have dropped saves) the codec starts over from what is persisted.
// The plain valueCodec('msgpack') writes self-describing values, the bytes
// lmdb-js writes by default; it decodes shared-structure values only
// through the database's codec.

import { Encoder } from 'msgpackr';
import { readKey, writeKey } from 'ordered-binary';
import { CorruptHeapError, InvalidArgumentError, KeyError, PheapError, ValueDecodeError } from '../errors.js';
import { shown } from '../args.js';
import { copyOut } from '../bytes.js';

/** Longest encoded key, in bytes: lmdb-js's default (DEFAULT_MAX_KEY_SIZE, what LMDB allows with its 4 KiB pages). */
export const MAX_KEY_SIZE = 1978;

/** One part of a key. */
export type KeyPart = string | number | boolean | null | Uint8Array;
/** A key: a part, or a non-empty array of parts other than null. */
export type Key = KeyPart | Exclude<KeyPart, null>[];

/** Value encodings, as lmdb-js names them. */
export type ValueEncoding = 'msgpack' | 'string' | 'binary' | 'json' | 'ordered-binary';
export const VALUE_ENCODINGS: readonly ValueEncoding[] = ['msgpack', 'string', 'binary', 'json', 'ordered-binary'];

/** Encoding and decoding of a store's values. */
export interface ValueCodec {
  readonly encoding: ValueEncoding;
  /** The value's bytes; InvalidArgumentError if the encoding cannot represent it. */
  encode(value: unknown): Uint8Array;
  /** The bytes encode(value) would give if it is stored already, written by nothing (for comparing, from a read). */
  encodeKnown(value: unknown): Uint8Array;
  /** The value back from its bytes. */
  decode(bytes: Uint8Array): unknown;
  /** The value back from bytes `src[start, end)` (src is not kept: what is returned owns its data). */
  decodeAt(src: Uint8Array, start: number, end: number): unknown;
}

/** A codec from its encoder and its decoder (decode is decodeAt of the whole array); a decoder's error becomes ValueDecodeError. */
function codec(encoding: ValueEncoding, encode: (value: unknown) => Uint8Array, decoder: (src: Uint8Array, start: number, end: number) => unknown): ValueCodec {
  const decodeAt = (src: Uint8Array, start: number, end: number): unknown => {
    try {
      return decoder(src, start, end);
    } catch (e) {
      throw new ValueDecodeError(`a stored value (${end - start} bytes) does not decode as '${encoding}': ${(e as Error)?.message ?? String(e)} (damaged, or written with another encoding)`, { cause: e });
    }
  };
  return { encoding, encode, encodeKnown: encode, decodeAt, decode: (bytes) => decodeAt(bytes, 0, bytes.length) };
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LOW_CONTROL = /[\u0000-\u0004]/;

/** Why a string is not a key part (it would not decode as itself), or null. */
function stringProblem(s: string): string | null {
  if (LONE_SURROGATE.test(s)) return 'a string with a lone surrogate (UTF-8 cannot hold it)';
  if (s.length >= 64 && LOW_CONTROL.test(s)) return 'a string of 64 or more UTF-16 units holding U+0000..U+0004 (ordered-binary writes those raw in long strings, where they read as separators)';
  return null;
}

/** Why `part` is not a key part, or null if it is one. */
function partProblem(part: unknown, inArray: boolean): string | null {
  switch (typeof part) {
    case 'string': return stringProblem(part);
    case 'boolean': return null;
    case 'number': return Object.is(part, -0) ? '-0 (ordered-binary writes it as a key that does not decode; use 0)' : null;
    case 'object':
      if (part === null) return inArray ? 'null inside an array (ordered-binary writes it like the separator, so it does not decode)' : null;
      if (part instanceof Uint8Array) return inArray ? 'a Uint8Array inside an array (ordered-binary writes its bytes undelimited, so the key would not read back as itself)' : null;
      return Array.isArray(part) ? 'a nested array (ordered-binary flattens it)' : `${shown(part)} (an object other than an array or a Uint8Array)`;
    default: return `${shown(part)} (a ${typeof part})`;
  }
}

/** A scratch buffer big enough for any accepted key and then some (ordered-binary writes up to 12 bytes past a number). */
const scratch = new Uint8Array(MAX_KEY_SIZE * 2 + 64);

/**
 * An array key's parts, each read once, now (an array is copied: a getter
 * that answers differently on each read, or that uses the Store, cannot
 * make the checked key differ from the written one); a part is itself.
 */
function partsOf(key: unknown): unknown[] {
  if (!Array.isArray(key)) return [key];
  try {
    return Array.from(key as unknown[]);
  } catch (e) {
    throw new KeyError(`an array key whose elements could not be read is not a valid key: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

/** The bytes of `key` by ordered-binary's rules, or the reason it is refused. */
function orderedBytes(key: unknown): Uint8Array | string {
  const isArray = Array.isArray(key);
  const parts = partsOf(key);
  if (isArray && parts.length === 0) return 'an empty array (it encodes to no bytes)';
  for (const p of parts) {
    const problem = partProblem(p, isArray);
    if (problem) return problem;
  }
  // An upper bound of the encoded length (3 UTF-8 bytes per UTF-16 unit, 9 per number, separators), plus room for the words ordered-binary writes past the end.
  // (A multiple of 4: ordered-binary views the target as whole 32-bit words.)
  const bound = (parts.reduce((n: number, p) => n + (typeof p === 'string' ? 3 * p.length + 1 : p instanceof Uint8Array ? p.length : 10) + 1, 16) + 3) & ~3;
  const target = bound <= scratch.length ? scratch : new Uint8Array(bound);
  const end = writeKey((isArray ? parts : key) as Key, target, 0);
  if (end === 0) return 'empty (it encodes to no bytes)';
  if (end > MAX_KEY_SIZE) return `${end} bytes once encoded, more than ${MAX_KEY_SIZE}`;
  return target.slice(0, end);
}

/** The bytes of a key; KeyError if it is not one (see the header). */
export function encodeKey(key: unknown): Uint8Array {
  const out = orderedBytes(key);
  if (typeof out === 'string') throw new KeyError(`${shown(key)} is not a valid key: ${out}`);
  return out;
}

/** A key back from its bytes. */
export function decodeKey(bytes: Uint8Array): Key {
  return decodeKeyAt(bytes, 0, bytes.length);
}

/** A key back from bytes `src[start, end)`. */
export function decodeKeyAt(src: Uint8Array, start: number, end: number): Key {
  try {
    // On a view of exactly the key: ordered-binary's readKey may look past `end` (and then not throw on raw bytes).
    const key = readKey(src.subarray(start, end), 0, end - start) as Key;
    // Raw bytes can spell an array that is no key (a Uint8Array or null inside): then the key is those bytes, which can be passed back.
    if (Array.isArray(key) && key.some((p) => partProblem(p, true) !== null)) return copyOut(src, start, end);
    return key;
  } catch {
    // Raw bytes (a Uint8Array key) that spell no ordered-binary value: the key is those bytes.
    return copyOut(src, start, end);
  }
}

/** memcmp order of two byte strings: the order of the keys they encode. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function refuse(encoding: ValueEncoding, value: unknown, why: string, cause?: unknown): never {
  throw new InvalidArgumentError(`the '${encoding}' value encoding cannot encode ${shown(value)}: ${why}`, cause === undefined ? undefined : { cause });
}

/** lmdb-js's encoder options: copyBuffers; a function anywhere inside a value is an error (msgpackr's default writes it as undefined; it throws on a symbol itself). */
const MSGPACK_OPTIONS = { copyBuffers: true, writeFunction: () => { throw new Error('it holds a function, which msgpack would drop'); } };
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/** `packr.encode(value)` as a fresh array; what msgpackr cannot encode is InvalidArgumentError (the value is read once, in the encoding pass: what is checked is what is written). */
function msgpackEncode(packr: Encoder, value: unknown): Uint8Array {
  try {
    return Uint8Array.from(packr.encode(value));
  } catch (e) { // a function or symbol inside, a cycle or nesting too deep, a bigint past 64 bits, a getter that threw
    if (e instanceof PheapError) throw e; // a structure save that failed (OutOfSpaceError, …)
    return refuse('msgpack', value, (e as Error)?.message ?? String(e), e);
  }
}

/** Self-describing msgpack: lmdb-js's default encoding, byte for byte. */
function msgpackCodec(): ValueCodec {
  const packr = new Encoder(MSGPACK_OPTIONS);
  return codec('msgpack', (value) => msgpackEncode(packr, value), (src, start, end) => packr.decode(src, { start, end }));
}

/** A msgpack database's shared structures, where they are persisted (see the header). */
export interface StructureStore {
  /** The persisted structure list (each structure an object's property names, in order); [] if none yet. */
  load(): string[][];
  /** Persist `structures` (the whole list) before returning; throws (a PheapError) if it cannot. */
  save(structures: string[][]): void;
  /** A number that changes whenever saves may have been rolled back. */
  generation(): number;
}

/** The property-name lists of msgpackr's structure list (they carry bookkeeping properties of msgpackr's). */
const plainStructures = (structures: unknown[]): string[][] => structures.map((keys) => Array.from(keys as string[]));

/** The structure-sharing msgpack codec of one database (see the header). */
export function sharedMsgpackCodec(store: StructureStore): ValueCodec {
  let generation = NaN;
  let packr!: Encoder;
  let sharing = true;
  const current = (): Encoder => {
    if (store.generation() === generation) return packr;
    const now = store.generation();
    packr = new Encoder({
      ...MSGPACK_OPTIONS,
      maxSharedStructures: MAX_SHARED_STRUCTURES,
      structures: store.load(),
      getStructures: () => store.load(),
      // A name with a lone surrogate would persist as U+FFFD but read back from memory as itself until reopen: such a shape stays self-describing (its names are written, as U+FFFD, in every value).
      shouldShareStructure: (keys: string[]) => sharing && !keys.some((k) => LONE_SURROGATE.test(k)),
      // msgpackr passes a second argument, isCompatible (its types leave it out).
      saveStructures: ((structures: unknown[], isCompatible: unknown) => {
        const persisted = store.load();
        if (typeof isCompatible === 'function' ? !isCompatible(persisted) : persisted.length !== isCompatible) return false; // msgpackr reloads and encodes again
        store.save(plainStructures(structures));
        return true;
      }) as (structures: unknown[]) => boolean,
    });
    generation = now;
    return packr;
  };
  const shared = codec('msgpack', (value) => msgpackEncode(current(), value), (src, start, end) => current().decode(src, { start, end }));
  return {
    ...shared,
    /** Without saving a new structure: an object of a new shape is written self-describing (no stored value holds it, unless written before its structure was). */
    encodeKnown(value: unknown): Uint8Array {
      const packr = current();
      sharing = false;
      try { return msgpackEncode(packr, value); } finally { sharing = true; }
    },
  };
}

/** Structures as persisted (msgpack of the name lists) and back; a list that is not one is CorruptHeapError. */
export function encodeStructures(structures: string[][]): Uint8Array {
  return Uint8Array.from(plainPackr.encode(structures));
}
export function decodeStructures(bytes: Uint8Array): string[][] {
  let list: unknown;
  try { list = plainPackr.decode(bytes); } catch (e) { list = e; }
  if (!Array.isArray(list) || list.length > MAX_SHARED_STRUCTURES || !list.every((s) => Array.isArray(s) && s.every((k) => typeof k === 'string'))) {
    throw new CorruptHeapError(`a database's msgpack structure list (${bytes.length} bytes) is not a list of at most ${MAX_SHARED_STRUCTURES} lists of property names (damaged)`);
  }
  return list as string[][];
}
/** How many structures a database shares (msgpackr's default with shared structures): a longer list was never written by a Store. */
const MAX_SHARED_STRUCTURES = 32;
const plainPackr = new Encoder({ useRecords: false });

const codecs: Record<ValueEncoding, () => ValueCodec> = {
  msgpack: msgpackCodec,
  string: () => codec('string',
    (value) => typeof value !== 'string' ? refuse('string', value, 'it is not a string')
      : LONE_SURROGATE.test(value) ? refuse('string', value, 'it holds a lone surrogate (UTF-8 cannot hold it)') : utf8.encode(value),
    (src, start, end) => utf8Decoder.decode(src.subarray(start, end))),
  binary: () => codec('binary',
    (value) => value instanceof Uint8Array ? value : refuse('binary', value, 'it is not a Uint8Array'),
    copyOut),
  json: () => codec('json', (value) => {
    let text: string | undefined;
    try { text = JSON.stringify(value); } catch (e) { return refuse('json', value, (e as Error).message); }
    return text === undefined ? refuse('json', value, 'JSON has no text for it') : utf8.encode(text);
  }, (src, start, end) => JSON.parse(utf8Decoder.decode(src.subarray(start, end)))),
  'ordered-binary': () => codec('ordered-binary', (value) => {
    const out = orderedBytes(value);
    return typeof out === 'string' ? refuse('ordered-binary', value, out) : out;
  }, decodeKeyAt),
};

/** The codec of a store's `encoding` option (undefined: 'msgpack'); InvalidArgumentError for any other name. */
export function valueCodec(encoding?: unknown): ValueCodec {
  return codecs[valueEncodingArg(encoding)]();
}

/** The `encoding` option checked (undefined: 'msgpack'); InvalidArgumentError for any other name. */
export function valueEncodingArg(encoding: unknown): ValueEncoding {
  if (encoding === undefined) return 'msgpack';
  if (typeof encoding !== 'string' || !(VALUE_ENCODINGS as readonly string[]).includes(encoding)) {
    throw new InvalidArgumentError(`encoding ${shown(encoding)} is not one of ${VALUE_ENCODINGS.map((e) => `'${e}'`).join(', ')}`);
  }
  return encoding as ValueEncoding;
}
