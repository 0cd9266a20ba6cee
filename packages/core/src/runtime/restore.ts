import type { Wal } from '../ports/wal.js';
import type { LogBase } from '../raft/state.js';
import { decodePendingMeta, pendingMetaKey } from './snapshot-codec.js';
import type { RaftRestore } from '../raft/config.js';
import type { Entry } from '../raft/entry.js';
import { EMPTY_HARD_STATE } from '../raft/state.js';
import { EntryKind } from '../raft/entry.js';
import type { DeliveryTracker } from './delivery.js';

/** Reads a partition's retained log, base and hard state from the WAL, and pending proposals kept with an installed snapshot. */
export async function loadPartition(
  wal: Wal,
  partition: number,
): Promise<{ restore: RaftRestore; entries: readonly Entry[]; base: LogBase; pending: readonly Entry[] }> {
  const hardState = (await wal.readHardState(partition)) ?? EMPTY_HARD_STATE;
  const base = await wal.logBase(partition);
  const first = await wal.firstIndex(partition);
  const last = await wal.lastIndex(partition);
  const entries = last === 0 ? [] : await wal.readEntries(partition, first, last);
  for (let i = 1; i < entries.length; i++) {
    if (entries[i]!.index !== entries[i - 1]!.index + 1) {
      throw new Error(
        `WAL of partition ${partition} has a gap after index ${entries[i - 1]!.index}: the log cannot be restored; ` +
          'restore the data directory from a backup or remove it to rejoin empty',
      );
    }
  }
  if (entries.length > 0 && base.index > 0 && entries[0]!.index !== base.index + 1) {
    throw new Error(
      `WAL of partition ${partition} starts at index ${entries[0]!.index} but its base is ${base.index}: entries are missing; ` +
        'restore the data directory from a backup or remove it to rejoin empty',
    );
  }
  const lastIndex = entries.length === 0 ? base.index : entries[entries.length - 1]!.index;
  const commit = Math.min(Math.max(hardState.commit, base.index), lastIndex);
  let pending: Entry[] = [];
  const meta = base.index > 0 ? await wal.getMeta(pendingMetaKey(partition)) : undefined;
  if (meta !== undefined && meta.length > 0) {
    const decoded = decodePendingMeta(meta);
    // Kept only while the log still begins at the snapshot it came with.
    if (decoded.base === base.index) pending = decoded.pending;
  }
  const restore: RaftRestore = {
    hardState: commit === hardState.commit ? hardState : { ...hardState, commit },
    entries,
    applied: commit,
    ...(base.index > 0 ? { base } : {}),
  };
  return { restore, entries, base, pending };
}

/**
 * Replays the committed part of a restored log into `tracker`, handing the application the entries it was
 * delivered before the restart from the last committed checkpoint on (DESIGN §2.3): rolled-back and still
 * pending proposals are skipped, and pending ones stay in the tracker so a later commit marker releases them.
 */
export async function replayCommitted(
  entries: readonly Entry[],
  commit: number,
  tracker: DeliveryTracker,
  restored: (entry: Entry) => boolean | Promise<boolean>,
  base = 0,
  pending: readonly Entry[] = [],
): Promise<void> {
  // Proposals pending at an installed snapshot: their commit markers may still be in the log.
  for (const e of pending) tracker.commit(e, ignoreRelease);
  // The base is at or below the last checkpoint applied before compaction (or is an installed snapshot).
  let checkpoint = base;
  tracker.lastCheckpoint = base;
  tracker.checkpointFloor = base;
  for (const e of entries) {
    if (e.index > commit) break;
    if (e.kind === EntryKind.Checkpoint) checkpoint = e.index;
  }
  const ready: Entry[] = [];
  for (const e of entries) {
    if (e.index > commit) break;
    const keep = e.index > checkpoint;
    tracker.commit(e, (released) => {
      if (keep) ready.push(released);
    });
    for (const released of ready) {
      const r = restored(released);
      if (typeof r !== 'boolean') await r;
    }
    ready.length = 0;
  }
}

function ignoreRelease(): void {}
