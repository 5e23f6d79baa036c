// intercept.ts — a Pool look-alike that runs hooks around some of its methods.
//
// Used to track the lines a check function stores into (explore.ts) and to
// record an operation log (oplog.ts) without touching Pool itself, so a pool
// that is neither explored nor recorded pays nothing. The target may change
// (a recorded pool.crash() returns a new Pool): the proxy always forwards to
// `target()`.

import type { Pool } from '../pool.js';

export type Overrides = Partial<Record<string, (...args: never[]) => unknown>>;

/** A Proxy that behaves as `target()` except for the methods in `overrides`. */
export function interceptPool(target: () => Pool, overrides: Overrides): Pool {
  let boundFor: Pool | null = null;
  let bound = new Map<PropertyKey, unknown>();
  return new Proxy({} as Pool, {
    get(_, prop) {
      const o = overrides[prop as string];
      if (o) return o;
      const t = target();
      if (t !== boundFor) { boundFor = t; bound = new Map(); }
      let v = bound.get(prop);
      if (v !== undefined) return v;
      const raw = (t as unknown as Record<PropertyKey, unknown>)[prop];
      if (typeof raw !== 'function') return raw; // getters (size, isClosed, txDepth) are read live
      v = (raw as (...a: unknown[]) => unknown).bind(t);
      bound.set(prop, v);
      return v;
    },
    has(_, prop) { return prop in target(); },
    getPrototypeOf() { return Object.getPrototypeOf(target()); },
  });
}

/** The raw store methods of Pool and the byte width of each. */
export const WRITE_WIDTH: Record<string, number> = {
  writeU8: 1, writeU16: 2, writeU32: 4, writeI32: 4, writeU64: 8, writeF64: 8,
};
