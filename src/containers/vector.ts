// containers/vector.ts — PVector: a persistent growable array in a pool.
//
// Two flavours: fixed-size elements (`elemSize` bytes each, stored inline
// in one data object) and byte-string elements (each a separate object of
// its own length, the array holding their offsets). The layout, its
// invariants and the growth policy are drawn in assembly/containers/vector.ts;
// docs/containers-vector.md is the long form.
//
// Every mutating method is one transaction, or part of the caller's
// pool.tx() (op.ts); a refused call (bad argument, index out of range,
// OutOfSpaceError, LogFullError) leaves the vector and the heap as they were.
// A PVector holds only the pool and the header's offset: any number of them
// may name one vector, and one may outlive a free() (its calls then throw
// NotAContainerError).

import type { Pool } from '../pool.js';
import { InvalidArgumentError } from '../errors.js';
import { optionsArg, shown } from '../args.js';
import { accessOf, bytesArg, mutate, offsetArg, query, readPool, writePool } from './op.js';

const KIND = 'vector';
/** Largest fixed element size (assembly/containers/vector.ts MAX_ELEM_SIZE). */
export const MAX_ELEM_SIZE = 1 << 16;

/** Options of PVector.create(). */
export interface VectorOptions {
  /** Fixed element size in bytes, an integer in [1, 65536]; omitted: byte-string elements of any length (0 included). */
  elemSize?: number;
}

export class PVector {
  /** The pool the vector lives in. */
  readonly pool: Pool;
  /** Pool offset of the vector's header: what open() takes back (store it in your own objects). */
  readonly offset: number;
  /** Fixed element size, or 0 for byte-string elements. */
  readonly elemSize: number;

  private constructor(pool: Pool, offset: number, elemSize: number) {
    this.pool = pool;
    this.offset = offset;
    this.elemSize = elemSize;
  }

  /** Create an empty vector (one transaction, or part of the caller's). */
  static create(pool: Pool, opts?: VectorOptions): PVector {
    accessOf(pool, 'PVector.create');
    const e = optionsArg(opts, ['elemSize'], 'PVector.create options').elemSize;
    if (e !== undefined && (!Number.isInteger(e) || (e as number) < 1 || (e as number) > MAX_ELEM_SIZE)) {
      throw new InvalidArgumentError(`PVector.create: elemSize ${shown(e)} must be an integer in [1, ${MAX_ELEM_SIZE}] (or omitted for byte strings)`);
    }
    const elemSize = (e as number | undefined) ?? 0;
    const off = mutate(pool, KIND, 0, (c) => c.vecCreate(elemSize), (_a, out) => out[0]);
    return new PVector(pool, off, elemSize);
  }

  /** The vector whose header is at `offset`; NotAContainerError if there is none. */
  static open(pool: Pool, offset: number): PVector {
    accessOf(pool, 'PVector.open');
    const off = offsetArg(pool, offset, KIND);
    const out = query(pool, KIND, off, (c) => c.vecInfo(off));
    return new PVector(pool, off, out[0]);
  }

  private info(): Uint32Array { return query(this.pool, KIND, this.offset, (c) => c.vecInfo(this.offset)); }

  /** Number of elements. */
  get length(): number { return this.info()[1]; }
  /** Elements the data object holds before the next push reallocates it. */
  get capacity(): number { return this.info()[2]; }

  /** An index argument: an integer in [0, limit). */
  private index(i: unknown, limit: number, what: string): number {
    if (!Number.isSafeInteger(i) || (i as number) < 0 || (i as number) >= limit) {
      throw new InvalidArgumentError(`${what}: index ${shown(i)} is out of range (the vector has ${this.length} elements)`);
    }
    return i as number;
  }

  /** A value argument: a Uint8Array, of exactly elemSize bytes for a fixed vector. */
  private value(v: unknown, what: string): Uint8Array {
    const bytes = bytesArg(v);
    if (this.elemSize !== 0 && bytes.length !== this.elemSize) {
      throw new InvalidArgumentError(`${what}: elements of this vector are ${this.elemSize} bytes, not ${bytes.length}`);
    }
    return bytes;
  }

  /** A copy of element `i` (an integer in [0, length)). */
  get(i: number): Uint8Array {
    const idx = this.index(i, this.length, 'PVector.get');
    const a = accessOf(this.pool, 'PVector.get');
    const out = query(this.pool, KIND, this.offset, (c) => c.vecAt(this.offset, idx));
    return readPool(a, out[0], out[1]);
  }

  /** Replace element `i` by `value`. */
  set(i: number, value: Uint8Array): void {
    const idx = this.index(i, this.length, 'PVector.set');
    const v = this.value(value, 'PVector.set');
    mutate(this.pool, KIND, this.offset, (c) => c.vecSet(this.offset, idx, v.length), (a, out) => writePool(a, out[0], v));
  }

  /** Append `value`; returns the new length. Amortised O(1): a full data object doubles. */
  push(value: Uint8Array): number {
    const v = this.value(value, 'PVector.push');
    mutate(this.pool, KIND, this.offset, (c) => c.vecPush(this.offset, v.length), (a, out) => writePool(a, out[0], v));
    return this.length;
  }

  /** Remove the last element and return it (undefined, and nothing changed, when empty). */
  pop(): Uint8Array | undefined {
    const n = this.length;
    if (n === 0) return undefined;
    const last = this.get(n - 1);
    this.truncate(n - 1);
    return last;
  }

  /** Keep the first `n` elements (an integer in [0, length]); the capacity stays. */
  truncate(n: number): void {
    const keep = this.index(n, this.length + 1, 'PVector.truncate');
    mutate(this.pool, KIND, this.offset, (c) => c.vecTruncate(this.offset, keep), () => undefined);
  }

  /** Free the vector and all its elements; the offset (and every PVector naming it) is dead afterwards. */
  free(): void {
    mutate(this.pool, KIND, this.offset, (c) => c.vecFree(this.offset), () => undefined);
  }

  /** Check the vector's invariants deeply (every element object); CorruptHeapError names the first bad word. */
  verify(): void {
    query(this.pool, KIND, this.offset, (c) => c.vecVerify(this.offset));
  }

  /** Copies of the elements in order; the length is read at every step, so the vector may change meanwhile. */
  *[Symbol.iterator](): IterableIterator<Uint8Array> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }
}
