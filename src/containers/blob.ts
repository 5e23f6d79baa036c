// containers/blob.ts — PBlob: a persistent byte string, replaceable as a
// whole, whose offset never changes.
//
// A 16-byte header names a data object of exactly the string's length
// (none when empty); assembly/containers/blob.ts draws it. create and
// replace are one transaction each (or part of the caller's pool.tx()), so
// after a crash a blob holds its old bytes or its new ones, never a mix; a
// refused call leaves it as it was (op.ts).

import type { Pool } from '../pool.js';
import { accessOf, bytesArg, mutate, offsetArg, query, readPool, writePool } from './op.js';

const KIND = 'blob';

export class PBlob {
  /** The pool the blob lives in. */
  readonly pool: Pool;
  /** Pool offset of the blob's header: what open() takes back. */
  readonly offset: number;

  private constructor(pool: Pool, offset: number) {
    this.pool = pool;
    this.offset = offset;
  }

  /** A new blob holding a copy of `bytes` (a Uint8Array, possibly empty). */
  static create(pool: Pool, bytes: Uint8Array): PBlob {
    accessOf(pool, 'PBlob.create');
    const v = bytesArg(bytes);
    const off = mutate(pool, KIND, 0, (c) => c.blobCreate(v.length), (a, out) => { writePool(a, out[1], v); return out[0]; });
    return new PBlob(pool, off);
  }

  /** The blob whose header is at `offset`; NotAContainerError if there is none. */
  static open(pool: Pool, offset: number): PBlob {
    accessOf(pool, 'PBlob.open');
    const off = offsetArg(pool, offset, KIND);
    query(pool, KIND, off, (c) => c.blobInfo(off));
    return new PBlob(pool, off);
  }

  /** Its length in bytes. */
  get length(): number {
    return query(this.pool, KIND, this.offset, (c) => c.blobInfo(this.offset))[1];
  }

  /** A copy of its bytes. */
  read(): Uint8Array {
    const a = accessOf(this.pool, 'PBlob.read');
    const out = query(this.pool, KIND, this.offset, (c) => c.blobInfo(this.offset));
    return readPool(a, out[0], out[1]);
  }

  /** Replace its bytes by a copy of `bytes`, atomically. */
  replace(bytes: Uint8Array): void {
    const v = bytesArg(bytes);
    mutate(this.pool, KIND, this.offset, (c) => c.blobReplace(this.offset, v.length), (a, out) => writePool(a, out[0], v));
  }

  /** Free the blob; its offset is dead afterwards. */
  free(): void {
    mutate(this.pool, KIND, this.offset, (c) => c.blobFree(this.offset), () => undefined);
  }

  /** Check the header against its data object; CorruptHeapError if they disagree. */
  verify(): void {
    query(this.pool, KIND, this.offset, (c) => c.blobVerify(this.offset));
  }
}
