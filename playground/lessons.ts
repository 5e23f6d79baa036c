// lessons.ts — the playground's lessons. Each one has a short text, a
// program of steps run one at a time (Next / Back) or all at once (Run to
// crash), a crash in a stated mode (and seed, with a seed field, where the
// mode is random; a mode choice where the lesson compares modes), recovery,
// and a one-line outcome read back from the recovered pool. Words as in
// ui.ts: a line is torn, a value that spans lines is half-updated.
//
// Invariants: a lesson's steps always start from a fresh lab pool (the same
// seed: byte-identical), so Back is "rebuild and replay one step fewer" and
// every run of a lesson with the same mode and seed ends the same way; only
// one lesson drives the lab at a time (another lesson's button restarts its
// own program); the lesson's watched fields stay in the line inspector; a
// lesson's layers table (lesson 12: the page cache vs DAX) is redrawn from
// the lab after every change, so it never shows an older state.

import type { CrashMode } from '../src/crash/modes.js';
import { Lab, NODE_TYPE, fmtField, type FieldName, type LabPool } from './lab.js';
import { $, CRASH_MODE_LABELS, crashLabel, el, hex, isRandomMode, parseIntStrict, sameLine, sleep, u64At } from './ui.js';

export interface Outcome { verdict: string; text: string }
/** Offsets a lesson's steps remember (an allocated node), for later steps and the outcome. */
export type Ctx = Record<string, number>;

/** One step of a lesson's program: its text (the activity log's line) and what it does to the lab. */
export interface Step { text: string; run(lab: Lab, ctx: Ctx): Promise<unknown> }

export interface Lesson {
  id: string;
  title: string;
  /** What it teaches, in one line: shown after recovery ("The point: …") and in the docs' lesson list. */
  teaches: string;
  text: string;
  /** The crash: its mode, and its seed when the mode is random. */
  crash: { mode: CrashMode; seed: number };
  /** Other modes the learner may pick for the same program (a mode choice on the card). */
  alsoModes?: CrashMode[];
  /** What a mode stands for in this lesson, when not its CRASH_MODE_LABELS label (the mode choice says it). */
  modeLabels?: Partial<Record<CrashMode, string>>;
  /** A small table under the text: a header row, then rows. */
  table?: string[][];
  /** A table drawn from the lab as it is now (a header row, then rows), redrawn after every change of the lab. */
  layers?(lab: Lab): string[][];
  /** Fields the inspector keeps in view. */
  watch: FieldName[];
  steps: Step[];
  /** The pool the lesson runs on, when not lab.pool at durability fsync. */
  pool?: LabPool;
  outcome(lab: Lab, ctx: Ctx, mode: CrashMode): Promise<Outcome>;
  /** The outcome when recovery cannot open the pool (the lab is then back on a fresh lab.pool). */
  unrecoverable?(err: Error, mode: CrashMode): Outcome;
}

/** A step that runs `ops` (built from the lab and ctx) in one round trip. */
const ops = (text: string, build: (lab: Lab, ctx: Ctx) => Parameters<Lab['run']>[0]): Step =>
  ({ text, run: (lab, ctx) => lab.run(build(lab, ctx), text) });

/** A step that allocates a 64-byte node (zeroed or not) and remembers it as ctx.node. */
const allocNode = (text: string, zero: boolean): Step => ({
  text,
  async run(lab, ctx) {
    const [node] = await lab.run([{ op: 'alloc', size: 64, type: NODE_TYPE, zero }], text);
    ctx.node = node as number;
  },
});

/** pair = (a, b) and packed = (a, b) both start at (1, 1), durable. */
const initPair = ops('setup: pair = (1, 1) and packed = (1, 1), persisted', (lab) => [
  { op: 'write', type: 'u64', off: lab.field('pairA'), value: 1n },
  { op: 'write', type: 'u64', off: lab.field('pairB'), value: 1n },
  { op: 'write', type: 'u64', off: lab.field('packed'), value: (1n << 32n) | 1n },
  { op: 'persist', off: lab.field('pairA'), len: 16 },
  { op: 'persist', off: lab.field('packed'), len: 8 },
]);

/** The pair update of lessons 3 and 4: (2, 2) in two 8-byte stores, flushed, not fenced. */
const pairTo2 = (text: string) => ops(text, (lab) => [
  { op: 'write', type: 'u64', off: lab.field('pairA'), value: 2n },
  { op: 'write', type: 'u64', off: lab.field('pairB'), value: 2n },
  { op: 'flush', off: lab.field('pairA'), len: 16 },
]);

/** A node holding 0xC0FFEE published through root.ptr with fences and no flush (lesson 7). */
const unflushedPublish: Step[] = [
  allocNode('alloc a zeroed 64-byte node (durable on return)', true),
  ops('store 0xC0FFEE into the node — no flush', (lab, ctx) => [{ op: 'write', type: 'u64', off: ctx.node, value: 0xc0ffeen }]),
  ops('fence (SFENCE): the data store is ordered before anything after it', () => [{ op: 'drain' }]),
  ops('store root.ptr = node — no flush', (lab, ctx) => [{ op: 'write', type: 'u64', off: lab.field('ptr'), value: BigInt(ctx.node) }]),
  ops('fence (SFENCE)', () => [{ op: 'drain' }]),
];

const val = (lab: Lab, f: FieldName) => u64At(lab.insp!.cache, lab.field(f));

const PAGE = 4096;

/** Lines of the 4 KiB page `page` whose cache differs from the file (dirty or pending): what msync of that page writes back. */
function dirtyInPage(lab: Lab, page: number): number {
  let n = 0;
  for (let l = (page * PAGE) >> 6; l < ((page + 1) * PAGE) >> 6; l++) if (!sameLine(lab.insp!.cache, lab.insp!.durable, l)) n++;
  return n;
}

/**
 * Lesson 12's layers, drawn from the lab: the page cache between the CPU
 * cache and the file (its 4 KiB page, dirty or clean), against DAX (no page
 * cache: the line itself is what a flush writes).
 */
function pageCacheLayers(lab: Lab): string[][] {
  const lines = [...new Set((['counter', 'packed'] as const).map((f) => lab.field(f) >> 6))];
  const pages = [...new Set(lines.map((l) => (l * 64) >> 12))];
  const live = lab.view.kind === 'live';
  const dirtyLines = lines.filter((l) => !sameLine(lab.insp!.cache, lab.insp!.durable, l));
  const page = (p: number) => `page ${p} (${hex(p * PAGE)}, 4 KiB): ${dirtyInPage(lab, p) ? `dirty — ${dirtyInPage(lab, p)} of its 64 lines differ from the file` : 'clean'}`;
  return [
    ['layer', 'without DAX: through the page cache', 'DAX (MAP_SYNC): no page cache'],
    ['CPU cache', 'the store lands in a cache line', 'the store lands in a cache line'],
    ['page cache', live ? pages.map(page).join('; ') : 'after the crash: see the grid', 'none: the file\'s pages are the persistent memory'],
    ['the drain', 'msync of the page: the kernel writes 4 KiB (a syscall)', 'CLWB of the line + SFENCE: 64 B, no syscall'],
    ['file', live ? `watched lines not yet in the file: ${dirtyLines.length ? dirtyLines.join(', ') : 'none'}` : 'the crash image', 'MAP_SYNC: the file\'s metadata is durable at every fault, no fsync'],
  ];
}

export const LESSONS: Lesson[] = [
  {
    id: 'missing-flush',
    title: '1. The missing flush',
    teaches: 'a fence only waits for flushes already issued: a store nobody flushed stays in the cache',
    text: 'Store 42 into the counter and fence — but never flush its line. A fence (SFENCE) only waits for flushes ' +
      'already issued; a line nobody flushed stays in the cache. Crash: strict (an ADR platform: only fenced lines survive).',
    crash: { mode: 'strict', seed: 0 },
    watch: ['counter'],
    steps: [
      ops('store counter = 42 (cache only: its line turns dirty)', (lab) => [{ op: 'write', type: 'u64', off: lab.field('counter'), value: 42n }]),
      ops('fence: nothing was flushed, so nothing is written', () => [{ op: 'drain' }]),
    ],
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
    teaches: 'persist the data before the pointer that publishes it',
    text: 'Allocate a node, store 0xC0FFEE into it, then store its offset into root.ptr and persist only the pointer. ' +
      'The pointer is durable; the data it points to is not. Crash: strict.',
    crash: { mode: 'strict', seed: 0 },
    watch: ['ptr'],
    steps: [
      allocNode('alloc a 64-byte node (durable on return, zeroed)', true),
      ops('store 0xC0FFEE into the node (not flushed)', (lab, ctx) => [{ op: 'write', type: 'u64', off: ctx.node, value: 0xc0ffeen }]),
      ops('store root.ptr = node and persist the pointer only', (lab, ctx) => [
        { op: 'write', type: 'u64', off: lab.field('ptr'), value: BigInt(ctx.node) }, { op: 'persist', off: lab.field('ptr'), len: 8 }]),
    ],
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
    teaches: 'only an aligned 8-byte store is failure-atomic; a value across two lines can be half-updated',
    text: 'pair is 16 bytes across two cache lines; packed is one aligned u64 holding two u32 halves. Both go from (1, 1) ' +
      'to (2, 2), both are flushed but not fenced. Crash: pending, seed 4 — each pending line survives or not by its own coin.',
    crash: { mode: 'pending', seed: 4 },
    watch: ['pairA', 'pairB', 'packed'],
    steps: [
      initPair,
      pairTo2('pair = (2, 2) with two 8-byte stores, flushed (two pending lines)'),
      ops('packed = (2, 2) with one 8-byte store, flushed', (lab) => [
        { op: 'write', type: 'u64', off: lab.field('packed'), value: (2n << 32n) | 2n },
        { op: 'flush', off: lab.field('packed'), len: 8 },
      ]),
    ],
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
    teaches: 'an undo log makes a multi-line update all or nothing',
    text: 'The same pair update inside a transaction: add-range logs the old 16 bytes (and persists the entry) before the stores. ' +
      'The crash happens before commit. Crash: pending, seed 4 — the same coins that half-updated lesson 3.',
    crash: { mode: 'pending', seed: 4 },
    watch: ['pairA', 'pairB'],
    steps: [
      initPair,
      ops('transaction: begin', () => [{ op: 'txBegin' }]),
      ops('add range pair (16 bytes): the old (1, 1) is logged and persisted', (lab) => [{ op: 'addRange', off: lab.field('pairA'), len: 16 }]),
      pairTo2('pair = (2, 2), flushed — and the crash comes before commit'),
    ],
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
    teaches: 'allocate and publish in one step (alloc into), or a crash leaks the object',
    text: 'alloc(64) without `into` makes the object durable at once; storing its offset into root.ptr afterwards is a separate, ' +
      'not-yet-durable step. Crash: strict, before the pointer store is durable.',
    crash: { mode: 'strict', seed: 0 },
    watch: ['ptr'],
    steps: [
      allocNode('alloc a 64-byte node without `into` (durable now)', false),
      ops('store root.ptr = node (not yet persisted)', (lab, ctx) => [{ op: 'write', type: 'u64', off: lab.field('ptr'), value: BigInt(ctx.node) }]),
    ],
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
    teaches: 'a line can be written back in part: each 8-byte word is whole, the line is not',
    text: 'counter (word 0) and pairA (word 7) share one cache line; both go from 1 to 2 and are never flushed. ' +
      'Crash: tear8, seed 3 — a never-flushed line may survive, keeping only some of its 8-byte words.',
    crash: { mode: 'tear8', seed: 3 },
    watch: ['counter'],
    steps: [
      ops('setup: counter = 1 and pairA = 1, persisted (one line)', (lab) => [
        { op: 'write', type: 'u64', off: lab.field('counter'), value: 1n },
        { op: 'write', type: 'u64', off: lab.field('pairA'), value: 1n },
        { op: 'persist', off: lab.field('counter'), len: 64 },
      ]),
      ops('counter = 2 and pairA = 2: two 8-byte stores into one line, not flushed', (lab) => [
        { op: 'write', type: 'u64', off: lab.field('counter'), value: 2n },
        { op: 'write', type: 'u64', off: lab.field('pairA'), value: 2n },
      ]),
    ],
    async outcome(lab) {
      const c = val(lab, 'counter'), a = val(lab, 'pairA');
      const word = (v: bigint) => (v === 2n ? 'kept' : 'lost');
      return c !== a
        ? { verdict: 'torn', text: `counter = ${c}, pairA = ${a}: the line is torn — word 0 (counter) ${word(c)} its new value, word 7 (pairA) ${word(a)} it; each 8-byte word is whole. Only a log makes the line all or nothing.` }
        : { verdict: 'whole', text: `counter = ${c}, pairA = ${a}: the line survived whole or not at all.` };
    },
  },
  {
    id: 'persistence-domain',
    title: '7. Persistence domains: ADR vs eADR',
    teaches: 'what the persistence domain holds decides what survives; eADR makes flushes unnecessary, fences still order',
    text: 'A power failure keeps what is inside the persistence domain. On an ADR platform that is the memory controller: ' +
      'a store counts once a flush and a fence took its line there (strict). On eADR the CPU caches are inside too: every store ' +
      'that reached the cache survives, so no flush is needed — but a fence is still what orders the data before the pointer. ' +
      'The program: a node gets 0xC0FFEE, a fence, then root.ptr = node, a fence; no flush at all. Crash: eADR, or pick strict (ADR).',
    crash: { mode: 'eadr', seed: 0 },
    alsoModes: ['strict'],
    watch: ['ptr'],
    steps: unflushedPublish,
    async outcome(lab, ctx, mode) {
      const p = Number(val(lab, 'ptr'));
      const data = u64At(lab.insp!.cache, ctx.node);
      if (p === ctx.node && data === 0xc0ffeen) {
        return { verdict: 'both-survived', text: `${mode}: root.ptr = ${hex(p)} and the node holds ${hex(data)} — every store in the cache was in the persistence domain; no flush was needed, and the fence kept the pointer from overtaking the data.` };
      }
      return p === 0 && data === 0n
        ? { verdict: 'both-lost', text: `${mode}: root.ptr = null and the node holds 0x0 — on ADR the cache is outside the persistence domain: without a flush, neither store left it. The fences alone persisted nothing.` }
        : { verdict: 'mixed', text: `${mode}: root.ptr = ${hex(p)}, node = ${hex(data)}.` };
    },
  },
  {
    id: 'flush-kinds',
    title: '8. CLFLUSH vs CLFLUSHOPT vs CLWB',
    teaches: 'flush instructions differ in ordering and in whether the line stays cached; only a fence makes any of them complete',
    text: 'counter = 42 and packed = 7 (two lines), flushed in that order; the crash comes before the fence. CLFLUSH is ordered with ' +
      'other CLFLUSHes and stores — a later line cannot land before an earlier one — and evicts the line (the next read misses). ' +
      'CLFLUSHOPT is not ordered with other flushes: until an SFENCE, they land in any order; it evicts too. CLWB is CLFLUSHOPT that ' +
      'may keep the line cached (the next read hits). pheap flushes like CLWB: the lines are pending until the fence. Crash: pending, seed 1.',
    crash: { mode: 'pending', seed: 1 },
    watch: ['counter', 'packed'],
    steps: [
      ops('store counter = 42 and packed = 7 (two lines, both dirty)', (lab) => [
        { op: 'write', type: 'u64', off: lab.field('counter'), value: 42n },
        { op: 'write', type: 'u64', off: lab.field('packed'), value: 7n },
      ]),
      ops('flush counter\'s line, then packed\'s (CLWB: both pending, no fence yet)', (lab) => [
        { op: 'flush', off: lab.field('counter'), len: 8 },
        { op: 'flush', off: lab.field('packed'), len: 8 },
      ]),
    ],
    async outcome(lab) {
      const c = val(lab, 'counter'), p = val(lab, 'packed');
      if (c === 0n && p === 7n) {
        return { verdict: 'out-of-order', text: `counter = 0, packed = 7: the later flush landed and the earlier one did not — allowed for CLFLUSHOPT and CLWB before a fence, impossible with CLFLUSH. Order needs the SFENCE between them.` };
      }
      return { verdict: c === 42n && p === 7n ? 'both' : c === 42n ? 'in-order' : 'none', text: `counter = ${c}, packed = ${p}: any flush allows this before the fence.` };
    },
  },
  {
    id: 'memory-mode',
    title: '9. Memory mode vs App Direct',
    teaches: 'the same correct program keeps nothing when the memory is not persistent (durability none)',
    text: 'Lesson 1\'s fix: store 42 into the counter, then persist it (flush + fence) — on App Direct (the pool as a file on pmem) it survives any crash. ' +
      'In Memory mode the modules are plain RAM behind a DRAM cache: nothing written to them outlives the power. Here the pool runs ' +
      'at durability none (its own file, memory-mode.pool): a fence reaches nothing durable. Crash: strict (a power failure).',
    crash: { mode: 'strict', seed: 0 },
    watch: ['counter'],
    pool: { name: 'memory-mode.pool', durability: 'none' },
    steps: [
      ops('store counter = 42 (dirty)', (lab) => [{ op: 'write', type: 'u64', off: lab.field('counter'), value: 42n }]),
      ops('persist counter (flush + fence): durable on App Direct — here the fence writes nothing', (lab) => [{ op: 'persist', off: lab.field('counter'), len: 8 }]),
    ],
    async outcome(lab) {
      return { verdict: 'survived', text: `counter = ${val(lab, 'counter')}: the pool survived (this should not happen at durability none).` };
    },
    unrecoverable(err, mode) {
      return { verdict: 'gone', text: `${mode}: recovery found no pool at all (${err.name}): not the counter, not even the header written at creation. ` +
        'Memory mode is volatile: use App Direct for data that must survive. The lab is back on a fresh lab.pool.' };
    },
  },
  {
    id: 'process-crash',
    title: '10. Process crash vs power failure',
    teaches: 'a process crash loses only what never left the process; a power failure loses what was outside the persistence domain',
    text: 'counter = 42 is stored and never flushed; packed = 7 is persisted. A store to mapped pmem is already in the CPU cache, and the cache ' +
      'outlives the process: after a process crash the kernel still writes it back, so nothing stored is lost (modelled by eadr). A power failure ' +
      'on ADR keeps only what a flush and a fence took into the persistence domain (strict). A pool kept in a file goes through more layers — ' +
      'the process, the OS page cache, the device — and its durability level says which layer a drain reaches:',
    table: [
      ['durability', 'a drain reaches', 'process crash', 'power failure'],
      ['none', 'nothing (until a clean close)', 'lost', 'lost'],
      ['os', 'the OS page cache (write)', 'kept', 'lost'],
      ['fsync', 'the device (write + fsync)', 'kept', 'kept'],
      ['pmem, DAX', 'the persistence domain (CLWB + SFENCE; no page cache)', 'kept, even unflushed', 'kept if flushed and fenced'],
    ],
    crash: { mode: 'eadr', seed: 0 },
    alsoModes: ['strict'],
    modeLabels: { eadr: 'process crash — the CPU cache outlives the process (eadr)', strict: 'power failure on ADR — only fenced lines survive (strict)' },
    watch: ['counter', 'packed'],
    steps: [
      ops('store counter = 42 (never flushed)', (lab) => [{ op: 'write', type: 'u64', off: lab.field('counter'), value: 42n }]),
      ops('store packed = 7 and persist it (flush + fence)', (lab) => [
        { op: 'write', type: 'u64', off: lab.field('packed'), value: 7n }, { op: 'persist', off: lab.field('packed'), len: 8 }]),
    ],
    async outcome(lab, ctx, mode) {
      const c = val(lab, 'counter'), p = val(lab, 'packed');
      const what = mode === 'eadr' ? 'process crash' : 'power failure';
      if (c === 42n && p === 7n) return { verdict: 'all-kept', text: `${what}: counter = 42, packed = 7 — the process died, the cache did not: every store survived, flushed or not.` };
      return c === 0n && p === 7n
        ? { verdict: 'persisted-only', text: `${what}: counter = 0, packed = 7 — the power cut took the cache: only the persisted store survived.` }
        : { verdict: 'other', text: `${what}: counter = ${c}, packed = ${p}.` };
    },
  },
  {
    id: 'dax-vs-page-cache',
    title: '12. DAX vs the page cache',
    teaches: 'without DAX a store is durable only once msync wrote its page back; on DAX a flush and a fence of its line suffice',
    text: 'One program, two paths. counter = 42 is stored and persisted; then packed = 7 is stored and the crash comes before its drain. ' +
      'Without DAX a mapped file goes through the page cache: the store dirties a 4 KiB page, the drain is msync of that page, and a power ' +
      'cut before msync loses it — unless the kernel already wrote the page back on its own. On DAX there is no page cache: the drain is ' +
      'CLWB of the line + SFENCE, and MAP_SYNC keeps the file\'s metadata durable so no fsync is needed. This browser runs pheap\'s flush ' +
      'model on an OPFS file — it has neither DAX nor msync — so the two paths share one crash model: strict is the power cut before the ' +
      'msync (or the fence), evict is the kernel writing the dirty page back early (or the CPU evicting the line), seed shown.',
    crash: { mode: 'evict', seed: 3 },
    alsoModes: ['strict'],
    modeLabels: {
      evict: 'the kernel writes the page back early (or the CPU evicts the line) — evict',
      strict: 'a power cut before the msync (or the fence) — strict',
    },
    layers: pageCacheLayers,
    watch: ['counter', 'packed'],
    steps: [
      ops('store counter = 42 and persist it: msync of its page (page cache) / CLWB + SFENCE of its line (DAX)', (lab) => [
        { op: 'write', type: 'u64', off: lab.field('counter'), value: 42n }, { op: 'persist', off: lab.field('counter'), len: 8 }]),
      ops('store packed = 7: its page is dirty in the page cache (its line is dirty in the CPU cache on DAX) — no drain yet', (lab) => [
        { op: 'write', type: 'u64', off: lab.field('packed'), value: 7n }]),
    ],
    async outcome(lab, ctx, mode) {
      const c = val(lab, 'counter'), p = val(lab, 'packed');
      if (c === 42n && p === 7n) {
        return { verdict: 'written-back-early', text: `${mode}: counter = 42, packed = 7 — the kernel wrote the dirty page back before the power cut ` +
          '(on DAX: the CPU evicted the line). Luck, not durability: nothing promised it.' };
      }
      return c === 42n && p === 0n
        ? { verdict: 'lost-before-msync', text: `${mode}: counter = 42, packed = 0 — the power cut came before the msync (on DAX: before CLWB + SFENCE): ` +
          'the dirty page never reached the device. Only the persisted counter survived.' }
        : { verdict: 'other', text: `${mode}: counter = ${c}, packed = ${p}.` };
    },
  },
];

/** A lesson's table: the first row is the header. */
function smallTable(rows: string[][]): HTMLTableElement {
  const [head, ...body] = rows;
  return el('table', { class: 'lesson-table' },
    el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { text: h })))),
    el('tbody', {}, ...body.map((r) => el('tr', {}, ...r.map((c) => el('td', { text: c }))))));
}

/** The lesson that drives the lab now, on which pool (Lab.generation): another lesson's button, or a reset, restarts the program. */
let active: { id: string; done: number; generation: number } | null = null;

/** A fresh lab pool with `l`'s watched lines in the inspector, and its first `n` steps replayed. */
async function replay(lab: Lab, l: Lesson, ctx: Ctx, n: number, pause: number): Promise<void> {
  await lab.reset(l.pool);
  lab.focus = [...new Set(l.watch.map((f) => lab.field(f) >> 6))];
  lab.render();
  active = { id: l.id, done: 0, generation: lab.generation };
  for (let k = 0; k < n; k++) {
    await sleep(pause);
    await l.steps[k].run(lab, ctx);
    active.done = k + 1;
  }
}

/** Steps of `l` already run on the lab, or -1 when the lab is not in the middle of `l` (another lesson, a crash, a manual reset). */
const doneOf = (lab: Lab, l: Lesson): number =>
  (active?.id === l.id && active.generation === lab.generation && lab.view.kind === 'live' ? active.done : -1);

const PAUSE = 200;

export function mountLessons(lab: Lab, activity: (m: string, k?: 'ok' | 'err' | 'info') => void): void {
  const list = $('#scenario-list');
  let busy = false;
  const cards: (() => void)[] = [];
  for (const l of LESSONS) {
    const button = (attr: string, text: string, cls = '') => el('button', { class: cls, [attr]: l.id, text });
    const back = button('data-back', '◀ Back'), next = button('data-next', 'Next ▶');
    const run = button('data-run', 'Run to crash', 'primary'), recover = button('data-recover', 'Run recovery');
    recover.disabled = true;
    const seedIn = el('input', { 'data-seed': l.id, value: String(l.crash.seed), size: '4', spellcheck: 'false', 'aria-label': `crash seed for ${l.title}` });
    const modeSel = el('select', { 'data-mode': l.id, 'aria-label': `crash mode for ${l.title}` });
    for (const m of [l.crash.mode, ...(l.alsoModes ?? [])]) modeSel.append(el('option', { value: m, text: l.modeLabels?.[m] ?? CRASH_MODE_LABELS[m] }));
    const extra = [
      ...(l.alsoModes ? [el('label', { class: 'inline grow' }, 'mode ', modeSel)] : []),
      ...(isRandomMode(l.crash.mode) ? [el('label', { class: 'inline' }, 'seed ', seedIn)] : []),
    ];
    const stepLine = el('p', { class: 'step small', 'data-step': l.id });
    const out = el('p', { class: 'outcome', 'data-outcome': l.id });
    const point = el('p', { class: 'point small', 'data-point': l.id, text: `The point: ${l.teaches}.` });
    point.hidden = true;
    const layers = el('div', { 'data-layers': l.id });
    list.append(el('article', { class: 'scenario', id: `sc-${l.id}` },
      el('h3', { text: l.title }), el('p', { text: l.text }), ...(l.table ? [smallTable(l.table)] : []), ...(l.layers ? [layers] : []),
      el('div', { class: 'row buttons' }, back, next, run, recover, ...extra), stepLine, out, point));
    const ctx: Ctx = {};
    const mode = () => modeSel.value as CrashMode;
    /** The step line and the buttons, from where the lab is in this lesson. */
    const sync = () => {
      if (l.layers && lab.insp) layers.replaceChildren(smallTable(l.layers(lab)));
      const done = doneOf(lab, l);
      stepLine.dataset.done = String(Math.max(done, 0));
      stepLine.textContent = done <= 0 ? `${l.steps.length} steps · crash: ${crashLabel(mode(), seedIn.value)}`
        : `step ${done}/${l.steps.length}: ${l.steps[done - 1].text}`;
      back.disabled = busy || done <= 0;
      next.disabled = busy || done >= l.steps.length;
    };
    cards.push(sync);
    /** Run `fn` as this lesson's one action at a time; errors land in the outcome line. */
    const guard = async (fn: () => Promise<void>) => {
      if (busy) return;
      busy = true;
      list.dataset.busy = 'true';
      cards.forEach((c) => c());
      try {
        await fn();
      } catch (e) {
        out.textContent = `error: ${(e as Error).message}`;
        out.dataset.phase = 'error';
      } finally {
        busy = false;
        list.dataset.busy = 'false';
        cards.forEach((c) => c());
      }
    };
    const clearOutcome = () => { out.textContent = ''; delete out.dataset.verdict; delete out.dataset.phase; recover.disabled = true; point.hidden = true; };
    next.addEventListener('click', () => guard(async () => {
      const done = doneOf(lab, l);
      if (done < 0) { clearOutcome(); activity(`lesson: ${l.title}`, 'info'); await replay(lab, l, ctx, 0, 0); }
      const k = Math.max(done, 0);
      await l.steps[k].run(lab, ctx);
      active!.done = k + 1;
    }));
    back.addEventListener('click', () => guard(async () => {
      const done = doneOf(lab, l);
      await replay(lab, l, ctx, Math.max(done - 1, 0), 0);
      activity(`lesson ${l.title}: back to step ${active!.done}`, 'info');
    }));
    run.addEventListener('click', () => guard(async () => {
      clearOutcome();
      out.textContent = 'running…';
      out.dataset.phase = 'running';
      const m = mode();
      const seed = isRandomMode(m) ? parseIntStrict(seedIn.value, 'a seed') : l.crash.seed;
      let done = doneOf(lab, l);
      if (done < 0) { activity(`lesson: ${l.title}`, 'info'); await replay(lab, l, ctx, 0, PAUSE); done = 0; }
      for (let k = done; k < l.steps.length; k++) {
        await sleep(PAUSE);
        await l.steps[k].run(lab, ctx);
        active!.done = k + 1;
      }
      const c = await lab.crash(m, seed);
      out.textContent = `Crashed (${crashLabel(m, seed)}): ` +
        `${c.survived.size} changed line(s) survived (green), ${c.lost.size} lost (red), ${c.torn.size} torn (magenta)${lab.tornText()}. Now run recovery.`;
      out.dataset.phase = 'crashed';
      recover.disabled = false;
    }));
    recover.addEventListener('click', () => guard(async () => {
      recover.disabled = true;
      const crashed = lab.view.kind === 'crash' ? lab.view.crash.mode : mode();
      let o: Outcome;
      try {
        await lab.recover();
        o = await l.outcome(lab, ctx, crashed);
      } catch (e) {
        if (!l.unrecoverable) throw e;
        o = l.unrecoverable(e as Error, crashed);
        await lab.reset();
      }
      out.textContent = o.text;
      out.dataset.verdict = o.verdict;
      out.dataset.phase = 'recovered';
      point.hidden = false;
      activity(`outcome: ${o.text}`, 'ok');
    }));
    modeSel.addEventListener('change', sync);
    seedIn.addEventListener('input', sync);
  }
  // Any change of the lab (a step, a manual action, a crash elsewhere) moves the step lines; recovery from the lab's own button ends a crashed lesson.
  lab.changed(() => {
    if (lab.view.kind !== 'crash') for (const b of list.querySelectorAll<HTMLButtonElement>('[data-recover]')) b.disabled = true;
    if (!busy) cards.forEach((c) => c());
  });
  list.dataset.busy = 'false';
  cards.forEach((c) => c());
}
