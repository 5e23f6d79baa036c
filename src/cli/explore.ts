// explore.ts — `pheap explore <module>`: crash-test a workload from the command line.
//
// Owns: loading a user's workload module and running explore() on it with a
// progress bar. The module (ESM, e.g. workload.mjs) exports `workload(pool,
// mark)` and `check(pool, markers)` — the same functions explore() and
// crashTest take (docs/crash-testing.md) — and optionally `setup(pool)`,
// `recover(pool)` and `options` (any other ExploreOptions: size, depth,
// modes, evicts, ...). Command-line options override `options`.
// Exit: 0 when every crash state passes the check, 1 when one fails (the
// report names the smallest failing case and its replay command), 2 when the
// module or an option is bad. The bar counts the crash points of the first
// run (known from one recording of the workload beforehand, made only when
// the bar is drawn: on a TTY, never with --json).

import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { CRASH_MODES, explore, formatReport, recordTrace, InvalidArgumentError, type ExploreOptions, type ExploreReport } from '../index.js';
import { EXIT } from './exit.js';
import { progress } from './progress.js';

export interface ExploreCliOptions {
  depth?: string;
  modes?: string;
  drainOnly?: boolean;
  size?: string;
  json?: boolean;
}

type Module = Partial<Pick<ExploreOptions, 'workload' | 'check' | 'setup' | 'recover'>> & { options?: Partial<ExploreOptions> };

/** Import the workload module, refusing one without the two functions explore() needs. */
async function loadModule(file: string): Promise<Module> {
  let mod: Module;
  try {
    mod = await import(pathToFileURL(path.resolve(file)).href) as Module;
  } catch (e) {
    throw new InvalidArgumentError(`cannot load the workload module ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  for (const name of ['workload', 'check'] as const) {
    if (typeof mod[name] !== 'function') throw new InvalidArgumentError(`${file} must export a function '${name}' (see docs/cli.md, explore)`);
  }
  return mod;
}

/** A positive integer option, or InvalidArgumentError naming it. */
function positive(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a positive integer, not '${v}'`);
  return n;
}

/** The ExploreOptions of `mod`, with the command line's on top. */
function optionsOf(file: string, mod: Module, opts: ExploreCliOptions): ExploreOptions {
  const o: ExploreOptions = {
    ...mod.options, name: path.basename(file), command: `pheap explore ${file}`, workload: mod.workload!, check: mod.check!,
    ...(mod.setup ? { setup: mod.setup } : {}), ...(mod.recover ? { recover: mod.recover } : {}),
  };
  if (opts.depth !== undefined) o.depth = positive(opts.depth, '--depth');
  if (opts.size !== undefined) o.size = positive(opts.size, '--size');
  if (opts.drainOnly) o.evicts = false;
  if (opts.modes !== undefined) {
    const modes = opts.modes.split(',').map((m) => m.trim());
    const unknown = modes.filter((m) => !(CRASH_MODES as readonly string[]).includes(m));
    if (unknown.length) throw new InvalidArgumentError(`--modes: unknown crash mode ${unknown.join(', ')} (modes: ${CRASH_MODES.join(', ')})`);
    o.modes = modes as ExploreOptions['modes'];
  }
  return o;
}

/** Explore the module's workload; the report, with a bar over the first run's crash points on a TTY. */
export async function runExplore(file: string, opts: ExploreCliOptions = {}): Promise<ExploreReport> {
  const o = optionsOf(file, await loadModule(file), opts);
  // The bar's total (the first run's crash points) costs one recording of the workload: made only when a bar is drawn.
  const points = () => recordTrace(o.workload, { size: o.size, layout: o.layout, seed: o.poolSeed, setup: o.setup, evicts: o.evicts }).drains.length + 1;
  const bar = progress('exploring', points, { json: opts.json, minTotal: 2 });
  try {
    return explore({ ...o, onState: (c, key) => { if (!c.prior) bar.update(c.point); o.onState?.(c, key); } });
  } finally {
    bar.stop();
  }
}

/** Register `pheap explore` on the CLI program. */
export function registerExplore(program: Command): void {
  program.command('explore')
    .description('crash-test a workload module: every crash state its drains allow, checked (exit 1 if one fails)')
    .argument('<module>', 'an ES module exporting workload(pool, mark) and check(pool, markers); optionally setup, recover, options')
    .option('-d, --depth <n>', 'crashes in a row (crash, recover, continue, crash again)')
    .option('-m, --modes <list>', 'crash modes, comma-separated (strict,pending,evict,tear8,eadr)')
    .option('--drain-only', 'model a backend only drains write (deferred undo log; strict and pending crashes only)')
    .option('-s, --size <bytes>', 'pool size')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ pheap explore counter.mjs --depth 2')
    .action(async (file: string, opts: ExploreCliOptions) => {
      const r = await runExplore(file, opts);
      console.log(opts.json
        ? JSON.stringify({ states: r.states, points: r.points, drains: r.drains, levels: r.levels, failures: r.failures.map((f) => ({ spec: f.spec, error: f.error, replay: f.replay })) }, null, 2)
        : formatReport(r));
      if (r.failures.length) process.exitCode = EXIT.PROBLEM;
    });
}
