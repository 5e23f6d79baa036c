// consumer.test.ts — pheap as a stranger gets it: `npm pack`, installed from
// the tarball into a fresh project, used only through the package's entries.
//
// One tarball (packed from the current build: `npm test` builds first) is
// installed into a temp project ({"type": "module"}, nothing else), and then:
//   - the tarball holds what a user needs and nothing else;
//   - `tsc --init`'s own config, TypeScript 5 and 7, type-checks the README's
//     Node example with 0 errors, and still reports deliberate misuse;
//   - the README's Node example, compiled by tsc, runs twice on one path;
//   - a page importing `pheap/browser`, bundled by esbuild with no
//     configuration, opens an OPFS pool in Chromium, commits, reloads, reads
//     it back, and sees PoolLockedError for a second opener;
//   - `npx pheap serve` serves a playground whose grid renders;
//   - the `pheap` command works from the install: --version, create, info,
//     check (read-only: the file's hash unchanged), check --repair of a
//     pending undo log, dump, rm, and bad input answered in one line with
//     exit code 2 (test/cli.test.ts covers it in depth against the repo's build).
// The installs use the npm cache first (--prefer-offline); the registry is
// needed only for what the cache lacks.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import * as esbuild from 'esbuild';
import type { BrowserContext } from 'playwright-core';
import { launchChromium } from './helpers/chromium.js';
import { parseExampleRun, readmeNodeExample, REPO } from './helpers/readme.js';

const TSC = {
  5: path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'),
  7: path.join(REPO, 'node_modules', 'typescript7', 'bin', 'tsc'),
} as const;

interface PackResult { filename: string; size: number; unpackedSize: number; files: { path: string }[] }

let tmp = '';
let app = '';
let packed: PackResult;

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  if (!fs.existsSync(path.join(REPO, 'dist', 'types', 'index.d.ts'))) throw new Error('dist/ is not built: run `npm run build` (npm test does) before this test');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pheap-consumer-'));
  // --ignore-scripts: pack the build at hand (prepare would rebuild it under the other tests' feet).
  packed = (JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], REPO)) as PackResult[])[0];
  app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  npm(['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(tmp, packed.filename)], app);
}, 300_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the tarball', () => {
  it('holds built JS, declarations, the cores, the shim source, the playground, README and LICENSE — nothing else', () => {
    const files = packed.files.map((f) => f.path).sort();
    const allowed = [/^dist\/(index|browser|testing|cli)\.js$/, /^dist\/types\/.+\.d\.ts$/, /^build\/pheap(\.debug)?\.wasm$/,
      /^native\/(binding\.gyp|pheap_mmap\.c)$/, /^scripts\/build-native\.mjs$/, /^playground\/(index\.html|style\.css|dist\/(app|worker)\.js)$/,
      /^(README\.md|LICENSE|package\.json)$/];
    expect(files.filter((f) => !allowed.some((re) => re.test(f)))).toEqual([]);
    for (const need of ['dist/index.js', 'dist/browser.js', 'dist/testing.js', 'dist/cli.js', 'dist/types/index.d.ts',
      'dist/types/browser/index.d.ts', 'dist/types/crash/vitest.d.ts', 'build/pheap.wasm', 'playground/dist/app.js', 'LICENSE', 'README.md']) {
      expect(files).toContain(need);
    }
    console.log(`tarball: ${files.length} files, ${(packed.size / 1024).toFixed(1)} kB packed, ${(packed.unpackedSize / 1024).toFixed(1)} kB unpacked`);
  });
});

describe('TypeScript, with the config `tsc --init` writes', () => {
  for (const version of [5, 7] as const) {
    it(`TypeScript ${version}: the README example has 0 errors; misuse is reported`, () => {
      const dir = path.join(app, `ts${version}`);
      fs.mkdirSync(dir);
      execFileSync(process.execPath, [TSC[version], '--init'], { cwd: dir, stdio: 'ignore' });
      fs.writeFileSync(path.join(dir, 'example.ts'), readmeNodeExample());
      const clean = spawnSync(process.execPath, [TSC[version], '-p', '.', '--noEmit'], { cwd: dir, encoding: 'utf8' });
      expect(clean.stdout + clean.stderr).toBe('');
      expect(clean.status).toBe(0);

      fs.writeFileSync(path.join(dir, 'misuse.ts'), [
        "import { Pool, PoolLockedError } from 'pheap';",
        "import { PoolClient } from 'pheap/browser';",
        "Pool.openOrCreate({ path: 'x.pool', size: '8M', layout: 'x' });",
        "Pool.create({ size: 1 << 20, layout: 'x' }).alloc('big');",
        "Pool.create({ size: 1 << 20, layout: 'x' }).tx((tx) => tx.setU32(1));",
        "export const e: PoolLockedError = new Error('x');",
        "void PoolClient.open('p', { layuot: 'x' });",
      ].join('\n'));
      const bad = spawnSync(process.execPath, [TSC[version], '-p', '.', '--noEmit'], { cwd: dir, encoding: 'utf8' });
      const lines = [...bad.stdout.matchAll(/^misuse\.ts\((\d+),\d+\): error (TS\d+)/gm)].map((m) => `${m[1]} ${m[2]}`);
      expect(lines).toEqual(['3 TS2322', '4 TS2345', '5 TS2554', '6 TS2741', '7 TS2561']);
      expect(bad.stdout).not.toMatch(/node_modules|example\.ts/);
      expect(bad.status).not.toBe(0);
    });
  }
});

describe('Node', () => {
  it('the README example, compiled by tsc, runs twice on one path', () => {
    const dir = path.join(app, 'node');
    fs.mkdirSync(dir);
    execFileSync(process.execPath, [TSC[5], '--init'], { cwd: dir, stdio: 'ignore' });
    fs.writeFileSync(path.join(dir, 'example.ts'), readmeNodeExample());
    execFileSync(process.execPath, [TSC[5], '-p', '.'], { cwd: dir });
    const run = () => parseExampleRun(execFileSync(process.execPath, ['example.js'], { cwd: dir, encoding: 'utf8' }));
    const first = run();
    expect(first?.[0]).toBe(1);
    expect(run()).toEqual([2, first![1]]);
  });

  it('the native shim was built at install, or the pool falls back to the file backend with its one-line notice', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e',
      "import { Pool } from 'pheap'; const p = Pool.create({ path: 'shim.pool', size: 1 << 20, layout: 'x' }); console.log(p.info().backend); p.close();"],
    { cwd: app, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const built = fs.existsSync(path.join(app, 'node_modules', 'pheap', 'native', 'build', 'Release', 'pheap_mmap.node'));
    console.log(`native shim ${built ? 'built at install' : 'not built'}: backend ${r.stdout.trim()}`);
    if (built) {
      expect([r.stdout.trim(), r.stderr]).toEqual(['mapped', '']);
    } else {
      expect(r.stdout.trim()).toBe('file');
      expect(r.stderr).toMatch(/^pheap: [^\n]*file backend[^\n]*\n$/);
    }
  });
});

describe('the pheap command, installed', () => {
  /** `npx pheap …` in the consumer project: exit status, stdout, stderr. */
  function pheap(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync('npx', ['--no-install', 'pheap', ...args], { cwd: app, encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }
  const hash = (f: string) => createHash('sha256').update(fs.readFileSync(path.join(app, f))).digest('hex');

  it('--version, create, info --json, check (read-only), check --repair of a pending undo log, dump, rm', () => {
    const version = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version as string;
    expect(pheap('--version')).toMatchObject({ status: 0, stdout: `${version}\n` });

    expect(pheap('create', 'cli.pool', '--size', '1M', '--layout', 'cli', '--seed', 'c').status).toBe(0);
    const info = JSON.parse(pheap('info', 'cli.pool', '--json').stdout);
    expect(info.header).toMatchObject({ layout: 'cli', size: 1 << 20, formatVersion: 2 });
    expect(info.log.state).toBe('clean');

    // a pool left with a pending undo log: a transaction's entries and data durable, no commit
    const made = spawnSync(process.execPath, ['--input-type=module', '-e', [
      "import { Pool } from 'pheap'; import { writeFileSync } from 'node:fs';",
      "const p = Pool.create({ size: 1 << 20, layout: 'cli', seed: 2 }); const r = p.root(64);",
      "p.beginTx(); p.addRange(r, 8); p.writeU64(r, 7n); p.persist(r, 8);",
      "writeFileSync('pending.pool', p.crashImage({ mode: 'strict' }));",
    ].join(' ')], { cwd: app, encoding: 'utf8' });
    expect(made.stderr).toBe('');
    const before = hash('pending.pool');
    const pending = pheap('info', 'pending.pool', '--json');
    expect(JSON.parse(pending.stdout).log).toMatchObject({ state: 'needs-recovery', entries: 1 });
    const check = pheap('check', 'pending.pool');
    console.log(`pheap info / check of a pool with a pending undo log:\n${pheap('info', 'pending.pool').stdout}${check.stdout}`);
    expect(check.status).toBe(0);
    expect(check.stdout).toMatch(/needs recovery: 1 undo entry/);
    expect(hash('pending.pool')).toBe(before);
    const repair = JSON.parse(pheap('check', 'pending.pool', '--repair', '--json').stdout);
    expect(repair).toMatchObject({ consistent: true, repairedEntries: 1 });
    expect(hash('pending.pool')).not.toBe(before);
    expect(JSON.parse(pheap('check', 'pending.pool', '--json').stdout)).toMatchObject({ consistent: true, recoveryPending: false });

    const dump = JSON.parse(pheap('dump', 'cli.pool', '--json').stdout);
    expect(dump.objects).toEqual([]);
    expect(JSON.parse(pheap('dump', 'cli.pool', '--range', '0:8', '--json').stdout).hex).toMatch(/^50484541504f4f4c/); // PHEAPOOL
    expect(pheap('rm', 'cli.pool', 'pending.pool').status).toBe(0);
    expect(fs.existsSync(path.join(app, 'cli.pool')) || fs.existsSync(path.join(app, 'pending.pool'))).toBe(false);
  });

  it('bad input: one line naming the error class, exit code 2, no stack trace', () => {
    fs.writeFileSync(path.join(app, 'not-a-pool.txt'), 'hello');
    for (const [args, cls] of [[['info', 'missing.pool'], 'PoolNotFoundError'], [['check', 'not-a-pool.txt'], 'NotAPoolError'],
      [['serve', '-p', 'abc'], 'InvalidArgumentError'], [['frobnicate'], 'InvalidArgumentError']] as const) {
      const r = pheap(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(new RegExp(`^pheap: ${cls}: [^\n]+\n$`));
    }
    expect(fs.readFileSync(path.join(app, 'not-a-pool.txt'), 'utf8')).toBe('hello');
  });
});

/** Serve `dir`'s files on a free port of 127.0.0.1. */
async function staticServer(dir: string): Promise<http.Server> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };
  const server = http.createServer((req, res) => {
    const file = path.join(dir, path.basename(req.url === '/' ? 'index.html' : req.url ?? ''));
    if (!fs.existsSync(file)) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' }).end(fs.readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return server;
}

const BROWSER_APP = `
import { PoolClient, PoolLockedError } from 'pheap/browser';
const out = document.getElementById('out')!;
try {
  const pool = await PoolClient.open('consumer.pool', { layout: 'consumer', create: { size: 256 * 1024 } });
  const second = await PoolClient.open('consumer.pool', { layout: 'consumer' }).then(() => 'opened twice', (e) => e instanceof PoolLockedError ? 'PoolLockedError' : String(e));
  const root = await pool.root(64);
  const before = await pool.readU32(root);
  await pool.tx([{ op: 'set', type: 'u32', off: root, value: before + 1 }]);
  const created = pool.created;
  await pool.close();
  out.dataset.result = JSON.stringify({ created, before, second });
} catch (e) {
  out.dataset.result = JSON.stringify({ error: String(e) });
}
`;

describe('Chromium', () => {
  let ctx: BrowserContext | undefined;
  const servers: http.Server[] = [];
  const children: ChildProcess[] = [];

  afterAll(async () => {
    await ctx?.close();
    for (const s of servers) s.close();
    for (const c of children) process.kill(-c.pid!); // npx and the server it started: one process group
  });

  async function page() {
    ctx ??= await launchChromium(path.join(tmp, 'profile'));
    return ctx.pages()[0] ?? ctx.newPage();
  }

  it('a page importing pheap/browser, bundled by esbuild without configuration, commits to OPFS and reads it back after a reload', async () => {
    const web = path.join(app, 'web');
    fs.mkdirSync(web);
    fs.writeFileSync(path.join(web, 'app.ts'), BROWSER_APP);
    fs.writeFileSync(path.join(web, 'index.html'), '<!doctype html><div id="out"></div><script type="module" src="/app.js"></script>');
    await esbuild.build({ absWorkingDir: web, entryPoints: ['app.ts'], bundle: true, format: 'esm', platform: 'browser', outfile: 'app.js', logLevel: 'silent' });
    const server = await staticServer(web);
    servers.push(server);
    const p = await page();
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(e.message));
    const result = async () => {
      await p.waitForFunction(() => document.getElementById('out')?.dataset.result !== undefined, null, { timeout: 30_000 });
      return JSON.parse((await p.evaluate(() => document.getElementById('out')!.dataset.result))!) as unknown;
    };
    await p.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    expect(await result()).toEqual({ created: true, before: 0, second: 'PoolLockedError' });
    await p.reload();
    expect(await result()).toEqual({ created: false, before: 1, second: 'PoolLockedError' });
    expect(errors).toEqual([]);
  });

  it('`npx pheap serve` from the installed package serves a playground whose grid renders', async () => {
    const child = spawn('npx', ['--no-install', 'pheap', 'serve', '-p', '0'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.push(child);
    const url = await new Promise<string>((ok, fail) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => { out += d; const m = /http:\/\/localhost:\d+\//.exec(out); if (m) ok(m[0]); });
      child.once('exit', (code) => fail(new Error(`pheap serve exited with ${code}: ${out}`)));
    });
    const p = await page();
    await p.goto(url.replace('localhost', '127.0.0.1'));
    await p.waitForFunction(() => document.body.dataset.ready !== undefined, null, { timeout: 30_000 });
    expect(await p.evaluate(() => document.body.dataset.ready)).toBe('true');
    const lines = await p.evaluate(() => Object.entries((document.querySelector('#grid-counts') as HTMLElement).dataset)
      .filter(([k]) => k !== 'view').reduce((n, [, v]) => n + Number(v), 0));
    expect(lines).toBe(256 * 1024 / 64);
    expect(await p.textContent('#grid-banner')).toMatch(/^Live: /);
  });
});
