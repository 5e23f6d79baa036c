#!/usr/bin/env node
// build-native.mjs: builds native/ (the mapped backend's mmap shim) with
// node-gyp, as the package's install script.
//
// It never fails the install: the shim is optional, and without it the mapped
// backend falls back to the file backend. Whatever happens, it prints one line
// saying what it did and exits 0. The full node-gyp log goes to
// native/build/build.log for whoever wants the details.
//
// node-gyp is not a dependency: npm ships one. We look for it where npm puts
// it (npm_config_node_gyp is set by `npm run`/`npm install`; npm_execpath
// points at npm-cli.js next to it; or the global npm next to the node binary),
// then on PATH, so `node scripts/build-native.mjs` also works by hand.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const addonPath = join(nativeDir, 'build', 'Release', 'pheap_mmap.node');
const logPath = join(nativeDir, 'build', 'build.log');

function done(line) {
  console.log(line);
  process.exit(0);
}

function notBuilt(reason) {
  done(`pheap: native mmap shim not built (${reason}); the mapped backend falls back to the file backend`);
}

function isFile(p) {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Returns [command, args-prefix] to run node-gyp, or null. */
function findNodeGyp() {
  const scripts = [];
  const fromEnv = process.env.npm_config_node_gyp;
  if (fromEnv) scripts.push(fromEnv);
  if (process.env.npm_execpath) {
    scripts.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  // Unix layout of a Node install: <prefix>/bin/node, <prefix>/lib/node_modules/npm.
  scripts.push(
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  );
  try {
    scripts.push(createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally: fine
  }
  for (const s of scripts) {
    // npm_config_node_gyp may name a .js file (run it with this node, so the
    // addon is built for this node's ABI) or, on some installs, a launcher.
    if (isFile(s)) return s.endsWith('.js') ? [process.execPath, [s]] : [s, []];
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isFile(join(dir, 'node-gyp'))) return [join(dir, 'node-gyp'), []];
  }
  return null;
}

/**
 * Headers for this node, so node-gyp does not try to download them. A
 * configured nodedir (npm_config_nodedir) wins; otherwise the headers that
 * ship next to the node binary (<prefix>/include/node), when present.
 */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = resolve(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

/** The most telling line of a failed build: compiler, then gyp's Python, then make, then node-gyp itself. */
function reasonFrom(output, status) {
  const lines = output.split('\n').map((l) => l.trim());
  const pick =
    lines.find((l) => /(^|\s)(fatal )?error:/.test(l) && !l.startsWith('gyp')) ??
    lines.find((l) => /^[A-Za-z.]*(Error|Exception): /.test(l)) ??
    lines.find((l) => /^make(\[\d+\])?: .*(No such file|not found)/.test(l)) ??
    lines.find((l) => l.startsWith('gyp: ')) ??
    lines.find((l) => l.startsWith('gyp ERR! stack Error:'))?.replace('gyp ERR! stack Error: ', '');
  const text = pick ?? `node-gyp exited with status ${status}`;
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

function main() {
  if (process.platform !== 'linux') notBuilt(`platform ${process.platform} is not Linux`);
  const gyp = findNodeGyp();
  if (!gyp) notBuilt('node-gyp not found: it ships with npm');
  const [cmd, prefixArgs] = gyp;
  const args = [...prefixArgs, 'rebuild', `--directory=${nativeDir}`, ...nodedirArgs()];
  const run = spawnSync(cmd, args, { cwd: nativeDir, encoding: 'utf8', timeout: 300_000, env: process.env });
  const output = `$ ${cmd} ${args.join(' ')}\n${run.stdout ?? ''}${run.stderr ?? ''}${run.error ? `\n${run.error}` : ''}`;
  try {
    mkdirSync(dirname(logPath), { recursive: true });
    writeFileSync(logPath, output);
  } catch {
    // the log is a courtesy
  }
  if (run.error) notBuilt(`could not run node-gyp: ${run.error.message}`);
  if (run.status !== 0) notBuilt(`${reasonFrom(output, run.status)}; log in native/build/build.log`);
  try {
    const addon = createRequire(import.meta.url)(addonPath);
    if (typeof addon.map !== 'function') notBuilt('the built addon does not export map()');
  } catch (e) {
    notBuilt(`built but does not load: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  done(`pheap: native mmap shim built (native/build/Release/pheap_mmap.node)`);
}

try {
  main();
} catch (e) {
  notBuilt(`unexpected: ${e instanceof Error ? e.message : String(e)}`);
}
