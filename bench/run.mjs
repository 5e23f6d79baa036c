// run.mjs — runs a TypeScript benchmark on plain Node 20: `node bench/run.mjs <name>`
// runs bench/<name>.ts (e.g. flush, alloc, tx, crash, tlsf/run) with the
// project's .ts loader hooks (scripts/ts-hooks.mjs: esbuild, file by file).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const name = process.argv[2];
const file = name && fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
if (!file || !existsSync(file)) {
  console.error(`usage: node bench/run.mjs <name>   (runs bench/<name>.ts)`);
  process.exit(2);
}
const register = fileURLToPath(new URL('../scripts/ts-register.mjs', import.meta.url));
const r = spawnSync(process.execPath, ['--import', register, file, ...process.argv.slice(3)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
