// list.ts — a persistent linked list (a stack of u32 values) written on pheap
// with raw stores, flushes and fences, plus one transactional operation —
// in a correct version and in variants that each carry one classic
// persistent-memory bug. test/seeded-bugs.test.ts crash-tests all of them.
//
// Layout
//   root (16 B)   word 0: u64 = head (low 32 bits) | count (high 32 bits):
//                 one aligned 8-byte store publishes both at once
//   node (16 B)   +0 next u32, +4 value u32 — one aligned 8-byte word
//
// Operations
//   push(v)    alloc a node (durable, not yet reachable), fill it, persist
//              it, THEN publish it with one 8-byte store + persist
//   pop()      publish the next node, then free the old head
//   reverse()  one transaction: every next pointer and the root
//   recover()  run after every open: a crash between alloc and publish
//              (push) or between publish and free (pop) leaves a node that
//              nothing points to; recovery frees those orphans
//
// Variants (each differs from `correct` in one place)
//   missing-flush     push fences without flushing the node: the root can
//                     be durable while the node's contents are not
//   missing-fence     push flushes the node but publishes before a fence:
//                     node and root become durable in one drain, in any order
//   non-atomic-16     head and count are two u64 words stored one after the
//                     other, assumed atomic because they share 16 aligned bytes
//   tx-no-addrange    reverse() stores the next pointers inside the
//                     transaction without addRange: neither logged nor flushed
//   recovery-ignores-incomplete   recover() does nothing: an interrupted
//                     push or pop leaks its node

import { linearizable, type ExploreOptions, type Pool } from '../src/index.js';

export const LIST_VARIANTS = ['correct', 'missing-flush', 'missing-fence', 'non-atomic-16', 'tx-no-addrange', 'recovery-ignores-incomplete'] as const;
export type ListVariant = (typeof LIST_VARIANTS)[number];

export const NODE_TYPE = 0x101;
const ROOT_SIZE = 16;

export type ListOp = { op: 'push'; value: number } | { op: 'pop' } | { op: 'reverse' };

export class PList {
  readonly root: number;
  constructor(private readonly pool: Pool, private readonly variant: ListVariant = 'correct') {
    this.root = pool.root(ROOT_SIZE);
  }

  private get head(): number { return this.pool.readU32(this.root); }
  private get count(): number {
    return this.variant === 'non-atomic-16' ? Number(this.pool.readU64(this.root + 8)) : this.pool.readU32(this.root + 4);
  }

  /** Publish head and count (durably). */
  private publish(head: number, count: number): void {
    const p = this.pool;
    if (this.variant === 'non-atomic-16') {
      p.writeU64(this.root, BigInt(head));       // BUG: two stores, not one atomic update
      p.writeU64(this.root + 8, BigInt(count));
      p.persist(this.root, 16);
    } else {
      p.writeU64(this.root, BigInt(head) | (BigInt(count) << 32n));
      p.persist(this.root, 8);
    }
  }

  push(value: number): void {
    const p = this.pool;
    const n = p.alloc(16, { type: NODE_TYPE });
    p.writeU32(n, this.head);
    p.writeU32(n + 4, value);
    if (this.variant === 'missing-flush') p.drain();          // BUG: a fence, but the node was never flushed
    else if (this.variant === 'missing-fence') p.flush(n, 8); // BUG: flushed, but no fence before publishing
    else p.persist(n, 8);
    this.publish(n, this.count + 1);
  }

  pop(): number | undefined {
    const p = this.pool;
    const h = this.head;
    if (h === 0) return undefined;
    const value = p.readU32(h + 4);
    this.publish(p.readU32(h), this.count - 1);
    p.free(h); // a crash before this leaves an orphan: recover() frees it
    return value;
  }

  reverse(): void {
    const p = this.pool;
    p.tx((tx) => {
      let prev = 0;
      for (let cur = this.head; cur !== 0;) {
        const next = p.readU32(cur);
        if (this.variant === 'tx-no-addrange') p.writeU32(cur, prev); // BUG: modified in the tx without addRange
        else tx.setU32(cur, prev);
        prev = cur;
        cur = next;
      }
      if (this.variant === 'non-atomic-16') tx.setU64(this.root, BigInt(prev));
      else tx.setU64(this.root, BigInt(prev) | (BigInt(this.count) << 32n));
    });
  }

  run(op: ListOp): void {
    if (op.op === 'push') this.push(op.value);
    else if (op.op === 'pop') this.pop();
    else this.reverse();
  }

  /** Nodes reachable from the head, in order; throws on a broken list. */
  nodes(): number[] {
    const p = this.pool;
    const out: number[] = [];
    const seen = new Set<number>();
    for (let n = this.head; n !== 0; n = p.readU32(n)) {
      if (!p.isLive(n) || p.typeOf(n) !== NODE_TYPE) throw new Error(`list: node ${n} (position ${out.length}) is not a live list node`);
      if (seen.has(n)) throw new Error(`list: cycle at node ${n}`);
      seen.add(n);
      out.push(n);
    }
    return out;
  }

  /** The values, head first, after checking count and that no node leaked. */
  values(): number[] {
    const nodes = this.nodes();
    if (this.count !== nodes.length) throw new Error(`list: count says ${this.count}, ${nodes.length} nodes are reachable`);
    const all = [...this.pool.objects(NODE_TYPE)].length;
    if (all !== nodes.length) throw new Error(`list: ${all - nodes.length} list node(s) leaked (allocated, not reachable)`);
    return nodes.map((n) => this.pool.readU32(n + 4));
  }

  /** Recovery after open: free nodes nothing points to (an interrupted push or pop). */
  recover(): void {
    if (this.variant === 'recovery-ignores-incomplete') return; // BUG: the incomplete operation is left as is
    const reachable = new Set(this.nodes());
    for (const n of [...this.pool.objects(NODE_TYPE)]) if (!reachable.has(n)) this.pool.free(n);
  }
}

/** The sequential model: values head first. */
export function applyListOp(values: number[], op: ListOp): number[] {
  if (op.op === 'push') return [op.value, ...values];
  if (op.op === 'pop') return values.slice(1);
  return [...values].reverse();
}

/** A workload that exercises every operation (and makes states repeat). */
export const LIST_OPS: ListOp[] = [
  { op: 'push', value: 1 }, { op: 'push', value: 2 }, { op: 'push', value: 3 }, { op: 'pop' },
  { op: 'reverse' }, { op: 'push', value: 4 }, { op: 'pop' }, { op: 'push', value: 5 },
  { op: 'reverse' }, { op: 'pop' }, { op: 'pop' },
];

// ─── the crash test of one variant ──────────────────────────────────────────


/** Explore options that crash-test `variant` against the sequential model (durable linearizability). */
export function listScenario(variant: ListVariant, ops: readonly ListOp[] = LIST_OPS): ExploreOptions {
  const lin = linearizable({
    model: { initial: [] as number[], apply: applyListOp, key: (v) => v.join(',') },
    ops,
    run: (pool, op) => new PList(pool, variant).run(op),
    read: (pool) => new PList(pool, variant).values(),
  });
  return {
    name: `list/${variant}`,
    layout: 'example-list',
    setup: (pool) => { new PList(pool, variant); },
    workload: lin.workload,
    recover: (pool) => new PList(pool, variant).recover(),
    check: lin.check,
  };
}
