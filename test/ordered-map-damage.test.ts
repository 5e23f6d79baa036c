// ordered-map-damage.test.ts — writes into a damaged OrderedMap are refused,
// never followed (assembly/containers/btree.ts, "write-side checks").
//
// Owns two tests of the map's write paths under damage:
//
// The flip sweep. Maps of five shapes — one leaf with inline values; one
// leaf with value blobs; two levels with a leaf thinned to just above the
// merge threshold beside a thinned sibling; three levels of 900-byte keys;
// two levels with one entry left (its remove frees every node but the first
// leaf) — are built from a seeded Prng, and one byte at a time (xor 0xFF)
// of the map header, the root, an inner node, the target leaf, its left
// sibling, its right neighbour's headers and a value blob's object header
// is flipped. Object headers, node headers and slots are flipped at every
// byte, node cells at every STRIDE-th (every byte: PHEAP_DAMAGE_ALL=1). On
// each mutant every write operation runs on a fresh open of it: a put that
// fits, a put of a value blob, puts of the largest cells until the leaf
// splits, overwrites (inline and blob values), a remove, removes until two
// leaves merge. Asserted per call:
// - it works or throws a PheapError (CorruptHeapError expected), never a
//   raw error (RangeError, WebAssembly.RuntimeError, TypeError, …);
// - a refused call leaves the pool's bytes exactly as they were before it;
// - after the operation a fresh open of the image, the map's and the pool's
//   check() and a full range read work or throw typed errors;
// - a write that worked on a mutant whose check() passed (the flip was
//   harmless) leaves check() passing: no write corrupts silently.
//
// The model run. Random puts and removes against a model, one structural
// byte flipped in the middle, then random gets, puts and removes, half of
// them at keys under the damage: each answer is a typed error or right by
// the model (exactly so for keys the flip cannot reach), a refused write
// changes no byte.
//
// Outcomes are counted and printed with the line that reproduces the run
// (PHEAP_DAMAGE_SEED picks the seed).

import { describe, expect, it } from 'vitest';
import { OrderedMap, PheapError, Pool, Prng } from '../src/index.js';
import { CORE } from '../src/internal.js';
import { sameBytes } from './helpers/pool-files.js';
import { INLINE_MAX, NODE_SIZE, OBJECT_HEADER, mapNodes, type MapNode } from './helpers/map-nodes.js';

const FILE = 'test/ordered-map-damage.test.ts';
const SEED = process.env.PHEAP_DAMAGE_SEED ?? '20261202';
const ALL = process.env.PHEAP_DAMAGE_ALL === '1';
/** Node cells are flipped at every STRIDE-th byte (headers, slots and object headers at every byte). */
const STRIDE = ALL ? 1 : 23;
const REPRODUCE = `reproduce: PHEAP_DAMAGE_SEED=${SEED}${ALL ? ' PHEAP_DAMAGE_ALL=1' : ''} npx vitest run ${FILE}`;
const LAYOUT = 'map';
const POOL_SIZE = 256 << 10;
/** The core's merge threshold: a node under a quarter of its room merges with a sibling it fits beside. */
const UNDERFLOW = Math.floor((NODE_SIZE - 16) / 4);

const cellSize = (klen: number, vlen: number) => 6 + klen + (vlen > INLINE_MAX ? 4 : vlen);

// ─── shapes ─────────────────────────────────────────────────────────────────

/** Key `i` of a shape, `klen` bytes: byte order is `i` order (with one length for all, no key is a prefix of another). */
function keyOf(i: number, klen: number): Uint8Array {
  const k = new Uint8Array(klen).fill(0x6b);
  k.set(new TextEncoder().encode(`k${String(i).padStart(6, '0')}`));
  return k;
}

interface ShapeSpec {
  name: string;
  height: number;
  entries: number;
  klen: number;
  /** Share of values longer than INLINE_MAX (a blob each). */
  blobShare: number;
  /** 'thin': the second leaf and its left sibling thinned so that a few removes merge them; 'last': all entries removed but one, the tree left taller than one leaf. */
  after?: 'thin' | 'last';
}

const SHAPES: ShapeSpec[] = [
  { name: 'one leaf, inline values', height: 1, entries: 30, klen: 12, blobShare: 0 },
  { name: 'one leaf, value blobs', height: 1, entries: 24, klen: 12, blobShare: 0.5 },
  { name: 'two levels, siblings about to merge', height: 2, entries: 120, klen: 16, blobShare: 0.3, after: 'thin' },
  { name: 'three levels, 900-byte keys', height: 3, entries: 44, klen: 900, blobShare: 0.5, after: 'thin' },
  { name: 'two levels, one entry left', height: 2, entries: 60, klen: 0, blobShare: 0.3, after: 'last' },
];

interface Shape {
  spec: ShapeSpec;
  image: Uint8Array;
  mapOff: number;
  height: number;
  /** The leaf the operations aim at (the second one, or the one holding the last entry), its neighbours, its parent (none: it is the root), the root. */
  target: MapNode;
  sibling: MapNode | undefined;
  next: MapNode | undefined;
  parent: MapNode | undefined;
  root: MapNode;
}

/** A value: a blob's worth (300..799 bytes) for a `share` of them, else 4..63 bytes (content is not what these tests look at). */
function valueOf(rng: Prng, share: number): Uint8Array {
  const len = rng.below(1000) < share * 1000 ? 300 + rng.below(500) : 4 + rng.below(60);
  return rng.bytes(new Uint8Array(len));
}

/** Build the shape in a memory pool (seeded: the same image every run); its durable image and where things are. */
function buildShape(spec: ShapeSpec): Shape {
  const { pool, map } = spec.after === 'last' ? lastEntryLeft(spec) : filled(spec, new Prng(`${SEED}:${spec.name}`));
  if (spec.after === 'thin') thinSecondLeaf(pool, map);
  map.check();
  const image = pool.durableImage();
  pool.close();
  const { height, nodes } = mapNodes(image, map.offset);
  const leaves = nodes.filter((n) => n.leaf);
  const target = spec.after === 'last' ? leaves.find((n) => n.count === 1)! : leaves[Math.min(1, leaves.length - 1)];
  const at = leaves.indexOf(target);
  return {
    spec, image, mapOff: map.offset, height, target, sibling: leaves[at - 1], next: leaves[at + 1],
    parent: nodes.find((n) => n.children.includes(target.at)), root: nodes[0],
  };
}

/** A map of `spec.entries` keys of `spec.klen` bytes (0: mixed, half of them 1000..1023 bytes), put in key order. */
function filled(spec: ShapeSpec, rng: Prng): { pool: Pool; map: OrderedMap; keys: Uint8Array[] } {
  const pool = Pool.create({ size: POOL_SIZE, layout: LAYOUT, seed: SEED, durability: 'os' });
  const map = OrderedMap.create(pool, { into: pool.root(8) });
  const keys = Array.from({ length: spec.entries }, (_, i) => keyOf(i, spec.klen || (rng.coin() ? 1000 + rng.below(24) : 8 + rng.below(20))));
  for (const k of keys) map.put(k, valueOf(rng, spec.blobShare));
  return { pool, map, keys };
}

/**
 * All keys removed in order but the last, in the first of a seeded series
 * of mixed-key maps where lazy merging leaves the tree taller than one
 * leaf (about one in thirty): the state whose next remove frees every node
 * but the first leaf.
 */
function lastEntryLeft(spec: ShapeSpec): { pool: Pool; map: OrderedMap } {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const { pool, map, keys } = filled(spec, new Prng(`${SEED}:${spec.name}:${attempt}`));
    for (const k of keys.slice(0, -1)) map.remove(k);
    if (map.check().height > 1) return { pool, map };
    pool.close();
  }
  throw new Error(`no map of ${spec.name} in 1000 attempts`);
}

/** Remove entries of the second leaf and of the first (its left sibling) while each stays above the merge threshold, with room to merge. */
function thinSecondLeaf(pool: Pool, map: OrderedMap): void {
  const before = mapNodes(pool.readBytes(0, pool.size), map.offset);
  const [first, second] = before.nodes.filter((n) => n.leaf);
  const thin = (leaf: MapNode, keep: number) => {
    let used = leaf.used;
    for (const c of leaf.cells) {
      const size = cellSize(c.key.length, c.word) + 2;
      if (used - size < keep) break;
      map.remove(c.key);
      used -= size;
    }
  };
  thin(second, UNDERFLOW + 2);
  thin(first, UNDERFLOW + 2);
  expect(mapNodes(pool.readBytes(0, pool.size), map.offset).nodes.length, 'thinning merged nothing').toBe(before.nodes.length);
}

// ─── operations ─────────────────────────────────────────────────────────────

type Call = (map: OrderedMap) => unknown;
interface Op { name: string; calls: Call[] }

/** The write operations aimed at the shape's target leaf. */
function operations(s: Shape): Op[] {
  const cells = s.target.cells;
  const last = cells[cells.length - 1].key;
  const after = (tail: number[]) => Uint8Array.from([...last, ...tail]);
  const big = (j: number) => { const k = new Uint8Array(1024).fill(j); k.set(last); return k; };
  const inline = cells.find((c) => c.blob === 0);
  const blob = cells.find((c) => c.blob !== 0);
  const ops: Op[] = [
    { name: 'put that fits', calls: [(m) => m.put(after([0]), new Uint8Array(8).fill(1))] },
    { name: 'put of a value blob', calls: [(m) => m.put(after([1]), new Uint8Array(5000).fill(2))] },
    { name: 'puts until the leaf splits', calls: [1, 2, 3, 4].map((j) => (m: OrderedMap) => m.put(big(j), new Uint8Array(INLINE_MAX).fill(j))) },
    { name: s.spec.after === 'last' ? 'remove of the last entry' : 'remove', calls: [(m) => m.remove((blob ?? cells[0]).key)] },
  ];
  if (inline) ops.push({ name: 'overwrite (inline value)', calls: [(m) => m.put(inline.key, new Uint8Array(inline.word === 37 ? 38 : 37).fill(3))] });
  if (blob) ops.push({ name: 'overwrite (value blob)', calls: [(m) => m.put(blob.key, new Uint8Array(blob.word === 777 ? 778 : 777).fill(4))] });
  if (s.spec.after === 'thin') ops.push({ name: 'removes until two leaves merge', calls: cells.slice(0, removesToMerge(s)).map((c) => (m: OrderedMap) => m.remove(c.key)) });
  return ops;
}

/** How many of the target leaf's keys, removed in order from the undamaged map, make it merge with a sibling. */
function removesToMerge(s: Shape): number {
  const pool = Pool.open({ image: s.image.slice(), layout: LAYOUT, durability: 'os' });
  const map = OrderedMap.open(pool, s.mapOff);
  const nodes = () => mapNodes(pool.readBytes(0, pool.size), s.mapOff).nodes.length;
  const start = nodes();
  let n = 0;
  for (const c of s.target.cells) {
    map.remove(c.key);
    n++;
    if (nodes() < start) break;
  }
  expect(nodes(), 'the removes merged two leaves').toBeLessThan(start);
  pool.close();
  return n;
}

// ─── running a mutant ───────────────────────────────────────────────────────

/** What happened to one operation on one mutant ('worked beside damage': check() failed before it); the first four are failures of the core, the rest typed errors' names. */
type Outcome = 'RAW ERROR' | 'MODIFIED ON REFUSAL' | 'RAW ERROR AFTER' | 'SILENT CORRUPTION' | 'worked' | 'worked beside damage' | string;
const FAILURES = new Set(['RAW ERROR', 'MODIFIED ON REFUSAL', 'RAW ERROR AFTER', 'SILENT CORRUPTION']);

/** Opens images in one recycled memory pool (a fresh one after a raw error: the core may be half-updated). */
class Runner {
  private shell: Pool | undefined;

  open(image: Uint8Array): Pool {
    const pool = Pool.open({ image: image.slice(), layout: LAYOUT, durability: 'os', ...(this.shell ? { recycle: this.shell } : {}) });
    this.shell = pool;
    return pool;
  }

  /** Forget the recycled pool (after a raw error). */
  discard(): void {
    try { this.shell?.close(); } catch { /* a trapped core may refuse to close; it is not used again */ }
    this.shell = undefined;
  }

  close(pool: Pool): void {
    try { pool.close(); } catch (e) { if (!(e instanceof PheapError)) this.discard(); }
  }
}

/** The pool's bytes as they are in its memory now (a view: copy it to keep it). */
function liveBytes(pool: Pool): Uint8Array {
  const a = pool[CORE];
  return a.mem.subarray(a.core.poolBase(), a.core.poolBase() + pool.size);
}

/** Run `f` against the image's map: its typed error's name, 'worked', or RAW (raw errors reported through `raw`). */
function typed(f: () => void, raw: (e: unknown) => void): string {
  try {
    f();
    return 'worked';
  } catch (e) {
    if (e instanceof PheapError) return e.name;
    raw(e);
    return 'RAW ERROR';
  }
}

/** Does the image's map pass both checks? 'clean', a typed error's name, or 'RAW ERROR'. */
function checkImage(r: Runner, image: Uint8Array, mapOff: number, raw: (e: unknown) => void): string {
  let pool: Pool;
  try {
    pool = r.open(image);
  } catch (e) {
    if (e instanceof PheapError) return e.name;
    r.discard();
    raw(e);
    return 'RAW ERROR';
  }
  let map: OrderedMap | undefined;
  const opened = typed(() => { map = OrderedMap.open(pool, mapOff); }, raw);
  const verdicts = [opened, ...(map ? [() => map!.check(), () => pool.check(), () => { for (const _ of map!.range()) { /* every entry read */ } }].map((step) => typed(step, raw)) : [])];
  if (verdicts.includes('RAW ERROR')) { r.discard(); return 'RAW ERROR'; }
  r.close(pool);
  return verdicts.find((v) => v !== 'worked') ?? 'clean';
}

/** One operation on a fresh open of `image`: its outcome, and what went wrong (for failures). */
function runOp(r: Runner, image: Uint8Array, mapOff: number, op: Op, cleanBefore: boolean): { outcome: Outcome; detail: string } {
  let detail = '';
  const raw = (e: unknown) => { detail = e instanceof Error ? `${e.name}: ${e.message}` : String(e); };
  let pool: Pool;
  try {
    pool = r.open(image);
  } catch (e) {
    if (e instanceof PheapError) return { outcome: e.name, detail: 'at open' };
    r.discard();
    raw(e);
    return { outcome: 'RAW ERROR', detail };
  }
  let outcome: Outcome = 'worked';
  for (const call of op.calls) {
    const before = liveBytes(pool).slice();
    outcome = typed(() => { call(OrderedMap.open(pool, mapOff)); }, raw);
    if (outcome === 'RAW ERROR') { r.discard(); return { outcome, detail }; }
    if (outcome === 'worked') continue;
    if (!sameBytes(liveBytes(pool), before)) return { outcome: 'MODIFIED ON REFUSAL', detail: `${outcome}, call ${op.calls.indexOf(call)}` };
    break;
  }
  const after = pool.durableImage();
  r.close(pool);
  const check = checkImage(r, after, mapOff, raw);
  if (check === 'RAW ERROR') return { outcome: 'RAW ERROR AFTER', detail };
  if (cleanBefore && outcome === 'worked' && check !== 'clean') return { outcome: 'SILENT CORRUPTION', detail: `check() after: ${check}` };
  return { outcome: outcome === 'worked' && !cleanBefore ? 'worked beside damage' : outcome, detail };
}

// ─── regions ────────────────────────────────────────────────────────────────

interface Region { name: string; bytes: number[] }

/** A node's flipped bytes: its object header, node header and slots at every byte, its cells at every STRIDE-th. */
function nodeBytes(n: MapNode): number[] {
  const out: number[] = [];
  for (let at = n.at - OBJECT_HEADER; at < n.at + 16 + 2 * n.count; at++) out.push(at);
  for (let at = n.at + n.top; at < n.at + NODE_SIZE; at += STRIDE) out.push(at);
  return out;
}

const span = (from: number, len: number) => Array.from({ length: len }, (_, i) => from + i);

function regions(s: Shape): Region[] {
  const out: Region[] = [{ name: 'map header', bytes: span(s.mapOff - OBJECT_HEADER, OBJECT_HEADER + 32) }];
  if (s.height > 1) out.push({ name: 'root (inner)', bytes: nodeBytes(s.root) });
  if (s.parent && s.parent !== s.root) out.push({ name: 'inner node (the target leaf\'s parent)', bytes: nodeBytes(s.parent) });
  out.push({ name: s.height > 1 ? 'target leaf' : 'root leaf', bytes: nodeBytes(s.target) });
  if (s.sibling) out.push({ name: 'its left sibling', bytes: nodeBytes(s.sibling) });
  if (s.next) out.push({ name: 'its right neighbour\'s headers', bytes: span(s.next.at - OBJECT_HEADER, OBJECT_HEADER + 16) });
  const blob = s.target.cells.find((c) => c.blob !== 0);
  if (blob) out.push({ name: 'a value blob\'s object header', bytes: span(blob.blob - OBJECT_HEADER, OBJECT_HEADER) });
  return out;
}

// ─── the sweep ──────────────────────────────────────────────────────────────

describe(`writes into a damaged OrderedMap (seed ${SEED}, cells every ${STRIDE === 1 ? '' : `${STRIDE}th `}byte)`, () => {
  for (const spec of SHAPES) {
    it(`${spec.name}: every write on every flipped byte works or throws a typed error, a refused one leaves the pool byte-identical, a fresh open and check() never trap`, () => {
      const s = buildShape(spec);
      const ops = operations(s);
      const r = new Runner();
      const noRaw = (e: unknown) => { throw e; };
      expect(s.height, 'the shape has the height it is named for').toBe(spec.height);
      for (const op of ops) expect(runOp(r, s.image, s.mapOff, op, true), `${op.name} on the undamaged map`).toEqual({ outcome: 'worked', detail: '' });
      const failures: string[] = [];
      const tally: Record<string, Record<string, number>> = {};
      let mutants = 0, harmless = 0;
      for (const region of regions(s)) {
        for (const at of region.bytes) {
          const mutant = s.image.slice();
          mutant[at] ^= 0xff;
          mutants++;
          const before = checkImage(r, mutant, s.mapOff, noRaw);
          if (before === 'clean') harmless++;
          for (const op of ops) {
            const { outcome, detail } = runOp(r, mutant, s.mapOff, op, before === 'clean');
            const t = (tally[`${region.name} / ${op.name}`] ??= {});
            t[outcome] = (t[outcome] ?? 0) + 1;
            if (FAILURES.has(outcome)) failures.push(`${region.name} byte ${at} (0x${at.toString(16)}), ${op.name}: ${outcome} ${detail}`);
          }
        }
      }
      console.log(`${spec.name}: height ${s.height}, ${mutants} flips (${harmless} harmless to check()), ${ops.length} operations each; ${REPRODUCE} -t '${spec.name}'`);
      for (const [k, t] of Object.entries(tally)) console.log(`  ${k}: ${JSON.stringify(t)}`);
      expect(failures, `${failures.length} failures`).toEqual([]);
    });
  }
});

// ─── a model, and one flip in the middle ────────────────────────────────────

/** Runs of the model test; each is seeded `${SEED}:model:${run}`. */
const MODEL_RUNS = ALL ? 300 : 40;
const MODEL_KEYS = 160;

/** Value `version` of key `idx`: [u16 idx, u16 version, u32 length, filler], so that any value read back tells whose it is. */
function modelValue(rng: Prng, idx: number, version: number): Uint8Array {
  const len = 8 + (rng.below(4) === 0 ? 300 + rng.below(500) : rng.below(60));
  const v = new Uint8Array(len).fill((idx * 31 + version * 7) & 255);
  const d = new DataView(v.buffer);
  d.setUint16(0, idx);
  d.setUint16(2, version);
  d.setUint32(4, len);
  return v;
}

/** Is `v` a value modelValue made for key `idx`, at some version? */
function isValueOf(v: Uint8Array, idx: number): boolean {
  if (v.length < 8) return false;
  const d = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const fill = (idx * 31 + d.getUint16(2) * 7) & 255;
  return d.getUint16(0) === idx && d.getUint32(4) === v.length && v.subarray(8).every((b) => b === fill);
}

/** One structural byte to flip (never key or value content: those carry no check), the keys whose answers it may change, and the key whose own cell it hit. */
interface Flip { at: number; what: string; tainted: Set<number> | 'all'; hit: number }

const idxOf = (key: Uint8Array) => Number(new TextDecoder().decode(key.subarray(1, 7)));

/** Every key under `node`. */
function keysUnder(nodes: MapNode[], node: MapNode): number[] {
  if (node.leaf) return node.cells.map((c) => idxOf(c.key));
  return node.children.flatMap((ch) => keysUnder(nodes, nodes.find((n) => n.at === ch)!));
}

/** A random structural byte of the map in `image`: the map header, a node's object header, header or slots, a cell's length and link words, a blob word, a value blob's object header. */
function pickFlip(rng: Prng, image: Uint8Array, mapOff: number): Flip {
  const { nodes } = mapNodes(image, mapOff);
  const blobs = nodes.flatMap((n) => n.cells.filter((c) => c.blob !== 0));
  const roll = rng.below(10);
  if (roll === 0) return { at: mapOff - OBJECT_HEADER + rng.below(OBJECT_HEADER + 32), what: 'map header', tainted: 'all', hit: -1 };
  if (roll === 1 && blobs.length) {
    const c = blobs[rng.below(blobs.length)];
    return { at: c.blob - OBJECT_HEADER + rng.below(OBJECT_HEADER), what: 'a blob\'s object header', tainted: new Set([idxOf(c.key)]), hit: idxOf(c.key) };
  }
  const node = nodes[rng.below(nodes.length)];
  const tainted = new Set(keysUnder(nodes, node));
  const bytes: Array<{ at: number; hit: number }> = [...span(node.at - OBJECT_HEADER, OBJECT_HEADER + 16 + 2 * node.count)].map((at) => ({ at, hit: -1 }));
  for (const c of node.cells) {
    const hit = node.leaf ? idxOf(c.key) : -1;
    for (const at of span(c.at, 6)) bytes.push({ at, hit });
    if (c.blob) for (const at of span(c.at + 6 + c.key.length, 4)) bytes.push({ at, hit });
  }
  const b = bytes[rng.below(bytes.length)];
  return { at: b.at, what: `${node.leaf ? 'leaf' : 'inner node'} at depth ${node.depth} +${b.at - node.at}`, tainted, hit: b.hit };
}

/**
 * One model run: random puts and removes (keys of one length per run, so
 * none is a prefix of another), a flip of one structural byte, then random
 * gets, puts and removes. After the flip each answer is a typed error, or:
 * for a key the flip could not reach (outside the damaged node's subtree,
 * not its blob), exactly the model's; for a key under the damaged node,
 * nothing or one of its own values; for the key whose cell was hit,
 * anything. A refused write leaves the pool's bytes as they were and the
 * model unchanged. Returns the problems found and how the calls ended.
 */
function modelRun(run: number, tally: Record<string, number>): string[] {
  const rng = new Prng(`${SEED}:model:${run}`);
  const klen = [10, 300, 900][rng.below(3)];
  const key = (i: number) => keyOf(i, klen);
  const model = new Map<number, Uint8Array>();
  const versions = new Map<number, number>();
  const next = (i: number) => { const v = (versions.get(i) ?? 0) + 1; versions.set(i, v); return modelValue(rng, i, v); };
  let pool = Pool.create({ size: POOL_SIZE, layout: LAYOUT, seed: SEED, durability: 'os' });
  const mapOff = OrderedMap.create(pool, { into: pool.root(8) }).offset;
  let map = OrderedMap.open(pool, mapOff);
  for (let n = 80 + rng.below(200); n > 0; n--) {
    const i = rng.below(MODEL_KEYS);
    if (rng.below(3) === 0) { map.remove(key(i)); model.delete(i); } else { const v = next(i); map.put(key(i), v); model.set(i, v); }
  }
  const image = pool.durableImage();
  pool.close();
  const flip = pickFlip(rng, image, mapOff);
  image[flip.at] ^= 0xff;
  const where = `run ${run} (${SEED}:model:${run}), ${flip.what} (byte 0x${flip.at.toString(16)})`;
  const problems: string[] = [];
  const exact = (i: number) => flip.tainted !== 'all' && !flip.tainted.has(i);
  const count = (what: string) => { tally[what] = (tally[what] ?? 0) + 1; };
  try {
    pool = Pool.open({ image, layout: LAYOUT, durability: 'os' });
    map = OrderedMap.open(pool, mapOff);
  } catch (e) {
    if (!(e instanceof PheapError)) return [`${where}: open: ${String(e)}`];
    count(`open ${e.name}`);
    return [];
  }
  const near = flip.tainted === 'all' ? [] : [...flip.tainted];
  for (let n = 60; n > 0; n--) {
    const i = near.length && rng.coin() ? near[rng.below(near.length)] : rng.below(MODEL_KEYS); // half of them aimed at the damage
    const roll = rng.below(3);
    const before = liveBytes(pool).slice();
    const put = roll === 1 ? next(i) : undefined;
    try {
      if (roll === 0) {
        const got = map.get(key(i));
        const want = model.get(i);
        const ok = i === flip.hit || (exact(i) ? (got === undefined ? want === undefined : want !== undefined && sameBytes(got, want)) : got === undefined || isValueOf(got, i));
        if (!ok) problems.push(`${where}: get of key ${i} answered ${got ? `${got.length} bytes` : 'undefined'}, the model holds ${want ? `${want.length} bytes` : 'nothing'}`);
      } else if (put) {
        map.put(key(i), put);
        model.set(i, put);
      } else {
        const was = map.remove(key(i));
        if (exact(i) && was !== model.has(i)) problems.push(`${where}: remove of key ${i} answered ${was}, the model says ${model.has(i)}`);
        model.delete(i);
      }
      count(`${['get', 'put', 'remove'][roll]} worked`);
    } catch (e) {
      if (!(e instanceof PheapError)) { problems.push(`${where}: ${['get', 'put', 'remove'][roll]} of key ${i}: raw ${String(e)}`); break; }
      count(`${['get', 'put', 'remove'][roll]} ${e.name}`);
      if (!sameBytes(liveBytes(pool), before)) problems.push(`${where}: a refused ${['get', 'put', 'remove'][roll]} of key ${i} changed the pool`);
    }
  }
  const after = pool.durableImage();
  pool.close();
  const verdict = checkImage(new Runner(), after, mapOff, (e) => problems.push(`${where}: after the run: raw ${String(e)}`));
  count(`check() after: ${verdict}`);
  return problems;
}

describe(`a model run with one flip in the middle (seed ${SEED}, ${MODEL_RUNS} runs)`, () => {
  it('after one flipped structural byte, every answer is a typed error or right by the model (keys the flip could not reach: exactly), a refused write changes nothing, and the pool reopens and checks without a raw error', () => {
    const tally: Record<string, number> = {};
    const problems = Array.from({ length: MODEL_RUNS }, (_, run) => modelRun(run, tally)).flat();
    console.log(`model runs: ${JSON.stringify(tally)}; ${REPRODUCE} -t 'model run'`);
    expect(problems, `${problems.length} problems`).toEqual([]);
  });
});
