import type { Entry } from './entry.js';
import type { NodeId } from './message.js';
import type { HardState, LogBase } from './state.js';

/** The configuration of one Raft group on one node. Times are counted in ticks; the runtime decides how long a tick is. */
export interface RaftConfig {
  /** This node. */
  readonly id: NodeId;
  /** The group (Kommander partition id); copied into every message. */
  readonly partition: number;
  /** Voting members, this node included when it votes. */
  readonly voters: readonly NodeId[];
  /** Non-voting members that receive the log but neither vote nor count towards quorum. Default: none. */
  readonly learners?: readonly NodeId[];
  /**
   * Election timeout range in ticks: a follower that hears no leader for a random number of ticks in
   * `[electionTicksMin, electionTicksMax)` campaigns. Defaults: 10 and 20.
   */
  readonly electionTicksMin?: number;
  readonly electionTicksMax?: number;
  /** Ticks between leader heartbeats. Default 1. Must be smaller than `electionTicksMin`. */
  readonly heartbeatTicks?: number;
  /** Run a pre-vote round before incrementing the term (Raft thesis §9.6). Default true. */
  readonly preVote?: boolean;
  /** A leader that has not heard from a quorum within an election timeout steps down; followers in contact with a leader ignore votes. Default true. */
  readonly checkQuorum?: boolean;
  /** Append messages in flight per follower before the leader waits for acknowledgements. Default 256. */
  readonly maxInflightMessages?: number;
  /** At most this many entries in one Append message. Default 1024. */
  readonly maxEntriesPerMessage?: number;
  /** At most this many payload bytes in one Append message (one entry always fits). Default 1 MiB. */
  readonly maxBytesPerMessage?: number;
  /** At most this many entries a leader accepts beyond its commit index before refusing proposals. Default 100,000. */
  readonly maxUncommittedEntries?: number;
  /**
   * A leader waits this many ticks for a follower to acknowledge a snapshot before it asks for a new one
   * (the transfer or its answer may be lost). Default 200.
   */
  readonly snapshotTimeoutTicks?: number;
  /**
   * When the commit index advances, send it to every follower at once, in an Append of its own if no
   * entries go with it (etcd-raft's behaviour). `false`: the new commit index travels with the next
   * Append that carries entries, or with the next heartbeat (within `heartbeatTicks`), which saves two
   * messages per follower and commit under steady load. Default true.
   */
  readonly broadcastCommit?: boolean;
  /** Seed of the PRNG that randomises election timeouts. */
  readonly seed: number;
}

/** What a node restarts from: its persisted hard state and retained log. */
export interface RaftRestore {
  readonly hardState: HardState;
  /** The retained entries, contiguous and ascending, starting right after `base`. Empty for a new node. */
  readonly entries: readonly Entry[];
  /** Where the retained log begins (compaction or an installed snapshot). Default: the index before the first entry, with unknown term; `{0, 0}` for an empty log. */
  readonly base?: LogBase;
  /** Highest index the application has already received (restore replayed it); committed entries after it are delivered through Ready. */
  readonly applied: number;
}
