// scenarios.ts — guided scenarios: each resets the lab pool, performs a few
// steps, crashes in its mode and seed (so the outcome is reproducible; a
// scenario with a random mode has a seed field, prefilled with the seed its
// documented outcome uses), and, after "Run recovery", reads the pool back
// and names the outcome. Words as in ui.ts: a line is torn, a value that
// spans lines is half-updated.

import type { CrashMode } from '../src/crash/modes.js';
import { Lab, NODE_TYPE, fmtField } from './lab.js';
import { $, crashLabel, el, hex, isRandomMode, parseIntStrict, sleep, u64At } from './ui.js';

interface Outcome { verdict: string; text: string }

interface Scenario {
  id: string;
  title: string;
  text: string;
  crash: { mode: CrashMode; seed: number };
  steps(lab: Lab, ctx: Record<string, number>): Promise<void>;
  outcome(lab: Lab, ctx: Record<string, number>): Promise<Outcome>;
}

const PAUSE = 200;
const step = async (lab: Lab, ops: Parameters<Lab['run']>[0], label: string) => { await lab.run(ops, label); await sleep(PAUSE); };

/** pair = (a, b) and packed = (a, b) both start at (1, 1), durable. */
async function initPair(lab: Lab): Promise<void> {
  await step(lab, [
    { op: 'write', type: 'u64', off: lab.field('pairA'), value: 1n },
    { op: 'write', type: 'u64', off: lab.field('pairB'), value: 1n },
    { op: 'write', type: 'u64', off: lab.field('packed'), value: (1n << 32n) | 1n },
    { op: 'persist', off: lab.field('pairA'), len: 16 },
    { op: 'persist', off: lab.field('packed'), len: 8 },
  ], 'setup: pair = (1, 1) and packed = (1, 1), persisted');
}

const val = (lab: Lab, f: Parameters<Lab['field']>[0]) => u64At(lab.insp!.cache, lab.field(f));

export const SCENARIOS: Scenario[] = [
  {
    id: 'missing-flush',
    title: '1. The missing flush',
    text: 'Store 42 into the counter and fence — but never flush its line. A fence (SFENCE) only waits for flushes ' +
      'already issued; a line nobody flushed stays in the cache. Crash: strict (only drained lines survive).',
    crash: { mode: 'strict', seed: 0 },
    async steps(lab) {
      await step(lab, [{ op: 'write', type: 'u64', off: lab.field('counter'), value: 42n }], 'store counter = 42 (cache only: its line turns dirty)');
      await step(lab, [{ op: 'drain' }], 'fence: nothing was flushed, so nothing is written');
    },
    async outcome(lab) {
      const c = val(lab, 'counter');
      return c === 0n
        ? { verdict: 'lost', text: `counter = ${c} after recovery: the store never left the cache. Fix: persist(counter, 8) — flush, then fence.` }
        : { verdict: 'survived', text: `counter = ${c}: the store survived.` };
    },
  },
  {
    id: 'pointer-before-data',
    title: '2. Publishing a pointer before its data is durable',
    text: 'Allocate a node, store 0xC0FFEE into it, then store its offset into root.ptr and persist only the pointer. ' +
      'The pointer is durable; the data it points to is not. Crash: strict.',
    crash: { mode: 'strict', seed: 0 },
    async steps(lab, ctx) {
      const [node] = await lab.run([{ op: 'alloc', size: 64, type: NODE_TYPE, zero: true }], 'alloc a 64-byte node (durable on return, zeroed)');
      ctx.node = node as number;
      await sleep(PAUSE);
      await step(lab, [{ op: 'write', type: 'u64', off: ctx.node, value: 0xc0ffeen }], `store 0xC0FFEE into the node at ${hex(ctx.node)} (not flushed)`);
      await step(lab, [{ op: 'write', type: 'u64', off: lab.field('ptr'), value: BigInt(ctx.node) }, { op: 'persist', off: lab.field('ptr'), len: 8 }],
        'store root.ptr = node and persist the pointer only');
    },
    async outcome(lab) {
      const p = Number(val(lab, 'ptr'));
      const data = p ? u64At(lab.insp!.cache, p) : 0n;
      return p !== 0 && data !== 0xc0ffeen
        ? { verdict: 'dangling', text: `root.ptr = ${hex(p)} survived, but the node holds ${hex(data)}, not 0xc0ffee: a durable pointer to data that never became durable. Fix: persist the node first, then publish the pointer.` }
        : { verdict: 'consistent', text: `root.ptr = ${hex(p)}, node = ${hex(data)}.` };
    },
  },
  {
    id: 'half-16',
    title: '3. A half-updated 16-byte value vs an 8-byte atomic one',
    text: 'pair is 16 bytes across two cache lines; packed is one aligned u64 holding two u32 halves. Both go from (1, 1) ' +
      'to (2, 2), both are flushed but not fenced. Crash: pending, seed 4 — each pending line survives or not by its own coin.',
    crash: { mode: 'pending', seed: 4 },
    async steps(lab) {
      await initPair(lab);
      await step(lab, [
        { op: 'write', type: 'u64', off: lab.field('pairA'), value: 2n },
        { op: 'write', type: 'u64', off: lab.field('pairB'), value: 2n },
        { op: 'flush', off: lab.field('pairA'), len: 16 },
      ], 'pair = (2, 2) with two 8-byte stores, flushed (two pending lines)');
      await step(lab, [
        { op: 'write', type: 'u64', off: lab.field('packed'), value: (2n << 32n) | 2n },
        { op: 'flush', off: lab.field('packed'), len: 8 },
      ], 'packed = (2, 2) with one 8-byte store, flushed');
    },
    async outcome(lab) {
      const a = val(lab, 'pairA'), b = val(lab, 'pairB'), p = val(lab, 'packed');
      const packedOk = (p & 0xffffffffn) === p >> 32n;
      return {
        verdict: a !== b ? 'half-updated' : 'whole',
        text: `pair = (${a}, ${b})${a !== b ? ': half-updated — one of its two lines reached the pool, the other did not' : ''}; packed = ${fmtField('packed', p)}` +
          `${packedOk ? ': never half-updated, an aligned 8-byte store is failure-atomic' : ''}. Nothing larger than 8 bytes is atomic without a log.`,
      };
    },
  },
  {
    id: 'tx-safe',
    title: '4. The same update, made safe by a transaction',
    text: 'The same pair update inside a transaction: add-range logs the old 16 bytes (and persists the entry) before the stores. ' +
      'The crash happens before commit. Crash: pending, seed 4 — the same coins that half-updated scenario 3.',
    crash: { mode: 'pending', seed: 4 },
    async steps(lab) {
      await initPair(lab);
      await step(lab, [{ op: 'txBegin' }], 'transaction: begin');
      await step(lab, [{ op: 'addRange', off: lab.field('pairA'), len: 16 }], 'add range pair (16 bytes): the old (1, 1) is logged and persisted');
      await step(lab, [
        { op: 'write', type: 'u64', off: lab.field('pairA'), value: 2n },
        { op: 'write', type: 'u64', off: lab.field('pairB'), value: 2n },
        { op: 'flush', off: lab.field('pairA'), len: 16 },
      ], 'pair = (2, 2), flushed — and the crash comes before commit');
    },
    async outcome(lab) {
      const a = val(lab, 'pairA'), b = val(lab, 'pairB');
      const n = lab.view.kind === 'recovered' ? lab.view.rec.entriesRolledBack : 0;
      return a === b
        ? { verdict: 'rolled-back', text: `pair = (${a}, ${b}): recovery found ${n} valid undo-log entr${n === 1 ? 'y' : 'ies'} and restored the old value. All or nothing: a half-updated pair can no longer be seen.` }
        : { verdict: 'half-updated', text: `pair = (${a}, ${b}): half-updated (this should not happen).` };
    },
  },
  {
    id: 'leak',
    title: '5. An allocation leaked without atomic publish',
    text: 'alloc(64) without `into` makes the object durable at once; storing its offset into root.ptr afterwards is a separate, ' +
      'not-yet-durable step. Crash: strict, before the pointer store is durable.',
    crash: { mode: 'strict', seed: 0 },
    async steps(lab, ctx) {
      const [node] = await lab.run([{ op: 'alloc', size: 64, type: NODE_TYPE }], 'alloc a 64-byte node without `into` (durable now)');
      ctx.node = node as number;
      await sleep(PAUSE);
      await step(lab, [{ op: 'write', type: 'u64', off: lab.field('ptr'), value: BigInt(ctx.node) }], 'store root.ptr = node (not yet persisted)');
    },
    async outcome(lab) {
      const p = val(lab, 'ptr');
      const objs = await lab.client!.objects(NODE_TYPE);
      return p === 0n && objs.length > 0
        ? { verdict: 'leaked', text: `root.ptr = null, yet ${objs.length} node of ${objs[0].size} B is still allocated at ${hex(objs[0].off)}: nothing points to it — leaked. Fix: alloc(64, { into: ptr }) stores the offset atomically with the allocation (after a crash: both or neither).` }
        : { verdict: 'no-leak', text: `root.ptr = ${hex(p)}, ${objs.length} node(s) allocated.` };
    },
  },
  {
    id: 'torn-line',
    title: '6. A torn line (tear8)',
    text: 'counter (word 0) and pairA (word 7) share one cache line; both go from 1 to 2 and are never flushed. ' +
      'Crash: tear8, seed 3 — a never-flushed line may survive, keeping only some of its 8-byte words.',
    crash: { mode: 'tear8', seed: 3 },
    async steps(lab) {
      await step(lab, [
        { op: 'write', type: 'u64', off: lab.field('counter'), value: 1n },
        { op: 'write', type: 'u64', off: lab.field('pairA'), value: 1n },
        { op: 'persist', off: lab.field('counter'), len: 64 },
      ], 'setup: counter = 1 and pairA = 1, persisted (one line)');
      await step(lab, [
        { op: 'write', type: 'u64', off: lab.field('counter'), value: 2n },
        { op: 'write', type: 'u64', off: lab.field('pairA'), value: 2n },
      ], 'counter = 2 and pairA = 2: two 8-byte stores into one line, not flushed');
    },
    async outcome(lab) {
      const c = val(lab, 'counter'), a = val(lab, 'pairA');
      const word = (v: bigint) => (v === 2n ? 'kept' : 'lost');
      return c !== a
        ? { verdict: 'torn', text: `counter = ${c}, pairA = ${a}: the line is torn — word 0 (counter) ${word(c)} its new value, word 7 (pairA) ${word(a)} it; each 8-byte word is whole. Only a log makes the line all or nothing.` }
        : { verdict: 'whole', text: `counter = ${c}, pairA = ${a}: the line survived whole or not at all.` };
    },
  },
];

export function mountScenarios(lab: Lab, activity: (m: string, k?: 'ok' | 'err' | 'info') => void): void {
  const list = $('#scenario-list');
  let busy = false;
  for (const s of SCENARIOS) {
    const run = el('button', { class: 'primary', 'data-run': s.id, text: 'Run' });
    const recover = el('button', { 'data-recover': s.id, text: 'Run recovery', disabled: '' });
    const seedIn = el('input', { 'data-seed': s.id, value: String(s.crash.seed), size: '4', spellcheck: 'false', 'aria-label': `crash seed for ${s.title}` });
    const seedField = isRandomMode(s.crash.mode) ? [el('label', { class: 'inline' }, 'seed ', seedIn)] : [];
    const out = el('p', { class: 'outcome', 'data-outcome': s.id });
    const card = el('article', { class: 'scenario', id: `sc-${s.id}` },
      el('h3', { text: s.title }), el('p', { text: s.text }), el('div', { class: 'row buttons' }, run, recover, ...seedField), out);
    list.append(card);
    const ctx: Record<string, number> = {};
    run.addEventListener('click', async () => {
      if (busy) return;
      busy = true;
      run.disabled = true;
      out.textContent = 'running…';
      delete out.dataset.verdict;
      out.dataset.phase = 'running';
      try {
        const seed = isRandomMode(s.crash.mode) ? parseIntStrict(seedIn.value, 'a seed') : s.crash.seed;
        activity(`scenario: ${s.title}`, 'info');
        await lab.reset();
        await sleep(PAUSE);
        await s.steps(lab, ctx);
        const c = await lab.crash(s.crash.mode, seed);
        out.textContent = `Crashed (${crashLabel(s.crash.mode, seed)}): ` +
          `${c.survived.size} changed line(s) survived (green), ${c.lost.size} lost (red), ${c.torn.size} torn (magenta)${lab.tornText()}. Now run recovery.`;
        out.dataset.phase = 'crashed';
        recover.disabled = false;
      } catch (e) {
        out.textContent = `error: ${(e as Error).message}`;
        out.dataset.phase = 'error';
        busy = false;
      } finally {
        run.disabled = false;
      }
    });
    recover.addEventListener('click', async () => {
      recover.disabled = true;
      try {
        await lab.recover();
        const o = await s.outcome(lab, ctx);
        out.textContent = o.text;
        out.dataset.verdict = o.verdict;
        out.dataset.phase = 'recovered';
        activity(`outcome: ${o.text}`, 'ok');
      } catch (e) {
        out.textContent = `error: ${(e as Error).message}`;
        out.dataset.phase = 'error';
      } finally {
        busy = false;
      }
    });
  }
  // The lab's own Recover button also completes a scenario that is waiting for it.
  lab.changed(() => {
    if (lab.view.kind === 'crash') return;
    for (const b of list.querySelectorAll<HTMLButtonElement>('[data-recover]')) b.disabled = true;
    busy = false;
  });
}
