import type { HLCTimestamp } from '../hlc/timestamp.js';

/**
 * What a log entry is for. The protocol only looks at `Noop` (appended by every new leader so that
 * entries of earlier terms can commit); the other kinds belong to the runtime's application-level
 * commit and are carried opaquely.
 */
export const EntryKind = {
  /** Empty entry a leader appends at the start of its term. Never delivered to the application. */
  Noop: 0,
  /** Application entry proposed with `autoCommit: true`: delivered as soon as it is Raft-committed. */
  Data: 1,
  /** Application entry proposed with `autoCommit: false`: delivered only when a `Commit` marker with its ticket commits. */
  Proposed: 2,
  /** Marker: the `Proposed` entries whose `time` equals this entry's `time` are delivered here. */
  Commit: 3,
  /** Marker: the `Proposed` entries whose `time` equals this entry's `time` are discarded. */
  Rollback: 4,
  /** Marker: a stable point the application asked for with `replicateCheckpoint`. */
  Checkpoint: 5,
} as const;
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind];

/**
 * One entry of a partition's replicated log. Entries are immutable once created: the protocol, the
 * WAL and the transports share them by reference and never modify them (nor their `data`).
 */
export interface Entry {
  /** Position in the partition's log, starting at 1. */
  readonly index: number;
  /** Term of the leader that created the entry. */
  readonly term: number;
  readonly kind: EntryKind;
  /** The application's log type (`''` for kinds the runtime creates itself). */
  readonly type: string;
  /** The application's payload (empty for markers and no-ops). */
  readonly data: Uint8Array;
  /**
   * When the entry was proposed (the leader's HLC). For `Proposed` entries this is the proposal ticket,
   * shared by every entry of one `replicateLogs` call; `Commit` and `Rollback` markers carry the ticket
   * they resolve.
   */
  readonly time: HLCTimestamp;
}

/** An entry before the leader has assigned it an index and a term. */
export type EntryProposal = Omit<Entry, 'index' | 'term'>;

/** A shared empty payload, so no-ops and markers do not allocate. */
export const EMPTY_DATA: Uint8Array = new Uint8Array(0);
