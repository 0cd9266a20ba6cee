import type { HLCTimestamp } from '../hlc/timestamp.js';
import type { NodeId } from '../raft/message.js';
import type { Role } from '../raft/state.js';
import type { RaftOperationStatus } from './status.js';

/** A committed application entry as the application receives it. */
export interface RaftLog {
  /** The entry's index in its partition's log (unique and increasing within a partition). */
  readonly id: number;
  /** The term of the leader that created it. */
  readonly term: number;
  /** The application's log type, as passed to `replicateLogs`. */
  readonly type: string;
  /** The application's payload, as passed to `replicateLogs`. Treat it as read-only. */
  readonly data: Uint8Array;
  /** The leader's HLC time when the entry was proposed (the ticket for `autoCommit: false`). */
  readonly time: HLCTimestamp;
}

/** The result of `replicateLogs`. */
export interface ReplicationResult {
  readonly status: RaftOperationStatus;
  /**
   * The proposal's HLC ticket (pass it to `commitLogs`/`rollbackLogs` with `autoCommit: false`, where it is
   * unique); with `autoCommit: true` it is the entries' time, shared by the calls of one scheduler turn.
   * Null unless Success.
   */
  readonly ticket: HLCTimestamp | null;
  /** Index of the last entry written; 0 unless Success. */
  readonly lastIndex: number;
}

/** The result of `commitLogs`, `rollbackLogs` and `replicateCheckpoint`. */
export interface OperationResult {
  readonly status: RaftOperationStatus;
  /** Index of the marker entry; 0 unless Success. */
  readonly index: number;
}

/** A point-in-time view of one partition on this node (for admin endpoints, tests and the simulator). */
export interface PartitionStatus {
  readonly partition: number;
  readonly role: Role;
  /** The known leader (`''` when unknown). */
  readonly leader: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** True while the partition replays its WAL after a start. */
  readonly restoring: boolean;
  /** Client proposals waiting in the partition's queue. */
  readonly queuedProposals: number;
}

/** Options of `replicateLogs`. */
export interface ReplicateOptions {
  /** Deliver the entries once Raft-committed (true) or hold them until `commitLogs` (false). Default true. */
  readonly autoCommit?: boolean;
  /** Give up waiting after this many milliseconds (the entries may still commit). Default: the manager's `proposalTimeoutMs`. */
  readonly timeoutMs?: number;
  /** Stop waiting when aborted; the result is `OperationCancelled`. */
  readonly signal?: AbortSignal;
}

/** Called with each committed application entry, in log order per partition. Return false (or throw) to report a failed apply. */
export type ReplicationHandler = (partition: number, log: RaftLog) => boolean | Promise<boolean>;
/** Called with each committed entry replayed from the WAL at start-up, in log order per partition. */
export type RestoreHandler = (partition: number, log: RaftLog) => boolean | Promise<boolean>;
/** Called when this node learns of a new leader for a partition (`''` when the partition has none). */
export type LeaderChangedHandler = (partition: number, leader: NodeId) => void;
/** Called when an application handler returned false or threw. */
export type ReplicationErrorHandler = (partition: number, log: RaftLog, error: unknown) => void;
/** Called around the WAL replay of each partition. */
export type RestoreProgressHandler = (partition: number) => void;
/** Removes the handler it was returned for. */
export type Unsubscribe = () => void;

/** Returned by `RaftManager.acquireRetentionHold`: entries from `fromIndex` on stay in the log until `release()`. */
export interface RetentionHold {
  readonly partition: number;
  readonly fromIndex: number;
  /**
   * False once this node installed a snapshot covering `fromIndex` (it had fallen behind the leader's
   * compacted log, so the held entries could not be kept): entries from `fromIndex` up to the snapshot
   * are gone from this node's log. Compaction itself never passes a hold.
   */
  readonly intact: boolean;
  /** Lets compaction pass the hold again. Calling it twice does nothing. */
  release(): void;
}
