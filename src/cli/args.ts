// args.ts — the CLI's argument parsers: sizes, integers, byte ranges, ports.
//
// Owns: turning option strings into numbers, and refusing any string that is
// not exactly one (a typed error, never a guess: "12abc", "1.5", "", " 8"
// and values past 2^53 are refused).
// Invariants: pure functions of their arguments; they throw only
// InvalidArgumentError (not a number of the right form), InvalidSizeError
// (a pool size out of range) or OffsetError (a range outside the pool).

import { InvalidArgumentError, InvalidSizeError, OffsetError } from '../index.js';
import { checkPoolSize } from '../format.js';

const UNITS: Record<string, number> = { '': 1, K: 1 << 10, M: 1 << 20, G: 1 << 30 };

/** A pool size: bytes, or a number with K, M or G (binary: 64K = 65536; KiB, MB and the like are accepted). */
export function parseSize(text: string): number {
  const m = /^(\d+)(?:([KMG])(?:i?B)?)?$/i.exec(text);
  if (!m) throw new InvalidArgumentError(`--size "${text}" is not a size: give bytes or a number with K, M or G (e.g. 1M)`);
  const size = Number(m[1]) * UNITS[(m[2] ?? '').toUpperCase()];
  if (!Number.isSafeInteger(size)) throw new InvalidSizeError(`--size "${text}" is far too large`);
  checkPoolSize(size);
  return size;
}

/** A non-negative integer written in decimal or hex (0x...); `what` names it in the message. */
export function parseInteger(text: string, what: string): number {
  const ok = /^(?:0x[0-9a-f]+|\d+)$/i.test(text);
  const n = ok ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`${what} "${text}" is not an integer (decimal, or hex with 0x)`);
  return n;
}

/** A byte range `off:len` (each decimal or hex) that must lie inside a pool of `size` bytes, len >= 1. */
export function parseRange(text: string, size: number): { offset: number; length: number } {
  const parts = text.split(':');
  if (parts.length !== 2) throw new InvalidArgumentError(`--range "${text}" is not off:len (e.g. 0x1000:256)`);
  const offset = parseInteger(parts[0], '--range offset');
  const length = parseInteger(parts[1], '--range length');
  if (length < 1 || offset >= size || length > size - offset) {
    throw new OffsetError(`--range ${text} is outside the pool: it must lie in [0, ${size}) with a length of at least 1`);
  }
  return { offset, length };
}

/** A TCP port: an integer in [0, 65535] (0: any free port). */
export function parsePort(text: string): number {
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new InvalidArgumentError(`port "${text}" is not a port number: give an integer from 0 to 65535 with -p <port> or PORT`);
  }
  return port;
}
