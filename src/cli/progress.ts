// progress.ts — the CLI's progress bars (cli-progress), in one place.
//
// Owns: deciding whether a bar is shown, and the bar's look.
// Invariants: a bar is drawn only on a stream that says it is a TTY (stderr
// by default), never with --json, and never for work smaller than `minTotal`
// (it would only flash). Otherwise every call is a no-op and nothing at all
// is written, so piped or scripted output stays clean. stdout is never used.

import { SingleBar } from 'cli-progress';

/** A progress report for one piece of work; `done` is in the same unit as the total. */
export interface Progress {
  update(done: number): void;
  /** End the work: the bar is cleared from the terminal. */
  stop(): void;
}

export interface ProgressOptions {
  /** The command's --json: machine output, no bar. */
  json?: boolean;
  /** Where the bar goes (default process.stderr); shown only if `isTTY` is true. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Work below this total shows no bar (default 0: any). */
  minTotal?: number;
  /** The work is counted in bytes: the bar shows MiB. */
  bytes?: boolean;
}

/** cli-progress's value formatter: `value` and `total` in MiB for byte counts, else as they are. */
function valueFormatter(bytes: boolean | undefined): (v: number, _o: unknown, kind: string) => string {
  return (v, _o, kind) => (bytes && (kind === 'value' || kind === 'total') ? `${(v / (1 << 20)).toFixed(1)} MiB` : String(v));
}

const SILENT: Progress = { update() {}, stop() {} };

/**
 * A bar labelled `label` for `total` units of work, or a silent Progress
 * (see the invariants above). `total` may be a function: it is called only
 * when a bar could be drawn, so work done only to size the bar is skipped
 * when there is no terminal or --json is given.
 */
export function progress(label: string, total: number | (() => number), opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.json || stream.isTTY !== true) return SILENT;
  if (typeof total === 'function') total = total();
  if (total < (opts.minTotal ?? 0) || total <= 0) return SILENT;
  const bar = new SingleBar({
    stream,
    format: `${label} [{bar}] {percentage}% | {value}/{total}`,
    clearOnComplete: true,
    hideCursor: true,
    formatValue: valueFormatter(opts.bytes),
  });
  bar.start(total, 0);
  return {
    update: (done) => bar.update(done),
    stop: () => bar.stop(),
  };
}
