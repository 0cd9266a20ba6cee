import type { Wal, WalPartitionWrite } from '../ports/wal.js';

type Done = (error: Error | null) => void;

/**
 * Group commit across partitions: the writes that partitions hand in while a WAL append is in flight are
 * gathered and written as the next single batch, with one fsync for all of them. The WAL port allows one
 * append at a time, which is also what makes batches grow under load.
 *
 * A write may be *lazy*: handed in while a batch is in flight, it does not make the next batch start;
 * it waits until a write that is not lazy starts one (it then rides in that batch and its fsync) or until
 * {@link flushLazy}. Handed in while the WAL is idle, it starts a batch like any write. A follower's
 * write that only moves its commit index is lazy: nothing waits for it but the follower's own apply
 * loop, and an fsync of its own in the middle of a stream of writes would compete for the disk with the
 * writes the leader is waiting for.
 */
export class WalScheduler {
  private writes: WalPartitionWrite[] = [];
  private callbacks: Done[] = [];
  /** Position in {@link writes} of each partition's queued write: a partition's later writes merge into it. */
  private slots = new Map<number, number>();
  /** Writes queued that are not lazy: while 0, queued writes do not start a batch. */
  private urgent = 0;
  /** Writes queued that must be fsynced: while 0, the batch goes to the WAL with `sync: false`. */
  private syncing = 0;
  /** Maintenance that runs between batches: compactions and metadata, in order. */
  private maintenance: Array<{ readonly run: () => Promise<void>; readonly done: Done }> = [];
  private inFlight = false;
  /** A flush is deferred and has not run yet: {@link flushNow} may run it earlier. */
  private flushQueued = false;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  /** Batches handed to the WAL (for metrics and benchmarks). */
  batches = 0;
  /** Of {@link batches}, those appended with `sync: true`. */
  syncedBatches = 0;

  constructor(
    private readonly wal: Wal,
    private readonly sync: boolean,
    private readonly defer: (fn: () => void) => void,
    private readonly onFailure: (error: Error) => void,
  ) {}

  /**
   * Queues one partition's write; `done` runs once it is durable (or failed). See the class for `lazy`.
   * A write with `sync` false does not need an fsync: a batch of such writes only is appended without
   * one (and becomes durable with the next synced batch); `done` then runs once the WAL has it.
   */
  submit(write: WalPartitionWrite, done: Done, lazy = false, sync = true): void {
    if (this.stopped) {
      done(new Error('the WAL scheduler is stopped: the node left the cluster'));
      return;
    }
    const at = this.slots.get(write.partition);
    if (at === undefined) {
      this.slots.set(write.partition, this.writes.length);
      this.writes.push(write);
    } else {
      // Pipelined Readies of one partition: one write per partition and batch, in the order handed in.
      this.writes[at] = mergeWrites(this.writes[at]!, write);
    }
    this.callbacks.push(done);
    if (sync) this.syncing++;
    // Without fsyncs there is nothing to save by waiting, and with no batch in flight the disk is idle.
    if (lazy && this.sync && this.inFlight) return;
    this.urgent++;
    if (!this.inFlight) {
      this.inFlight = true;
      // Deferred so that every partition processed in this turn joins the same batch.
      this.queueFlush();
    }
  }

  /** Writes the lazy writes that wait, if no batch is in flight (one will take them otherwise). The node calls this every tick. */
  flushLazy(): void {
    if (this.inFlight || this.writes.length === 0) return;
    this.inFlight = true;
    this.flush(true);
  }

  /**
   * Starts the deferred flush now, if one is waiting. The node calls this at the end of each scheduler
   * turn, once every partition of the turn has handed in its write: the batch is the same, and it leaves
   * without waiting one more event-loop iteration (which first polls, and handles, whatever I/O arrived).
   */
  flushNow(): void {
    if (!this.flushQueued) return;
    this.flushQueued = false;
    this.flush();
  }

  private queueFlush(): void {
    this.flushQueued = true;
    this.defer(() => this.flushNow());
  }

  /**
   * Runs `run` (a compaction or a metadata write) between two batches, so it never overlaps an append;
   * `done` receives its outcome. A failure is reported to `done` only: maintenance can be retried.
   */
  maintain(run: () => Promise<void>, done: Done): void {
    if (this.stopped) {
      done(new Error('the WAL scheduler is stopped: the node left the cluster'));
      return;
    }
    this.maintenance.push({ run, done });
    if (!this.inFlight) {
      this.inFlight = true;
      this.queueFlush();
    }
  }

  /** Writes what waits (lazy writes too) and resolves once no batch is in flight; later submissions fail. */
  stop(): Promise<void> {
    this.flushLazy();
    this.stopped = true;
    if (!this.inFlight) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Starts the next batch: maintenance first, then the queued writes if one of them is not lazy (or `all`). */
  private flush(all = false): void {
    if (this.maintenance.length > 0) {
      const { run, done } = this.maintenance.shift()!;
      run().then(
        () => done(null),
        (reason: unknown) => done(reason instanceof Error ? reason : new Error(String(reason))),
      ).then(() => this.flush());
      return;
    }
    const writes = this.writes;
    const callbacks = this.callbacks;
    if (writes.length === 0 || (this.urgent === 0 && !all && !this.stopped)) {
      this.inFlight = false;
      this.notifyIdle();
      return;
    }
    this.writes = [];
    this.callbacks = [];
    this.slots = new Map();
    this.urgent = 0;
    const sync = this.sync && this.syncing > 0;
    this.syncing = 0;
    this.batches++;
    if (sync) this.syncedBatches++;
    this.wal.append({ writes, sync }).then(
      () => {
        if (this.urgent > 0 && this.maintenance.length === 0) {
          // Writes handed in while this one was in flight go now: the disk does not wait for the
          // callbacks below (and what they lead to) before its next batch.
          this.flush();
        } else {
          // Deferred: the partitions released below hand in their next writes during this turn.
          this.queueFlush();
        }
        for (let i = 0; i < callbacks.length; i++) callbacks[i]!(null);
      },
      (reason: unknown) => {
        const error = reason instanceof Error ? reason : new Error(String(reason));
        for (let i = 0; i < callbacks.length; i++) callbacks[i]!(error);
        this.inFlight = false;
        this.notifyIdle();
        this.onFailure(error);
      },
    );
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

/**
 * `later` applied after `earlier`, as one write: entries starting at index i replace the stored (and the
 * earlier write's) entries from i on; the later hard state wins; a snapshot is only ever the first write
 * of a partition in a batch (the runtime installs it alone).
 */
export function mergeWrites(earlier: WalPartitionWrite, later: WalPartitionWrite): WalPartitionWrite {
  if (later.snapshot !== undefined) {
    throw new Error(`WAL scheduler: a snapshot write for partition ${later.partition} arrived behind another write of the same partition (internal error)`);
  }
  let entries = earlier.entries;
  const next = later.entries;
  if (next.length > 0) {
    if (entries.length === 0) entries = next;
    else {
      const from = next[0]!.index;
      const first = entries[0]!.index;
      const last = entries[entries.length - 1]!.index;
      if (from > last + 1) {
        throw new Error(`WAL scheduler: partition ${later.partition} wrote entries from ${from} after entries ending at ${last} (a gap; internal error)`);
      }
      entries = from <= first ? next : entries.slice(0, from - first).concat(next);
    }
  }
  const hardState = later.hardState ?? earlier.hardState;
  const merged: { -readonly [K in keyof WalPartitionWrite]: WalPartitionWrite[K] } = { partition: earlier.partition, entries };
  if (earlier.snapshot !== undefined) {
    if (entries.length > 0 && entries[0]!.index !== earlier.snapshot.index + 1) {
      throw new Error(`WAL scheduler: partition ${later.partition} rewrote entries below its new snapshot (internal error)`);
    }
    merged.snapshot = earlier.snapshot;
  }
  if (hardState !== undefined) merged.hardState = hardState;
  return merged;
}
