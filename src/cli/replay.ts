// replay.ts — `pheap replay <log.jsonl> [--backend memory|file] [--out file] [--json]`:
// apply an operation log (recorded with recordOps, see src/crash/oplog.ts)
// to a fresh pool and print the SHA-256 of the resulting pool file. The same
// log gives the same hash on every backend.
// Invariants: bad input is a typed error (InvalidArgumentError for a wrong
// --backend or a log file that cannot be read, OpLogError for a log that is
// not a valid operation log), and --out never overwrites (PoolExistsError).
// Reading a long log shows a progress bar on a TTY (progress.ts).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { InvalidArgumentError, OpLog, PoolExistsError, replayOps } from '../index.js';
import { progress } from './progress.js';

export interface ReplayCliOptions {
  backend?: string;
  out?: string;
  json?: boolean;
}

/** Read in pieces of this many bytes (one progress step each); logs below LOG_PROGRESS_MIN show no bar. */
const LOG_CHUNK = 1 << 20;
const LOG_PROGRESS_MIN = 8 << 20;

/** The log file's text, read in chunks with a progress bar; a file that cannot be read is InvalidArgumentError. */
function readLog(logPath: string, json: boolean | undefined): string {
  let fd: number;
  try {
    fd = fs.openSync(logPath, 'r');
  } catch (e) {
    throw new InvalidArgumentError(`cannot read the operation log ${logPath}: ${(e as Error).message}`);
  }
  const bar = progress(`reading ${logPath}`, fs.fstatSync(fd).size, { json, minTotal: LOG_PROGRESS_MIN, bytes: true });
  try {
    const parts: Buffer[] = [];
    let done = 0;
    for (;;) {
      const buf = Buffer.alloc(LOG_CHUNK);
      const n = fs.readSync(fd, buf, 0, LOG_CHUNK, null);
      if (n === 0) return Buffer.concat(parts).toString('utf8');
      parts.push(buf.subarray(0, n));
      bar.update(done += n);
    }
  } catch (e) {
    throw new InvalidArgumentError(`cannot read the operation log ${logPath}: ${(e as Error).message}`);
  } finally {
    bar.stop();
    fs.closeSync(fd);
  }
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
  if (backend !== 'memory' && backend !== 'file') throw new InvalidArgumentError(`--backend must be memory or file, not '${opts.backend}'`);
  if (opts.out && fs.existsSync(opts.out)) throw new PoolExistsError(opts.out);
  const entries = OpLog.parse(readLog(logPath, opts.json));
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
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ pheap replay ops.jsonl --backend file --out replayed.pool')
    .action((log: string, opts: ReplayCliOptions) => {
      const r = runReplay(log, opts);
      console.log(opts.json ? JSON.stringify(r, null, 2) : formatReplay(r));
    });
}
