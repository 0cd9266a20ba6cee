import type { Wal } from '../ports/wal.js';
import type { RaftRestore } from '../raft/config.js';
import type { Entry } from '../raft/entry.js';
import { EMPTY_HARD_STATE } from '../raft/state.js';
import { EntryKind } from '../raft/entry.js';
import type { DeliveryTracker } from './delivery.js';

/** Reads a partition's retained log and hard state from the WAL. */
export async function loadPartition(wal: Wal, partition: number): Promise<{ restore: RaftRestore; entries: readonly Entry[] }> {
  const hardState = (await wal.readHardState(partition)) ?? EMPTY_HARD_STATE;
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
  const lastIndex = entries.length === 0 ? 0 : entries[entries.length - 1]!.index;
  const commit = Math.min(hardState.commit, lastIndex);
  const restore: RaftRestore = {
    hardState: commit === hardState.commit ? hardState : { ...hardState, commit },
    entries,
    applied: commit,
  };
  return { restore, entries };
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
): Promise<void> {
  let checkpoint = 0;
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
