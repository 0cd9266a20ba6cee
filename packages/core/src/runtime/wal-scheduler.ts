import type { Wal, WalPartitionWrite } from '../ports/wal.js';

type Done = (error: Error | null) => void;

/**
 * Group commit across partitions: the writes that partitions hand in while a WAL append is in flight are
 * gathered and written as the next single batch, with one fsync for all of them. The WAL port allows one
 * append at a time, which is also what makes batches grow under load.
 */
export class WalScheduler {
  private writes: WalPartitionWrite[] = [];
  private callbacks: Done[] = [];
  /** Maintenance that runs between batches: compactions and metadata, in order. */
  private maintenance: Array<{ readonly run: () => Promise<void>; readonly done: Done }> = [];
  private inFlight = false;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  /** Batches handed to the WAL (for metrics and benchmarks). */
  batches = 0;

  constructor(
    private readonly wal: Wal,
    private readonly sync: boolean,
    private readonly defer: (fn: () => void) => void,
    private readonly onFailure: (error: Error) => void,
  ) {}

  /** Queues one partition's write; `done` runs once it is durable (or failed). */
  submit(write: WalPartitionWrite, done: Done): void {
    if (this.stopped) {
      done(new Error('the WAL scheduler is stopped: the node left the cluster'));
      return;
    }
    this.writes.push(write);
    this.callbacks.push(done);
    if (!this.inFlight) {
      this.inFlight = true;
      // Deferred so that every partition processed in this turn joins the same batch.
      this.defer(() => this.flush());
    }
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
      this.defer(() => this.flush());
    }
  }

  /** Resolves once no batch is in flight; later submissions fail. */
  stop(): Promise<void> {
    this.stopped = true;
    if (!this.inFlight) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private flush(): void {
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
    if (writes.length === 0) {
      this.inFlight = false;
      this.notifyIdle();
      return;
    }
    this.writes = [];
    this.callbacks = [];
    this.batches++;
    this.wal.append({ writes, sync: this.sync }).then(
      () => {
        for (let i = 0; i < callbacks.length; i++) callbacks[i]!(null);
        // Deferred: the partitions just released will hand in their next writes during this turn.
        this.defer(() => this.flush());
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
