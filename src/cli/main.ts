// main.ts — the `pheap` command, modelled on pmempool: create, info, check,
// dump, rm and replay pools; crash-test a workload (explore); serve the
// playground; diagnose pmem (doctor).
//
// Owns: the program (commander), --version, and how the process ends.
// Invariants (docs/cli.md): every failure prints exactly one line to stderr,
// `pheap: <ErrorClass>: message` — commander's own usage errors too, which
// are caught (exitOverride) and reworded, never printed by commander — and
// exits with the code exit.ts gives it: 0 ok, 1 problem found, 2 usage or bad
// input, 70 internal error (the only one with a stack trace). Help and
// --version go to stdout and exit 0. Reports go to stdout; with --json they
// are one JSON document, and no progress bar is drawn.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError } from 'commander';
import { InvalidArgumentError } from '../index.js';
import { serve, packageRoot } from './serve.js';
import { doctor, formatDoctor } from './doctor.js';
import { registerReplay } from './replay.js';
import { registerCreate } from './create.js';
import { registerInfo } from './info.js';
import { registerCheck } from './check.js';
import { registerDump } from './dump.js';
import { registerRm } from './rm.js';
import { registerExplore } from './explore.js';
import { parsePort } from './args.js';
import { EXIT, errorText, exitCodeOf } from './exit.js';

/** The package's version, from the package.json above the running file ('unknown' for a bundle run outside the package). */
function version(): string {
  let root: string;
  try {
    root = packageRoot();
  } catch {
    return 'unknown';
  }
  return (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/** serve's listen error as the CLI reports it: a port in use or not allowed is bad input naming the port and how to choose another. */
function listenError(e: unknown, port: number): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return e;
  const why = code === 'EADDRINUSE' ? 'is in use' : 'may not be used by this user';
  return new InvalidArgumentError(`port ${port} ${why}: choose another with -p <port> or the PORT environment variable (-p 0 picks a free one)`);
}

function registerServe(program: Command): void {
  program.command('serve')
    .description('serve the pmem playground on localhost (what `npm start` runs)')
    .option('-p, --port <port>', 'port (default: PORT, else 8080)', process.env.PORT ?? '8080')
    .option('--json', 'print the address as JSON')
    .addHelpText('after', '\nExample:\n  $ pheap serve -p 8081')
    .action(async (opts: { port: string; json?: boolean }) => {
      const port = parsePort(opts.port);
      const server = await serve(port).catch((e: unknown) => { throw listenError(e, port); });
      const addr = server.address();
      const actual = typeof addr === 'object' && addr ? addr.port : port;
      const url = `http://localhost:${actual}/`;
      console.log(opts.json ? JSON.stringify({ url, port: actual }) : `pheap playground: ${url}  (Ctrl-C to stop)`);
    });
}

function registerDoctor(program: Command): void {
  program.command('doctor')
    .description('tell whether a path is really on persistent memory (exit 0: it is, 1: it is not or cannot be told)')
    .argument('[path]', 'a file or directory to examine', '.')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ pheap doctor /mnt/pmem0 --json')
    .action((target: string, opts: { json?: boolean }) => {
      const report = doctor(target);
      console.log(opts.json ? JSON.stringify(report, null, 2) : formatDoctor(report));
      process.exitCode = report.onPersistentMemory === true ? EXIT.OK : EXIT.PROBLEM;
    });
}

/** The program with every command; usage errors are thrown (CommanderError), never printed by commander. */
function buildProgram(): Command {
  const program = new Command('pheap')
    .description('a persistent heap runtime for WebAssembly: create, inspect, check and remove pools')
    .version(version(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeErr: () => {}, outputError: () => {} })
    .showHelpAfterError(false)
    .addHelpText('after', '\nExit codes: 0 ok, 1 problem found (damaged or locked pool; explore: a crash state failed; doctor: not on pmem), 2 usage or bad input, 70 internal error.\nSee docs/cli.md.');
  registerCreate(program);
  registerInfo(program);
  registerCheck(program);
  registerDump(program);
  registerRm(program);
  registerReplay(program);
  registerExplore(program);
  registerDoctor(program);
  registerServe(program);
  return program;
}

/** End with `e`: nothing for help and --version (already printed, exit 0), else its one line and exit code. */
function fail(e: unknown): void {
  if (e instanceof CommanderError && e.exitCode === 0) return;
  const err = e instanceof CommanderError && e.code === 'commander.help' ? new InvalidArgumentError('no command given: `pheap --help` lists them') : e;
  console.error(errorText(err));
  process.exitCode = exitCodeOf(err);
}

buildProgram().parseAsync().catch(fail);
