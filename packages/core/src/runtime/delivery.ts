import { EntryKind, type Entry } from '../raft/entry.js';
import type { HLCTimestamp } from '../hlc/timestamp.js';

/** The key of a proposal ticket in maps. */
export function ticketKey(time: HLCTimestamp): string {
  return `${time.physical}.${time.counter}`;
}

/** A proposal made with `autoCommit: false` whose entries are committed in Raft but not yet resolved by a marker. */
export interface PendingProposal {
  readonly ticket: HLCTimestamp;
  readonly entries: Entry[];
  /** When the leader last proposed a rollback for it because it expired (0 = never). */
  rollbackProposedAt: number;
}

/**
 * Turns the Raft-committed log into the application's delivery sequence (DESIGN §2.3): `Data` entries
 * are delivered where they commit, `Proposed` entries wait for a `Commit` marker with their ticket (and
 * are then delivered in their original order) or vanish with a `Rollback` marker. The same object replays
 * the log at restore, so a restart reproduces exactly the sequence delivered before it.
 */
export class DeliveryTracker {
  readonly pending = new Map<string, PendingProposal>();
  /** Index of the last committed checkpoint entry (0 = none). */
  lastCheckpoint = 0;
  /**
   * How far the log may be compacted for the last checkpoint: its index, or less when proposals were
   * pending there. A restore replays what was released after the checkpoint, and a commit marker after
   * it releases pending entries from before it, so those entries must stay in the log.
   */
  checkpointFloor = 0;

  /**
   * Feeds one committed entry; `deliver` receives the application entries it releases, in order.
   * Returns true when the entry was a marker that resolved a pending proposal (or not a marker at all).
   */
  commit(entry: Entry, deliver: (entry: Entry) => void): boolean {
    switch (entry.kind) {
      case EntryKind.Data:
        deliver(entry);
        return true;
      case EntryKind.Proposed: {
        const key = ticketKey(entry.time);
        const pending = this.pending.get(key);
        if (pending === undefined) this.pending.set(key, { ticket: entry.time, entries: [entry], rollbackProposedAt: 0 });
        else pending.entries.push(entry);
        return true;
      }
      case EntryKind.Commit: {
        const key = ticketKey(entry.time);
        const pending = this.pending.get(key);
        if (pending === undefined) return false;
        this.pending.delete(key);
        for (const e of pending.entries) deliver(e);
        return true;
      }
      case EntryKind.Rollback:
        return this.pending.delete(ticketKey(entry.time));
      case EntryKind.Checkpoint: {
        this.lastCheckpoint = entry.index;
        let floor = entry.index;
        for (const p of this.pending.values()) {
          const first = p.entries[0];
          if (first !== undefined && first.index - 1 < floor) floor = first.index - 1;
        }
        this.checkpointFloor = floor;
        return true;
      }
      default:
        return true;
    }
  }
}
