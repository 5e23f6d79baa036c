// playground-lessons.test.ts — the playground's lessons and its line
// inspector (issue 14, items 1 and 2), in real Chromium
// (test/helpers/playground.ts). Owns: every lesson's step-by-step run
// (Next to the end, Back one step, Run to crash from there) and its crash
// and recovery give the documented outcome, with the mode and seed shown; the
// inspector shows the expected bytes for one step of each lesson; the
// inspector stays in view during a lesson at 1280×800 and 390×844; the
// "is it really on pmem?" lesson shows the serving machine's doctor report;
// lesson 12 draws the page cache's dirty page; lesson 13 measures memory vs
// storage live and prints both costs and their ratio (no timing asserted).
//
// Invariants checked: the inspector's marks agree with the bytes (a marked
// word differs between its two images; after a crash, kept iff the file has
// the new value), and so with the recovered pool, for seeded random crashes;
// the run prints the one line that reproduces it (PHEAP_LESSONS_SEED=<seed>).

import { describe, it, expect } from 'vitest';
import type { Page } from 'playwright-core';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Prng } from '../src/index.js';
import { doctor } from '../src/cli/doctor.js';
import { REPO } from './helpers/readme.js';
import { fmtRatio } from '../playground/measure.js';
import {
  gridCounts, inspector, lessonCrash, lessonDone, lessonRecover, lessonStep, openPlayground, usePlayground,
  type InspectorLine,
} from './helpers/playground.js';

const SEED = Number(process.env.PHEAP_LESSONS_SEED ?? 20261202);
/** PHEAP_DOCS_SCREENSHOTS=1: the layout tests also refresh docs/playground-lesson-*.png (three lessons, at both sizes). */
const DOCS = process.env.PHEAP_DOCS_SCREENSHOTS === '1';
/** The lessons (and the step) the docs show. */
const DOC_SHOTS = [{ id: 'half-16', step: 2 }, { id: 'torn-line', step: 2 }, { id: 'persistence-domain', step: 2 }];

let page: Page;
let base = '';

usePlayground('pheap-lessons-', {
  ready: async (session) => {
    ({ page, base } = session);
    expect(await openPlayground(page, base)).toBe('true');
  },
  done: (session) => expect(session.pageErrors).toEqual([]),
});

/** Pool offset of a root field, as the page computes it. */
const field = (name: string): Promise<number> => page.evaluate((n) => (window as any).pheapApp.lab.field(n), name);
const u64hex = (v: bigint): string => v.toString(16).padStart(16, '0');
/** Run lesson `id` to step `n` from a fresh start (Next, n times). */
async function stepTo(id: string, n: number): Promise<void> {
  const generation: number = await page.evaluate(() => (window as any).pheapApp.lab.generation);
  await page.click('#btn-reset'); // any lesson's Next after a reset starts it over
  await page.waitForFunction((g) => (window as any).pheapApp.lab.generation > g, generation, { timeout: 10_000 });
  for (let k = 1; k <= n; k++) await lessonStep(page, id, 'next', k);
}
const lineOf = (lines: InspectorLine[], line: number): InspectorLine => {
  const l = lines.find((x) => x.line === line);
  expect(l, `line ${line} in the inspector (it shows ${lines.map((x) => x.line).join(', ')})`).toBeDefined();
  return l!;
};

/** The documented outcome of each lesson: its crash (mode, seed, grid counts) and its verdict after recovery. */
const DOCUMENTED: { id: string; steps: number; mode?: string; label: string; counts: Record<string, number>; minLost?: number; verdict: string; text: RegExp }[] = [
  { id: 'missing-flush', steps: 2, label: 'strict', counts: { lost: 1 }, verdict: 'lost', text: /counter = 0 after recovery/ },
  { id: 'pointer-before-data', steps: 3, label: 'strict', counts: { lost: 1 }, verdict: 'dangling', text: /root\.ptr = 0x[0-9a-f]+ survived, but the node holds 0x0/ },
  { id: 'half-16', steps: 3, label: 'pending, seed 4', counts: { survived: 2, lost: 1 }, verdict: 'half-updated', text: /pair = \(2, 1\): half-updated/ },
  { id: 'tx-safe', steps: 4, label: 'pending, seed 4', counts: { survived: 1, lost: 1 }, verdict: 'rolled-back', text: /pair = \(1, 1\): recovery found 1 valid undo-log entry/ },
  { id: 'leak', steps: 2, label: 'strict', counts: { lost: 1 }, verdict: 'leaked', text: /root\.ptr = null, yet 1 node of 64 B is still allocated/ },
  { id: 'torn-line', steps: 2, label: 'tear8, seed 3', counts: { torn: 1, survived: 0 }, verdict: 'torn', text: /counter = 2, pairA = 1: the line is torn/ },
  { id: 'persistence-domain', steps: 5, label: 'eadr', counts: { survived: 2, lost: 0 }, verdict: 'both-survived', text: /^eadr: root\.ptr = 0x[0-9a-f]+ and the node holds 0xc0ffee/ },
  { id: 'persistence-domain', steps: 5, mode: 'strict', label: 'strict', counts: { survived: 0, lost: 2 }, verdict: 'both-lost', text: /^strict: root\.ptr = null and the node holds 0x0/ },
  { id: 'flush-kinds', steps: 2, label: 'pending, seed 1', counts: { survived: 1, lost: 1 }, verdict: 'out-of-order', text: /counter = 0, packed = 7: the later flush landed/ },
  // durability none: the file never got a byte, so every line that differs from it (header and all) is lost
  { id: 'memory-mode', steps: 2, label: 'strict', counts: { survived: 0, torn: 0 }, minLost: 3, verdict: 'gone', text: /^strict: recovery found no pool at all \(NotAPoolError\)/ },
  { id: 'process-crash', steps: 2, label: 'eadr', counts: { survived: 1, lost: 0 }, verdict: 'all-kept', text: /^process crash: counter = 42, packed = 7/ },
  { id: 'process-crash', steps: 2, mode: 'strict', label: 'strict', counts: { survived: 0, lost: 1 }, verdict: 'persisted-only', text: /^power failure: counter = 0, packed = 7/ },
  { id: 'dax-vs-page-cache', steps: 2, label: 'evict, seed 3', counts: { survived: 1, lost: 0, torn: 0 }, verdict: 'written-back-early', text: /^evict: counter = 42, packed = 7 — the kernel wrote the dirty page back/ },
  { id: 'dax-vs-page-cache', steps: 2, mode: 'strict', label: 'strict', counts: { survived: 0, lost: 1, torn: 0 }, verdict: 'lost-before-msync', text: /^strict: counter = 42, packed = 0 — the power cut came before the msync/ },
];
/** The cards after the lessons: they ask the server, or measure, instead of crashing. */
const OTHER_CARDS = ['doctor', 'memory-vs-storage'];

describe('lessons: step by step, crash and recovery', () => {
  it('the lesson list is the documented one, each with its steps, mode and seed on the card', async () => {
    const ids = await page.$$eval('#scenario-list > article', (es) => es.map((e) => e.id.replace(/^sc-/, '')));
    expect(ids).toEqual([...new Set(DOCUMENTED.map((d) => d.id)), ...OTHER_CARDS]);
    for (const d of DOCUMENTED.filter((x) => !x.mode)) {
      expect(await page.textContent(`[data-step="${d.id}"]`)).toBe(`${d.steps} steps · crash: ${d.label}`);
    }
  });

  it('docs/playground.md lists every lesson with what it teaches, as the page says it', async () => {
    const doc = fs.readFileSync(path.join(REPO, 'docs', 'playground.md'), 'utf8');
    const lessons: { title: string; teaches: string }[] = await page.evaluate(() => (window as any).pheap.LESSONS.map((l: { title: string; teaches: string }) => ({ title: l.title, teaches: l.teaches })));
    expect(lessons).toHaveLength(new Set(DOCUMENTED.map((d) => d.id)).size);
    for (const l of lessons) expect(doc, l.title).toContain(`| ${l.title} | ${l.teaches} |`);
    expect(doc).toContain(`| ${await page.textContent('#sc-doctor h3')} |`);
    const measurePoint = (await page.textContent('[data-point="memory-vs-storage"]'))!.replace(/^The point: (.*)\.$/, '$1');
    expect(doc).toContain(`| ${await page.textContent('#sc-memory-vs-storage h3')} | ${measurePoint} |`);
  });

  for (const d of DOCUMENTED) {
    it(`${d.id}${d.mode ? ` (${d.mode})` : ''}: Next to the end, Back one step, Run to crash → ${d.verdict}`, async () => {
      if (d.mode) await page.selectOption(`[data-mode="${d.id}"]`, d.mode);
      await stepTo(d.id, d.steps);
      expect(await page.textContent(`[data-step="${d.id}"]`)).toMatch(new RegExp(`^step ${d.steps}/${d.steps}: `));
      expect(await page.isDisabled(`[data-next="${d.id}"]`)).toBe(true);
      const atEnd = await inspector(page);
      await lessonStep(page, d.id, 'back', d.steps - 1);
      await lessonStep(page, d.id, 'next', d.steps);
      expect(await inspector(page), 'Back then Next shows the same lines and bytes').toEqual(atEnd);
      await lessonStep(page, d.id, 'back', d.steps - 1);
      expect(await lessonCrash(page, d.id)).toMatch(new RegExp(`^Crashed \\(${d.label}\\): `)); // runs the last step, then crashes
      expect(await lessonDone(page, d.id)).toBe(0); // crashed: no longer mid-program
      const c = await gridCounts(page);
      for (const [k, n] of Object.entries(d.counts)) expect(c[k] ?? 0, `${k} lines`).toBe(n);
      if (d.minLost) expect(c.lost).toBeGreaterThanOrEqual(d.minLost);
      const o = await lessonRecover(page, d.id);
      expect(o.verdict).toBe(d.verdict);
      expect(o.text).toMatch(d.text);
      expect(await page.isVisible(`[data-point="${d.id}"]`)).toBe(true);
      const teaches = await page.evaluate((id) => (window as any).pheap.LESSONS.find((l: { id: string }) => l.id === id).teaches, d.id);
      expect(await page.textContent(`[data-point="${d.id}"]`)).toBe(`The point: ${teaches}.`);
      if (d.verdict === 'gone') { // the lab is back on a fresh lab.pool, live
        expect(await page.getAttribute('#grid-counts', 'data-view')).toBe('live');
        expect(await page.evaluate(() => (window as any).pheapApp.lab.client.name)).toBe('lab.pool');
      }
      if (d.mode) await page.selectOption(`[data-mode="${d.id}"]`, { index: 0 });
    });
  }
});

describe('the line inspector shows the expected bytes', () => {
  /** Lesson, step, and what the inspector must show after it (offsets from the page). */
  const CASES: { id: string; step: number; check: () => Promise<void> }[] = [
    { id: 'missing-flush', step: 1, async check() {
      const at = await field('counter');
      const w = lineOf((await inspector(page)).lines, at >> 6);
      expect(w.state).toBe('dirty');
      expect(w.words[(at & 63) >> 3]).toMatchObject({ top: u64hex(42n), bottom: u64hex(0n), mark: 'differs' });
      expect(w.words.filter((x) => x.mark !== 'same')).toHaveLength(1);
    } },
    { id: 'pointer-before-data', step: 2, async check() {
      const i = await inspector(page);
      const touched: number[] = await page.evaluate(() => (window as any).pheapApp.lab.touched);
      expect(touched).toHaveLength(1); // one 8-byte store: one line
      const w = lineOf(i.lines, touched[0]);
      expect(w.words[0]).toMatchObject({ top: u64hex(0xc0ffeen), bottom: u64hex(0n), mark: 'differs' });
    } },
    { id: 'half-16', step: 2, async check() {
      const a = await field('pairA'), b = await field('pairB');
      const i = await inspector(page);
      expect(lineOf(i.lines, a >> 6)).toMatchObject({ state: 'pending' });
      expect(lineOf(i.lines, a >> 6).words[7]).toMatchObject({ top: u64hex(2n), bottom: u64hex(1n), mark: 'differs' });
      expect(lineOf(i.lines, b >> 6).words[0]).toMatchObject({ top: u64hex(2n), bottom: u64hex(1n), mark: 'differs' });
    } },
    { id: 'tx-safe', step: 3, async check() {
      // add range: the log entry (u32 off, u32 len, u64 check, old bytes) is written and persisted
      const a = await field('pairA');
      const head = u64hex((16n << 32n) | BigInt(a));
      const i = await inspector(page);
      const entry = i.lines.flatMap((l) => l.words.map((w) => ({ l, w }))).find(({ w }) => w.top === head);
      expect(entry, 'the entry header in the inspector').toBeDefined();
      const words = entry!.l.words;
      expect(words[entry!.w.word + 2]).toMatchObject({ top: u64hex(1n), bottom: u64hex(1n), mark: 'same' }); // old pair.a, durable
      expect(words[entry!.w.word + 3]).toMatchObject({ top: u64hex(1n), bottom: u64hex(1n), mark: 'same' }); // old pair.b
      expect(entry!.l.state).toBe('durable');
    } },
    { id: 'leak', step: 2, async check() {
      const at = await field('ptr');
      const w = lineOf((await inspector(page)).lines, at >> 6).words[(at & 63) >> 3];
      expect(w.mark).toBe('differs');
      expect(w.bottom).toBe(u64hex(0n));
      expect(BigInt(`0x${w.top}`) % 64n).toBe(0n); // a node offset, 64-byte aligned
      expect(BigInt(`0x${w.top}`)).toBeGreaterThan(0n);
    } },
    { id: 'torn-line', step: 2, async check() {
      const at = await field('counter');
      const w = lineOf((await inspector(page)).lines, at >> 6).words;
      expect(w.map((x) => x.mark)).toEqual(['differs', 'same', 'same', 'same', 'same', 'same', 'same', 'differs']);
      expect(w[0]).toMatchObject({ top: u64hex(2n), bottom: u64hex(1n) });
      // and the crash (tear8, seed 3) keeps word 0 and loses word 7, as the outcome says
      await lessonCrash(page, 'torn-line');
      const c = await inspector(page);
      expect([c.top, c.bottom]).toEqual(['cache (gone)', 'file after crash']);
      expect(lineOf(c.lines, at >> 6).words.map((x) => x.mark)).toEqual(['kept', 'same', 'same', 'same', 'same', 'same', 'same', 'lost']);
      await lessonRecover(page, 'torn-line');
    } },
    { id: 'persistence-domain', step: 2, async check() {
      const lines = (await inspector(page)).lines;
      const node = lines.find((l) => l.words[0].top === u64hex(0xc0ffeen));
      expect(node, 'the node line with 0xc0ffee').toBeDefined();
      expect(node!).toMatchObject({ state: 'dirty' });
      expect(node!.words[0]).toMatchObject({ bottom: u64hex(0n), mark: 'differs' });
      await lessonStep(page, 'persistence-domain', 'next', 3); // the fence: no flush, so nothing changes
      expect(await page.evaluate(() => (window as any).pheapApp.lab.touched)).toEqual([]);
    } },
    { id: 'flush-kinds', step: 2, async check() {
      const c = await field('counter'), p = await field('packed');
      const i = await inspector(page);
      expect(lineOf(i.lines, c >> 6)).toMatchObject({ state: 'pending' });
      expect(lineOf(i.lines, c >> 6).words[0]).toMatchObject({ top: u64hex(42n), bottom: u64hex(0n), mark: 'differs' });
      expect(lineOf(i.lines, p >> 6)).toMatchObject({ state: 'pending' });
      expect(lineOf(i.lines, p >> 6).words[(p & 63) >> 3]).toMatchObject({ top: u64hex(7n), bottom: u64hex(0n), mark: 'differs' });
    } },
    { id: 'memory-mode', step: 2, async check() {
      // persisted, yet the file still holds 0: at durability none the fence reaches nothing
      const at = await field('counter');
      const w = lineOf((await inspector(page)).lines, at >> 6);
      expect(w.state).toBe('dirty');
      expect(w.words[(at & 63) >> 3]).toMatchObject({ top: u64hex(42n), bottom: u64hex(0n), mark: 'differs' });
    } },
    { id: 'process-crash', step: 2, async check() {
      const c = await field('counter'), p = await field('packed');
      const i = await inspector(page);
      expect(lineOf(i.lines, c >> 6)).toMatchObject({ state: 'dirty' });
      expect(lineOf(i.lines, c >> 6).words[(c & 63) >> 3]).toMatchObject({ top: u64hex(42n), bottom: u64hex(0n), mark: 'differs' });
      expect(lineOf(i.lines, p >> 6)).toMatchObject({ state: 'durable' });
      expect(lineOf(i.lines, p >> 6).words[(p & 63) >> 3]).toMatchObject({ top: u64hex(7n), bottom: u64hex(7n), mark: 'same' });
    } },
    { id: 'dax-vs-page-cache', step: 2, async check() {
      // counter persisted (msync / CLWB + SFENCE); packed stored, its page (and line) dirty
      const c = await field('counter'), p = await field('packed');
      const i = await inspector(page);
      expect(lineOf(i.lines, c >> 6).words[(c & 63) >> 3]).toMatchObject({ top: u64hex(42n), bottom: u64hex(42n), mark: 'same' });
      expect(lineOf(i.lines, p >> 6)).toMatchObject({ state: 'dirty' });
      expect(lineOf(i.lines, p >> 6).words[(p & 63) >> 3]).toMatchObject({ top: u64hex(7n), bottom: u64hex(0n), mark: 'differs' });
      const layers = await layerRows();
      expect(layers.find((r) => r[0] === 'page cache')![1]).toContain(`page ${p >> 12} (0x${((p >> 12) * 4096).toString(16)}, 4 KiB): dirty — 1 of its 64 lines differ from the file`);
      expect(layers.find((r) => r[0] === 'file')![1]).toBe(`watched lines not yet in the file: ${p >> 6}`);
      await lessonStep(page, 'dax-vs-page-cache', 'back', 1); // before packed's store: the page is clean again
      expect((await layerRows()).find((r) => r[0] === 'page cache')![1]).toMatch(/: clean$/);
    } },
  ];
  /** Lesson 12's layers table, as the card draws it now. */
  const layerRows = (): Promise<string[][]> => page.$$eval('[data-layers="dax-vs-page-cache"] tr', (es) => es.map((e) => [...e.children].map((c) => c.textContent ?? '')));
  for (const c of CASES) {
    it(`${c.id}, after step ${c.step}`, async () => {
      await stepTo(c.id, c.step);
      const i = await inspector(page);
      expect([i.view, i.top, i.bottom]).toEqual(['live', 'cache', 'durable']);
      await c.check();
    });
  }

  it('seeded crashes: the inspector\'s kept/lost marks agree with the recovered pool (flush-kinds, random seed values)', async () => {
    console.log(`reproduce: PHEAP_LESSONS_SEED=${SEED} npx vitest run test/playground-lessons.test.ts -t "seeded crashes"`);
    const rng = new Prng(SEED);
    const c = await field('counter'), p = await field('packed');
    for (let n = 0; n < 4; n++) {
      const seed = rng.below(1_000_000);
      await page.fill('[data-seed="flush-kinds"]', String(seed));
      expect(await lessonCrash(page, 'flush-kinds'), `seed ${seed}`).toMatch(new RegExp(`^Crashed \\(pending, seed ${seed}\\)`));
      const lines = (await inspector(page)).lines;
      const kept = (off: number) => lineOf(lines, off >> 6).words[(off & 63) >> 3].mark === 'kept';
      const o = await lessonRecover(page, 'flush-kinds');
      expect(o.text, `seed ${seed}`).toMatch(new RegExp(`^counter = ${kept(c) ? 42 : 0}, packed = ${kept(p) ? 7 : 0}`));
    }
    await page.fill('[data-seed="flush-kinds"]', '1');
  });
});

describe('the inspector is in view while a lesson runs', () => {
  /** After a step of lesson `id`, scrolled to the lesson's card as a reader would: the inspector and the card's buttons are both in view, not on top of each other. */
  async function followable(id: string, height: number): Promise<void> {
    await stepTo(id, 1);
    await page.evaluate((sel) => document.querySelector(sel)!.scrollIntoView({ block: 'end' }), `#sc-${id}`);
    const [insp, firstLine, next] = await Promise.all(['#sec-inspector', '#inspector .iline', `[data-next="${id}"]`]
      .map(async (s) => (await page.locator(s).first().boundingBox())!));
    for (const [name, b] of [['inspector', insp], ['its first line', firstLine], [`${id}'s Next`, next]] as const) {
      expect(b.y, `${name} (${id})`).toBeGreaterThanOrEqual(-1);
      expect(b.y + Math.min(b.height, 40), `${name} (${id})`).toBeLessThanOrEqual(height + 1);
    }
    expect(next.y, `${id}'s buttons below the inspector, not under it`).toBeGreaterThanOrEqual(insp.y + insp.height - 1);
  }

  /** With PHEAP_DOCS_SCREENSHOTS=1: the window as a reader sees each docs lesson at its step, into docs/. */
  async function docShots(size: string): Promise<void> {
    if (!DOCS) return;
    for (const s of DOC_SHOTS) {
      await stepTo(s.id, s.step);
      await page.evaluate((sel) => document.querySelector(sel)!.scrollIntoView({ block: 'end' }), `#sc-${s.id}`);
      await page.screenshot({ path: path.join(REPO, 'docs', `playground-lesson-${s.id}-${size}.png`) });
    }
  }

  it('at 1280×800 the inspector is beside the grid, and both stay in view', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    const [grid, insp] = await Promise.all(['#sec-grid', '#sec-inspector'].map(async (s) => (await page.locator(s).boundingBox())!));
    expect(insp.x, 'side by side').toBeGreaterThanOrEqual(grid.x + grid.width);
    expect(Math.abs(insp.y - grid.y)).toBeLessThan(2);
    for (const d of DOCUMENTED.filter((x) => !x.mode)) await followable(d.id, 800);
    await docShots('1280');
    const canvas = (await page.locator('#grid').boundingBox())!;
    expect(canvas.y).toBeGreaterThanOrEqual(0);
  });

  it('at 390×844 the inspector is under the grid and sticks at the top; no horizontal scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.evaluate(() => window.scrollTo(0, 0));
      const [grid, insp] = await Promise.all(['#sec-grid', '#sec-inspector'].map(async (s) => (await page.locator(s).boundingBox())!));
      expect(insp.y, 'stacked').toBeGreaterThanOrEqual(grid.y + grid.height);
      for (const d of DOCUMENTED.filter((x) => !x.mode)) await followable(d.id, 844);
      await docShots('390');
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      const small = await page.$$eval('#sec-scenarios button, #sec-scenarios input, #sec-scenarios select', (es) => es.flatMap((e) => {
        const r = e.getBoundingClientRect();
        return r.width < 24 || r.height < 24 ? [e.outerHTML.slice(0, 60)] : [];
      }));
      expect(small).toEqual([]);
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });
});

describe('memory vs storage, measured in this browser', () => {
  it('Measure shows both costs per operation (positive), each round, and the ratio of their medians; no file is left', async () => {
    await page.click('[data-measure="run"]');
    await page.waitForSelector('[data-outcome="memory-vs-storage"][data-phase="measured"]', { timeout: 60_000 });
    const d = (await page.evaluate(() => ({ ...(document.querySelector('[data-outcome="memory-vs-storage"]') as HTMLElement).dataset })))!;
    const text = (await page.textContent('[data-outcome="memory-vs-storage"]'))!;
    console.log(`lesson 13 in this Chromium: ${text}`);
    const mem = Number(d.memoryUs), sto = Number(d.storageUs), ratio = Number(d.ratio);
    for (const [k, v] of [['memory', mem], ['storage', sto], ['ratio', ratio]] as const) {
      expect(Number.isFinite(v) && v > 0, `${k} = ${v}`).toBe(true);
    }
    expect(ratio).toBeCloseTo(sto / mem, 6);
    expect(text).toContain(`storage is ${fmtRatio(ratio)} the memory cost here`);
    const rows = await page.$$eval('#measure-table tbody tr', (es) => es.map((e) => ({ side: (e as HTMLElement).dataset.side, cells: [...e.querySelectorAll('td')].map((t) => t.textContent ?? '') })));
    expect(rows.map((r) => r.side)).toEqual(['memory', 'storage']);
    for (const r of rows) {
      const rounds = r.cells[1].split(', ').map((x) => Number(x.replace(/ µs$/, '')));
      expect(rounds, r.side).toHaveLength(3);
      for (const x of rounds) expect(x, r.side).toBeGreaterThan(0);
      const sorted = [...rounds].sort((a, b) => a - b);
      expect(Number(r.cells[2].replace(/ µs$/, '')), `${r.side}: the median of its rounds`).toBe(sorted[1]);
    }
    expect(await page.isVisible('[data-point="memory-vs-storage"]')).toBe(true);
    const files: string[] = await page.evaluate(() => (window as any).pheap.PoolClient.list());
    expect(files).not.toContain('measure.pool');
  });
});

describe('is it really on pmem? — the serving machine\'s doctor report', () => {
  it('GET /api/doctor answers doctor() for the server\'s directory; other methods get 405', async () => {
    const res = await fetch(`${base}/api/doctor`);
    expect(res.status).toBe(200);
    const got = await res.json();
    const want = doctor(process.cwd());
    for (const k of ['path', 'dax', 'onPersistentMemory', 'verdict', 'drain'] as const) expect(got[k], k).toEqual(want[k]);
    expect(got.mapSync).toEqual(want.mapSync);
    expect((await fetch(`${base}/api/doctor`, { method: 'POST' })).status).toBe(405);
  });

  it('the lesson lists the five checks with what was found and what each means, and the report\'s verdict', async () => {
    const want = doctor(process.cwd());
    await page.click('[data-doctor="ask"]');
    await page.waitForSelector('[data-outcome="doctor"][data-phase="recovered"]', { timeout: 30_000 });
    const rows = await page.$$eval('#doctor-checks tbody tr', (es) => es.map((e) => ({
      id: (e as HTMLElement).dataset.check, ok: (e as HTMLElement).dataset.ok, cells: [...e.querySelectorAll('td')].map((t) => t.textContent ?? ''),
    })));
    expect(rows.map((r) => r.id)).toEqual(['dax', 'map-sync', 'nvdimm', 'iomem', 'pagemap']);
    for (const r of rows) expect(r.cells[3].length, `${r.id} is explained`).toBeGreaterThan(60);
    const mapSync = rows.find((r) => r.id === 'map-sync')!;
    expect(mapSync.ok).toBe(!want.mapSync.tested ? '?' : want.mapSync.ok ? 'yes' : 'no');
    if (want.mapSync.tested && !want.mapSync.ok) expect(mapSync.cells[1]).toContain(String(want.mapSync.code ?? want.mapSync.errno));
    if (want.fileSystem) expect(rows[0].cells[1]).toContain(`${want.fileSystem.fsType} on ${want.fileSystem.source}`);
    expect(rows.find((r) => r.id === 'nvdimm')!.cells[1]).toContain(want.nvdimm.busPresent ? `${want.nvdimm.activeRegions} region(s)` : 'no /sys/bus/nd');
    const verdict = want.onPersistentMemory === null ? 'unknown' : want.onPersistentMemory ? 'pmem' : 'not-pmem';
    expect(await page.getAttribute('[data-outcome="doctor"]', 'data-verdict')).toBe(verdict);
    expect(await page.textContent('[data-outcome="doctor"]')).toContain(want.verdict);
  });
});
