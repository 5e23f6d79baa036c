// soak.mjs — `npm run soak -- --minutes N [--seed S] [--ops K]`: the torture
// generator (test/helpers/torture.ts) for N minutes.
//
// Bundles the generator with esbuild into a temporary plain-node module (the
// debug core, as in the tests), then runs seed S, S+1, … (S defaults to one
// drawn from the clock, printed first) of K operations each (default 2000)
// until the time is up. Prints, every few seconds and at the end, the
// operations, crashes and states checked per second; on a failure it prints
// the failure (seed, operation index, replay line, operation log tail) and
// exits 1. Owns nothing else: no pool files are written.

import { build } from 'esbuild';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function options() {
  const { values } = parseArgs({ options: { minutes: { type: 'string', default: '1' }, seed: { type: 'string' }, ops: { type: 'string', default: '2000' } } });
  const minutes = Number(values.minutes);
  const ops = Number(values.ops);
  if (!(minutes > 0) || !Number.isInteger(ops) || ops <= 0) throw new Error('usage: npm run soak -- --minutes N [--seed S] [--ops K]');
  const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 1_000_000;
  if (!Number.isInteger(seed) || seed < 0) throw new Error('--seed must be a non-negative integer');
  return { minutes, ops, seed };
}

/** The generator as a plain-node module that loads the debug core from build/. */
async function bundle(dir) {
  const out = path.join(dir, 'torture.mjs');
  const wasm = JSON.stringify(path.join(repo, 'build', 'pheap.debug.wasm'));
  await build({
    stdin: {
      contents: `import * as fs from 'node:fs';
        import { setModuleLoader } from './src/core.ts';
        setModuleLoader(() => new WebAssembly.Module(fs.readFileSync(${wasm})));
        export { runTorture, TortureFailure } from './test/helpers/torture.ts';`,
      resolveDir: repo, loader: 'ts', sourcefile: 'soak-entry.ts',
    },
    bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out, logLevel: 'silent',
  });
  return out;
}

function rate(n, ms) {
  return (n / (ms / 1000)).toFixed(1);
}

async function main() {
  const { minutes, ops, seed: first } = options();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pheap-soak-'));
  try {
    const { runTorture, TortureFailure } = await import(pathToFileURL(await bundle(dir)).href);
    console.log(`soak: ${minutes} min, ${ops} operations per seed, starting at seed ${first}`);
    const t0 = Date.now();
    const end = t0 + minutes * 60_000;
    const total = { runs: 0, ops: 0, crashes: 0, recoveryCrashes: 0, states: 0 };
    let lastReport = t0;
    const report = (label) => {
      const ms = Date.now() - t0;
      console.log(`${label} ${(ms / 1000).toFixed(0)} s: ${total.runs} runs, ${total.ops} ops (${rate(total.ops, ms)}/s), ` +
        `${total.crashes} crashes + ${total.recoveryCrashes} in recovery (${rate(total.crashes + total.recoveryCrashes, ms)}/s), ` +
        `${total.states} states checked (${rate(total.states, ms)}/s)`);
    };
    for (let seed = first; Date.now() < end; seed++) {
      let stats;
      try {
        stats = runTorture({ seed, ops });
      } catch (e) {
        report('soak FAILED after');
        console.log(e instanceof TortureFailure ? e.message : `seed ${seed}: ${e?.stack ?? e}`);
        console.log(`failing seed: ${seed}`);
        process.exitCode = 1;
        return;
      }
      total.runs++;
      for (const k of ['ops', 'crashes', 'recoveryCrashes', 'states']) total[k] += stats[k];
      if (Date.now() - lastReport >= 10_000) { report('soak'); lastReport = Date.now(); }
    }
    report('soak passed:');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e?.stack ?? e);
  process.exitCode = 2;
});
