// inspector.ts — the line inspector beside the grid: the lines the last step
// touched (and the lines the running lesson watches), each with its 64 bytes
// as eight little-endian u64 words, in two images one above the other.
//
// Which two images depends on what the grid shows:
//   live       cache (linear memory)      over  durable (the pool file)
//   crash      cache before the crash     over  the file after the crash
//   recovered  the file after the crash   over  memory after recovery
// Invariants: a word is marked only where its two images differ (live:
// 'differs'; crash: 'kept' or 'lost' — the crash kept or lost that word's new
// value; recovered: 'restored'); a line's colour is its grid state; at most
// MAX_LINES lines are listed, the rest counted. The model (inspectorModel) is
// pure; render() only draws it, and publishes it on data-* attributes.

import type { Inspection } from '../src/browser/client.js';
import { el, hex, sameLine, u64At } from './ui.js';

/** Lines listed at most; more are counted ("+N more"). */
export const MAX_LINES = 6;

export type WordMark = 'same' | 'differs' | 'kept' | 'lost' | 'restored';

export interface WordView { word: number; top: bigint; bottom: bigint; mark: WordMark }
export interface LineView { line: number; words: WordView[] }
export interface InspectorModel {
  /** Names of the two images, as the inspector labels them. */
  top: string;
  bottom: string;
  lines: LineView[];
  /** Lines left off (beyond MAX_LINES). */
  more: number;
}

/** Lines whose cache bytes, durable bytes or pending state differ between two inspections, in line order. */
export function touchedLines(before: Inspection | null, after: Inspection): number[] {
  if (!before || before.size !== after.size) return [];
  const wasPending = new Set(before.pending), isPending = new Set(after.pending);
  const out: number[] = [];
  for (let l = 0; l < after.size / 64; l++) {
    if (!sameLine(before.cache, after.cache, l) || !sameLine(before.durable, after.durable, l) || wasPending.has(l) !== isPending.has(l)) out.push(l);
  }
  return out;
}

/** What the inspector shows for a lab view (the fields of Lab's View it needs). */
export type InspectorSource =
  | { kind: 'live'; cache: Uint8Array; durable: Uint8Array }
  | { kind: 'crash'; cache: Uint8Array; durable: Uint8Array; image: Uint8Array }
  | { kind: 'recovered'; image: Uint8Array; after: Uint8Array };

/** The two images of `src`, the marks of each word, for `lines` (first MAX_LINES, the rest counted). */
export function inspectorModel(src: InspectorSource, lines: number[]): InspectorModel {
  const shown = lines.slice(0, MAX_LINES);
  const [top, bottom, topName, bottomName] = src.kind === 'live' ? [src.cache, src.durable, 'cache', 'durable']
    : src.kind === 'crash' ? [src.cache, src.image, 'cache (gone)', 'file after crash']
      : [src.image, src.after, 'file after crash', 'after recovery'];
  const mark = (at: number): WordMark => {
    if (src.kind === 'crash') {
      if (u64At(src.cache, at) === u64At(src.durable, at)) return 'same';
      return u64At(src.image, at) === u64At(src.cache, at) ? 'kept' : 'lost';
    }
    if (u64At(top, at) === u64At(bottom, at)) return 'same';
    return src.kind === 'live' ? 'differs' : 'restored';
  };
  return {
    top: topName, bottom: bottomName, more: lines.length - shown.length,
    lines: shown.map((line) => ({
      line,
      words: Array.from({ length: 8 }, (_, word) => {
        const at = line * 64 + word * 8;
        return { word, top: u64At(top, at), bottom: u64At(bottom, at), mark: mark(at) };
      }),
    })),
  };
}

/** A word as 16 hex digits, most significant first (the value a u64 load reads). */
export const wordHex = (v: bigint): string => v.toString(16).padStart(16, '0');

/** How a line is described beside its number: region and state, and the colour of that state on the grid. */
export interface LineLabel { region: string; state: string; color: string }

/** Draw `m` into `box`; `label` names each line's region and state. */
export function renderInspector(box: HTMLElement, m: InspectorModel, label: (line: number) => LineLabel): void {
  box.replaceChildren();
  box.dataset.top = m.top;
  box.dataset.bottom = m.bottom;
  box.dataset.lines = m.lines.map((l) => l.line).join(',');
  if (m.lines.length === 0) {
    box.append(el('p', { class: 'muted small', 'data-empty': 'true', text: 'No line changed in the last step. Run a lesson step, or store, flush or fence above.' }));
    return;
  }
  box.append(el('p', { class: 'ikey small' },
    el('span', { class: 'itop', text: `top: ${m.top}` }), ' · ', el('span', { class: 'ibottom', text: `bottom: ${m.bottom}` }),
    ' · words are u64, little-endian in memory; a marked word differs'));
  for (const l of m.lines) {
    const lab = label(l.line);
    const words = l.words.map((w) => el('div', { class: `iword ${w.mark}`, 'data-word': String(w.word), 'data-mark': w.mark, 'data-top': wordHex(w.top), 'data-bottom': wordHex(w.bottom) },
      el('span', { class: 'wi', text: `w${w.word}${w.mark === 'same' ? '' : ` ${w.mark}`}` }),
      el('code', { class: 'wt', text: wordHex(w.top) }),
      el('code', { class: 'wb', text: wordHex(w.bottom) })));
    box.append(el('div', { class: 'iline', 'data-line': String(l.line), 'data-state': lab.state },
      el('div', { class: 'ihead' }, el('i', { style: `background:${lab.color}` }),
        `line ${l.line} · ${hex(l.line * 64)} · ${lab.region} · ${lab.state}`),
      el('div', { class: 'iwords' }, ...words)));
  }
  if (m.more > 0) box.append(el('p', { class: 'muted small', 'data-more': String(m.more), text: `+${m.more} more line(s): see the grid` }));
}
