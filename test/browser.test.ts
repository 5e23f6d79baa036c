// Browser tests: the playground and the OPFS backend in real Chromium.
//
// playwright-core drives Debian's chromium (test/helpers/chromium.ts: where
// it is, its flags). A missing browser FAILS these tests with a message
// saying so — it never skips them. test/helpers/playground.ts builds the
// bundles it serves, serves playground/ + build/ on a free port, and gives a
// persistent context in a temp user-data-dir so OPFS behaves as in a real
// profile (reloads keep files).
//
// Screenshots go to test-results/browser/ (gitignored). With
// PHEAP_DOCS_SCREENSHOTS=1 the two in docs/ are refreshed too.

import { describe, it, expect } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Pool, open as openStoreFile } from '../src/index.js';
import { CRASH_MODES } from '../src/crash/modes.js';
import { Prng } from '../src/prng.js';
import { gridCounts, openPlayground as openPlaygroundAt, usePlayground } from './helpers/playground.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const ART = path.join(ROOT, 'test-results', 'browser');
const DOCS = process.env.PHEAP_DOCS_SCREENSHOTS === '1';

let base = '';
let ctx: BrowserContext;
let page: Page;
let tmp = '';
let pageErrors: string[] = [];
/** expect.poll waits up to this long (its default, 1 s, is short on a loaded 2-core CI machine). */
const POLL = { timeout: 20_000, interval: 50 };
/** Seed of the to-do tests' texts and crash points; the line printed below reruns them. */
const TODO_SEED = Number(process.env.PHEAP_TODO_SEED ?? 20261202);

function shot(p: Page, name: string, fullPage = true): Promise<Buffer> {
  return p.screenshot({ path: path.join(ART, `${name}.png`), fullPage });
}

usePlayground('pheap-browser-', {
  opts: { acceptDownloads: true },
  ready: (session) => {
    fs.mkdirSync(ART, { recursive: true });
    ({ base, ctx, page, tmp, pageErrors } = session);
  },
});

const openPlayground = (p: Page) => openPlaygroundAt(p, base);
const counts = gridCounts;

describe('playground in Chromium', () => {
  it('loads from the served build and opens its OPFS pools', async () => {
    expect(await openPlayground(page)).toBe('true');
    expect(await page.isHidden('#fatal')).toBe(true);
    expect(await page.textContent('#activity')).toMatch(/lab pool ready: 256 KiB in OPFS \(durability fsync\)/);
    expect((await counts(page)).dirty).toBe(0);
    await shot(page, 'loaded');
    expect(pageErrors).toEqual([]);
  });

  it('OPFS and memory pools in the worker grow (truncate of the sync handle): same bytes, every object kept across a reopen', async () => {
    const r = await page.evaluate(async () => {
      const { PoolClient } = (window as any).pheap;
      const KiB = 1024;
      const stamp = Date.now();
      const out: Record<string, any> = {};
      for (const backend of ['memory', 'opfs']) {
        const name = `grow-${backend}-${stamp}.pool`;
        const c = await PoolClient.create(name, { layout: 'grow', size: 128 * KiB, seed: 'grow', backend, durability: 'fsync' });
        const root = await c.root(4 * 64);
        const offs: number[] = [];
        for (let i = 0; i < 40; i++) {
          const off = await c.alloc(20 * KiB + 997 * i, { into: root + 4 * i });
          await c.writeU32(off, 0xbeef00 + i);
          await c.persist(off, 4);
          offs.push(off);
        }
        const image = await c.durableImage() as Uint8Array<ArrayBuffer>;
        const res: Record<string, any> = { length: image.length, hash: Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', image))).join(',') };
        if (backend === 'opfs') {
          await c.close();
          const again = await PoolClient.open(name, { layout: 'grow' });
          res.reopenedSize = again.info.size;
          res.values = await Promise.all(offs.map((o) => again.readU32(o)));
          await again.close();
        } else {
          await c.close();
        }
        out[backend] = res;
      }
      return out;
    });
    expect(r.memory.length, 'the pool grew from 128 KiB').toBeGreaterThanOrEqual(1 << 20);
    expect(r.opfs.length).toBe(r.memory.length);
    expect(r.opfs.hash, 'OPFS image = memory image').toBe(r.memory.hash);
    expect(r.opfs.reopenedSize).toBe(r.opfs.length);
    expect(r.opfs.values).toEqual(Array.from({ length: 40 }, (_, i) => 0xbeef00 + i));
  });

  it('OPFS backend: same results as the memory backend, byte-identical images, typed errors', async () => {
    const r = await page.evaluate(async () => {
      const { PoolClient } = (window as any).pheap;
      const KiB = 1024;
      const u64 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getBigUint64(off, true);
      const errName = async (p: Promise<unknown>) => p.then(() => 'no error', (e: Error) => `${e.name}: ${e.message}`);
      const out: Record<string, any> = {};
      const stamp = Date.now();
      for (const backend of ['memory', 'opfs']) {
        const name = `unit-${backend}-${stamp}.pool`;
        const res: Record<string, any> = {};
        // evicts: this pool models pmem, so the eadr crash below can happen
        const c = await PoolClient.create(name, { layout: 'unit', size: 256 * KiB, seed: 'unit', backend, durability: 'fsync', evicts: true });
        const root = await c.root(256);
        await c.writeU64(root, 7n);
        res.durableBeforeFlush = u64(await c.durableImage(), root);
        await c.flush(root, 8);
        res.pendingAfterFlush = (await c.pendingLines()).map((l: number) => l - (root >> 6));
        res.durableAfterFlush = u64(await c.durableImage(), root);
        await c.drain();
        res.durableAfterDrain = u64(await c.durableImage(), root);
        res.pendingAfterDrain = (await c.pendingLines()).length;
        // strict crash: an unflushed store is lost
        await c.writeU64(root, 9n);
        await c.crash({ mode: 'strict' });
        res.readWhileCrashed = await errName(c.readU64(root));
        await c.recover();
        res.afterStrictCrash = await c.readU64(root);
        // transactions: commit is durable, a failing batch aborts and restores
        await c.tx([{ op: 'set', type: 'u64', off: root + 8, value: 5n }]);
        res.txDurable = u64(await c.durableImage(), root + 8);
        res.txFailure = await errName(c.tx([{ op: 'set', type: 'u64', off: root + 8, value: 6n }, { op: 'set', type: 'u64', off: 300 * KiB, value: 1n }]));
        res.afterAbort = await c.readU64(root + 8);
        // a crash inside a transaction (eADR: every store survives) is rolled back by recovery
        await c.batch([{ op: 'txBegin' }, { op: 'addRange', off: root + 8, len: 8 }, { op: 'write', type: 'u64', off: root + 8, value: 99n }]);
        await c.crash({ mode: 'eadr' });
        const rec = await c.recover();
        res.rolledBack = rec.recovery.entriesRolledBack;
        res.afterTxCrash = await c.readU64(root + 8);
        // atomic publish, allocation results usable in the same batch
        const [obj] = await c.batch([{ op: 'alloc', size: 64, type: 3, into: root + 16 }, { op: 'write', type: 'u32', off: { ref: 0, add: 4 }, value: 77 }, { op: 'persist', off: { ref: 0 }, len: 8 }]);
        res.published = (await c.readU32(root + 16)) === obj;
        res.objectsOfType3 = (await c.objects(3, 8)).map((o: any) => o.size);
        res.badOffset = await errName(c.writeU64(256 * KiB, 1n));
        res.outsideObject = await errName(c.writeU64(0, 1n));
        await c.check();
        const st = await c.stats();
        res.live = st.heap.liveObjects;
        res.image = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', await c.durableImage()))).map((b) => b.toString(16).padStart(2, '0')).join('');
        await c.close();
        res.closed = await errName(c.readU64(root));
        if (backend === 'opfs') {
          const again = await PoolClient.open(name, { layout: 'unit' });
          res.reopened = [await again.readU64(root), await again.readU64(root + 8), again.created];
          res.locked = await errName(PoolClient.open(name, { layout: 'unit' }));
          res.layoutMismatch = 'n/a';
          await again.close();
          res.layoutMismatch = await errName(PoolClient.open(name, { layout: 'other' }));
          res.exists = await errName(PoolClient.create(name, { layout: 'unit', size: 256 * KiB }));
          res.notFound = await errName(PoolClient.open(`missing-${stamp}.pool`, { layout: 'unit' }));
          res.notAPool = await errName(PoolClient.importFile(`junk-${stamp}.pool`, new Uint8Array(8192)));
          res.badName = await errName(PoolClient.open('a/b', { layout: 'unit' }));
          // durability 'none': drains reach the file only at a clean close
          const n = await PoolClient.create(`none-${stamp}.pool`, { layout: 'unit', size: 256 * KiB, durability: 'none' });
          const nr = await n.root(64);
          await n.writeU64(nr, 11n);
          await n.persist(nr, 8);
          res.noneBeforeClose = u64(await n.durableImage(), nr);
          await n.close();
          res.noneAfterClose = u64(await PoolClient.exportFile(`none-${stamp}.pool`), nr);
          // 'os': the write reaches the file at the drain (no flush() call)
          const o = await PoolClient.create(`os-${stamp}.pool`, { layout: 'unit', size: 256 * KiB, durability: 'os' });
          const or = await o.root(64);
          await o.writeU64(or, 12n);
          await o.persist(or, 8);
          res.osAfterDrain = u64(await o.durableImage(), or);
          // by default OPFS is written only at drains: no eviction, a deferred log, no eadr crash
          res.defaultEvicts = o.info.evicts;
          res.eadrRefused = await errName(o.crash({ mode: 'eadr' }));
          await o.close();
          for (const f of [name, `none-${stamp}.pool`, `os-${stamp}.pool`]) await PoolClient.remove(f);
          res.listedAfterRemove = (await PoolClient.list()).filter((f: string) => f.includes(String(stamp)));
        }
        out[backend] = res;
      }
      return out;
    });
    for (const b of ['memory', 'opfs']) {
      const x = r[b];
      expect(x.durableBeforeFlush, b).toBe(0n);
      expect(x.pendingAfterFlush, b).toEqual([0]);
      expect(x.durableAfterFlush, b).toBe(0n);
      expect(x.durableAfterDrain, b).toBe(7n);
      expect(x.pendingAfterDrain, b).toBe(0);
      expect(x.readWhileCrashed, b).toMatch(/^PoolClosedError/);
      expect(x.afterStrictCrash, b).toBe(7n);
      expect(x.txDurable, b).toBe(5n);
      expect(x.txFailure, b).toMatch(/^OffsetError/);
      expect(x.afterAbort, b).toBe(5n);
      expect(x.rolledBack, b).toBe(1);
      if (b === 'opfs') {
        expect(x.defaultEvicts).toBe(false);
        expect(x.eadrRefused).toMatch(/^InvalidArgumentError: crash mode 'eadr' needs a cache that writes lines back on its own/);
      }
      expect(x.afterTxCrash, b).toBe(5n);
      expect(x.published, b).toBe(true);
      expect(x.objectsOfType3, b).toEqual([64]);
      expect(x.badOffset, b).toMatch(/^OffsetError: .*outside the pool/);
      expect(x.outsideObject, b).toMatch(/^OffsetError: .*not inside one live object/);
      expect(x.live, b).toBe(2);
      expect(x.closed, b).toMatch(/^PoolClosedError/);
    }
    // The same seeded workload leaves byte-identical durable images on both backends.
    expect(r.opfs.image).toBe(r.memory.image);
    const o = r.opfs;
    expect(o.reopened).toEqual([7n, 5n, false]);
    expect(o.locked).toMatch(/^PoolLockedError: .*is open elsewhere/);
    expect(o.layoutMismatch).toMatch(/^LayoutMismatchError/);
    expect(o.exists).toMatch(/^PoolExistsError/);
    expect(o.notFound).toMatch(/^PoolNotFoundError/);
    expect(o.notAPool).toMatch(/^NotAPoolError/);
    expect(o.badName).toMatch(/^UnsupportedOperationError: .*not a valid pool name/);
    expect(o.noneBeforeClose).toBe(0n);
    expect(o.noneAfterClose).toBe(11n);
    expect(o.osAfterDrain).toBe(12n);
    expect(o.listedAfterRemove).toEqual([]);
  });

  it('controls: store → dirty, flush → pending, fence → durable; tx entries written then invalidated; hover shows a line', async () => {
    await page.click('#btn-reset');
    await page.waitForFunction(() => document.querySelector('#activity')!.textContent!.includes('lab pool reset'));
    await page.selectOption('#in-field', 'counter');
    await page.fill('#in-val', '1234');
    await page.click('#btn-store');
    await expect.poll(async () => (await counts(page)).dirty, POLL).toBe(1);
    await page.click('#btn-flush');
    await expect.poll(async () => (await counts(page)).pending, POLL).toBe(1);
    expect((await counts(page)).dirty).toBe(0);
    await page.click('#btn-fence');
    await expect.poll(async () => (await counts(page)).pending, POLL).toBe(0);
    expect((await counts(page)).dirty).toBe(0);
    expect(await page.textContent('#fields tr[data-field="counter"] td:nth-child(4)')).toBe('1234');

    await page.click('#btn-begin');
    await expect.poll(() => page.textContent('#grid-banner'), POLL).toMatch(/transaction depth 1/);
    await page.click('#btn-addrange');
    await expect.poll(() => page.getAttribute('#undo', 'data-valid'), POLL).toBe('1');
    await page.fill('#in-val', '5678');
    await page.click('#btn-store');
    await expect.poll(async () => (await counts(page)).dirty, POLL).toBe(1);
    await page.click('#btn-commit');
    await expect.poll(() => page.getAttribute('#undo', 'data-valid'), POLL).toBe('0');
    expect(await page.locator('#undo tr.stale').count()).toBeGreaterThan(0);
    expect((await counts(page)).dirty).toBe(0);
    expect(await page.textContent('#fields tr[data-field="counter"] td:nth-child(4)')).toBe('5678');

    // hover the counter's line: the tooltip names it and shows its bytes
    await page.locator('#grid').scrollIntoViewIfNeeded();
    const line = await page.evaluate(() => (window as any).pheapApp.lab.field('counter') >> 6);
    const box = (await page.locator('#grid').boundingBox())!;
    const scale = box.width / (await page.evaluate(() => (document.querySelector('#grid') as HTMLCanvasElement).width));
    await page.mouse.move(box.x + (1 + (line % 128) * 9 + 4) * scale, box.y + (1 + Math.floor(line / 128) * 9 + 4) * scale);
    await expect.poll(() => page.isVisible('#tip'), POLL).toBe(true);
    expect(await page.textContent('#tip')).toContain(`line ${line} · 0x${(line * 64).toString(16)}`);
    expect(await page.textContent('#tip')).toContain('2e 16 00 00'); // 5678 little-endian
    await shot(page, 'hover', false);
    await page.mouse.move(0, 0);
  });

  /** A docs screenshot: the window at 1280×800 with lesson `id` scrolled up under the (sticky) grid and line inspector, as a reader sees it. */
  async function docShot(name: string, id: string): Promise<void> {
    await page.evaluate((sel) => document.querySelector(sel)!.scrollIntoView({ block: 'end' }), `#sc-${id}`);
    await page.screenshot({ path: path.join(ROOT, 'docs', name) });
  }

  const expected: Record<string, { verdict: string; text: RegExp; crash: (c: Record<string, number>) => void }> = {
    'missing-flush': { verdict: 'lost', text: /counter = 0 after recovery/, crash: (c) => expect(c.lost).toBe(1) },
    'pointer-before-data': { verdict: 'dangling', text: /root\.ptr = 0x[0-9a-f]+ survived, but the node holds 0x0/, crash: (c) => expect(c.lost).toBe(1) },
    'half-16': { verdict: 'half-updated', text: /pair = \(2, 1\): half-updated.*packed = \(2, 2\): never half-updated/, crash: (c) => { expect(c.survived).toBe(2); expect(c.lost).toBe(1); } },
    'tx-safe': { verdict: 'rolled-back', text: /pair = \(1, 1\): recovery found 1 valid undo-log entry/, crash: (c) => { expect(c.survived).toBe(1); expect(c.lost).toBe(1); } },
    leak: { verdict: 'leaked', text: /root\.ptr = null, yet 1 node of 64 B is still allocated/, crash: (c) => expect(c.lost).toBe(1) },
    'torn-line': { verdict: 'torn', text: /counter = 2, pairA = 1: the line is torn/, crash: (c) => { expect(c.torn).toBe(1); expect(c.survived).toBe(0); } },
  };

  for (const [id, want] of Object.entries(expected)) {
    it(`lesson ${id}: Run to crash yields the documented crash outcome`, async () => {
      await page.click(`[data-run="${id}"]`);
      await page.waitForSelector(`[data-outcome="${id}"][data-phase="crashed"]`, { timeout: 30_000 });
      expect(await page.getAttribute('#grid-counts', 'data-view')).toBe('crash');
      want.crash(await counts(page));
      await page.locator(`#sc-${id}`).scrollIntoViewIfNeeded();
      await shot(page, `lesson-${id}-crashed`);
      if (id === 'tx-safe' && DOCS) await docShot('playground-crash.png', id);
      await page.click(`[data-recover="${id}"]`);
      await page.waitForSelector(`[data-outcome="${id}"][data-phase="recovered"]`, { timeout: 30_000 });
      expect(await page.getAttribute(`[data-outcome="${id}"]`, 'data-verdict')).toBe(want.verdict);
      expect(await page.textContent(`[data-outcome="${id}"]`)).toMatch(want.text);
      expect(await page.getAttribute('#grid-counts', 'data-view')).toBe('recovered');
      if (id === 'tx-safe') expect((await counts(page)).rolledback).toBe(2); // the 16-byte pair spans two lines
      await shot(page, `lesson-${id}-recovered`);
      if (id === 'tx-safe' && DOCS) await docShot('playground-recovered.png', id);
    });
  }

  it('the manual crash button: strict loses an unflushed store, recovery reopens', async () => {
    await page.click('#btn-reset');
    await expect.poll(() => page.getAttribute('#grid-counts', 'data-view'), POLL).toBe('live'); // was 'recovered' after the last lesson
    await page.selectOption('#in-field', 'counter');
    await page.fill('#in-val', '77');
    await page.click('#btn-store');
    await expect.poll(async () => (await counts(page)).dirty, POLL).toBe(1);
    await page.selectOption('#in-mode', 'strict');
    await page.click('#btn-crash');
    await expect.poll(() => page.getAttribute('#grid-counts', 'data-view'), POLL).toBe('crash');
    expect((await counts(page)).lost).toBe(1);
    expect(await page.isDisabled('#btn-store')).toBe(true);
    await page.click('#btn-recover');
    await expect.poll(() => page.getAttribute('#grid-counts', 'data-view'), POLL).toBe('recovered');
    expect(await page.textContent('#fields tr[data-field="counter"] td:nth-child(3)')).toBe('0');
  });

  it('to-do app: a to-do survives a page reload (OPFS), a crash mid-commit, and a crash mid-add leaves nothing', async () => {
    const text = `buy milk ${Date.now()}`;
    await page.fill('#todo-input', text);
    await page.click('#todo-form button[type=submit]');
    await page.waitForSelector(`#todo-list li:has-text("${text}")`);
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready !== undefined, null, { timeout: 30_000 });
    expect(await page.evaluate(() => document.body.dataset.ready)).toBe('true');
    await page.waitForSelector(`#todo-list li:has-text("${text}")`);
    expect(await page.textContent('#todo-status')).toMatch(/Reopened from OPFS/);
    // toggle done, crash and recover: still there, still done
    await page.check(`#todo-list li:has-text("${text}") input[type=checkbox]`);
    await page.waitForSelector(`#todo-list li.done:has-text("${text}")`);
    await page.selectOption('#todo-mode', 'tear8');
    await page.click('#todo-crash');
    await expect.poll(() => page.textContent('#todo-status'), POLL).toMatch(/^Crashed \(tear8, seed 1\) mid-commit of "half-written to-do".*every committed to-do is here/);
    await page.waitForSelector(`#todo-list li.done:has-text("${text}")`);
    const before = await page.locator('#todo-list li[data-id]').count();
    await page.fill('#todo-input', 'half-written');
    await page.click('#todo-crash-mid');
    await expect.poll(() => page.textContent('#todo-status'), POLL).toMatch(/^Crashed \(tear8, seed 1\) mid-add of "half-written".*"half-written" is gone, nothing leaked/);
    expect(await page.locator('#todo-list li[data-id]').count()).toBe(before);
    expect(await page.locator('#todo-list li:has-text("half-written")').count()).toBe(0);
    await shot(page, 'todo');
  });

  /** The to-dos the page lists, as [id, text, done], in list order. */
  const listedTodos = (p: Page) => p.$$eval('#todo-list li[data-id]', (lis) => lis.map((li) =>
    [Number((li as HTMLElement).dataset.id), li.querySelector('.todo-text')!.textContent!, li.classList.contains('done')] as [number, string, boolean]));

  /** The to-dos in the page's Store file (its bytes as durable now, opened in Node with the Store), as [id, text, done], in key order. */
  async function storedTodos(p: Page): Promise<[number, string, boolean][]> {
    const b64 = await p.evaluate(async () => {
      const bytes: Uint8Array = await (window as any).pheapApp.todo.exportBytes();
      let bin = '';
      for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(bin);
    });
    const file = path.join(tmp, `todo-${Date.now()}.store`);
    fs.writeFileSync(file, Buffer.from(b64, 'base64'));
    const db = openStoreFile({ path: file, backend: 'file' });
    try {
      return db.getRange({ start: ['todo'], end: ['todo', Infinity] }).asArray.map(({ key, value }) => [(key as [string, number])[1], value.text, value.done]);
    } finally {
      db.close();
    }
  }

  it('to-do app: added to-dos are entries [\'todo\', id] → { text, done } of its Store file, read back from it after a reload', async () => {
    console.log(`to-do tests: PHEAP_TODO_SEED=${TODO_SEED} npx vitest run test/browser.test.ts`);
    const prng = new Prng(TODO_SEED);
    const texts = Array.from({ length: 2 + prng.below(4) }, (_, i) => `reload ${TODO_SEED}-${i} ${prng.next().toString(36)}`);
    for (const text of texts) {
      await page.fill('#todo-input', text);
      await page.click('#todo-form button[type=submit]');
      await page.waitForSelector(`#todo-list li[data-id]:has-text("${text}")`);
    }
    const before = await listedTodos(page);
    expect(before.filter(([, t]) => texts.includes(t)).map(([, t, done]) => [t, done])).toEqual(texts.map((t) => [t, false]));
    expect(await storedTodos(page), 'the list is the Store file\'s entries').toEqual(before);
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready !== undefined, null, { timeout: 30_000 });
    expect(await page.evaluate(() => document.body.dataset.ready)).toBe('true');
    expect(await page.textContent('#todo-status')).toMatch(/Reopened from OPFS/);
    expect(await listedTodos(page), 'after a reload: the same list, read from the Store file').toEqual(before);
    expect(await storedTodos(page)).toEqual(before);
  });

  it('to-do app: a crash mid-commit or mid-add leaves the list as before the interrupted add or after it, in the page and in the Store file', async () => {
    const prng = new Prng(TODO_SEED + 1);
    for (let round = 0; round < 4; round++) {
      const mode = CRASH_MODES[prng.below(CRASH_MODES.length)];
      const seed = prng.below(1000);
      const at = prng.coin() ? 'commit' : 'add';
      const text = `interrupted ${TODO_SEED}-${round}`;
      const before = await listedTodos(page);
      await page.selectOption('#todo-mode', mode);
      if (await page.isEnabled('#todo-seed')) await page.fill('#todo-seed', String(seed));
      await page.fill('#todo-input', text);
      await page.click(at === 'commit' ? '#todo-crash' : '#todo-crash-mid');
      await expect.poll(() => page.textContent('#todo-status'), POLL).toMatch(new RegExp(`^Crashed \\(${mode}[^)]*\\) mid-${at} of "${text}"`));
      const after = await listedTodos(page);
      const added = after.filter(([, t]) => t === text);
      const rest = after.filter(([, t]) => t !== text);
      expect(rest, `round ${round} (${mode}, seed ${seed}, mid-${at}): every committed to-do is still there`).toEqual(before);
      expect(added.length, `round ${round}: the add is all or nothing`).toBeLessThanOrEqual(1);
      expect(await storedTodos(page), `round ${round}: the list is the Store file's entries`).toEqual(after);
    }
  });

  it('a second page on the same pools gets the "open elsewhere" error', async () => {
    const second = await ctx.newPage();
    try {
      expect(await openPlayground(second)).toBe('error');
      expect(await second.getAttribute('#fatal', 'data-code')).toBe('ERR_POOL_LOCKED');
      expect(await second.textContent('#fatal')).toMatch(/already open in another tab.*PoolLockedError: lab\.pool is open elsewhere/s);
      await shot(second, 'second-tab-locked', false);
    } finally {
      await second.close();
    }
    // the first page is unaffected
    expect(await page.isHidden('#fatal')).toBe(true);
  });

  it('imports a pool file made by Node: opens and reads the same; export is byte-identical', async () => {
    const file = path.join(tmp, 'node-made.pool');
    const greeting = new TextEncoder().encode('hello from node, in a pool file!');
    const node = Pool.create({ path: file, size: 256 * 1024, layout: 'node-made', seed: 'portable' });
    const root = node.root(64);
    node.writeBytes(root, greeting);
    node.persist(root, greeting.length);
    const obj = node.alloc(48, { type: 7, into: root + 40 });
    node.writeU32(obj, 0xdecafbad);
    node.persist(obj, 4);
    node.close();
    const made = fs.readFileSync(file);

    // Import + export without opening: the very same bytes.
    const roundTrip = await page.evaluate(async (bytes) => {
      const { PoolClient } = (window as any).pheap;
      await PoolClient.importFile('roundtrip.pool', new Uint8Array(bytes), { replace: true });
      const back = await PoolClient.exportFile('roundtrip.pool');
      await PoolClient.remove('roundtrip.pool');
      return Array.from(back as Uint8Array);
    }, Array.from(made));
    expect(Buffer.from(roundTrip).equals(made)).toBe(true);

    // Through the page's file picker: imported, opened (layout from the header), described.
    await page.setInputFiles('#import-input', file);
    await page.waitForSelector('#import-result [data-imported]');
    expect(await page.getAttribute('#import-result [data-imported]', 'data-imported')).toBe('ok');
    expect(await page.textContent('#import-result')).toMatch(/256 KiB, layout "node-made", 2 live object\(s\)/);
    const rootBytes = await page.getAttribute(`#import-result tr[data-off="${root}"] code`, 'data-bytes');
    expect(rootBytes).toBe(Buffer.from(greeting).toString('hex').match(/../g)!.join(' '));
    expect(await page.getAttribute(`#import-result tr[data-off="${obj}"] code`, 'data-bytes')).toMatch(/^ad fb ca de/);

    // Export from the page (download button) = what Node's own open + close of the same file leaves.
    const dl = page.waitForEvent('download');
    await page.click('[data-export="imported.pool"]');
    const saved = path.join(tmp, 'exported.pool');
    await (await dl).saveAs(saved);
    const nodeCopy = path.join(tmp, 'node-reopened.pool');
    fs.copyFileSync(file, nodeCopy);
    const reopened = Pool.open({ path: nodeCopy, layout: 'node-made' });
    expect(Buffer.from(reopened.readBytes(root, greeting.length)).equals(Buffer.from(greeting))).toBe(true);
    reopened.close();
    const exported = fs.readFileSync(saved);
    expect(exported.length).toBe(made.length);
    expect(exported.equals(fs.readFileSync(nodeCopy))).toBe(true);
    // And Node opens the browser's export and reads the same.
    const back = Pool.open({ path: saved, layout: 'node-made' });
    expect(back.readU32(back.readU32(root + 40))).toBe(0xdecafbad);
    back.close();
    await page.locator('#sec-files').scrollIntoViewIfNeeded();
    await shot(page, 'imported', false);
  });

  it('works in a narrow window (no horizontal scrolling)', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => window.scrollTo(0, 0));
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1)).toBe(true);
    await shot(page, 'narrow');
    await page.setViewportSize({ width: 1280, height: 800 });
    expect(pageErrors).toEqual([]);
  });
});
