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
// Members whose result is known to be `true` (the Store's put and remove)
// may share one promise per batch (submitShared), as lmdb-js's puts do:
// no promise and no record of their own.
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

/** The one promise of a batch's shared members (submitShared). */
interface Shared {
  promise: Promise<true>;
  resolve: (v: true) => void;
  reject: (e: unknown) => void;
}

function shared(): Shared {
  let resolve!: (v: true) => void, reject!: (e: unknown) => void;
  const promise = new Promise<true>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

/** Why a member did not join: run it again (the log filled up), or it failed. */
const RETRY = Symbol('retry');
const FAILED = Symbol('failed');

/** Run `fn` when the event loop turns (setImmediate where it exists: Node; else a 0 ms timer). */
const nextTurn: (fn: () => void) => unknown = typeof setImmediate === 'function' ? setImmediate : (fn) => setTimeout(fn, 0);

export class GroupCommit {
  private members: Member[] = [];
  /** The open batch's shared promise (made by its first shared member), and how many members share it. */
  private shared: Shared | null = null;
  private sharing = 0;
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

  /** Members in the open batch. */
  private get size(): number { return this.members.length + this.sharing; }

  /** Run `fn` now as a member of the open batch (opening one); its promise settles as the invariants say. */
  submit<T>(fn: () => T): Promise<T> {
    const ran = this.run(fn);
    if (ran.failed) return ran.failed === RETRY ? this.submit(fn) : Promise.reject(ran.error);
    const settled = new Promise<T>((resolve, reject) => {
      this.members.push({ value: ran.value, resolve: resolve as (v: unknown) => void, reject });
    });
    this.added();
    return settled;
  }

  /** As submit, for a member whose result is `true`: the promise is the batch's, shared with its other such members. */
  submitShared(fn: () => unknown): Promise<true> {
    const ran = this.run(fn);
    if (ran.failed) return ran.failed === RETRY ? this.submitShared(fn) : Promise.reject(ran.error);
    const batch = this.shared ??= shared();
    this.sharing++;
    this.added();
    return batch.promise;
  }

  /**
   * Run `fn` as a member (opening a batch if none is). If the log filled up
   * in a batch that already holds other transactions (fn's own changes are
   * rolled back), those commit and RETRY says to run fn again, first in a
   * batch of its own.
   */
  private run<T>(fn: () => T): { failed?: undefined; value: T } | { failed: typeof RETRY | typeof FAILED; error?: unknown } {
    if (!this.open) {
      this.host.openBatch();
      this.open = true;
    }
    try {
      return { value: this.host.runMember(fn) };
    } catch (e) {
      if (!this.open) return { failed: FAILED, error: e }; // the pool closed (or crashed) inside fn: abandon() settled the batch
      if (e instanceof LogFullError && this.size > 0) { this.commit(); return { failed: RETRY }; }
      if (this.size === 0) { this.open = false; this.host.abortBatch(); } // nothing else in the batch
      return { failed: FAILED, error: e };
    }
  }

  /** A member joined: commit at maxBatch, else make sure the batch commits soon. */
  private added(): void {
    if (this.size >= this.maxBatch) this.commit();
    else this.schedule();
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
    const members = this.members, batch = this.shared;
    this.members = [];
    this.shared = null;
    this.sharing = 0;
    this.open = false;
    try {
      this.host.commitBatch();
    } catch (e) {
      for (const m of members) m.reject(e);
      batch?.reject(e);
      throw e;
    }
    for (const m of members) m.resolve(m.value);
    batch?.resolve(true);
  }

  /** The pool closed or crashed with the batch open: nothing of it was committed. */
  abandon(why: 'closed' | 'crashed'): void {
    if (!this.open) return;
    const err = why === 'closed'
      ? new PoolClosedError()
      : new TxStateError('the pool crashed before this transaction\'s batch was committed; recovery rolled it back');
    for (const m of this.members) m.reject(err);
    this.shared?.reject(err);
    this.members = [];
    this.shared = null;
    this.sharing = 0;
    this.open = false;
  }
}
