// cli.test.ts — the `pheap` command (src/cli/), run as users run it: the
// built dist/cli.js in a child process (spawnSync), its --json output
// checked against the library's own view of the same pool (Pool.open on a
// copy: stats, layoutInfo, objects).
//
// Owns: every command's happy path; every bad input answered with exactly
// one stderr line `pheap: <ErrorClass>: message` and the documented exit code
// (0 ok, 1 problem found, 2 usage or bad input; never a stack trace); check's
// promise never to write the pool (SHA-256 before and after, a pending undo
// log included) and --repair's recovery; rm under another process's lock;
// the progress bar's TTY rule; and a generated test: random argument lists
// never crash, never exit outside {0,1,2}, and never change a pool file
// unless the command may (create, rm, check --repair).
// Pools are built by seeded generators (Prng); the seed line is printed.
// dist/cli.js is rebuilt first (npm run build:ts) when any file under src/ is
// newer, so the file runs alone after an edit as well as after `npm test`.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { Pool, Prng, MIN_POOL_SIZE, InvalidArgumentError, NotAPoolError, recordOps, replayOps } from '../src/index.js';
import { claimFiles, LOCK_DIR } from '../src/backends/lock.js';
import { progress } from '../src/cli/progress.js';
import { parseSize } from '../src/cli/args.js';
import { PROGRESS_MIN_BYTES } from '../src/cli/image.js';
import { errorText, exitCodeOf } from '../src/cli/exit.js';
import { useTempDir, sha256File, H, u32At } from './helpers/pool-files.js';
import { metadataRegions, type RegionName } from './helpers/metadata-regions.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(repo, 'dist', 'cli.js');
const tmp = useTempDir('pheap-cli-');
const SEED = Number(process.env.PHEAP_CLI_SEED ?? 20261201);
const LAYOUT = 'cli-test';
const SIZE = 1 << 20;

// ─── running the command ───────────────────────────────────────────────────

interface Run { status: number | null; stdout: string; stderr: string }

/** Run `pheap args` to completion (no TTY: stdout and stderr are pipes). */
function pheap(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000, cwd: tmp.dir });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run with --json appended; the exit code must be `status`; returns the parsed stdout. */
function json<T = Record<string, unknown>>(args: string[], status = 0): T {
  const r = pheap([...args, '--json']);
  expect(r.status, `pheap ${args.join(' ')}: ${r.stderr}`).toBe(status);
  return JSON.parse(r.stdout) as T;
}

const STACK = /\n\s+at /;

/** The run failed with exactly one stderr line naming `cls`, matching `message`, and exit code `status`. */
function expectFailure(r: Run, cls: string, message: RegExp, status: number): void {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^pheap: ${cls}: `));
  expect(lines[0]).toMatch(message);
  expect(r.stderr).not.toMatch(STACK);
  expect(r.status, r.stderr).toBe(status);
}

/** Run `args`, expect the failure, and the files in `untouched` byte-identical afterwards. */
function refused(args: string[], cls: string, message: RegExp, status: number, untouched: string[] = []): Run {
  const before = untouched.map(sha256File);
  const r = pheap(args);
  expectFailure(r, cls, message, status);
  expect(untouched.map(sha256File)).toEqual(before);
  return r;
}

// ─── pools made by seeded generators ───────────────────────────────────────

/** A pool at a fresh path holding a random set of objects (types 1-4, some freed, a root); returns its path. */
function workloadPool(rng: Prng, stem = 'work'): string {
  const file = tmp.file(stem);
  const pool = Pool.create({ path: file, size: SIZE, layout: LAYOUT, backend: 'file', seed: rng.next(), durability: 'none' });
  pool.writeU32(pool.root(64), rng.next());
  const live: number[] = [];
  for (let i = 0, n = 10 + rng.below(30); i < n; i++) {
    live.push(pool.alloc(1 + rng.below(rng.below(8) === 0 ? 40_000 : 300), { type: 1 + rng.below(4) }));
    if (rng.below(4) === 0) pool.free(live.splice(rng.below(live.length), 1)[0]);
  }
  pool.close();
  return file;
}

/** A pool file left by a crash inside a transaction whose snapshot is durable: recovery is pending. */
function pendingPool(rng: Prng): string {
  const file = tmp.file('pending');
  const pool = Pool.create({ path: file, size: SIZE, layout: LAYOUT, backend: 'file', seed: rng.next(), durability: 'os' });
  const root = pool.root(256);
  pool.alloc(48, { type: 1 });
  pool.beginTx();
  const len = 8 + 8 * rng.below(20);
  pool.addRange(root, len);
  pool.writeBytes(root, new Uint8Array(len).fill(0xab));
  pool.drain();
  const image = pool.crashImage({ mode: 'strict' });
  pool.abortTx();
  pool.close();
  fs.writeFileSync(file, image);
  return file;
}

/** The library's view of a pool file, from a copy (the file is not opened). */
function libraryView(file: string): { pool: Pool; image: Uint8Array } {
  const image = new Uint8Array(fs.readFileSync(file));
  return { pool: Pool.open({ backend: 'memory', image: image.slice(), layout: LAYOUT }), image };
}

/** A copy of `file` with the byte `skip` bytes into the metadata region `region` flipped (xor 0xFF); returns its path. */
function damaged(file: string, region: RegionName, skip = 0): string {
  const { pool, image } = libraryView(file);
  const at = metadataRegions(image, pool).find((r) => r.name === region)!.start + skip;
  pool.close();
  image[at] ^= 0xff;
  const out = tmp.file(`damaged-${region.replace(/ /g, '-')}`);
  fs.writeFileSync(out, image);
  return out;
}

/** A child process holding `file` open (Pool.open through the built library) until `release`. */
async function holder(file: string): Promise<{ child: ChildProcess; release: () => Promise<void> }> {
  const script = `import { Pool } from ${JSON.stringify(path.join(repo, 'dist', 'index.js'))};
const pool = Pool.open({ path: process.argv[1], layout: process.argv[2] });
console.log('ready');
process.stdin.on('end', () => { pool.close(); process.exit(0); });
process.stdin.resume();`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, file, LAYOUT], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((ok, fail) => {
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) ok(); });
    child.on('exit', (code) => fail(new Error(`the holder exited (${code}) before it held the pool`)));
  });
  const exited = new Promise<void>((ok) => child.on('exit', () => ok()));
  return { child, release: async () => { child.stdin!.end(); await exited; } };
}

/** Rebuild dist/ (npm run build:ts) unless dist/cli.js is newer than every file under src/. */
function ensureBuilt(): void {
  const newest = (dir: string): number => Math.max(...fs.readdirSync(dir, { withFileTypes: true }).map((e) =>
    e.isDirectory() ? newest(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs));
  if (fs.existsSync(CLI) && fs.statSync(CLI).mtimeMs >= newest(path.join(repo, 'src'))) return;
  const r = spawnSync('npm', ['run', 'build:ts'], { cwd: repo, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build:ts failed:\n${r.stdout}${r.stderr}`);
}

let rng: Prng;
beforeAll(() => {
  ensureBuilt();
  rng = new Prng(SEED);
  console.log(`reproduce: PHEAP_CLI_SEED=${SEED} npx vitest run test/cli.test.ts`);
});

// ─── create, info, dump, check: happy paths against the library ───────────

describe('pheap create', () => {
  it('makes the pool the library opens, with the size and layout asked for; --seed makes it deterministic', () => {
    const sizes = [MIN_POOL_SIZE, 1 << 20, (2 + rng.below(30)) << 16];
    for (const [i, size] of sizes.entries()) {
      const file = tmp.file('created');
      const spelled = size % (1 << 20) === 0 ? `${size >> 20}M` : size % 1024 === 0 ? `${size >> 10}K` : String(size);
      const r = json<{ path: string; size: number; layout: string; uuid: string; backend: string }>(
        ['create', file, '--size', spelled, '--layout', `L${i}`]);
      expect(r).toMatchObject({ path: file, size, layout: `L${i}`, backend: 'file' });
      const pool = Pool.open({ path: file, layout: `L${i}`, backend: 'file' });
      expect(pool.size).toBe(size);
      pool.check();
      pool.close();
    }
    const seed = `s${rng.next()}`;
    const [a, b] = [tmp.file('seeded'), tmp.file('seeded')];
    const ra = json<{ uuid: string }>(['create', a, '-s', '256K', '-l', LAYOUT, '--seed', seed]);
    const rb = json<{ uuid: string }>(['create', b, '-s', '256K', '-l', LAYOUT, '--seed', seed]);
    expect(ra.uuid).toBe(rb.uuid);
    expect(sha256File(a)).toBe(sha256File(b));
  });

  it('parses sizes as bytes or with K, M, G (binary) and refuses anything else', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 1000 }), fc.constantFrom('K', 'M', 'k', 'KiB', 'MB'), (n, unit) => {
      const bytes = n * (unit[0].toUpperCase() === 'K' ? 64 << 10 : 1 << 20);
      const count = unit[0].toUpperCase() === 'K' ? n * 64 : n;
      expect(parseSize(`${count}${unit}`)).toBe(bytes);
      expect(parseSize(String(bytes))).toBe(bytes);
    }), { numRuns: 100, seed: SEED });
    fc.assert(fc.property(fc.string({ maxLength: 8 }).filter((t) => !/^\d+(?:[KMG](?:i?B)?)?$/i.test(t)), (t) => {
      expect(() => parseSize(t)).toThrow(InvalidArgumentError);
    }), { numRuns: 100, seed: SEED });
  });
});

describe('pheap info', () => {
  it('reports the header, regions, log state and heap figures the library sees, and writes nothing', () => {
    for (let i = 0; i < 3; i++) {
      const file = workloadPool(rng);
      const before = sha256File(file);
      const r = json<{ header: Record<string, unknown> & { regions: Record<string, { offset: number; size: number }>; openCount: number; uuid: string };
        log: { state: string; entries: number }; heap: Record<string, number>; objectsByType: Record<string, number>; problem: null }>(['info', file]);
      expect(sha256File(file)).toBe(before);
      const { pool, image } = libraryView(file);
      const s = pool.stats();
      const { objectsByType, ...heap } = s.heap;
      const where = pool.layoutInfo();
      pool.close();
      expect(r.heap).toEqual(heap);
      expect(r.objectsByType).toEqual(objectsByType);
      expect(r.log).toEqual({ state: 'clean', entries: 0 });
      expect(r.problem).toBeNull();
      expect(r.header).toMatchObject({ magic: 'PHEAPOOL', formatVersion: 2, size: SIZE, layout: LAYOUT, openCount: u32At(image, H.OPEN_COUNT) });
      expect(r.header.uuid.replace(/-/g, '')).toBe(Buffer.from(image.subarray(H.UUID, H.UUID + 16)).toString('hex'));
      expect(r.header.regions.log).toEqual({ offset: where.logOffset, size: where.logBytes });
      expect(r.header.regions.heap).toEqual({ offset: where.heapOffset, size: SIZE - where.heapOffset });
      expect(r.header.regions.chunkTable.offset + r.header.regions.chunkTable.size).toBe(where.logOffset);
    }
  });

  it('names the undo entries a pending recovery rolls back, and a corrupt log (exit 1)', () => {
    const file = pendingPool(rng);
    const { pool } = libraryView(file);
    const entries = pool.stats().recovery.entriesRolledBack;
    pool.close();
    expect(entries).toBeGreaterThan(0);
    expect(json<{ log: unknown }>(['info', file]).log).toEqual({ state: 'needs-recovery', entries });
    const broken = damaged(file, 'log header');
    const before = sha256File(broken);
    const r = pheap(['info', broken, '--json']);
    expectFailure(r, 'CorruptLogError', /undo log is damaged/, 1);
    const report = JSON.parse(r.stdout) as { log: { state: string; damageOffset: number }; heap: unknown };
    expect(report.log.state).toBe('corrupt');
    expect(report.heap).toBeNull();
    expect(sha256File(broken)).toBe(before);
  });
});

describe('pheap dump', () => {
  it('lists the objects pool.objects() yields, by type, with sizes; --type filters', () => {
    const file = workloadPool(rng);
    const { pool } = libraryView(file);
    const want = [...pool.objects()].map((offset) => ({ offset, type: pool.typeOf(offset), size: pool.sizeOf(offset), usableSize: pool.usableSize(offset) }));
    pool.close();
    expect(json<{ objects: unknown[] }>(['dump', file]).objects).toEqual(want);
    const type = want.find((o) => o.type < 5)!.type;
    const spelled = rng.coin() ? String(type) : `0x${type.toString(16)}`;
    expect(json<{ objects: unknown[] }>(['dump', file, '--type', spelled]).objects).toEqual(want.filter((o) => o.type === type));
    expect(pheap(['dump', file]).stdout).toMatch(new RegExp(`^type ${type}: \\d+ objects?, \\d+ bytes$`, 'm'));
  });

  it('--range off:len prints the file\'s bytes (hex or decimal offsets); outside the pool is OffsetError', () => {
    const file = workloadPool(rng);
    const bytes = fs.readFileSync(file);
    for (let i = 0; i < 2; i++) {
      const len = 1 + rng.below(300);
      const off = rng.below(SIZE - len + 1);
      const spec = i % 2 ? `0x${off.toString(16)}:${len}` : `${off}:0x${len.toString(16)}`;
      expect(json<{ hex: string }>(['dump', file, '--range', spec]).hex).toBe(bytes.subarray(off, off + len).toString('hex'));
    }
    expect(pheap(['dump', file, '--range', '0:16']).stdout).toBe('00000000  50 48 45 41 50 4f 4f 4c' +
      ` ${[...bytes.subarray(8, 16)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}  |PHEAPOOL${[...bytes.subarray(8, 16)].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('')}|\n`);
    refused(['dump', file, '--range', `${SIZE - 8}:9`], 'OffsetError', /outside the pool/, 2, [file]);
    refused(['dump', file, '--range', '12:0'], 'OffsetError', /length of at least 1/, 2, [file]);
    refused(['dump', file, '--range', '12'], 'InvalidArgumentError', /not off:len/, 2, [file]);
    refused(['dump', file, '--range', '0x:4'], 'InvalidArgumentError', /not an integer/, 2, [file]);
    refused(['dump', file, '--type', '0xffff0001'], 'BadTypeError', /type/, 2, [file]);
  });
});

describe('pheap check', () => {
  it('never writes the pool: consistent pools, and a pool whose undo log awaits recovery, keep their SHA-256', () => {
    const files = [workloadPool(rng), pendingPool(rng)];
    for (const file of files) {
      const before = sha256File(file);
      const r = json<{ consistent: boolean; recoveryPending: boolean; log: { state: string } }>(['check', file]);
      expect(r.consistent).toBe(true);
      expect(r.recoveryPending).toBe(r.log.state === 'needs-recovery');
      expect(sha256File(file)).toBe(before);
      expect(pheap(['check', file]).stdout).toMatch(/: consistent\n/);
      expect(sha256File(file)).toBe(before);
    }
    expect(json<{ recoveryPending: boolean }>(['check', files[1]]).recoveryPending).toBe(true);
  });

  it('--repair runs the pending recovery for real: the file changes, and the next check finds nothing pending', () => {
    const file = pendingPool(rng);
    const { pool } = libraryView(file);
    const entries = pool.stats().recovery.entriesRolledBack;
    const root = pool.readBytes(pool.root(256), 256);
    pool.close();
    const before = sha256File(file);
    const r = json<{ consistent: boolean; repairedEntries: number; recoveryPending: boolean }>(['check', file, '--repair']);
    expect(r).toMatchObject({ consistent: true, repairedEntries: entries, recoveryPending: false });
    expect(sha256File(file)).not.toBe(before);
    expect(json<{ recoveryPending: boolean; log: unknown }>(['check', file])).toMatchObject({ recoveryPending: false, log: { state: 'clean', entries: 0 } });
    const again = Pool.open({ path: file, layout: LAYOUT, backend: 'file' });
    expect(again.stats().recovery.entriesRolledBack).toBe(0);
    expect(again.readBytes(again.root(256), 256)).toEqual(root);
    again.close();
  });

  it('finds damage (exit 1, one line naming it), refused at open or found by the heap check; the file stays untouched', () => {
    const base = workloadPool(rng);
    // the header byte is one of the UUID's (past the magic, which would make it no pool at all)
    const cases: Array<[RegionName, number, string]> = [['chunk words', 0, 'CorruptHeapError'], ['run bitmaps', 0, 'CorruptHeapError'], ['header', H.UUID, 'CorruptHeaderError']];
    for (const [region, skip, cls] of cases) {
      const file = damaged(base, region, skip);
      const r = refused(['check', file, '--json'], cls, /./, 1, [file]);
      expect(JSON.parse(r.stdout)).toMatchObject({ consistent: false, problem: { error: cls } });
      refused(['check', file, '--repair'], cls, /./, 1, [file]);
    }
  });
});

// ─── locks and rm ──────────────────────────────────────────────────────────

describe('a pool open in another process', () => {
  let held: { release: () => Promise<void> } | null = null;
  afterAll(async () => { await held?.release(); });

  it('is refused by check, info, dump and rm (PoolLockedError, exit 1) and left as it is; rm works once it is closed', async () => {
    const file = workloadPool(rng);
    held = await holder(file);
    for (const cmd of [['check'], ['check', '--repair'], ['info'], ['dump'], ['rm']]) {
      refused([cmd[0], file, ...cmd.slice(1)], 'PoolLockedError', /is open elsewhere \(held by process \d+\)/, 1, [file]);
    }
    expect(fs.existsSync(file)).toBe(true);
    await held.release();
    held = null;
    expect(json<{ removed: string[] }>(['rm', file]).removed).toEqual([file]);
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('pheap rm', () => {
  it('removes pools with their lock claims (a dead opener\'s too); -f passes over missing files only', () => {
    const [a, b] = [workloadPool(rng), workloadPool(rng)];
    const { dev, ino } = fs.statSync(a, { bigint: true });
    fs.mkdirSync(LOCK_DIR, { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' }).pid!;
    fs.writeFileSync(path.join(LOCK_DIR, `${dev}-${ino}.0`), `${dead} - 0123456789abcdef\n`);
    expect(claimFiles(a)).toHaveLength(1);
    const missing = path.join(tmp.dir, 'never-made.pool');
    expect(json<{ removed: string[]; missing: string[] }>(['rm', '-f', a, missing, b])).toEqual({ removed: [a, b], missing: [missing], errors: [] });
    expect([fs.existsSync(a), fs.existsSync(b)]).toEqual([false, false]);
    expect(fs.existsSync(path.join(LOCK_DIR, `${dev}-${ino}.0`))).toBe(false);
  });

  it('refuses a file that is not a pool (kept) and a missing file without -f, and still removes the others', () => {
    const text = tmp.file('notes', '.txt');
    fs.writeFileSync(text, 'not a pool at all\n');
    refused(['rm', text], 'NotAPoolError', /is not a pheap pool/, 2, [text]);
    const other = workloadPool(rng);
    refused(['rm', other, '--layout', 'another'], 'LayoutMismatchError', /not created with layout "another"/, 2, [other]);
    expect(json<{ removed: string[] }>(['rm', other, '--layout', LAYOUT]).removed).toEqual([other]);
    refused(['rm', tmp.dir], 'NotAPoolError', /not a regular file/, 2);
    const pool = workloadPool(rng);
    const r = pheap(['rm', path.join(tmp.dir, 'gone.pool'), pool]);
    expectFailure(r, 'PoolNotFoundError', /gone\.pool/, 2);
    expect(r.stdout).toBe(`removed ${pool}\n`);
    expect(fs.existsSync(text)).toBe(true);
  });
});

// ─── bad input, usage, the other commands ──────────────────────────────────

describe('bad input is one line on stderr and exit 2; never a stack trace', () => {
  it('pool files: missing, not a pool, truncated (exit 1: damage), a directory, the wrong layout', () => {
    const file = workloadPool(rng);
    const text = tmp.file('text', '.txt');
    fs.writeFileSync(text, 'hello\n');
    const short = tmp.file('short');
    fs.writeFileSync(short, fs.readFileSync(file).subarray(0, SIZE - 1 - rng.below(SIZE / 2)));
    // one command each: they share the path to the file (image.ts readPoolImage)
    refused(['info', path.join(tmp.dir, 'nope.pool')], 'PoolNotFoundError', /does not exist/, 2);
    refused(['check', text], 'NotAPoolError', /is not a pheap pool/, 2, [text]);
    refused(['dump', short], 'TruncatedPoolError', /is truncated/, 1, [short]);
    refused(['info', tmp.dir], 'NotAPoolError', /not a regular file/, 2);
    const loop = tmp.file('loop');
    fs.symlinkSync(loop, loop);
    refused(['check', loop], 'PoolFileError', /ELOOP/, 2);
    refused(['rm', loop], 'PoolFileError', /ELOOP/, 2);
    refused(['check', file, '--layout', 'another'], 'LayoutMismatchError', /not created with layout "another"/, 2, [file]);
  });

  it('create: a bad --size, an existing file, a mapped backend without the native shim', () => {
    const file = tmp.file('c');
    for (const size of ['abc', '1.5M', '-1M']) refused(['create', file, '--size', size, '-l', 'x'], 'InvalidArgumentError', /is not a size/, 2);
    for (const size of ['100', '5G']) refused(['create', file, '--size', size, '-l', 'x'], 'InvalidSizeError', /invalid|too large/, 2);
    refused(['create', file, '--size', '1M', '-l', 'x', '--backend', 'opfs'], 'InvalidArgumentError', /file or mapped/, 2);
    refused(['create', file, '--size', '1M', '-l', 'x'.repeat(64)], 'InvalidSizeError', /at most 63/, 2);
    expect(fs.existsSync(file)).toBe(false);
    const existing = workloadPool(rng);
    refused(['create', existing, '--size', '1M', '-l', 'x'], 'PoolExistsError', /already exists/, 2, [existing]);
    const r = pheap(['create', file, '--size', '1M', '-l', 'x', '--backend', 'mapped'], { PHEAP_NO_NATIVE: '1' });
    expectFailure(r, 'UnsupportedOperationError', /mapped backend needs the native mmap shim: disabled by PHEAP_NO_NATIVE=1/, 2);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('usage: no command, an unknown command or option, a missing argument or option value', () => {
    expectFailure(pheap([]), 'InvalidArgumentError', /no command given/, 2);
    expectFailure(pheap(['frobnicate']), 'InvalidArgumentError', /unknown command 'frobnicate'/, 2);
    expectFailure(pheap(['info', 'x.pool', '--frob']), 'InvalidArgumentError', /unknown option '--frob'/, 2);
    expectFailure(pheap(['info']), 'InvalidArgumentError', /missing required argument 'file'/, 2);
    expectFailure(pheap(['create', 'x.pool', '--size', '1M']), 'InvalidArgumentError', /required option '-l, --layout <name>' not specified/, 2);
    expectFailure(pheap(['dump', 'x.pool', '--range']), 'InvalidArgumentError', /option '-r, --range <off:len>' argument missing/, 2);
  });

  it('only an unexpected error gets a stack trace, and exit code 70', () => {
    const bug = new TypeError('x is undefined');
    expect([exitCodeOf(bug), errorText(bug)]).toEqual([70, expect.stringMatching(/^pheap: internal error \(exit 70\), please report it:\nTypeError: x is undefined\n\s+at /)]);
    const typed = new NotAPoolError('f.pool');
    expect([exitCodeOf(typed), errorText(typed)]).toEqual([2, `pheap: NotAPoolError: ${typed.message}`]);
  });

  it('replay: a log that is not JSON, not an operation log, or not there', () => {
    const notJson = tmp.file('log', '.jsonl');
    fs.writeFileSync(notJson, '{"op":"create"\nnot json\n');
    refused(['replay', notJson], 'OpLogError', /line 1: /, 2);
    const numbers = tmp.file('log', '.jsonl');
    fs.writeFileSync(numbers, '42\n');
    refused(['replay', numbers], 'OpLogError', /starts with a "create" entry/, 2);
    refused(['replay', path.join(tmp.dir, 'none.jsonl')], 'InvalidArgumentError', /cannot read the operation log .*ENOENT/, 2);
  });

  it('serve: a port in use names it and how to choose another; -p abc', async () => {
    const net = await import('node:net');
    const server = net.createServer();
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as { port: number }).port;
    try {
      expectFailure(pheap(['serve', '-p', String(port)]), 'InvalidArgumentError', new RegExp(`port ${port} is in use: choose another with -p <port> or the PORT`), 2);
      expectFailure(pheap(['serve'], { PORT: String(port) }), 'InvalidArgumentError', new RegExp(`port ${port} is in use`), 2);
    } finally {
      server.close();
    }
    expectFailure(pheap(['serve', '-p', 'abc']), 'InvalidArgumentError', /port "abc" is not a port number/, 2);
    expectFailure(pheap(['serve', '-p', '70000']), 'InvalidArgumentError', /port "70000"/, 2);
  });
});

describe('replay, doctor, --version, --help', () => {
  it('replay --json prints the SHA-256 the library computes for the log', () => {
    const { pool, log } = recordOps({ size: SIZE, layout: LAYOUT, seed: rng.next() });
    for (let i = 0; i < 20; i++) pool.alloc(1 + rng.below(500), { type: rng.below(3) });
    pool.close();
    const file = tmp.file('ops', '.jsonl');
    fs.writeFileSync(file, log.toJSONL());
    const want = replayOps(log.entries);
    for (const backend of ['memory', 'file']) {
      expect(json(['replay', file, '--backend', backend])).toEqual({ backend, entries: want.entries, sha256: want.sha256 });
    }
  });

  it('doctor: exit 1 on a path that is not on persistent memory, with the report', () => {
    const r = pheap(['doctor', tmp.dir, '--json']);
    const report = JSON.parse(r.stdout) as { onPersistentMemory: boolean | null };
    expect(report.onPersistentMemory === true ? 0 : 1).toBe(r.status);
    expect(r.stderr).toBe('');
  });

  it('--version prints package.json\'s version; every command\'s --help shows an example', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string };
    expect(pheap(['--version'])).toEqual({ status: 0, stdout: `${pkg.version}\n`, stderr: '' });
    for (const cmd of ['create', 'info', 'check', 'dump', 'rm', 'replay', 'explore', 'doctor', 'serve']) {
      const r = pheap([cmd, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Usage: pheap ${cmd}[\\s\\S]*Examples?:\\n  \\$ pheap ${cmd} `));
    }
    expect(pheap(['--help']).stdout).toMatch(/Exit codes: 0 ok, 1 problem found/);
  });
});

describe('pheap explore', () => {
  /** A workload module: a counter bumped three times, in transactions (sound) or with raw stores (unsound). */
  function workloadModule(sound: boolean): string {
    const file = tmp.file(sound ? 'sound' : 'unsound', '.mjs');
    fs.writeFileSync(file, [
      'export function setup(pool) { pool.root(8); }',
      'export function workload(pool, mark) {',
      '  const root = pool.root(8);',
      `  for (let i = 1; i <= 3; i++) { ${sound ? 'pool.tx((tx) => tx.setU32(root, i));' : 'pool.writeU32(root, i);'} mark('op returned'); }`,
      '}',
      'export function check(pool, markers) {',
      '  const v = pool.readU32(pool.root(8));',
      '  if (v < markers.length) throw new Error(`counter ${v} is behind ${markers.length} returned operations`);',
      '}',
    ].join('\n'));
    return file;
  }

  it('a sound workload: every crash state passes, exit 0, no progress bar without a terminal', () => {
    const r = pheap(['explore', workloadModule(true), '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as { states: number; drains: number; failures: unknown[] };
    expect(report.failures).toEqual([]);
    expect(report.drains).toBeGreaterThan(0);
    expect(report.states).toBeGreaterThan(report.drains);
    expect(json<{ failures: unknown[] }>(['explore', workloadModule(true), '--drain-only']).failures).toEqual([]);
  });

  it('an unsound workload: exit 1, the smallest failing case, and a replay line that reproduces it', () => {
    const file = workloadModule(false);
    const r = pheap(['explore', file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAILED at point \d+/);
    const replay = /replay: PHEAP_REPLAY='([^']+)' pheap explore (\S+)/.exec(r.stdout);
    expect(replay?.[2]).toBe(file);
    const again = pheap(['explore', file], { PHEAP_REPLAY: replay![1] });
    expect(again.status).toBe(1);
    expect(again.stdout).toMatch(/\(matches\)/);
  });

  it('bad input: a missing or incomplete module, an unknown mode, a mode the cache model cannot have, a bad depth — exit 2', () => {
    const incomplete = tmp.file('incomplete', '.mjs');
    fs.writeFileSync(incomplete, 'export function workload() {}\n');
    refused(['explore', tmp.file('missing', '.mjs')], 'InvalidArgumentError', /cannot load the workload module/, 2);
    refused(['explore', incomplete], 'InvalidArgumentError', /must export a function 'check'/, 2);
    refused(['explore', workloadModule(true), '--modes', 'strict,bogus'], 'InvalidArgumentError', /unknown crash mode bogus/, 2);
    refused(['explore', workloadModule(true), '--drain-only', '--modes', 'strict,evict'], 'InvalidArgumentError', /needs a cache that evicts/, 2);
    refused(['explore', workloadModule(true), '--depth', '0'], 'InvalidArgumentError', /--depth must be a positive integer/, 2);
  });
});

// ─── progress ──────────────────────────────────────────────────────────────

/** A writable that says it is a terminal, and keeps what is written to it. */
function fakeTerminal(): Writable & { isTTY: boolean; columns: number; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { chunks.push(chunk.toString()); done(); } });
  return Object.assign(stream, { isTTY: true, columns: 100, text: () => chunks.join('') });
}

describe('progress bars', () => {
  it('draw on a TTY, and stay silent with --json, off a TTY, and for small work', () => {
    const tty = fakeTerminal();
    const bar = progress('reading big.pool', 1000, { stream: tty });
    bar.update(500);
    bar.stop();
    expect(tty.text()).toMatch(/reading big\.pool \[[=-]+\] \d+% \| \d+\/1000/);
    const inBytes = fakeTerminal();
    progress('reading', 3 << 20, { stream: inBytes, bytes: true }).stop();
    expect(inBytes.text()).toMatch(/\| \d+\.\d MiB\/3\.0 MiB/);
    const quiet = [fakeTerminal(), fakeTerminal(), Object.assign(fakeTerminal(), { isTTY: false })];
    const opts = [{ json: true }, { minTotal: 1001 }, {}];
    quiet.forEach((stream, i) => {
      const p = progress('x', 1000, { ...opts[i], stream });
      p.update(1000);
      p.stop();
      expect(stream.text(), JSON.stringify(opts[i])).toBe('');
    });
    // A total computed on demand is computed only when a bar can be drawn.
    let sized = 0;
    const total = () => { sized++; return 1000; };
    progress('x', total, { json: true, stream: fakeTerminal() }).stop();
    progress('x', total, { stream: Object.assign(fakeTerminal(), { isTTY: false }) }).stop();
    expect(sized).toBe(0);
    const lazy = fakeTerminal();
    progress('lazy', total, { stream: lazy }).stop();
    expect(sized).toBe(1);
    expect(lazy.text()).toMatch(/lazy \[/);
  });

  it('a pool large enough for a bar prints nothing on stderr when stderr is not a TTY', () => {
    const file = tmp.file('large');
    const size = PROGRESS_MIN_BYTES + (1 << 20);
    Pool.create({ path: file, size, layout: LAYOUT, backend: 'file', seed: 1 }).close();
    for (const cmd of ['info', 'check', 'dump']) {
      const r = pheap([cmd, file]);
      expect([r.status, r.stderr]).toEqual([0, '']);
    }
  });
});

// ─── generated argument lists ──────────────────────────────────────────────

describe('random argument lists', () => {
  it('never crash, exit 0, 1 or 2, fail with one line, and change a pool only through create, rm or check --repair', () => {
    const pools = [workloadPool(rng, 'fuzz'), pendingPool(rng)];
    const originals = pools.map((p) => fs.readFileSync(p));
    const text = tmp.file('fuzz-text', '.txt');
    fs.writeFileSync(text, 'PHEAPOOL but not really\n');
    const fresh = path.join(tmp.dir, 'fuzz-fresh.pool');
    const commands = ['create', 'info', 'check', 'dump', 'rm', 'replay', 'doctor', 'help', 'nonsense'];
    const words = [...pools, text, fresh, tmp.dir, '--json', '--repair', '-f', '--layout', LAYOUT, 'other', '--type', '1', '0x10',
      '--range', '0:64', '0x100:0x10', '99999999:1', '--size', '1M', '64K', 'abc', '--backend', 'file', 'mapped', 'memory',
      '--seed', '-V', '--help', '--frob', '-l', '-s'];
    const argv = fc.tuple(fc.constantFrom(...commands), fc.array(fc.oneof(fc.constantFrom(...words), fc.string({ maxLength: 6 })), { maxLength: 6 }))
      .map(([c, rest]) => [c, ...rest]);
    fc.assert(fc.property(argv, (args) => {
      pools.forEach((p, i) => fs.writeFileSync(p, originals[i]));
      fs.rmSync(fresh, { force: true });
      const r = pheap(args);
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      expect(r.stderr, r.stderr).not.toMatch(STACK);
      expect([0, 1, 2], `exit ${r.status}: ${r.stderr}`).toContain(r.status);
      expect(lines.length).toBeLessThanOrEqual(args[0] === 'rm' ? args.length : 1);
      for (const line of lines) expect(line).toMatch(/^pheap: [A-Za-z]+Error: /);
      if (r.status === 2 || (r.status === 1 && args[0] !== 'doctor')) expect(lines.length).toBeGreaterThan(0);
      const mayWrite = ['create', 'rm'].includes(args[0]) || (args[0] === 'check' && args.includes('--repair'));
      if (!mayWrite) pools.forEach((p, i) => expect(fs.readFileSync(p).equals(originals[i]), `${args.join(' ')} changed ${p}`).toBe(true));
    }), { numRuns: 64, seed: SEED });
  });
});
