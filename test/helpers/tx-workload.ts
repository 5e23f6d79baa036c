// A small deterministic transactional workload whose whole state after n
// committed transactions is known from n alone, so a crashed pool can be
// checked against "some prefix of the committed transactions".
//
// Used in-process by test/mapped.test.ts and, bundled with esbuild, by the
// child processes it kills with SIGKILL. Plain TypeScript, no vitest import.
//
// Root object (ROOT_SIZE bytes):  u32 count @0  · u32 head @4 · u32 listLen @8 · u64 sum @16
// Transaction i (0-based), one pool.tx:
//   allocate a node (type NODE_TYPE) of nodeSize(i) bytes:
//     u32 next @0 · u32 seq = i @4 · u32 len @8 · payload bytes (i + k) & 255 from @12
//   push it at the head; when the list is longer than KEEP, cut the oldest
//   node off and free it; count = i + 1; sum += i.
// After n transactions: count = n, sum = n(n-1)/2, the list holds seq
// n-1 … max(0, n-KEEP) newest first, and those are the only live nodes.

import type { Pool, Tx } from '../../src/index.js';

export const WORKLOAD_LAYOUT = 'pheap-tx-workload';
export const ROOT_SIZE = 64;
export const NODE_TYPE = 7;
export const KEEP = 8;

export function nodeSize(i: number): number {
  return 16 + ((i * 37) % 200);
}

function payload(i: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let k = 0; k < len; k++) out[k] = (i + k) & 255;
  return out;
}

/** Run transaction number `i` (the pool must hold exactly i committed ones). */
export function applyTx(pool: Pool, i: number): void {
  const root = pool.root(ROOT_SIZE);
  pool.tx((tx: Tx) => {
    const size = nodeSize(i);
    const node = tx.alloc(size, { type: NODE_TYPE });
    const head = pool.readU32(root + 4);
    tx.setU32(node, head);
    tx.setU32(node + 4, i);
    tx.setU32(node + 8, size - 12);
    tx.setBytes(node + 12, payload(i, size - 12));
    tx.setU32(root + 4, node);
    let len = pool.readU32(root + 8) + 1;
    if (len > KEEP) {
      let last = node; // the KEEP-th node (1-based) keeps; its successor goes
      for (let k = 1; k < KEEP; k++) last = pool.readU32(last);
      const tail = pool.readU32(last);
      tx.setU32(last, 0);
      tx.free(tail);
      len = KEEP;
    }
    tx.setU32(root + 8, len);
    tx.setU32(root, i + 1);
    tx.setU64(root + 16, pool.readU64(root + 16) + BigInt(i));
  });
}

/** The number of committed transactions the pool holds (0 for a fresh pool). */
export function committed(pool: Pool): number {
  return pool.readU32(pool.root(ROOT_SIZE));
}

/**
 * Problems found comparing the pool with the state after exactly
 * `committed(pool)` transactions; [] when it matches. Checks every node's
 * fields and payload, and that no other node is live (no leak).
 */
export function stateProblems(pool: Pool): string[] {
  const problems: string[] = [];
  const root = pool.root(ROOT_SIZE);
  const n = pool.readU32(root);
  const want = Math.min(n, KEEP);
  if (pool.readU32(root + 8) !== want) problems.push(`listLen ${pool.readU32(root + 8)}, want ${want}`);
  const sum = pool.readU64(root + 16);
  const wantSum = (BigInt(n) * BigInt(n - 1)) / 2n;
  if (n > 0 && sum !== wantSum) problems.push(`sum ${sum}, want ${wantSum}`);
  let node = pool.readU32(root + 4);
  const seen = new Set<number>();
  for (let k = 0; k < want; k++) {
    const i = n - 1 - k;
    if (node === 0) { problems.push(`list ends after ${k} nodes, want ${want}`); break; }
    seen.add(node);
    if (!pool.isLive(node) || pool.typeOf(node) !== NODE_TYPE) { problems.push(`node ${k} at ${node} is not a live node`); break; }
    const size = nodeSize(i);
    if (pool.readU32(node + 4) !== i) problems.push(`node ${k}: seq ${pool.readU32(node + 4)}, want ${i}`);
    if (pool.readU32(node + 8) !== size - 12) problems.push(`node ${k}: len ${pool.readU32(node + 8)}, want ${size - 12}`);
    const bytes = pool.readBytes(node + 12, size - 12);
    const expect = payload(i, size - 12);
    if (!bytes.every((b, j) => b === expect[j])) problems.push(`node ${k} (seq ${i}): payload differs`);
    node = pool.readU32(node);
  }
  if (problems.length === 0 && node !== 0) problems.push(`list continues past ${want} nodes`);
  const live = [...pool.objects(NODE_TYPE)];
  if (live.length !== want || live.some((o) => !seen.has(o))) problems.push(`${live.length} live nodes, want exactly the ${want} in the list`);
  return problems;
}
