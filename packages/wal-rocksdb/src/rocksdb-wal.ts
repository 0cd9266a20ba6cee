import { mkdir } from 'node:fs/promises';
import type { Entry, HardState, LogBase, Wal, WalBatch } from '@kommander/core';
import { planBatch, planMerge, type MergeLimits, type PartitionDraft, type RowMerge } from './batch-plan.js';
import { CORRUPTION_ADVICE, WalCorruptionError } from './corruption.js';
import { BASE_PREFIX, HARD_STATE_PREFIX, MARKER_KEY, metaKey, partitionKey, runKey } from './keys.js';
import { Store, type StoreOperation } from './native.js';
import { resolveOptions, SMALL_RUN_BYTES, type RocksDbWalOptions } from './options.js';
import { PartitionLog } from './partition-log.js';
import { encodeBase, encodeHardState, encodeMarker, NO_BASE, seal, unseal, type AppendMarkerPart } from './records.js';
import { recover, type RocksDbWalRepair } from './recovery.js';
import { RunDecoder, RunEncoder, termInRun, type EncodedRun } from './run.js';
import { assertComplete, readRun, verifiedRun } from './stored-runs.js';
import { checkPartition, describe, invalid } from './validation.js';

/** Counters of {@link RocksDbWal.stats}, since the last `open`. */
export interface RocksDbWalStats {
  /** Accepted `append` calls. */
  readonly appends: number;
  /** Appends that fsynced (`batch.sync` with the `sync` option on): one each, whatever the partitions. */
  readonly syncs: number;
  /** Entries written by accepted appends. */
  readonly entries: number;
}

type State = 'closed' | 'opening' | 'open' | 'closing';

/**
 * A {@link Wal} on RocksDB. Entries live in *runs*: one record per partition per write holding
 * consecutive entries under the key (partition, first index), so a range read is one short iteration.
 * Each `append` is one RocksDB write batch (atomic through RocksDB's own log) and at most one fsync,
 * whatever the number of partitions. Every record carries a CRC-32; see the package README for the
 * layout, the torn-batch rule and the options.
 *
 * Reads and writes may overlap: writes (`append`, `compact`, `setMeta`) run one at a time in call order,
 * and a read sees the log as it was before or after each write, never a mix.
 */
export class RocksDbWal implements Wal {
  /** The directory, made absolute. */
  readonly path: string;
  private readonly syncEnabled: boolean;
  private readonly verifyOnOpen: boolean;
  private readonly onRepair: ((repair: RocksDbWalRepair) => void) | undefined;
  private readonly readAheadBytes: number;
  private readonly tuning: { readonly writeBufferSize: number; readonly cacheSize: number; readonly compression: boolean };
  private readonly encoder: RunEncoder;
  private readonly mergeLimits: MergeLimits;

  private state: State = 'closed';
  private store: Store | undefined;
  private logs = new Map<number, PartitionLog>();
  /** Sequence number of the last batch (append or compaction). */
  private sequence = 0;
  /** The stored marker's value, rewritten with `sync` to make earlier unsynced writes durable. */
  private markerValue: Buffer = seal(MARKER_KEY, encodeMarker({ kind: 'none', sequence: 0 }));
  /** A write since the last fsync (only tracked with the `sync` option on). */
  private unsynced = false;
  /** Writes run one after the other through this chain; bumping `generation` (crash) abandons the queued ones. */
  private queue: Promise<unknown> = Promise.resolve();
  private generation = 0;
  /**
   * Set while a write that changes runs is in RocksDB's hands: RocksDB may already show it while the
   * in-memory view does not yet. Range reads wait for it, so that the snapshot they take and the view
   * they plan with agree. Settles once the view is updated (or the write failed).
   */
  private landing: Promise<void> | undefined;
  /** Reads in RocksDB's hands; `close` lets them finish before releasing the database. */
  private readonly reads = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;
  private opening: Promise<void> | undefined;
  private appends = 0;
  private syncs = 0;
  private entries = 0;
  private lastRepairs: readonly RocksDbWalRepair[] = [];

  /** Checks the options (throwing an InvalidArgumentError naming a bad one); nothing is opened yet. */
  constructor(options: RocksDbWalOptions) {
    const resolved = resolveOptions(options);
    this.path = resolved.path;
    this.syncEnabled = resolved.sync;
    this.verifyOnOpen = resolved.verifyOnOpen;
    this.onRepair = resolved.onRepair;
    this.readAheadBytes = resolved.readAheadBytes;
    this.tuning = { writeBufferSize: resolved.writeBufferSize, cacheSize: resolved.cacheSize, compression: resolved.compression };
    this.encoder = new RunEncoder(resolved.maxRunEntries, resolved.maxRunBytes);
    this.mergeLimits = resolved;
  }

  /** Repairs made by the last successful `open` (empty when the log was intact). */
  get repairs(): readonly RocksDbWalRepair[] {
    return this.lastRepairs;
  }

  /** Counts since the last `open`; the benchmarks derive fsyncs per entry from them. */
  stats(): RocksDbWalStats {
    return { appends: this.appends, syncs: this.syncs, entries: this.entries };
  }

  async open(): Promise<void> {
    if (this.state !== 'closed') {
      throw new Error(`RocksDbWal.open: this instance is already ${this.state === 'closing' ? 'closing' : 'open'} on ${this.path}; close it before opening it again`);
    }
    this.state = 'opening';
    this.opening = this.openStore();
    try {
      await this.opening;
      this.state = 'open';
    } catch (error) {
      this.state = 'closed';
      throw error;
    } finally {
      this.opening = undefined;
    }
  }

  async append(batch: WalBatch): Promise<void> {
    return this.write('append', () => this.writeBatch(batch));
  }

  async readEntries(partition: number, from: number, to: number): Promise<Entry[]> {
    this.ensureOpen('readEntries');
    if (typeof from !== 'number' || typeof to !== 'number' || Number.isNaN(from) || Number.isNaN(to)) {
      invalid('RocksDbWal.readEntries: from/to', `must be numbers, got ${describe(from)} and ${describe(to)}`);
    }
    while (this.landing !== undefined) await this.landing;
    // From this check to the scan's start nothing awaits: the view and the snapshot are of the same moment.
    const store = this.ensureOpen('readEntries');
    const log = this.logs.get(partition);
    const first = log?.firstIndex() ?? 0;
    if (log === undefined || first === 0) return [];
    const lo = Math.max(Math.ceil(from), first);
    const hi = Math.min(Math.floor(to), log.last);
    if (lo > hi) return [];
    const out = new Array<Entry>(hi - lo + 1);
    const decoder = new RunDecoder();
    // The scan's snapshot is taken now, with the in-memory view of this turn: its n-th record is the run
    // at starts[n], which spares reading the keys (a Buffer per record) to name a damaged one.
    const starts = log.starts.slice(log.runAt(lo), log.runAt(hi) + 1);
    let n = 0;
    const gte = runKey(partition, starts[0] as number);
    await this.reading(
      store.scan({ gte, lte: runKey(partition, hi) }, { keys: false, values: true, highWaterMark: this.readAheadBytes }, (_key, value) => {
        decoder.decodeInto(value, verifiedRun(this.path, partition, starts[n++] ?? -1, value, 'readEntries'), lo, hi, out);
      }),
    );
    assertComplete(this.path, out, partition, lo, 'readEntries');
    return out;
  }

  async readHardState(partition: number): Promise<HardState | undefined> {
    this.ensureOpen('readHardState');
    return this.logs.get(partition)?.hardState;
  }

  async firstIndex(partition: number): Promise<number> {
    this.ensureOpen('firstIndex');
    return this.logs.get(partition)?.firstIndex() ?? 0;
  }

  async lastIndex(partition: number): Promise<number> {
    this.ensureOpen('lastIndex');
    return this.logs.get(partition)?.last ?? 0;
  }

  async term(partition: number, index: number): Promise<number | undefined> {
    this.ensureOpen('term');
    while (this.landing !== undefined) await this.landing;
    const store = this.ensureOpen('term');
    const log = this.logs.get(partition);
    if (log === undefined || log.firstIndex() === 0 || index < log.firstIndex() || index > log.last || !Number.isInteger(index)) return undefined;
    const { value, header } = await this.reading(readRun(store, this.path, partition, log.starts[log.runAt(index)] as number, 'term'));
    return termInRun(value, header, index);
  }

  async compact(partition: number, through: number): Promise<void> {
    this.ensureOpen('compact');
    checkPartition('RocksDbWal.compact: partition', partition);
    if (!Number.isSafeInteger(through)) invalid('RocksDbWal.compact: through', `must be an integer index, got ${describe(through)}`);
    return this.write('compact', () => this.compactLog(partition, through));
  }

  async logBase(partition: number): Promise<LogBase> {
    this.ensureOpen('logBase');
    return this.logs.get(partition)?.base ?? NO_BASE;
  }

  async partitions(): Promise<number[]> {
    this.ensureOpen('partitions');
    const result: number[] = [];
    for (const [partition, log] of this.logs) if (!log.isEmpty()) result.push(partition);
    return result.sort((a, b) => a - b);
  }

  async getMeta(key: string): Promise<Uint8Array | undefined> {
    const store = this.ensureOpen('getMeta');
    if (typeof key !== 'string') invalid('RocksDbWal.getMeta: key', `must be a string, got ${describe(key)}`);
    const storeKey = metaKey(key);
    const value = await this.reading(store.get(storeKey));
    if (value === undefined) return undefined;
    const body = unseal(storeKey, value);
    if (body === undefined) {
      throw new WalCorruptionError(`RocksDbWal.getMeta: the metadata "${key}" in ${this.path} is damaged (checksum mismatch). ${CORRUPTION_ADVICE}`);
    }
    return body;
  }

  async setMeta(key: string, value: Uint8Array): Promise<void> {
    this.ensureOpen('setMeta');
    if (typeof key !== 'string') invalid('RocksDbWal.setMeta: key', `must be a string, got ${describe(key)}`);
    if (!(value instanceof Uint8Array)) invalid('RocksDbWal.setMeta: value', `of "${key}" must be a Uint8Array`);
    const storeKey = metaKey(key);
    const sealed = seal(storeKey, Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    return this.write('setMeta', async (store) => {
      await store.write([{ type: 'put', key: storeKey, value: sealed }], this.syncEnabled);
      if (this.syncEnabled) this.unsynced = false;
    });
  }

  /**
   * Waits for the writes and reads already issued, fsyncs what is not yet durable (with the `sync`
   * option on), and releases the database and its lock. Closing a closed log does nothing; every other
   * call then rejects until `open`.
   */
  async close(): Promise<void> {
    if (this.opening !== undefined) await this.opening.catch(() => undefined);
    if (this.closing !== undefined) return this.closing;
    const store = this.store;
    if (this.state !== 'open' || store === undefined) return;
    this.state = 'closing';
    const finish = async (): Promise<void> => {
      try {
        if (this.unsynced) await store.write([{ type: 'put', key: MARKER_KEY, value: this.markerValue }], true);
      } finally {
        await Promise.all(this.reads);
        await store.close();
      }
    };
    this.closing = this.queue.then(finish, finish).finally(() => {
      this.release();
      this.closing = undefined;
    });
    return this.closing;
  }

  /**
   * For tests: the process dies now. Every later call rejects, the writes queued behind the one in
   * progress are dropped (their promises reject), and the database is released without the closing
   * fsync, so that a new instance in this process can open the path (RocksDB refuses a second open by
   * the same process). RocksDB hands every batch to the kernel before the batch's callback, so this loses
   * what a killed process loses: the writes not yet issued. (Only a machine crash also loses unsynced
   * batches; no in-process test can show that.)
   */
  async crash(): Promise<void> {
    if (this.opening !== undefined) await this.opening.catch(() => undefined);
    const store = this.store;
    if (store === undefined) return;
    this.generation += 1;
    this.state = 'closing';
    const inFlight = this.queue;
    this.queue = Promise.resolve();
    await inFlight.catch(() => undefined);
    try {
      await store.close();
    } finally {
      this.release();
    }
  }

  private release(): void {
    this.store = undefined;
    this.logs = new Map();
    this.unsynced = false;
    this.state = 'closed';
  }

  private ensureOpen(operation: string): Store {
    if (this.state !== 'open' || this.store === undefined) {
      throw new Error(`RocksDbWal.${operation}: the log at ${this.path} is ${this.state === 'opening' ? 'still opening' : 'closed'}; call (and await) open() first`);
    }
    return this.store;
  }

  private reading<T>(read: Promise<T>): Promise<T> {
    const settled = read.then(
      () => undefined,
      () => undefined,
    );
    this.reads.add(settled);
    void settled.then(() => this.reads.delete(settled));
    return read;
  }

  /** Writes `operations` and applies `apply` to the in-memory view, with range reads held back in between. */
  private async commit(store: Store, operations: readonly StoreOperation[], sync: boolean, apply: () => void): Promise<void> {
    let settle: () => void = () => undefined;
    this.landing = new Promise<void>((resolve) => {
      settle = resolve;
    });
    try {
      await store.write(operations, sync);
      apply();
    } finally {
      this.landing = undefined;
      settle();
    }
  }

  /** Queues a write behind the earlier ones; it fails if the log was crashed or closed before its turn. */
  private write(operation: string, body: (store: Store) => Promise<void>): Promise<void> {
    try {
      this.ensureOpen(operation);
    } catch (error) {
      return Promise.reject(error);
    }
    const generation = this.generation;
    const run = this.queue.then(() => {
      const store = this.store;
      if (generation !== this.generation || store === undefined) {
        throw new Error(`RocksDbWal.${operation}: the log at ${this.path} was crashed before this write ran; it was not applied`);
      }
      return body(store);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async openStore(): Promise<void> {
    try {
      await mkdir(this.path, { recursive: true });
    } catch (error) {
      throw new Error(`RocksDbWal.open: cannot create the directory ${this.path}: ${(error as Error).message}`, { cause: error });
    }
    let store: Store;
    try {
      store = await Store.open(this.path, this.tuning);
    } catch (error) {
      throw openError(this.path, error as Error);
    }
    try {
      const { logs, sequence, markerValue, repairs } = await recover(store, {
        path: this.path,
        sync: this.syncEnabled,
        verifyOnOpen: this.verifyOnOpen,
        readAheadBytes: this.readAheadBytes,
      });
      this.logs = logs;
      this.sequence = sequence;
      this.markerValue = markerValue;
      this.store = store;
      this.appends = 0;
      this.syncs = 0;
      this.entries = 0;
      this.unsynced = false;
      this.lastRepairs = Object.freeze(repairs);
      for (const repair of repairs) this.onRepair?.(repair);
    } catch (error) {
      this.store = undefined;
      this.logs = new Map();
      await store.close().catch(() => undefined);
      throw error;
    }
  }

  private async writeBatch(batch: WalBatch): Promise<void> {
    const store = this.store as Store;
    const drafts = planBatch(batch, this.logs, this.encoder);
    const operations: StoreOperation[] = [];
    const parts: AppendMarkerPart[] = [];
    const merges = new Map<number, RowMerge>();
    for (const draft of drafts.values()) {
      const p = draft.partition;
      const log = draft.log;
      const stored = log?.starts ?? [];
      for (let k = draft.keep; k < stored.length; k++) operations.push({ type: 'del', key: runKey(p, stored[k] as number) });
      const merge = planMerge(draft, this.mergeLimits);
      if (merge !== undefined) {
        merges.set(p, merge);
        for (let k = merge.from + 1; k <= merge.to; k++) operations.push({ type: 'del', key: runKey(p, stored[k] as number) });
        operations.push({ type: 'put', key: runKey(p, merge.run.start), value: merge.run.value });
      }
      for (const run of draft.added) operations.push({ type: 'put', key: runKey(p, run.start), value: run.value });
      if (draft.hardStateWritten && draft.hardState !== undefined) {
        const key = partitionKey(HARD_STATE_PREFIX, p);
        operations.push({ type: 'put', key, value: seal(key, encodeHardState(draft.hardState)) });
      }
      if (draft.baseWritten) {
        const key = partitionKey(BASE_PREFIX, p);
        operations.push({ type: 'put', key, value: seal(key, encodeBase(draft.base)) });
      }
      parts.push({
        partition: p,
        prevLast: log?.last ?? 0,
        hardStateWritten: draft.hardStateWritten,
        prevHardState: log?.hardState,
        baseWritten: draft.baseWritten,
        prevBase: log?.base ?? NO_BASE,
        runStarts: draft.added.map((run) => run.start),
      });
    }
    const sync = batch.sync && this.syncEnabled;
    let markerValue = this.markerValue;
    if (parts.length > 0) {
      markerValue = seal(MARKER_KEY, encodeMarker({ kind: 'append', sequence: this.sequence + 1, parts }));
      operations.push({ type: 'put', key: MARKER_KEY, value: markerValue });
    } else if (sync && this.unsynced) {
      operations.push({ type: 'put', key: MARKER_KEY, value: markerValue });
    }
    await this.commit(store, operations, sync, () => {
      this.appends += 1;
      if (sync && operations.length > 0) this.syncs += 1;
      this.entries += countEntries(batch);
      if (parts.length === 0) {
        if (sync) this.unsynced = false;
        return;
      }
      this.sequence += 1;
      this.markerValue = markerValue;
      this.unsynced = this.syncEnabled && !sync;
      this.applyDrafts(drafts, merges);
    });
  }

  private applyDrafts(drafts: ReadonlyMap<number, PartitionDraft>, merges: ReadonlyMap<number, RowMerge>): void {
    for (const draft of drafts.values()) {
      let log = draft.log;
      if (log === undefined) {
        log = new PartitionLog();
        this.logs.set(draft.partition, log);
      }
      for (let k = draft.keep; k < log.starts.length; k++) log.smallRuns.delete(log.starts[k] as number);
      if (draft.keep < log.starts.length) log.starts.length = draft.keep;
      const merge = merges.get(draft.partition);
      if (merge !== undefined) {
        for (let k = merge.from; k <= merge.to; k++) log.smallRuns.delete(log.starts[k] as number);
        log.starts.splice(merge.from + 1, merge.to - merge.from);
        this.rememberIfSmall(log, merge.run);
      }
      for (const run of draft.added) {
        log.starts.push(run.start);
        this.rememberIfSmall(log, run);
      }
      log.last = draft.last;
      log.base = draft.base;
      if (draft.hardStateWritten) log.hardState = draft.hardState;
      log.pruneSmallRuns();
    }
  }

  private rememberIfSmall(log: PartitionLog, run: EncodedRun): void {
    if (this.mergeLimits.smallRunsToMerge > 0 && run.end - run.start + 1 < this.mergeLimits.smallRunEntries && run.value.length <= SMALL_RUN_BYTES) {
      log.smallRuns.set(run.start, run.value);
    }
  }

  private async compactLog(partition: number, through: number): Promise<void> {
    const store = this.store as Store;
    const log = this.logs.get(partition);
    if (log === undefined || log.starts.length === 0 || through < log.firstIndex()) return;
    const at = Math.min(through, log.last);
    const { value, header } = await readRun(store, this.path, partition, log.starts[log.runAt(at)] as number, 'compact');
    const base: LogBase = Object.freeze({ index: at, term: termInRun(value, header, at) });
    let dropped = 0;
    while (dropped < log.starts.length && log.runEnd(dropped) <= at) dropped++;
    const operations: StoreOperation[] = [];
    for (let k = 0; k < dropped; k++) operations.push({ type: 'del', key: runKey(partition, log.starts[k] as number) });
    const key = partitionKey(BASE_PREFIX, partition);
    operations.push({ type: 'put', key, value: seal(key, encodeBase(base)) });
    const markerValue = seal(MARKER_KEY, encodeMarker({ kind: 'compaction', sequence: this.sequence + 1, partition, prevBase: log.base, newBase: base }));
    operations.push({ type: 'put', key: MARKER_KEY, value: markerValue });
    // The port lets compaction become durable with the next synced append or close.
    await this.commit(store, operations, false, () => {
      this.sequence += 1;
      this.markerValue = markerValue;
      this.unsynced = this.syncEnabled;
      for (let k = 0; k < dropped; k++) log.smallRuns.delete(log.starts[k] as number);
      log.starts.splice(0, dropped);
      if (log.starts.length === 0) log.last = 0;
      log.base = base;
    });
  }
}

function countEntries(batch: WalBatch): number {
  let count = 0;
  for (const write of batch.writes) count += write.entries.length;
  return count;
}

function openError(path: string, error: Error): Error {
  const message = error.message;
  if (/lock hold by current process/i.test(message)) {
    return new Error(
      `RocksDbWal.open: ${path} is already open in this process (another RocksDbWal instance holds its lock); close that instance first, or use another path`,
      { cause: error },
    );
  }
  if (/While lock file/i.test(message)) {
    return new Error(
      `RocksDbWal.open: ${path} is in use by another process (it holds the RocksDB LOCK file). Stop that process, or give this node its own path; ` +
        `two processes must never share one WAL. (RocksDB said: ${message})`,
      { cause: error },
    );
  }
  return new Error(`RocksDbWal.open: RocksDB cannot open ${path}: ${message}`, { cause: error });
}

