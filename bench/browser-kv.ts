// browser-kv.ts — the page side of `npm run bench:browser`'s key-value
// section: the browser Store (`open` from pheap/browser) and IndexedDB
// (through `idb`) doing the same work in the same page.
//
// bench/browser.ts bundles this file (esbuild, in memory) and adds it to the
// playground page, whose window.pheap.openStore is the browser Store's
// open(); this module publishes window.kvBench. One call of storeRun or
// idbRun is one run of one configuration, on a fresh file or database
// (removed afterwards): puts of n keys one at a time (each awaited), puts of
// n other keys 1000 in flight, then gets of the first n keys in a seeded
// random order, one at a time and 1000 in flight. Keys are 16-byte strings,
// values 100-byte strings. IndexedDB: one transaction per awaited put or get,
// one transaction per 1000 in flight. Invariant: every get returns the value
// put (a run that reads anything else throws: its figures would be wrong).

import { deleteDB, openDB, type IDBPDatabase } from 'idb';
import type { open as openStore } from '../src/browser/store.js';
import { Prng } from '../src/prng.js';

/** Milliseconds of each phase of one run (n operations each). */
export interface KvTimes { putAwaited: number; putInFlight: number; getAwaited: number; getInFlight: number }

/** The work of one run, the same for both sides. */
interface Work { keys: string[]; extra: string[]; order: string[]; value: string }

/** The operations a side offers, each resolving when done (a put: once durable at its level). */
interface Side { put(key: string, value: string): Promise<unknown>; putMany(keys: string[], value: string): Promise<unknown>; get(key: string): Promise<unknown>; getMany(keys: string[]): Promise<unknown[]> }

const IN_FLIGHT = 1000;
const STORE_NAME = 'kv';

/** 16-byte keys `k<prefix><13 digits>`, n of them. */
function makeKeys(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `k${prefix}${String(i).padStart(14, '0')}`);
}

function makeWork(n: number, seed: number): Work {
  const keys = makeKeys('a', n);
  const order = [...keys];
  const rng = new Prng(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return { keys, extra: makeKeys('b', n), order, value: 'v'.repeat(100) };
}

function checkValues(got: unknown[], value: string): void {
  const bad = got.findIndex((v) => v !== value);
  if (bad >= 0) throw new Error(`get #${bad} returned ${String(got[bad]).slice(0, 40)}, not the value put`);
}

/** Time the four phases of `work` on `side`. */
async function timePhases(side: Side, work: Work): Promise<KvTimes> {
  let t0 = performance.now();
  for (const k of work.keys) await side.put(k, work.value);
  const putAwaited = performance.now() - t0;
  t0 = performance.now();
  for (let i = 0; i < work.extra.length; i += IN_FLIGHT) await side.putMany(work.extra.slice(i, i + IN_FLIGHT), work.value);
  const putInFlight = performance.now() - t0;
  const got: unknown[] = [];
  t0 = performance.now();
  for (const k of work.order) got.push(await side.get(k));
  const getAwaited = performance.now() - t0;
  checkValues(got, work.value);
  const many: unknown[] = [];
  t0 = performance.now();
  for (let i = 0; i < work.order.length; i += IN_FLIGHT) many.push(...(await side.getMany(work.order.slice(i, i + IN_FLIGHT))));
  const getInFlight = performance.now() - t0;
  checkValues(many, work.value);
  return { putAwaited, putInFlight, getAwaited, getInFlight };
}

/** One run of the browser Store at `durability` ('os' or 'fsync') on a fresh OPFS file. */
async function storeRun(durability: 'os' | 'fsync', n: number, seed: number): Promise<KvTimes> {
  const pheap = (window as unknown as { pheap: { openStore: typeof openStore; PoolClient: { remove(name: string): Promise<void> } } }).pheap;
  const name = `bench-kv-${durability}.pool`;
  await pheap.PoolClient.remove(name);
  const db = await pheap.openStore<string, string>(name, { durability });
  try {
    return await timePhases({
      put: (k, v) => db.put(k, v),
      putMany: (ks, v) => Promise.all(ks.map((k) => db.put(k, v))),
      get: (k) => db.get(k),
      getMany: (ks) => Promise.all(ks.map((k) => db.get(k))),
    }, makeWork(n, seed));
  } finally {
    await db.close();
    await pheap.PoolClient.remove(name);
  }
}

/** One run of IndexedDB with transaction durability `durability` on a fresh database. */
async function idbRun(durability: 'relaxed' | 'strict', n: number, seed: number): Promise<KvTimes> {
  const name = `bench-kv-${durability}`;
  await deleteDB(name);
  const db: IDBPDatabase = await openDB(name, 1, { upgrade: (d) => { d.createObjectStore(STORE_NAME); } });
  const opts = { durability };
  try {
    return await timePhases({
      put: async (k, v) => {
        const tx = db.transaction(STORE_NAME, 'readwrite', opts);
        await Promise.all([tx.store.put(v, k), tx.done]);
      },
      putMany: async (ks, v) => {
        const tx = db.transaction(STORE_NAME, 'readwrite', opts);
        await Promise.all([...ks.map((k) => tx.store.put(v, k)), tx.done]);
      },
      get: (k) => db.get(STORE_NAME, k),
      getMany: async (ks) => {
        const tx = db.transaction(STORE_NAME, 'readonly');
        const out = await Promise.all(ks.map((k) => tx.store.get(k)));
        await tx.done;
        return out;
      },
    }, makeWork(n, seed));
  } finally {
    db.close();
    await deleteDB(name);
  }
}

/** The durability a readwrite transaction reports when asked for 'strict' ('' when this browser ignores the hint). */
async function idbDurabilityHint(): Promise<string> {
  const name = 'bench-kv-hint';
  const db = await openDB(name, 1, { upgrade: (d) => { d.createObjectStore(STORE_NAME); } });
  const tx = db.transaction(STORE_NAME, 'readwrite', { durability: 'strict' });
  const said = (tx as unknown as { durability?: string }).durability ?? '';
  await tx.done;
  db.close();
  await deleteDB(name);
  return said;
}

(window as unknown as { kvBench: unknown }).kvBench = { storeRun, idbRun, idbDurabilityHint };
