// todo.ts — a small real app on the heap: a to-do list in a Store file in OPFS.
//
// Owns the to-do list's file `todo.store` (a Store: src/store/, opened in the
// pool worker) and its panel. Each to-do is one entry: key ['todo', id],
// value { text, done }. The list is a getRange over ['todo', …]; add and
// toggle are one put, delete one remove — each durable when it resolves and
// crash-atomic, so after a crash at any moment the list is as it was before
// or after the change; the file survives a page reload.
//
// The two crash buttons stop an add of the typed text inside its
// transaction at a point where lines are at risk — mid-commit (its changed
// lines flushed, not fenced: pending) or mid-add (its stores still in the
// cache: dirty) — crash in the chosen mode and seed, say how many of those
// lines the mode let reach the file, and recover: the half-done add is
// rolled back, every committed to-do stays.
// Invariant: nothing else runs on the pool between the interrupted add's
// txBegin and the crash (the app awaits each step; an error aborts the add).

import { PoolClient, type CrashResult, type Op } from '../src/browser/client.js';
import { BrowserStore } from '../src/browser/store.js';
import type { Key } from '../src/store/encoding.js';
import { STORE_LAYOUT } from '../src/store/layout.js';
import type { CrashMode } from '../src/crash/modes.js';
import { $, crashLabel, el, fillModes, isRandomMode, lineFates, parseIntStrict, sameLine } from './ui.js';

/** The to-do list's Store file in OPFS. */
export const TODO_FILE = 'todo.store';
const TODO_SIZE = 256 * 1024;
const MAX_TEXT = 120;
const LINE = 64;

/** The value of one to-do entry. */
interface Todo { text: string; done: boolean }
interface Item extends Todo { id: number }

const keyOf = (id: number): Key => ['todo', id];
/** Every to-do key: ['todo', id] for any id. */
const ALL = { start: ['todo'] as Key, end: ['todo', Infinity] as Key };

export class TodoApp {
  private client: PoolClient | null = null;
  private db: BrowserStore<Todo, Key> | null = null;
  private items: Item[] = [];

  constructor(private activity: (msg: string, kind?: 'ok' | 'err' | 'info') => void) {}

  /** The Store file as durable now (for a download). */
  exportBytes(): Promise<Uint8Array> { return this.client!.exportBytes(); }

  async start(): Promise<void> {
    // evicts: the app lets you crash it in every mode, so its file models pmem (an eager undo log).
    this.client = await PoolClient.open(TODO_FILE, { layout: STORE_LAYOUT, create: { size: TODO_SIZE }, durability: 'fsync', waitMs: 1500, evicts: true });
    this.db = BrowserStore.make<Todo, Key>(this.client, {});
    const r = this.client.recovery;
    $('#todo-status').textContent = this.client.created
      ? 'A new to-do Store file was created in OPFS.'
      : `Reopened from OPFS in ${this.client.openMs.toFixed(1)} ms (recovery rolled back ${r.entriesRolledBack} entr${r.entriesRolledBack === 1 ? 'y' : 'ies'}).`;
    this.wire();
    await this.refresh();
  }

  private async refresh(): Promise<void> {
    const rows = await this.db!.getRange(ALL);
    this.items = rows.map(({ key, value }) => ({ id: (key as [string, number])[1], text: value.text, done: value.done }));
    this.render();
  }

  private render(): void {
    const ul = $('#todo-list');
    ul.replaceChildren();
    for (const it of this.items) {
      const box = el('input', { type: 'checkbox', 'aria-label': `done: ${it.text}` }) as HTMLInputElement;
      box.checked = it.done;
      box.addEventListener('change', () => this.change(() => this.toggle(it)));
      const del = el('button', { class: 'small', 'aria-label': `delete ${it.text}`, text: '✕' });
      del.addEventListener('click', () => this.change(() => this.remove(it)));
      ul.append(el('li', { class: it.done ? 'done' : '', 'data-id': String(it.id) }, box, el('span', { class: 'todo-text', text: it.text }), del));
    }
    if (this.items.length === 0) ul.append(el('li', { class: 'muted', text: 'Nothing to do. Add something — it is stored in a persistent heap.' }));
  }

  private async change(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
      await this.refresh();
    } catch (e) {
      this.activity(`to-do: ${(e as Error).message}`, 'err');
    }
  }

  /** The next to-do's key and value: id one past the largest listed, text cut to MAX_TEXT characters. */
  private next(text: string): [Key, Todo] {
    const id = this.items.reduce((m, it) => Math.max(m, it.id), 0) + 1;
    return [keyOf(id), { text: text.slice(0, MAX_TEXT), done: false }];
  }

  async add(text: string): Promise<void> {
    await this.db!.put(...this.next(text));
    this.activity(`to-do added (one put, durable): "${text}"`, 'ok');
  }

  private async toggle(it: Item): Promise<void> {
    await this.db!.put(keyOf(it.id), { text: it.text, done: !it.done });
  }

  private async remove(it: Item): Promise<void> {
    await this.db!.remove(keyOf(it.id));
  }

  /** Flush every line the open transaction changed (cache ≠ file): what its commit would flush before the fence. */
  private async flushChanged(): Promise<void> {
    const { cache, durable } = await this.client!.inspect();
    const ops: Op[] = [];
    for (let l = 0; l < cache.length / LINE; l++) if (!sameLine(cache, durable, l)) ops.push({ op: 'flush', off: l * LINE, len: LINE });
    await this.client!.batch(ops);
  }

  /** Begin the add of `text` in a transaction left open: its put done, and with 'commit' its changed lines flushed. Answers the pending lines. */
  private async beginAdd(text: string, at: 'commit' | 'add'): Promise<number> {
    await this.client!.batch([{ op: 'txBegin' }, { op: 'store', db: {}, method: 'putSync', args: this.next(text) }]);
    try {
      if (at === 'commit') await this.flushChanged();
      return (await this.client!.pendingLines()).length;
    } catch (e) {
      await this.client!.txAbort();
      throw e;
    }
  }

  /**
   * Begin adding `text` and crash before its commit, in `mode` with `seed`:
   * 'commit' stops after the commit's flush (the add's lines pending), 'add'
   * while its stores are still in the cache (dirty). Then recover and say what
   * the mode did to the lines at risk.
   */
  async crashDuringAdd(text: string, at: 'commit' | 'add', mode: CrashMode, seed: number): Promise<void> {
    const pending = await this.beginAdd(text, at);
    const c = (await this.client!.crash({ mode, seed, detail: true })) as Required<CrashResult>;
    const f = lineFates(c.durable, c.cache, c.image);
    const r = await this.client!.recover();
    const n = r.recovery.entriesRolledBack;
    const changed = f.survived.size + f.torn.size + f.lost.size;
    const what = `Crashed (${crashLabel(mode, seed)}) mid-${at} of "${text}": ${changed} line(s) differed from the file, ` +
      `${pending} of them pending (flushed, not fenced); the crash kept ${f.survived.size} whole, ` +
      `${f.torn.size} torn, lost ${f.lost.size}. Recovery rolled back ${n} entr${n === 1 ? 'y' : 'ies'}: "${text}" is gone, nothing leaked, every committed to-do is here.`;
    this.activity(what, 'ok');
    const status = $('#todo-status');
    status.textContent = what;
    Object.assign(status.dataset, { changed: String(changed), pending: String(pending), survived: String(f.survived.size), torn: String(f.torn.size), lost: String(f.lost.size) });
  }

  private wire(): void {
    const form = $('#todo-form') as HTMLFormElement, input = $('#todo-input') as HTMLInputElement;
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const t = input.value.trim();
      if (!t) return;
      input.value = '';
      void this.change(() => this.add(t));
    });
    const modeSel = $('#todo-mode') as HTMLSelectElement, seedIn = $('#todo-seed') as HTMLInputElement;
    fillModes(modeSel);
    const syncSeed = () => { seedIn.disabled = !isRandomMode(modeSel.value as CrashMode); };
    modeSel.addEventListener('change', syncSeed);
    syncSeed();
    const crashAt = (at: 'commit' | 'add') => () => {
      const t = input.value.trim() || 'half-written to-do';
      input.value = '';
      void this.change(async () => {
        const mode = modeSel.value as CrashMode;
        await this.crashDuringAdd(t, at, mode, isRandomMode(mode) ? parseIntStrict(seedIn.value, 'a seed') : 0);
      });
    };
    $('#todo-crash').addEventListener('click', crashAt('commit'));
    $('#todo-crash-mid').addEventListener('click', crashAt('add'));
  }
}
