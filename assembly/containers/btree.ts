// containers/btree.ts — the ordered map: a B+-tree from byte keys to byte
// values, persistent in the pool, every mutation one undo-logged step.
//
// Objects (all allocated with the core allocator, user-range type numbers
// next to the other containers' in shared.ts; a call on anything but a map
// header is NOT_A_CONTAINER):
//
//   map header  TYPE_MAP, 32 B               node  TYPE_NODE, NODE_SIZE B, 64-aligned
//   ┌ u32 MAP_MAGIC │ u32 NODE_SIZE ┐        ┌ u16 kind │ u16 count │ u16 top │ u16 garbage ┐
//   │ u32 root      │ u32 height    │        │ u32 next leaf (inner: 0) │ u32 prev leaf / child0 │ 16 B
//   └ u64 count     │ 8 B zero      ┘        ├ u16 slot[count]: cell offsets, sorted by key ─→ │
//                                            │            free space                             │
//   value blob  TYPE_VALUE, valLen B         │ ←─ cells, from `top` to the end (holes = garbage) │
//   └ the value bytes (values > INLINE_MAX)  └───────────────────────────────────────────────────┘
//
//   leaf cell   ┌ u16 keyLen │ u32 valLen │ key bytes │ value bytes (≤ INLINE_MAX) or u32 blob ┐
//   inner cell  └ u16 keyLen │ u32 child  │ key bytes ┘
//
// An inner node with count keys k1..kn has n+1 children: child0 (header) and
// the child of each cell; child i holds exactly the keys k with
// k_i <= k < k_(i+1). Leaves are doubly linked in key order (next / prev).
//
// Invariants (btreeCheck verifies all of them):
// - Keys compare as unsigned bytes, a proper prefix first; they are unique
//   and strictly increasing across the leaf chain. 0 <= keyLen <= KEY_MAX.
// - Every node's live bytes (2 per slot + its cells) fit in NODE_SIZE − 16;
//   a cell never crosses `top`..NODE_SIZE, holes are counted in `garbage`.
// - A leaf cell's value is inline iff valLen <= INLINE_MAX; otherwise it
//   names a live TYPE_VALUE object of exactly valLen bytes, held by no
//   other cell. The tree holds exactly header + nodes + blobs: nothing leaks.
// - All leaves are at depth height−1; the map's count is the number of leaf
//   cells. The root may be an empty leaf (empty map) or an inner node with
//   at least one key; other nodes may hold few cells (merging is lazy: a
//   node under UNDERFLOW bytes merges with a sibling when both fit in one;
//   removing the last entry collapses the tree back to one empty leaf).
// - NODE_SIZE: 4 KiB slots measured against 8 KiB ones (bench/kv-map.ts):
//   8 KiB made point reads slower and puts no faster on random keys.
//
// Crash atomicity and failure: a mutation runs in the caller's open
// transaction or in one of its own. It first plans (descends, decides every
// split / merge from the sizes), then allocates every new object, then logs
// every range it will change (logRange), and only then stores. Each failure
// (OUT_OF_SPACE, LOG_FULL, TX_TOO_LARGE, CORRUPT_HEAP: damage the plan met,
// a bad argument) happens before the first store: the allocations are freed again (tx-allocated: immediately)
// and the entries logged so far hold the current bytes, so the tree is as
// it was — inside a caller's transaction too, which goes on. Frees are
// recorded last (their list capacity checked in the plan) and take effect
// at commit. This gives the effect of a savepoint at the operation's start
// without taking the pool's single savepoint (a txAsync() member owns it).
//
// Damage: every read checks what it touches before trusting it — the map
// header, each node's header (nodeSane), each cell it probes or returns
// (cellFits: inside its node, lengths in bounds), each leaf link it follows
// and each value object it names (blobFits) — and answers CORRUPT_HEAP (or
// sets OUT+28 for step and gather), never reading outside a node. A write
// checks, before it logs or stores anything, what it will read beyond its
// descent — every cell of each node it rebuilds, splits or merges, each
// blob it frees, each leaf link it repoints — and answers CORRUPT_HEAP
// with the pool untouched (see "write-side checks").
//
// Volatile memory (below POOL_BASE, this file's own): BTREE_SCRATCH ..
// BTREE_SCRATCH_END holds the host I/O area (key, then value), result words,
// the descent path, the node images a split or merge builds, and the
// entries a range read gathers (btreeGather).

import { Code, lastError } from "../errors";
import { TX_LIST_CAP, abs } from "../layout";
import { ALLOC_ALIGN64, ALLOC_ZERO, alloc, free } from "../alloc";
import { objectDataLen } from "../object";
import { NOT_A_CONTAINER, isHeader, isObjectOf, setOut } from "./shared";
import { txAbort, txBegin, txCommit } from "../tx";
import { allocsRecorded, freesRecorded, logRange, markUnlogged, txDepth, txReady } from "../log";
import { deferredLog, drain } from "../flush";

/** The map's volatile area: [BTREE_SCRATCH, BTREE_SCRATCH_END), below POOL_BASE and outside layout.ts's regions. */
export const BTREE_SCRATCH: usize = 0x00E4_0000;
export const BTREE_SCRATCH_END: usize = 0x00F0_0000;
/** Result words of the last call (see writeEntry). */
const OUT: usize = BTREE_SCRATCH;
const PATH: usize = BTREE_SCRATCH + 0x100; // per level: u32 node, u32 index (64 levels)
const MERGE: usize = BTREE_SCRATCH + 0x400; // per level: u32 left, u32 right, u32 separator index, u32 flag
const NEW_NODES: usize = BTREE_SCRATCH + 0x800; // nodes allocated for a split cascade
const NEWCELL: usize = BTREE_SCRATCH + 0x1000; // the cell being put (<= 2 KiB)
const SEP_A: usize = BTREE_SCRATCH + 0x1800; // separator cells moving up / down (ping-pong)
const SEP_B: usize = BTREE_SCRATCH + 0x2000;
const CELLS: usize = BTREE_SCRATCH + 0x3000; // the virtual cell list: (abs source, size) pairs
const CELLS_CAP: u32 = 0x1000;
const IMG_A: usize = BTREE_SCRATCH + 0xB000; // node images under construction
const IMG_B: usize = BTREE_SCRATCH + 0xD000; // each image up to 8 KiB (NODE_SIZE 8176 was measured too)
/** Entries a range read gathers in one call: per entry u32 key offset, key length, value offset, value length. */
const GATHER: usize = BTREE_SCRATCH + 0xF000;
export const GATHER_CAP: u32 = 256;
/** btreeGather's `endLen` when the range has no bound. */
const NO_END: u32 = 0xFFFF_FFFF;
/** Host input: key bytes, then value bytes. */
export const IO_IN: usize = BTREE_SCRATCH + 0x1_0000;
export const IO_CAP: u32 = <u32>(BTREE_SCRATCH_END - IO_IN);

export const TYPE_MAP: u32 = 0xFFFE_B7E0;
export const TYPE_NODE: u32 = 0xFFFE_B7E1;
export const TYPE_VALUE: u32 = 0xFFFE_B7E2;
const MAP_MAGIC: u32 = 0x4552_5442; // "BTRE"
const MAP_SIZE: u32 = 32;
const M_ROOT: u32 = 8;
const M_HEIGHT: u32 = 12;
const M_COUNT: u32 = 16;

/** Node payload: with its 16-byte object header, one 4 KiB slot (stride 4096, 64-aligned). */
export const NODE_SIZE: u32 = 4080;
const NODE_HDR: u32 = 16;
const CAP: u32 = NODE_SIZE - NODE_HDR;
const UNDERFLOW: u32 = CAP / 4;
/** Longest key. A leaf cell is at most 6 + KEY_MAX + INLINE_MAX bytes: three always fit in a node. */
export const KEY_MAX: u32 = 1024;
/** Longest value stored inside the leaf; longer ones get a blob of their own. */
export const INLINE_MAX: u32 = 256;
const MAX_HEIGHT: u32 = 64;
const LEAF: u32 = 0x4C46; // "FL"
const INNER: u32 = 0x4E49; // "IN"
const INNER_CELL_MAX: u32 = 6 + KEY_MAX + 2; // with its slot

// Volatile state of one call.
let found = false;
let ownTx = false;
let listLen: u32 = 0;
let listBytes: u32 = 0; // cells + 2 per slot
let newNodeCount: u32 = 0;
let newNodeUsed: u32 = 0;
/** Moves on at every mutation (and every failed one): a host cursor whose epoch differs re-seeks. */
let epoch: u32 = 0;
/** Set when a read met a damaged cell or leaf link (see cellFits): the call answers CORRUPT_HEAP, or sets OUT+28. */
let damaged = false;

// ─── node accessors ─────────────────────────────────────────────────────────

// @ts-ignore: decorator
@inline function kindOf(n: u32): u32 { return load<u16>(abs(n)); }
// @ts-ignore: decorator
@inline function countOf(n: u32): u32 { return load<u16>(abs(n), 2); }
// @ts-ignore: decorator
@inline function topOf(n: u32): u32 { return load<u16>(abs(n), 4); }
// @ts-ignore: decorator
@inline function garbageOf(n: u32): u32 { return load<u16>(abs(n), 6); }
// @ts-ignore: decorator
@inline function nextOf(n: u32): u32 { return load<u32>(abs(n), 8); }
/** A leaf's previous leaf; an inner node's child0. */
// @ts-ignore: decorator
@inline function link12(n: u32): u32 { return load<u32>(abs(n), 12); }
// @ts-ignore: decorator
@inline function cellAt(n: u32, i: u32): u32 { return n + <u32>load<u16>(abs(n) + NODE_HDR + (<usize>i << 1)); }
// @ts-ignore: decorator
@inline function keyLenOf(c: u32): u32 { return load<u16>(abs(c)); }
// @ts-ignore: decorator
@inline function word2(c: u32): u32 { return load<u32>(abs(c), 2); }
// @ts-ignore: decorator
@inline function isExternal(valLen: u32): bool { return valLen > INLINE_MAX; }

function leafCellSize(keyLen: u32, valLen: u32): u32 { return 6 + keyLen + (isExternal(valLen) ? 4 : valLen); }
function cellSizeAt(leaf: bool, c: u32): u32 { return leaf ? leafCellSize(keyLenOf(c), word2(c)) : 6 + keyLenOf(c); }
/** Where a leaf cell's value bytes are: inline, or the blob's payload. */
function valueOff(c: u32): u32 {
  const at = c + 6 + keyLenOf(c);
  return isExternal(word2(c)) ? load<u32>(abs(at)) : at;
}
function childAt(n: u32, i: u32): u32 { return i == 0 ? link12(n) : word2(cellAt(n, i - 1)); }
function usedOf(n: u32): u32 { return (countOf(n) << 1) + NODE_SIZE - topOf(n) - garbageOf(n); }

/**
 * Does cell `c` of node `n` lie inside the node's cell area, key and
 * (leaf) inline value or blob word included? Reads check every cell they
 * touch, so damaged slots or lengths are CORRUPT_HEAP, never a read
 * outside the node (nodeSane has checked the header).
 */
function cellFits(n: u32, c: u32, leaf: bool): bool {
  const off = c - n, klen = keyLenOf(c);
  if (off < topOf(n) || off + 6 > NODE_SIZE || klen > KEY_MAX) return false;
  const vlen = word2(c);
  return off + 6 + klen + (leaf ? (isExternal(vlen) ? 4 : vlen) : 0) <= NODE_SIZE;
}

/**
 * Unsigned byte order, a proper prefix first; only the sign counts. Eight
 * bytes at a time (unaligned loads, byte-swapped so that the first
 * differing byte decides), then byte by byte.
 */
function compareKeys(a: usize, alen: u32, b: usize, blen: u32): i32 {
  const n: usize = alen < blen ? alen : blen;
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) {
    const x = load<u64>(a + i), y = load<u64>(b + i);
    if (x != y) return bswap<u64>(x) < bswap<u64>(y) ? -1 : 1;
  }
  for (; i < n; i++) {
    const x = <i32>load<u8>(a + i), y = <i32>load<u8>(b + i);
    if (x != y) return x - y;
  }
  return <i32>alen - <i32>blen;
}

/** First cell index whose key is >= key (leaf: sets `found` on equality) or > key (inner: `upper`). */
function search(n: u32, key: usize, klen: u32, upper: bool): u32 {
  let lo: u32 = 0, hi = countOf(n);
  found = false;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = cellAt(n, mid);
    if (!cellFits(n, c, !upper)) { damaged = true; return 0; }
    const cmp = compareKeys(abs(c) + 6, keyLenOf(c), key, klen);
    if (cmp == 0) found = true;
    if (cmp < 0 || (upper && cmp == 0)) lo = mid + 1; else hi = mid;
  }
  if (!upper && lo < countOf(n) && !cellFits(n, cellAt(n, lo), true)) { damaged = true; return 0; }
  if (!upper) found = lo < countOf(n) && compareKeys(abs(cellAt(n, lo)) + 6, keyLenOf(cellAt(n, lo)), key, klen) == 0;
  return lo;
}

// ─── the map header and the path ────────────────────────────────────────────

// @ts-ignore: decorator
@inline function rootOf(m: u32): u32 { return load<u32>(abs(m), M_ROOT); }
// @ts-ignore: decorator
@inline function heightOf(m: u32): u32 { return load<u32>(abs(m), M_HEIGHT); }
// @ts-ignore: decorator
@inline function pathNode(l: u32): u32 { return load<u32>(PATH + (<usize>l << 3)); }
// @ts-ignore: decorator
@inline function pathIdx(l: u32): u32 { return load<u32>(PATH + (<usize>l << 3), 4); }

/** Is `m` a usable map header (live, or made by the open transaction)? NOT_A_CONTAINER if not. */
function mapCode(m: u32): Code {
  if (!isHeader(m, TYPE_MAP, MAP_SIZE, MAP_MAGIC)) return <Code>NOT_A_CONTAINER;
  const h = heightOf(m);
  return h == 0 || h > MAX_HEIGHT || load<u32>(abs(m), 4) != NODE_SIZE ? Code.CORRUPT_HEAP : Code.OK;
}

/** Is `n` a node of the expected kind with a sane header? */
function nodeSane(n: u32, kind: u32): bool {
  if ((n & 63) != 0 || !isObjectOf(n, TYPE_NODE) || kindOf(n) != kind) return false;
  const top = topOf(n);
  return top <= NODE_SIZE && NODE_HDR + (countOf(n) << 1) <= top && garbageOf(n) <= NODE_SIZE - top;
}

/** Descend to the leaf for `key`, recording (node, index) per level; 0 if a node is damaged. */
function descend(m: u32, key: usize, klen: u32): u32 {
  let n = rootOf(m);
  const h = heightOf(m);
  damaged = false;
  for (let l: u32 = 0; l + 1 < h; l++) {
    if (!nodeSane(n, INNER)) return 0;
    const i = search(n, key, klen, true);
    if (damaged) return 0;
    store<u32>(PATH + (<usize>l << 3), n);
    store<u32>(PATH + (<usize>l << 3), i, 4);
    n = childAt(n, i);
  }
  if (!nodeSane(n, LEAF)) return 0;
  const i = search(n, key, klen, false);
  if (damaged) return 0;
  store<u32>(PATH + (<usize>(h - 1) << 3), n);
  store<u32>(PATH + (<usize>(h - 1) << 3), i, 4);
  return n;
}

// ─── the virtual cell list and node images ──────────────────────────────────

function listPush(src: usize, size: u32): void {
  assert(listLen < CELLS_CAP, "btree: cell list overflow");
  store<u32>(CELLS + (<usize>listLen << 3), <u32>src);
  store<u32>(CELLS + (<usize>listLen << 3), size, 4);
  listLen++;
  listBytes += size + 2;
}

function listNode(n: u32, from: u32, to: u32): void {
  const leaf = kindOf(n) == LEAF;
  for (let i = from; i < to; i++) {
    const c = cellAt(n, i);
    listPush(abs(c), cellSizeAt(leaf, c));
  }
}

// @ts-ignore: decorator
@inline function listSrc(i: u32): usize { return <usize>load<u32>(CELLS + (<usize>i << 3)); }
// @ts-ignore: decorator
@inline function listSize(i: u32): u32 { return load<u32>(CELLS + (<usize>i << 3), 4); }

const INSERT: u32 = 0;
const REPLACE: u32 = 1;
const DELETE: u32 = 2;

/** The list of `n`'s cells with cell `idx` inserted / replaced / deleted (`cell`, `size`: the new one). */
function listModified(n: u32, idx: u32, op: u32, cell: usize, size: u32): void {
  listLen = 0;
  listBytes = 0;
  listNode(n, 0, idx);
  if (op != DELETE) listPush(cell, size);
  listNode(n, op == INSERT ? idx : idx + 1, countOf(n));
}

/** Write list entries [from, to) as a node image at `img` (volatile). */
function buildImage(img: usize, kind: u32, from: u32, to: u32, next: u32, l12: u32): void {
  let top = NODE_SIZE;
  for (let i = from; i < to; i++) {
    const size = listSize(i);
    top -= size;
    memory.copy(img + top, listSrc(i), size);
    store<u16>(img + NODE_HDR + (<usize>(i - from) << 1), <u16>top);
  }
  store<u16>(img, <u16>kind);
  store<u16>(img, <u16>(to - from), 2);
  store<u16>(img, <u16>top, 4);
  store<u16>(img, 0, 6);
  store<u32>(img, next, 8);
  store<u32>(img, l12, 12);
}

function installImage(n: u32, img: usize): void {
  const top = <u32>load<u16>(img, 4);
  memory.copy(abs(n), img, <usize>NODE_HDR + (<usize>load<u16>(img, 2) << 1));
  memory.copy(abs(n) + top, img + top, NODE_SIZE - top);
}

/**
 * Where to split the list: leaves keep [0, s) and move [s, len); inner
 * nodes keep [0, s), push entry s up and move [s+1, len). Minimises the
 * larger half; with cells of at most a third of a node both halves fit.
 */
function balancedSplitPoint(leaf: bool): u32 {
  const lo: u32 = 1, hi: u32 = leaf ? listLen - 1 : listLen - 2;
  let best = lo, bestMax: u32 = 0xFFFF_FFFF, left: u32 = 0;
  for (let s: u32 = 0; s < lo; s++) left += listSize(s) + 2;
  for (let s = lo; s <= hi; s++) {
    const right = listBytes - left - (leaf ? 0 : listSize(s) + 2);
    const worst = left > right ? left : right;
    if (worst < bestMax) { bestMax = worst; best = s; }
    left += listSize(s) + 2;
  }
  return best;
}

/** Do both halves of a split at `s` fit in a node (balancedSplitPoint's indexing)? */
function halvesFit(s: u32, leaf: bool): bool {
  if (s < 1 || s > (leaf ? listLen - 1 : listLen - 2)) return false;
  let left: u32 = 0;
  for (let i: u32 = 0; i < s; i++) left += listSize(i) + 2;
  return left <= CAP && listBytes - left - (leaf ? 0 : listSize(s) + 2) <= CAP;
}

/**
 * Where to split `n`'s list, the new cell inserted at `idx` (op INSERT) or
 * put over cell `idx` (REPLACE). On a run — the new cell goes just after
 * the node's newest cell (the one at `top`: cells are placed downward, and
 * a node image puts its last slot there), or just before it — the split
 * keeps the run's cells together with the new one and moves the cells past
 * it (cells of other keys, which this run will not add to) to the other
 * node: ascending, the new cell ends the left node, or starts the right one
 * when it is the last (inner: the cell after it goes up, or the newest);
 * descending, mirrored. The run then fills its node to the brim before the
 * next split, as B-trees split an append: ordered loads, several
 * interleaved ones too, leave their nodes full. A random put is seldom on a
 * run; it, or a run split whose halves would not fit, splits balanced.
 */
function splitPoint(n: u32, idx: u32, op: u32): u32 {
  const leaf = kindOf(n) == LEAF;
  const newest = n + topOf(n);
  if (op == INSERT && idx > 0 && cellAt(n, idx - 1) == newest) {
    if (halvesFit(idx + 1, leaf)) return idx + 1;
    if (halvesFit(leaf ? idx : idx - 1, leaf)) return leaf ? idx : idx - 1;
  }
  if (op == INSERT && idx < countOf(n) && cellAt(n, idx) == newest) {
    if (halvesFit(leaf ? idx : idx - 1, leaf)) return leaf ? idx : idx - 1;
    if (halvesFit(idx + 1, leaf)) return idx + 1;
  }
  return balancedSplitPoint(leaf);
}

// ─── transactions and logging ───────────────────────────────────────────────

function opBegin(): Code {
  ownTx = txDepth() == 0;
  return ownTx ? txBegin() : txReady();
}

function opEnd(code: Code): Code {
  if (!ownTx) return code;
  if (code != Code.OK) { txAbort(); return code; }
  return txCommit();
}

function drainIfEager(): void { if (!deferredLog()) drain(); }

/** Log a node's header and slots [from, to). */
function logSlots(n: u32, from: u32, to: u32): Code {
  const code = logRange(n, NODE_HDR);
  return code != Code.OK || to <= from ? code : logRange(n + NODE_HDR + (from << 1), (to - from) << 1);
}

function logNode(n: u32): Code { return logRange(n, NODE_SIZE); }

/** Room left in the open transaction's alloc / free lists for `n` more. */
function listsHaveRoom(n: u32): bool { return allocsRecorded() + freesRecorded() + n < TX_LIST_CAP; }

function allocNode(): u32 { return alloc(NODE_SIZE, TYPE_NODE, ALLOC_ALIGN64, 0); }

/** Undo the allocations of a plan that failed (tx-allocated: freed at once). */
function releaseNew(blob: u32): void {
  for (let i: u32 = 0; i < newNodeCount; i++) free(load<u32>(NEW_NODES + (<usize>i << 2)), 0);
  newNodeCount = 0;
  if (blob != 0) free(blob, 0);
}

function allocNewNodes(n: u32): Code {
  newNodeCount = 0;
  newNodeUsed = 0;
  for (let i: u32 = 0; i < n; i++) {
    const node = allocNode();
    if (node == 0) return lastError;
    store<u32>(NEW_NODES + (<usize>newNodeCount << 2), node);
    newNodeCount++;
  }
  return Code.OK;
}

function takeNewNode(): u32 {
  assert(newNodeUsed < newNodeCount, "btree: split needs more nodes than planned");
  return load<u32>(NEW_NODES + (<usize>(newNodeUsed++) << 2));
}

function releaseUnusedNodes(): void {
  for (let i = newNodeUsed; i < newNodeCount; i++) free(load<u32>(NEW_NODES + (<usize>i << 2)), 0);
  newNodeCount = 0;
}

function setCount(m: u32, delta: i64): void { store<u64>(abs(m), load<u64>(abs(m), M_COUNT) + delta, M_COUNT); }

// ─── create ─────────────────────────────────────────────────────────────────

function createIn(): u32 {
  const m = alloc(MAP_SIZE, TYPE_MAP, ALLOC_ZERO, 0);
  if (m == 0) return 0;
  const root = allocNode();
  if (root == 0) { free(m, 0); return 0; }
  const img = IMG_A;
  listLen = 0;
  listBytes = 0;
  buildImage(img, LEAF, 0, 0, 0, 0);
  installImage(root, img);
  store<u32>(abs(m), MAP_MAGIC);
  store<u32>(abs(m), NODE_SIZE, 4);
  store<u32>(abs(m), root, M_ROOT);
  store<u32>(abs(m), 1, M_HEIGHT);
  return m;
}

/** A new, empty map; its header's offset goes to OUT+4. */
export function btreeCreate(): Code {
  let code = opBegin();
  if (code != Code.OK) return code;
  const m = createIn();
  code = opEnd(m == 0 ? lastError : Code.OK);
  store<u32>(OUT, code == Code.OK ? m : 0, 4);
  return code;
}

/** OK if `m` holds a map header whose root is a sane node of the kind its height says (checked when a map is opened). */
export function btreeValid(m: u32): Code {
  const code = mapCode(m);
  if (code != Code.OK) return code;
  return nodeSane(rootOf(m), heightOf(m) == 1 ? LEAF : INNER) ? Code.OK : Code.CORRUPT_HEAP;
}

// ─── reads ──────────────────────────────────────────────────────────────────

/**
 * Result words at OUT: +0 u32 found, +4 leaf, +8 index, +12 key offset,
 * +16 key length, +20 value offset, +24 value length (pool offsets), +28
 * damage (1: the read met a damaged cell or leaf link and stopped).
 */
function writeEntry(leaf: u32, idx: u32): u32 {
  const c = cellAt(leaf, idx);
  if (!cellFits(leaf, c, true) || (isExternal(word2(c)) && !blobFits(c))) return damage();
  store<u32>(OUT, 1);
  store<u32>(OUT, leaf, 4);
  store<u32>(OUT, idx, 8);
  store<u32>(OUT, c + 6, 12);
  store<u32>(OUT, keyLenOf(c), 16);
  store<u32>(OUT, valueOff(c), 20);
  store<u32>(OUT, word2(c), 24);
  return 1;
}

function notFound(): u32 { store<u32>(OUT, 0); return 0; }

/** A read met damage: no entry, OUT+28 set (the host refuses it: CorruptHeapError). */
function damage(): u32 {
  damaged = true;
  store<u32>(OUT, 1, 28);
  return notFound();
}

/** Does leaf cell `c`'s blob word name a live value object of exactly its value length? */
function blobFits(c: u32): bool {
  const blob = load<u32>(abs(c + 6 + keyLenOf(c)));
  return isObjectOf(blob, TYPE_VALUE) && objectDataLen(blob) == word2(c);
}

/** Start a read: no damage seen yet. */
function readBegin(): void {
  damaged = false;
  store<u32>(OUT, 0, 28);
}

/** Look up the key at IO_IN: OUT+0 says whether it is there, the entry follows (writeEntry). CORRUPT_HEAP on a damaged node. */
export function btreeGet(m: u32, klen: u32): Code {
  readBegin();
  const code = mapCode(m);
  if (code != Code.OK) return code;
  if (klen > KEY_MAX) { notFound(); return Code.OK; }
  const leaf = descend(m, IO_IN, klen);
  if (leaf == 0) return Code.CORRUPT_HEAP;
  if (found) writeEntry(leaf, pathIdx(heightOf(m) - 1)); else notFound();
  return damaged ? Code.CORRUPT_HEAP : Code.OK;
}

/** From (leaf, idx) on, the first entry in direction `dir` (1 forward, -1 back), skipping empty leaves. */
function settle(leaf: u32, idx: i32, dir: i32): u32 {
  while (leaf != 0) {
    if (idx >= 0 && idx < <i32>countOf(leaf)) return writeEntry(leaf, <u32>idx);
    leaf = dir > 0 ? nextOf(leaf) : link12(leaf);
    if (leaf != 0 && !nodeSane(leaf, LEAF)) return damage();
    idx = dir > 0 || leaf == 0 ? 0 : <i32>countOf(leaf) - 1;
  }
  return notFound();
}

/**
 * Position a cursor: mode 0 first key >= IO_IN key, 1 last key <= it,
 * 2 first entry, 3 last entry. Entry at OUT (found 0: none).
 */
export function btreeSeek(m: u32, klen: u32, mode: u32): Code {
  readBegin();
  const code = mapCode(m);
  if (code != Code.OK) return code;
  const h = heightOf(m);
  if (mode >= 2) {
    let n = rootOf(m);
    for (let l: u32 = 0; l + 1 < h; l++) {
      if (!nodeSane(n, INNER)) return Code.CORRUPT_HEAP;
      n = childAt(n, mode == 2 ? 0 : countOf(n));
    }
    if (!nodeSane(n, LEAF)) return Code.CORRUPT_HEAP;
    settle(n, mode == 2 ? 0 : <i32>countOf(n) - 1, mode == 2 ? 1 : -1);
    return damaged ? Code.CORRUPT_HEAP : Code.OK;
  }
  const leaf = descend(m, IO_IN, klen);
  if (leaf == 0) return Code.CORRUPT_HEAP;
  const idx = <i32>pathIdx(h - 1);
  if (mode == 0) settle(leaf, idx, 1);
  else settle(leaf, found ? idx : idx - 1, -1);
  return damaged ? Code.CORRUPT_HEAP : Code.OK;
}

/** The entry after (dir 1) or before (dir -1) position (leaf, idx), at OUT (OUT+28 set: damage met). Valid only while the epoch is unchanged. */
export function btreeStep(leaf: u32, idx: u32, dir: i32): u32 {
  readBegin();
  return settle(leaf, <i32>idx + dir, dir);
}

/** Is the key of cell `c` at or past the range's bound (the key at IO_IN, `endLen` bytes) in direction `dir`? */
function pastEnd(c: u32, dir: i32, endLen: u32): bool {
  if (endLen == NO_END) return false;
  const cmp = compareKeys(abs(c) + 6, keyLenOf(c), IO_IN, endLen);
  return dir > 0 ? cmp >= 0 : cmp <= 0;
}

/**
 * Gather up to `max` (at most GATHER_CAP) entries at GATHER, from the
 * entry at position (leaf, idx) on in direction `dir` (1 forward, -1
 * back), stopping before the first key at or past the bound at IO_IN
 * (`endLen` bytes; NO_END: none). Returns how many; OUT then holds the
 * entry after the last one gathered (found 0: the range is done; OUT+28
 * set: it stopped at damage). The
 * position must come from a seek, step or gather made since the epoch
 * last moved.
 */
export function btreeGather(leaf: u32, idx: u32, dir: i32, max: u32, endLen: u32): u32 {
  readBegin();
  const cap = max < GATHER_CAP ? max : GATHER_CAP;
  let n: u32 = 0;
  let more = settle(leaf, <i32>idx, dir);
  while (more != 0 && n < cap) {
    const l = load<u32>(OUT, 4), i = load<u32>(OUT, 8);
    const c = cellAt(l, i);
    if (pastEnd(c, dir, endLen)) { notFound(); break; }
    const g = GATHER + (<usize>n << 4);
    store<u32>(g, c + 6);
    store<u32>(g, keyLenOf(c), 4);
    store<u32>(g, valueOff(c), 8);
    store<u32>(g, word2(c), 12);
    n++;
    more = settle(l, <i32>i + dir, dir);
  }
  return n;
}
export function btreeGatherOut(): usize { return GATHER; }

export function btreeCount(m: u32): f64 { return mapCode(m) == Code.OK ? <f64>load<u64>(abs(m), M_COUNT) : -1; }
export function btreeEpoch(): u32 { return epoch; }
export function btreeIo(): usize { return IO_IN; }
export function btreeIoCap(): u32 { return IO_CAP; }
export function btreeOut(): usize { return OUT; }
export function btreeKeyMax(): u32 { return KEY_MAX; }

// ─── write-side checks ──────────────────────────────────────────────────────
//
// The descent checked the path's node headers and the cells it probed. A
// write checks everything else it will read before it logs or stores
// anything — each cell of a node it rebuilds, splits or merges
// (cellsSound), the blob of a cell it replaces or removes (blobFits), each
// leaf link it repoints (linkedAfter), a merge's sibling (nodeSane) — and
// answers CORRUPT_HEAP with the pool untouched. A put in place reads one
// node's slots (slotsAboveTop); only writes that rebuild nodes pay for
// reading their cells.

/**
 * Are all of `n`'s cells inside its cell area, and do its slots and cells
 * add up to what its header accounts for (usedOf)? With `blobs`, every
 * leaf cell's value blob is checked too (its cells move to another node).
 */
function cellsSound(n: u32, leaf: bool, blobs: bool): bool {
  const count = countOf(n);
  let used = count << 1;
  for (let i: u32 = 0; i < count; i++) {
    const c = cellAt(n, i);
    if (!cellFits(n, c, leaf) || (blobs && leaf && isExternal(word2(c)) && !blobFits(c))) return false;
    used += cellSizeAt(leaf, c);
  }
  return used == usedOf(n);
}

/** Do all of `n`'s slots point at or above its top, so that a cell placed just below top overwrites none? */
function slotsAboveTop(n: u32): bool {
  const top = topOf(n);
  const end = abs(n) + NODE_HDR + (<usize>countOf(n) << 1);
  for (let s = abs(n) + NODE_HDR; s < end; s += 2) if (<u32>load<u16>(s) < top) return false;
  return true;
}

/** Is `next` (0: none) a leaf whose previous-leaf link names `leaf` (a split or merge repoints it)? */
function linkedAfter(leaf: u32, next: u32): bool {
  return next == 0 || (nodeSane(next, LEAF) && link12(next) == leaf);
}

/** May `n`'s garbage count grow by `size` bytes, its top at `top` (a cell dropped or replaced in place)? */
function garbageFits(n: u32, top: u32, size: u32): bool { return garbageOf(n) + size <= NODE_SIZE - top; }

/**
 * What a put reads beyond the descent: in place, the leaf's slots (the new
 * cell goes just below top) and the garbage count a replaced cell grows;
 * rebuilt or split, every cell of the leaf, and for a split the next
 * leaf's link and every cell of the inner levels that take a separator.
 */
function putSound(leaf: u32, op: u32, size: u32, oldSize: u32, splits: u32, rebuild: bool, h: u32): bool {
  if (!rebuild) return (op == REPLACE && size == oldSize) || (slotsAboveTop(leaf) && (op == INSERT || garbageFits(leaf, topOf(leaf) - size, oldSize)));
  if (!cellsSound(leaf, true, splits != 0)) return false;
  if (splits != 0 && !linkedAfter(leaf, nextOf(leaf))) return false;
  for (let l = <i32>h - 2; l >= <i32>h - 1 - <i32>splits && l >= 0; l--) if (!cellsSound(pathNode(<u32>l), false, false)) return false;
  return true;
}

/** What a merge of `right` into `left` reads: every cell of both, and (leaves) the link after `right` it repoints. */
function mergeSound(left: u32, right: u32, leaf: bool): bool {
  return cellsSound(left, leaf, leaf) && cellsSound(right, leaf, leaf) && (!leaf || linkedAfter(right, nextOf(right)));
}

// ─── put ────────────────────────────────────────────────────────────────────

/** Build the leaf cell for IO_IN's key at NEWCELL (leafCellSize bytes). */
function buildLeafCell(klen: u32, vlen: u32, blob: u32, copy: bool): void {
  store<u16>(NEWCELL, <u16>klen);
  store<u32>(NEWCELL, vlen, 2);
  memory.copy(NEWCELL + 6, IO_IN, klen);
  if (blob != 0) store<u32>(NEWCELL + 6 + klen, blob);
  else if (copy) memory.copy(NEWCELL + 6 + klen, IO_IN + klen, vlen);
}

/** How many levels from the leaf up may split when the leaf does (a level with room for any separator stops it). */
function splittingLevels(h: u32): u32 {
  let n: u32 = 1;
  for (let l = <i32>h - 2; l >= 0; l--) {
    if (CAP - usedOf(pathNode(<u32>l)) >= INNER_CELL_MAX) break;
    n++;
  }
  return n;
}

/** Free bytes between `n`'s slots and its cells (the gap a cell and its slot are placed into in place). */
function gapOf(n: u32): u32 { return topOf(n) - NODE_HDR - (countOf(n) << 1); }

/**
 * Log what a cell of at most `size` bytes placed into `n` at `idx` in place
 * changes: the header and the slots from idx on (they shift, or idx's is
 * replaced). The cell and an insert's last slot land in the gap — bytes no
 * slot names, unused since the node was last rebuilt (a rebuild logs the
 * whole node) — so they get no undo entry, only a mark that the commit
 * flushes them: a rollback restores the header and slots, which make them
 * unreachable again, whatever they hold.
 */
function logInGap(n: u32, idx: u32, size: u32): Code {
  const count = countOf(n);
  let code = logSlots(n, idx, count);
  if (code == Code.OK) code = markUnlogged(n + NODE_HDR + (count << 1), 2);
  return code == Code.OK ? markUnlogged(n + topOf(n) - size, size) : code;
}

/** Log what a put will change. `splits` 0: the leaf alone (`inPlace`: fast path). */
function logPut(m: u32, leaf: u32, idx: u32, op: u32, size: u32, splits: u32, h: u32): Code {
  let code = logRange(m, 24);
  if (code != Code.OK) return code;
  if (splits == 0) {
    if (op == REPLACE && size == cellSizeAt(true, cellAt(leaf, idx))) return logRange(cellAt(leaf, idx), size);
    return gapOf(leaf) < size + (op == INSERT ? 2 : 0) ? logNode(leaf) : logInGap(leaf, idx, size);
  }
  code = logNode(leaf);
  if (code == Code.OK && nextOf(leaf) != 0) code = logRange(nextOf(leaf) + 12, 4);
  // the splitting inner levels (rebuilt), and the one that absorbs the last separator: in place if its gap holds any separator
  const top = <i32>h - 1 - <i32>splits;
  for (let l = <i32>h - 2; l > top && code == Code.OK; l--) code = logNode(pathNode(<u32>l));
  if (top >= 0 && code == Code.OK) {
    const n = pathNode(<u32>top);
    code = gapOf(n) >= INNER_CELL_MAX ? logInGap(n, pathIdx(<u32>top), INNER_CELL_MAX - 2) : logNode(n);
  }
  return code;
}

/** Put a fitting cell into `n` at `idx`: in place when the free gap holds it, else rebuild from the list. */
function placeCell(n: u32, idx: u32, op: u32, cell: usize, size: u32): void {
  const count = countOf(n);
  const slots = abs(n) + NODE_HDR;
  if (op == REPLACE && size == cellSizeAt(kindOf(n) == LEAF, cellAt(n, idx))) {
    memory.copy(abs(cellAt(n, idx)), cell, size);
    return;
  }
  if (gapOf(n) < size + (op == INSERT ? 2 : 0)) {
    buildImage(IMG_A, kindOf(n), 0, listLen, nextOf(n), link12(n));
    installImage(n, IMG_A);
    return;
  }
  const top = topOf(n) - size;
  memory.copy(abs(n) + top, cell, size);
  if (op == INSERT) {
    memory.copy(slots + ((<usize>idx + 1) << 1), slots + (<usize>idx << 1), <usize>(count - idx) << 1);
    store<u16>(abs(n), <u16>(count + 1), 2);
  } else {
    store<u16>(abs(n), <u16>(garbageOf(n) + cellSizeAt(kindOf(n) == LEAF, cellAt(n, idx))), 6);
  }
  store<u16>(slots + (<usize>idx << 1), <u16>top);
  store<u16>(abs(n), <u16>top, 4);
}

/** Split the overfull list of `n` (its cell `idx` inserted / replaced by `op`) into `n` and a new right node; the separator cell goes to `sep`. */
function splitNode(n: u32, idx: u32, op: u32, sep: usize): void {
  const leaf = kindOf(n) == LEAF;
  const right = takeNewNode();
  const s = splitPoint(n, idx, op);
  if (leaf) {
    const next = nextOf(n);
    buildImage(IMG_A, LEAF, 0, s, right, link12(n));
    buildImage(IMG_B, LEAF, s, listLen, next, n);
    const k = listSrc(s);
    const klen = <u32>load<u16>(k);
    store<u16>(sep, <u16>klen);
    memory.copy(sep + 6, k + 6, klen);
    if (next != 0) store<u32>(abs(next), right, 12);
  } else {
    const mid = listSrc(s);
    memory.copy(sep, mid, listSize(s));
    buildImage(IMG_A, INNER, 0, s, 0, link12(n));
    buildImage(IMG_B, INNER, s + 1, listLen, 0, load<u32>(mid, 2));
  }
  store<u32>(sep, right, 2);
  installImage(n, IMG_A);
  installImage(right, IMG_B);
}

/** Apply a put (`op` at the leaf) whose leaf list (already built) overflows: split upward until a level absorbs the separator. */
function splitUpward(m: u32, h: u32, op: u32): void {
  let l = <i32>h - 1;
  let n = pathNode(<u32>l);
  let sep = SEP_A, other = SEP_B;
  while (true) {
    splitNode(n, pathIdx(<u32>l), op, sep);
    if (l == 0) {
      const root = takeNewNode();
      listLen = 0;
      listBytes = 0;
      listPush(sep, 6 + <u32>load<u16>(sep));
      buildImage(IMG_A, INNER, 0, 1, 0, n);
      installImage(root, IMG_A);
      store<u32>(abs(m), root, M_ROOT);
      store<u32>(abs(m), h + 1, M_HEIGHT);
      return;
    }
    l--;
    n = pathNode(<u32>l);
    const idx = pathIdx(<u32>l);
    const size = 6 + <u32>load<u16>(sep);
    listModified(n, idx, INSERT, sep, size);
    if (listBytes <= CAP) { placeCell(n, idx, INSERT, sep, size); return; }
    op = INSERT;
    const t = sep; sep = other; other = t; // the list still points at the old separator
  }
}

function putPlanned(m: u32, klen: u32, vlen: u32, copy: bool): Code {
  const h = heightOf(m);
  const leaf = descend(m, IO_IN, klen);
  if (leaf == 0) return Code.CORRUPT_HEAP;
  const idx = pathIdx(h - 1);
  const op = found ? REPLACE : INSERT;
  const old = cellAt(leaf, idx); // the replaced cell (op REPLACE only)
  const oldBlob = op == REPLACE && isExternal(word2(old)) ? valueOff(old) : 0;
  if (!listsHaveRoom(h + 4)) return Code.TX_TOO_LARGE;
  const size = leafCellSize(klen, vlen);
  const oldSize = op == REPLACE ? cellSizeAt(true, old) : 0;
  const used = usedOf(leaf) - oldSize + size + (op == INSERT ? 2 : 0); // what the cell list would measure
  const splits = used <= CAP ? 0 : splittingLevels(h);
  // The cell list is built only when the leaf must be rebuilt or split (placeCell and splitUpward read it).
  const inGap = (op == REPLACE && size == oldSize) || gapOf(leaf) >= size + (op == INSERT ? 2 : 0);
  const rebuild = splits != 0 || !inGap;
  if ((oldBlob != 0 && !blobFits(old)) || !putSound(leaf, op, size, oldSize, splits, rebuild, h)) return Code.CORRUPT_HEAP;
  let blob: u32 = 0;
  if (isExternal(vlen)) {
    blob = alloc(vlen, TYPE_VALUE, 0, 0);
    if (blob == 0) return lastError;
  }
  buildLeafCell(klen, vlen, blob, copy);
  if (rebuild) {
    listModified(leaf, idx, op, NEWCELL, size);
    assert(listBytes == used, "btree: cell list size"); // putSound checked the leaf's cells add up
  }
  let code = allocNewNodes(splits + (splits == h ? 1 : 0));
  if (code == Code.OK) code = logPut(m, leaf, idx, op, size, splits, h);
  if (code != Code.OK) { releaseNew(blob); return code; }
  drainIfEager();
  if (splits == 0) placeCell(leaf, idx, op, NEWCELL, size);
  else splitUpward(m, h, op);
  if (op == INSERT) setCount(m, 1);
  releaseUnusedNodes();
  if (blob != 0) {
    if (copy) memory.copy(abs(blob), IO_IN + klen, vlen);
    store<u32>(OUT, blob, 20);
  }
  return oldBlob != 0 ? free(oldBlob, 0) : Code.OK;
}

/**
 * Insert or overwrite the key at IO_IN. copy 1: the value follows the key
 * at IO_IN; copy 0 (a value longer than INLINE_MAX, inside an open
 * transaction): the value's blob offset is left at OUT+20 for the caller
 * to fill before commit.
 */
export function btreePut(m: u32, klen: u32, vlen: u32, copy: u32): Code {
  epoch++;
  let code = mapCode(m);
  if (code != Code.OK) return code;
  if (klen > KEY_MAX || (copy != 0 && <u64>klen + vlen > <u64>IO_CAP)) return Code.BAD_SIZE;
  if (copy == 0 && (!isExternal(vlen) || txDepth() == 0)) return Code.TX_STATE;
  code = opBegin();
  if (code != Code.OK) return code;
  return opEnd(putPlanned(m, klen, vlen, copy != 0));
}

// ─── remove ─────────────────────────────────────────────────────────────────

// @ts-ignore: decorator
@inline function mergeAt(l: u32, field: u32): u32 { return load<u32>(MERGE + (<usize>l << 4) + (field << 2)); }
function setMerge(l: u32, left: u32, right: u32, sep: u32, on: u32): void {
  const a = MERGE + (<usize>l << 4);
  store<u32>(a, left);
  store<u32>(a, right, 4);
  store<u32>(a, sep, 8);
  store<u32>(a, on, 12);
}

/**
 * Decide the merges a removal causes, bottom-up (recorded at MERGE per
 * level). Returns the top level that changes without merging. Checks what
 * the merges and the final drop will read (a parent's cells naming the
 * sibling and the separator, the sibling, mergeSound, the dropped cell's
 * garbage): on damage it sets `damaged` (the caller answers CORRUPT_HEAP).
 */
function planMerges(h: u32, leafCell: u32): u32 {
  let l = h - 1;
  let size = cellSizeAt(true, leafCell); // the cell level l loses
  for (; l > 0; l--) {
    setMerge(l, 0, 0, 0, 0);
    const node = pathNode(l);
    if (usedOf(node) < size + 2) return planDamage();
    const usedAfter = usedOf(node) - size - 2;
    if (usedAfter >= UNDERFLOW) return dropAt(l, size);
    const parent = pathNode(l - 1), ci = pathIdx(l - 1);
    if (ci == 0 && countOf(parent) == 0) return dropAt(l, size);
    const sep = ci > 0 ? ci - 1 : 0;
    if (!cellFits(parent, cellAt(parent, sep), false) || (sep > 0 && !cellFits(parent, cellAt(parent, sep - 1), false))) return planDamage();
    const sib = childAt(parent, ci > 0 ? ci - 1 : 1);
    const left = ci > 0 ? sib : node, right = ci > 0 ? node : sib;
    const leaf = l == h - 1;
    if (!nodeSane(sib, leaf ? LEAF : INNER) || (leaf && (nextOf(left) != right || link12(right) != left))) return planDamage();
    const pulled = leaf ? 0 : 6 + keyLenOf(cellAt(parent, sep)) + 2;
    if (usedAfter + usedOf(sib) + pulled > CAP) return dropAt(l, size);
    if (!mergeSound(left, right, leaf)) return planDamage();
    setMerge(l, left, right, sep, 1);
    size = 6 + keyLenOf(cellAt(parent, sep));
  }
  setMerge(0, 0, 0, 0, 0);
  return usedOf(pathNode(0)) < size + 2 ? planDamage() : dropAt(0, size);
}

/** The removal stops at level l, whose node drops a cell of `size` bytes in place (dropCell): can its garbage count take it? */
function dropAt(l: u32, size: u32): u32 {
  const n = pathNode(l);
  return garbageFits(n, topOf(n), size) ? l : planDamage();
}

function planDamage(): u32 { damaged = true; return 0; }

function logRemove(m: u32, h: u32, top: u32, idx: u32): Code {
  let code = logRange(m, 24);
  let removeAt = idx;
  for (let l = h - 1; l > top && code == Code.OK; l--) {
    code = logNode(mergeAt(l, 0));
    const right = mergeAt(l, 1);
    if (code == Code.OK && l == h - 1 && nextOf(right) != 0) code = logRange(nextOf(right) + 12, 4);
    removeAt = mergeAt(l, 2);
  }
  const n = pathNode(top);
  return code != Code.OK ? code : logSlots(n, removeAt, countOf(n));
}

/** Merge `right` into `left` at level l, node pathNode(l) having lost cell `idx`. */
function applyMerge(l: u32, h: u32, idx: u32): void {
  const left = mergeAt(l, 0), right = mergeAt(l, 1), node = pathNode(l);
  const leaf = l == h - 1;
  listLen = 0;
  listBytes = 0;
  if (node == left) listModified(left, idx, DELETE, 0, 0); else listNode(left, 0, countOf(left));
  if (!leaf) { // the separator comes down, with right's child0
    const parentSep = cellAt(pathNode(l - 1), mergeAt(l, 2));
    const size = 6 + keyLenOf(parentSep);
    memory.copy(SEP_A, abs(parentSep), size);
    store<u32>(SEP_A, link12(right), 2);
    listPush(SEP_A, size);
  }
  if (node == right) {
    const from = listLen;
    listNode(right, 0, idx);
    listNode(right, idx + 1, countOf(right));
    assert(listLen >= from, "btree: merge list");
  } else {
    listNode(right, 0, countOf(right));
  }
  const next = leaf ? nextOf(right) : 0;
  buildImage(IMG_A, leaf ? LEAF : INNER, 0, listLen, next, link12(left));
  installImage(left, IMG_A);
  if (leaf && next != 0) store<u32>(abs(next), left, 12);
}

/** Drop cell `idx` of `n` in place: the slot goes, the cell becomes garbage. */
function dropCell(n: u32, idx: u32): void {
  const count = countOf(n);
  const slots = abs(n) + NODE_HDR;
  const size = cellSizeAt(kindOf(n) == LEAF, cellAt(n, idx));
  memory.copy(slots + (<usize>idx << 1), slots + ((<usize>idx + 1) << 1), <usize>(count - idx - 1) << 1);
  store<u16>(abs(n), <u16>(count - 1), 2);
  store<u16>(abs(n), <u16>(garbageOf(n) + size), 6);
}

function removePlanned(m: u32, klen: u32): Code {
  const h = heightOf(m);
  const leaf = descend(m, IO_IN, klen);
  if (leaf == 0) return Code.CORRUPT_HEAP;
  store<u32>(OUT, found ? 1 : 0);
  if (!found) return Code.OK;
  const idx = pathIdx(h - 1);
  const cell = cellAt(leaf, idx);
  const blob = isExternal(word2(cell)) ? valueOff(cell) : 0;
  if (!listsHaveRoom(2 * h + 2)) return Code.TX_TOO_LARGE;
  const count = load<u64>(abs(m), M_COUNT);
  if ((blob != 0 && !blobFits(cell)) || count == 0 || (h > 1 && countOf(rootOf(m)) == 0)) return Code.CORRUPT_HEAP;
  if (h > 1 && count == 1) {
    const all = gatherNodes(rootOf(m), 0, h, leaf);
    if (damaged || (all && nextOf(gatherPrev) != 0)) return Code.CORRUPT_HEAP;
    if (all) return removeLast(m, blob);
  }
  const top = planMerges(h, cell);
  if (damaged) return Code.CORRUPT_HEAP;
  const code = logRemove(m, h, top, idx);
  if (code != Code.OK) return code;
  drainIfEager();
  let removeAt = idx;
  for (let l = h - 1; l > top; l--) {
    applyMerge(l, h, removeAt);
    removeAt = mergeAt(l, 2);
  }
  dropCell(pathNode(top), removeAt);
  setCount(m, -1);
  return freeRemoved(m, h, top, blob);
}

/** Free the merged-away nodes and the value's blob; collapse a root left with one child. */
function freeRemoved(m: u32, h: u32, top: u32, blob: u32): Code {
  let code = blob != 0 ? free(blob, 0) : Code.OK;
  for (let l = h - 1; l > top && code == Code.OK; l--) code = free(mergeAt(l, 1), 0);
  let root = rootOf(m), height = h;
  while (code == Code.OK && height > 1 && countOf(root) == 0) {
    code = free(root, 0);
    root = link12(root);
    height--;
  }
  if (height != h) {
    store<u32>(abs(m), root, M_ROOT);
    store<u32>(abs(m), height, M_HEIGHT);
  }
  return code;
}

/** The leaves gatherNodes has met: the last one, and the first (it stays). */
let gatherPrev: u32 = 0;
let gatherFirst: u32 = 0;

/**
 * List every node of the tree but its first leaf at CELLS (as u32s, in
 * listLen). Only for a tree about to lose its last entry, held by `leaf`:
 * each node is checked to be one — inner nodes above, leaves at depth h−1,
 * chained in order, all empty but `leaf` with its one entry — else
 * `damaged` is set. False if damaged, or if there are more than the list
 * holds.
 */
function gatherNodes(n: u32, depth: u32, h: u32, leaf: u32): bool {
  if (depth == 0) { listLen = 0; gatherPrev = 0; }
  if (depth == h - 1) {
    if (!nodeSane(n, LEAF) || link12(n) != gatherPrev || (gatherPrev != 0 && nextOf(gatherPrev) != n) || countOf(n) != (n == leaf ? 1 : 0)) return gatherDamage();
    gatherPrev = n;
    if (link12(n) == 0) { gatherFirst = n; return true; } // the first leaf stays
  } else {
    if (!nodeSane(n, INNER)) return gatherDamage();
    for (let i: u32 = 0; i <= countOf(n); i++) {
      if (i > 0 && !cellFits(n, cellAt(n, i - 1), false)) return gatherDamage();
      if (!gatherNodes(childAt(n, i), depth + 1, h, leaf)) return false;
    }
  }
  if (listLen == CELLS_CAP * 2) return false;
  store<u32>(CELLS + (<usize>listLen << 2), n);
  listLen++;
  return true;
}

function gatherDamage(): bool { damaged = true; return false; }

/**
 * The last entry goes: the first leaf becomes the root of an empty map and
 * every other node is freed (lazy merging can leave empty leaves that no
 * later removal would merge away). gatherNodes has listed and checked them.
 */
function removeLast(m: u32, blob: u32): Code {
  const first = gatherFirst;
  if (!listsHaveRoom(listLen + 1)) return Code.TX_TOO_LARGE;
  let code = logRange(m, 24);
  if (code == Code.OK) code = logRange(first, NODE_HDR);
  if (code != Code.OK) return code;
  drainIfEager();
  listBytes = 0;
  const nodes = listLen;
  listLen = 0;
  buildImage(IMG_A, LEAF, 0, 0, 0, 0);
  installImage(first, IMG_A);
  store<u32>(abs(m), first, M_ROOT);
  store<u32>(abs(m), 1, M_HEIGHT);
  setCount(m, -1);
  code = blob != 0 ? free(blob, 0) : Code.OK;
  for (let i: u32 = 0; i < nodes && code == Code.OK; i++) code = free(load<u32>(CELLS + (<usize>i << 2)), 0);
  return code;
}

/** Remove the key at IO_IN; OUT+0 says whether it was there. */
export function btreeRemove(m: u32, klen: u32): Code {
  epoch++;
  store<u32>(OUT, 0);
  let code = mapCode(m);
  if (code != Code.OK) return code;
  if (klen > KEY_MAX) return Code.OK;
  code = opBegin();
  if (code != Code.OK) return code;
  return opEnd(removePlanned(m, klen));
}

// ─── the check ──────────────────────────────────────────────────────────────

let chkObjects: u32 = 0;
let chkEntries: u64 = 0;
let chkPrevLeaf: u32 = 0;
let chkLastKey: usize = 0;
let chkLastLen: u32 = 0;
let chkProblem: u32 = 0;

function bad(at: u32): bool { if (chkProblem == 0) chkProblem = at == 0 ? 1 : at; return false; }

/** Check one node's own layout: cells inside [top, end), live bytes add up, keys in bounds and increasing. */
function nodeLayoutOk(n: u32, leaf: bool, lo: usize, loLen: u32, hi: usize, hiLen: u32): bool {
  const count = countOf(n);
  let cells: u32 = 0;
  let prev: usize = 0, prevLen: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const rel = <u32>load<u16>(abs(n) + NODE_HDR + (<usize>i << 1));
    if (rel < topOf(n) || rel + 6 > NODE_SIZE) return bad(n);
    const c = n + rel;
    const size = cellSizeAt(leaf, c);
    if (keyLenOf(c) > KEY_MAX || rel + size > NODE_SIZE) return bad(c);
    cells += size;
    const k = abs(c) + 6, klen = keyLenOf(c);
    if (i > 0 && compareKeys(prev, prevLen, k, klen) >= 0) return bad(c);
    if (lo != 0 && compareKeys(k, klen, lo, loLen) < 0) return bad(c);
    if (hi != 0 && compareKeys(k, klen, hi, hiLen) >= 0) return bad(c);
    prev = k;
    prevLen = klen;
  }
  if ((count << 1) + cells != usedOf(n) || usedOf(n) > CAP) return bad(n);
  return true;
}

function leafOk(n: u32): bool {
  if (link12(n) != chkPrevLeaf) return bad(n + 12);
  if (chkPrevLeaf != 0 && nextOf(chkPrevLeaf) != n) return bad(chkPrevLeaf + 8);
  chkPrevLeaf = n;
  const count = countOf(n);
  for (let i: u32 = 0; i < count; i++) {
    const c = cellAt(n, i);
    if (chkLastKey != 0 && compareKeys(chkLastKey, chkLastLen, abs(c) + 6, keyLenOf(c)) >= 0) return bad(c);
    chkLastKey = abs(c) + 6;
    chkLastLen = keyLenOf(c);
    if (isExternal(word2(c))) {
      const blob = valueOff(c);
      if (!isObjectOf(blob, TYPE_VALUE) || objectDataLen(blob) != word2(c)) return bad(c);
      chkObjects++;
    }
  }
  chkEntries += count;
  return true;
}

function subtreeOk(n: u32, depth: u32, h: u32, lo: usize, loLen: u32, hi: usize, hiLen: u32): bool {
  const leaf = depth == h - 1;
  if (!nodeSane(n, leaf ? LEAF : INNER)) return bad(n);
  chkObjects++;
  if (!nodeLayoutOk(n, leaf, lo, loLen, hi, hiLen)) return false;
  if (leaf) return leafOk(n);
  const count = countOf(n);
  if (n == 0 || (depth == 0 && count == 0)) return bad(n);
  for (let i: u32 = 0; i <= count; i++) {
    const l = i == 0 ? lo : abs(cellAt(n, i - 1)) + 6;
    const lLen = i == 0 ? loLen : keyLenOf(cellAt(n, i - 1));
    const r = i == count ? hi : abs(cellAt(n, i)) + 6;
    const rLen = i == count ? hiLen : keyLenOf(cellAt(n, i));
    if (!subtreeOk(childAt(n, i), depth + 1, h, l, lLen, r, rLen)) return false;
  }
  return true;
}

/**
 * Verify every invariant of the map at `m`. Returns OK or CORRUPT_HEAP
 * (offset of the first problem at OUT+4); OUT+8 holds the number of objects
 * the map owns (header, nodes, blobs), OUT+12 its height, OUT+16 (f64) its
 * entry count.
 */
export function btreeCheck(m: u32): Code {
  const code = mapCode(m);
  if (code != Code.OK) return code;
  chkObjects = 1;
  chkEntries = 0;
  chkPrevLeaf = 0;
  chkLastKey = 0;
  chkLastLen = 0;
  chkProblem = 0;
  const ok = subtreeOk(rootOf(m), 0, heightOf(m), 0, 0, 0, 0);
  if (ok && nextOfLast() && chkEntries != load<u64>(abs(m), M_COUNT)) bad(m + M_COUNT);
  store<u32>(OUT, chkProblem, 4);
  setOut(0, chkProblem); // where the containers' host code looks for the damaged word
  store<u32>(OUT, chkObjects, 8);
  store<u32>(OUT, heightOf(m), 12);
  store<f64>(OUT, <f64>chkEntries, 16);
  return chkProblem == 0 ? Code.OK : Code.CORRUPT_HEAP;
}

/** The last leaf ends the chain. */
function nextOfLast(): bool { return chkPrevLeaf == 0 || nextOf(chkPrevLeaf) == 0 ? true : bad(chkPrevLeaf + 8); }
