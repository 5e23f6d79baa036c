// Types for bench/pmdk/run.mjs, so TypeScript benchmarks can import it.
export interface PmdkResult {
  /** Median ops/s over the runs. */
  opsPerSec: number;
  /** ops/s of each run. */
  runs: number[];
}

export interface PmdkOptions {
  /** Harness runs; the median is reported (default 5). */
  runs?: number;
  /** Ops per small-object case (harness default 200000). */
  ops?: number;
  /** Transactions per tx case (harness default 200000). */
  txOps?: number;
  /** Ops for alloc_free_large (harness default 20000). */
  largeOps?: number;
  /** Objects alive at once in the alloc cases (harness default 1000). */
  batch?: number;
  seed?: number;
  /** Only these cases (names as in PMDK_CASES). */
  cases?: string[];
  /** Where notices go (default console.error). */
  log?: (line: string) => void;
}

export type PmdkCase =
  | 'alloc_free_64_lifo'
  | 'alloc_free_64_random'
  | 'alloc_free_mixed'
  | 'alloc_free_large'
  | 'alloc_64'
  | 'free_64'
  | 'alloc_64_publish'
  | 'free_64_publish'
  | 'tx_snapshot_64'
  | 'tx_snapshot_8x64'
  | 'tx_alloc_64_publish';

export const PMDK_ANCHORS: Partial<Record<PmdkCase, number>>;
export const PMDK_CASES: Record<PmdkCase, string>;
export function pmdkPresent(): Promise<boolean>;
export function buildHarness(opts?: { log?: (line: string) => void }): Promise<string>;
/** null when libpmemobj or gcc is missing (a one-line notice is logged). */
export function runPmdk(opts?: PmdkOptions): Promise<null | Record<string, PmdkResult>>;
