// The Store examples (examples/session-store.ts, examples/job-queue.ts) run
// as tests: seeded random sequences of their operations, with a clock the
// test moves and reopens of the file in between, against a plain in-memory
// model of what each should do. Every result must equal the model's, and
// so must the whole state after every reopen. And README.md's Store example
// runs as written (against the built bundle), twice on one file.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sessionStore } from '../examples/session-store.js';
import { jobQueue, type Job } from '../examples/job-queue.js';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { open } from '../src/index.js';
import { useTempDir } from './helpers/pool-files.js';
import { REPO } from './helpers/readme.js';

const FILE = 'test/examples-store.test.ts';
const SEED = 20261204;
const tmp = useTempDir('pheap-store-examples-');
const reporter = <T>(name: string, seed: number) => (r: fc.RunDetails<T>) => {
  if (r.failed) throw new Error(`${fc.defaultReportMessage(r)}\n${String(r.errorInstance)}\nreproduce: npx vitest run ${FILE} -t '${name}' (seed ${seed})`);
};

type SessionOp = { k: 'set'; id: number; user: string } | { k: 'get' | 'touch'; id: number } | { k: 'sweep' } | { k: 'wait'; ms: number } | { k: 'reopen' };
const sessionOp: fc.Arbitrary<SessionOp> = fc.oneof(
  fc.record({ k: fc.constant('set' as const), id: fc.nat(5), user: fc.constantFrom('ann', 'bob', 'cy') }),
  fc.record({ k: fc.constantFrom('get' as const, 'touch' as const), id: fc.nat(5) }),
  fc.constant({ k: 'sweep' as const }),
  { weight: 3, arbitrary: fc.record({ k: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 150 }) }) },
  fc.constant({ k: 'reopen' as const }),
);

type QueueOp = { k: 'enqueue'; payload: string } | { k: 'claim' } | { k: 'ack'; pick: number } | { k: 'wait'; ms: number } | { k: 'reopen' };
const queueOp: fc.Arbitrary<QueueOp> = fc.oneof(
  fc.record({ k: fc.constant('enqueue' as const), payload: fc.string({ maxLength: 8 }) }),
  { weight: 3, arbitrary: fc.constant({ k: 'claim' as const }) },
  fc.record({ k: fc.constant('ack' as const), pick: fc.nat(9) }),
  { weight: 3, arbitrary: fc.record({ k: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 80 }) }) },
  fc.constant({ k: 'reopen' as const }),
);

describe('examples on the Store', () => {
  it('session store: set / get / touch / sweep with a moving clock and reopens agree with a model', () => {
    const TTL = 100;
    let runs = 0, expired = 0;
    fc.assert(fc.property(fc.array(sessionOp, { minLength: 5, maxLength: 40 }), (ops) => {
      let clock = 1000;
      const now = () => clock;
      const where = { path: tmp.file('sessions'), durability: 'os' } as const; // reopens, not power cuts: no fsync
      let s = sessionStore(where, TTL, now);
      const model = new Map<string, { user: string; expires: number }>();
      const live = (id: string) => { const m = model.get(id); return m && m.expires > clock ? m : undefined; };
      for (const op of ops) {
        const id = `s${'id' in op ? op.id : 0}`;
        if (op.k === 'set') { s.set(id, op.user); model.set(id, { user: op.user, expires: clock + TTL }); }
        else if (op.k === 'get') expect(s.get(id)).toBe(live(id)?.user);
        else if (op.k === 'touch') { const m = live(id); expect(s.touch(id)).toBe(m !== undefined); if (m) m.expires = clock + TTL; }
        else if (op.k === 'wait') clock += op.ms;
        else if (op.k === 'reopen') { s.close(); s = sessionStore(where, TTL, now); }
        else {
          const gone = [...model].filter(([, m]) => m.expires <= clock).map(([k]) => k);
          gone.forEach((k) => model.delete(k));
          expect(s.sweep()).toBe(gone.length);
          expired += gone.length;
        }
      }
      s.close();
      s = sessionStore(where, TTL, now);
      for (let i = 0; i <= 5; i++) expect(s.get(`s${i}`), `after the last reopen, s${i}`).toBe(live(`s${i}`)?.user);
      expect(s.sweep()).toBe([...model.values()].filter((m) => m.expires <= clock).length);
      s.close();
      runs++;
    }), { seed: SEED, numRuns: 40, reporter: reporter('session store', SEED) });
    expect(expired).toBeGreaterThan(0);
    console.log(`session-store example: ${runs} runs, ${expired} expired sessions swept; reproduce: npx vitest run ${FILE} -t 'session store' (seed ${SEED})`);
  }, 30_000);

  it('job queue: enqueue / claim / ack / retry after a timeout with reopens agree with a model', () => {
    const TIMEOUT = 50;
    let runs = 0, retries = 0;
    fc.assert(fc.property(fc.array(queueOp, { minLength: 5, maxLength: 40 }), (ops) => {
      let clock = 1000;
      const now = () => clock;
      const where = { path: tmp.file('jobs'), durability: 'os' } as const;
      let q = jobQueue<string>(where, TIMEOUT, now);
      const model: { id: number; payload: string; until: number; attempts: number }[] = [];
      let next = 0;
      const claimed: number[] = [];
      for (const op of ops) {
        if (op.k === 'enqueue') { next++; expect(q.enqueue(op.payload)).toBe(next); model.push({ id: next, payload: op.payload, until: 0, attempts: 0 }); }
        else if (op.k === 'claim') {
          const m = model.find((j) => j.until <= clock);
          if (m) { m.until = clock + TIMEOUT; m.attempts++; claimed.push(m.id); if (m.attempts > 1) retries++; }
          expect(q.claim()).toEqual(m ? { id: m.id, payload: m.payload, attempts: m.attempts } satisfies Job<string> : undefined);
        } else if (op.k === 'ack') {
          const id = claimed.length ? claimed[op.pick % claimed.length] : op.pick + 1;
          const i = model.findIndex((j) => j.id === id);
          if (i >= 0) model.splice(i, 1);
          expect(q.ack(id)).toBe(i >= 0);
        } else if (op.k === 'wait') clock += op.ms;
        else { q.close(); q = jobQueue<string>(where, TIMEOUT, now); }
        expect(q.pending()).toBe(model.length);
      }
      q.close();
      q = jobQueue<string>(where, TIMEOUT, now);
      clock += TIMEOUT; // every claim has timed out: the queue hands out every job again, oldest first
      for (const m of model) expect(q.claim()).toEqual({ id: m.id, payload: m.payload, attempts: m.attempts + 1 });
      expect(q.claim()).toBeUndefined();
      q.close();
      runs++;
    }), { seed: SEED + 1, numRuns: 40, reporter: reporter('job queue', SEED + 1) });
    expect(retries).toBeGreaterThan(0);
    console.log(`job-queue example: ${runs} runs, ${retries} jobs handed out again after a timeout; reproduce: npx vitest run ${FILE} -t 'job queue' (seed ${SEED + 1})`);
  }, 30_000);
});

describe('README: the Store example', () => {
  it('runs as written twice on one file (importing the built bundle); the file holds what it wrote', () => {
    const block = /```ts\n(import \{ open \} from 'pheap';\n[\s\S]*?)```/.exec(readFileSync(join(REPO, 'README.md'), 'utf8'))?.[1];
    expect(block, 'README.md has a ts block importing open from pheap').toBeDefined();
    const script = join(tmp.dir, 'store-example.mjs');
    writeFileSync(script, block!.replace("from 'pheap'", `from ${JSON.stringify(pathToFileURL(join(REPO, 'dist/index.js')).href)}`));
    const run = () => execFileSync(process.execPath, [script], { cwd: tmp.dir, encoding: 'utf8' }).trim().split('\n');
    const expected = ["[ 'user', 42 ] { name: 'Ann' }", '{ age: 31 } 1'];
    expect(run()).toEqual(expected);
    expect(run(), 'the second run opens the file the first one made').toEqual(expected);
    const db = open({ path: join(tmp.dir, 'app.pheap') });
    expect([db.getRange().asArray, db.openDB('users', { encoding: 'json' }).getRange().asArray]).toEqual([[{ key: ['user', 42], value: { name: 'Ann' } }], [{ key: 'ann', value: { age: 31 } }]]);
    db.close();
  });
});
