import type { HardState, LogBase } from '@kommander/core';
import { NO_BASE } from './records.js';

/**
 * What the WAL keeps in memory about one partition, loaded at open and updated after every write lands:
 * the start index of each stored run (ascending), the last index, the base and the hard state.
 *
 * Runs are never rewritten. An overwrite at index i stores a run starting at i and deletes the runs
 * starting after it, so an earlier run may hold entries past i that are masked: the entries of run k
 * that count are `starts[k] .. starts[k + 1] - 1` (up to `last` for the last run). Compaction deletes the
 * runs that end at or below the base; the first kept run may still hold entries at or below it, which
 * reads skip.
 */
export class PartitionLog {
  starts: number[] = [];
  /** Last index (0 when there are no runs). */
  last = 0;
  base: LogBase = NO_BASE;
  hardState: HardState | undefined = undefined;
  /**
   * Values of the small runs at the end of the log that this instance wrote (by start index), so that
   * merging them needs no read. Only the trailing row of such runs is kept (see {@link pruneSmallRuns}).
   */
  readonly smallRuns = new Map<number, Buffer>();

  firstIndex(): number {
    const first = this.starts[0];
    return first === undefined ? 0 : Math.max(first, this.base.index + 1);
  }

  /** Last index of run `k` that counts. */
  runEnd(k: number): number {
    const next = this.starts[k + 1];
    return next === undefined ? this.last : next - 1;
  }

  /** Position of the run holding `index` (the last run starting at or before it); -1 when none does. */
  runAt(index: number): number {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[mid] as number) <= index) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** How many of the first runs start before `index` (the runs an overwrite at `index` keeps). */
  runsBefore(index: number, within = this.starts.length): number {
    let lo = 0;
    let hi = within;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.starts[mid] as number) < index) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Forgets the cached small runs that are gone or that a stored run not cached separates from the end of the log. */
  pruneSmallRuns(): void {
    if (this.smallRuns.size === 0) return;
    let k = this.starts.length;
    while (k > 0 && this.smallRuns.has(this.starts[k - 1] as number)) k--;
    const from = k < this.starts.length ? (this.starts[k] as number) : Number.POSITIVE_INFINITY;
    for (const start of this.smallRuns.keys()) if (start < from || start > this.last) this.smallRuns.delete(start);
  }

  isEmpty(): boolean {
    return this.starts.length === 0 && this.hardState === undefined && this.base.index === 0 && this.base.term === 0;
  }
}
