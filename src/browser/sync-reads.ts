// sync-reads.ts — the page's synchronous read channel to the pool worker,
// for a crossOriginIsolated page (SharedArrayBuffer exists there).
//
// A get that is alone in its page turn, with nothing else of the file in
// flight, asks through a SharedArrayBuffer instead of a message: the page
// encodes the key (the Store's key codec), sets the state to ASKED and
// wakes the worker (Atomics.notify), then polls the state until the worker
// answers with the value's stored bytes, which it decodes with the
// database's value codec. (The main thread may not Atomics.wait: it polls;
// the worker waits, and lingers 1 ms after an answer for the next request.) Other pages, and every other call, use messages.
// Owns: the buffer and its request/answer encoding (protocol.ts's SYNC).
// Invariants: at most one request at a time (the page is one thread); a
// request the worker declines (a database not used yet, a key the codec
// refuses, a value larger than the buffer, no pool) or does not answer
// within SYNC_PATIENCE_MS gives null, and the caller sends the call as a
// message — which answers it, errors included, exactly as before. After a
// timeout no request is made until the late answer has come (it must not be
// taken for the next request's).

import type { DatabaseOptions } from '../store/store.js';
import { encodeKey, valueCodec, type ValueCodec } from '../store/encoding.js';
import { SYNC, SYNC_ANSWERED, SYNC_ASKED, SYNC_FOUND, SYNC_MISSING } from './protocol.js';

/** How long a get waits for the worker's answer before it goes as a message instead. */
const SYNC_PATIENCE_MS = 50;

const utf8 = new TextEncoder();

/** What a sync read came to: found (with the value), missing, or null: send it as a message. */
export type SyncRead = { value: unknown } | null;

/** `key`'s bytes in `db`, or null when the key codec refuses it. */
function keyOf(db: DatabaseOptions, key: unknown): Uint8Array | null {
  if (db.keyEncoding === 'binary') return key instanceof Uint8Array ? key : null;
  try {
    return encodeKey(key);
  } catch {
    return null;
  }
}

const optionBytes = new WeakMap<DatabaseOptions, Uint8Array>();

/** `db`'s options as the worker reads them (JSON, UTF-8), made once per database. */
function optionsOf(db: DatabaseOptions): Uint8Array {
  let bytes = optionBytes.get(db);
  if (!bytes) optionBytes.set(db, bytes = utf8.encode(JSON.stringify({ name: db.name ?? null, encoding: db.encoding, keyEncoding: db.keyEncoding })));
  return bytes;
}

const codecs = new Map<unknown, ValueCodec>();

/** The value codec of `encoding`, made once. */
function codecOf(encoding: unknown): ValueCodec {
  let codec = codecs.get(encoding);
  if (!codec) codecs.set(encoding, codec = valueCodec(encoding));
  return codec;
}

export class SyncReads {
  readonly buffer = new SharedArrayBuffer(SYNC.DATA + SYNC.BYTES);
  private readonly ctl = new Int32Array(this.buffer, 0, 4);
  private readonly data = new Uint8Array(this.buffer, SYNC.DATA);
  /** A request timed out and its answer has not come yet: no new request until it has. */
  private late = false;

  /** Can this page share memory with its worker? */
  static get available(): boolean {
    return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
  }

  /** The value of `key` in `db`, read through the buffer; null when it must go as a message. */
  get(db: DatabaseOptions, key: unknown): SyncRead {
    if (this.late && Atomics.load(this.ctl, SYNC.STATE) !== SYNC_ANSWERED) return null;
    this.late = false;
    const request = this.request(db, key);
    if (!request) return null;
    this.data.set(request);
    Atomics.store(this.ctl, SYNC.LENGTH, request.length);
    Atomics.store(this.ctl, SYNC.STATE, SYNC_ASKED);
    Atomics.notify(this.ctl, SYNC.STATE);
    const until = performance.now() + SYNC_PATIENCE_MS;
    while (Atomics.load(this.ctl, SYNC.STATE) !== SYNC_ANSWERED) {
      if (performance.now() > until) {
        this.late = true;
        return null;
      }
    }
    const status = Atomics.load(this.ctl, SYNC.STATUS);
    if (status === SYNC_MISSING) return { value: undefined };
    if (status !== SYNC_FOUND) return null;
    return { value: codecOf(db.encoding).decode(this.data.slice(0, Atomics.load(this.ctl, SYNC.LENGTH))) };
  }

  /** The request's bytes, or null when this page cannot encode it (the worker's message path then answers, errors included). */
  private request(db: DatabaseOptions, key: unknown): Uint8Array | null {
    const keyBytes = keyOf(db, key);
    if (!keyBytes) return null;
    const options = optionsOf(db);
    if (2 + options.length + keyBytes.length > this.data.length) return null;
    const out = new Uint8Array(2 + options.length + keyBytes.length);
    out[0] = options.length & 0xff;
    out[1] = options.length >> 8;
    out.set(options, 2);
    out.set(keyBytes, 2 + options.length);
    return out;
  }
}
