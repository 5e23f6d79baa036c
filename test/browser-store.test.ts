// browser-store.test.ts — the Store in Chromium (`open` from pheap/browser):
// the same Store as in Node, in the pool worker on an OPFS file, every call
// async; a Store file made in Node opens in the browser and goes back. The
// calls of one page turn go as one message: generated turns (seeded) are
// checked against the Store's rules applied in call order — each outcome,
// the settling order, the message count, and what a reopened file holds.
//
// Uses the playground's page (test/helpers/playground.ts), whose
// window.pheap exposes openStore and PoolClient. A missing browser fails
// these tests, never skips them.

import { describe, it, expect } from 'vitest';
import type { Page } from 'playwright-core';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open } from '../src/index.js';
import { Prng } from '../src/prng.js';
import { openPlayground, usePlayground } from './helpers/playground.js';

let base = '';
let page: Page;
let tmp = '';
let pageErrors: string[] = [];

usePlayground('pheap-browser-store-', {
  ready: (session) => { ({ base, page, tmp, pageErrors } = session); },
});

const ALL = '**/*';

/** Serve the playground to `page` with COOP/COEP headers (until page.unroute(ALL)), so it is crossOriginIsolated: SharedArrayBuffer exists. */
/**
 * Count the messages the page's Store sends from now on (each is one
 * PoolClient.prototype.storeCalls): `window.storeMessages()` reads the count.
 * Call it after the page is (re)loaded, before the calls to count.
 */
async function countStoreMessages(p: Page): Promise<void> {
  await p.evaluate(() => {
    const w = window as any;
    const proto = w.pheap.PoolClient.prototype;
    const send = proto.storeCalls;
    let n = 0;
    proto.storeCalls = function (this: unknown, calls: unknown[]) { n++; return send.call(this, calls); };
    w.storeMessages = () => n;
  });
}

async function isolate(p: Page): Promise<void> {
  await p.route(ALL, async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } });
  });
  expect(await openPlayground(p, base)).toBe('true');
}

describe('the Store in Chromium', () => {
  it('put (gathered into one commit), get, ranges, counts, removes, batches, named databases; everything is there after the file is opened again', async () => {
    expect(await openPlayground(page, base)).toBe('true');
    const r = await page.evaluate(async () => {
      const { openStore } = (window as any).pheap;
      const name = `store-${Date.now()}.pool`;
      const db = await openStore(name);
      const puts = await Promise.all(Array.from({ length: 50 }, (_, i) => db.put(`k${String(i).padStart(3, '0')}`, { i, tags: ['a', i % 3] })));
      const out: Record<string, unknown> = { puts: puts.every((p: boolean) => p === true) };
      out.get = await db.get('k007');
      out.missing = await db.get('nope');
      out.exists = [await db.doesExist('k010'), await db.doesExist('nope')];
      out.range = (await db.getRange({ start: 'k010', end: 'k014' })).map((e: any) => [e.key, e.value.i]);
      out.reverse = (await db.getRange({ start: 'k049', reverse: true, limit: 2 })).map((e: any) => e.key);
      out.count = await db.getCount();
      out.removed = [await db.remove('k000'), await db.removeSync('k001'), await db.remove('nope')];
      out.batch = await db.batch([{ put: ['b1', 1] }, { put: ['b2', 2] }, { remove: ['k002'] }]);
      const users = db.openDB('users', { encoding: 'string' });
      await users.putSync(['ada', 1815], 'Lovelace');
      out.user = await users.get(['ada', 1815]);
      out.keys = await users.getKeys();
      const nameOf = (p: Promise<unknown>) => p.then(() => 'no error', (e: Error) => e.name);
      out.badKeys = [await nameOf(db.put({ an: 'object' }, 2)), await nameOf(db.put(() => 1, 2)), await nameOf(db.get('x'.repeat(3000)))];
      await db.close();
      const again = await openStore(name);
      out.reopened = [await again.getCount(), (await again.get('b2')), await again.openDB('users', { encoding: 'string' }).get(['ada', 1815])];
      await again.close();
      return out;
    });
    expect(r.puts).toBe(true);
    expect(r.get).toEqual({ i: 7, tags: ['a', 1] });
    expect(r.missing).toBeUndefined();
    expect(r.exists).toEqual([true, false]);
    expect(r.range).toEqual([['k010', 10], ['k011', 11], ['k012', 12], ['k013', 13]]);
    expect(r.reverse).toEqual(['k049', 'k048']);
    expect(r.count).toBe(50);
    expect(r.removed, 'remove of a missing key resolves true, as in lmdb-js').toEqual([true, true, true]);
    expect(r.batch).toBe(true);
    expect(r.user).toBe('Lovelace');
    expect(r.keys).toEqual([['ada', 1815]]);
    expect(r.badKeys, 'an object key, a function key (cannot be sent), a key too long').toEqual(['KeyError', 'InvalidArgumentError', 'KeyError']);
    expect(r.reopened).toEqual([49, 2, 'Lovelace']);
    expect(pageErrors).toEqual([]);
  });

  it('a Store file made in Node opens in the browser and back: byte-identical through import/export, each side reads the other\'s writes', async () => {
    expect(await openPlayground(page, base)).toBe('true');
    const file = path.join(tmp, 'node-made.pool');
    const db = open({ path: file, backend: 'file' });
    for (let i = 0; i < 100; i++) db.putSync(`node:${i}`, { from: 'node', i });
    db.openDB('meta', { encoding: 'string' }).putSync('made', 'in node');
    db.close();
    const made = fs.readFileSync(file);
    const r = await page.evaluate(async (b64: string) => {
      const { openStore, PoolClient } = (window as any).pheap;
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const name = `from-node-${Date.now()}.pool`;
      await PoolClient.importFile(name, bytes);
      const same = Array.from(await PoolClient.exportFile(name)).every((x, i) => x === bytes[i]);
      const s = await openStore(name);
      const read = [await s.get('node:42'), await s.getCount(), await s.openDB('meta', { encoding: 'string' }).get('made')];
      await s.put('browser:1', { from: 'browser' });
      await s.close();
      const back = await PoolClient.exportFile(name);
      let bin = '';
      for (let i = 0; i < back.length; i += 0x8000) bin += String.fromCharCode(...back.subarray(i, i + 0x8000));
      return { same, read, back: btoa(bin) };
    }, made.toString('base64'));
    expect(r.same, 'import then export: the same bytes').toBe(true);
    expect(r.read).toEqual([{ from: 'node', i: 42 }, 100, 'in node']);
    const back = path.join(tmp, 'back.pool');
    fs.writeFileSync(back, Buffer.from(r.back, 'base64'));
    const again = open({ path: back, backend: 'file' });
    expect(again.get('browser:1')).toEqual({ from: 'browser' });
    expect(again.get('node:99')).toEqual({ from: 'node', i: 99 });
    expect(again.getCount()).toBe(101);
    again.close();
  });
});

/** One call of a generated page turn: the key is an index into KEYS; 'bad' puts an object key, 'unsendable' a function value. */
type TurnOp = { op: 'put'; k: number; v: number } | { op: 'get' | 'remove'; k: number } | { op: 'count' } | { op: 'bad' | 'unsendable'; v: number };

const TURN_KEYS = ['a', 'b', 'c', 'd', 'e', 'f'];
const TURN_SEED = Number(process.env.PHEAP_BROWSER_TURN_SEED ?? 20261202);

/** `n` calls drawn from `rng`: mostly puts, gets and removes over a few keys, now and then a refused call. */
function turnOps(rng: Prng, n: number): TurnOp[] {
  return Array.from({ length: n }, (_, i): TurnOp => {
    const r = rng.below(100);
    const k = rng.below(TURN_KEYS.length);
    if (r < 40) return { op: 'put', k, v: i };
    if (r < 70) return { op: 'get', k };
    if (r < 85) return { op: 'remove', k };
    if (r < 90) return { op: 'count' };
    return { op: rng.coin() ? 'bad' : 'unsendable', v: i };
  });
}

/** What each call must come to, and the entries after the turn: the Store's rules applied in call order to `state`. */
function expectedTurn(ops: TurnOp[], state: Map<string, number>): unknown[] {
  return ops.map((o) => {
    switch (o.op) {
      case 'put': state.set(TURN_KEYS[o.k], o.v); return ['ok', true];
      case 'get': return ['ok', state.get(TURN_KEYS[o.k]) ?? null];
      case 'remove': state.delete(TURN_KEYS[o.k]); return ['ok', true];
      case 'count': return ['ok', state.size];
      case 'bad': return ['err', 'KeyError'];
      case 'unsendable': return ['err', 'InvalidArgumentError'];
    }
  });
}

describe('the browser Store batches the calls of one page turn (the message path every page has)', () => {
  it('a generated turn is one message; calls run and settle in call order; a refused call rejects alone; the others are durable', async () => {
    expect(await openPlayground(page, base)).toBe('true');
    console.log(`reproduce: PHEAP_BROWSER_TURN_SEED=${TURN_SEED} npx vitest run test/browser-store.test.ts -t "generated turn"`);
    const rng = new Prng(TURN_SEED);
    const turns = [turnOps(rng, 80), turnOps(rng, 80), turnOps(rng, 80)];
    for (const kind of ['put', 'get', 'remove', 'count', 'bad', 'unsendable']) expect(turns.flat().some((o) => o.op === kind), `the turns hold a '${kind}'`).toBe(true);
    await countStoreMessages(page);
    const r = await page.evaluate(async ({ turns, keys }) => {
      const { openStore } = (window as any).pheap;
      const messages = (): number => (window as any).storeMessages();
      const name = `turns-${Date.now()}.pool`;
      let db = await openStore(name);
      const out: { outcomes: unknown[][]; order: number[][]; messages: number[]; entries: unknown[] } = { outcomes: [], order: [], messages: [], entries: [] };
      for (const ops of turns) {
        const order: number[] = [];
        const before = messages();
        const calls = ops.map((o: any, i: number) => {
          const p: Promise<unknown> = o.op === 'put' ? db.put(keys[o.k], o.v)
            : o.op === 'get' ? db.get(keys[o.k])
              : o.op === 'remove' ? db.remove(keys[o.k])
                : o.op === 'count' ? db.getCount()
                  : o.op === 'bad' ? db.put({ an: 'object' }, o.v)
                    : db.put('fn', () => o.v);
          return p.then((v) => { order.push(i); return ['ok', v ?? null]; }, (e: Error) => { order.push(i); return ['err', e.name]; });
        });
        out.outcomes.push(await Promise.all(calls));
        out.order.push(order);
        out.messages.push(messages() - before);
      }
      await db.close();
      db = await openStore(name);
      out.entries = (await db.getRange()).map((e: any) => [e.key, e.value]);
      await db.close();
      return out;
    }, { turns, keys: TURN_KEYS });
    const state = new Map<string, number>();
    turns.forEach((ops, t) => {
      expect(r.outcomes[t], `turn ${t}: each call's outcome`).toEqual(expectedTurn(ops, state));
      expect(r.order[t], `turn ${t}: settled in call order`).toEqual(ops.map((_, i) => i));
      const unsendable = ops.some((o) => o.op === 'unsendable');
      expect(r.messages[t], `turn ${t}: one message (plus the resend without the calls a message cannot carry)`).toBe(unsendable ? 2 : 1);
    });
    expect(r.entries, 'after reopening: every accepted write of every turn').toEqual([...state].sort(([a], [b]) => (a < b ? -1 : 1)));
    expect(pageErrors).toEqual([]);
  });

  it('awaited calls are one message each, and a turn after them sees their writes', async () => {
    expect(await openPlayground(page, base)).toBe('true');
    await countStoreMessages(page);
    const r = await page.evaluate(async () => {
      const { openStore } = (window as any).pheap;
      const messages = (): number => (window as any).storeMessages();
      const db = await openStore(`awaited-${Date.now()}.pool`, { durability: 'os' });
      for (let i = 0; i < 5; i++) await db.put(`k${i}`, i);
      const awaited = messages();
      const got = await Promise.all([0, 1, 2, 3, 4].map((i) => db.get(`k${i}`)));
      const turn = messages() - awaited;
      const fresh = await Promise.all([db.put('x', 1), db.openDB('fresh').put('y', 2), db.openDB('fresh').get('y')]);
      const out = { awaited, turn, got, syncReads: db.syncReads, fresh };
      await db.close();
      return out;
    });
    expect(r, "a database's first call after a put of the same turn (its Store is attached outside the open batch)").toEqual({ awaited: 5, turn: 1, got: [0, 1, 2, 3, 4], syncReads: false, fresh: [true, true, 2] });
  });
});

describe('the browser Store in a crossOriginIsolated page', () => {
  it('a get alone in its turn reads through shared memory (no message); anything it cannot answer, and any get behind a message, goes as a message, in order', async () => {
    await isolate(page);
    try {
      await countStoreMessages(page);
      const r = await page.evaluate(async () => {
        const { openStore } = (window as any).pheap;
        const messages = (): number => (window as any).storeMessages();
        const db = await openStore(`iso-${Date.now()}.pool`);
        const users = db.openDB('users', { encoding: 'string' });
        const big = 'x'.repeat(70_000);
        await Promise.all([...Array.from({ length: 40 }, (_, i) => db.put(`k${i}`, { i })), db.put('big', big), users.put(['ada', 1815], 'Lovelace')]);
        const at = messages();
        const got: unknown[] = [];
        for (let i = 0; i < 40; i++) got.push(await db.get(`k${i}`));
        const sync = { got, missing: await db.get('nope'), user: await users.get(['ada', 1815]), messages: messages() - at };
        const nameOf = (p: Promise<unknown>) => p.then(() => 'no error', (e: Error) => e.name);
        const before = messages();
        const declined = {
          big: (await db.get('big')) === big,
          badKey: await nameOf(db.get({ an: 'object' })),
          newDb: await db.openDB('never-used').get('k1'),
        };
        const declinedMessages = messages() - before;
        void db.put('behind', 'a message');
        await Promise.resolve();
        const behind = await db.get('behind');
        await db.close();
        return { syncReads: db.syncReads, isolated: crossOriginIsolated, sync, declined, declinedMessages, behind };
      });
      expect(r.isolated).toBe(true);
      expect(r.syncReads).toBe(true);
      expect(r.sync).toEqual({ got: Array.from({ length: 40 }, (_, i) => ({ i })), missing: undefined, user: 'Lovelace', messages: 0 });
      expect(r.declined, 'a value larger than the channel, a key the codec refuses, a database not used yet').toEqual({ big: true, badKey: 'KeyError', newDb: undefined });
      expect(r.declinedMessages, 'each declined get went as one message').toBe(3);
      expect(r.behind, 'a get after a write still in flight waits behind it').toBe('a message');
    } finally {
      await page.unroute(ALL);
    }
  });
});
