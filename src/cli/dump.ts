// dump.ts — `pheap dump <file> [--json] [--type N] [--range off:len]`, like
// `pmempool dump`.
//
// Owns: listing live objects (offset, type, size asked for, usable size) by
// type, and the hex dump of a byte range.
// Invariants: read-only (image.ts). Objects are listed from the recovered
// copy (what the next open would see); --range shows the file's bytes as
// they are on disk, before any recovery. Offsets are pool-relative, as the
// Pool API's; a range outside the pool is OffsetError, a malformed one
// InvalidArgumentError.

import type { Command } from 'commander';
import { parseInteger, parseRange } from './args.js';
import { layoutFor, openCopy, readPoolImage } from './image.js';
import { InvalidArgumentError } from '../index.js';
import { typeName } from './info.js';

export interface DumpCliOptions {
  layout?: string;
  json?: boolean;
  type?: string;
  range?: string;
}

/** One live object. */
export interface DumpedObject {
  offset: number;
  type: number;
  /** Bytes asked for at allocation (or the last resize). */
  size: number;
  /** Bytes usable (>= size). */
  usableSize: number;
}

export interface DumpObjectsResult {
  path: string;
  /** The --type asked for, or null for all. */
  type: number | null;
  objects: DumpedObject[];
}

export interface DumpRangeResult {
  path: string;
  offset: number;
  length: number;
  /** The bytes, as lowercase hex (two digits a byte). */
  hex: string;
}

/** The live objects of the pool at `path` (of one type, with --type), in address order. */
export function dumpObjects(path: string, opts: DumpCliOptions = {}): DumpObjectsResult {
  const type = opts.type === undefined ? null : parseInteger(opts.type, '--type');
  const pool = openCopy(readPoolImage(path, { json: opts.json }), opts.layout);
  try {
    const offsets = [...(type === null ? pool.objects() : pool.objects(type))];
    const objects = offsets.map((offset) => ({ offset, type: pool.typeOf(offset), size: pool.sizeOf(offset), usableSize: pool.usableSize(offset) }));
    return { path, type, objects };
  } finally {
    pool.close();
  }
}

/** The bytes of `--range off:len` as the file holds them. */
export function dumpRange(path: string, opts: DumpCliOptions & { range: string }): DumpRangeResult {
  const image = readPoolImage(path, { json: opts.json });
  layoutFor(image, opts.layout); // --layout is checked on every command
  const { offset, length } = parseRange(opts.range, image.header.size);
  return { path, offset, length, hex: Buffer.from(image.bytes.subarray(offset, offset + length)).toString('hex') };
}

const hex = (n: number) => `0x${n.toString(16)}`;

export function formatObjects(r: DumpObjectsResult): string {
  const byType = new Map<number, DumpedObject[]>();
  for (const o of r.objects) byType.set(o.type, [...(byType.get(o.type) ?? []), o]);
  const lines = [`${r.path}: ${r.objects.length} live object${r.objects.length === 1 ? '' : 's'}${r.type === null ? '' : ` of type ${typeName(r.type)}`}`];
  for (const [type, objs] of [...byType].sort((a, b) => a[0] - b[0])) {
    lines.push(`type ${typeName(type)}: ${objs.length} object${objs.length === 1 ? '' : 's'}, ${objs.reduce((s, o) => s + o.size, 0)} bytes`);
    for (const o of objs) lines.push(`  ${hex(o.offset).padEnd(12)} size ${String(o.size).padEnd(10)} usable ${o.usableSize}`);
  }
  return lines.join('\n');
}

/** A classic hex dump: offset, 16 bytes in hex, the same as printable ASCII. */
export function formatRange(r: DumpRangeResult): string {
  const bytes = Buffer.from(r.hex, 'hex');
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = bytes.subarray(i, i + 16);
    const hexPart = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ').padEnd(47);
    const text = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${(r.offset + i).toString(16).padStart(8, '0')}  ${hexPart}  |${text}|`);
  }
  return lines.join('\n');
}

/** Register `pheap dump` on the CLI program. */
export function registerDump(program: Command): void {
  program.command('dump')
    .description('list live objects by type with their offsets and sizes, or hex-dump a byte range (read-only)')
    .argument('<file>', 'pool file')
    .option('-l, --layout <name>', 'layout name to expect (default: the one in the header)')
    .option('-t, --type <n>', 'only objects of this type number (decimal or 0x hex)')
    .option('-r, --range <off:len>', 'hex-dump these bytes of the file (pool offsets, decimal or 0x hex)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  $ pheap dump counters.pool --type 1\n  $ pheap dump counters.pool --range 0x0:256')
    .action((file: string, opts: DumpCliOptions) => {
      if (opts.range !== undefined && opts.type !== undefined) throw new InvalidArgumentError('--type and --range cannot be combined');
      if (opts.range !== undefined) {
        const r = dumpRange(file, { ...opts, range: opts.range });
        console.log(opts.json ? JSON.stringify(r, null, 2) : formatRange(r));
      } else {
        const r = dumpObjects(file, opts);
        console.log(opts.json ? JSON.stringify(r, null, 2) : formatObjects(r));
      }
    });
}
