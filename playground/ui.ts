// ui.ts — small DOM and formatting helpers for the playground, and the one
// vocabulary of crash outcomes it uses everywhere: a changed line *survived*
// (the file has all of its new bytes), was *lost* (none of them), or is
// *torn* (it kept some of its 8-byte words and lost others). A value that
// spans lines is *half-updated*, never "torn". Crash modes are named by
// CRASH_MODE_LABELS only.

import type { CrashMode } from '../src/crash/modes.js';

export function $(sel: string, root: ParentNode = document): HTMLElement {
  const e = root.querySelector(sel);
  if (!e) throw new Error(`playground: missing element ${sel}`);
  return e as HTMLElement;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...kids: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}

export const hex = (n: number | bigint, pad = 0): string => '0x' + n.toString(16).padStart(pad, '0');

export function hexBytes(b: Uint8Array, from = 0, len = b.length - from): string {
  const out: string[] = [];
  for (let i = from; i < from + len; i++) out.push(b[i].toString(16).padStart(2, '0'));
  return out.join(' ');
}

/** Parse "42", "0x2a", "-1" into a u64 bigint (throws on junk). */
export function parseU64(s: string): bigint {
  const t = s.trim();
  if (!/^(0x[0-9a-f]+|-?\d+)$/i.test(t)) throw new Error(`"${s}" is not a number (use decimal or 0x hex)`);
  return BigInt.asUintN(64, BigInt(t));
}

/** Parse "4160" or "0x1040" into a non-negative integer; `what` names it in the error. */
export function parseIntStrict(s: string, what = 'an offset or length'): number {
  const t = s.trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) throw new Error(`"${s}" is not ${what} (use decimal or 0x hex)`);
  return Number(t);
}

/** A number as the user typed it, with its other base: "0x2a (42)", "4160 (0x1040)". */
export function echo(typed: string, n: number | bigint): string {
  const t = typed.trim();
  return /^0x/i.test(t) ? `${t} (${n})` : `${t} (${hex(n)})`;
}

/** What each crash mode lets survive (the dropdowns' labels and the outcome texts). */
export const CRASH_MODE_LABELS: Record<CrashMode, string> = {
  strict: 'strict — only fenced lines survive',
  pending: 'pending — each flushed, unfenced line survives or not (a coin per line)',
  evict: 'evict — like pending, and never-flushed lines may survive too (evicted whole)',
  tear8: 'tear8 — flushed and never-flushed lines may survive, keeping only some of their 8-byte words (torn)',
  eadr: 'eADR — caches are persistent: everything survives',
};

/** Modes whose choices come from the seed. */
export const isRandomMode = (mode: CrashMode): boolean => mode === 'pending' || mode === 'evict' || mode === 'tear8';

/** "tear8, seed 3" for a random mode, "strict" otherwise: enough to rerun the same crash. */
export const crashLabel = (mode: CrashMode, seed: number | string): string => (isRandomMode(mode) ? `${mode}, seed ${seed}` : mode);

/** Fill a <select> with the crash modes, labelled by CRASH_MODE_LABELS. */
export function fillModes(sel: HTMLSelectElement): void {
  for (const [mode, label] of Object.entries(CRASH_MODE_LABELS)) sel.append(el('option', { value: mode, text: label }));
}

/** Of the lines that differ between `durable` and `cache`: which the crash `image` kept whole, lost, or tore. */
export interface LineFates { survived: Set<number>; lost: Set<number>; torn: Set<number> }

export function lineFates(durable: Uint8Array, cache: Uint8Array, image: Uint8Array): LineFates {
  const f: LineFates = { survived: new Set(), lost: new Set(), torn: new Set() };
  for (let l = 0; l < cache.length / 64; l++) {
    if (sameLine(cache, durable, l)) continue; // clean: nothing to lose
    if (sameLine(image, cache, l)) f.survived.add(l);
    else if (sameLine(image, durable, l)) f.lost.add(l);
    else f.torn.add(l);
  }
  return f;
}

/** Of the 8-byte words (0..7) of `line` that changed: those the image kept and those it lost. */
export function wordFates(durable: Uint8Array, cache: Uint8Array, image: Uint8Array, line: number): { kept: number[]; lost: number[] } {
  const kept: number[] = [], lost: number[] = [];
  for (let w = 0; w < 8; w++) {
    const at = line * 64 + w * 8;
    if (u64At(cache, at) === u64At(durable, at)) continue;
    (u64At(image, at) === u64At(cache, at) ? kept : lost).push(w);
  }
  return { kept, lost };
}

export const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** Equal 64-byte lines? */
export function sameLine(a: Uint8Array, b: Uint8Array, line: number): boolean {
  const at = line * 64;
  for (let i = at; i < at + 64; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function u64At(b: Uint8Array, off: number): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off, true);
}
export function u32At(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);
}
