// create.ts — `pheap create <file> --layout <name> [--size <n>] [--backend file|mapped] [--seed s]`.
//
// Owns: making a new pool file from the command line, and its report.
// Invariants: the pool appears complete or not at all (Pool.create publishes
// it atomically, refusing an existing path with PoolExistsError); an
// explicitly requested mapped backend that cannot be had is refused
// (UnsupportedOperationError) before any file is touched — never the
// library's silent fallback to the file backend.

import * as fs from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError, Pool } from '../index.js';
import { requireNative } from '../backends/mapped.js';
import { HEADER_SIZE } from '../layout.js';
import { parseHeader } from './header.js';
import { parseSize } from './args.js';

export interface CreateCliOptions {
  size: string;
  layout: string;
  backend?: string;
  seed?: string;
  json?: boolean;
}

export interface CreateCliResult {
  path: string;
  size: number;
  layout: string;
  uuid: string;
  backend: 'file' | 'mapped';
  /** The seed the UUID came from, when one was given (the pool is then deterministic). */
  seed?: string;
}

function backendArg(text: string | undefined): 'file' | 'mapped' {
  if (text === undefined || text === 'file') return 'file';
  if (text !== 'mapped') throw new InvalidArgumentError(`--backend must be file or mapped, not "${text}"`);
  requireNative();
  return 'mapped';
}

/** Create the pool at `path`; it is closed again before this returns. */
export function runCreate(path: string, opts: CreateCliOptions): CreateCliResult {
  const size = parseSize(opts.size);
  const backend = backendArg(opts.backend);
  Pool.create({ path, size, layout: opts.layout, backend, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) }).close();
  const head = new Uint8Array(HEADER_SIZE);
  const fd = fs.openSync(path, 'r');
  try {
    fs.readSync(fd, head, 0, HEADER_SIZE, 0);
  } finally {
    fs.closeSync(fd);
  }
  const h = parseHeader(head);
  return { path, size: h.size, layout: h.layout, uuid: h.uuid, backend, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) };
}

export function formatCreate(r: CreateCliResult): string {
  return `created ${r.path}: ${r.size} bytes, layout "${r.layout}", UUID ${r.uuid} (${r.backend} backend${r.seed !== undefined ? `, seed "${r.seed}"` : ''})`;
}

/** Register `pheap create` on the CLI program. */
export function registerCreate(program: Command): void {
  program.command('create')
    .description('create a new pool file (it must not exist)')
    .argument('<file>', 'pool file to create')
    .option('-s, --size <size>', 'initial pool size (it grows as it fills): bytes, or with K, M or G (64 KiB multiples, 128K up to 4G-16M)', '1M')
    .requiredOption('-l, --layout <name>', 'layout name, checked on every open (at most 63 UTF-8 bytes)')
    .option('-b, --backend <kind>', 'file or mapped (mapped needs the native shim)', 'file')
    .option('--seed <s>', 'make the pool deterministic: its UUID comes from this seed')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ pheap create counters.pool --size 8M --layout counters')
    .action((file: string, opts: CreateCliOptions) => {
      const r = runCreate(file, opts);
      console.log(opts.json ? JSON.stringify(r, null, 2) : formatCreate(r));
    });
}
