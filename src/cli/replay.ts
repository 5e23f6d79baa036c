// replay.ts — `pheap replay <log.jsonl> [--backend memory|file] [--out file]`:
// apply an operation log (recorded with recordOps, see src/crash/oplog.ts)
// to a fresh pool and print the SHA-256 of the resulting pool file. The same
// log gives the same hash on every backend.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { OpLog, replayOps } from '../index.js';

export interface ReplayCliOptions {
  backend?: string;
  out?: string;
}

export interface ReplayCliResult {
  backend: 'memory' | 'file';
  entries: number;
  sha256: string;
  /** Where the pool file was written (if anywhere). */
  out?: string;
}

/** Replay `logPath`; with --out, keep the pool file there (it must not exist). */
export function runReplay(logPath: string, opts: ReplayCliOptions = {}): ReplayCliResult {
  const backend = (opts.backend ?? 'memory') as 'memory' | 'file';
  if (backend !== 'memory' && backend !== 'file') throw new Error(`--backend must be memory or file, not '${opts.backend}'`);
  const entries = OpLog.parse(fs.readFileSync(logPath, 'utf8'));
  if (backend === 'memory') {
    const r = replayOps(entries, { backend: 'memory' });
    const sha256 = createHash('sha256').update(r.image).digest('hex');
    if (opts.out) fs.writeFileSync(opts.out, r.image, { flag: 'wx' });
    return { backend, entries: r.entries, sha256, ...(opts.out ? { out: opts.out } : {}) };
  }
  const tmp = opts.out ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'pheap-replay-'));
  const file = opts.out ?? path.join(tmp!, 'replay.pool');
  try {
    // 'os': every drain is written (no fsync needed to make the result reproducible).
    const r = replayOps(entries, { backend: 'file', path: file, durability: 'os' });
    const sha256 = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    if (sha256 !== r.sha256) throw new Error(`internal: the pool file's hash ${sha256} differs from its durable image's ${r.sha256}`);
    return { backend, entries: r.entries, sha256, ...(opts.out ? { out: opts.out } : {}) };
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export function formatReplay(r: ReplayCliResult): string {
  return `replayed ${r.entries} log entries (${r.backend} backend)${r.out ? ` into ${r.out}` : ''}\nsha256 ${r.sha256}`;
}

/** Register `pheap replay` on the CLI program. */
export function registerReplay(program: Command): void {
  program.command('replay')
    .description('replay an operation log (JSON lines) onto a fresh pool and print the pool file\'s SHA-256')
    .argument('<log>', 'operation log, as written by recordOps().log.toJSONL()')
    .option('-b, --backend <kind>', 'memory or file', 'memory')
    .option('-o, --out <file>', 'write the resulting pool file here (must not exist)')
    .action((log: string, opts: ReplayCliOptions) => {
      console.log(formatReplay(runReplay(log, opts)));
    });
}
