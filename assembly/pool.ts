// pool.ts — create and open: the order in which the other modules start.
//
// open:   validate header (read-only) → walk the regions growth appended
//         (read-only) → validate chunk words (read-only)
//         → validate the undo log (read-only) and roll back its entries
//         → rebuild volatile heap indexes
//         (the host may refuse the pool here: its layout's own checks)
//         → finishOpen: move the log's seq on, free its chain, count the open
// create: write header + chunk table of FREE words + empty log, persist them all.
// Nothing is written to a pool that fails validation, or that the host
// refuses before finishOpen, but a rollback (done again by the next open):
// a bad file stays byte-identical, and the damaged word's offset is in
// errors.damageAt.

import { Code, clearDamage, noteDamage } from "./errors";
import { heapOff, bumpOpenCount, readHeader, writeHeader } from "./format";
import { discardPending, persist, resetFlushCounters } from "./flush";
import { initClasses } from "./classes";
import { chunkTableValid, rebuildHeap } from "./heap";
import { formatChunkTable, loadRegions } from "./table";
import { finishRecovery, formatLog, loadLog, recoverLog } from "./log";

export function createPool(size: u32, layoutLen: u32): Code {
  initClasses();
  writeHeader(size, layoutLen);
  formatChunkTable();
  formatLog();
  persist(0, heapOff);
  loadLog();
  return rebuildHeap() ? Code.OK : Code.CORRUPT_HEAP;
}

export function openPool(size: u32, layoutLen: u32): Code {
  // An instance may be reused for another image (crash exploration): forget
  // everything volatile from the previous one first.
  discardPending();
  resetFlushCounters();
  clearDamage();
  initClasses();
  const code = readHeader(size, layoutLen);
  if (code != Code.OK) return code;
  const badRegion = loadRegions();
  if (badRegion != 0) { noteDamage(badRegion); return Code.CORRUPT_HEAP; }
  if (!chunkTableValid()) return Code.CORRUPT_HEAP;
  const recovered = recoverLog();
  if (recovered != Code.OK) return recovered;
  return rebuildHeap() ? Code.OK : Code.CORRUPT_HEAP;
}

/**
 * The open's writes, once the host has accepted the pool (openPool left it
 * readable and wrote nothing but a rollback): the log moves on to a new
 * sequence number and the open is counted.
 */
export function finishOpen(): void {
  finishRecovery();
  bumpOpenCount();
}
