/** Stable codes of {@link SqliteWalError}, for programmatic checks. */
export const SqliteWalErrorCode = {
  /** A stored record fails its checksum or is not where it belongs; `partition` and `index` say which. */
  corrupt: 'ERR_KOMMANDER_WAL_CORRUPT',
  /** Another process (or another open SqliteWal in this one) holds the database. */
  locked: 'ERR_KOMMANDER_WAL_LOCKED',
  /** The file is not a Kommander WAL, or was written by a newer schema version. */
  incompatible: 'ERR_KOMMANDER_WAL_INCOMPATIBLE',
  /** The call came before `open()` or after `close()`, or `open()` was called twice. */
  notOpen: 'ERR_KOMMANDER_WAL_NOT_OPEN',
  /** The worker thread that runs SQLite stopped; the instance is closed. */
  workerStopped: 'ERR_KOMMANDER_WAL_WORKER_STOPPED',
  /** SQLite or the file system failed (disk full, I/O error, permissions…). */
  storage: 'ERR_KOMMANDER_WAL_STORAGE',
} as const;
export type SqliteWalErrorCode = (typeof SqliteWalErrorCode)[keyof typeof SqliteWalErrorCode];

/** What {@link SqliteWal} rejects with (argument errors excepted: those are core's `InvalidArgumentError`). */
export class SqliteWalError extends Error {
  override readonly name = 'SqliteWalError';
  constructor(
    readonly code: SqliteWalErrorCode,
    message: string,
    /** The partition of a corrupt record, when known. */
    readonly partition?: number,
    /** The index of a corrupt entry record, when the record is an entry's. */
    readonly index?: number,
  ) {
    super(message);
  }
}

/** The damage found in a record, before it is turned into an error naming the database. */
export interface Damage {
  readonly partition: number;
  /** Undefined for the partition's hard state / base record. */
  readonly index: number | undefined;
  readonly reason: string;
}

export function corruptionError(path: string, damage: Damage): SqliteWalError {
  const where = damage.index === undefined ? `partition ${damage.partition}, hard state and base` : `partition ${damage.partition}, index ${damage.index}`;
  return new SqliteWalError(
    SqliteWalErrorCode.corrupt,
    `SqliteWal: the log at ${path} is corrupt: ${where}: ${damage.reason}. It cannot be trusted: move the file away ` +
      '(with its -wal file) and restart the node empty so that it catches up from its peers, or restore it from a backup',
    damage.partition,
    damage.index,
  );
}
