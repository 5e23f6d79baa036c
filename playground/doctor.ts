// doctor.ts — the lesson "is it really on pmem?": the serving machine's own
// `pheap doctor` report (GET /api/doctor, src/cli/serve.ts), one row per
// check with what the server found and what the check means.
//
// Invariants: every row comes from the report as the server sent it (the
// page computes nothing about the machine); the outcome's verdict is the
// report's own (onPersistentMemory true / false / null → pmem / not-pmem /
// unknown), its text the report's verdict sentence; a failed request says so
// in the outcome, never an empty table.

import type { DoctorReport } from '../src/cli/doctor.js';
import { $, el } from './ui.js';

export interface CheckRow {
  id: string;
  check: string;
  /** What the server found, in one line. */
  found: string;
  /** What the check means for persistence. */
  means: string;
  /** Passed, failed, or could not tell. */
  ok: boolean | null;
}

/** The report's five checks as rows (the order `pheap doctor` runs them in). */
export function doctorChecks(r: DoctorReport): CheckRow[] {
  const fs = r.fileSystem, ms = r.mapSync, nd = r.nvdimm, io = r.iomem, pm = r.pagemap;
  const legacy = io.pmemRanges.filter((x) => x.legacy).length;
  return [
    {
      id: 'dax', check: 'DAX mount option', ok: fs ? fs.daxOption === 'always' || fs.daxOption === 'inode' : null,
      found: fs ? `${fs.fsType} on ${fs.source} at ${fs.mountPoint}: ${fs.daxOption ? `dax=${fs.daxOption}` : 'no dax option'}; ` +
        `the device ${fs.deviceDaxCapable === null ? 'may or may not' : fs.deviceDaxCapable ? 'can' : 'cannot'} do DAX` : `unknown: ${r.fileSystemError ?? 'no mount found'}`,
      means: 'DAX (direct access) maps a file\'s pages straight onto the device: loads and stores bypass the page cache, so a CPU flush ' +
        '(CLWB + SFENCE) — not msync — makes a store durable. The mount option dax (dax=always) turns it on for every file, dax=inode per file.',
    },
    {
      id: 'map-sync', check: 'MAP_SYNC', ok: ms.tested ? ms.ok : null,
      found: !ms.tested ? `not tested: ${ms.message}` : ms.ok ? 'the kernel accepts a MAP_SYNC mapping here' : `the kernel refuses it (${ms.code ?? ms.errno})`,
      means: 'The deciding test. The kernel accepts MAP_SHARED_VALIDATE | MAP_SYNC only on a DAX mapping, and then keeps the file\'s metadata ' +
        'durable at every write fault, so flushing the CPU cache is all a program needs.',
    },
    {
      id: 'nvdimm', check: 'NVDIMM regions (like ndctl list)', ok: nd.busPresent ? nd.activeRegions > 0 : false,
      found: nd.busPresent ? `${nd.activeRegions} region(s), ${nd.activeNamespaces} namespace(s) under /sys/bus/nd` : 'no /sys/bus/nd: libnvdimm is not loaded',
      means: 'The persistent-memory modules the kernel drives, in regions and namespaces. In App Direct mode a namespace (fsdax) carries a DAX file system; ' +
        'in Memory mode the modules are plain (volatile) RAM and show no namespace.',
    },
    {
      id: 'iomem', check: '/proc/iomem ranges', ok: io.readable ? io.pmemRanges.length - legacy > 0 : null,
      found: !io.readable ? '/proc/iomem is unreadable' : `${io.pmemRanges.length} "Persistent Memory" range(s)${legacy ? `, ${legacy} of them legacy (emulated)` : ''}` +
        `${io.addressesHidden ? ' — addresses hidden (not root)' : ''}`,
      means: 'Physical address ranges the firmware reports as persistent memory. "Persistent Memory (legacy)" is usually DRAM set aside with ' +
        'memmap= — emulated pmem, which does not survive a power cut.',
    },
    {
      id: 'pagemap', check: 'the physical page (pagemap)', ok: pm.inPmemRange,
      found: pm.tested ? `${pm.note}${pm.physicalAddress ? ` (physical ${pm.physicalAddress})` : ''}` : `not tested: ${pm.note}`,
      means: '/proc/self/pagemap gives the physical page behind a mapped test page; inside a Persistent Memory range, the bytes really live on pmem. ' +
        'Reading it needs root: otherwise the kernel reports every address as zero.',
    },
  ];
}

/** pmem / not-pmem / unknown, from the report's own answer. */
export const doctorVerdict = (r: DoctorReport): string => (r.onPersistentMemory === null ? 'unknown' : r.onPersistentMemory ? 'pmem' : 'not-pmem');

const MARK = (ok: boolean | null) => (ok === null ? '?' : ok ? 'yes' : 'no');

/** The lesson's card, appended to `list`: "Ask the server" fetches `url` and fills the table and the outcome. */
export function mountDoctor(list: HTMLElement, url = '/api/doctor'): void {
  const ask = el('button', { class: 'primary', 'data-doctor': 'ask', text: 'Ask the server' });
  const body = el('tbody');
  const table = el('table', { class: 'doctor', id: 'doctor-checks' },
    el('thead', {}, el('tr', {}, el('th', { text: 'check' }), el('th', { text: 'found' }), el('th', { text: 'pass' }), el('th', { text: 'what it means' }))), body);
  table.hidden = true;
  const out = el('p', { class: 'outcome', 'data-outcome': 'doctor' });
  list.append(el('article', { class: 'scenario', id: 'sc-doctor' },
    el('h3', { text: '11. Is it really on persistent memory?' }),
    el('p', { text: 'A pool is only as durable as the memory under it. The server that serves this page runs `pheap doctor` on its own directory: ' +
      'the mount option, MAP_SYNC, the NVDIMM regions, /proc/iomem and the physical page of a mapped test file. No crash here: this is the machine\'s answer.' }),
    el('div', { class: 'row buttons' }, ask), table, out));
  ask.addEventListener('click', async () => {
    ask.disabled = true;
    out.textContent = 'asking…';
    try {
      const res = await fetch(url, { cache: 'no-store' });
      if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
      const r = (await res.json()) as DoctorReport;
      body.replaceChildren(...doctorChecks(r).map((c) => el('tr', { 'data-check': c.id, 'data-ok': MARK(c.ok) },
        el('td', { text: c.check }), el('td', { text: c.found }), el('td', { text: MARK(c.ok) }), el('td', { class: 'small', text: c.means }))));
      table.hidden = false;
      out.textContent = `${r.verdict} Drain: ${r.drain}.`;
      out.dataset.verdict = doctorVerdict(r);
      out.dataset.phase = 'recovered';
    } catch (e) {
      out.textContent = `error: the server did not answer the doctor report (${(e as Error).message}); \`pheap doctor <dir>\` gives it in a shell.`;
      out.dataset.phase = 'error';
    } finally {
      ask.disabled = false;
    }
  });
}

