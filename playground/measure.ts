// measure.ts — lesson 13, "memory vs storage, measured in this browser":
// the cost of one 8-byte store + persist on an in-worker memory pool against
// one 4 KiB write + flush() on an OPFS file (a pool at durability fsync),
// both timed inside the pool worker (PoolClient.benchPersist), shown per
// operation with their ratio.
//
// Invariants: every figure on the card is measured live in this browser,
// never a constant: a run is RUNS rounds of each loop, and the card shows
// each round and the medians; the outcome line states the ratio of the two
// medians. The OPFS file it measures on (MEASURE_POOL) is removed before and
// after, so the lab's files are left as they were; a failure says so in the
// outcome, never a half-filled table.

import { PoolClient } from '../src/browser/client.js';
import { el } from './ui.js';

/** The OPFS file the storage loop writes (removed after the run). */
export const MEASURE_POOL = 'measure.pool';
const LAYOUT = 'playground-measure';
const SIZE = 256 * 1024;
/** Rounds of each loop; the card reports their medians. */
export const RUNS = 3;
/** Operations per round: many cheap memory persists, fewer OPFS flushes (each one is a write and a flush() of the file). */
export const MEMORY_OPS = 20_000;
export const STORAGE_OPS = 50;
const BLOCK = 4096;
/** What the lesson teaches, in one line (shown after a run as "The point: …", and in the docs' lesson table). */
export const MEASURE_TEACHES = 'a persist to memory costs a store and a flush; a write to storage costs a system call and a device flush — measured, not quoted';

/** One side of the comparison: its per-operation cost in each round (µs), and their median. */
export interface Side { perOpUs: number[]; medianUs: number }
/** Both sides and the ratio of their medians (storage / memory). */
export interface Measurement { memory: Side; storage: Side; ratio: number }

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** One warm-up round (not counted: the JIT and the file settle), then RUNS rounds of `n` × (store `len` bytes + persist) at the root of `c`: µs per operation each round. */
async function rounds(c: PoolClient, len: number, n: number): Promise<Side> {
  const off = await c.root(len);
  await c.benchPersist(off, len, n);
  const perOpUs: number[] = [];
  for (let r = 0; r < RUNS; r++) perOpUs.push(((await c.benchPersist(off, len, n)) * 1000) / n);
  return { perOpUs, medianUs: median(perOpUs) };
}

/** Run both loops, each in its own worker, closed (and the OPFS file removed) afterwards. */
export async function measure(): Promise<Measurement> {
  const mem = await PoolClient.create('measure-memory', { layout: LAYOUT, backend: 'memory', size: SIZE, durability: 'fsync' });
  let memory: Side;
  try {
    memory = await rounds(mem, 8, MEMORY_OPS);
  } finally {
    await mem.close();
  }
  await PoolClient.remove(MEASURE_POOL);
  const file = await PoolClient.create(MEASURE_POOL, { layout: LAYOUT, size: SIZE, durability: 'fsync' });
  let storage: Side;
  try {
    storage = await rounds(file, BLOCK, STORAGE_OPS);
  } finally {
    await file.close();
    await PoolClient.remove(MEASURE_POOL);
  }
  return { memory, storage, ratio: storage.medianUs / memory.medianUs };
}

/** "0.0420 µs", "1.30 µs", "215 µs", "3042 µs": three significant digits, whole microseconds from 100 on. */
export const fmtUs = (us: number): string => `${us >= 100 ? Math.round(us) : us.toPrecision(3)} µs`;

/** "2.5×", "57×", "6057×": one decimal below 10, whole above. */
export const fmtRatio = (r: number): string => `${r >= 10 ? Math.round(r) : r.toFixed(1)}×`;

/** The card's table: one row per side, each round and the median. */
function resultTable(m: Measurement): HTMLTableElement {
  const row = (what: string, s: Side, side: string) => el('tr', { 'data-side': side },
    el('td', { text: what }), el('td', { text: s.perOpUs.map(fmtUs).join(', ') }), el('td', { text: fmtUs(s.medianUs) }));
  return el('table', { class: 'lesson-table', id: 'measure-table' },
    el('thead', {}, el('tr', {}, el('th', { text: 'operation' }), el('th', { text: `each of ${RUNS} rounds (per op)` }), el('th', { text: 'median' }))),
    el('tbody', {},
      row(`memory: 8-byte store + persist, ${MEMORY_OPS} ops a round`, m.memory, 'memory'),
      row(`storage: 4 KiB write + flush() of an OPFS file, ${STORAGE_OPS} ops a round`, m.storage, 'storage')));
}

/** The lesson's card, appended to `list`: "Measure" runs both loops and fills the table and the outcome. */
export function mountMeasure(list: HTMLElement): void {
  const go = el('button', { class: 'primary', 'data-measure': 'run', text: 'Measure' });
  const box = el('div', { 'data-measure': 'table' });
  const out = el('p', { class: 'outcome', 'data-outcome': 'memory-vs-storage' });
  const point = el('p', { class: 'point small', 'data-point': 'memory-vs-storage', text: `The point: ${MEASURE_TEACHES}.` });
  point.hidden = true;
  list.append(el('article', { class: 'scenario', id: 'sc-memory-vs-storage' },
    el('h3', { text: '13. Memory vs storage, measured in this browser' }),
    el('p', { text: 'Persistent memory is written like memory: a store, then a flush and a fence of its line. Storage is written in blocks, through a ' +
      'system call. Measure both here, in the pool worker: many 8-byte stores + persists on an in-worker memory pool, against 4 KiB writes + ' +
      `flush() of an OPFS file (a pool at durability fsync). A warm-up round, then ${RUNS} rounds each; the medians decide. The figures are this browser's, on this machine, now.` }),
    el('div', { class: 'row buttons' }, go), box, out, point));
  go.addEventListener('click', async () => {
    go.disabled = true;
    out.textContent = 'measuring…';
    out.dataset.phase = 'running';
    try {
      const m = await measure();
      box.replaceChildren(resultTable(m));
      out.textContent = `memory: ${fmtUs(m.memory.medianUs)} per 8-byte persist; storage: ${fmtUs(m.storage.medianUs)} per 4 KiB write + flush — ` +
        `storage is ${fmtRatio(m.ratio)} the memory cost here (medians of ${RUNS} rounds).`;
      Object.assign(out.dataset, { phase: 'measured', memoryUs: String(m.memory.medianUs), storageUs: String(m.storage.medianUs), ratio: String(m.ratio) });
      point.hidden = false;
    } catch (e) {
      out.textContent = `error: the measurement failed (${(e as Error).name}: ${(e as Error).message})`;
      out.dataset.phase = 'error';
    } finally {
      go.disabled = false;
    }
  });
}
