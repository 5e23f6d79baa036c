// group.ts — group commit: many transactions, one commit protocol.
//
// Owns the batching behind Pool.txAsync(fn). A batch is one core
// transaction (the batch level); each member runs at once, one level below
// it, after a savepoint (core txSavepoint): if its function throws, the core
// rolls back to the savepoint only — that member's snapshots restored, its
// allocations released — and the batch goes on. The batch commits once,
// with the ordinary commit protocol, when the event loop turns (or after
// `maxDelayMs`, or at `maxBatch` members, or when the pool needs it: a
// synchronous tx()/beginTx() at the top level, close()). Then every member's
// promise resolves: its transaction is durable at the pool's level.
//
// Invariants:
//   - a member's promise resolves only after the commit protocol of its
//     batch returned (so it is durable), and rejects only with the error its
//     function threw (then nothing of it remains), or with the error that
//     made the whole batch fail (then nothing of the batch remains);
//   - batches commit in the order they were opened, each all-or-nothing: a
//     crash leaves a prefix of the batches;
//   - at most one batch is open, and only while the pool is not inside
//     another transaction.

import { LogFullError, PoolClosedError, TxStateError } from './errors.js';

/** Limits of one batch (PoolOptions.groupCommit). */
export interface GroupCommitOptions {
  /** Commit when the batch holds this many transactions (default 1024). */
  maxBatch?: number;
  /** Wait this long (ms) for more transactions before committing (default 0: when the event loop turns). */
  maxDelayMs?: number;
}

/** What the batcher needs of its pool. */
export interface BatchHost {
  /** Open the batch level (a core transaction the batcher owns). */
  openBatch(): void;
  /** Run `fn` as a member: savepoint, a level below the batch, commit that level; on a throw, roll back to the savepoint and rethrow. */
  runMember<T>(fn: () => T): T;
  /** Commit the batch level: the one commit protocol. Throws (the whole batch rolled back) when the commit fails. */
  commitBatch(): void;
  /** Abort the batch level (it holds no member: only a failed one's rolled-back work). */
  abortBatch(): void;
}

interface Member {
  value: unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Run `fn` when the event loop turns (setImmediate where it exists: Node; else a 0 ms timer). */
const nextTurn: (fn: () => void) => unknown = typeof setImmediate === 'function' ? setImmediate : (fn) => setTimeout(fn, 0);

export class GroupCommit {
  private members: Member[] = [];
  private open = false;
  /** A timer or immediate is set to commit the open batch. */
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;

  constructor(private readonly host: BatchHost, opts: GroupCommitOptions = {}) {
    this.maxBatch = opts.maxBatch ?? 1024;
    this.maxDelayMs = opts.maxDelayMs ?? 0;
  }

  /** Is a batch open? */
  get isOpen(): boolean { return this.open; }

  /** Run `fn` now as a member of the open batch (opening one); its promise settles as the invariants say. */
  submit<T>(fn: () => T): Promise<T> {
    if (!this.open) {
      this.host.openBatch();
      this.open = true;
    }
    let value: T;
    try {
      value = this.host.runMember(fn);
    } catch (e) {
      if (!this.open) return Promise.reject(e); // the pool closed (or crashed) inside fn: abandon() settled the batch
      if (e instanceof LogFullError && this.members.length > 0) return this.retryAlone(fn);
      if (this.members.length === 0) { this.open = false; this.host.abortBatch(); } // nothing else in the batch
      return Promise.reject(e);
    }
    const settled = new Promise<T>((resolve, reject) => {
      this.members.push({ value, resolve: resolve as (v: unknown) => void, reject });
    });
    if (this.members.length >= this.maxBatch) this.commit();
    else this.schedule();
    return settled;
  }

  /**
   * The log filled up while `fn` ran in a batch that already holds other
   * transactions (its own changes are rolled back): commit those, then run
   * `fn` again, first in a batch of its own.
   */
  private retryAlone<T>(fn: () => T): Promise<T> {
    this.commit();
    return this.submit(fn);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = () => { this.scheduled = false; if (this.open) this.commit(); };
    if (this.maxDelayMs > 0) setTimeout(run, this.maxDelayMs);
    else nextTurn(run);
  }

  /** Commit the open batch now (if any) and settle its members' promises. */
  commit(): void {
    if (!this.open) return;
    const members = this.members;
    this.members = [];
    this.open = false;
    try {
      this.host.commitBatch();
    } catch (e) {
      for (const m of members) m.reject(e);
      throw e;
    }
    for (const m of members) m.resolve(m.value);
  }

  /** The pool closed or crashed with the batch open: nothing of it was committed. */
  abandon(why: 'closed' | 'crashed'): void {
    if (!this.open) return;
    const err = why === 'closed'
      ? new PoolClosedError()
      : new TxStateError('the pool crashed before this transaction\'s batch was committed; recovery rolled it back');
    for (const m of this.members) m.reject(err);
    this.members = [];
    this.open = false;
  }
}
