/** Where a run is stored and what it holds, without its records. */
export interface RunInfo {
  /** Row id in `runs` and `run_records`. */
  readonly id: number;
  readonly partition: number;
  readonly first: number;
  readonly last: number;
  /** CRC-32 of the run's records. */
  readonly crc: number;
  /** Byte length of the run's records. */
  readonly bytes: number;
  /** Sequence number of the batch that wrote the row. */
  readonly batch: number;
}

/**
 * The live runs of one partition in index order, each following the one before it. Kept in memory by
 * the worker, so that SQLite needs no index on partitions: rows are only ever added at the end of their
 * tables, and a batch over many partitions dirties a few pages instead of one index page per partition.
 * Like the in-memory WAL, the front is cut by moving `head`, so compaction stays O(runs removed).
 */
export class PartitionRuns {
  private runs: RunInfo[] = [];
  private head = 0;

  get first(): number {
    return this.runs[this.head]?.first ?? 0;
  }

  get last(): number {
    return this.runs[this.runs.length - 1]?.last ?? 0;
  }

  get isEmpty(): boolean {
    return this.head === this.runs.length;
  }

  /** Number of live runs. */
  get size(): number {
    return this.runs.length - this.head;
  }

  /** The live run at `position` (0 is the first). */
  at(position: number): RunInfo {
    return this.runs[this.head + position] as RunInfo;
  }

  /** Position of the run holding `index`, or -1 when no live run does. */
  positionOf(index: number): number {
    let lo = this.head;
    let hi = this.runs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const run = this.runs[mid] as RunInfo;
      if (index < run.first) hi = mid - 1;
      else if (index > run.last) lo = mid + 1;
      else return mid - this.head;
    }
    return -1;
  }

  /** The runs holding entries in [lo, hi], in order. */
  covering(lo: number, hi: number): RunInfo[] {
    const from = this.positionOf(lo);
    const to = this.positionOf(hi);
    if (from < 0 || to < 0) return [];
    return this.runs.slice(this.head + from, this.head + to + 1);
  }

  push(run: RunInfo): void {
    this.runs.push(run);
  }

  /** Removes the runs from `position` on and returns them. */
  removeFrom(position: number): RunInfo[] {
    const removed = this.runs.splice(this.head + position);
    if (this.isEmpty) this.reset();
    return removed;
  }

  /** Removes the runs up to `position` included, puts `replacement` (a run that follows them) in their place, and returns them. */
  removeThrough(position: number, replacement: RunInfo | undefined): RunInfo[] {
    const end = this.head + position + 1;
    const removed = this.runs.slice(this.head, end);
    this.head = end;
    if (replacement !== undefined) {
      this.head -= 1;
      this.runs[this.head] = replacement;
    }
    if (this.isEmpty) this.reset();
    else if (this.head >= 1024 && this.head * 2 >= this.runs.length) {
      // Give the dead prefix back once it dominates the array.
      this.runs = this.runs.slice(this.head);
      this.head = 0;
    }
    return removed;
  }

  /** Removes every run and returns them. */
  clear(): RunInfo[] {
    const removed = this.runs.slice(this.head);
    this.reset();
    return removed;
  }

  private reset(): void {
    this.runs = [];
    this.head = 0;
  }
}
