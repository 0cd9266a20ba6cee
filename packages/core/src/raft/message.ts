import type { Entry } from './entry.js';

/** Identifies a node; Kommander uses the node's endpoint (for example `"10.0.0.1:7001"`) or any unique name. */
export type NodeId = string;

/** The protocol messages exchanged between the members of one Raft group. */
export const MessageType = {
  /** Leader → follower: entries after (`index`, `logTerm`), and the leader's commit index. */
  Append: 0,
  /** Follower → leader: accepted up to `index`, or rejected at `index` with `rejectHint` (the follower's last index). */
  AppendResponse: 1,
  /** Candidate → voter: vote for me in `term`; my last entry is (`index`, `logTerm`). */
  Vote: 2,
  VoteResponse: 3,
  /** Pre-candidate → voter: would you vote for me in `term` (not yet incremented locally)? */
  PreVote: 4,
  PreVoteResponse: 5,
  /** Leader → follower: I am alive; commit is min(`commit`, follower's match). `context` carries a ReadIndex round. */
  Heartbeat: 6,
  /** Follower → leader: answer to a heartbeat, echoing `context`. */
  HeartbeatResponse: 7,
  /** Leader → transfer target: start an election now, skipping pre-vote and leases. */
  TimeoutNow: 8,
  /**
   * Leader → follower, for a follower that needs entries the leader compacted. From the protocol it
   * asks the runtime to send the application's state (`index`, `logTerm`: the leader's base, for
   * information). The runtime carries the state in chunks; the follower's runtime steps one Snapshot
   * with `index`/`logTerm` = the point the state covers (the entry at `index` had `logTerm`) once every
   * chunk arrived.
   */
  Snapshot: 9,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/**
 * A protocol message. Every field is always present (unused ones are 0, `false`, `''` or empty) so that
 * messages keep one shape, serialise simply and stay fast.
 */
export interface Message {
  readonly type: MessageType;
  /** The Raft group (Kommander partition) this message belongs to. */
  readonly partition: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  /** Append: term of the entry at `index`. Vote/PreVote: term of the candidate's last entry. Rejecting AppendResponse: term at `rejectHint`, so the leader can skip a whole term per round trip. */
  readonly logTerm: number;
  /** Append: index before the first entry. Vote/PreVote: candidate's last index. AppendResponse: see MessageType. */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  readonly rejectHint: number;
  /** Heartbeat / HeartbeatResponse: ReadIndex round (0 = none). Vote: 1 when the election is a leadership transfer. Snapshot chunks: the transfer id. */
  readonly context: number;
}
