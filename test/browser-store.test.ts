// browser-store.test.ts — the Store in Chromium (`open` from pheap/browser):
// the same Store as in Node, in the pool worker on an OPFS file, every call
// async; a Store file made in Node opens in the browser and goes back.
//
// Uses the playground's page (test/helpers/playground.ts), whose
// window.pheap exposes openStore and PoolClient. A missing browser fails
// these tests, never skips them.

import { describe, it, expect } from 'vitest';
import type { Page } from 'playwright-core';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open } from '../src/index.js';
import { openPlayground, usePlayground } from './helpers/playground.js';

let base = '';
let page: Page;
let tmp = '';
let pageErrors: string[] = [];

usePlayground('pheap-browser-store-', {
  ready: (session) => { ({ base, page, tmp, pageErrors } = session); },
});

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
