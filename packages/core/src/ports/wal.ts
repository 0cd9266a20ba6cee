import type { Entry } from '../raft/entry.js';
import type { HardState, LogBase } from '../raft/state.js';

export type { LogBase };

/** What one partition writes in a WAL batch. */
export interface WalPartitionWrite {
  readonly partition: number;
  /**
   * A snapshot was installed: removes every stored entry of this partition and makes `snapshot` its
   * base (what {@link Wal.logBase} returns). Applied before `entries`, which must then start at
   * `snapshot.index + 1` when present.
   */
  readonly snapshot?: LogBase;
  /**
   * Entries in ascending, contiguous index order. Writing entries that start at index i first removes
   * every stored entry of this partition with index ≥ i (a leader overwrote a conflicting suffix). While
   * the partition holds entries a write starts at most at `lastIndex + 1`; an empty partition (new, or
   * compacted empty) may be written from any index above its base.
   */
  readonly entries: readonly Entry[];
  /** Replaces the partition's stored hard state when present. */
  readonly hardState?: HardState;
}

/** An atomic batch: after a crash either all of it is visible or none of it. */
export interface WalBatch {
  readonly writes: readonly WalPartitionWrite[];
  /** Make the batch, and every batch before it, durable (fsync) before the returned promise resolves; also when `writes` is empty. */
  readonly sync: boolean;
}

/**
 * The write-ahead log port. One instance serves every partition of a node; the runtime's WAL scheduler
 * hands it one batch holding the writes of many partitions (group commit) and never issues two
 * `append` calls at once. Every method may be called only between `open` and `close`.
 */
export interface Wal {
  /** Opens (or creates) the log. Fails with an error naming the problem when the log is corrupt or held by another process. */
  open(): Promise<void>;
  /** Applies one batch atomically; see {@link WalBatch}. */
  append(batch: WalBatch): Promise<void>;
  /** Entries of `partition` with `from ≤ index ≤ to`, ascending; indexes outside the retained range are skipped. */
  readEntries(partition: number, from: number, to: number): Promise<Entry[]>;
  /** The partition's hard state, or `undefined` if it never wrote one. */
  readHardState(partition: number): Promise<HardState | undefined>;
  /** First retained index of `partition` (0 when it has no entries). */
  firstIndex(partition: number): Promise<number>;
  /** Last stored index of `partition` (0 when it has no entries). */
  lastIndex(partition: number): Promise<number>;
  /** Term of the entry at `index`, or `undefined` when it is not retained. */
  term(partition: number, index: number): Promise<number | undefined>;
  /**
   * Removes the entries of `partition` with index ≤ `through` (compaction below a checkpoint) and records
   * (`through`, term of `through`) as the partition's base. `through` past the last index is clamped to
   * it; at or below the current base nothing changes. Atomic (entries and base change together after a
   * crash, or neither); it may become durable only with the next synced append or `close`.
   */
  compact(partition: number, through: number): Promise<void>;
  /** The partition's base: see {@link LogBase}. Survives reopen like entries do. */
  logBase(partition: number): Promise<LogBase>;
  /** Partitions that have any stored entries, hard state or base. */
  partitions(): Promise<number[]>;
  /** Node-local metadata (small values) under `key`. */
  getMeta(key: string): Promise<Uint8Array | undefined>;
  /** Durable when the promise resolves. */
  setMeta(key: string, value: Uint8Array): Promise<void>;
  /** Flushes and releases the log; further calls fail. */
  close(): Promise<void>;
}
