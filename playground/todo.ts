// todo.ts — a small real app on the heap: a to-do list in its own OPFS pool.
//
// Root object: u32 nextId. Each to-do is an object of type TODO_TYPE:
//   u32 id │ u32 done │ u32 text length │ u32 0 │ text (UTF-8)
// Every change is one transaction (one round trip to the worker), so a crash
// at any moment leaves the list as it was before or after the change; the
// pool is an OPFS file, so the list survives a page reload.

import { PoolClient, type Op } from '../src/browser/client.js';
import type { CrashMode } from '../src/crash/modes.js';
import { $, el, u32At } from './ui.js';

export const TODO_POOL = 'todo.pool';
export const TODO_LAYOUT = 'playground-todo';
const TODO_SIZE = 256 * 1024;
const TODO_TYPE = 1;
const MAX_TEXT = 120;
const enc = new TextEncoder(), dec = new TextDecoder();

interface Item { off: number; id: number; done: boolean; text: string }

export class TodoApp {
  private client: PoolClient | null = null;
  private root = 0;
  private nextId = 1;
  private items: Item[] = [];

  constructor(private activity: (msg: string, kind?: 'ok' | 'err' | 'info') => void) {}

  /** The pool file as durable now (for a download). */
  exportBytes(): Promise<Uint8Array> { return this.client!.exportBytes(); }

  async start(): Promise<void> {
    // evicts: the app lets you crash it in every mode, so its pool models pmem (an eager undo log).
    this.client = await PoolClient.open(TODO_POOL, { layout: TODO_LAYOUT, create: { size: TODO_SIZE }, durability: 'fsync', waitMs: 1500, evicts: true });
    this.root = await this.client.root(16);
    const r = this.client.recovery;
    $('#todo-status').textContent = this.client.created
      ? 'A new to-do pool was created in OPFS.'
      : `Reopened from OPFS in ${this.client.openMs.toFixed(1)} ms (recovery rolled back ${r.entriesRolledBack} entr${r.entriesRolledBack === 1 ? 'y' : 'ies'}).`;
    this.wire();
    await this.refresh();
  }

  private async refresh(): Promise<void> {
    const [next, objs] = await this.client!.batch([{ op: 'read', type: 'u32', off: this.root }, { op: 'objects', type: TODO_TYPE, len: 16 + MAX_TEXT }]);
    this.nextId = Math.max(1, next as number);
    this.items = (objs as { off: number; bytes: Uint8Array }[]).map(({ off, bytes }) => ({
      off, id: u32At(bytes, 0), done: u32At(bytes, 4) !== 0, text: dec.decode(bytes.subarray(16, 16 + u32At(bytes, 8))),
    })).sort((a, b) => a.id - b.id);
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

  private addOps(text: string, at = 0): Op[] {
    const bytes = enc.encode(text).slice(0, MAX_TEXT);
    return [
      { op: 'alloc', size: 16 + bytes.length, type: TODO_TYPE },
      // A new object needs no snapshot: commit makes all of it durable.
      { op: 'write', type: 'u32', off: { ref: at }, value: this.nextId },
      { op: 'write', type: 'u32', off: { ref: at, add: 4 }, value: 0 },
      { op: 'write', type: 'u32', off: { ref: at, add: 8 }, value: bytes.length },
      { op: 'write', type: 'bytes', off: { ref: at, add: 16 }, value: bytes },
      { op: 'set', type: 'u32', off: this.root, value: this.nextId + 1 },
    ];
  }

  async add(text: string): Promise<void> {
    await this.client!.tx(this.addOps(text));
    this.activity(`to-do added in one transaction: "${text}"`, 'ok');
  }

  private async toggle(it: Item): Promise<void> {
    await this.client!.tx([{ op: 'set', type: 'u32', off: it.off + 4, value: it.done ? 0 : 1 }]);
  }

  private async remove(it: Item): Promise<void> {
    await this.client!.tx([{ op: 'free', off: it.off }]);
  }

  /** Crash the to-do pool now, then recover: committed to-dos are all there. */
  async crash(mode: CrashMode): Promise<void> {
    const c = await this.client!.crash({ mode, seed: Date.now() % 1000 });
    const r = await this.client!.recover();
    this.activity(`to-do pool crashed (${mode}, ${c.pending.length} pending line(s)) and recovered: ${r.recovery.entriesRolledBack} entr${r.recovery.entriesRolledBack === 1 ? 'y' : 'ies'} rolled back`, 'ok');
    $('#todo-status').textContent = `Crashed (${mode}) and recovered: every committed to-do is still here.`;
  }

  /** Begin adding a to-do, crash before commit (eADR: every store survives), recover: it is gone. */
  async crashMidAdd(text: string): Promise<void> {
    const ops = this.addOps(text, 1); // index 0 is txBegin
    await this.client!.batch([
      { op: 'txBegin' },
      ...ops.slice(0, 5),
      { op: 'addRange', off: this.root, len: 4 },
      { op: 'write', type: 'u32', off: this.root, value: this.nextId + 1 },
    ]);
    await this.client!.crash({ mode: 'eadr' });
    const r = await this.client!.recover();
    this.activity(`crash in the middle of adding "${text}" (eADR: every store survived); recovery rolled back ${r.recovery.entriesRolledBack} entr${r.recovery.entriesRolledBack === 1 ? 'y' : 'ies'} and the reserved object`, 'ok');
    $('#todo-status').textContent = `Crashed before commit: "${text}" was rolled back, nothing leaked.`;
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
    $('#todo-crash').addEventListener('click', () => this.change(() => this.crash(($('#todo-mode') as HTMLSelectElement).value as CrashMode)));
    $('#todo-crash-mid').addEventListener('click', () => {
      const t = input.value.trim() || 'half-written to-do';
      input.value = '';
      void this.change(() => this.crashMidAdd(t));
    });
  }
}
