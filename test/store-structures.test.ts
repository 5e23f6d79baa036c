// store-structures.test.ts — msgpack databases share their structures
// (src/store/encoding.ts sharedMsgpackCodec; the list lives in the Store's
// directory). What must hold, whatever the order of things:
// - a value reads back the same before and after a reopen (the codec's
//   structures in memory never run ahead of the persisted list): random
//   operation sequences over two databases, with rolled-back transactions,
//   rejected batch members, more shapes than there are shared ids (32), and
//   property names no sane caller uses, against a model;
// - a structure save that fails (a full pool) refuses the put with a typed
//   error and leaves the store readable and consistent;
// - doesExist(key, value) writes nothing, even for a shape never seen;
// - values written self-describing (older files, lmdb-js's default bytes)
//   still read.

import { describe, expect, it } from 'vitest';
import { isDeepStrictEqual, inspect } from 'node:util';
import { Encoder } from 'msgpackr';
import { OutOfSpaceError, PheapError, Prng, open, type Store } from '../src/index.js';
import { sha256File, useTempDir } from './helpers/pool-files.js';

const FILE = 'test/store-structures.test.ts';
const tmp = useTempDir('pheap-store-structures-');

/** Property names: ordinary ones and ones no sane caller passes (a lone surrogate is stored as U+FFFD, as msgpack does everywhere). */
const NAMES = ['id', 'name', 'a', 'b', '', '__proto__', 'constructor', '1', '0x', 'ä', '😀', '\ud800', 'x'.repeat(300), 'toString', 'length'];
/** What a name reads back as (msgpackr renames __proto__, guarding against prototype pollution, as lmdb-js reads it too). */
const nameBack = (n: string) => (n === '__proto__' ? '__proto_' : n.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));

/** An object of a random shape (1–4 names of NAMES, or one of 60 numbered names: more shapes than the 32 shared ids). */
function randomValue(rng: Prng): Record<string, unknown> {
  const v: Record<string, unknown> = {};
  const n = 1 + rng.below(4);
  for (let i = 0; i < n; i++) {
    const name = rng.below(3) === 0 ? `n${rng.below(60)}` : NAMES[rng.below(NAMES.length)];
    Object.defineProperty(v, name, { value: rng.below(2) === 0 ? rng.below(1000) : `s${rng.below(100)}`, enumerable: true, writable: true, configurable: true });
  }
  return v;
}

/** The value as it reads back (own properties, lone surrogates as U+FFFD), as a comparable list of [name, value]. */
function shapeOf(v: unknown): Array<[string, unknown]> {
  return Object.entries(v as object).map(([k, x]) => [nameBack(k), x]);
}

type Model = Array<Map<string, unknown>>;

/** Every key of the model reads back as modelled, in both databases, by get and by getRange. */
function agree(dbs: Store[], model: Model, when: string): void {
  dbs.forEach((db, i) => {
    for (const [k, v] of model[i]) {
      const got = db.get(k);
      if (!isDeepStrictEqual(shapeOf(got), shapeOf(v))) throw new Error(`${when}: db ${i} key ${k}: got ${inspect(got)}, want ${inspect(v)}`);
      if (Object.getPrototypeOf(got) !== Object.prototype) throw new Error(`${when}: db ${i} key ${k}: a value's prototype changed (${inspect(Object.getPrototypeOf(got))})`);
    }
    const range = [...db.getRange()];
    expect(range.map((e) => e.key), `${when}: db ${i} keys`).toEqual([...model[i].keys()].sort());
  });
}

describe('msgpack structures', () => {
  it('random operation sequences with rollbacks, rejected members, many shapes and odd names: every value reads back alike before and after reopen', async () => {
    const SEED = Number(process.env.PHEAP_SEED ?? 20261202);
    const rounds = 6, steps = 120;
    let rollbacks = 0, reopens = 0, puts = 0;
    for (let round = 0; round < rounds; round++) {
      const rng = new Prng(`structures-${SEED}-${round}`);
      const path = tmp.file(`model-${round}`);
      let root = open(path, { durability: 'none' });
      let dbs = [root, root.openDB('objs')];
      const model: Model = [new Map(), new Map()];
      for (let step = 0; step < steps; step++) {
        const d = rng.below(2), key = `k${rng.below(40)}`;
        const when = `seed ${SEED} round ${round} step ${step}`;
        switch (rng.below(7)) {
          case 0: case 1: { const v = randomValue(rng); dbs[d].putSync(key, v); model[d].set(key, v); puts++; break; }
          case 2: { // a transaction with new shapes that throws: nothing of it stays, its structures neither
            const v = randomValue(rng);
            expect(() => dbs[d].transactionSync(() => { dbs[d].putSync(key, v); dbs[1 - d].putSync(key, randomValue(rng)); throw new Error('roll back'); })).toThrow('roll back');
            rollbacks++;
            break;
          }
          case 3: { // async puts, one of them in a transaction(fn) that throws
            const vs = [randomValue(rng), randomValue(rng)];
            const done = [dbs[d].put(key, vs[0]), dbs[d].transaction(() => { dbs[1 - d].putSync(`${key}x`, vs[1]); throw new Error('member fails'); })];
            model[d].set(key, vs[0]);
            const [ok, failed] = await Promise.allSettled(done);
            expect(ok.status, when).toBe('fulfilled');
            expect(failed.status, when).toBe('rejected');
            rollbacks++; puts++;
            break;
          }
          case 4: dbs[d].removeSync(key); model[d].delete(key); break;
          case 5: { // a beginTx level aborted by hand, around a Store write
            root.pool.beginTx();
            dbs[d].putSync(`${key}y`, randomValue(rng));
            root.pool.abortTx();
            rollbacks++;
            break;
          }
          default: {
            agree(dbs, model, `${when}, before reopen`);
            root.close();
            root = open(path, { durability: 'none' });
            dbs = [root, root.openDB('objs')];
            agree(dbs, model, `${when}, after reopen`);
            reopens++;
          }
        }
        agree(dbs, model, when);
      }
      root.close();
      root = open(path, { durability: 'none' });
      agree([root, root.openDB('objs')], model, `seed ${SEED} round ${round}, final reopen`);
      root.close();
    }
    expect(rollbacks).toBeGreaterThan(50);
    expect(reopens).toBeGreaterThan(20);
    console.log(`msgpack structures: ${rounds} rounds × ${steps} steps, ${puts} puts, ${rollbacks} rollbacks, ${reopens} reopens agree with the model (PHEAP_SEED=${SEED} npx vitest run ${FILE} -t 'random operation')`);
  }, 120_000);

  it('a structure that cannot be saved (the pool is full) refuses the put with a typed error; the store stays readable and consistent', () => {
    const path = tmp.file('full');
    const db = open(path, { durability: 'none', maxSize: 1 << 20 });
    const big = 'z'.repeat(2000);
    let i = 0;
    try { for (;;) db.putSync(`fill${i++}`, big); } catch (e) { expect(e).toBeInstanceOf(OutOfSpaceError); }
    const failures: string[] = [];
    let refused = 0;
    for (let s = 0; s < 40; s++) {
      try { db.putSync(`shape${s}`, { [`only${s}`]: s, pad: 'p'.repeat(s * 50) }); } catch (e) {
        if (e instanceof PheapError) refused++; else failures.push(`shape ${s}: ${inspect(e)}`);
      }
    }
    expect(failures, 'only typed errors').toEqual([]);
    expect(refused, 'puts of new shapes into a full pool are refused').toBeGreaterThan(30);
    expect(db.get('shape39')).toBeUndefined();
    for (let j = 0; j < i; j++) db.removeSync(`fill${j}`);
    db.putSync('after', { fresh: 1, shape: 'new' });
    const before = [...db.getRange()].map((e) => [e.key, shapeOf(e.value)]);
    db.close();
    const again = open(path, { durability: 'none', maxSize: 1 << 20 });
    expect([...again.getRange()].map((e) => [e.key, shapeOf(e.value)]), 'the same after reopen').toEqual(before);
    expect(again.get('after')).toEqual({ fresh: 1, shape: 'new' });
    again.close();
  });

  it('doesExist(key, value) with a shape never seen writes nothing and answers like a byte comparison', () => {
    const path = tmp.file('exists');
    const setup = open(path, { durability: 'none' });
    setup.putSync('k', { a: 1 });
    setup.close();
    const db = open(path, { backend: 'file' });
    const hash = sha256File(path), image = Buffer.from(db.pool.durableImage());
    expect(db.doesExist('k', { a: 1 })).toBe(true);
    expect(db.doesExist('k', { a: 2 })).toBe(false);
    expect(db.doesExist('k', { never: 'seen', before: 1 })).toBe(false);
    expect(db.doesExist('k', [{ nested: { deeper: true } }])).toBe(false);
    expect(Buffer.from(db.pool.durableImage()).equals(image), 'durable image unchanged').toBe(true);
    db.close();
    expect(sha256File(path), 'file unchanged').toBe(hash);
  });

  it('lmdb-js\'s sharedStructuresKey option is accepted (structures are shared anyway, the key holds nothing)', () => {
    const path = tmp.file('key');
    const db = open(path, { durability: 'none', sharedStructuresKey: Symbol.for('structures') });
    const other = db.openDB('other', { sharedStructuresKey: Symbol.for('structures') });
    db.putSync('a', { x: 1, y: 'two' });
    other.putSync('b', { x: 3 });
    expect(db.getCount(), 'no entry under the key').toBe(1);
    db.close();
    const again = open(path, { durability: 'none' });
    expect(again.get('a')).toEqual({ x: 1, y: 'two' });
    expect(again.openDB('other').get('b')).toEqual({ x: 3 });
    again.close();
  });

  it('values written self-describing (lmdb-js\'s default bytes, files from before shared structures) still read, beside shared ones', () => {
    const db = open();
    const raw = db.openDB('mixed', { encoding: 'binary' });
    const objs = db.openDB('mixed');
    const plain = new Encoder({ copyBuffers: true });
    const rng = new Prng('self-describing');
    const values = Array.from({ length: 50 }, () => randomValue(rng));
    values.forEach((v, i) => (i % 2 ? raw.putSync(`v${i}`, Uint8Array.from(plain.encode(v))) : objs.putSync(`v${i}`, v)));
    values.forEach((v, i) => expect(shapeOf(objs.get(`v${i}`)), `v${i}`).toEqual(shapeOf(v)));
    db.close();
  });
});
