import { resolve as resolvePath } from 'node:path';
import { Worker } from 'node:worker_threads';
import { InvalidArgumentError, type Entry, type HardState, type LogBase, type Wal, type WalBatch } from '@kommander/core';
import { MAX_PARTITION } from './codec/batch-layout.js';
import { encodeBatch } from './codec/batch-encoder.js';
import { decodeEntries } from './codec/entry-decoder.js';
import { SqliteWalError, SqliteWalErrorCode, corruptionError } from './errors.js';
import type { ErrorReply, Operation, Reply, RequestFields, Results } from './protocol.js';
import { resolveOptions, type ResolvedOptions, type SqliteWalOptions, type SqliteWalRepair, type SqliteWalStats } from './sqlite-wal-options.js';

interface PendingCall {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

type Lifecycle = 'closed' | 'opening' | 'open' | 'closing';

/**
 * The {@link Wal} port on SQLite (better-sqlite3), for production use: one database file per node holds
 * every partition's log, hard state and log base, and the node's metadata.
 *
 * - SQLite runs in a worker thread: its synchronous calls and fsyncs never stall the event loop. Calls
 *   are served one at a time, in the order they were made. An append travels as one transferred
 *   ArrayBuffer and a read comes back as one, whatever the number of entries.
 * - One `append` is one SQLite transaction (atomic after a crash: all of it or none of it) and at most one
 *   fsync, whatever the number of partitions it writes.
 * - Every entry record carries a CRC-32 covering its partition, index, term, kind, type, time and data;
 *   hard states, log bases and metadata values carry theirs. On open, a damaged last batch is removed
 *   and reported ({@link SqliteWalOptions.onRepair}, {@link SqliteWal.repairs}); damage anywhere else
 *   refuses the open with a {@link SqliteWalError} naming the partition and index.
 * - The database is locked for the life of the instance: a second process (or a second instance in this
 *   process) opening the same path fails with a {@link SqliteWalError} saying so.
 *
 * Besides the port's rules, a write may not leave a gap: when the partition has entries, the write must
 * start at or before `lastIndex + 1`. Invalid batches reject and write nothing.
 */
export class SqliteWal implements Wal {
  private readonly options: ResolvedOptions;
  private lifecycle: Lifecycle = 'closed';
  private worker: Worker | undefined;
  private readonly pending = new Map<number, PendingCall>();
  private nextId = 1;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private lastRepairs: readonly SqliteWalRepair[] = [];
  private appends = 0;
  private syncs = 0;
  private entries = 0;

  constructor(options: SqliteWalOptions) {
    const resolved = resolveOptions(options, new URL('./sqlite-wal-worker.js', import.meta.url));
    this.options = { ...resolved, path: resolvePath(resolved.path) };
  }

  /** The database file, as an absolute path. */
  get path(): string {
    return this.options.path;
  }

  /**
   * Starts the worker thread, opens (or creates) the database and locks it, removes a damaged last batch
   * (reporting it), and verifies the rest (unless `verifyOnOpen` is false). Rejects when the log is open
   * already, held by another process, corrupt, or of a newer schema version.
   */
  open(): Promise<void> {
    if (this.lifecycle !== 'closed') {
      const state = this.lifecycle === 'open' ? 'open already; close it first' : this.lifecycle === 'opening' ? 'being opened already' : 'closing; wait for close() to finish';
      return Promise.reject(new SqliteWalError(SqliteWalErrorCode.notOpen, `SqliteWal.open: the log ${this.path} is ${state}`));
    }
    this.lifecycle = 'opening';
    this.opening = this.start().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  async append(batch: WalBatch): Promise<void> {
    this.ensureOpen('append');
    const encoded = encodeBatch(batch);
    await this.call('append', { sync: batch.sync, buffer: encoded.buffer, byteLength: encoded.byteLength }, [encoded.buffer]);
    this.appends += 1;
    if (batch.sync && this.options.sync) this.syncs += 1;
    this.entries += encoded.entries;
  }

  async readEntries(partition: number, from: number, to: number): Promise<Entry[]> {
    this.ensureOpen('readEntries');
    checkPartition('readEntries', partition);
    checkBound('readEntries: from', from);
    checkBound('readEntries: to', to);
    const lo = Math.max(0, Math.ceil(from));
    const hi = Math.min(Number.MAX_SAFE_INTEGER, Math.floor(to));
    if (lo > hi) return [];
    const read = await this.call('readEntries', { partition, from: lo, to: hi });
    const entries = decodeEntries(read.buffer, read.count, partition, read.from);
    if (!Array.isArray(entries)) throw corruptionError(this.path, entries);
    return entries;
  }

  async readHardState(partition: number): Promise<HardState | undefined> {
    this.ensureOpen('readHardState');
    checkPartition('readHardState', partition);
    const hardState = await this.call('readHardState', { partition });
    return hardState === undefined ? undefined : { term: hardState.term, vote: hardState.vote, commit: hardState.commit };
  }

  async firstIndex(partition: number): Promise<number> {
    this.ensureOpen('firstIndex');
    checkPartition('firstIndex', partition);
    return this.call('firstIndex', { partition });
  }

  async lastIndex(partition: number): Promise<number> {
    this.ensureOpen('lastIndex');
    checkPartition('lastIndex', partition);
    return this.call('lastIndex', { partition });
  }

  async term(partition: number, index: number): Promise<number | undefined> {
    this.ensureOpen('term');
    checkPartition('term', partition);
    if (!Number.isSafeInteger(index)) return undefined;
    return this.call('term', { partition, index });
  }

  async compact(partition: number, through: number): Promise<void> {
    this.ensureOpen('compact');
    checkPartition('compact', partition);
    if (!Number.isSafeInteger(through)) throw new InvalidArgumentError('SqliteWal.compact: through', `must be an integer index, got ${String(through)}`);
    await this.call('compact', { partition, through });
  }

  async logBase(partition: number): Promise<LogBase> {
    this.ensureOpen('logBase');
    checkPartition('logBase', partition);
    const base = await this.call('logBase', { partition });
    return { index: base.index, term: base.term };
  }

  async partitions(): Promise<number[]> {
    this.ensureOpen('partitions');
    return [...(await this.call('partitions', {}))];
  }

  async getMeta(key: string): Promise<Uint8Array | undefined> {
    this.ensureOpen('getMeta');
    if (typeof key !== 'string') throw new InvalidArgumentError('SqliteWal.getMeta: key', `must be a string, got ${typeof key}`);
    const value = await this.call('getMeta', { key });
    return value === undefined ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }

  /** Durable when it resolves (with the `sync` option on). */
  async setMeta(key: string, value: Uint8Array): Promise<void> {
    this.ensureOpen('setMeta');
    if (typeof key !== 'string') throw new InvalidArgumentError('SqliteWal.setMeta: key', `must be a string, got ${typeof key}`);
    if (!(value instanceof Uint8Array)) throw new InvalidArgumentError('SqliteWal.setMeta: value', `of "${key}" must be a Uint8Array`);
    await this.call('setMeta', { key, value });
  }

  /**
   * Serves the calls made before it, makes every write durable (with the `sync` option on), closes the
   * database and stops the worker. Closing a closed log does nothing; a log being opened is closed once open.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    if (this.lifecycle === 'closed') return Promise.resolve();
    this.closing = this.stop().finally(() => {
      this.closing = undefined;
    });
    return this.closing;
  }

  /** Counters since the last `open()`; the benchmarks derive fsyncs per entry from them. */
  stats(): SqliteWalStats {
    return { appends: this.appends, syncs: this.syncs, entries: this.entries };
  }

  /** The repairs the last `open()` made (empty when it found nothing to repair). */
  repairs(): readonly SqliteWalRepair[] {
    return this.lastRepairs;
  }

  private async start(): Promise<void> {
    this.appends = 0;
    this.syncs = 0;
    this.entries = 0;
    this.lastRepairs = [];
    const worker = new Worker(this.options.workerScript);
    this.worker = worker;
    worker.on('message', (reply: Reply) => this.settle(reply));
    worker.on('error', (error: Error) => this.workerStopped(worker, `it threw ${error.message}`));
    worker.on('exit', (code: number) => this.workerStopped(worker, `it exited with code ${code}`));
    // The worker keeps the process alive only while calls are in flight (see call/settle).
    worker.unref();
    let cuts: Results['open'];
    try {
      cuts = await this.call('open', { settings: { path: this.path, sync: this.options.sync, verifyOnOpen: this.options.verifyOnOpen } });
    } catch (error) {
      this.worker = undefined;
      this.lifecycle = 'closed';
      await worker.terminate();
      throw error;
    }
    this.lifecycle = 'open';
    this.lastRepairs = cuts.map((cut) => ({ kind: 'torn-tail', path: this.path, batch: cut.batch, partitions: [...cut.partitions], reason: cut.reason }));
    try {
      for (const repair of this.lastRepairs) this.options.onRepair?.(repair);
    } catch (error) {
      // open() rejects, so the log must not stay open behind the caller's back.
      await this.shutdown();
      throw error;
    }
  }

  private async stop(): Promise<void> {
    if (this.opening !== undefined) {
      try {
        await this.opening;
      } catch {
        return;
      }
    }
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.lifecycle = 'closing';
    try {
      await this.call('close', {});
    } finally {
      this.worker = undefined;
      this.lifecycle = 'closed';
      await worker.terminate();
    }
  }

  private call<K extends Operation>(op: K, fields: RequestFields[K], transfer: ArrayBuffer[] = []): Promise<Results[K]> {
    const worker = this.worker;
    if (worker === undefined) return Promise.reject(this.notOpen(op));
    const id = this.nextId++;
    return new Promise<Results[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, op, ...fields }, transfer);
    });
  }

  /**
   * Objects and arrays of a reply are built in the realm that received the message, which under a test
   * runner's sandbox is not the caller's; the public methods rebuild them so that \`instanceof\` and
   * strict deep equality behave as callers expect.
   */
  private settle(reply: Reply): void {
    const call = this.pending.get(reply.id);
    if (call === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    if (reply.ok) call.resolve(reply.value);
    else call.reject(rebuild(reply.error));
  }

  /** The worker died or threw outside a request: every call in flight fails and the log is closed. */
  private workerStopped(worker: Worker, how: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.lifecycle = 'closed';
    const error = new SqliteWalError(
      SqliteWalErrorCode.workerStopped,
      `SqliteWal: the worker thread of ${this.path} stopped (${how}; worker script ${String(this.options.workerScript)}) ` +
        `with ${this.pending.size} call(s) in flight; the log is closed: open it again`,
    );
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) call.reject(error);
  }

  private ensureOpen(operation: string): void {
    if (this.lifecycle !== 'open') throw this.notOpen(operation);
  }

  private notOpen(operation: string): SqliteWalError {
    const state = this.lifecycle === 'closed' ? 'closed; call open() first' : `${this.lifecycle}; wait for ${this.lifecycle === 'opening' ? 'open()' : 'close()'} to finish`;
    return new SqliteWalError(SqliteWalErrorCode.notOpen, `SqliteWal.${operation}: the log ${this.path} is ${state}`);
  }
}

function checkPartition(operation: string, partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition > MAX_PARTITION) {
    throw new InvalidArgumentError(`SqliteWal.${operation}: partition`, `must be an integer from 0 to ${MAX_PARTITION}, got ${String(partition)}`);
  }
}

function checkBound(argument: string, value: number): void {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new InvalidArgumentError(`SqliteWal.${argument}`, `must be a number (an index), got ${String(value)}`);
}

function rebuild(error: ErrorReply): Error {
  switch (error.kind) {
    case 'wal':
      return new SqliteWalError(error.code, error.message, error.partition, error.index);
    case 'argument':
      return new InvalidArgumentError(error.argument, error.message);
    case 'other': {
      const rebuilt = new Error(error.message);
      if (error.stack !== undefined) rebuilt.stack = error.stack;
      return rebuilt;
    }
  }
}
