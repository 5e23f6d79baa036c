// Operation logs: record what a program does through the Pool API, replay it
// onto a fresh pool, get a byte-identical pool file on every backend.

import { describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Command } from 'commander';
import { OpLog, OpLogError, OutOfSpaceError, recordOps, replayOps, sha256, TxAbortedError, type Pool } from '../src/index.js';
import { registerReplay, runReplay } from '../src/cli/replay.js';

const hashOf = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A workload touching every logged operation, including errors, aborts and a simulated crash. */
function workload(pool: Pool): void {
  const root = pool.root(64);
  const a = pool.alloc(100, { type: 1, zero: true, into: root });
  pool.writeU8(a, 1); pool.writeU16(a + 2, 0xbeef); pool.writeU32(a + 4, 0xdeadbeef); pool.writeI32(a + 8, -5);
  pool.writeU64(a + 16, 0xffff_ffff_ffff_fffen); pool.writeF64(a + 24, -0); pool.writeF64(a + 32, NaN);
  pool.writeBytes(a + 40, new Uint8Array([1, 2, 3, 4, 5]));
  pool.flush(a, 8); pool.drain(); pool.persist(a + 8, 40);
  pool.tx((tx) => {
    tx.setU32(root + 4, 7);
    const b = tx.alloc(300, { type: 2 });
    pool.writeU32(b, 42);
    tx.setU32(root + 8, b);
    pool.tx((inner) => inner.setU64(root + 16, 9n)); // nested: flattens
  });
  expect(() => pool.tx((tx) => { tx.setU32(root + 4, 8); throw new Error('changed my mind'); })).toThrow('changed my mind');
  expect(() => pool.tx(() => {
    try { pool.tx(() => { throw new Error('inner'); }); } catch { /* swallowed: the outer commit must fail */ }
  })).toThrow(TxAbortedError);
  expect(() => pool.alloc(pool.info().maxSize)).toThrow(OutOfSpaceError); // more than the pool may grow to
  pool.beginTx(); pool.addRange(root + 20, 4); pool.writeU32(root + 20, 5); pool.commitTx();  // the step-by-step API
  pool.beginTx(); pool.addRange(root + 20, 4); pool.writeU32(root + 20, 6); pool.abortTx();
  expect(() => pool.commitTx()).toThrow();                                                     // no open transaction
  const c = pool.realloc(pool.readU32(root + 8), 5000, { into: root + 8 });
  pool.writeU32(c + 4000, 1);                      // stored, not flushed:
  pool.free(a, { from: root });
  const crashed = pool.crash({ mode: 'evict', seed: 3 }); // may keep it or not, by seed
  expect(crashed).toBe(pool);                      // the recorded pool follows the crash
  pool.alloc(64, { type: 3, into: root + 12 });
  pool.tx((tx) => tx.setU32(root + 4, pool.readU32(root + 4) + 1));
}

function record(seed = 5) {
  const { pool, log } = recordOps({ size: 1 << 20, layout: 'replay-test', seed, evicts: true }) // pmem model: the workload crashes in evict mode;
  workload(pool);
  const image = pool.durableImage();
  pool.close();
  return { log, image };
}

describe('operation log', () => {
  it('records every change as a JSON line, with results and errors', () => {
    const { log } = record();
    const ops = log.entries.map((e) => e.op);
    for (const op of ['create', 'root', 'alloc', 'write', 'flush', 'drain', 'persist', 'txBegin', 'addRange', 'txCommit', 'txAbort',
      'beginTx', 'commitTx', 'abortTx', 'realloc', 'free', 'crash', 'close']) {
      expect(ops, op).toContain(op);
    }
    expect(log.entries[0]).toEqual({ op: 'create', format: 'pheap-oplog/1', size: 1 << 20, layout: 'replay-test', seed: 5, evicts: true });
    expect(log.entries.find((e) => e.op === 'alloc' && e.error === 'OutOfSpaceError')).toBeDefined();
    expect(log.entries.find((e) => e.op === 'txCommit' && e.error === 'TxAbortedError')).toBeDefined();
    expect(log.entries.find((e) => e.op === 'write' && e.type === 'u64')).toMatchObject({ value: '18446744073709551614' });
    expect(log.entries.filter((e) => e.op === 'write' && e.type === 'f64').map((e) => (e as { value: string }).value))
      .toEqual(['0000000000000080', '000000000000f87f']); // -0 and NaN survive as bytes
    const text = log.toJSONL();
    expect(text.split('\n').filter(Boolean)).toHaveLength(log.entries.length);
    expect(OpLog.parse(text)).toEqual(log.entries);
  });

  it('replays byte-identically on the memory and file backends, every time', () => {
    const { log, image } = record();
    const text = log.toJSONL();
    const mem1 = replayOps(text);
    const mem2 = replayOps(text);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pheap-replay-test-'));
    try {
      const file = path.join(dir, 'a.pool');
      const onFile = replayOps(text, { backend: 'file', path: file, durability: 'os' });
      expect(hashOf(fs.readFileSync(file))).toBe(onFile.sha256);
      expect(mem1.sha256).toBe(hashOf(image)); // the recorded pool's own durable image
      expect(mem2.sha256).toBe(mem1.sha256);
      expect(onFile.sha256).toBe(mem1.sha256);
      expect(sha256(mem1.image)).toBe(mem1.sha256);
      console.log(`replay: ${mem1.entries} entries → sha256 ${mem1.sha256} (memory and file)`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a different seed gives a different pool (the UUID), the same log gives the same one', () => {
    expect(replayOps(record(5).log.entries).sha256).not.toBe(replayOps(record(6).log.entries).sha256);
  });

  it('rejects a log whose results differ from the replay, naming the entry', () => {
    const { log } = record();
    const entries = structuredClone(log.entries);
    const i = entries.findIndex((e) => e.op === 'alloc' && !e.error);
    (entries[i] as { ret: number }).ret += 16;
    expect(() => replayOps(entries)).toThrow(new RegExp(`entry ${i} .*alloc: returned \\d+, the recording returned`));
    const noErr = structuredClone(log.entries);
    const j = noErr.findIndex((e) => e.error === 'OutOfSpaceError');
    delete noErr[j].error;
    expect(() => replayOps(noErr)).toThrow(OpLogError);
    expect(() => replayOps('{"op":"alloc","size":1}\n')).toThrow(/starts with a "create"/);
    expect(() => replayOps('not json\n')).toThrow(/line 1/);
  });
});

describe('pheap replay', () => {
  it('prints the same SHA-256 for both backends and writes the pool file with --out', async () => {
    const { log } = record();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pheap-replay-cli-'));
    try {
      const logPath = path.join(dir, 'ops.jsonl');
      fs.writeFileSync(logPath, log.toJSONL());
      const m = runReplay(logPath, { backend: 'memory', out: path.join(dir, 'm.pool') });
      const f = runReplay(logPath, { backend: 'file', out: path.join(dir, 'f.pool') });
      const t = runReplay(logPath, { backend: 'file' });
      expect(f.sha256).toBe(m.sha256);
      expect(t.sha256).toBe(m.sha256);
      expect(hashOf(fs.readFileSync(path.join(dir, 'm.pool')))).toBe(m.sha256);
      expect(fs.readFileSync(path.join(dir, 'f.pool')).equals(fs.readFileSync(path.join(dir, 'm.pool')))).toBe(true);
      expect(() => runReplay(logPath, { backend: 'file', out: path.join(dir, 'f.pool') })).toThrow(); // exists
      expect(() => runReplay(logPath, { backend: 'opfs' })).toThrow(/memory or file/);

      // through commander, as `pheap replay <log> --backend file`
      const out: string[] = [];
      const spy = vi.spyOn(console, 'log').mockImplementation((s: string) => { out.push(s); });
      try {
        const program = new Command('pheap').exitOverride();
        registerReplay(program);
        await program.parseAsync(['replay', logPath, '--backend', 'file'], { from: 'user' });
      } finally {
        spy.mockRestore();
      }
      expect(out.join('\n')).toBe(`replayed ${m.entries} log entries (file backend)\nsha256 ${m.sha256}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
