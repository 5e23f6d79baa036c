// mutants.ts — pool-file fuzzing (test/fuzz.test.ts): one mutation of a pool
// image, its spec string, and the verdict on opening it.
//
//   Mutant        a byte xor'd or set, a bit flipped, a 64-byte line zeroed,
//                 or the image truncated; named by a spec like A:bit@0x1008:3
//   contentsOf    what a user can see of a pool: root word, live objects
//   MutantRunner  opens mutants in one recycled memory pool and classifies
//                 them: refused / detected / harmless, or a failure (silent
//                 loss, written on refusal, raw exception, trap; the worker's
//                 parent adds hang)
//
// Invariants: parseMutant(mutantSpec(m)) equals m; after every run() the
// runner's working copy of each image equals its base again; no exception
// escapes run() — each one is a verdict.
//
// Imports only src/ (no vitest): test/helpers/fuzz-worker.ts bundles it.

import { Pool, PheapError } from '../../src/index.js';

export const IMAGE_NAMES = ['A', 'B'] as const;
export type ImageName = typeof IMAGE_NAMES[number];
export const MUTATION_KINDS = ['xor', 'set', 'bit', 'zero', 'trunc'] as const;
export type MutationKind = typeof MUTATION_KINDS[number];

/**
 * One mutation of a base image. `at` is the byte (xor, set, bit), the line's
 * first byte (zero) or the new length (trunc); `arg` the xor mask, the value
 * set, or the bit number (0 otherwise).
 */
export interface Mutant { image: ImageName; kind: MutationKind; at: number; arg: number }

/** The cache line: the unit zeroed by a 'zero' mutant. */
export const LINE = 64;
/** The root word's offset in the header page (docs/format.md); its low u32 is the root's offset. */
const ROOT_WORD = 0x108;

const hex = (v: number) => `0x${v.toString(16)}`;

// ─── specs ────────────────────────────────────────────────────────────────

/** `A:bit@0x1008:3` — image, kind, offset (or length), argument. */
export function mutantSpec(m: Mutant): string {
  return `${m.image}:${m.kind}@${hex(m.at)}:${m.arg}`;
}

/** The mutant a spec names; throws on a malformed spec. */
export function parseMutant(spec: string): Mutant {
  const match = /^([AB]):(xor|set|bit|zero|trunc)@0x([0-9a-f]+):(\d+)$/.exec(spec.trim());
  if (!match) throw new Error(`not a mutant spec: "${spec}" (want e.g. A:bit@0x1008:3)`);
  return { image: match[1] as ImageName, kind: match[2] as MutationKind, at: parseInt(match[3], 16), arg: Number(match[4]) };
}

/** Mutants as 4 int32 each (image, kind, at, arg), to hand to a worker. */
export function encodeMutants(ms: Mutant[]): Int32Array {
  const out = new Int32Array(4 * ms.length);
  ms.forEach((m, i) => out.set([IMAGE_NAMES.indexOf(m.image), MUTATION_KINDS.indexOf(m.kind), m.at, m.arg], 4 * i));
  return out;
}

/** Mutant `i` of an encodeMutants() array. */
export function decodeMutant(codes: Int32Array, i: number): Mutant {
  return { image: IMAGE_NAMES[codes[4 * i]], kind: MUTATION_KINDS[codes[4 * i + 1]], at: codes[4 * i + 2], arg: codes[4 * i + 3] };
}

// ─── applying ─────────────────────────────────────────────────────────────

function mutatedByte(b: number, m: Mutant): number {
  if (m.kind === 'xor') return b ^ m.arg;
  if (m.kind === 'set') return m.arg;
  return b ^ (1 << m.arg);
}

/** Apply `m` in place to `work` (a copy of its base); returns the bytes to open (a prefix, for trunc). */
export function applyMutant(work: Uint8Array, m: Mutant): Uint8Array {
  if (m.kind === 'trunc') return work.subarray(0, m.at);
  if (m.kind === 'zero') work.fill(0, m.at, m.at + LINE);
  else work[m.at] = mutatedByte(work[m.at], m);
  return work;
}

/** A fresh copy of the mutant's bytes. */
export function mutantImage(base: Uint8Array, m: Mutant): Uint8Array {
  return applyMutant(base.slice(), m).slice();
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

/** Is `work` still exactly base + m? Puts base's bytes back at m's place either way. */
function stillTheMutant(work: Uint8Array, base: Uint8Array, m: Mutant): boolean {
  let intact = true;
  if (m.kind === 'zero') {
    intact = work.subarray(m.at, m.at + LINE).every((b) => b === 0);
    work.set(base.subarray(m.at, m.at + LINE), m.at);
  } else if (m.kind !== 'trunc') {
    intact = work[m.at] === mutatedByte(base[m.at], m);
    work[m.at] = base[m.at];
  }
  return same(work, base) && intact;
}

// ─── logical contents ─────────────────────────────────────────────────────

export interface LiveObject { off: number; type: number; size: number; bytes: Uint8Array }
/** What a user can see: the root word and every live object (offset, type, size, payload), in address order. */
export interface Contents { root: number; objects: LiveObject[] }

export function contentsOf(pool: Pool): Contents {
  const objects = [...pool.objects()].map((off) => {
    const size = pool.sizeOf(off);
    return { off, type: pool.typeOf(off), size, bytes: pool.readBytes(off, size) };
  });
  return { root: pool.readU32(ROOT_WORD), objects };
}

const describe = (o: LiveObject) => `object ${hex(o.off)} (type ${hex(o.type)}, ${o.size} B)`;

function objectDiff(pool: Pool, want: LiveObject): string | null {
  const type = pool.typeOf(want.off);
  if (type !== want.type) return `type changed: ${describe(want)} now has type ${hex(type)}`;
  const size = pool.sizeOf(want.off);
  if (size !== want.size) return `size changed: ${describe(want)} now has size ${size}`;
  const bytes = pool.readBytes(want.off, size);
  if (same(bytes, want.bytes)) return null;
  const at = bytes.findIndex((b, i) => b !== want.bytes[i]);
  return `payload changed: ${describe(want)}, byte +${at} ${hex(want.bytes[at])} -> ${hex(bytes[at])}`;
}

/**
 * The first difference between the pool's contents and `want`, or null when
 * they are equal. It starts with its kind: "root word changed", "object
 * gone", "object appeared", "type changed", "size changed", "payload changed".
 */
export function contentsDiff(pool: Pool, want: Contents): string | null {
  const root = pool.readU32(ROOT_WORD);
  if (root !== want.root) return `root word changed: ${hex(want.root)} -> ${hex(root)}`;
  let i = 0;
  for (const off of pool.objects()) {
    const w = want.objects[i];
    if (w === undefined || off < w.off) return `object appeared: ${hex(off)} (type ${hex(pool.typeOf(off))}, ${pool.sizeOf(off)} B)`;
    if (off > w.off) return `object gone: ${describe(w)}`;
    const d = objectDiff(pool, w);
    if (d !== null) return d;
    i++;
  }
  return i < want.objects.length ? `object gone: ${describe(want.objects[i])}` : null;
}

// ─── verdicts ─────────────────────────────────────────────────────────────

/** Good outcomes first; every outcome from 'silent loss' on is a failure. */
export const OUTCOMES = ['refused', 'detected', 'harmless', 'silent loss', 'written on refusal', 'raw exception', 'trap', 'hang'] as const;
export type Outcome = typeof OUTCOMES[number];
export const isFailure = (o: Outcome): boolean => OUTCOMES.indexOf(o) >= OUTCOMES.indexOf('silent loss');

/** An outcome and what it rests on: the error's class, what differs, or the raw error's text. */
export interface Verdict { outcome: Outcome; detail: string }

function rawVerdict(e: unknown): Verdict {
  const outcome = e instanceof WebAssembly.RuntimeError ? 'trap' : 'raw exception';
  return { outcome, detail: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
}

/**
 * Opens mutants of base images in one recycled memory pool. A base's original
 * contents are what opening it unmutated yields (for a crash image: after its
 * recovery); `expected` holds them.
 */
export class MutantRunner {
  readonly expected = new Map<ImageName, Contents>();
  private readonly work = new Map<ImageName, Uint8Array>();
  /** A closed pool whose memory and core the next open reuses. */
  private shell: Pool;

  /** Opens every base once (it must open and pass check()). All bases must have one size. */
  constructor(private readonly bases: Map<ImageName, Uint8Array>, private readonly layout: string, private readonly debug: boolean) {
    let shell: Pool | undefined;
    for (const [name, base] of bases) {
      this.work.set(name, base.slice());
      shell = Pool.open({ image: base.slice(), layout, debug, recycle: shell });
      shell.check();
      this.expected.set(name, contentsOf(shell));
      shell.close();
    }
    if (!shell) throw new Error('MutantRunner needs at least one base image');
    this.shell = shell;
  }

  /** A new shell with a fresh core (after a raw error the old instance may be half-updated). */
  private freshShell(): void {
    const [base] = this.bases.values();
    this.shell = Pool.open({ image: base.slice(), layout: this.layout, debug: this.debug });
    this.shell.close();
  }

  /** Open base + m, check it, compare its contents with the base's. */
  run(m: Mutant): Verdict {
    const base = this.bases.get(m.image)!;
    const work = this.work.get(m.image)!;
    let pool: Pool;
    try {
      pool = Pool.open({ image: applyMutant(work, m), layout: this.layout, debug: this.debug, recycle: this.shell });
    } catch (e) {
      return this.refused(e, work, base, m);
    }
    this.shell = pool;
    try {
      return this.judge(pool, this.expected.get(m.image)!);
    } finally {
      pool.close();
      work.set(base);
    }
  }

  private refused(e: unknown, work: Uint8Array, base: Uint8Array, m: Mutant): Verdict {
    // A recycled open that fails leaves the shell marked open: close it so the next open can recycle it.
    this.shell.close();
    if (!(e instanceof PheapError)) return this.raw(e, work, base);
    if (stillTheMutant(work, base, m)) return { outcome: 'refused', detail: e.name };
    work.set(base);
    return { outcome: 'written on refusal', detail: `${e.name}, after writing to the image` };
  }

  private raw(e: unknown, work: Uint8Array, base: Uint8Array): Verdict {
    this.freshShell();
    work.set(base);
    return rawVerdict(e);
  }

  private judge(pool: Pool, expected: Contents): Verdict {
    let stage = 'check()';
    try {
      pool.check();
      stage = 'reading the contents';
      const diff = contentsDiff(pool, expected);
      return diff === null ? { outcome: 'harmless', detail: '' } : { outcome: 'silent loss', detail: diff };
    } catch (e) {
      if (!(e instanceof PheapError)) {
        this.freshShell();
        return rawVerdict(e);
      }
      if (stage === 'check()') return { outcome: 'detected', detail: e.name };
      return { outcome: 'silent loss', detail: `contents unreadable: check() passed, then ${stage} threw ${e.name}: ${e.message}` };
    }
  }
}
