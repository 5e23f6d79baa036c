// files.ts — pool files in and out of OPFS: export a pool as a download,
// import a pool file (from Node's file backend, or an earlier export) by file
// picker or drag-and-drop, open it and show what it holds.

import { PoolClient } from '../src/browser/client.js';
import { $, el, hex, hexBytes, u32At } from './ui.js';

export const IMPORTED_POOL = 'imported.pool';

/** Layout name and size recorded in a pool header (docs/format.md: 0x080 layout, 0x018 size). */
export function headerInfo(bytes: Uint8Array): { layout: string; size: number } {
  if (bytes.length < 4096 || new TextDecoder().decode(bytes.subarray(0, 8)) !== 'PHEAPOOL') {
    throw new Error('this file is not a pheap pool (it does not start with "PHEAPOOL")');
  }
  const layoutBytes = bytes.subarray(0x80, 0x80 + 64);
  const end = layoutBytes.indexOf(0);
  const size = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0x18, true));
  return { layout: new TextDecoder().decode(layoutBytes.subarray(0, end < 0 ? 63 : end)), size };
}

function download(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export class Files {
  imported: PoolClient | null = null;

  constructor(private activity: (msg: string, kind?: 'ok' | 'err' | 'info') => void,
    private exporters: Record<string, () => Promise<Uint8Array>>) {}

  /** Store `bytes` as the imported pool, open it with the layout its header names, and describe it. */
  async importBytes(bytes: Uint8Array, fileName: string): Promise<void> {
    const out = $('#import-result');
    try {
      const { layout } = headerInfo(bytes);
      await this.imported?.close().catch(() => {});
      this.imported = null;
      const size = await PoolClient.importFile(IMPORTED_POOL, bytes, { replace: true });
      this.imported = await PoolClient.open(IMPORTED_POOL, { layout, durability: 'fsync' });
      const [stats, objs] = await this.imported.batch([{ op: 'stats' }, { op: 'objects', len: 32 }]);
      const s = stats as { heap: { liveObjects: number; liveBytes: number }; openCount: number };
      const list = objs as { off: number; type: number; size: number; bytes: Uint8Array }[];
      out.replaceChildren(
        el('p', { 'data-imported': 'ok', text: `Imported "${fileName}" as ${IMPORTED_POOL}: ${size / 1024} KiB, layout "${layout}", ` +
          `${s.heap.liveObjects} live object(s), ${s.heap.liveBytes} B; opened ${s.openCount} time(s) so far.` }),
        el('div', { class: 'scroll' }, el('table', { class: 'objects' },
          el('thead', {}, el('tr', {}, el('th', { text: 'object' }), el('th', { text: 'type' }), el('th', { text: 'size' }), el('th', { text: 'first bytes' }))),
          el('tbody', {}, ...list.slice(0, 12).map((o) => el('tr', { 'data-off': String(o.off) },
            el('td', { text: hex(o.off) }), el('td', { text: o.type >= 0xffff0000 ? `${hex(o.type)} (root)` : String(o.type) }),
            el('td', { text: String(o.size) }), el('td', {}, el('code', { 'data-bytes': hexBytes(o.bytes), text: hexBytes(o.bytes, 0, Math.min(16, o.bytes.length)) }))))))),
      );
      this.activity(`imported ${fileName} (${bytes.length} bytes) into OPFS and opened it`, 'ok');
    } catch (e) {
      out.replaceChildren(el('p', { class: 'error', 'data-imported': 'error', text: `Import failed: ${(e as Error).message}` }));
      this.activity(`import failed: ${(e as Error).message}`, 'err');
    }
  }

  wire(): void {
    const input = $('#import-input') as HTMLInputElement;
    input.addEventListener('change', async () => {
      const f = input.files?.[0];
      if (f) await this.importBytes(new Uint8Array(await f.arrayBuffer()), f.name);
      input.value = '';
    });
    const zone = $('#drop-zone');
    zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
    zone.addEventListener('dragleave', () => zone.classList.remove('over'));
    zone.addEventListener('drop', async (e) => {
      e.preventDefault();
      zone.classList.remove('over');
      const f = e.dataTransfer?.files?.[0];
      if (f) await this.importBytes(new Uint8Array(await f.arrayBuffer()), f.name);
    });
    for (const b of document.querySelectorAll<HTMLButtonElement>('[data-export]')) {
      b.addEventListener('click', async () => {
        const which = b.dataset.export!;
        try {
          const bytes = which === IMPORTED_POOL ? await this.imported?.exportBytes() : await this.exporters[which]?.();
          if (!bytes) throw new Error(`${which} is not open`);
          download(bytes, which);
          this.activity(`exported ${which}: ${bytes.length} bytes, exactly the OPFS file`, 'ok');
        } catch (e) {
          this.activity(`export failed: ${(e as Error).message}`, 'err');
        }
      });
    }
  }
}

export { u32At };
