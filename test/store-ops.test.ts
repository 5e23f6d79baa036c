// store-ops.test.ts — the worker's side of the browser Store (src/browser/store-ops.ts)
// run in Node on a memory pool: one message's calls, as a page could send them.
//
// A page is not trusted: a message may hold anything structured clone can
// carry. Generated messages mix valid writes and reads of two databases
// with calls no sane page sends (a database that is not options, unknown
// options, an unknown or non-string method, arguments of the wrong shape,
// keys the Store refuses); the property: each refused call fails alone with
// a typed error, every valid call gets the answer a model predicts (writes
// commit together), and the pool's check passes after every message.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Pool, STORE_LAYOUT } from '../src/index.js';
import { runStoreCalls, type StoreCache } from '../src/browser/store-ops.js';
import type { StoreCall } from '../src/browser/protocol.js';
import * as errors from '../src/errors.js';

/** Names of the typed errors a refused call may carry. */
const TYPED = new Set(Object.values(errors).filter((e) => typeof e === 'function' && (e === errors.PheapError || e.prototype instanceof errors.PheapError)).map((e) => (e as { name: string }).name));

const DBS = [{}, { name: 'other', encoding: 'string' }] as const;

/** A valid call and what the model says it answers (applying its write to the model). */
interface Valid { kind: 'valid'; call: StoreCall; expect: (model: Array<Map<string, unknown>>) => unknown }
/** A call the worker must refuse. */
interface Bad { kind: 'bad'; call: unknown }

const key = fc.stringMatching(/^[a-d]{1,3}$/);
const dbIndex = fc.integer({ min: 0, max: 1 });
const valueFor = (db: number) => (db === 0 ? fc.oneof(fc.integer(), fc.string(), fc.record({ a: fc.integer(), b: fc.string() })) : fc.string());

const valid: fc.Arbitrary<Valid> = dbIndex.chain((d) => fc.oneof(
  fc.tuple(key, valueFor(d)).map(([k, v]): Valid => ({ kind: 'valid', call: { db: { ...DBS[d] }, method: 'put', args: [k, v] }, expect: (m) => { m[d].set(k, v); return true; } })),
  fc.tuple(key, valueFor(d)).map(([k, v]): Valid => ({ kind: 'valid', call: { db: { ...DBS[d] }, method: 'putSync', args: [k, v] }, expect: (m) => { m[d].set(k, v); return true; } })),
  key.map((k): Valid => ({ kind: 'valid', call: { db: { ...DBS[d] }, method: 'remove', args: [k] }, expect: (m) => { m[d].delete(k); return true; } })),
  key.map((k): Valid => ({ kind: 'valid', call: { db: { ...DBS[d] }, method: 'removeSync', args: [k] }, expect: (m) => m[d].delete(k) })),
  key.map((k): Valid => ({ kind: 'valid', call: { db: { ...DBS[d] }, method: 'get', args: [k] }, expect: (m) => m[d].get(k) })),
  key.map((k): Valid => ({ kind: 'valid', call: { db: { ...DBS[d] }, method: 'doesExist', args: [k] }, expect: (m) => m[d].has(k) })),
  fc.constant<Valid>({ kind: 'valid', call: { db: { ...DBS[d] }, method: 'getCount', args: [] }, expect: (m) => m[d].size }),
));

const notOptions = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant([]), fc.array(fc.string(), { minLength: 1 }));
const badOptions = fc.oneof(
  fc.record({ bogus: fc.anything() }),
  fc.record({ name: fc.oneof(fc.integer(), fc.constant(''), fc.boolean()) }),
  fc.record({ encoding: fc.string().filter((e) => !['msgpack', 'string', 'binary', 'json', 'ordered-binary'].includes(e)) }),
  fc.record({ keyEncoding: fc.string().filter((e) => e !== 'ordered-binary' && e !== 'binary') }),
  fc.record({ compression: fc.constant(true) }),
);
const METHODS = ['get', 'getBinary', 'doesExist', 'getCount', 'getRange', 'getKeys', 'putSync', 'removeSync', 'put', 'remove', 'batch'];
const badKey = fc.oneof(fc.constant(undefined), fc.constant(Symbol.for('k')), fc.constant(-0), fc.record({ x: fc.integer() }), fc.constant('k'.repeat(1100)), fc.constant([null, 'a']));

const bad: fc.Arbitrary<Bad> = fc.oneof(
  // a database that is not options, or options the Store refuses, for any method
  fc.tuple(fc.oneof(notOptions, badOptions), fc.constantFrom(...METHODS), key).map(([db, method, k]): Bad => ({ kind: 'bad', call: { db, method, args: [k, 1] } })),
  // a method the worker does not run
  fc.tuple(fc.oneof(fc.string().filter((m) => !METHODS.includes(m)), fc.integer(), fc.constant(null), fc.constant('constructor'), fc.constant('close')), key)
    .map(([method, k]): Bad => ({ kind: 'bad', call: { db: {}, method, args: [k] } })),
  // a key the Store refuses, for a method that takes one
  fc.tuple(fc.constantFrom('get', 'put', 'putSync', 'remove', 'removeSync', 'doesExist'), badKey).map(([method, k]): Bad => ({ kind: 'bad', call: { db: {}, method, args: [k, 1] } })),
  // a batch that is not a list of writes
  fc.oneof(fc.constant('nope'), fc.constant([{ neither: 1 }]), fc.constant([{ put: ['a', 1] }, { put: [{ x: 1 }, 1] }])).map((w): Bad => ({ kind: 'bad', call: { db: {}, method: 'batch', args: [w] } })),
);

describe('store-ops: a message of valid and refused calls', () => {
  it('refuses each bad call alone with a typed error and answers every valid one as the model says', async () => {
    let refused = 0, answered = 0;
    await fc.assert(fc.asyncProperty(fc.array(fc.array(fc.oneof({ arbitrary: valid, weight: 3 }, { arbitrary: bad, weight: 1 }), { maxLength: 12 }), { minLength: 1, maxLength: 6 }), async (messages) => {
      const pool = Pool.create({ layout: STORE_LAYOUT });
      const cache: StoreCache = new Map();
      const model = DBS.map(() => new Map<string, unknown>());
      // open both databases first (a database's first use writes its map)
      await runStoreCalls(pool, cache, DBS.map((db) => ({ db: { ...db }, method: 'getCount', args: [] })) as StoreCall[]);
      try {
        for (const message of messages) {
          const out = await runStoreCalls(pool, cache, message.map((m) => m.call) as StoreCall[]);
          expect(out).toHaveLength(message.length);
          message.forEach((m, i) => {
            const o = out[i];
            if (m.kind === 'bad') {
              expect(o.ok, `refused: ${JSON.stringify(m.call)?.slice(0, 200)}`).toBe(false);
              if (!o.ok) expect(TYPED.has(o.error.name), `typed error, not ${o.error.name}: ${o.error.message}`).toBe(true);
              refused++;
            } else {
              expect(o, JSON.stringify(m.call)).toEqual({ ok: true, value: m.expect(model) });
              answered++;
            }
          });
          for (const [d, db] of DBS.entries()) {
            const [count] = await runStoreCalls(pool, cache, [{ db: { ...db }, method: 'getRange', args: [{}] }] as StoreCall[]);
            expect(count).toEqual({ ok: true, value: [...model[d]].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => ({ key, value })) });
          }
          pool.check(); // throws CorruptHeapError on any damage
        }
      } finally {
        pool.close();
      }
    }), { numRuns: 150, seed: 0x5707e });
    expect(refused).toBeGreaterThan(100);
    expect(answered).toBeGreaterThan(1000);
  });

  it('refuses a message that is not a list of calls, and calls that are not objects, without writing', async () => {
    const pool = Pool.create({ layout: STORE_LAYOUT });
    try {
      const cache: StoreCache = new Map();
      expect(await runStoreCalls(pool, cache, 'calls' as unknown as StoreCall[])).toEqual([]);
      const out = await runStoreCalls(pool, cache, [5, null, 'put', { db: {}, method: 'put', args: 'k' }] as unknown as StoreCall[]);
      expect(out.map((o) => o.ok)).toEqual([false, false, false, false]);
      const [count] = await runStoreCalls(pool, cache, [{ db: {}, method: 'getCount', args: [] }]);
      expect(count).toEqual({ ok: true, value: 0 });
    } finally {
      pool.close();
    }
  });
});
