// model.ts — the reference model of a pool for the torture test.
//
// Owns what a pool must hold after a sequence of successful operations: every
// live object (offset → type, size, whether it was asked 64-byte aligned, and
// its payload bytes with a mask of which bytes are known — allocations
// without `zero` hold whatever the space held), the root's offset and the
// directory object's offset (the object whose u32 slots `into` / `from`
// point at; its slots are ordinary payload bytes here).
//
// Invariants: the model changes only through the methods below, each the
// effect of one operation the pool reported as done; `problems(pool)` is
// empty iff the pool's live objects, their types, sizes, alignment, usable
// sizes and known bytes equal the model's, no two objects overlap, the root
// word agrees and pool.check() passes. The model never reads the pool
// except in `problems` / `adopt`.

import type { Pool } from '../../src/pool.js';

/** Type number the core reports for the root object. */
export const TYPE_ROOT = 0xffff_0001;
/** Mask byte of a known payload byte (all ones, so words of the mask can mask words of bytes). */
export const KNOWN = 0xff;

export interface ModelObject {
  type: number;
  align64: boolean;
  /** Expected payload (length = the object's size). */
  bytes: Uint8Array;
  /** KNOWN where `bytes` is known, 0 where the payload may hold anything. */
  known: Uint8Array;
  /** Index of the operation that made it (or last moved it); -1 for set-up. */
  born: number;
}

export class Model {
  readonly objects = new Map<number, ModelObject>();
  rootOff = 0;
  dirOff = 0;
  /** Objects only this model refers to, which it may change in place (the others are shared with clones). */
  private owned = new Set<ModelObject>();

  /** A copy; objects are shared until either side writes them (copy on write). */
  clone(): Model {
    const m = new Model();
    for (const [off, o] of this.objects) m.objects.set(off, o);
    m.rootOff = this.rootOff;
    m.dirOff = this.dirOff;
    this.owned.clear();
    return m;
  }

  /** Make `to` hold exactly what `from` holds (from is not used afterwards). */
  static assign(to: Model, from: Model): void {
    to.objects.clear();
    for (const [off, o] of from.objects) to.objects.set(off, o);
    to.rootOff = from.rootOff;
    to.dirOff = from.dirOff;
    to.owned = from.owned;
  }

  private set(off: number, o: ModelObject): void {
    this.objects.set(off, o);
    this.owned.add(o);
  }

  /** The object at `base`, made private to this model. */
  private own(base: number): ModelObject {
    const o = this.objects.get(base)!;
    if (this.owned.has(o)) return o;
    const copy = { ...o, bytes: o.bytes.slice(), known: o.known.slice() };
    this.set(base, copy);
    return copy;
  }

  /** A new object made by operation `born`; zeroed payloads are known, others are not. */
  add(off: number, type: number, size: number, zero: boolean, align64: boolean, born: number): void {
    this.set(off, { type, align64, born, bytes: new Uint8Array(size), known: new Uint8Array(size).fill(zero ? KNOWN : 0) });
  }

  remove(off: number): void {
    this.objects.delete(off);
  }

  /** Resize `off` to `size` at `to` (maybe `off` itself) by operation `born`: old bytes kept, new bytes zero. */
  resize(off: number, to: number, size: number, born: number): void {
    const old = this.objects.get(off)!;
    const keep = Math.min(size, old.bytes.length);
    const next: ModelObject = { type: old.type, align64: old.align64, born: to === off ? old.born : born, bytes: new Uint8Array(size), known: new Uint8Array(size).fill(KNOWN) };
    next.bytes.set(old.bytes.subarray(0, keep));
    next.known.set(old.known.subarray(0, keep));
    this.objects.delete(off);
    this.set(to, next);
    if (off === this.rootOff) this.rootOff = to;
    if (off === this.dirOff) this.dirOff = to;
  }

  /** The object holding [off, off+len), with the position of `off` in it. */
  locate(off: number, len: number): { base: number; obj: ModelObject } {
    for (const [base, obj] of this.objects) {
      if (off >= base && off + len <= base + obj.bytes.length) return { base, obj };
    }
    throw new Error(`model: [${off}, +${len}) is not inside one live object`);
  }

  /** Payload bytes stored at `off` (durably, or under a transaction that committed). */
  write(off: number, data: Uint8Array): void {
    const { base } = this.locate(off, data.length);
    const obj = this.own(base);
    obj.bytes.set(data, off - base);
    obj.known.fill(KNOWN, off - base, off - base + data.length);
  }

  writeU32(off: number, v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.write(off, b);
  }

  /** Take the pool's current bytes of [off, off+len) as known (after a crash made them durable). */
  adopt(pool: Pool, off: number, len: number): void {
    this.write(off, pool.readBytes(off, len));
  }

  /** The known value of the u32 at `off`, or undefined. */
  readU32(off: number): number | undefined {
    const { base, obj } = this.locate(off, 4);
    const at = off - base;
    if (!obj.known.subarray(at, at + 4).every((k) => k === KNOWN)) return undefined;
    return new DataView(obj.bytes.buffer).getUint32(at, true);
  }

  /** User objects (neither the root nor the directory), in offset order. */
  userObjects(): number[] {
    return [...this.objects.keys()].filter((o) => o !== this.rootOff && o !== this.dirOff).sort((a, b) => a - b);
  }

  liveBytes(): number {
    let n = 0;
    for (const o of this.objects.values()) n += o.bytes.length;
    return n;
  }

  /**
   * Everything in which `pool` differs from the model, [] when it matches.
   * `skip` is a byte range whose payload is not compared.
   */
  problems(pool: Pool, skip?: { off: number; len: number }): string[] {
    const out: string[] = [];
    const live = liveObjects(pool);
    if (typeof live === 'string') return [live];
    const liveSet = new Set(live);
    for (const [off, o] of this.objects) {
      if (!liveSet.has(off)) out.push(`object ${off} (${o.bytes.length} B${o.align64 ? ', align64' : ''}, made by operation ${o.born}) is missing`);
    }
    for (const off of live) if (!this.objects.has(off)) out.push(`unexpected live object ${off} (type ${pool.typeOf(off)}, size ${pool.sizeOf(off)})`);
    if (out.length > 0) return out;
    for (const [off, o] of this.objects) out.push(...objectProblems(pool, off, o, skip));
    for (let i = 1; i < live.length; i++) {
      if (live[i - 1] + pool.usableSize(live[i - 1]) > live[i]) out.push(`objects ${live[i - 1]} and ${live[i]} overlap`);
    }
    if (pool.root(1) !== this.rootOff) out.push(`root is ${pool.root(1)}, expected ${this.rootOff}`);
    try {
      pool.check();
    } catch (e) {
      out.push(`check(): ${(e as Error).message}`);
    }
    return out;
  }
}

/** pool.objects(), or a problem if it does not walk forward (a cycle would never end). */
function liveObjects(pool: Pool): number[] | string {
  const out: number[] = [];
  for (const off of pool.objects()) {
    if (out.length > 0 && off <= out[out.length - 1]) return `objects() is not in address order: ${off} after ${out[out.length - 1]}`;
    out.push(off);
  }
  return out;
}

function objectProblems(pool: Pool, off: number, o: ModelObject, skip?: { off: number; len: number }): string[] {
  const out: string[] = [];
  const size = o.bytes.length;
  if (pool.typeOf(off) !== o.type) out.push(`object ${off}: type ${pool.typeOf(off)}, expected ${o.type}`);
  if (pool.sizeOf(off) !== size) return [...out, `object ${off}: size ${pool.sizeOf(off)}, expected ${size}`];
  if (pool.usableSize(off) < size) out.push(`object ${off}: usable size ${pool.usableSize(off)} < size ${size}`);
  if (o.align64 && off % 64 !== 0) out.push(`object ${off} was allocated align64 but is not 64-byte aligned`);
  const bad = firstDifference(pool.readBytes(off, size), o, skip ? { from: skip.off - off, to: skip.off + skip.len - off } : undefined);
  if (bad >= 0) out.push(`object ${off} (size ${size}): byte ${bad} differs from what was written`);
  return out;
}

/** First known byte of `o` that `got` does not hold (outside `skip`, object-relative), or -1. Compares 4 bytes at a time. */
function firstDifference(got: Uint8Array, o: ModelObject, skip?: { from: number; to: number }): number {
  const words = got.length >>> 2;
  const g = new Uint32Array(got.buffer, got.byteOffset, words);
  const e = new Uint32Array(o.bytes.buffer, o.bytes.byteOffset, words);
  const k = new Uint32Array(o.known.buffer, o.known.byteOffset, words);
  const skipped = (i: number) => skip !== undefined && i >= skip.from && i < skip.to;
  for (let w = 0; w < words; w++) {
    if (((g[w] ^ e[w]) & k[w]) === 0) continue;
    for (let i = 4 * w; i < 4 * w + 4; i++) if (o.known[i] === KNOWN && got[i] !== o.bytes[i] && !skipped(i)) return i;
  }
  for (let i = 4 * words; i < got.length; i++) if (o.known[i] === KNOWN && got[i] !== o.bytes[i] && !skipped(i)) return i;
  return -1;
}
