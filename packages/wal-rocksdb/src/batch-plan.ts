import type { Entry, HardState, LogBase, WalBatch, WalPartitionWrite } from '@kommander/core';
import type { PartitionLog } from './partition-log.js';
import { NO_BASE } from './records.js';
import { concatRuns, type EncodedRun, type RunEncoder, type RunPiece } from './run.js';
import { checkEntries, checkHardState, checkPartition, describe, invalid } from './validation.js';

/** What one partition's writes in a batch amount to, computed (and validated) before anything is written. */
export interface PartitionDraft {
  readonly partition: number;
  readonly log: PartitionLog | undefined;
  /** How many of the stored runs survive (the others are deleted). */
  keep: number;
  added: EncodedRun[];
  last: number;
  base: LogBase;
  baseWritten: boolean;
  hardState: HardState | undefined;
  hardStateWritten: boolean;
}

/** Stored runs `from..to` (positions) rewritten as the one run `run` by a batch. */
export interface RowMerge {
  readonly from: number;
  readonly to: number;
  readonly run: EncodedRun;
}

/** When small runs are merged; see the `smallRun…` options. */
export interface MergeLimits {
  readonly smallRunEntries: number;
  readonly smallRunsToMerge: number;
  readonly maxRunEntries: number;
  readonly maxRunBytes: number;
}

/** Validates the whole batch and works out, per partition, which runs it keeps, adds and replaces. Throws before anything is written. */
export function planBatch(batch: WalBatch, logs: ReadonlyMap<number, PartitionLog>, encoder: RunEncoder): Map<number, PartitionDraft> {
  const where = 'RocksDbWal.append: batch';
  if (typeof batch !== 'object' || batch === null || !Array.isArray(batch.writes)) {
    invalid(where, 'must be an object { writes: WalPartitionWrite[], sync: boolean }');
  }
  if (typeof batch.sync !== 'boolean') invalid(`${where}.sync`, `must be a boolean, got ${describe(batch.sync)}`);
  const drafts = new Map<number, PartitionDraft>();
  for (let w = 0; w < batch.writes.length; w++) {
    const write = batch.writes[w] as WalPartitionWrite;
    const at = `${where}.writes[${w}]`;
    if (typeof write !== 'object' || write === null) invalid(at, 'must be an object { partition, entries, hardState?, snapshot? }');
    const partition = write.partition;
    checkPartition(`${at}.partition`, partition);
    if (!Array.isArray(write.entries)) invalid(`${at}.entries`, 'must be an array (empty for none)');
    if (write.hardState !== undefined) checkHardState(write.hardState, `${at}.hardState`);
    const entries = write.entries;
    const snapshot = write.snapshot;
    if (entries.length === 0 && write.hardState === undefined && snapshot === undefined) continue;
    let draft = drafts.get(partition);
    if (draft === undefined) {
      const log = logs.get(partition);
      draft = {
        partition,
        log,
        keep: log?.starts.length ?? 0,
        added: [],
        last: log?.last ?? 0,
        base: log?.base ?? NO_BASE,
        baseWritten: false,
        hardState: log?.hardState,
        hardStateWritten: false,
      };
      drafts.set(partition, draft);
    }
    const start = entries[0]?.index;
    if (snapshot !== undefined) {
      if (typeof snapshot !== 'object' || snapshot === null || !Number.isSafeInteger(snapshot.index) || snapshot.index < 1 || !Number.isSafeInteger(snapshot.term) || snapshot.term < 0) {
        invalid(`${at}.snapshot`, `must be { index ≥ 1, term ≥ 0 } integers, got ${describe(snapshot)} (partition ${partition})`);
      }
      if (start !== undefined && start !== snapshot.index + 1) {
        invalid(`${at}.entries`, `start at index ${String(start)} but must start at ${snapshot.index + 1}, right after the snapshot (partition ${partition})`);
      }
      draft.keep = 0;
      draft.added = [];
      draft.last = 0;
      draft.base = Object.freeze({ index: snapshot.index, term: snapshot.term });
      draft.baseWritten = true;
    }
    if (entries.length > 0) {
      checkEntries(entries, at, partition);
      const first = start as number;
      if (first <= draft.base.index) {
        invalid(
          `${at}.entries`,
          `start at index ${first}, at or below the base of partition ${partition} (index ${draft.base.index}); ` +
            'entries there were compacted away: write a snapshot to restart the log lower',
        );
      }
      if (draft.last > 0 && first > draft.last + 1) {
        invalid(
          `${at}.entries`,
          `start at index ${first} but the last stored index of partition ${partition} is ${draft.last}; ` +
            `a write must start at or before ${draft.last + 1} (compact the partition first to restart it further on)`,
        );
      }
      if (draft.last >= first) {
        while (draft.added.length > 0 && (draft.added[draft.added.length - 1] as EncodedRun).start >= first) draft.added.pop();
        if (draft.added.length === 0) draft.keep = draft.log === undefined ? 0 : draft.log.runsBefore(first, draft.keep);
      }
      for (const run of encoder.encode(partition, entries)) draft.added.push(run);
      draft.last = (entries[entries.length - 1] as Entry).index;
    }
    if (write.hardState !== undefined) {
      draft.hardState = Object.freeze({ term: write.hardState.term, vote: write.hardState.vote, commit: write.hardState.commit });
      draft.hardStateWritten = true;
    }
  }
  return drafts;
}

/**
 * The row of small runs, all in memory, that ends right before the first run `draft` adds, when it is
 * long enough to merge (and the merged run stays within the run limits). The batch's own runs are left
 * alone, so open can still verify and cut the batch from its marker; the merged run holds the same
 * entries as the runs it replaces, so a cut of the batch leaves it valid.
 */
export function planMerge(draft: PartitionDraft, limits: MergeLimits): RowMerge | undefined {
  const log = draft.log;
  const firstAdded = draft.added[0];
  if (limits.smallRunsToMerge === 0 || log === undefined || firstAdded === undefined) return undefined;
  const to = draft.keep - 1;
  const pieces: RunPiece[] = [];
  let entries = 0;
  let bytes = 0;
  for (let k = to; k >= 0; k--) {
    const start = log.starts[k] as number;
    const value = log.smallRuns.get(start);
    const end = k === to ? firstAdded.start - 1 : (log.starts[k + 1] as number) - 1;
    const count = end - start + 1;
    if (value === undefined || start <= log.base.index || count >= limits.smallRunEntries) break;
    if (entries + count > limits.maxRunEntries || bytes + value.length > limits.maxRunBytes) break;
    pieces.push({ value, start, count });
    entries += count;
    bytes += value.length;
  }
  if (pieces.length < limits.smallRunsToMerge) return undefined;
  pieces.reverse();
  return { from: to - pieces.length + 1, to, run: concatRuns(draft.partition, pieces) };
}
