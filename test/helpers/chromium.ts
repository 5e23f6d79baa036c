// chromium.ts — Debian's chromium under playwright-core, for the browser tests and bench:browser.
//
// One place for where the browser is (/usr/bin/chromium, installed by
// scripts/setup-system.sh, which `npm test`'s pretest runs; PHEAP_CHROMIUM
// overrides it), the flags that keep a headless run quiet and offline, and
// the message a missing browser gives: callers FAIL with it, never skip.
// Contexts are persistent (a user-data-dir), so OPFS behaves as in a real
// profile and files survive a reload.

import * as fs from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.PHEAP_CHROMIUM ?? '/usr/bin/chromium';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Throw, saying how to install it, unless the browser is there. */
export function requireChromium(): void {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}. The browser tests need Debian's chromium: run \`bash scripts/setup-system.sh\` ` +
      '(npm test runs it as pretest; it needs root or passwordless sudo and apt), or point PHEAP_CHROMIUM at a Chromium binary.');
  }
}

/** A headless persistent context in `userDir` (1280×800 unless `viewport` says otherwise). */
export function launchChromium(userDir: string, opts: { viewport?: { width: number; height: number }; acceptDownloads?: boolean } = {}): Promise<BrowserContext> {
  requireChromium();
  return chromium.launchPersistentContext(userDir, {
    executablePath: CHROMIUM, headless: true, args: FLAGS,
    viewport: opts.viewport ?? { width: 1280, height: 800 }, acceptDownloads: opts.acceptDownloads ?? false,
  });
}
