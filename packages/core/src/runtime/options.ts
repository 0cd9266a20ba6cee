import type { Clock } from '../ports/clock.js';
import type { Discovery } from '../ports/discovery.js';
import type { Logger } from '../ports/logger.js';
import type { StateTransfer } from '../ports/state-transfer.js';
import type { Transport } from '../ports/transport.js';
import type { Wal } from '../ports/wal.js';
import type { NodeId } from '../raft/message.js';

/** Options of `new RaftManager(options)`. Every optional field documents its default. */
export interface RaftManagerOptions {
  /** This node's id: its endpoint or any name unique in the cluster. Must appear in `discovery.nodes()`. */
  readonly node: NodeId;
  /** User partitions 1..initialPartitions created at first start. Default 1. */
  readonly initialPartitions?: number;
  readonly wal: Wal;
  readonly transport: Transport;
  readonly discovery: Discovery;
  /**
   * Nodes of the discovery list that receive every partition's log but never vote, campaign or count
   * towards quorum (non-voting replicas, e.g. a node catching up before it is trusted). Every node must
   * be started with the same list. Default: none (every node votes).
   */
  readonly learners?: readonly NodeId[];
  /** Time source. Default: the system clock. The simulator passes a virtual one. */
  readonly clock?: Clock;
  /** Default: a logger that drops everything. */
  readonly logger?: Logger;
  /** Milliseconds per protocol tick (one node-wide ticker drives every partition). Default 50. */
  readonly tickMs?: number;
  /** Election timeout in ticks; a follower campaigns after a random number of ticks in [electionTicks, 2·electionTicks). Default 10. */
  readonly electionTicks?: number;
  /** Ticks between leader heartbeats. Default 1. */
  readonly heartbeatTicks?: number;
  /** How long `replicateLogs`, `commitLogs`, `rollbackLogs` and `replicateCheckpoint` wait for the commit. Default 5000 ms. */
  readonly proposalTimeoutMs?: number;
  /** A proposal made with `autoCommit: false` that is neither committed nor rolled back within this time is rolled back by the leader. Default 30000 ms. */
  readonly pendingProposalTimeoutMs?: number;
  /** Entries a partition holds for clients (queued proposals plus committed entries the application has not finished) before answering `ProposalQueueFull`. Default 65536. */
  readonly maxQueuedProposals?: number;
  /**
   * fsync every WAL batch. Turning it off means a power failure or kernel crash can lose votes and
   * entries this node acknowledged: Raft's guarantees (one leader per term, no acknowledged write lost)
   * then no longer hold. A process crash alone loses nothing the WAL adapter had handed to the OS.
   * Default true.
   */
  readonly syncWal?: boolean;
  /**
   * fsync a WAL batch that only moves a partition's commit index (no entries, no new term or vote).
   * Entries, terms and votes are synced either way, so Raft's guarantees hold with it off (Raft keeps
   * the commit index in volatile state; etcd-raft never syncs it on its own).
   *
   * On (the default), an entry is delivered only once the commit index that covers it is durable, so a
   * restart replays (`onLogRestored`) exactly what was delivered, even after a power loss.
   *
   * Off, the commit index is handed to the OS without an fsync before the entries it covers are
   * delivered, and becomes durable with the next synced batch. A restart after the process died (killed,
   * crashed, OOM) still replays exactly what was delivered. After a power loss or kernel crash the
   * replay may stop short of it: the entries past it are still in the WAL, and are delivered again
   * through `onReplicationReceived` once the node learns the commit index from the partition's leader
   * (so an application that keeps its own durable state should skip entries it already applied, by
   * `log.id`). A leader then saves one fsync per commit round. Ignored when `syncWal` is false.
   */
  readonly syncCommitIndex?: boolean;
  /** Append messages in flight per follower and partition. Default 256. */
  readonly maxInflightMessages?: number;
  /** Entries per append message. Default 1024. */
  readonly maxEntriesPerMessage?: number;
  /** Payload bytes per append message. Default 1 MiB. */
  readonly maxBytesPerMessage?: number;
  /**
   * Exports and imports the application's state, so that a follower behind the compacted log (or one that
   * lost its data) is caught up with a snapshot. Default: none — compaction then stops at the index every
   * member holds (see {@link StateTransfer}).
   */
  readonly stateTransfer?: StateTransfer;
  /**
   * A partition compacts its log after this many entries were applied since its last compaction: entries
   * up to its last applied checkpoint (`replicateCheckpoint`) are removed from memory and the WAL, never
   * past a retention hold, an entry of a proposal still pending `commitLogs`/`rollbackLogs`, or (without
   * `stateTransfer`) what another member still lacks. 0 turns compaction off. Default 10000.
   */
  readonly compactAfterEntries?: number;
  /** Bytes of application state per snapshot chunk message. Default 256 KiB. */
  readonly snapshotChunkBytes?: number;
  /** Seed for election jitter. Default: random. The simulator passes a fixed one so runs replay. */
  readonly seed?: number;
}
