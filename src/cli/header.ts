// header.ts — the pool header as the CLI shows it, read in TypeScript from
// the field table of docs/format.md ("Header page").
//
// Owns: decoding the header page's fields (magic, version, feature flags,
// size, UUID, region offsets, layout name, the two state words) into plain
// data, and the region table derived from them. The size is the committed
// one: the grown word's chunk count when the pool has grown.
// Invariants: it only reads; it is called on bytes whose header page the core
// has already validated (src/format.ts recordedPoolSize), so it trusts the
// offsets and never checks them again. State words hold their value in the
// low 32 bits (the high half is the complement, checked by the core).

import { HEADER_SIZE, MAGIC } from '../layout.js';

/** Field offsets of the header page (docs/format.md). */
const F = {
  VERSION: 0x008, INCOMPAT: 0x00c, COMPAT: 0x010, CHUNK_SHIFT: 0x014, SIZE: 0x018, UUID: 0x020,
  TABLE_OFF: 0x030, NCHUNKS: 0x034, LOG_OFF: 0x038, LOG_SIZE: 0x03c, HEAP_OFF: 0x040,
  LAYOUT: 0x080, LAYOUT_END: 0x0c0, OPEN_COUNT: 0x100, ROOT: 0x108, GROWN: 0x110,
} as const;

/** One region of the pool: where it starts (pool offset) and how many bytes it spans. */
export interface Region {
  offset: number;
  size: number;
}

/** The decoded header page. */
export interface PoolHeader {
  magic: string;
  formatVersion: number;
  incompatFeatures: number;
  compatFeatures: number;
  chunkShift: number;
  /** Pool size in bytes (as committed: it grows). */
  size: number;
  /** Its size when created. */
  initialSize: number;
  /** The UUID, formatted 8-4-4-4-12. */
  uuid: string;
  /** The layout name the pool was created with. */
  layout: string;
  /** How many times the pool was opened (the open-count state word). */
  openCount: number;
  /** Pool offset of the root object, 0 when there is none (the root state word). */
  root: number;
  /** Heap chunks, regions appended by growth included. */
  chunks: number;
  regions: { header: Region; chunkTable: Region; log: Region; heap: Region };
}

function uuidText(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join('-');
}

/** The layout name: the UTF-8 bytes up to the first NUL of the 64-byte field. */
function layoutText(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** Decode the header at the start of `bytes` (at least the header page, already validated by the core). */
export function parseHeader(bytes: Uint8Array): PoolHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  const u32 = (off: number) => view.getUint32(off, true);
  const initialSize = Number(view.getBigUint64(F.SIZE, true));
  const tableOff = u32(F.TABLE_OFF), logOff = u32(F.LOG_OFF), heapOff = u32(F.HEAP_OFF);
  const chunks = u32(F.GROWN) !== 0 ? u32(F.GROWN) : u32(F.NCHUNKS);
  const size = heapOff + chunks * (1 << u32(F.CHUNK_SHIFT));
  return {
    magic: MAGIC,
    formatVersion: u32(F.VERSION),
    incompatFeatures: u32(F.INCOMPAT),
    compatFeatures: u32(F.COMPAT),
    chunkShift: u32(F.CHUNK_SHIFT),
    size,
    initialSize,
    uuid: uuidText(bytes.subarray(F.UUID, F.UUID + 16)),
    layout: layoutText(bytes.subarray(F.LAYOUT, F.LAYOUT_END)),
    openCount: u32(F.OPEN_COUNT),
    root: u32(F.ROOT),
    chunks,
    regions: {
      header: { offset: 0, size: HEADER_SIZE },
      chunkTable: { offset: tableOff, size: logOff - tableOff },
      log: { offset: logOff, size: u32(F.LOG_SIZE) },
      heap: { offset: heapOff, size: size - heapOff },
    },
  };
}
