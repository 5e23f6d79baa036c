// adversarial.test.ts — programs written from the outside, against the public
// API only, trying what the authors may not have thought of.
//
// Owns: (1) a self-verifying "slot table" workload (a root of SLOTS u32
// pointers, each to an object whose payload names its own tag and length and
// is derived from the tag) driven by seeded random operations — big
// transactions that spill into extension blocks, nested transactions whose
// inner level aborts, publish/realloc with `into`, root growth, reopens with
// `recycle` — crashed at random drains in every mode, then crashed again
// inside the recovery of that crash, up to three times; (2) compound damage
// (bit flips, zeroed lines, swapped words, headers copied over headers,
// truncation, extension) of crash images; (3) objects() walks that free and
// allocate as they go; (4) `recycle` reopening an image exactly like a fresh
// instance does; (5) single operations (root growth, realloc, publish, big
// and huge transactions, nested aborts, persist inside a transaction, free)
// crashed at every drain in every mode; (6) crash() inside a transaction,
// the same allocations aborted, crash() again; (7) bad input the guards let
// through (each a failing test named after its symptom).
//
// Invariants asserted: after any chain of crashes the table equals the state
// before or after the interrupted operation (a publish may also leave the
// slot empty or its object unfilled), every object verifies, no object is
// live that the table does not reference (no leak), no two live objects
// overlap, check() passes and stats().heap.liveObjects === objects().length.
// A damaged image is refused with a PheapError and left byte-identical, or
// opens with check() failing, or opens with the original contents. Every
// random run prints the one line that replays it.

import { describe, expect, it } from 'vitest';
import { CRASH_MODES, LogFullError, OutOfSpaceError, PheapError, Pool, Prng, TxAbortedError, TxTooLargeError, TxStateError, type CrashMode, type Tx } from '../src/index.js';
import { CrashBackend, CrashSignal } from './helpers/crash-backend.js';
import { contentsDiff, contentsOf } from './helpers/mutants.js';

const FILE = 'test/adversarial.test.ts';
const LAYOUT = 'adversarial';
const SIZE = 2 << 20;
const SLOTS = 24;
const TABLE = 4 * SLOTS;
/** A slot's state: 0 empty, -1 published but its tag not yet written, else the tag of its verified object. */
type Slot = number;
const UNFILLED = -1;

/** Payload of the object tagged `tag` with `len` bytes: tag, len, then bytes from Prng(tag). */
function payload(tag: number, len: number): Uint8Array {
  const out = new Prng(`adv-${tag}`).bytes(new Uint8Array(len));
  new DataView(out.buffer).setUint32(0, tag, true);
  new DataView(out.buffer).setUint32(4, len, true);
  return out;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The slot's state as the pool shows it; throws naming the slot if its object does not verify. */
function readSlot(pool: Pool, root: number, i: number): Slot {
  const off = pool.readU32(root + 4 * i);
  if (off === 0) return 0;
  if (!pool.isLive(off)) throw new Error(`slot ${i} points at ${off}, which is not live`);
  const tag = pool.readU32(off);
  if (tag === 0) return UNFILLED; // published, tag not yet written (its body may be partly written)
  const len = pool.readU32(off + 4);
  if (len > pool.sizeOf(off)) throw new Error(`slot ${i}: object ${off} claims ${len} B, has ${pool.sizeOf(off)}`);
  if (!same(pool.readBytes(off, len), payload(tag, len))) throw new Error(`slot ${i}: object ${off} (tag ${tag}) payload differs`);
  if (pool.readBytes(off + len, pool.sizeOf(off) - len).some((b) => b !== 0)) throw new Error(`slot ${i}: grown bytes of ${off} are not zero`);
  return tag;
}

/** Heap-wide invariants: check(), stats agree with objects(), no overlap, no leak. */
function heapProblems(pool: Pool, referenced: number): string | null {
  pool.check();
  const objs = [...pool.objects()];
  const stats = pool.stats();
  if (stats.heap.liveObjects !== objs.length) return `stats says ${stats.heap.liveObjects} live objects, objects() yields ${objs.length}`;
  for (let k = 1; k < objs.length; k++) {
    if (objs[k - 1] + pool.usableSize(objs[k - 1]) > objs[k] - 16) return `objects ${objs[k - 1]} and ${objs[k]} overlap`;
  }
  if (objs.length !== referenced + 1) return `${objs.length} live objects, but the root references ${referenced} (+ the root): leak or loss`;
  return null;
}

/** The table's state, after checking every heap invariant. */
function readState(pool: Pool): Slot[] {
  const root = pool.root(TABLE);
  const state = Array.from({ length: SLOTS }, (_, i) => readSlot(pool, root, i));
  const ptrs = state.map((_, i) => pool.readU32(root + 4 * i)).filter((p) => p !== 0);
  if (new Set(ptrs).size !== ptrs.length) throw new Error('two slots point at one object');
  const problem = heapProblems(pool, ptrs.length);
  if (problem) throw new Error(problem);
  return state;
}

/** One random operation on the table; returns the slots it may leave in an in-between state (publish). */
interface Op { name: string; run(pool: Pool): void; loose: number[] }

const EXPECTED = [OutOfSpaceError, LogFullError, TxTooLargeError, TxAbortedError];
const expected = (e: unknown) => EXPECTED.some((c) => e instanceof c);

/** The random choices of one operation: drawn afresh on every run, so replaying it on a copy of the pool gives the same result. */
class Draws {
  readonly rng: Prng;
  private tag: number;
  constructor(seed: string, k: number) { this.rng = new Prng(`${seed}/op${k}`); this.tag = k * 1000 + 1; }

  size(): number {
    const r = this.rng.below(20);
    if (r === 0) return 65536 + this.rng.below(40000); // large
    if (r < 4) return 2000 + this.rng.below(20000);
    return 8 + this.rng.below(400);
  }

  nextTag(): number { return this.tag++; }
}

/** Put a fresh object in slot i of the table at `root` inside tx (snapshotting its bytes, so big ones spill into extension blocks). */
function put(pool: Pool, tx: Tx, d: Draws, root: number, i: number): void {
  const tag = d.nextTag();
  const len = d.size();
  const off = tx.alloc(len, { type: 1 + (tag % 3) });
  tx.setBytes(off, payload(tag, len));
  const old = pool.readU32(root + 4 * i);
  tx.setU32(root + 4 * i, off);
  if (old !== 0) tx.free(old);
}

/** Like put, but the object is 30–50 KB: two of them outgrow the fixed undo log (56 KiB in a 2 MiB pool), so the transaction needs extension blocks. */
function hugePut(pool: Pool, tx: Tx, d: Draws, root: number, i: number): void {
  const tag = d.nextTag();
  const len = 30000 + d.rng.below(20000);
  const off = tx.alloc(len, { type: 1 });
  tx.setBytes(off, payload(tag, len));
  const old = pool.readU32(root + 4 * i);
  tx.setU32(root + 4 * i, off);
  if (old !== 0) tx.free(old);
  tx.setBytes(root + TABLE - 64, new Uint8Array(0)); // an empty range: harmless, and a corner case
}

/** Outside a transaction: free the old object (clearing the slot), publish a zeroed one, fill it, then write its tag. */
function publish(pool: Pool, d: Draws, i: number): void {
  const root = pool.root(TABLE);
  const at = root + 4 * i;
  const old = pool.readU32(at);
  if (old !== 0) pool.free(old, { from: at });
  const tag = d.nextTag();
  const len = d.size();
  const off = pool.alloc(len, { zero: true, into: at });
  const bytes = payload(tag, len);
  pool.writeBytes(off + 4, bytes.subarray(4)); pool.persist(off + 4, len - 4);
  pool.writeU32(off, tag); pool.persist(off, 4);
}

/** Grow slot i's object with realloc, publishing the new offset into the slot. */
function grow(pool: Pool, d: Draws, i: number): void {
  const root = pool.root(TABLE);
  const off = pool.readU32(root + 4 * i);
  if (off !== 0) pool.realloc(off, pool.sizeOf(off) + 1 + d.rng.below(5000), { into: root + 4 * i });
}

/** A nested transaction whose inner level drains and aborts; the outer one goes on and must be refused. */
function nested(pool: Pool, d: Draws, i: number, j: number): void {
  const root = pool.root(TABLE);
  pool.tx((tx) => {
    put(pool, tx, d, root, i);
    try {
      pool.tx((inner) => { put(pool, inner, d, root, j); pool.drain(); throw new Error('inner abort'); });
    } catch (e) { if (!(e instanceof Error) || e.message !== 'inner abort') throw e; }
    put(pool, tx, d, root, j); // the whole transaction was aborted: this is refused (TxAbortedError)
  });
}

/** Operation k of a seed: a name, what it does (deterministic given the pool), and the slots it may leave half-done. */
interface Op { name: string; run(pool: Pool): void; loose: number[] }

function opOf(seed: string, k: number): Op {
  const c = new Prng(`${seed}/choose${k}`);
  const i = c.below(SLOTS), j = c.below(SLOTS);
  const r = c.below(11);
  const many = [...new Set(Array.from({ length: 4 + c.below(10) }, () => c.below(SLOTS)))];
  const op = (name: string, run: (p: Pool, d: Draws) => void, loose: number[] = []): Op => ({ name, loose, run: (p) => run(p, new Draws(seed, k)) });
  if (r < 3) return op(`put ${i}`, (p, d) => { const root = p.root(TABLE); p.tx((tx) => put(p, tx, d, root, i)); });
  if (r === 3) return op(`big tx ${many}`, (p, d) => { const root = p.root(TABLE); p.tx((tx) => { for (const s of many) put(p, tx, d, root, s); }); });
  if (r === 4) return op(`nested ${i}/${j}, inner aborts`, (p, d) => nested(p, d, i, j));
  if (r === 5) return op(`publish ${i}`, (p, d) => publish(p, d, i), [i]);
  if (r === 6) return op(`realloc ${i}`, (p, d) => grow(p, d, i));
  if (r === 7) return op(`free ${i}`, (p) => { const at = p.root(TABLE) + 4 * i; const o = p.readU32(at); if (o) p.free(o, { from: at }); });
  if (r === 8) return op(`persist in tx ${i}`, (p, d) => { const root = p.root(TABLE); p.tx((tx) => { put(p, tx, d, root, i); p.persist(root, TABLE); }); });
  if (r === 10) return op(`huge tx ${i}/${j}`, (p, d) => { const root = p.root(TABLE); p.tx((tx) => { hugePut(p, tx, d, root, i); hugePut(p, tx, d, root, j); }); });
  return op('root grow', (p, d) => { p.root(p.usableSize(p.root(TABLE)) + 1 + d.rng.below(3000)); });
}

function fresh(seed: string): { pool: Pool; backend: CrashBackend } {
  const backend = new CrashBackend(SIZE);
  const pool = Pool.create({ backend, size: SIZE, maxSize: SIZE, layout: LAYOUT, seed, debug: true });
  pool.root(TABLE);
  return { pool, backend };
}

/** Reopen `image`, crashing inside recovery up to `depth` more times; returns the recovered pool and the crash chain. */
function recoverChain(image: Uint8Array, rng: Prng, depth: number, recycle?: Pool): { pool: Pool; backend: CrashBackend; chain: string[] } {
  const chain: string[] = [];
  for (;;) {
    const backend = new CrashBackend(SIZE, image);
    if (chain.length < depth && rng.coin()) {
      const plan = { countdown: rng.below(4), mode: CRASH_MODES[rng.below(CRASH_MODES.length)], seed: rng.next() };
      backend.arm(plan);
      chain.push(`in recovery @${plan.countdown}:${plan.mode}:${plan.seed}`);
    }
    try {
      const pool = Pool.open({ backend, layout: LAYOUT, debug: true, recycle });
      backend.arm(null);
      return { pool, backend, chain };
    } catch (e) {
      if (!(e instanceof CrashSignal)) throw e;
      image = e.image;
    }
  }
}

/** The table after running `op` on a copy of `image` without crashing (and whether the op changed any durable byte). */
function stateAfter(image: Uint8Array, op: Op): Slot[] & { changed?: boolean } {
  const pool = Pool.open({ image: image.slice(), layout: LAYOUT, debug: true });
  const opened = pool.durableImage(); // opening itself writes (seq, open count)
  try { op.run(pool); } catch (e) { if (!expected(e)) throw e; }
  const s: Slot[] & { changed?: boolean } = readState(pool);
  s.changed = !same(pool.durableImage(), opened);
  pool.close();
  return s;
}

function matches(got: Slot[], before: Slot[], after: Slot[], loose: number[]): boolean {
  if (loose.length === 0) return got.every((v, i) => v === before[i]) || got.every((v, i) => v === after[i]);
  return got.every((v, i) => v === before[i] || v === after[i] || (loose.includes(i) && (v === 0 || v === UNFILLED)));
}

/** One seeded run of `ops` operations with crashes (and crashes inside their recovery); throws naming the step. */
function runChain(seed: string, ops: number): { crashes: number; recoveryCrashes: number } {
  const rng = new Prng(`${seed}/crash`);
  let { pool, backend } = fresh(seed);
  let state = readState(pool);
  let crashes = 0, recoveryCrashes = 0;
  for (let k = 0; k < ops; k++) {
    const op = opOf(seed, k);
    const plan = { countdown: rng.below(12), mode: CRASH_MODES[rng.below(CRASH_MODES.length)] as CrashMode, seed: rng.next() };
    const crashing = rng.below(3) === 0;
    const where = `seed ${seed}, op ${k} (${op.name})${crashing ? `, crash @${plan.countdown}:${plan.mode}:${plan.seed}` : ''}`;
    const pre = backend.durableImage();
    if (crashing) backend.arm(plan);
    const p = pool;
    backend.onCrash = () => p.close();
    let signal: CrashSignal | null = null;
    try { op.run(pool); } catch (e) {
      if (e instanceof CrashSignal) signal = e;
      else if (!expected(e)) throw new Error(`${where}: ${String(e)}`);
    }
    backend.arm(null);
    if (signal === null) {
      try { state = readState(pool); } catch (e) { throw new Error(`${where}, no crash: ${String(e)}`); }
      if (rng.below(8) === 0) {
        pool.close();
        ({ pool, backend } = recoverChain(backend.durableImage(), rng, 0, pool));
        expect(readState(pool), `${where}: clean reopen`).toEqual(state);
      }
      continue;
    }
    crashes++;
    const r = recoverChain(signal.image, rng, 3, pool);
    recoveryCrashes += r.chain.length;
    ({ pool, backend } = r);
    const desc = `${where}${r.chain.length ? `, then ${r.chain.join(', ')}` : ''}`;
    let got: Slot[];
    try { got = readState(pool); } catch (e) { throw new Error(`${desc}: ${String(e)}`); }
    const after = stateAfter(pre, op);
    if (!matches(got, state, after, op.loose)) throw new Error(`${desc}: table ${JSON.stringify(got)} is neither before ${JSON.stringify(state)} nor after ${JSON.stringify(after)}`);
    state = got;
  }
  pool.close();
  return { crashes, recoveryCrashes };
}

describe('crash chains: crash at a random drain, then again inside recovery (seeded)', () => {
  for (const seed of Array.from({ length: 12 }, (_, n) => `adv-${n}`)) {
    it(`the slot table survives every chain (${seed})`, () => {
      console.log(`replay: npx vitest run ${FILE} -t '${seed}'`);
      const { crashes, recoveryCrashes } = runChain(seed, 60);
      console.log(`${seed}: ${crashes} crashes, ${recoveryCrashes} crashes inside recovery`);
      expect(crashes).toBeGreaterThan(0);
    }, 60_000);
  }
});

// ─── compound damage of pools in interesting states ────────────────────────

const CHUNK = 65536;

/**
 * Run `seed`'s operations without crashing up to the first one at or after
 * `from` whose name starts with `kind`, then crash in it at drain `at`
 * (mode `mode`): that crash image, or with `at` past the op's drains the
 * durable image after it. Returns the image and the op's name.
 */
function imageMidOp(seed: string, from: number, kind: string, at: number, mode: CrashMode): { image: Uint8Array; op: string; crashed: boolean } {
  const { pool, backend } = fresh(seed);
  let k = 0;
  for (; k < from || !opOf(seed, k).name.startsWith(kind); k++) { try { opOf(seed, k).run(pool); } catch (e) { if (!expected(e)) throw e; } }
  backend.arm({ countdown: at, mode, seed: at });
  backend.onCrash = () => pool.close();
  const op = `op ${k} (${opOf(seed, k).name})`;
  try { opOf(seed, k).run(pool); } catch (e) { if (e instanceof CrashSignal) return { image: e.image, op, crashed: true }; if (!expected(e)) throw e; }
  backend.arm(null);
  const image = backend.durableImage();
  pool.close();
  return { image, op, crashed: false };
}

/**
 * Offsets worth damaging: the header, the log (its 64-byte header, and with
 * `entries` the first 2 KiB of entries), the chunk table, run bitmaps and
 * every live object's header. Entries are left out of crash images whose
 * mode lets caches write lines back (evict, tear8): there, damage to an
 * uncounted entry is documented as undetectable (docs/format.md, "What
 * cannot be detected").
 */
function metadataTargets(pool: Pool, image: Uint8Array, entries: boolean): { bytes: number[]; headers: number[] } {
  const dv = new DataView(image.buffer, image.byteOffset);
  const bytes: number[] = [];
  const range = (a: number, n: number) => { for (let b = a; b < a + n; b++) bytes.push(b); };
  range(0, 0x118); // the header's checked fields and its three state words
  const { logOffset, heapOffset } = pool.layoutInfo();
  range(logOffset, entries ? 2048 : 64);
  range(dv.getUint32(0x30, true), 8 * dv.getUint32(0x34, true));
  const headers = [...pool.objects()];
  for (const off of headers) range(off - 16, 16);
  for (const c of new Set(headers.map((o) => Math.floor((o - heapOffset) / CHUNK)))) range(heapOffset + c * CHUNK, 512);
  return { bytes, headers };
}

/** The undo log's link word (first extension block) in an image. */
function linkWord(image: Uint8Array): number {
  const dv = new DataView(image.buffer, image.byteOffset);
  return dv.getUint32(dv.getUint32(0x38, true) + 8, true);
}

type Damage = (img: Uint8Array, rng: Prng) => string;

function damages(t: { bytes: number[]; headers: number[] }): Damage[] {
  const pick = (rng: Prng) => t.bytes[rng.below(t.bytes.length)];
  const word = (rng: Prng) => pick(rng) & ~7;
  return [
    (img, rng) => { const b = pick(rng), bit = rng.below(8); img[b] ^= 1 << bit; return `bit ${bit} @${b}`; },
    (img, rng) => { const w = word(rng); img.fill(0, w, w + 8); return `zero word @${w}`; },
    (img, rng) => { const l = pick(rng) & ~63; img.fill(0, l, l + 64); return `zero line @${l}`; },
    (img, rng) => { const a = word(rng), b = word(rng); const x = img.slice(a, a + 8); img.copyWithin(a, b, b + 8); img.set(x, b); return `swap words @${a} @${b}`; },
    (img, rng) => {
      if (t.headers.length < 2) return 'no headers to copy';
      const a = t.headers[rng.below(t.headers.length)], b = t.headers[rng.below(t.headers.length)];
      img.copyWithin(b - 16, a - 16, a); return `copy header of ${a} over ${b}`;
    },
    (img, rng) => { const a = word(rng), b = word(rng); img.set(img.slice(a, a + 8), b); return `copy word @${a} to @${b}`; },
  ];
}

/** Offsets handed out (and their usable spans) must not overlap each other or the original's objects. */
function overlapOf(spans: Array<[number, number]>): string | null {
  const s = [...spans].sort((x, y) => x[0] - y[0]);
  for (let k = 1; k < s.length; k++) if (s[k - 1][1] > s[k][0]) return `[${s[k - 1]}] overlaps [${s[k]}]`;
  return null;
}

/** Open the damaged image and judge it; returns the outcome, throws on a failure. */
function judge(img: Uint8Array, want: ReturnType<typeof contentsOf>, spans: Array<[number, number]>, rng: Prng, what: string): string {
  const before = img.slice();
  let pool: Pool;
  try { pool = Pool.open({ image: img, layout: LAYOUT, debug: true }); } catch (e) {
    if (!(e instanceof PheapError)) throw new Error(`${what}: open threw ${String(e)}, not a PheapError`);
    if (!same(img, before)) throw new Error(`${what}: refused (${e.constructor.name}) but the image was written`);
    return 'refused';
  }
  let outcome = 'harmless';
  try { pool.check(); } catch (e) {
    if (!(e instanceof PheapError)) throw new Error(`${what}: check threw ${String(e)}`);
    outcome = 'detected';
  }
  if (outcome === 'harmless') {
    const diff = contentsDiff(pool, want);
    if (diff !== null) throw new Error(`${what}: opened, check() passed, but ${diff}`);
  }
  const given: Array<[number, number]> = [];
  for (let n = 0; n < 12; n++) {
    try {
      const off = pool.alloc(8 + rng.below(rng.coin() ? 300 : 70000));
      given.push([off - 16, off + pool.usableSize(off)]);
    } catch (e) {
      if (!(e instanceof PheapError)) throw new Error(`${what}: alloc after open threw ${String(e)}`);
    }
  }
  pool.close();
  const overlap = overlapOf([...spans, ...given]);
  if (overlap) throw new Error(`${what} (${outcome}): memory handed out twice: ${overlap}`);
  return outcome;
}

describe('compound damage of crash images and busy pools (seeded)', () => {
  const states: Array<{ name: string; ops: number; kind: string; at: number; mode: CrashMode; linked?: boolean }> = [
    { name: 'mid big tx', ops: 12, kind: 'big tx', at: 3, mode: 'pending' },
    { name: 'mid big tx, late', ops: 20, kind: 'big tx', at: 9, mode: 'evict' },
    { name: 'mid huge tx (extension blocks)', ops: 15, kind: 'huge tx', at: 4, mode: 'pending', linked: true },
    { name: 'mid nested tx, torn', ops: 30, kind: 'nested', at: 2, mode: 'tear8' },
    { name: 'mid persist in tx', ops: 25, kind: 'persist', at: 2, mode: 'pending' },
    { name: 'busy, clean', ops: 45, kind: '', at: 1000, mode: 'strict' },
  ];
  for (const st of states) {
    it(`a damaged image is refused untouched, detected, or harmless; never handed out twice (${st.name})`, () => {
      const seed = `adv-dmg-${st.ops}`;
      console.log(`replay: npx vitest run ${FILE} -t '${st.name}'`);
      let mid = imageMidOp(seed, st.ops, st.kind, st.at, st.mode);
      // with `linked`, crash at a later drain until the log's link word (logOffset + 8, docs/format.md) names an extension block
      for (let at = st.at + 1; st.linked && mid.crashed && linkWord(mid.image) === 0; at++) mid = imageMidOp(seed, st.ops, st.kind, at, st.mode);
      if (st.linked) expect(linkWord(mid.image), 'an extension block is linked').not.toBe(0);
      const { image: base, op, crashed } = mid;
      expect(crashed, `crashed in ${op}`).toBe(st.at < 1000);
      const ref = Pool.open({ image: base.slice(), layout: LAYOUT, debug: true });
      const want = contentsOf(ref);
      const spans = want.objects.map((o): [number, number] => [o.off - 16, o.off + ref.usableSize(o.off)]);
      const targets = metadataTargets(ref, base, !crashed || (st.mode !== 'evict' && st.mode !== 'tear8'));
      ref.close();
      const kinds = damages(targets);
      const tally: Record<string, number> = {};
      const rng = new Prng(seed);
      for (let m = 0; m < 150; m++) {
        const img = base.slice();
        const done = Array.from({ length: 1 + rng.below(3) }, () => kinds[rng.below(kinds.length)](img, rng));
        for (const o of want.objects) img.set(base.subarray(o.off, o.off + o.size), o.off); // payload damage is undetectable by design
        const outcome = judge(img, want, spans, rng, `${seed} ${st.name} mutant ${m}: ${done.join(' + ')}`);
        tally[outcome] = (tally[outcome] ?? 0) + 1;
      }
      for (const len of [base.length - CHUNK, base.length - 64]) {
        const img = new Uint8Array(len); img.set(base.subarray(0, Math.min(len, base.length)));
        const before = img.slice();
        expect(() => Pool.open({ image: img, layout: LAYOUT, debug: true }), `length ${len}`).toThrow(PheapError);
        expect(same(img, before)).toBe(true);
      }
      // A longer image is what a growth interrupted before its commit leaves: it opens at the committed size.
      const longer = new Uint8Array(base.length + CHUNK).fill(0xee); longer.set(base);
      const reopened = Pool.open({ image: longer, layout: LAYOUT, debug: true });
      expect(reopened.size).toBe(base.length);
      reopened.check();
      reopened.close();
      console.log(`${st.name} (${op}): ${JSON.stringify(tally)}`);
      expect(Object.keys(tally).length).toBeGreaterThan(0);
    }, 60_000);
  }
});

// ─── objects() walks that change the heap ───────────────────────────────────

/** A memory pool holding `n` objects of random sizes and types 1..3. */
function populated(rng: Prng, n: number): Pool {
  const pool = Pool.create({ size: 4 * SIZE, maxSize: 4 * SIZE, layout: LAYOUT, seed: rng.next(), debug: true });
  for (let k = 0; k < n; k++) pool.alloc(rng.coin() ? 8 + rng.below(200) : 300 + rng.below(9000), { type: 1 + rng.below(3) });
  return pool;
}

describe('objects() while freeing and allocating (seeded)', () => {
  for (let s = 0; s < 6; s++) {
    it(`every object live at the start and not freed before its turn is yielded once, in order (seed walk-${s})`, () => {
      console.log(`replay: npx vitest run ${FILE} -t 'seed walk-${s}'`);
      const rng = new Prng(`walk-${s}`);
      const pool = populated(rng, 60);
      const type = s % 2 === 0 ? undefined : 1 + rng.below(3);
      const start = new Set([...pool.objects(type)]);
      const freedEarly = new Set<number>();
      const reborn = new Set<number>(); // offsets handed out during the walk: new objects, which the walk may or may not yield
      const yielded: number[] = [];
      for (const off of pool.objects(type)) {
        expect(freedEarly.has(off) && !reborn.has(off), `${off} was freed before the walk reached it`).toBe(false);
        expect(pool.isLive(off)).toBe(true);
        if (type !== undefined) expect(pool.typeOf(off)).toBe(type);
        yielded.push(off);
        const r = rng.below(4);
        if (r === 0) pool.free(off);
        if (r === 1) {
          const ahead = [...start].filter((o) => o > off && !freedEarly.has(o));
          if (ahead.length) { const victim = ahead[rng.below(ahead.length)]; pool.free(victim); freedEarly.add(victim); }
        }
        if (r === 2) reborn.add(pool.alloc(8 + rng.below(2000), { type: 1 + rng.below(3) }));
        if (r === 3 && yielded.length > 1) { const o = yielded[rng.below(yielded.length - 1)]; if (pool.isLive(o)) reborn.add(pool.realloc(o, pool.sizeOf(o) + 1 + rng.below(3000))); }
      }
      for (let k = 1; k < yielded.length; k++) expect(yielded[k], 'ascending').toBeGreaterThan(yielded[k - 1]);
      for (const o of start) if (!freedEarly.has(o)) expect(yielded, `${o} not yielded`).toContain(o);
      pool.check();
      expect(pool.stats().heap.liveObjects).toBe([...pool.objects()].length);
      pool.close();
    });
  }

  it('a walk inside a transaction sees the heap as it was: tx allocations not yielded, tx frees still yielded (seed walk-tx)', () => {
    const rng = new Prng('walk-tx');
    const pool = populated(rng, 40);
    const before = [...pool.objects()];
    const added: number[] = [];
    const seen: number[] = [];
    pool.tx((tx) => {
      for (const off of pool.objects()) {
        seen.push(off);
        if (rng.coin()) tx.free(off);
        if (rng.coin()) added.push(tx.alloc(8 + rng.below(500)));
      }
    });
    expect(seen).toEqual(before);
    for (const a of added) expect(pool.isLive(a)).toBe(true);
    pool.check();
    expect(pool.stats().heap.liveObjects).toBe([...pool.objects()].length);
    pool.close();
  });
});

// ─── recycle ────────────────────────────────────────────────────────────────

describe('Pool.open({ recycle }) behaves exactly like a fresh instance (seeded)', () => {
  it('same contents, same stats, same offsets and bytes for the same later operations (seed recycle)', () => {
    console.log(`replay: npx vitest run ${FILE} -t 'seed recycle'`);
    const images = [12, 20, 30].map((n) => imageMidOp(`adv-rec-${n}`, n, n === 20 ? 'big tx' : '', n === 20 ? 4 : 1000, 'pending').image);
    let old: Pool | undefined;
    for (let round = 0; round < 6; round++) {
      const img = images[round % images.length];
      // evicts: the reused instance is crashed in evict mode below (pmem model)
      const freshPool = Pool.open({ image: img.slice(), layout: LAYOUT, debug: true, evicts: true });
      const reused = Pool.open({ image: img.slice(), layout: LAYOUT, debug: true, recycle: old, evicts: true });
      if (old) expect(reused).toBe(old);
      expect(contentsOf(reused)).toEqual(contentsOf(freshPool));
      expect(reused.stats().heap).toEqual(freshPool.stats().heap);
      const ops = [40, 41, 42, 43].map((k) => opOf(`adv-rec-${round}`, k));
      for (const op of ops) for (const p of [freshPool, reused]) { try { op.run(p); } catch (e) { if (!expected(e)) throw e; } }
      expect(same(reused.durableImage(), freshPool.durableImage()), `round ${round}: images differ after the same operations`).toBe(true);
      freshPool.close();
      // leave the reused instance in an awkward state before it is recycled again: inside a transaction, crashed, or refused
      if (round % 3 === 0) { reused.beginTx(); reused.alloc(100); reused.close(); }
      else if (round % 3 === 1) reused.crash({ mode: 'evict', seed: round }).close();
      else {
        reused.close();
        const bad = img.slice(); bad[0x100] ^= 0xff;
        expect(() => Pool.open({ image: bad, layout: LAYOUT, debug: true, recycle: reused })).toThrow(PheapError);
      }
      old = reused;
    }
  });
});

// ─── one operation crashed at every drain, in every mode ───────────────────

/** Crash `op` (operation k of `seed`, run on the pool after ops 0..k-1) at every drain in every mode, then maybe once more in recovery. */
function everyDrain(seed: string, k: number, needChange: boolean): { op: string; cases: number } | null {
  const { pool: p0, backend: b0 } = fresh(seed);
  for (let j = 0; j < k; j++) { try { opOf(seed, j).run(p0); } catch (e) { if (!expected(e)) throw e; } }
  const pre = b0.durableImage();
  const before = readState(p0);
  p0.close();
  const op = opOf(seed, k);
  const after = stateAfter(pre, op);
  if (needChange && !after.changed) return null;
  const rng = new Prng(`${seed}/every${k}`);
  let cases = 0;
  for (const mode of CRASH_MODES) {
    for (let c = 0; ; c++) {
      const backend = new CrashBackend(SIZE, pre.slice());
      const pool = Pool.open({ backend, layout: LAYOUT, debug: true });
      backend.arm({ countdown: c, mode, seed: c });
      backend.onCrash = () => pool.close();
      let image: Uint8Array | null = null;
      try { op.run(pool); } catch (e) { if (e instanceof CrashSignal) image = e.image; else if (!expected(e)) throw e; }
      if (image === null) { pool.close(); break; }
      cases++;
      const r = recoverChain(image, rng, 1);
      const desc = `seed ${seed}, op ${k} (${op.name}) crashed @${c}:${mode}:${c}${r.chain.length ? `, then ${r.chain.join(', ')}` : ''}`;
      let got: Slot[];
      try { got = readState(r.pool); } catch (e) { throw new Error(`${desc}: ${String(e)}`); }
      if (!matches(got, before, after, op.loose)) throw new Error(`${desc}: table ${JSON.stringify(got)} is neither before ${JSON.stringify(before)} nor after ${JSON.stringify(after)}`);
      r.pool.close();
    }
  }
  return { op: op.name, cases };
}

describe('one operation crashed at every drain in every mode, sometimes again in recovery (seeded)', () => {
  const seed = 'adv-every';
  const wanted = ['root grow', 'realloc', 'publish', 'big tx', 'huge tx', 'nested', 'persist in tx', 'free'];
  for (const kind of wanted) {
    it(`${kind}: both-or-neither at every drain (seed ${seed})`, () => {
      console.log(`replay: npx vitest run ${FILE} -t '${kind}: both-or-neither'`);
      const needChange = kind !== 'nested'; // an aborted transaction changes nothing
      let found: { op: string; cases: number } | null = null;
      for (let k = 8; found === null; k++) if (opOf(seed, k).name.startsWith(kind)) found = everyDrain(seed, k, needChange);
      const { op, cases } = found;
      console.log(`${op}: ${cases} crash cases`);
      expect(cases).toBeGreaterThan(0);
    }, 60_000);
  }
});

// ─── crash() inside transactions, abort, crash again ───────────────────────

describe('crash() inside a transaction, reopen, same allocations aborted, crash again (every mode of both cache models, seeded)', () => {
  const cases = [...CRASH_MODES.map((mode) => ({ mode, evicts: true })), { mode: 'strict' as const, evicts: false }, { mode: 'pending' as const, evicts: false }];
  for (const { mode, evicts } of cases) {
    it(`nothing leaks or survives of either transaction (${mode}${evicts ? '' : ', deferred log'})`, () => {
      for (let s = 0; s < 4; s++) {
        const seed = `adv-txcrash-${mode}-${s}`;
        const rng = new Prng(seed);
        let pool = Pool.create({ size: 4 * SIZE, maxSize: 4 * SIZE, layout: LAYOUT, seed, debug: true, evicts });
        pool.root(TABLE);
        for (let k = 0; k < 10; k++) { try { opOf(seed, k).run(pool); } catch (e) { if (!expected(e)) throw e; } }
        const before = readState(pool);
        const sizes = Array.from({ length: 1 + rng.below(5) }, () => (rng.coin() ? 8 + rng.below(500) : 70000));
        const root = pool.root(TABLE);
        const crashed = pool;
        expect(() => crashed.tx((tx) => {
          for (const [n, size] of sizes.entries()) { const o = tx.alloc(size); tx.setU32(root + 4 * n, o); }
          if (rng.coin()) { crashed.persist(root, TABLE); crashed.drain(); }
          pool = crashed.crash({ mode, seed: s });
        }), seed).toThrow(TxStateError);
        expect(readState(pool), `${seed}: after the first crash`).toEqual(before);
        const root2 = pool.root(TABLE);
        const p2 = pool;
        expect(() => p2.tx((tx) => { for (const [n, size] of sizes.entries()) tx.setU32(root2 + 4 * n, tx.alloc(size)); throw new Error('abort'); })).toThrow('abort');
        expect(readState(pool), `${seed}: after the abort`).toEqual(before);
        pool = pool.crash({ mode, seed: s + 100 });
        expect(readState(pool), `${seed}: after the second crash`).toEqual(before);
        const spans = [...pool.objects()].map((o): [number, number] => [o - 16, o + pool.usableSize(o)]);
        for (const size of sizes) { try { const o = pool.alloc(size); spans.push([o - 16, o + pool.usableSize(o)]); } catch (e) { if (!(e instanceof OutOfSpaceError)) throw e; } }
        expect(overlapOf(spans), seed).toBeNull();
        pool.check();
        pool.close();
      }
    });
  }
});

// ─── bad input the guards let through (each test names the symptom) ────────

describe('bad input that must be refused, not obeyed', () => {
  it('realloc with `into` inside the object it moves must not publish the new offset into freed memory (seed into-self)', () => {
    const rng = new Prng('into-self');
    console.log(`replay: npx vitest run ${FILE} -t 'into inside the object it moves'`);
    for (let n = 0; n < 8; n++) {
      const pool = Pool.create({ size: SIZE, maxSize: SIZE, layout: LAYOUT, seed: n, debug: true });
      const root = pool.root(64);
      const size = 8 + rng.below(300);
      const a = pool.alloc(size, { into: root });
      const k = 4 * rng.below(size >>> 2);
      const grown = size + 4096 + rng.below(20000);
      const inTx = rng.coin();
      const image = pool.durableImage();
      const what = `case ${n}: a ${size}-byte object, realloc to ${grown} with into = object + ${k}${inTx ? ' inside a transaction' : ''}`;
      let moved: number;
      try {
        moved = inTx ? pool.tx((tx) => tx.realloc(a, grown, { into: a + k })) : pool.realloc(a, grown, { into: a + k });
      } catch (e) {
        expect(e, what).toBeInstanceOf(PheapError);
        expect(same(pool.durableImage(), image), `${what}: refused but the pool changed`).toBe(true);
        pool.close();
        continue;
      }
      // accepted: the publication must be somewhere live, not in the freed old object
      expect(pool.isLive(a) || moved === a, `${what}: the old object was freed (moved to ${moved}) and the new offset was stored into it (at ${a + k}, now free memory)`).toBe(true);
      pool.check();
      pool.close();
    }
  });

  it('Pool.open of a valid image held at an unaligned byteOffset answers with a PheapError or opens it, never a raw RangeError', () => {
    const pool = Pool.create({ size: SIZE, maxSize: SIZE, layout: LAYOUT, seed: 'unaligned', debug: true });
    pool.alloc(100, { into: pool.root(64) });
    const image = pool.durableImage();
    const want = contentsOf(pool);
    pool.close();
    for (const shift of [1, 2, 3]) {
      const holder = new Uint8Array(image.length + shift).subarray(shift);
      holder.set(image);
      let opened: Pool;
      try { opened = Pool.open({ image: holder, layout: LAYOUT, debug: true }); } catch (e) {
        expect(e, `byteOffset ${shift}: ${String(e)}`).toBeInstanceOf(PheapError);
        expect(same(holder, image)).toBe(true);
        continue;
      }
      expect(contentsDiff(opened, want)).toBeNull();
      opened.close();
    }
  });
});
