import { InvalidArgumentError } from '@kommander/core';

/** Options of {@link SqliteWal}. */
export interface SqliteWalOptions {
  /**
   * The database file. Required. Its directory is created when missing. SQLite keeps a `<path>-wal`
   * file next to it while the log is open; move or back up both together.
   */
  readonly path: string;
  /**
   * Default true: a batch with `sync: true` is fsynced before its append resolves (SQLite
   * `synchronous=FULL` for that commit); batches with `sync: false` and compactions are not, and become
   * durable with the next synced one. False: never fsync (benchmarks and tests only: a power loss can
   * then lose acknowledged batches; a process crash still loses nothing that was appended).
   */
  readonly sync?: boolean;
  /**
   * Default true: `open()` verifies the checksum of every stored record and that every partition's
   * entries follow each other, and refuses to open a damaged log (for a million 16-byte entries: about
   * 0.2 s when they were written in large batches, about 1 s when written a few at a time). False: `open()` verifies only the last batch; reads and lookups still verify the records
   * they touch and reject with the damaged partition and index.
   */
  readonly verifyOnOpen?: boolean;
  /**
   * Called by `open()` for each repair it made, before `open()` resolves (today: a damaged last batch
   * removed, see {@link SqliteWalRepair}). Default: none; {@link SqliteWal.repairs} lists them anyway.
   * If it throws, `open()` closes the log again and rejects with that error.
   */
  readonly onRepair?: (repair: SqliteWalRepair) => void;
  /**
   * The worker thread's script. Default: `sqlite-wal-worker.js` next to this module, as published.
   * Set it only when a bundler or a test moves the files.
   */
  readonly workerScript?: string | URL;
}

/**
 * A repair made by `open()`. `torn-tail`: the newest batch had a record that failed its checksum (a write
 * torn by a crash, or damage to the end of the file); all of that batch was removed and the log is
 * exactly as it was before it, so the batch is either all there or gone, never half there.
 */
export interface SqliteWalRepair {
  readonly kind: 'torn-tail';
  /** The database file. */
  readonly path: string;
  /** Sequence number of the removed batch (batches and compactions are numbered from 1 as they commit). */
  readonly batch: number;
  /** Partitions the removed batch wrote to. */
  readonly partitions: readonly number[];
  /** Which record failed, and how. */
  readonly reason: string;
}

/** Counters of {@link SqliteWal.stats}, since the last `open()`. */
export interface SqliteWalStats {
  /** Appends that completed. */
  readonly appends: number;
  /** Appends that completed with an fsync (`batch.sync` with the `sync` option on). */
  readonly syncs: number;
  /** Entries written by the appends that completed. */
  readonly entries: number;
}

/** The options with their defaults, checked. */
export interface ResolvedOptions {
  readonly path: string;
  readonly sync: boolean;
  readonly verifyOnOpen: boolean;
  readonly onRepair: ((repair: SqliteWalRepair) => void) | undefined;
  readonly workerScript: string | URL;
}

export function resolveOptions(options: SqliteWalOptions, defaultWorkerScript: URL): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('SqliteWal: options', 'must be an object { path, sync?, verifyOnOpen?, onRepair?, workerScript? }');
  }
  const { path, sync = true, verifyOnOpen = true, onRepair, workerScript = defaultWorkerScript } = options;
  if (typeof path !== 'string' || path.length === 0) {
    throw new InvalidArgumentError('SqliteWal: options.path', `must be a non-empty string (the database file), got ${describe(path)}`);
  }
  if (path === ':memory:' || path.startsWith('file:')) {
    throw new InvalidArgumentError('SqliteWal: options.path', `must be a file path (not ${path}): a WAL that is not on disk would not survive a restart`);
  }
  if (typeof sync !== 'boolean') throw new InvalidArgumentError('SqliteWal: options.sync', `must be a boolean, got ${describe(sync)}`);
  if (typeof verifyOnOpen !== 'boolean') throw new InvalidArgumentError('SqliteWal: options.verifyOnOpen', `must be a boolean, got ${describe(verifyOnOpen)}`);
  if (onRepair !== undefined && typeof onRepair !== 'function') {
    throw new InvalidArgumentError('SqliteWal: options.onRepair', `must be a function, got ${describe(onRepair)}`);
  }
  if (typeof workerScript !== 'string' && !(workerScript instanceof URL)) {
    throw new InvalidArgumentError('SqliteWal: options.workerScript', `must be a path or a file URL, got ${describe(workerScript)}`);
  }
  return { path, sync, verifyOnOpen, onRepair, workerScript };
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : value === null ? 'null' : typeof value;
}
