// The Store's codecs (src/store/encoding.ts): encoded keys sort byte by byte
// exactly as lmdb-js orders them (checked against a real lmdb environment:
// the raw keys lmdb stores, in its order, equal ours sorted by memcmp),
// keys and values round-trip, and every unsupported key or value is a
// typed error. Random runs are seeded (fast-check `seed`); a failure prints
// the seed and path that replay it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, type Database, type Key as LmdbKey, type RootDatabase } from 'lmdb';
import { Encoder } from 'msgpackr';
import {
  MAX_KEY_SIZE, VALUE_ENCODINGS, compareBytes, decodeKey, encodeKey, valueCodec, type Key,
} from '../src/store/encoding.js';
import { InvalidArgumentError, KeyError, PheapError } from '../src/errors.js';

const SEED = 20261201;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Key parts lmdb-js and we accept (no -0; strings of any UTF-16, lone surrogates excepted: UTF-8 cannot hold them). */
const stringArb = fc.string({ unit: 'grapheme', maxLength: 12 });
const partArb = fc.oneof(
  stringArb,
  fc.string({ unit: 'binary-ascii', maxLength: 6 }),
  fc.string({ unit: 'binary-ascii', minLength: 60, maxLength: 90 }).map((x) => x.replace(/[\0-\x04]/g, 'a')), // long ones are written unescaped
  fc.double({ noDefaultInfinity: false }).filter((n) => !Object.is(n, -0)),
  fc.integer({ min: -1000, max: 1000 }),
  fc.boolean(),
);
const keyArb: fc.Arbitrary<Key> = fc.oneof(partArb, fc.constant(null), fc.array(partArb, { minLength: 1, maxLength: 4 }));
/**
 * With raw bytes too (they order by their bytes but decode as whatever they
 * spell); not starting below 5, where lmdb-js keeps its own entries
 * (symbols, metadata).
 */
const rawArb = fc.uint8Array({ minLength: 1, maxLength: 8 }).filter((b) => b[0] >= 5);
const anyKeyArb: fc.Arbitrary<Key> = fc.oneof(keyArb, rawArb); // (a Uint8Array inside an array is KeyError: its bytes are undelimited)

describe('key order equals lmdb-js order', () => {
  let dir = '';
  let env: RootDatabase;
  /** The database, emptied key by key after each run (clearSync is not ordered with putSync). */
  const fresh = (): Database<string> => env.openDB('keys', {});
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pheap-store-encoding-'));
    env = open({ path: dir, maxDbs: 4 });
  });
  afterAll(() => { env.close(); rmSync(dir, { recursive: true, force: true }); });

  it('random key sets: lmdb-js iterates them in the memcmp order of our encodings, and merges exactly the keys whose encodings are equal', () => {
    let runs = 0;
    fc.assert(fc.property(fc.array(anyKeyArb, { minLength: 1, maxLength: 40 }), (keys) => {
      const db = fresh();
      for (const k of keys) db.putSync(k as LmdbKey, hex(encodeKey(k))); // each key's value: our encoding of it
      const stored = [...db.getRange({ start: null as unknown as LmdbKey })].map((e) => e.value); // start: null, or lmdb-js skips keys below [5]
      for (const k of keys) db.removeSync(k as LmdbKey);
      const ours = [...new Set(keys.map((k) => hex(encodeKey(k))))].sort((a, b) => compareBytes(Buffer.from(a, 'hex'), Buffer.from(b, 'hex')));
      expect(ours).toEqual(stored);
      runs++;
    }), { seed: SEED, numRuns: 60 });
    console.log(`key order vs lmdb: ${runs} random key sets agree (fast-check seed ${SEED}; npx vitest run test/store-encoding.test.ts -t 'lmdb-js order')`);
  });

  it('keys at the size limit: lmdb takes exactly MAX_KEY_SIZE bytes, we refuse one more byte with KeyError', () => {
    const db = fresh();
    const atLimit = 'k'.repeat(MAX_KEY_SIZE);
    expect(encodeKey(atLimit).length).toBe(MAX_KEY_SIZE);
    db.putSync(atLimit, 'v');
    expect(db.get(atLimit)).toBe('v');
    expect(() => db.putSync(atLimit + 'k', 'v')).toThrow();
    expect(() => encodeKey(atLimit + 'k')).toThrow(KeyError);
    expect(() => encodeKey(['x', 'é'.repeat(MAX_KEY_SIZE / 2)])).toThrow(KeyError); // 2 bytes per é: 1978 + 2 bytes
  });
});

/** A one-part array is the same key as its part (as in lmdb-js). */
const onePart = (k: unknown) => (Array.isArray(k) && k.length === 1 ? k[0] : k);

describe('round trips', () => {
  it('decodeKey(encodeKey(k)) equals k for keys without raw bytes', () => {
    fc.assert(fc.property(keyArb, (k) => { expect(decodeKey(encodeKey(k))).toEqual(onePart(k)); }), { seed: SEED, numRuns: 300 });
  });

  it('every value encoding round-trips the values it accepts', () => {
    const jsonish = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);
    const cases: Record<string, fc.Arbitrary<unknown>> = {
      msgpack: fc.oneof(jsonish, fc.uint8Array(), fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.string(), fc.boolean()))),
      string: fc.string({ unit: 'grapheme' }),
      binary: fc.uint8Array({ maxLength: 64 }),
      json: jsonish,
      'ordered-binary': keyArb,
    };
    for (const enc of VALUE_ENCODINGS) {
      const codec = valueCodec(enc);
      expect(codec.encoding).toBe(enc);
      fc.assert(fc.property(cases[enc], (v) => {
        const bytes = codec.encode(v);
        expect(bytes).toBeInstanceOf(Uint8Array);
        expect(codec.decode(bytes)).toEqual(enc === 'ordered-binary' ? onePart(v) : v);
      }), { seed: SEED, numRuns: 100 });
    }
    expect(valueCodec(undefined).encoding).toBe('msgpack');
  });

  it('msgpack values are the bytes lmdb-js writes with its default encoding', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pheap-store-values-'));
    const env = open({ path: dir });
    try {
      const codec = valueCodec('msgpack');
      fc.assert(fc.property(fc.jsonValue(), (v) => {
        env.putSync('v', v);
        expect(hex(codec.encode(v))).toBe(hex(env.getBinary('v')!));
      }), { seed: SEED, numRuns: 100 });
    } finally {
      env.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('encoded values are fresh copies: a second encode does not change the first one', () => {
    const codec = valueCodec('msgpack');
    const a = codec.encode({ a: 1 });
    const before = hex(a);
    codec.encode({ b: 'something else entirely' });
    expect(hex(a)).toBe(before);
    expect(a.byteOffset).toBe(0);
    expect(new Encoder().decode(a)).toEqual({ a: 1 });
  });
});

/** A case's name in assertion messages (String() throws on symbols, also inside arrays). */
const label = (v: unknown) => { try { return String(v); } catch { return `(a value holding a ${typeof v === 'object' ? 'symbol' : typeof v})`; } };

describe('typed errors', () => {
  it('unsupported keys are KeyError (a PheapError), whatever their kind', () => {
    const bad: unknown[] = [
      undefined, () => 1, Symbol('s'), 5n, {}, new Date(0), new Map(), [], new Uint8Array(0), ['a', undefined], [1, [2]], -0, [-0], ['a', {}], [false, '', null], [null], 'a\ud800', `${'x'.repeat(70)}\u0000`,
    ];
    for (const k of bad) {
      let err: unknown;
      try { encodeKey(k); } catch (e) { err = e; }
      expect(err, label(k)).toBeInstanceOf(KeyError);
      expect(err).toBeInstanceOf(PheapError);
      expect((err as PheapError).code).toBe('ERR_BAD_KEY');
      expect((err as Error).name).toBe('KeyError');
    }
  });

  it('values an encoding cannot represent are InvalidArgumentError', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad: [string, unknown][] = [
      ['msgpack', () => 1], ['msgpack', { f() {} }], ['msgpack', [1, Symbol('x')]], ['msgpack', new Map([[1, () => 2]])], ['msgpack', 2n ** 70n],
      ['string', 5], ['string', undefined], ['binary', 'text'], ['binary', [1, 2]], ['json', undefined], ['json', () => 1], ['json', 5n], ['json', cyclic],
      ['ordered-binary', undefined], ['ordered-binary', {}], ['ordered-binary', 'x'.repeat(MAX_KEY_SIZE + 1)],
    ];
    for (const [enc, v] of bad) expect(() => valueCodec(enc).encode(v), `${enc} ${label(v)}`).toThrow(InvalidArgumentError);
  });

  it('an unknown encoding name is InvalidArgumentError', () => {
    for (const e of ['cbor', 'MSGPACK', '', 3, null]) expect(() => valueCodec(e)).toThrow(InvalidArgumentError);
  });
});
