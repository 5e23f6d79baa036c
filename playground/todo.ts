// todo.ts — a small real app on the heap: a to-do list in its own OPFS pool.
//
// Root object: u32 nextId. Each to-do is an object of type TODO_TYPE:
//   u32 id │ u32 done │ u32 text length │ u32 0 │ text (UTF-8)
// Every change is one transaction (one round trip to the worker), so a crash
// at any moment leaves the list as it was before or after the change; the
// pool is an OPFS file, so the list survives a page reload.
//
// The two crash buttons stop an add of the typed text at a point where lines
// are at risk — mid-commit (its lines flushed, not fenced: pending) or mid-add
// (its stores still in the cache: dirty) — crash in the chosen mode and seed,
// say how many of those lines the mode let reach the file, and recover: the
// half-done add is rolled back, every committed to-do stays.

import { PoolClient, type CrashResult, type Op } from '../src/browser/client.js';
import type { CrashMode } from '../src/crash/modes.js';
import { $, crashLabel, el, fillModes, isRandomMode, lineFates, parseIntStrict, u32At } from './ui.js';

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

  /**
   * Begin adding `text` and crash before its commit, in `mode` with `seed`:
   * 'commit' stops after the commit's flush (the add's lines pending), 'add'
   * while its stores are still in the cache (dirty). Then recover and say what
   * the mode did to the lines at risk.
   */
  async crashDuringAdd(text: string, at: 'commit' | 'add', mode: CrashMode, seed: number): Promise<void> {
    const ops = this.addOps(text, 1); // index 0 is txBegin
    const size = (ops[0] as { size: number }).size;
    const res = await this.client!.batch([
      { op: 'txBegin' },
      ...ops.slice(0, 5),
      { op: 'addRange', off: this.root, len: 4 },
      { op: 'write', type: 'u32', off: this.root, value: this.nextId + 1 },
      ...(at === 'commit' ? [{ op: 'flush', off: { ref: 1 }, len: size }, { op: 'flush', off: this.root, len: 4 }] as Op[] : []),
      { op: 'pendingLines' },
    ]);
    const pending = (res.pop() as number[]).length;
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
