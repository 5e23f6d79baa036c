// linearizable.ts — a generic oracle for crash tests: durable linearizability.
//
// A sequential model (an initial state and how each operation changes it)
// gives the states after 0, 1, ..., n operations. After a crash, the
// recovered pool must hold one of them: the state after some prefix of the
// operations that includes every operation whose call had returned before
// the crash, and no operation that had not been called yet:
//
//   returned <= prefix <= called          (markers say which is which)
//
// States are compared by a canonical text (`key`), and the allowed set is
// a set of prefix lengths, so a state that repeats (push 1, pop, push 1)
// is accepted at any of its positions in the window, not only the first.
//
//   const lin = linearizable({ model, ops, run: (pool, op) => ..., read: (pool) => ... });
//   explore({ setup, workload: lin.workload, check: lin.check });

import type { Pool } from '../pool.js';
import type { Marker } from './trace.js';

export interface Model<S, Op> {
  /** State before any operation. */
  initial: S | (() => S);
  /** The state after `op`. May mutate and return `state`: keys are taken after every step. */
  apply(state: S, op: Op, index: number): S;
  /** Canonical text of a state (default: canonical JSON, Maps and Sets sorted). */
  key?(state: S): string;
}

/** JSON with sorted object keys, Maps and Sets as sorted entry lists, bigints as strings. */
export function canonical(v: unknown): string {
  const norm = (x: unknown): unknown => {
    if (typeof x === 'bigint') return `${x}n`;
    if (x instanceof Map) return { $map: [...x.entries()].map(([k, val]) => [norm(k), norm(val)]).sort((a, b) => cmp(JSON.stringify(a[0]), JSON.stringify(b[0]))) };
    if (x instanceof Set) return { $set: [...x].map(norm).sort((a, b) => cmp(JSON.stringify(a), JSON.stringify(b))) };
    if (ArrayBuffer.isView(x)) return Array.from(x as Uint8Array);
    if (Array.isArray(x)) return x.map(norm);
    if (x && typeof x === 'object') return Object.fromEntries(Object.keys(x).sort().map((k) => [k, norm((x as Record<string, unknown>)[k])]));
    return x;
  };
  return JSON.stringify(norm(v)) ?? 'undefined';
}
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Keys of the model states after 0..ops.length operations. */
export function prefixKeys<S, Op>(model: Model<S, Op>, ops: readonly Op[]): string[] {
  const key = model.key ?? canonical;
  let s = typeof model.initial === 'function' ? (model.initial as () => S)() : structuredClone(model.initial);
  const keys = [key(s)];
  ops.forEach((op, i) => { s = model.apply(s, op, i); keys.push(key(s)); });
  return keys;
}

/** Labels placed by `linearizable().workload`. */
export const callLabel = (i: number) => `op ${i} called`;
export const returnLabel = (i: number) => `op ${i} returned`;
const LABEL = /^op (\d+) (called|returned)$/;

/** Operations called and returned before the crash, from the markers. */
export function progressOf(markers: readonly Marker[]): { called: number; returned: number } {
  let called = 0, returned = 0;
  for (const m of markers) {
    const x = LABEL.exec(m.label);
    if (!x) continue;
    if (x[2] === 'called') called = Math.max(called, Number(x[1]) + 1);
    else returned = Math.max(returned, Number(x[1]) + 1);
  }
  return { called, returned };
}

export class LinearizabilityError extends Error {
  override name = 'LinearizabilityError';
}

/**
 * Throw LinearizabilityError unless `got` is the key of the model after a
 * prefix of length in [returned, called].
 */
export function checkLinearizable(got: string, keys: readonly string[], progress: { called: number; returned: number }): void {
  const { returned } = progress;
  const called = Math.min(progress.called, keys.length - 1);
  for (let j = returned; j <= called; j++) if (keys[j] === got) return;
  const allowed = Array.from({ length: Math.max(0, called - returned + 1) }, (_, i) => `after ${returned + i}: ${keys[returned + i]}`);
  const seenAt = keys.indexOf(got);
  throw new LinearizabilityError(
    `recovered state ${got} is not the model after ${returned}..${called} operations ` +
    `(${returned} had returned, ${progress.called} had been called); allowed: ${allowed.join(' | ')}` +
    (seenAt >= 0 ? ` — it is the state after ${seenAt} operations` : ''));
}

/**
 * Two crashes in a row, where the run after the first recovery does the
 * same operations again: throw LinearizabilityError unless `got` is the
 * model after a level-1 prefix allowed by the level-1 markers, followed by
 * a level-2 prefix allowed by the level-2 markers.
 */
export function checkRerun<S, Op>(got: string, model: Model<S, Op>, ops: readonly Op[], markers: readonly Marker[]): void {
  const l1 = progressOf(markers.filter((m) => m.level === 1));
  const l2 = progressOf(markers.filter((m) => m.level === 2));
  const init = () => (typeof model.initial === 'function' ? (model.initial as () => S)() : structuredClone(model.initial));
  const after = (n: number) => ops.slice(0, n).reduce((s, op, i) => model.apply(s, op, i), init());
  for (let j = l1.returned; j <= Math.min(l1.called, ops.length); j++) {
    try {
      checkLinearizable(got, prefixKeys({ ...model, initial: () => after(j) }, ops), l2);
      return;
    } catch (e) {
      if (!(e instanceof LinearizabilityError)) throw e;
    }
  }
  throw new LinearizabilityError(`after two crashes the pool holds ${got}: not the model after ${l1.returned}..${l1.called} operations followed by ${l2.returned}..${l2.called} of them again`);
}

export interface LinearizableSpec<S, Op> {
  model: Model<S, Op>;
  ops: readonly Op[];
  /** Perform one operation on the pool (the code under test). */
  run(pool: Pool, op: Op, index: number): void;
  /** Read the state the pool holds, in the model's terms (after recovery). */
  read(pool: Pool): S;
}

/** A workload that runs the operations with call/return markers, and a check against the model. */
export function linearizable<S, Op>(spec: LinearizableSpec<S, Op>): {
  workload: (pool: Pool, mark: (label: string) => void) => void;
  check: (pool: Pool, markers: Marker[]) => void;
  keys: string[];
} {
  const keys = prefixKeys(spec.model, spec.ops);
  const key = spec.model.key ?? canonical;
  return {
    keys,
    workload: (pool, mark) => {
      spec.ops.forEach((op, i) => {
        mark(callLabel(i));
        spec.run(pool, op, i);
        mark(returnLabel(i));
      });
    },
    check: (pool, markers) => checkLinearizable(key(spec.read(pool)), keys, progressOf(markers)),
  };
}
