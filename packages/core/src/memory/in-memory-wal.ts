import type { Clock, TimerHandle } from '../ports/clock.js';
import type { LogBase, Wal, WalBatch, WalPartitionWrite } from '../ports/wal.js';
import type { Entry } from '../raft/entry.js';
import type { HardState } from '../raft/state.js';
import { invalid } from '../runtime/validation.js';

/** Options of {@link InMemoryWal}. */
export interface InMemoryWalOptions {
  /** Schedules delayed appends when `appendLatencyMs` is above 0. Default: none (required only with a latency). */
  readonly clock?: Clock;
  /**
   * How long an append takes, in the clock's milliseconds. Until then the batch is neither readable nor
   * durable, and a crash drops it. Default 0: the batch is applied at once and the promise settles on the
   * next microtask.
   */
  readonly appendLatencyMs?: number;
}

/** Counters of {@link InMemoryWal.stats}, from the WAL's creation on. */
export interface InMemoryWalStats {
  /** Accepted `append` calls. */
  readonly appends: number;
  /** Accepted `append` calls with `sync: true` (each one stands for an fsync). */
  readonly syncs: number;
  /** Entries written by accepted appends. */
  readonly entries: number;
}

/**
 * One partition's entries, as an array whose front is cut lazily: compaction moves `head` instead of
 * shifting the array, so reads and term lookups stay O(1) in the log's length.
 * Invariant: either the partition has entries and `head < items.length`, or `items` is empty and `head` is 0.
 */
class PartitionLog {
  private items: Entry[] = [];
  private head = 0;
  hardState: HardState | undefined = undefined;
  base: LogBase = NO_BASE;

  firstIndex(): number {
    return this.items[this.head]?.index ?? 0;
  }

  lastIndex(): number {
    return this.items[this.items.length - 1]?.index ?? 0;
  }

  isEmpty(): boolean {
    return this.items.length === 0 && this.hardState === undefined && this.base.index === 0;
  }

  installSnapshot(base: LogBase): void {
    this.items = [];
    this.head = 0;
    this.base = base;
  }

  write(entries: readonly Entry[]): void {
    const start = entries[0]?.index;
    if (start === undefined) return;
    const first = this.firstIndex();
    // Starting at or below the first retained entry replaces the whole log; the gap arm only guards
    // the durable layer, whose compactions run ahead of the unsynced writes it replays.
    if (first === 0 || start <= first || start > this.lastIndex() + 1) {
      this.items = [];
      this.head = 0;
    } else {
      const keep = this.head + (start - first);
      // Setting length is a slow runtime call even when nothing changes; appends at the end skip it.
      if (keep < this.items.length) this.items.length = keep;
    }
    // A loop rather than push(...entries): spreading 100k+ arguments overflows the stack.
    for (const entry of entries) this.items.push(entry);
  }

  compact(through: number): void {
    const first = this.firstIndex();
    if (first === 0 || through < first) return;
    const last = this.lastIndex();
    const at = Math.min(through, last);
    this.base = { index: at, term: this.term(at) ?? 0 };
    if (through >= last) {
      this.items = [];
      this.head = 0;
      return;
    }
    this.head += through - first + 1;
    // Give the dead prefix back once it dominates the array, so memory follows the retained range.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  term(index: number): number | undefined {
    const first = this.firstIndex();
    if (first === 0 || index < first || index > this.lastIndex()) return undefined;
    return this.items[this.head + index - first]?.term;
  }

  read(from: number, to: number): Entry[] {
    const first = this.firstIndex();
    if (first === 0) return [];
    const lo = Math.max(from, first);
    const hi = Math.min(to, this.lastIndex());
    if (lo > hi) return [];
    return this.items.slice(this.head + lo - first, this.head + hi - first + 1);
  }

  clone(): PartitionLog {
    const copy = new PartitionLog();
    copy.items = this.items.slice(this.head);
    copy.hardState = this.hardState;
    copy.base = this.base;
    return copy;
  }
}

/** Every partition's log and hard state: one layer (what reads see, or what survives a crash). */
class LogLayer {
  readonly partitions = new Map<number, PartitionLog>();

  write(write: WalPartitionWrite): void {
    if (write.entries.length === 0 && write.hardState === undefined && write.snapshot === undefined) return;
    let log = this.partitions.get(write.partition);
    if (log === undefined) {
      log = new PartitionLog();
      this.partitions.set(write.partition, log);
    }
    if (write.snapshot !== undefined) log.installSnapshot({ index: write.snapshot.index, term: write.snapshot.term });
    log.write(write.entries);
    if (write.hardState !== undefined) log.hardState = write.hardState;
  }

  compact(partition: number, through: number): void {
    this.partitions.get(partition)?.compact(through);
  }

  replay(change: UnsyncedChange): void {
    if (change.batch !== undefined) {
      for (const write of change.batch.writes) this.write(write);
    } else {
      this.compact(change.partition, change.through);
    }
  }

  clone(): LogLayer {
    const copy = new LogLayer();
    for (const [partition, log] of this.partitions) copy.partitions.set(partition, log.clone());
    return copy;
  }
}

/** A change already visible but not yet durable, kept in order so the next sync replays it. */
type UnsyncedChange =
  | { readonly batch: WalBatch; readonly partition?: undefined; readonly through?: undefined }
  | { readonly batch?: undefined; readonly partition: number; readonly through: number };

interface InFlightAppend {
  readonly batch: WalBatch;
  readonly resolve: () => void;
  timer: TimerHandle;
}

/**
 * A {@link Wal} held in memory, for tests, the simulator and benchmarks. It models what a crash does to a
 * real log: it keeps two layers, what reads see (*written*) and what survives a crash (*durable*).
 *
 * - A batch with `sync: true` becomes durable together with every earlier batch, in order.
 * - A batch with `sync: false` is readable at once but lost by {@link InMemoryWal.crash} until a later
 *   syncing batch (or `close`) makes it durable.
 * - With `appendLatencyMs > 0` a batch is neither readable nor durable until the clock timer fires; a
 *   crash before then drops it and its promise never settles, as a process that died mid-write.
 * - `compact` and `setMeta` are durable when they return.
 *
 * Entries are stored by reference, never copied: they are immutable by contract. Appends validate the
 * whole batch first and apply nothing when any part is wrong. Besides the port's rules, a write may not
 * leave a gap: when the partition has entries, the write must start at or before `lastIndex + 1`.
 */
export class InMemoryWal implements Wal {
  private readonly clock: Clock | undefined;
  private readonly latencyMs: number;
  private written = new LogLayer();
  private durable = new LogLayer();
  private unsynced: UnsyncedChange[] = [];
  private inFlight: InFlightAppend[] = [];
  private readonly meta = new Map<string, Uint8Array>();
  private opened = false;
  private appends = 0;
  private syncs = 0;
  private entries = 0;

  constructor(options: InMemoryWalOptions = {}) {
    const latencyMs = options.appendLatencyMs ?? 0;
    if (!Number.isFinite(latencyMs) || latencyMs < 0) {
      invalid('InMemoryWal: appendLatencyMs', `must be a finite number ≥ 0, got ${String(latencyMs)}`);
    }
    if (latencyMs > 0 && options.clock === undefined) {
      invalid('InMemoryWal: options.clock', 'is required when appendLatencyMs > 0 (it schedules the delayed appends)');
    }
    this.clock = options.clock;
    this.latencyMs = latencyMs;
  }

  async open(): Promise<void> {
    if (this.opened) throw new Error('InMemoryWal.open: the log is already open; close it (or crash it) first');
    this.opened = true;
  }

  async append(batch: WalBatch): Promise<void> {
    this.ensureOpen('append');
    this.validate(batch);
    this.appends += 1;
    if (batch.sync) this.syncs += 1;
    for (const write of batch.writes) this.entries += write.entries.length;
    const clock = this.clock;
    if (this.latencyMs === 0 || clock === undefined) {
      this.apply(batch);
      return;
    }
    const latencyMs = this.latencyMs;
    await new Promise<void>((resolve) => {
      const flight: InFlightAppend = { batch, resolve, timer: undefined };
      this.inFlight.push(flight);
      flight.timer = clock.setTimer(latencyMs, () => this.land(flight));
    });
  }

  async readEntries(partition: number, from: number, to: number): Promise<Entry[]> {
    this.ensureOpen('readEntries');
    return this.written.partitions.get(partition)?.read(from, to) ?? [];
  }

  async readHardState(partition: number): Promise<HardState | undefined> {
    this.ensureOpen('readHardState');
    return this.written.partitions.get(partition)?.hardState;
  }

  async firstIndex(partition: number): Promise<number> {
    this.ensureOpen('firstIndex');
    return this.written.partitions.get(partition)?.firstIndex() ?? 0;
  }

  async lastIndex(partition: number): Promise<number> {
    this.ensureOpen('lastIndex');
    return this.written.partitions.get(partition)?.lastIndex() ?? 0;
  }

  async term(partition: number, index: number): Promise<number | undefined> {
    this.ensureOpen('term');
    return this.written.partitions.get(partition)?.term(index);
  }

  async compact(partition: number, through: number): Promise<void> {
    this.ensureOpen('compact');
    if (!Number.isSafeInteger(partition) || partition < 0) {
      invalid('InMemoryWal.compact: partition', `must be an integer ≥ 0, got ${String(partition)}`);
    }
    if (!Number.isSafeInteger(through)) invalid('InMemoryWal.compact: through', `must be an integer index, got ${String(through)}`);
    this.written.compact(partition, through);
    this.durable.compact(partition, through);
    // Unsynced writes replayed at the next sync may re-add entries this compaction removed; replaying
    // the compaction after them removes them again.
    if (this.unsynced.length > 0) this.unsynced.push({ partition, through });
  }

  async logBase(partition: number): Promise<LogBase> {
    this.ensureOpen('logBase');
    return this.written.partitions.get(partition)?.base ?? NO_BASE;
  }

  async partitions(): Promise<number[]> {
    this.ensureOpen('partitions');
    const result: number[] = [];
    for (const [partition, log] of this.written.partitions) {
      if (!log.isEmpty()) result.push(partition);
    }
    return result.sort((a, b) => a - b);
  }

  async getMeta(key: string): Promise<Uint8Array | undefined> {
    this.ensureOpen('getMeta');
    const value = this.meta.get(key);
    return value === undefined ? undefined : value.slice();
  }

  async setMeta(key: string, value: Uint8Array): Promise<void> {
    this.ensureOpen('setMeta');
    if (typeof key !== 'string') invalid('InMemoryWal.setMeta: key', `must be a string, got ${typeof key}`);
    if (!(value instanceof Uint8Array)) invalid('InMemoryWal.setMeta: value', `of "${key}" must be a Uint8Array`);
    // Metadata is mutable caller memory, unlike entries: keep a private copy.
    this.meta.set(key, value.slice());
  }

  /** Completes the appends still in flight, makes every write durable, and closes. Closing a closed log does nothing. */
  async close(): Promise<void> {
    if (!this.opened) return;
    const last = this.inFlight[this.inFlight.length - 1];
    if (last !== undefined) this.land(last);
    for (const change of this.unsynced) this.durable.replay(change);
    this.unsynced = [];
    this.opened = false;
  }

  /**
   * Simulates a crash: drops every append still in flight (their promises never settle) and closes the
   * log so the dead node's later calls reject. `lose`: `'unsynced'` (the default: a power loss or kernel
   * crash) also drops every write not fsynced, so that a new owner's `open()` sees exactly the durable
   * state; `'in-flight'` (only the process died) keeps the appends that completed, synced or not, as the
   * OS would.
   */
  crash(lose: 'unsynced' | 'in-flight' = 'unsynced'): void {
    const clock = this.clock;
    if (clock !== undefined) for (const flight of this.inFlight) clock.clearTimer(flight.timer);
    this.inFlight = [];
    if (lose === 'in-flight') for (const change of this.unsynced) this.durable.replay(change);
    this.unsynced = [];
    this.written = this.durable.clone();
    this.opened = false;
  }

  /** Counts since creation; the benchmark derives fsyncs per entry from them. */
  stats(): InMemoryWalStats {
    return { appends: this.appends, syncs: this.syncs, entries: this.entries };
  }

  private apply(batch: WalBatch): void {
    for (const write of batch.writes) this.written.write(write);
    if (!batch.sync) {
      this.unsynced.push({ batch });
      return;
    }
    for (const change of this.unsynced) this.durable.replay(change);
    this.unsynced = [];
    for (const write of batch.writes) this.durable.write(write);
  }

  /**
   * Applies `flight` and every append issued before it, in issue order, even if their timers fire out of
   * order; clearing the timer that is firing is harmless and lets `close` land appends early.
   */
  private land(flight: InFlightAppend): void {
    const at = this.inFlight.indexOf(flight);
    // Already landed (by close or an earlier timer) on a clock that still ran its cleared timer.
    if (at < 0) return;
    const landed = this.inFlight.splice(0, at + 1);
    for (const earlier of landed) {
      this.clock?.clearTimer(earlier.timer);
      this.apply(earlier.batch);
      earlier.resolve();
    }
  }

  private ensureOpen(operation: string): void {
    if (!this.opened) throw new Error(`InMemoryWal.${operation}: the log is closed; call open() first`);
  }

  private validate(batch: WalBatch): void {
    const where = 'InMemoryWal.append: batch';
    if (typeof batch !== 'object' || batch === null || !Array.isArray(batch.writes)) {
      invalid(where, 'must be an object { writes: WalPartitionWrite[], sync: boolean }');
    }
    if (typeof batch.sync !== 'boolean') invalid(`${where}.sync`, `must be a boolean, got ${typeof batch.sync}`);
    // Last index each partition will have once the earlier writes of this batch are applied.
    const lastAfterWrite = new Map<number, number>();
    for (let w = 0; w < batch.writes.length; w++) {
      const write = batch.writes[w] as WalPartitionWrite;
      const at = `${where}.writes[${w}]`;
      const partition = write.partition;
      if (!Number.isSafeInteger(partition) || partition < 0) {
        invalid(`${at}.partition`, `must be an integer ≥ 0, got ${String(partition)}`);
      }
      if (!Array.isArray(write.entries)) invalid(`${at}.entries`, 'must be an array (empty for none)');
      if (write.hardState !== undefined) validateHardState(write.hardState, `${at}.hardState`);
      const entries = write.entries;
      const start = entries[0]?.index;
      const snapshot = write.snapshot;
      if (snapshot !== undefined) {
        if (!Number.isSafeInteger(snapshot.index) || snapshot.index < 1 || !Number.isSafeInteger(snapshot.term) || snapshot.term < 0) {
          invalid(`${at}.snapshot`, `must be { index ≥ 1, term ≥ 0 } integers, got ${JSON.stringify(snapshot)} (partition ${partition})`);
        }
        if (start !== undefined && start !== snapshot.index + 1) {
          invalid(`${at}.entries`, `start at index ${start} but must start at ${snapshot.index + 1}, right after the snapshot (partition ${partition})`);
        }
      }
      if (start === undefined) {
        if (snapshot !== undefined) lastAfterWrite.set(partition, 0);
        continue;
      }
      for (let k = 0; k < entries.length; k++) {
        const entry = entries[k] as Entry;
        if (entry.index !== start + k || !Number.isSafeInteger(entry.index) || entry.index < 1) {
          invalid(
            `${at}.entries[${k}].index`,
            `is ${String(entry.index)} but ${start + k} was expected (partition ${partition}); ` +
              'entries must be contiguous and ascending, starting at 1 or above',
          );
        }
        if (!Number.isSafeInteger(entry.term) || entry.term < 0) {
          invalid(`${at}.entries[${k}].term`, `must be an integer ≥ 0, got ${String(entry.term)} (partition ${partition})`);
        }
        if (!(entry.data instanceof Uint8Array)) {
          invalid(`${at}.entries[${k}].data`, `must be a Uint8Array (partition ${partition})`);
        }
      }
      const last = snapshot !== undefined ? 0 : (lastAfterWrite.get(partition) ?? this.lastIndexAfterInFlight(partition));
      if (last > 0 && start > last + 1) {
        invalid(
          `${at}.entries`,
          `start at index ${start} but the last stored index of partition ${partition} is ${last}; ` +
            `a write must start at or before ${last + 1} (compact the partition first to restart it further on)`,
        );
      }
      lastAfterWrite.set(partition, entries[entries.length - 1]?.index ?? last);
    }
  }

  private lastIndexAfterInFlight(partition: number): number {
    for (let f = this.inFlight.length - 1; f >= 0; f--) {
      const writes = this.inFlight[f]?.batch.writes ?? [];
      for (let w = writes.length - 1; w >= 0; w--) {
        const write = writes[w];
        const last = write?.entries[write.entries.length - 1];
        if (write?.partition !== partition) continue;
        if (last !== undefined) return last.index;
        if (write.snapshot !== undefined) return 0;
      }
    }
    return this.written.partitions.get(partition)?.lastIndex() ?? 0;
  }
}

const NO_BASE: LogBase = Object.freeze({ index: 0, term: 0 });

function validateHardState(hardState: HardState, where: string): void {
  if (!Number.isSafeInteger(hardState.term) || hardState.term < 0) {
    invalid(`${where}.term`, `must be an integer ≥ 0, got ${String(hardState.term)}`);
  }
  if (!Number.isSafeInteger(hardState.commit) || hardState.commit < 0) {
    invalid(`${where}.commit`, `must be an integer ≥ 0, got ${String(hardState.commit)}`);
  }
  if (typeof hardState.vote !== 'string') {
    invalid(`${where}.vote`, `must be a node id string ('' for nobody), got ${typeof hardState.vote}`);
  }
}
