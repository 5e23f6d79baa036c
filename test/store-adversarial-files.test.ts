// store-adversarial-files.test.ts — a Store file attacked from outside the
// process that writes it, through the public API only (`open` from the
// built package in child processes, from ../src/index.js here):
//   - every byte of its metadata flipped: the pool header, the Store's root
//     object (docs/store.md: the offsets of the main map and the directory),
//     both maps' headers and the directory's node (docs/containers.md's node
//     layout), opened at each durability in turn: each image must be
//     refused with a typed error and left byte-identical, or open to
//     exactly the original contents (a flip in
//     the directory's node may also be refused on first use, with a typed
//     error: nothing but a checksum could catch it at open);
//   - two processes at once: a second opener (either backend) is refused with
//     PoolLockedError while the first holds the file, which it leaves
//     byte-identical; two processes creating the same new Store file at the
//     same instant never both own it, and the file holds exactly what the
//     ones that succeeded wrote;
//   - SIGKILL chains: a child commits steps (a batch of unawaited puts and a
//     remove, a transactionSync, an awaited transaction; values from a few
//     bytes to a few KiB, over the main and a named database) and is killed
//     at a seeded random moment — now and then before its Store is even open,
//     so inside recovery — then the next child recovers the file and goes on,
//     and is killed again. After every kill the file holds exactly the state
//     after some step >= the last one the child acknowledged.
// Every random choice comes from a seeded Prng; each test prints its seed.

import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { open, Pool, PheapError, Prng, Store, STORE_LAYOUT } from '../src/index.js';
import { H, useTempDir, sha256File, u32At } from './helpers/pool-files.js';
import { REPO } from './helpers/readme.js';

const FILE = 'test/store-adversarial-files.test.ts';
const SEED = Number(process.env.PHEAP_STORE_ADV_SEED ?? 20261202);
const tmp = useTempDir('pheap-store-adv-files-');
const NAMES = ['alpha', 'beta', 'gamma'] as const;

// ─── metadata flips ─────────────────────────────────────────────────────────

/**
 * A Store file with entries in the main database and three named ones; its
 * bytes after a clean close and reopen. Made small (a 128 KiB pool that
 * grows) through Store.attach, so that hundreds of mutants open quickly.
 */
function baseStore(): { file: string; image: Buffer; contents: string } {
  const file = tmp.file('meta');
  const db = Store.attach(Pool.create({ path: file, size: 128 << 10, layout: STORE_LAYOUT, backend: 'file', durability: 'none' }));
  for (let i = 0; i < 20; i++) db.putSync(i, { i });
  for (const n of NAMES) db.openDB(n).putSync(n, n.repeat(3));
  db.close();
  const again = open({ path: file, durability: 'none', backend: 'file' });
  const contents = snapshot(again);
  again.close();
  return { file, image: fs.readFileSync(file), contents };
}

/** Every database's contents, as one string (reads only; openDB of a name the directory lost makes it, empty). */
function snapshot(db: Store): string {
  const all = [db, ...NAMES.map((n) => db.openDB(n))].map((d) => d.getRange().map(({ key, value }) => [key, value]).asArray);
  return JSON.stringify(all);
}

interface Region { name: string; start: number; end: number }

/** The Store's metadata: found from docs/format.md (root word), docs/store.md (root object), docs/containers.md (map header, node). */
function storeRegions(image: Uint8Array): Region[] {
  const root = u32At(image, H.ROOT);
  const [mainMap, dirMap] = [u32At(image, root), u32At(image, root + 4)];
  const node = u32At(image, dirMap + 8);
  const count = image[node + 2] | (image[node + 3] << 8);
  const top = image[node + 4] | (image[node + 5] << 8);
  return [
    { name: 'root object', start: root - 16, end: root + 8 },
    { name: 'main map header', start: mainMap - 16, end: mainMap + 32 },
    { name: 'directory map header', start: dirMap - 16, end: dirMap + 32 },
    { name: 'directory node header and slots', start: node, end: node + 16 + 2 * count },
    { name: 'directory node cells', start: node + top, end: node + 4080 },
  ];
}

/**
 * The content bytes of the directory's one node (docs/containers.md: leaf
 * cell = u16 keyLen, u32 valLen, key, inline value): every key (a database
 * name, or 0xFF + name for a msgpack structure list, docs/store.md), and
 * the value of a structure list (property names).
 */
function directoryContentBytes(image: Uint8Array): Region[] {
  const root = u32At(image, H.ROOT);
  const node = u32At(image, u32At(image, root + 4) + 8);
  const count = image[node + 2] | (image[node + 3] << 8);
  return Array.from({ length: count }, (_, i) => {
    const cell = node + (image[node + 16 + 2 * i] | (image[node + 17 + 2 * i] << 8));
    const klen = image[cell] | (image[cell + 1] << 8);
    const key = { name: `directory key ${i}`, start: cell + 6, end: cell + 6 + klen };
    return image[cell + 6] === 0xff ? [key, { name: `structure list ${i}`, start: key.end, end: key.end + u32At(image, cell + 2) }] : [key];
  }).flat();
}

/** `r` without the parts covered by `holes`. */
function splitOut(r: Region, holes: Region[]): Region[] {
  const out: Region[] = [];
  let at = r.start;
  for (const h of [...holes].sort((a, b) => a.start - b.start)) {
    if (h.end <= at || h.start >= r.end) continue;
    if (h.start > at) out.push({ name: r.name, start: at, end: h.start });
    at = Math.max(at, h.end);
  }
  if (at < r.end) out.push({ name: r.name, start: at, end: r.end });
  return out;
}

type Outcome = 'refused, untouched' | 'harmless' | 'refused on first use' | 'REFUSED BUT MODIFIED' | 'RAW ERROR' | 'SILENT DIFFERENCE';

/** Durabilities the mutants are opened at, in turn (each with its default backend: 'os' maps the file where the native shim loads). */
const DURABILITIES = ['none', 'os', 'fsync'] as const;

/** Open a mutated file as a Store at `durability` and read everything: what happened. */
function tryMutant(file: string, mutant: Buffer, contents: string, durability: (typeof DURABILITIES)[number]): { outcome: Outcome; detail: string } {
  fs.writeFileSync(file, mutant);
  let db: Store;
  try {
    db = open({ path: file, durability, ...(durability === 'none' ? { backend: 'file' as const } : {}) });
  } catch (e) {
    if (!(e instanceof PheapError)) return { outcome: 'RAW ERROR', detail: `open: ${String(e)}` };
    return fs.readFileSync(file).equals(mutant) ? { outcome: 'refused, untouched', detail: '' } : { outcome: 'REFUSED BUT MODIFIED', detail: e.name };
  }
  try {
    const got = snapshot(db);
    db.pool.check();
    return got === contents ? { outcome: 'harmless', detail: '' } : { outcome: 'SILENT DIFFERENCE', detail: got.slice(0, 120) };
  } catch (e) {
    return e instanceof PheapError ? { outcome: 'refused on first use', detail: e.name } : { outcome: 'RAW ERROR', detail: String(e) };
  } finally {
    try { db.close(); } catch { /* a corrupt pool may refuse to close cleanly; the outcome is already known */ }
  }
}

/** Every byte of `regions` xor 0xFF, one at a time: outcomes counted, the bad ones listed. */
function flipAll(regions: Region[], ok: readonly Outcome[]): { tally: Record<string, number>; bad: string[] } {
  const { file, image, contents } = baseStore();
  const tally: Record<string, number> = {};
  const bad: string[] = [];
  for (const r of regions.length ? regions : storeRegions(image)) {
    for (let at = r.start; at < r.end; at++) {
      const mutant = Buffer.from(image);
      mutant[at] ^= 0xff;
      const { outcome, detail } = tryMutant(file, mutant, contents, DURABILITIES[at % DURABILITIES.length]);
      tally[outcome] = (tally[outcome] ?? 0) + 1;
      if (!ok.includes(outcome)) bad.push(`${r.name} +${at - r.start} (0x${at.toString(16)}, durability ${DURABILITIES[at % DURABILITIES.length]}): ${outcome} ${detail}`);
    }
  }
  return { tally, bad };
}

describe('every byte of a Store file\'s metadata flipped', () => {
  it('the pool header: refused with a typed error, the file byte-identical', () => {
    const { tally, bad } = flipAll([{ name: 'header', start: 0, end: H.END }], ['refused, untouched']);
    console.log(`store header flips: ${JSON.stringify(tally)}`);
    expect(bad).toEqual([]);
  });

  it('the root object and both map headers: refused at open with a typed error and the file byte-identical, or harmless (was: refused after the open wrote the file)', () => {
    const { image } = baseStore();
    const regions = storeRegions(image).filter((r) => r.name.endsWith('object') || r.name.endsWith('map header'));
    const { tally, bad } = flipAll(regions, ['refused, untouched', 'harmless']);
    console.log(`store root and map header flips: ${JSON.stringify(tally)}`);
    expect(bad, `${bad.length} flips`).toEqual([]);
  });

  it('the directory node: structure (header, slots, lengths, map offsets) refused with a typed error or harmless, never a raw error; names and msgpack structure lists are content, not checked (was: WASM traps, RangeErrors)', () => {
    const { image } = baseStore();
    const nodeRegions = storeRegions(image).filter((r) => r.name.startsWith('directory node'));
    const names = directoryContentBytes(image);
    const structure = nodeRegions.flatMap((r) => splitOut(r, names));
    const { tally, bad } = flipAll(structure, ['refused, untouched', 'harmless', 'refused on first use']);
    console.log(`store directory node structure flips: ${JSON.stringify(tally)}`);
    expect(bad, `${bad.length} flips`).toEqual([]);
    // docs/store.md: keys and values carry no checksum; a damaged name reads as another name (its database looks new), a damaged structure list as other property names, but never as a raw error
    const content = flipAll(names, ['refused, untouched', 'harmless', 'refused on first use', 'SILENT DIFFERENCE']);
    console.log(`store directory name and structure-list flips: ${JSON.stringify(content.tally)}`);
    expect(content.bad, `${content.bad.length} flips`).toEqual([]);
  });
});

describe('a data leaf of the main database damaged', () => {
  it('every 7th byte of its one leaf flipped: reads, writes, removes and check() work or answer with a typed error (CorruptHeapError, ValueDecodeError, …), never a raw error or a trap', () => {
    const file = tmp.file('leaf');
    const db = Store.attach(Pool.create({ path: file, size: 128 << 10, layout: STORE_LAYOUT, backend: 'file', durability: 'none' }));
    for (let i = 0; i < 60; i++) db.putSync(i, { i, pad: 'x'.repeat((i % 7) * 10) });
    db.close();
    const image = fs.readFileSync(file);
    const pool = Pool.open({ path: file, layout: STORE_LAYOUT, backend: 'file', durability: 'none' });
    const leaf = pool.readU32(pool.readU32(pool.root(8)) + 8); // the main map's root node (one leaf: 60 small entries)
    pool.close();
    const tally: Record<string, number> = {};
    const raw: string[] = [];
    for (let at = leaf; at < leaf + 4080; at += 7) { // every 7th byte: header, slots and cells all hit, in about 20 s
      const mutant = Buffer.from(image);
      mutant[at] ^= 0xff;
      fs.writeFileSync(file, mutant);
      let outcome = 'worked';
      try {
        const s = open({ path: file, durability: 'none', backend: 'file' });
        try {
          for (let i = 0; i < 60; i += 5) { s.get(i); s.putSync(i, { i }); s.removeSync(i + 1); }
          s.putSync(1000, 'x'.repeat(300));
          void [...s.getRange()];
          s.pool.check();
        } finally { try { s.close(); } catch { /* the outcome is known */ } }
      } catch (e) {
        outcome = e instanceof PheapError ? e.name : 'RAW';
        if (!(e instanceof PheapError)) raw.push(`+${at - leaf}: ${String(e).slice(0, 100)}`);
      }
      tally[outcome] = (tally[outcome] ?? 0) + 1;
    }
    console.log(`data leaf flips (every 7th of 4080 bytes): ${JSON.stringify(tally)}`);
    expect(raw, `${raw.length} raw errors`).toEqual([]);
  });
});

// ─── child processes ────────────────────────────────────────────────────────

let childScript = '';

/**
 * The child: `node child.mjs <mode> <file> <backend> <arg>`.
 *   hold    open, print `ready`, then on each stdin line `write n` putSync n keys and print `wrote n`; exit on `exit`.
 *   create  wait until the monotonic instant <arg> (ns), open (creating), putSync 20 keys of its pid, close: prints `ok` or `error <name> <typed>`.
 *   steps   open, print `ready <counter>`, then commit steps until killed, printing `ok <step>` after each.
 */
const CHILD = (lib: string) => `
import { open, PheapError } from ${JSON.stringify(lib)};
import * as readline from 'node:readline';
const [mode, file, backend, arg] = process.argv.slice(2);
const opts = { path: file, ...(backend === 'default' ? {} : { backend, durability: 'os' }) };
${stepsSource()}
if (mode === 'hold') {
  const db = open(opts);
  let n = 0;
  process.stdout.write('ready\\n');
  readline.createInterface({ input: process.stdin }).on('line', (l) => {
    if (l === 'exit') { db.close(); process.exit(0); }
    const count = Number(l.split(' ')[1]);
    for (let i = 0; i < count; i++, n++) db.putSync('held' + n, n);
    process.stdout.write('wrote ' + n + '\\n');
  });
} else if (mode === 'create') {
  while (process.hrtime.bigint() < BigInt(arg)) { /* spin to the common instant */ }
  try {
    const db = open(opts);
    for (let i = 0; i < 20; i++) db.putSync(['from', process.pid, i], i);
    db.close();
    process.stdout.write('ok ' + process.pid + '\\n');
  } catch (e) {
    process.stdout.write('error ' + e.name + ' ' + (e instanceof PheapError) + '\\n');
  }
} else {
  const db = open(opts);
  const side = db.openDB('side');
  let step = db.get('counter') ?? 0;
  process.stdout.write('ready ' + step + '\\n');
  for (;;) {
    step++;
    await commitStep(db, side, step);
    process.stdout.write('ok ' + step + '\\n');
  }
}
`;

/** The step functions, shared as source by the child and (evaluated) by the parent's expected state. */
function stepsSource(): string {
  return `
const valueOf = (i) => 'v' + i + ':' + 'x'.repeat((i * 733) % 3000);
async function commitStep(db, side, i) {
  const writes = () => [db.put('counter', i), db.put(['s', i], valueOf(i)), db.remove(['s', i - 3]), side.put(i % 7, valueOf(i).slice(0, 40))];
  if (i % 3 === 0) await Promise.all(writes());
  else if (i % 3 === 1) db.transactionSync(() => { writes(); });
  else await db.transaction(() => { writes(); });
}`;
}

/** The state after step c: [main entries, side entries], as getRange would list them. */
function stateAfter(c: number): unknown {
  const valueOf = (i: number) => `v${i}:${'x'.repeat((i * 733) % 3000)}`;
  const main: Array<[unknown, unknown]> = [];
  if (c > 0) main.push(['counter', c]);
  for (let j = Math.max(1, c - 2); j <= c; j++) main.push([['s', j], valueOf(j)]);
  const side: Array<[unknown, unknown]> = [];
  for (let r = 0; r < 7; r++) {
    const last = c - ((c - r + 7 * 10_000) % 7);
    if (last >= 1) side.push([r, valueOf(last).slice(0, 40)]);
  }
  return [main, side];
}

beforeAll(() => {
  childScript = path.join(tmp.dir, 'store-child.mjs');
  fs.writeFileSync(childScript, CHILD(pathToFileURL(path.join(REPO, 'dist', 'index.js')).href));
});

/** A child process and its stdout, line by line. */
class Child {
  readonly proc: ChildProcess;
  readonly lines: string[] = [];
  private waiters: Array<() => void> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;

  constructor(args: string[]) {
    this.proc = spawn(process.execPath, [childScript, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '', err = '';
    this.proc.stdout!.on('data', (d: Buffer) => {
      out += d;
      const ls = out.split('\n');
      out = ls.pop()!;
      this.lines.push(...ls);
      for (const w of this.waiters.splice(0)) w();
    });
    this.proc.stderr!.on('data', (d: Buffer) => { err += d; });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => {
      for (const w of this.waiters.splice(0)) w();
      resolve({ code, signal, stderr: err });
    }));
  }

  /** The first line matching `re` (waits for it); null if the child exited first. */
  async line(re: RegExp): Promise<string | null> {
    for (;;) {
      const hit = this.lines.find((l) => re.test(l));
      if (hit !== undefined) return hit;
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) return null;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }
}

describe('two processes on one Store file', () => {
  it('while one process holds it, opens from this one (either backend) are PoolLockedError and leave it byte-identical; the holder\'s writes all survive its kill', async () => {
    const file = tmp.file('held');
    open({ path: file }).close();
    const holder = new Child(['hold', file, 'mapped', '']);
    expect(await holder.line(/^ready$/), 'the holder opened the file').not.toBeNull();
    holder.send('write 50');
    expect(await holder.line(/^wrote 50$/)).not.toBeNull();
    const hash = sha256File(file);
    const refused: string[] = [];
    for (const backend of ['file', 'mapped', undefined] as const) {
      for (let k = 0; k < 2; k++) {
        try {
          open({ path: file, ...(backend ? { backend } : {}) }).close();
          refused.push(`${backend ?? 'default'}: opened`);
        } catch (e) {
          refused.push(e instanceof PheapError ? e.name : `raw ${String(e)}`);
        }
      }
    }
    expect(refused).toEqual(new Array(6).fill('PoolLockedError'));
    expect(sha256File(file), 'the refused opens wrote nothing').toBe(hash);
    holder.send('write 25');
    expect(await holder.line(/^wrote 75$/)).not.toBeNull();
    holder.proc.kill('SIGKILL');
    await holder.exited;
    const db = open({ path: file });
    expect(db.getCount(), 'every putSync the holder acknowledged').toBe(75);
    db.pool.check();
    db.close();
  });

  const RACE_SEED = `store-adv-race:${SEED}`;
  it('processes creating the same new Store file at one instant: never both own it; the file holds exactly what the ones that succeeded wrote', async () => {
    const rng = new Prng(RACE_SEED);
    const outcomes: Record<string, number> = {};
    for (let round = 0; round < 2; round++) {
      const file = tmp.file('race');
      const backends = [0, 1].map(() => ['file', 'mapped', 'default'][rng.below(3)]);
      const startAt = process.hrtime.bigint() + 1_200_000_000n;
      const kids = backends.map((b) => new Child(['create', file, b, String(startAt)]));
      const results = await Promise.all(kids.map(async (c) => { await c.exited; return c.lines.find((l) => /^(ok|error)/.test(l)) ?? `no answer: ${(await c.exited).stderr.slice(0, 200)}`; }));
      for (const r of results) {
        const key = r.startsWith('ok') ? 'ok' : r.replace(/^error /, '');
        outcomes[key] = (outcomes[key] ?? 0) + 1;
        expect(r, `round ${round} (${backends.join(', ')})`).toMatch(/^ok \d+$|^error \w+ true$/);
      }
      const winners = results.filter((r) => r.startsWith('ok')).map((r) => Number(r.split(' ')[1]));
      expect(winners.length, 'at least one process made the file').toBeGreaterThan(0);
      const db = open({ path: file });
      const pids = [...new Set(db.getKeys().map((k) => (k as [string, number, number])[1]).asArray)].sort();
      expect(pids, `round ${round}: the writers found in the file`).toEqual([...winners].sort());
      expect(db.getCount()).toBe(20 * winners.length);
      db.pool.check();
      db.close();
    }
    console.log(`store create races: ${JSON.stringify(outcomes)}; reproduce: npx vitest run ${FILE} -t 'one instant' (seed ${RACE_SEED})`);
  });
});

describe('SIGKILL chains: kill, recover, go on, kill again', () => {
  for (const backend of ['default', 'mapped'] as const) {
    const seed = `store-adv-kill:${SEED}:${backend}`;
    it(`${backend} backend: after every kill the file is exactly the state after a step at or past the last acknowledged one`, async () => {
      const rng = new Prng(seed);
      const file = tmp.file(`kill-${backend}`);
      let counter = 0, inRecovery = 0, beyond = 0;
      const KILLS = 6;
      for (let kill = 0; kill < KILLS; kill++) {
        const child = new Child(['steps', file, backend, '']);
        const early = rng.below(4) === 0;
        if (early) {
          await new Promise((r) => setTimeout(r, rng.below(400)));
        } else {
          const ready = await child.line(/^ready \d+$/);
          if (ready === null) throw new Error(`kill ${kill}: the child exited before it was ready: ${(await child.exited).stderr}`);
          expect(Number(ready.split(' ')[1]), 'the child resumed from the recovered counter').toBe(counter);
          await new Promise((r) => setTimeout(r, 20 + rng.below(120)));
        }
        child.proc.kill('SIGKILL');
        const { signal, stderr } = await child.exited;
        expect(signal, `kill ${kill}: the child died of the kill, not of an error: ${stderr}`).toBe('SIGKILL');
        if (!child.lines.some((l) => l.startsWith('ready'))) inRecovery++;
        const acked = Math.max(counter, ...child.lines.filter((l) => l.startsWith('ok ')).map((l) => Number(l.slice(3))));
        const db = open({ path: file, ...(backend === 'default' ? {} : { backend, durability: 'os' as const }) });
        const now = (db.get('counter') as number | undefined) ?? 0;
        expect(now, `kill ${kill}: an acknowledged step is missing`).toBeGreaterThanOrEqual(acked);
        expect([db.getRange().map(({ key, value }) => [key, value]).asArray, db.openDB('side').getRange().map(({ key, value }) => [key, value]).asArray],
          `kill ${kill}: the state after step ${now}`).toEqual(stateAfter(now));
        db.pool.check();
        db.close();
        if (now > acked) beyond++;
        counter = now;
      }
      console.log(`store kill chain (${backend}): ${KILLS} kills, ${counter} steps committed, ${inRecovery} kills before the Store was open, ${beyond} between a commit and its acknowledgement; reproduce: npx vitest run ${FILE} -t '${backend} backend' (seed ${seed})`);
      expect(counter, 'the children got work done between kills').toBeGreaterThan(0);
    });
  }
});
