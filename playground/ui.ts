// ui.ts — small DOM and formatting helpers for the playground.

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

export function parseIntStrict(s: string): number {
  const t = s.trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) throw new Error(`"${s}" is not an offset or length (use decimal or 0x hex)`);
  return Number(t);
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
