// map-nodes.ts — where an OrderedMap's objects lie in a pool image, read
// from the node layout drawn in assembly/containers/btree.ts (map header:
// root at +8, height at +12; node: u16 kind, count, top, garbage, u32 next,
// u32 prev / child0, u16 slots; leaf cell: u16 keyLen, u32 valLen, key,
// inline value or u32 blob; inner cell: u16 keyLen, u32 child, key).
//
// Only for images whose map passes check(): it trusts every word it reads.
// Offsets are pool offsets (an image's byte index); an object's 16-byte
// header lies just before its offset.

import { u32At } from './pool-files.js';

/** Longest value kept inside its leaf cell (the core's INLINE_MAX); longer ones live in a blob. */
export const INLINE_MAX = 256;
/** A node's payload size (the core's NODE_SIZE). */
export const NODE_SIZE = 4080;
/** Bytes of an object header in front of every object's payload. */
export const OBJECT_HEADER = 16;

const u16At = (image: Uint8Array, off: number) => image[off] | (image[off + 1] << 8);

/** One cell of a node: where it is, its key and (leaves) its value length and blob. */
export interface MapCell {
  /** Pool offset of the cell (its keyLen field). */
  at: number;
  key: Uint8Array;
  /** Leaf: the value's length. Inner: the child's offset. */
  word: number;
  /** Leaf with a value longer than INLINE_MAX: the blob's offset; else 0. */
  blob: number;
}

/** One node: its offset, depth (0: the root), kind and cells in key order. */
export interface MapNode {
  at: number;
  depth: number;
  leaf: boolean;
  count: number;
  top: number;
  /** Bytes of slots and live cells (what the node's header accounts for). */
  used: number;
  /** Leaves: the next leaf (0: the last). */
  next: number;
  /** Leaves: the previous leaf; inner nodes: child 0. */
  link: number;
  cells: MapCell[];
  /** Inner nodes: every child, child 0 first. */
  children: number[];
}

/** The map at `mapOff` in `image`: its height and every node, depth-first, children in key order. */
export function mapNodes(image: Uint8Array, mapOff: number): { height: number; nodes: MapNode[] } {
  const height = u32At(image, mapOff + 12);
  const nodes: MapNode[] = [];
  const visit = (at: number, depth: number) => {
    const node = readNode(image, at, depth, depth === height - 1);
    nodes.push(node);
    for (const child of node.children) visit(child, depth + 1);
  };
  visit(u32At(image, mapOff + 8), 0);
  return { height, nodes };
}

function readNode(image: Uint8Array, at: number, depth: number, leaf: boolean): MapNode {
  const count = u16At(image, at + 2), top = u16At(image, at + 4), garbage = u16At(image, at + 6);
  const cells = Array.from({ length: count }, (_, i) => readCell(image, at + u16At(image, at + 16 + 2 * i), leaf));
  const link = u32At(image, at + 12);
  return {
    at, depth, leaf, count, top, used: 2 * count + NODE_SIZE - top - garbage, next: u32At(image, at + 8), link, cells,
    children: leaf ? [] : [link, ...cells.map((c) => c.word)],
  };
}

function readCell(image: Uint8Array, at: number, leaf: boolean): MapCell {
  const klen = u16At(image, at), word = u32At(image, at + 2);
  const key = image.slice(at + 6, at + 6 + klen);
  return { at, key, word, blob: leaf && word > INLINE_MAX ? u32At(image, at + 6 + klen) : 0 };
}
