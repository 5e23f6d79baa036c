// store-model.ts — the reference model of a Store for the adversarial tests
// (test/store-adversarial.test.ts), built from the public docs only.
//
// Owns: per database, a map from a key's ordered-binary (or raw) bytes in hex
// to the key as the Store hands it back and its value; the getRange rules of
// docs/store.md (forward: start <= key < end; reverse: end < key <= start;
// `offset` skipped, then at most `limit`), computed on the sorted hex keys.
//
// Invariants: hex strings of bytes sort exactly as the bytes do (memcmp,
// a proper prefix first), so sorting the hex keys is the Store's key order;
// a snapshot/restore pair makes a transaction that aborts leave nothing.

import { decodeKey, encodeKey, type Key, type StoreRangeOptions } from '../../src/index.js';

/** One entry of a model database: the key as the Store returns it, and its value. */
export interface ModelEntry { key: unknown; value: unknown }

/** The hex of a byte string. */
export const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Canonical bytes of a key under a database's key encoding, as hex. */
export function keyHex(key: Key, binary: boolean): string {
  return binary ? hexOf(key as Uint8Array) : hexOf(encodeKey(key));
}

/** The key as the Store hands it back: raw keys as they are, ordered-binary ones decoded from their bytes. */
export function keyBack(key: Key, binary: boolean): unknown {
  return binary ? Uint8Array.from(key as Uint8Array) : decodeKey(encodeKey(key));
}

/** A model of several databases (index → entries by key hex). */
export class StoreModel {
  private dbs: Array<Map<string, ModelEntry>>;

  constructor(count: number) {
    this.dbs = Array.from({ length: count }, () => new Map());
  }

  get(db: number, hex: string): ModelEntry | undefined {
    return this.dbs[db].get(hex);
  }

  put(db: number, hex: string, entry: ModelEntry): void {
    this.dbs[db].set(hex, entry);
  }

  /** Remove; true if there was an entry. */
  remove(db: number, hex: string): boolean {
    return this.dbs[db].delete(hex);
  }

  count(db: number): number {
    return this.dbs[db].size;
  }

  /** A copy of every database (to roll a failed transaction back). */
  snapshot(): Array<Map<string, ModelEntry>> {
    return this.dbs.map((m) => new Map(m));
  }

  restore(s: Array<Map<string, ModelEntry>>): void {
    this.dbs = s.map((m) => new Map(m));
  }

  /** The entries getRange(opts) yields, in order; bounds given as key hex. */
  range(db: number, opts: { start?: string; end?: string; limit?: number; offset?: number; reverse?: boolean }): ModelEntry[] {
    const hexes = [...this.dbs[db].keys()].sort();
    const inRange = opts.reverse
      ? hexes.filter((h) => (opts.start === undefined || h <= opts.start) && (opts.end === undefined || h > opts.end)).reverse()
      : hexes.filter((h) => (opts.start === undefined || h >= opts.start) && (opts.end === undefined || h < opts.end));
    const from = opts.offset ?? 0;
    const to = opts.limit === undefined ? undefined : from + opts.limit;
    return inRange.slice(from, to).map((h) => this.dbs[db].get(h)!);
  }
}

/** getRange options with their bounds turned into key hex (for StoreModel.range). */
export function hexRange(opts: StoreRangeOptions, binary: boolean): Parameters<StoreModel['range']>[1] {
  return {
    start: opts.start === undefined ? undefined : keyHex(opts.start, binary),
    end: opts.end === undefined ? undefined : keyHex(opts.end, binary),
    limit: opts.limit, offset: opts.offset, reverse: opts.reverse,
  };
}

/** Values made comparable with toEqual: byte arrays of any class become `hex:…` strings, recursively. */
export function comparable(v: unknown): unknown {
  if (v instanceof Uint8Array) return `hex:${hexOf(v)}`;
  if (Array.isArray(v)) return v.map(comparable);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, comparable(x)]));
  return v;
}
