// info.ts — `pheap info <file> [--json] [--layout name]`: what a pool holds,
// like `pmempool info`.
//
// Owns: the info report (header fields, regions, open count, undo log state,
// heap figures, objects by type) and its text form.
// Invariants: read-only (image.ts: a copy taken under the lock, recovery on
// the copy); the header part comes from the file's own bytes, the rest from
// the library's view of the recovered copy (Pool.stats). Damage that stops
// the open is reported in the output, then the command fails with it.

import type { Command } from 'commander';
import type { PheapError, PoolStats } from '../index.js';
import { openCopyForReport, readPoolImage, type LogState } from './image.js';
import type { PoolHeader } from './header.js';

export interface InfoCliOptions {
  layout?: string;
  json?: boolean;
}

/** The error a report names: its class and message. */
export interface Problem {
  error: string;
  message: string;
}

export interface InfoCliResult {
  path: string;
  header: PoolHeader;
  log: LogState;
  /** The heap's figures after recovery (Pool.stats().heap without objectsByType); null when damage refused the open. */
  heap: Omit<PoolStats['heap'], 'objectsByType'> | null;
  /** Live objects per type number; null when damage refused the open. */
  objectsByType: Record<string, number> | null;
  /** Growths since creation (regions appended); null when damage refused the open. */
  growths: number | null;
  problem: Problem | null;
}

/** The class and message of `e`, as a report names it. */
export function problemOf(e: PheapError | null): Problem | null {
  return e && { error: e.name, message: e.message };
}

/**
 * Gather the report for the pool at `path`, and the damage that stopped its
 * open (null if none). Throws only when there is nothing to report (not a
 * pool, locked, another layout, ...).
 */
export function runInfo(path: string, opts: InfoCliOptions = {}): { report: InfoCliResult; damage: PheapError | null } {
  const image = readPoolImage(path, { json: opts.json });
  const { pool, log, damage } = openCopyForReport(image, opts.layout);
  const base = { path, header: image.header, log, problem: problemOf(damage) };
  if (!pool) return { report: { ...base, heap: null, objectsByType: null, growths: null }, damage };
  try {
    const stats = pool.stats();
    const { objectsByType, ...heap } = stats.heap;
    return { report: { ...base, heap, objectsByType, growths: stats.growths }, damage };
  } finally {
    pool.close();
  }
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** A type number as people read it: hex for the pool's own types. */
export function typeName(type: number): string {
  if (type === 0xffff_0001) return `${hex(type)} (root)`;
  return type >= 0xffff_0000 ? hex(type) : String(type);
}

export function formatLog(log: LogState): string {
  switch (log.state) {
    case 'clean': return 'clean (nothing to recover)';
    case 'needs-recovery': return `needs recovery: ${log.entries} undo entr${log.entries === 1 ? 'y' : 'ies'} to roll back at the next open`;
    case 'corrupt': return `CORRUPT at offset ${log.damageOffset} (recovery refuses to open the pool)`;
    default: return 'unknown (other damage stopped the open first)';
  }
}

function formatRegions(h: PoolHeader): string[] {
  const r = h.regions;
  const row = (name: string, x: { offset: number; size: number }) => `  ${name.padEnd(12)} ${hex(x.offset).padEnd(10)} ${x.size} bytes`;
  return [row('header', r.header), row('chunk table', r.chunkTable), row('undo log', r.log), row('heap', r.heap)];
}

/** How the pool came to its size: created at it, or grown from. */
function grown(initial: number, growths: number | null): string {
  if (growths === 0) return 'as created';
  return `created at ${initial} bytes, grown ${growths === null ? 'an unknown number of' : growths} time${growths === 1 ? '' : 's'}`;
}

export function formatInfo(r: InfoCliResult): string {
  const h = r.header;
  const lines = [
    `pool         ${r.path}`,
    `magic        ${h.magic}, format version ${h.formatVersion} (features: incompatible ${hex(h.incompatFeatures)}, compatible ${hex(h.compatFeatures)})`,
    `layout       "${h.layout}"`,
    `size         ${h.size} bytes, ${h.chunks} heap chunks of ${1 << h.chunkShift} bytes (${grown(h.initialSize, r.growths)})`,
    `UUID         ${h.uuid}`,
    `open count   ${h.openCount}`,
    `root         ${h.root ? hex(h.root) : 'none'}`,
    'regions', ...formatRegions(h),
    `undo log     ${formatLog(r.log)}`,
  ];
  if (r.heap) {
    const x = r.heap;
    lines.push(`heap         ${x.liveObjects} live objects, ${x.liveBytes} bytes live (${x.usableBytes} usable), ${x.freeBytes} bytes free, ` +
      `largest free ${x.largestFreeBytes}, fragmentation ${(x.fragmentation * 100).toFixed(1)}%`);
    const types = Object.entries(r.objectsByType ?? {}).map(([t, n]) => `type ${typeName(Number(t))}: ${n}`);
    lines.push(`objects      ${types.length ? types.join(', ') : 'none'}`);
  }
  if (r.problem) lines.push(`problem      ${r.problem.error}: ${r.problem.message}`);
  return lines.join('\n');
}

/** Register `pheap info` on the CLI program: it prints the report, then fails with the damage it found (if any). */
export function registerInfo(program: Command): void {
  program.command('info')
    .description('show a pool\'s header, regions, undo log state, heap figures and objects by type (read-only)')
    .argument('<file>', 'pool file')
    .option('-l, --layout <name>', 'layout name to expect (default: the one in the header)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ pheap info counters.pool --json')
    .action((file: string, opts: InfoCliOptions) => {
      const { report, damage } = runInfo(file, opts);
      console.log(opts.json ? JSON.stringify(report, null, 2) : formatInfo(report));
      if (damage) throw damage;
    });
}
