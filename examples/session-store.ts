// session-store.ts — sessions with a time to live on the Store (docs/store.md):
// set, get (an expired session reads as undefined), touch (extend a live
// one), sweep (remove every expired one). test/examples-store.test.ts runs
// it against a model, across reopens of the file.
//
// Two databases in one file: 'sessions' (id → { user, expires }) and
// 'by-expiry' ([expires, id] → null), kept in step by transactions, so a
// sweep is one ordered range scan up to `now` instead of a full scan.
// `now` is injectable so tests control the clock.

import { open, type StoreOptions } from '../src/index.js';

/** A stored session. */
export interface Session { user: string; expires: number }

/** A session store in `where.path` (in memory without one); sessions live `ttlMs` after set / touch. */
export function sessionStore(where: Pick<StoreOptions, 'path' | 'durability'>, ttlMs: number, now: () => number = Date.now) {
  const db = open<Session, string>({ ...where, name: 'sessions' });
  const byExpiry = db.openDB<null, [number, string]>('by-expiry');
  const live = (id: string) => { const s = db.get(id); return s && s.expires > now() ? s : undefined; };
  const write = (id: string, user: string) => db.transactionSync(() => {
    const old = db.get(id);
    if (old) byExpiry.removeSync([old.expires, id]);
    const expires = now() + ttlMs;
    db.putSync(id, { user, expires });
    byExpiry.putSync([expires, id], null);
  });
  return {
    set: (id: string, user: string): void => write(id, user),
    get: (id: string): string | undefined => live(id)?.user,
    touch: (id: string): boolean => { const s = live(id); if (s) write(id, s.user); return s !== undefined; },
    /** Remove every session expired by now; returns how many. */
    sweep: (): number => db.transactionSync(() => byExpiry.getKeys({ end: [now() + 1] }).asArray
      .map(([expires, id]) => { byExpiry.removeSync([expires, id]); return db.removeSync(id); }).length),
    close: (): void => db.close(),
  };
}
