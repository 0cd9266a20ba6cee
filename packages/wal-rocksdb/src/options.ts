import { resolve as resolvePath } from 'node:path';
import type { RocksDbWalRepair } from './recovery.js';
import { describe, invalid, MAX_UINT32 } from './validation.js';

/** Options of {@link RocksDbWal}. Only `path` is required. */
export interface RocksDbWalOptions {
  /** Directory of the RocksDB database; created (with its parents) when missing. Required. */
  readonly path: string;
  /**
   * Honour `batch.sync` with a real fsync of RocksDB's log before `append` resolves (and sync `setMeta`
   * and the end of `close`). `false` never fsyncs: writes still survive the process dying (they are in
   * the kernel's page cache), not the machine dying. For benchmarks and tests. Default `true`.
   */
  readonly sync?: boolean;
  /**
   * Check the checksum of every stored record when opening, so that corruption anywhere stops the open
   * with a {@link WalCorruptionError} naming partition and index. When `false`, open checks only the last
   * batch (the one a crash can tear), and older damage is found by the read that meets it (which throws
   * the same error). Checking costs about one read of the whole log. Default `true`.
   */
  readonly verifyOnOpen?: boolean;
  /**
   * Called during `open` for each repair it made (a torn last batch cut, for example), before `open`
   * resolves; the same reports stay readable in {@link RocksDbWal.repairs}. An exception thrown here fails
   * the open (the repair itself is already done). Default: none.
   */
  readonly onRepair?: (repair: RocksDbWalRepair) => void;
  /** Most entries stored in one RocksDB record (a *run*); a write of more entries is split. Default 1024. */
  readonly maxRunEntries?: number;
  /** Size above which a run is split (an entry larger than this gets a run of its own). Default 1 MiB. */
  readonly maxRunBytes?: number;
  /**
   * Runs holding fewer entries than this (and at most 4 KiB) are *small*. A log written one entry per
   * batch would otherwise be one record per entry, and reading a million records costs seconds instead
   * of a fraction of one. Default 64.
   */
  readonly smallRunEntries?: number;
  /**
   * When an append adds runs to a partition right after this many small runs that this instance wrote,
   * the same RocksDB batch also rewrites those small runs as one run. Their bytes are kept in memory
   * (about `smallRunsToMerge` × 4 KiB per partition), so merging reads nothing. 0 never merges; 1 is
   * refused. Default 16.
   */
  readonly smallRunsToMerge?: number;
  /** Bytes RocksDB reads ahead per native round trip while iterating (`highWaterMark`). Default 1 MiB. */
  readonly readAheadBytes?: number;
  /** RocksDB's memtable size before a flush to a table file. Default 16 MiB. */
  readonly writeBufferSize?: number;
  /** RocksDB's block cache for reads of flushed data; 0 disables it. Default 8 MiB. */
  readonly cacheSize?: number;
  /** Snappy compression of RocksDB's table files. Default `true`. */
  readonly compression?: boolean;
}

const DEFAULTS = {
  sync: true,
  verifyOnOpen: true,
  maxRunEntries: 1024,
  maxRunBytes: 1024 * 1024,
  smallRunEntries: 64,
  smallRunsToMerge: 16,
  readAheadBytes: 1024 * 1024,
  writeBufferSize: 16 * 1024 * 1024,
  cacheSize: 8 * 1024 * 1024,
  compression: true,
} as const;


/** Largest run (in bytes) that counts as small and is kept in memory for merging. */
export const SMALL_RUN_BYTES = 4096;

/** The options with their defaults filled in, checked. */
export interface ResolvedOptions {
  readonly path: string;
  readonly sync: boolean;
  readonly verifyOnOpen: boolean;
  readonly onRepair: ((repair: RocksDbWalRepair) => void) | undefined;
  readonly maxRunEntries: number;
  readonly maxRunBytes: number;
  readonly smallRunEntries: number;
  readonly smallRunsToMerge: number;
  readonly readAheadBytes: number;
  readonly writeBufferSize: number;
  readonly cacheSize: number;
  readonly compression: boolean;
}

/** Checks `options` (throwing an InvalidArgumentError naming the bad one) and fills in the defaults. */
export function resolveOptions(options: RocksDbWalOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) invalid('RocksDbWal: options', 'must be an object with at least { path }');
  if (typeof options.path !== 'string' || options.path.length === 0) {
    invalid('RocksDbWal: options.path', `is required: the directory of the log (a non-empty string), got ${describe(options.path)}`);
  }
  if (options.onRepair !== undefined && typeof options.onRepair !== 'function') {
    invalid('RocksDbWal: options.onRepair', `must be a function, got ${describe(options.onRepair)}`);
  }
  const smallRunsToMerge = integerOption('smallRunsToMerge', options.smallRunsToMerge, DEFAULTS.smallRunsToMerge, 0, MAX_UINT32);
  if (smallRunsToMerge === 1) invalid('RocksDbWal: options.smallRunsToMerge', 'must be 0 (never merge) or at least 2, got 1');
  return {
    path: resolvePath(options.path),
    sync: booleanOption('sync', options.sync, DEFAULTS.sync),
    verifyOnOpen: booleanOption('verifyOnOpen', options.verifyOnOpen, DEFAULTS.verifyOnOpen),
    onRepair: options.onRepair,
    maxRunEntries: integerOption('maxRunEntries', options.maxRunEntries, DEFAULTS.maxRunEntries, 1, MAX_UINT32),
    maxRunBytes: integerOption('maxRunBytes', options.maxRunBytes, DEFAULTS.maxRunBytes, 1024, 1024 * 1024 * 1024),
    smallRunEntries: integerOption('smallRunEntries', options.smallRunEntries, DEFAULTS.smallRunEntries, 1, MAX_UINT32),
    smallRunsToMerge,
    readAheadBytes: integerOption('readAheadBytes', options.readAheadBytes, DEFAULTS.readAheadBytes, 1, MAX_UINT32),
    writeBufferSize: integerOption('writeBufferSize', options.writeBufferSize, DEFAULTS.writeBufferSize, 64 * 1024, MAX_UINT32),
    cacheSize: integerOption('cacheSize', options.cacheSize, DEFAULTS.cacheSize, 0, MAX_UINT32),
    compression: booleanOption('compression', options.compression, DEFAULTS.compression),
  };
}

function booleanOption(name: string, value: boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') invalid(`RocksDbWal: options.${name}`, `must be a boolean, got ${describe(value)}`);
  return value;
}

function integerOption(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    invalid(`RocksDbWal: options.${name}`, `must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

