// playground.ts — the playground built, served and opened in Chromium, for the browser tests.
//
// Owns the set-up every playground test file shares: build the bundles it
// serves (the WASM core too if build/ lacks it), serve playground/ + build/
// with src/cli/serve.ts on a free port, launch a persistent Chromium context
// in a temp dir (test/helpers/chromium.ts) — usePlayground registers that as
// a test file's hooks — open the page, read the grid's
// published counts and the line inspector's words, and drive a lesson (Next,
// Back, Run to crash, Run recovery — each waits for the page to finish). A
// missing browser throws (the tests then fail, never skip).

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { serve } from '../../src/cli/serve.js';
import { launchChromium, requireChromium } from './chromium.js';
import { REPO } from './readme.js';

export interface PlaygroundSession {
  server: Server;
  /** http://127.0.0.1:<port> */
  base: string;
  ctx: BrowserContext;
  page: Page;
  /** A temp dir (the browser profile is in it), removed by close(). */
  tmp: string;
  /** Uncaught page errors, as they happen. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** Build, serve and launch; `prefix` names the temp dir. */
export async function startPlayground(prefix: string, opts: { acceptDownloads?: boolean } = {}): Promise<PlaygroundSession> {
  requireChromium();
  if (!fs.existsSync(path.join(REPO, 'build', 'pheap.wasm'))) execFileSync('npm', ['run', 'build:wasm'], { cwd: REPO, stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO, stdio: 'inherit' });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const server = await serve(0);
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ctx = await launchChromium(path.join(tmp, 'profile'), { acceptDownloads: opts.acceptDownloads });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return {
    server, base, ctx, page, tmp, pageErrors,
    async close() {
      await ctx.close();
      await new Promise((ok) => server.close(ok));
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/**
 * Register this test file's hooks for one session: start it before all
 * tests (then run `ready`), close it after all (after `done`). If set-up
 * fails, every test FAILS with its error — never skips.
 */
export function usePlayground(prefix: string, hooks: {
  opts?: { acceptDownloads?: boolean };
  ready?: (s: PlaygroundSession) => Promise<void> | void;
  done?: (s: PlaygroundSession) => void;
} = {}): void {
  let session: PlaygroundSession | undefined;
  let setupError: Error | null = null;
  beforeAll(async () => {
    try {
      session = await startPlayground(prefix, hooks.opts);
      await hooks.ready?.(session);
    } catch (e) {
      setupError = e as Error;
    }
  });
  beforeEach(() => {
    if (setupError) throw setupError;
  });
  afterAll(async () => {
    if (session) hooks.done?.(session);
    await session?.close();
  });
}

/** Load the playground at `base` in `p`; resolves with body[data-ready] ('true', or 'error' when the pools cannot open). */
export async function openPlayground(p: Page, base: string): Promise<string> {
  await p.goto(`${base}/`);
  await p.waitForFunction(() => document.body.dataset.ready !== undefined, null, { timeout: 30_000 });
  return (await p.evaluate(() => document.body.dataset.ready))!;
}

/** Grid state counts, as the page publishes them on #grid-counts. */
export async function gridCounts(p: Page): Promise<Record<string, number>> {
  return p.evaluate(() => {
    const d = (document.querySelector('#grid-counts') as HTMLElement).dataset;
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(d)) if (k !== 'view') out[k] = Number(v);
    return out;
  });
}

// ─── lessons and the line inspector ───────────────────────────────────────

/** One word cell of the line inspector, as the page publishes it. */
export interface InspectorWord { word: number; top: string; bottom: string; mark: string }
/** One line of the line inspector: its number, grid state and eight words. */
export interface InspectorLine { line: number; state: string; words: InspectorWord[] }

/** What the line inspector shows now: its view, the names of its two images, and its lines. */
export async function inspector(p: Page): Promise<{ view: string; top: string; bottom: string; lines: InspectorLine[] }> {
  return p.evaluate(() => {
    const box = document.querySelector('#inspector') as HTMLElement;
    const lines = [...box.querySelectorAll<HTMLElement>('.iline')].map((l) => ({
      line: Number(l.dataset.line), state: l.dataset.state!,
      words: [...l.querySelectorAll<HTMLElement>('.iword')].map((w) => ({ word: Number(w.dataset.word), top: w.dataset.top!, bottom: w.dataset.bottom!, mark: w.dataset.mark! })),
    }));
    return { view: box.dataset.view!, top: box.dataset.top ?? '', bottom: box.dataset.bottom ?? '', lines };
  });
}

/** Steps of lesson `id` done, as its step line says. */
export async function lessonDone(p: Page, id: string): Promise<number> {
  return Number(await p.getAttribute(`[data-step="${id}"]`, 'data-done'));
}

/** Click lesson `id`'s Next (or Back) and wait until its step count is `want`. */
export async function lessonStep(p: Page, id: string, dir: 'next' | 'back', want: number): Promise<void> {
  await p.click(`[data-${dir}="${id}"]`);
  await p.waitForFunction(([i, w]) => (document.querySelector('#scenario-list') as HTMLElement).dataset.busy === 'false' &&
    (document.querySelector(`[data-step="${i}"]`) as HTMLElement).dataset.done === String(w), [id, want] as const, { timeout: 10_000 });
}

/** Click lesson `id`'s "Run to crash"; resolves with its outcome line once crashed. */
export async function lessonCrash(p: Page, id: string): Promise<string> {
  await p.click(`[data-run="${id}"]`);
  await p.waitForSelector(`[data-outcome="${id}"][data-phase="crashed"]`, { timeout: 30_000 });
  return (await p.textContent(`[data-outcome="${id}"]`))!;
}

/** Click lesson `id`'s "Run recovery"; resolves with its verdict and outcome line. */
export async function lessonRecover(p: Page, id: string): Promise<{ verdict: string; text: string }> {
  await p.click(`[data-recover="${id}"]`);
  await p.waitForSelector(`[data-outcome="${id}"][data-phase="recovered"]`, { timeout: 30_000 });
  return { verdict: (await p.getAttribute(`[data-outcome="${id}"]`, 'data-verdict'))!, text: (await p.textContent(`[data-outcome="${id}"]`))! };
}
