// job-queue.ts — a durable job queue on the Store (docs/store.md): enqueue,
// claim (the oldest job that is not claimed, or whose claim timed out),
// ack (done: removed). A job claimed and never acked is handed out again
// once its claim is `timeoutMs` old, with its attempt count raised.
// test/examples-store.test.ts runs it against a model, across reopens.
//
// Jobs live in database 'jobs' (id → { payload, until, attempts }; ids
// ascend, so key order is FIFO order), the next id in 'meta'. Every
// operation is one transaction: a crash never loses or duplicates a job.
// `now` is injectable so tests control the clock.

import { open, type StoreOptions } from '../src/index.js';

/** A claimed job. */
export interface Job<T> { id: number; payload: T; attempts: number }
interface Row<T> { payload: T; until: number; attempts: number }

/** A job queue in `where.path` (in memory without one); a claim lasts `timeoutMs`. */
export function jobQueue<T>(where: Pick<StoreOptions, 'path' | 'durability'>, timeoutMs: number, now: () => number = Date.now) {
  const db = open<Row<T>, number>({ ...where, name: 'jobs' });
  const meta = db.openDB<number, string>('meta');
  return {
    enqueue: (payload: T): number => db.transactionSync(() => {
      const id = (meta.get('next') ?? 0) + 1;
      meta.putSync('next', id);
      db.putSync(id, { payload, until: 0, attempts: 0 });
      return id;
    }),
    claim: (): Job<T> | undefined => db.transactionSync(() => {
      const [free] = db.getRange().filter((e) => e.value.until <= now()); // reads up to the first match only
      if (!free) return undefined;
      db.putSync(free.key, { ...free.value, until: now() + timeoutMs, attempts: free.value.attempts + 1 });
      return { id: free.key, payload: free.value.payload, attempts: free.value.attempts + 1 };
    }),
    ack: (id: number): boolean => db.removeSync(id),
    pending: (): number => db.getCount(),
    close: (): void => db.close(),
  };
}
