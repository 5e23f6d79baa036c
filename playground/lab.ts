// lab.ts — the lab pool: the grid of cache lines, the CPU/library controls,
// the undo log, the crash button and recovery.
//
// Invariants: the crash panel (mode, seed) always shows the crash the grid
// shows, whoever started it; the undo-log table lists valid entries and the
// invalidated ones written since the lab opened the pool (older leftovers of
// pool creation are counted, not listed); a tap on the grid shows what a
// hover shows.
//
// Every user action is one request to the pool worker: the operation plus an
// 'inspect' that brings back linear memory (the cache), the durable image
// (the OPFS file) and the pending lines, from which each line's state is
// drawn: durable (cache = file), dirty (stored, not flushed: cache ≠ file),
// pending (flushed, not drained). The line inspector (inspector.ts) shows
// the lines the last action touched, plus the lines a lesson watches.

import { PoolClient, type CrashResult, type Inspection, type Op } from '../src/browser/client.js';
import { decodeLog, entryCheck, type DecodedLog, type LogEntry } from '../src/browser/undolog.js';
import type { CrashMode } from '../src/crash/modes.js';
import type { Durability } from '../src/backends/backend.js';
import { inspectorModel, renderInspector, touchedLines, type InspectorSource } from './inspector.js';
import { $, crashLabel, echo, el, fillModes, hex, hexBytes, isRandomMode, lineFates, parseIntStrict, parseU64, sameLine, u32At, u64At, wordFates } from './ui.js';

export const LAB_POOL = 'lab.pool';
export const LAB_LAYOUT = 'playground-lab';
export const LAB_SIZE = 256 * 1024;
export const LAB_SEED = 'lab';
/** Which file the lab pool is, and how far its drains reach. */
export interface LabPool { name: string; durability: Durability }
const DEFAULT_POOL: LabPool = { name: LAB_POOL, durability: 'fsync' };
/** The lab teaches persistent memory: its pool models pmem's cache, which writes lines back on its own (every crash mode applies, the undo log is eager). */
export const LAB_MODELS_PMEM = true;
/** Root object size: its first lines hold the named fields below. */
export const ROOT_SIZE = 320;
/** User type of the objects the lessons allocate. */
export const NODE_TYPE = 2;

const COLS = 128;
const CELL = 8;
const GAP = 1;

/** Named fields inside the root object (offsets relative to it; the root is 64-byte aligned). */
export const FIELDS = {
  counter: { rel: 0, len: 8, note: 'a u64 counter' },
  ptr: { rel: 8, len: 8, note: 'a pointer (pool offset) to a node' },
  pairA: { rel: 56, len: 8, note: 'pair.a — first half of a 16-byte value that straddles two lines' },
  pairB: { rel: 64, len: 8, note: 'pair.b — second half (next line)' },
  packed: { rel: 128, len: 8, note: 'two u32 halves packed in one aligned u64' },
} as const;
export type FieldName = keyof typeof FIELDS;

type LineState = 'durable' | 'dirty' | 'pending' | 'survived' | 'lost' | 'torn' | 'rolledback' | 'recovery';
export const COLORS: Record<LineState, string> = {
  durable: '', dirty: '#f29d38', pending: '#3b7dd8', survived: '#2f9e55', lost: '#d6453d', torn: '#b048c2',
  rolledback: '#6f42c1', recovery: '#20a3a3',
};
const REGION_TINT = { header: '#d5dde8', table: '#e2e2e2', log: '#efe3cc', heap: '#e3ecdc', root: '#c9dcbb' };

export interface RecoveryView {
  image: Uint8Array;
  after: Uint8Array;
  rolledBack: Set<number>;
  wrote: Set<number>;
  log: DecodedLog;
  entriesRolledBack: number;
}

export type View =
  | { kind: 'live' }
  | { kind: 'crash'; crash: Required<CrashResult>; survived: Set<number>; lost: Set<number>; torn: Set<number> }
  | { kind: 'recovered'; crash: Required<CrashResult>; rec: RecoveryView };

export class Lab {
  client: PoolClient | null = null;
  root = 0;
  insp: Inspection | null = null;
  view: View = { kind: 'live' };
  /** Lines the last action changed (cache, durable image or pending state). */
  touched: number[] = [];
  /** Lines the running lesson watches: the inspector lists them after the view's own, in every view. */
  focus: number[] = [];
  /** Pools opened so far: a lesson knows the lab was reset (by anyone) when this moved. */
  generation = 0;
  private hoverLine = -1;
  /** The tip was opened by a tap: leaving the canvas does not hide it. */
  private pinned = false;
  private canvas = $('#grid') as HTMLCanvasElement;
  private tip = $('#tip');
  private onChange: (() => void)[] = [];
  /** Log sequence when the lab opened the pool: invalidated entries of earlier sequences are leftovers. */
  private baseSeq = 0n;

  constructor(private activity: (msg: string, kind?: 'ok' | 'err' | 'info') => void) {
    this.canvas.width = COLS * (CELL + GAP) + GAP;
    this.canvas.height = (LAB_SIZE / 64 / COLS) * (CELL + GAP) + GAP;
    // A mouse shows a line's tip while over it; a tap (touch, pen) pins the tip until a tap elsewhere.
    this.canvas.addEventListener('pointermove', (e) => { if (e.pointerType === 'mouse') { this.pinned = false; this.hover(e); } });
    this.canvas.addEventListener('pointerleave', () => { if (!this.pinned) this.hideTip(); });
    this.canvas.addEventListener('pointerdown', (e) => { this.pinned = e.pointerType !== 'mouse'; this.hover(e); });
    document.addEventListener('pointerdown', (e) => { if (e.target !== this.canvas) { this.pinned = false; this.hideTip(); } });
  }

  field(name: FieldName): number { return this.root + FIELDS[name].rel; }

  changed(fn: () => void): void { this.onChange.push(fn); }

  /** Open (or create) the lab pool; waits briefly for a reloading tab to let go of it. */
  async start(): Promise<void> {
    this.client = await PoolClient.open(LAB_POOL, {
      layout: LAB_LAYOUT, create: { size: LAB_SIZE, seed: LAB_SEED }, durability: 'fsync', waitMs: 1500, evicts: LAB_MODELS_PMEM,
    });
    await this.opened();
  }

  /**
   * A fresh, deterministic lab pool (same seed: byte-identical every time),
   * by default `lab.pool` at durability fsync; a lesson may ask for another
   * file and level (Memory mode: `none`), so `lab.pool` — the one a reload
   * opens — never holds a pool whose file was never written.
   */
  async reset(pool: LabPool = DEFAULT_POOL): Promise<void> {
    await this.client?.close().catch(() => {});
    this.client = null;
    await PoolClient.remove(pool.name);
    this.client = await PoolClient.create(pool.name, { layout: LAB_LAYOUT, size: LAB_SIZE, seed: LAB_SEED, durability: pool.durability, evicts: LAB_MODELS_PMEM });
    await this.opened();
  }

  /** After open or create: find the root, note the log sequence, draw. */
  private async opened(): Promise<void> {
    const [root, insp] = await this.client!.batch([{ op: 'root', size: ROOT_SIZE }, { op: 'inspect' }]);
    this.root = root as number;
    this.insp = insp as Inspection;
    this.baseSeq = this.insp.logSequence;
    this.touched = [];
    this.focus = [];
    this.generation++;
    this.view = { kind: 'live' };
    this.render();
  }

  /** Run operations and refresh, in one round trip. Returns the operations' results. */
  async run(ops: Op[], label?: string): Promise<unknown[]> {
    if (!this.client) throw new Error('the lab pool is not open');
    if (this.view.kind === 'crash') throw new Error('the pool has crashed: run recovery first');
    const res = await this.client.batch([...ops, { op: 'inspect' }]);
    const before = this.insp;
    this.insp = res.pop() as Inspection;
    this.touched = touchedLines(before, this.insp);
    this.view = { kind: 'live' };
    if (label) this.activity(label);
    this.render();
    return res;
  }

  /** Crash: the OPFS file becomes the crash image; the grid shows which lines survived. The crash panel shows this mode and seed. */
  async crash(mode: CrashMode, seed: number): Promise<View & { kind: 'crash' }> {
    if (!this.client) throw new Error('the lab pool is not open');
    if (this.view.kind === 'crash') throw new Error('already crashed: run recovery');
    const c = (await this.client.crash({ mode, seed, detail: true })) as Required<CrashResult>;
    const { survived, lost, torn } = lineFates(c.durable, c.cache, c.image);
    this.view = { kind: 'crash', crash: c, survived, lost, torn };
    ($('#in-mode') as HTMLSelectElement).value = mode;
    if (isRandomMode(mode)) ($('#in-seed') as HTMLInputElement).value = String(seed);
    this.syncSeedField();
    this.activity(`CRASH (${crashLabel(mode, seed)}): ${survived.size} changed line(s) survived, ${lost.size} lost, ${torn.size} torn${this.tornText()}`, 'err');
    this.render();
    return this.view;
  }

  /** " — line 1033 (0x10240) torn: of its changed 8-byte words it kept 0 and lost 7" for each torn line of the crash shown (up to 4), or "". */
  tornText(): string {
    const v = this.view;
    if (v.kind !== 'crash' || v.torn.size === 0) return '';
    const parts = [...v.torn].slice(0, 4).map((l) => {
      const w = wordFates(v.crash.durable, v.crash.cache, v.crash.image, l);
      return `line ${l} (${hex(l * 64)}) torn: of its changed 8-byte words it kept ${w.kept.join(', ')} and lost ${w.lost.join(', ')}`;
    });
    return ` — ${parts.join('; ')}${v.torn.size > 4 ? '; …' : ''}`;
  }

  /** Reopen after the crash: recovery rolls back the valid undo-log entries. */
  async recover(): Promise<RecoveryView> {
    if (!this.client || this.view.kind !== 'crash') throw new Error('nothing to recover: crash first');
    const crash = this.view.crash;
    const r = await this.client.recover({ detail: true });
    const log = decodeLog(crash.image, this.insp!.logOffset, this.insp!.logBytes);
    const rolledBack = new Set<number>();
    for (const e of log.entries) if (e.valid) for (let l = e.off >> 6; l <= (e.off + e.len - 1) >> 6; l++) rolledBack.add(l);
    const wrote = new Set<number>();
    for (let l = 0; l < r.cache!.length / 64; l++) {
      if (!sameLine(crash.image, r.cache!, l) && !rolledBack.has(l)) wrote.add(l);
    }
    const rec: RecoveryView = { image: crash.image, after: r.cache!, rolledBack, wrote, log, entriesRolledBack: r.recovery.entriesRolledBack };
    const [insp] = await this.client.batch([{ op: 'inspect' }]);
    this.insp = insp as Inspection;
    this.view = { kind: 'recovered', crash, rec };
    this.activity(`recovery: pool reopened in ${r.recovery.ms.toFixed(1)} ms, ${r.recovery.entriesRolledBack} undo-log entr${r.recovery.entriesRolledBack === 1 ? 'y' : 'ies'} rolled back`, 'ok');
    this.render();
    return rec;
  }

  // ─── drawing ──────────────────────────────────────────────────────────────

  private region(line: number): keyof typeof REGION_TINT {
    const off = line * 64, i = this.insp!;
    if (off < 4096) return 'header';
    if (off < i.logOffset) return 'table';
    if (off < i.heapOffset) return 'log';
    if (off + 64 > this.root && off < this.root + ROOT_SIZE) return 'root';
    return 'heap';
  }

  lineState(line: number): LineState {
    const v = this.view, i = this.insp!;
    if (v.kind === 'crash') {
      if (v.survived.has(line)) return 'survived';
      if (v.lost.has(line)) return 'lost';
      if (v.torn.has(line)) return 'torn';
      return 'durable';
    }
    if (v.kind === 'recovered') {
      if (v.rec.rolledBack.has(line)) return 'rolledback';
      if (v.rec.wrote.has(line)) return 'recovery';
      return 'durable';
    }
    if (this.pendingSet.has(line)) return 'pending';
    if (!sameLine(i.cache, i.durable, line)) return 'dirty';
    return 'durable';
  }

  private pendingSet = new Set<number>();

  render(): void {
    if (!this.insp) return;
    this.pendingSet = new Set(this.insp.pending);
    this.draw();
    this.renderBanner();
    this.renderFields();
    this.renderLog();
    this.renderCounts();
    this.renderInspector();
    for (const f of this.onChange) f();
  }

  /** The inspector's lines: what the view highlights (touched, crashed, or rolled back), then the watched ones. */
  inspectedLines(): number[] {
    const v = this.view;
    const shown = v.kind === 'live' ? this.touched
      : v.kind === 'crash' ? [...v.survived, ...v.lost, ...v.torn].sort((a, b) => a - b)
        : [...v.rec.rolledBack].sort((a, b) => a - b);
    return [...new Set([...shown, ...this.focus])];
  }

  private renderInspector(): void {
    const v = this.view, i = this.insp!;
    const src: InspectorSource = v.kind === 'live' ? { kind: 'live', cache: i.cache, durable: i.durable }
      : v.kind === 'crash' ? { kind: 'crash', cache: v.crash.cache, durable: v.crash.durable, image: v.crash.image }
        : { kind: 'recovered', image: v.rec.image, after: v.rec.after };
    const box = $('#inspector');
    box.dataset.view = v.kind;
    renderInspector(box, inspectorModel(src, this.inspectedLines()), (line) => {
      const state = this.lineState(line);
      return { region: this.region(line), state, color: COLORS[state] || REGION_TINT[this.region(line)] };
    });
  }

  private draw(): void {
    const ctx = this.canvas.getContext('2d')!;
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    const lines = LAB_SIZE / 64;
    for (let l = 0; l < lines; l++) {
      const x = GAP + (l % COLS) * (CELL + GAP), y = GAP + Math.floor(l / COLS) * (CELL + GAP);
      const s = this.lineState(l);
      ctx.fillStyle = COLORS[s] || REGION_TINT[this.region(l)];
      ctx.fillRect(x, y, CELL, CELL);
      if (this.view.kind !== 'live' && s !== 'durable') {
        ctx.strokeStyle = '#1d2430';
        ctx.lineWidth = 1;
        ctx.strokeRect(x - 1.5, y - 1.5, CELL + 3, CELL + 3);
      }
      if (l === this.hoverLine) {
        ctx.strokeStyle = '#000';
        ctx.lineWidth = 2;
        ctx.strokeRect(x - 0.5, y - 0.5, CELL + 1, CELL + 1);
      }
    }
    this.canvas.dataset.pending = String(this.insp!.pending.length);
  }

  private renderCounts(): void {
    const lines = LAB_SIZE / 64;
    const count: Partial<Record<LineState, number>> = {};
    for (let l = 0; l < lines; l++) { const s = this.lineState(l); count[s] = (count[s] ?? 0) + 1; }
    const g = $('#grid-counts');
    g.textContent = Object.entries(count).filter(([k]) => k !== 'durable').map(([k, n]) => `${k}: ${n}`).join(' · ') || 'all lines durable';
    g.dataset.view = this.view.kind;
    for (const [k, n] of Object.entries(count)) g.dataset[k] = String(n);
    for (const k of Object.keys(COLORS)) if (!(k in count)) g.dataset[k] = '0';
  }

  private renderBanner(): void {
    const b = $('#grid-banner');
    const v = this.view;
    b.className = `banner ${v.kind}`;
    if (v.kind === 'live') {
      const i = this.insp!;
      b.textContent = `Live: ${i.pending.length} pending line(s) · transaction depth ${i.txDepth} · undo-log sequence ${i.logSequence}`;
    } else if (v.kind === 'crash') {
      b.textContent = `Crashed (${crashLabel(v.crash.mode, v.crash.seed)}). ` +
        `Of the lines that differed from the file: ${v.survived.size} survived, ${v.lost.size} lost, ${v.torn.size} torn${this.tornText()}. Run recovery to reopen.`;
    } else {
      b.textContent = `Recovered: ${v.rec.entriesRolledBack} undo-log entr${v.rec.entriesRolledBack === 1 ? 'y' : 'ies'} rolled back ` +
        `(${v.rec.rolledBack.size} line(s), purple); recovery bookkeeping wrote ${v.rec.wrote.size} line(s) (teal).`;
    }
    ($('#btn-recover') as HTMLButtonElement).disabled = v.kind !== 'crash';
    for (const b2 of document.querySelectorAll<HTMLButtonElement>('.needs-live')) b2.disabled = v.kind === 'crash';
  }

  /** The values of the named fields: in the cache and in the durable image (or, after a crash, the image). */
  fieldValues(): { name: FieldName; off: number; cache: bigint; durable: bigint }[] {
    const i = this.insp!, v = this.view;
    const cache = v.kind === 'crash' ? v.crash.cache : i.cache;
    const durable = v.kind === 'crash' ? v.crash.image : i.durable;
    return (Object.keys(FIELDS) as FieldName[]).map((name) => {
      const off = this.field(name);
      return { name, off, cache: u64At(cache, off), durable: u64At(durable, off) };
    });
  }

  /** After a crash: what happened to the 8-byte word at `off` — unchanged, kept, or lost (and whether its line is torn). */
  private wordFate(off: number): string {
    const v = this.view;
    if (v.kind !== 'crash') return '';
    const { kept, lost } = wordFates(v.crash.durable, v.crash.cache, v.crash.image, off >> 6);
    const w = (off & 63) >> 3;
    const torn = v.torn.has(off >> 6) ? ' (line torn)' : '';
    return kept.includes(w) ? `kept${torn}` : lost.includes(w) ? `lost${torn}` : 'unchanged';
  }

  private renderFields(): void {
    const crashed = this.view.kind === 'crash';
    const heads = document.querySelectorAll<HTMLElement>('#fields thead th');
    heads[2].textContent = crashed ? 'cache (gone)' : 'cache';
    heads[3].textContent = crashed ? 'file after crash' : 'durable';
    heads[4].hidden = !crashed;
    const body = $('#fields tbody');
    body.replaceChildren();
    for (const f of this.fieldValues()) {
      const differs = f.cache !== f.durable;
      const fate = el('td', { class: 'fate', text: this.wordFate(f.off) });
      fate.hidden = !crashed;
      body.append(el('tr', { class: differs ? 'differs' : '', 'data-field': f.name },
        el('td', {}, el('code', { text: f.name })),
        el('td', { text: hex(f.off) }),
        el('td', { class: 'num', text: fmtField(f.name, f.cache) }),
        el('td', { class: 'num', text: fmtField(f.name, f.durable) }),
        fate,
      ));
    }
  }

  /** Whether an invalidated entry (index `n`) was written since the lab opened the pool: its check matches a sequence since then. */
  private writtenSinceOpen(e: LogEntry, n: number, seq: bigint): boolean {
    for (let s = seq, tries = 0; s >= this.baseSeq && tries < 256; s--, tries++) {
      if (entryCheck(e.old, s, e.off, e.len, n) === e.check) return true;
    }
    return false;
  }

  private renderLog(): void {
    const i = this.insp!;
    const v = this.view;
    const src = v.kind === 'crash' ? v.crash.image : v.kind === 'recovered' ? v.rec.image : i.cache;
    const log = decodeLog(src, i.logOffset, i.logBytes);
    $('#log-title').textContent = v.kind === 'live'
      ? `Undo log at ${hex(i.logOffset)} — sequence ${log.seq}`
      : `Undo log in the crash image — sequence ${log.seq}`;
    const body = $('#undo tbody');
    body.replaceChildren();
    const shown = log.entries.map((e, n) => ({ e, n })).filter(({ e, n }) => e.valid || this.writtenSinceOpen(e, n, log.seq));
    const leftovers = log.entries.length - shown.length;
    if (shown.length === 0) {
      body.append(el('tr', { 'data-empty': 'true' }, el('td', { colspan: '5', class: 'muted wrap',
        text: `clean: no entry written since the pool was opened${leftovers ? ` (${leftovers} leftover entr${leftovers === 1 ? 'y' : 'ies'} of earlier transactions, invalid: recovery ignores them)` : ''}` })));
    }
    shown.forEach(({ e, n }) => {
      body.append(el('tr', { class: e.valid ? 'valid' : 'stale', 'data-valid': String(e.valid) },
        el('td', { text: String(n) }),
        el('td', { text: hex(e.at) }),
        el('td', { text: `${hex(e.off)} +${e.len}` }),
        el('td', { text: e.valid ? (v.kind === 'live' ? 'valid' : 'valid → rolled back') : 'invalidated' }),
        el('td', { class: 'bytes' }, el('code', { text: hexBytes(e.old, 0, Math.min(16, e.len)) + (e.len > 16 ? ' …' : '') })),
      ));
    });
    $('#undo').dataset.valid = String(log.entries.filter((e) => e.valid).length);
  }

  private hideTip(): void {
    if (this.hoverLine < 0 && this.tip.hidden) return;
    this.hoverLine = -1;
    this.tip.hidden = true;
    if (this.insp) this.draw();
  }

  private hover(ev: MouseEvent): void {
    if (!this.insp) return;
    const r = this.canvas.getBoundingClientRect();
    const x = ((ev.clientX - r.left) * this.canvas.width) / r.width;
    const y = ((ev.clientY - r.top) * this.canvas.height) / r.height;
    const col = Math.floor((x - GAP) / (CELL + GAP)), row = Math.floor((y - GAP) / (CELL + GAP));
    const line = row * COLS + col;
    if (col < 0 || col >= COLS || line < 0 || line >= LAB_SIZE / 64) return;
    this.hoverLine = line;
    this.draw();
    this.showTip(line, ev.clientX, ev.clientY);
  }

  private showTip(line: number, cx: number, cy: number): void {
    const i = this.insp!, v = this.view, off = line * 64;
    const cache = v.kind === 'crash' ? v.crash.cache : v.kind === 'recovered' ? v.rec.after : i.cache;
    const other = v.kind === 'crash' ? v.crash.image : v.kind === 'recovered' ? v.rec.image : i.durable;
    const otherName = v.kind === 'crash' ? 'after crash' : v.kind === 'recovered' ? 'crash image' : 'durable';
    const cacheName = v.kind === 'crash' ? 'cache' : v.kind === 'recovered' ? 'recovered' : 'cache';
    const rows: string[] = [];
    for (let k = 0; k < 64; k += 16) rows.push(`${hex(off + k, 5)}  ${hexBytes(cache, off + k, 16)}`);
    const same = sameLine(cache, other, line);
    this.tip.replaceChildren(
      el('div', { class: 'tip-head', text: `line ${line} · ${hex(off)}–${hex(off + 63)} · ${this.region(line)} · ${this.lineState(line)}` }),
      el('div', { class: 'tip-label', text: cacheName }),
      el('pre', { text: rows.join('\n') }),
      ...(same ? [el('div', { class: 'tip-label', text: `${otherName}: same bytes` })] : [
        el('div', { class: 'tip-label', text: otherName }),
        el('pre', { text: [0, 16, 32, 48].map((k) => `${hex(off + k, 5)}  ${hexBytes(other, off + k, 16)}`).join('\n') }),
      ]),
    );
    this.tip.hidden = false;
    const w = this.tip.offsetWidth, h = this.tip.offsetHeight;
    this.tip.style.left = `${Math.max(4, Math.min(cx + 14, window.innerWidth - w - 8))}px`;
    this.tip.style.top = `${cy + 14 + h > window.innerHeight ? cy - h - 10 : cy + 14}px`;
  }

  // ─── controls ─────────────────────────────────────────────────────────────

  wireControls(): void {
    const offIn = $('#in-off') as HTMLInputElement, lenIn = $('#in-len') as HTMLInputElement, valIn = $('#in-val') as HTMLInputElement;
    const fieldSel = $('#in-field') as HTMLSelectElement;
    fillModes($('#in-mode') as HTMLSelectElement);
    $('#in-mode').addEventListener('change', () => this.syncSeedField());
    this.syncSeedField();
    for (const name of Object.keys(FIELDS) as FieldName[]) fieldSel.append(el('option', { value: name, text: `${name} — ${FIELDS[name].note}` }));
    fieldSel.append(el('option', { value: '', text: 'custom offset' }));
    const syncOffset = () => { if (fieldSel.value) offIn.value = hex(this.field(fieldSel.value as FieldName)); };
    // Picking a field sets offset and length; later renders only follow the root (never undo an edited length).
    fieldSel.addEventListener('change', () => { syncOffset(); if (fieldSel.value) lenIn.value = String(FIELDS[fieldSel.value as FieldName].len); });
    offIn.addEventListener('input', () => { fieldSel.value = ''; });
    this.changed(syncOffset);
    const off = () => parseIntStrict(offIn.value), len = () => parseIntStrict(lenIn.value);
    const at = () => echo(offIn.value, off()), span = () => `${at()} +${echo(lenIn.value, len())}`;
    const act = (id: string, fn: () => Promise<unknown>) => {
      $(id).addEventListener('click', () => { fn().catch((e) => this.activity(String((e as Error).message ?? e), 'err')); });
    };
    act('#btn-store', async () => {
      const v = parseU64(valIn.value);
      await this.run([{ op: 'write', type: 'u64', off: off(), value: v }], `store ${echo(valIn.value, v)} → [${at()}] (8 bytes, in the cache only)`);
    });
    act('#btn-flush', () => this.run([{ op: 'flush', off: off(), len: len() }], `flush ${span()} (CLWB: lines now pending)`));
    act('#btn-fence', () => this.run([{ op: 'drain' }], 'fence (SFENCE / drain): pending lines written to the file'));
    act('#btn-persist', () => this.run([{ op: 'persist', off: off(), len: len() }], `persist ${span()} (flush + fence)`));
    act('#btn-begin', () => this.run([{ op: 'txBegin' }], 'transaction: begin'));
    act('#btn-addrange', () => this.run([{ op: 'addRange', off: off(), len: len() }], `transaction: add range ${span()} (old bytes logged and persisted)`));
    act('#btn-commit', () => this.run([{ op: 'txCommit' }], 'transaction: commit (ranges flushed, drained, log invalidated)'));
    act('#btn-abort', () => this.run([{ op: 'txAbort' }], 'transaction: abort (old bytes restored from the log)'));
    act('#btn-reset', async () => { await this.reset(); this.activity('lab pool reset: a fresh pool, everything durable', 'info'); });
    act('#btn-crash', async () => {
      const mode = ($('#in-mode') as HTMLSelectElement).value as CrashMode;
      const seed = isRandomMode(mode) ? parseIntStrict(($('#in-seed') as HTMLInputElement).value, 'a seed') : 0;
      await this.crash(mode, seed);
    });
    act('#btn-recover', () => this.recover());
  }

  /** The seed field applies only to the random modes. */
  private syncSeedField(): void {
    ($('#in-seed') as HTMLInputElement).disabled = !isRandomMode(($('#in-mode') as HTMLSelectElement).value as CrashMode);
  }
}

export function fmtField(name: FieldName, v: bigint): string {
  if (name === 'packed') return `(${Number(v & 0xffffffffn)}, ${Number(v >> 32n)})`;
  if (name === 'ptr') return v === 0n ? 'null' : hex(v);
  return String(v);
}

export { u32At };
