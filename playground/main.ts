// main.ts — the playground page: wires the lab pool (grid, controls, crash,
// undo log), the lessons (with the doctor and the measurement cards), the
// to-do app and pool files together.
// Pools live in OPFS, driven from workers through PoolClient; the page only
// draws. `window.pheap` exposes the client API for the console (and tests).
// If the pools cannot be opened, the page says why in the alert box and in
// the grid's banner, and disables its buttons: it never stays "Loading".

import { PoolClient } from '../src/browser/client.js';
import { open as openStore } from '../src/browser/store.js';
import { decodeLog } from '../src/browser/undolog.js';
import * as errors from '../src/errors.js';
import { Lab } from './lab.js';
import { mountLessons, LESSONS } from './lessons.js';
import { TodoApp } from './todo.js';
import { Files, headerInfo } from './files.js';
import { mountDoctor } from './doctor.js';
import { mountMeasure } from './measure.js';
import { $, el } from './ui.js';

PoolClient.workerUrl = new URL('./worker.js', import.meta.url);

function activity(msg: string, kind: 'ok' | 'err' | 'info' = 'info'): void {
  const ol = $('#activity');
  const t = new Date().toLocaleTimeString([], { hour12: false });
  ol.prepend(el('li', { class: kind }, el('time', { text: t }), ' ', msg));
  while (ol.children.length > 60) ol.lastElementChild!.remove();
}

function fatal(e: unknown): void {
  const err = e as Error & { code?: string };
  const box = $('#fatal');
  box.hidden = false;
  box.dataset.code = err.code ?? 'ERR';
  const what = err instanceof errors.PoolLockedError
    ? 'This playground is already open in another tab or window: its pools are locked there (one OPFS access handle per file). Close that tab, then reload this one.'
    : err instanceof errors.StorageUnavailableError
      ? 'This browser cannot give the playground persistent storage here.'
      : 'The playground could not start.';
  box.replaceChildren(el('strong', { text: what }), el('p', { text: `${err.name}: ${err.message}` }));
  document.body.classList.add('failed');
  // The grid says so too: it will not load, so it must not keep saying "Loading".
  const banner = $('#grid-banner');
  banner.className = 'banner failed';
  banner.textContent = `Not loaded — ${what} (${err.name})`;
  for (const b of document.querySelectorAll<HTMLButtonElement>('main button')) b.disabled = true;
}

const w = window as unknown as Record<string, unknown>;
w.pheap = { PoolClient, openStore, decodeLog, errors, headerInfo, LESSONS };

async function main(): Promise<void> {
  const lab = new Lab(activity);
  const todo = new TodoApp(activity);
  const files = new Files(activity, {
    'lab.pool': () => lab.client!.exportBytes(),
    'todo.store': () => todo.exportBytes(),
  });
  w.pheapApp = { lab, todo, files };
  lab.wireControls();
  mountLessons(lab, activity);
  mountDoctor($('#scenario-list'));
  mountMeasure($('#scenario-list'));
  files.wire();
  await lab.start();
  await todo.start();
  activity(`lab pool ready: ${lab.client!.info.size / 1024} KiB in OPFS (durability ${lab.client!.info.durability}), root object at 0x${lab.root.toString(16)}`, 'ok');
  document.body.dataset.ready = 'true';
}

main().catch((e) => {
  fatal(e);
  document.body.dataset.ready = 'error';
});
