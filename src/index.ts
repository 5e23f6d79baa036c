/// <reference types="node" preserve="true" />
// index.ts — the package entry for Node: the public API in one import.

import './node/env.js';

export { Pool, Tx, registerBackend } from './pool.js';
export type { PoolOptions, CreateOptions, OpenOptions, AllocOptions, PoolStats, PoolInfo, BackendOpener } from './pool.js';
export type { GroupCommitOptions } from './group.js';
export type { Backend, BackendKind, Durability } from './backends/backend.js';
export { MemoryBackend } from './backends/memory.js';
export { FileBackend } from './backends/file.js';
export { MappedBackend, MappedBackendError } from './backends/mapped.js';
export { CRASH_MODES, crashImage } from './crash/modes.js';
export type { CrashMode, CrashOptions } from './crash/modes.js';
export { Prng } from './prng.js';
export { POOL_BASE, MIN_POOL_SIZE, MAX_POOL_SIZE, CHUNK_SIZE, FORMAT_VERSION } from './layout.js';
export * from './errors.js';
export { explore, formatReport, parseSpec, caseSpec, replayCommand } from './crash/explore.js';
export type { ExploreOptions, ExploreReport, CrashCase, Choice, Failure, LevelReport, ReplaySpec, SpecCrash } from './crash/explore.js';
export { TracingBackend, recordTrace, dirtyLines, changedWordsPerDrain } from './crash/trace.js';
export type { Trace, Marker, DrainRecord, LineSet, RecordOptions } from './crash/trace.js';
export { linearizable, checkLinearizable, checkRerun, prefixKeys, progressOf, canonical, callLabel, returnLabel, LinearizabilityError } from './crash/linearizable.js';
export type { Model, LinearizableSpec } from './crash/linearizable.js';
export { recordOps, replayOps, OpLog, OpLogError, OPLOG_FORMAT } from './crash/oplog.js';
export type { OpEntry, RecordOpsOptions, ReplayOptions, ReplayResult } from './crash/oplog.js';
export { sha256 } from './crash/hash.js';
export { PVector, MAX_ELEM_SIZE } from './containers/vector.js';
export type { VectorOptions } from './containers/vector.js';
export { PBlob } from './containers/blob.js';
export { OrderedMap, ORDERED_MAP_KEY_MAX, compareKeys } from './containers/ordered-map.js';
export type { OrderedMapCreateOptions, RangeOptions, Entry } from './containers/ordered-map.js';
export { open, Store, RangeIterable, STORE_LAYOUT } from './store/store.js';
export type { StoreOptions, DatabaseOptions, StoreRangeOptions, StoreEntry, KeyEncoding } from './store/store.js';
export { encodeKey, decodeKey, MAX_KEY_SIZE } from './store/encoding.js';
export type { Key, KeyPart, ValueEncoding } from './store/encoding.js';
