// Shared helpers for pheap benchmarks: median, a calibrated ops/s measurement
// and one table format. Every row names its durability level (docs/durability.md:
// "Name the level in every benchmark row").

/** The durability levels (docs/durability.md): fsync (reaches the device), os (survives a
 * process crash, not a power cut), none (volatile). */
export type Durability = 'fsync' | 'os' | 'none';

export interface Row {
  case: string;
  /** e.g. 'wasm/memory', 'ts/memory', 'pmdk', 'tlsf', 'file'. */
  backend: string;
  durability: Durability;
  /** Throughput; give this or usPerOp. */
  opsPerSec?: number;
  /** Latency per op in µs, for cases better read as latency (durable commit). */
  usPerOp?: number;
  /** What this row is compared with, e.g. 'pmdk tx_snapshot_64'. */
  anchor?: string;
  anchorOpsPerSec?: number | null;
  /** Further figures of the row (printed in a last column when any row has one). */
  note?: string;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface MeasureOptions {
  /** Timed runs; the median is reported (default 5). */
  runs?: number;
  /** Minimum duration of one run; n is calibrated to reach it (default 200). */
  minTimeMs?: number;
}

export interface Measurement {
  opsPerSec: number;
  /** ops/s of each timed run. */
  runs: number[];
  /** ops per run. */
  n: number;
}

/**
 * `fn(n)` performs n operations. The first calls double n until one call
 * takes at least minTimeMs (this is also the warm-up); then `runs` timed calls
 * with that n follow. Returns every run and the median ops/s.
 */
export function measureRuns(fn: (n: number) => unknown, opts: MeasureOptions = {}): Measurement {
  const runs = opts.runs ?? 5;
  const minMs = opts.minTimeMs ?? 200;
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    fn(n);
    const ms = performance.now() - t0;
    if (ms >= minMs) break;
    // Jump close to the target once a call is long enough to time reliably.
    n = ms > 10 ? Math.ceil((n * minMs * 1.1) / ms) : n * 2;
  }
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn(n);
    rates.push((n * 1000) / (performance.now() - t0));
  }
  return { opsPerSec: median(rates), runs: rates, n };
}

/** Median ops/s of `fn(n)` (see measureRuns). */
export function measure(fn: (n: number) => unknown, opts: MeasureOptions = {}): number {
  return measureRuns(fn, opts).opsPerSec;
}

/** A throughput for a table cell: "1.23 M/s", "45.6 k/s", "7.0 /s" ("-" when not finite). */
export function rate(x: number): string {
  if (!Number.isFinite(x)) return '-';
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M/s`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k/s`;
  return `${x.toFixed(1)} /s`;
}

function opsOf(r: Row): number {
  if (r.opsPerSec !== undefined) return r.opsPerSec;
  if (r.usPerOp !== undefined) return 1e6 / r.usPerOp;
  return NaN;
}

/** Formats rows as a fixed-width table, prints it to stdout, returns it.
 * ratio = row ops/s ÷ anchor ops/s (> 1 means faster than the anchor). */
export function printTable(rows: readonly Row[], title?: string): string {
  const notes = rows.some((r) => r.note !== undefined);
  const head = ['case', 'backend', 'durability', 'ops/s (or µs)', 'anchor', 'anchor ops/s', 'ratio', ...(notes ? ['note'] : [])];
  const body = rows.map((r) => {
    if (!r.durability) throw new Error(`row ${r.case}: durability level missing`);
    const ops = opsOf(r);
    const a = r.anchorOpsPerSec ?? NaN;
    return [
      r.case,
      r.backend,
      r.durability,
      r.opsPerSec === undefined && r.usPerOp !== undefined ? `${r.usPerOp.toFixed(2)} µs` : rate(ops),
      r.anchor ?? '',
      r.anchor ? rate(a) : '',
      r.anchor && Number.isFinite(a) && Number.isFinite(ops) ? `${(ops / a).toFixed(2)}×` : '',
      ...(notes ? [r.note ?? ''] : []),
    ];
  });
  return printGrid(head, body, (i) => i >= 3 && i !== 4 && i !== 7, title);
}

/** Prints cells as a fixed-width table under `head` (columns where `right(i)` are right-aligned), returns it. */
export function printGrid(head: readonly string[], body: readonly string[][], right: (column: number) => boolean, title?: string): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (right(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [
    ...(title ? [title] : []),
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
  ].join('\n');
  console.log(out);
  return out;
}
