import { EntryKind, type Entry, type EntryProposal } from '../raft/entry.js';
import type { Message, NodeId } from '../raft/message.js';
import type { RaftConfig } from '../raft/config.js';
import type { Clock, TimerHandle } from '../ports/clock.js';
import type { Discovery } from '../ports/discovery.js';
import type { Logger } from '../ports/logger.js';
import type { Transport } from '../ports/transport.js';
import type { Wal, WalPartitionWrite } from '../ports/wal.js';
import type { HLCTimestamp } from '../hlc/timestamp.js';
import { HybridLogicalClock } from '../hlc/hybrid-logical-clock.js';
import { compareHLC, isHLCTimestamp } from '../hlc/timestamp-order.js';
import { initialPartitionRanges } from '../routing/partition-range.js';
import { PartitionRouter } from '../routing/partition-router.js';
import { Outbox } from './outbox.js';
import { Partition, type PartitionHost } from './partition.js';
import { loadPartition, replayCommitted } from './restore.js';
import { RaftOperationStatus } from './status.js';
import { silentLogger } from './silent-logger.js';
import { systemClock } from './system-clock.js';
import type {
  LeaderChangedHandler,
  OperationResult,
  PartitionStatus,
  RaftLog,
  ReplicateOptions,
  ReplicationErrorHandler,
  ReplicationHandler,
  ReplicationResult,
  RestoreHandler,
  RestoreProgressHandler,
  RetentionHold,
  Unsubscribe,
} from './types.js';
import type { RaftManagerOptions } from './options.js';
import { WalScheduler } from './wal-scheduler.js';
import {
  checkData,
  checkBoolean,
  checkNodeId,
  checkPositiveInteger,
  checkTimeout,
  checkType,
  invalid,
} from './validation.js';

/** Tasks one partition may run per scheduler turn before the next partition gets its turn. */
const TURN_BUDGET = 256;
const SYSTEM_PARTITION = 0;
const META_PARTITIONS = 'kommander.initialPartitions';

type State = 'new' | 'joining' | 'joined' | 'leaving' | 'left' | 'failed';

/**
 * The public face of Kommander on one node: it owns the partitions (0 = system, 1..N = user), the WAL,
 * the transport, the node-wide ticker and the schedulers, and exposes the API of DESIGN.md §3.
 *
 * ```ts
 * const raft = new RaftManager({ node: 'a', initialPartitions: 8, wal, transport, discovery });
 * raft.onReplicationReceived((partition, log) => { apply(log); return true; });
 * await raft.joinCluster();
 * const result = await raft.replicateLogs(raft.getPartitionKey('tenants/42/x'), 'Put', bytes);
 * ```
 */
export class RaftManager {
  /** This node's id. */
  readonly node: NodeId;

  private readonly wal: Wal;
  private readonly transport: Transport;
  private readonly discovery: Discovery;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly hlc: HybridLogicalClock;
  private readonly router: PartitionRouter;
  private readonly outbox: Outbox;
  private readonly walScheduler: WalScheduler;
  private readonly partitionList: Partition[] = [];
  private readonly host: PartitionHost;
  private readonly initialPartitions: number;
  private readonly tickMs: number;
  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly proposalTimeoutMs: number;
  private readonly seed: number;
  private readonly options: RaftManagerOptions;
  private memberList: readonly NodeId[] = [];
  private memberSet = new Set<NodeId>();
  private voterList: readonly NodeId[] = [];
  private learnerList: readonly NodeId[] = [];
  private state: State = 'new';
  private leaving: Promise<void> | null = null;
  private tickTimer: TimerHandle | null = null;
  private runQueue: Partition[] = [];
  private drainScheduled = false;
  private currentTurnTime: HLCTimestamp | null = null;
  private transferIds = 0;
  /** Partitions whose WAL compaction is running, and through which index. */
  private readonly compactingThrough = new Map<number, number>();
  /** Retention holds by partition. */
  private readonly holds = new Map<number, HoldRecord[]>();

  private readonly replicationHandlers: ReplicationHandler[] = [];
  private readonly restoreHandlers: RestoreHandler[] = [];
  private readonly leaderHandlers: LeaderChangedHandler[] = [];
  private readonly errorHandlers: ReplicationErrorHandler[] = [];
  private readonly restoreStartedHandlers: RestoreProgressHandler[] = [];
  private readonly restoreFinishedHandlers: RestoreProgressHandler[] = [];

  constructor(options: RaftManagerOptions) {
    if (options === null || typeof options !== 'object') invalid('options', 'must be an object');
    checkNodeId('options.node', options.node);
    for (const port of ['wal', 'transport', 'discovery'] as const) {
      if (options[port] === null || typeof options[port] !== 'object') {
        invalid(`options.${port}`, `is required (an implementation of the ${port} port)`);
      }
    }
    if (options.learners !== undefined) {
      if (!Array.isArray(options.learners)) invalid('options.learners', 'must be an array of node ids');
      options.learners.forEach((l, i) => checkNodeId(`options.learners[${i}]`, l));
    }
    this.options = options;
    this.node = options.node;
    this.wal = options.wal;
    this.transport = options.transport;
    this.discovery = options.discovery;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child({ node: options.node });
    this.initialPartitions = checkPositiveInteger('options.initialPartitions', options.initialPartitions ?? 1, 65535);
    this.tickMs = checkPositiveInteger('options.tickMs', options.tickMs ?? 50, 60_000);
    this.electionTicks = checkPositiveInteger('options.electionTicks', options.electionTicks ?? 10, 100_000);
    this.heartbeatTicks = checkPositiveInteger('options.heartbeatTicks', options.heartbeatTicks ?? 1, 100_000);
    if (this.heartbeatTicks >= this.electionTicks) {
      invalid('options.heartbeatTicks', `(${this.heartbeatTicks}) must be smaller than options.electionTicks (${this.electionTicks})`);
    }
    this.proposalTimeoutMs = checkTimeout('options.proposalTimeoutMs', options.proposalTimeoutMs ?? 5000);
    const pendingProposalTimeoutMs = checkTimeout('options.pendingProposalTimeoutMs', options.pendingProposalTimeoutMs ?? 30_000);
    const maxQueuedProposals = checkPositiveInteger('options.maxQueuedProposals', options.maxQueuedProposals ?? 65_536, 1 << 30);
    const compactAfterEntries = options.compactAfterEntries ?? 10_000;
    if (!Number.isSafeInteger(compactAfterEntries) || compactAfterEntries < 0) {
      invalid('options.compactAfterEntries', `must be an integer ≥ 0 (0 turns compaction off), got ${String(compactAfterEntries)}`);
    }
    const snapshotChunkBytes = checkPositiveInteger('options.snapshotChunkBytes', options.snapshotChunkBytes ?? 256 * 1024, 64 * 1024 * 1024);
    const stateTransfer = options.stateTransfer;
    if (stateTransfer !== undefined && (typeof stateTransfer?.exportState !== 'function' || typeof stateTransfer?.importState !== 'function')) {
      invalid('options.stateTransfer', 'must implement exportState(partition, index) and importState(partition, index, state)');
    }
    this.seed = options.seed === undefined ? Math.floor(Math.random() * 0x7fffffff) : checkSeed(options.seed);
    this.hlc = new HybridLogicalClock(() => this.clock.now());
    this.router = new PartitionRouter(initialPartitionRanges(this.initialPartitions));
    this.outbox = new Outbox(this.transport);
    const syncCommitIndex = checkBoolean('options.syncCommitIndex', options.syncCommitIndex ?? true);
    this.walScheduler = new WalScheduler(
      this.wal,
      checkBoolean('options.syncWal', options.syncWal ?? true),
      (fn) => this.clock.defer(fn),
      (error) => this.fail(error),
    );
    this.host = {
      node: this.node,
      proposalTimeoutMs: this.proposalTimeoutMs,
      pendingProposalTimeoutMs,
      maxQueuedProposals,
      now: () => this.clock.now(),
      hlcNow: () => this.hlc.now(),
      schedule: (p) => this.schedule(p),
      send: (messages) => this.outbox.addAll(messages),
      persist: (write: WalPartitionWrite, done, lazy, sync) => this.walScheduler.submit(write, done, lazy, sync),
      syncCommitIndex,
      logger: this.logger,
      stateTransfer,
      compactAfterEntries,
      snapshotChunkBytes,
      sendAlone: (message) => this.transport.send(message.to, [message]),
      compact: (partition, through, done) => {
        let at = 0;
        this.walScheduler.maintain(
          async () => {
            // Read the holds when the compaction runs: one may have been taken since it was decided.
            at = Math.min(through, this.retentionFloor(partition));
            if (at <= 0) return;
            this.compactingThrough.set(partition, at);
            try {
              await this.wal.compact(partition, at);
            } finally {
              this.compactingThrough.delete(partition);
            }
          },
          (error) => done(error, at),
        );
      },
      breakHolds: (partition, through) => this.breakHolds(partition, through),
      setMeta: (key, value, done) => this.walScheduler.maintain(() => this.wal.setMeta(key, value), done),
      retentionFloor: (partition) => this.retentionFloor(partition),
      nextTransferId: () => ++this.transferIds,
      fail: (error) => this.fail(error),
      deliver: (partition, log) => this.deliver(partition, log),
      leaderChanged: (partition, leader) => this.emitLeaderChanged(partition, leader),
    };
    for (let p = 0; p <= this.initialPartitions; p++) this.partitionList.push(new Partition(p, this.host));
  }

  // ---- lifecycle ----

  /**
   * Opens the WAL, replays every partition's committed history through `onLogRestored`, starts the
   * transport and the ticker, and lets the partitions elect leaders. Resolves once the node takes part in
   * the cluster (leaders may still be electing: use `waitForLeader`).
   */
  async joinCluster(): Promise<void> {
    if (this.state !== 'new') throw new Error(`joinCluster() was already called (the node is ${this.state}); create a new RaftManager to join again`);
    this.state = 'joining';
    await this.discovery.start(this.node);
    this.assertJoining();
    this.memberList = [...this.discovery.nodes()];
    this.memberSet = new Set(this.memberList);
    if (!this.memberSet.has(this.node)) {
      throw new Error(`node ${JSON.stringify(this.node)} is not in the discovery's node list (${this.memberList.join(', ')}); add it there`);
    }
    const learners = new Set(this.options.learners ?? []);
    for (const l of learners) {
      if (!this.memberSet.has(l)) invalid('options.learners', `names ${JSON.stringify(l)}, which is not in the discovery's node list (${this.memberList.join(', ')})`);
    }
    this.voterList = this.memberList.filter((n) => !learners.has(n));
    this.learnerList = this.memberList.filter((n) => learners.has(n));
    if (this.voterList.length === 0) invalid('options.learners', 'leaves no voting node; at least one node must vote');
    await this.wal.open();
    this.assertJoining();
    await this.checkPartitionCount();
    let fresh = true;
    for (const partition of this.partitionList) {
      const { restore, entries, base, pending } = await loadPartition(this.wal, partition.id);
      if (entries.length > 0 || restore.hardState.term > 0 || base.index > 0) fresh = false;
      for (const h of [...this.restoreStartedHandlers]) h(partition.id);
      // Tickets issued after the restart must be newer than every ticket already in the log.
      let newest: HLCTimestamp | null = null;
      for (const e of entries) if (newest === null || compareHLC(e.time, newest) > 0) newest = e.time;
      for (const e of pending) if (newest === null || compareHLC(e.time, newest) > 0) newest = e.time;
      if (newest !== null) this.hlc.receive(newest);
      await replayCommitted(entries, restore.applied, partition.delivery, (entry) => this.restored(partition.id, entry), base.index, pending);
      this.assertJoining();
      partition.start(this.raftConfig(partition.id), restore);
      for (const h of [...this.restoreFinishedHandlers]) h(partition.id);
    }
    await this.transport.start((messages) => this.receive(messages));
    if (this.state !== 'joining') {
      // leaveCluster ran while the transport was starting: release it again.
      await this.transport.stop();
      this.assertJoining();
    }
    this.state = 'joined';
    this.tickTimer = this.clock.setTimer(this.tickMs, this.onTick);
    if (fresh) {
      // A brand-new cluster: each node campaigns at once for the partitions it should lead, which spreads
      // leadership evenly instead of letting the fastest timer win everything.
      for (const partition of this.partitionList) {
        if (this.preferredLeader(partition.id) === this.node) partition.campaign();
      }
    }
    this.logger.info({ partitions: this.partitionList.length, members: this.memberList }, 'joined the cluster');
  }

  /** Stops the ticker and transport, fails every waiting call with `Errored`, and closes the WAL. Every caller gets the same promise. */
  leaveCluster(): Promise<void> {
    if (this.leaving === null) this.leaving = this.leave();
    return this.leaving;
  }

  private async leave(): Promise<void> {
    const transportStarted = this.state === 'joined' || this.state === 'failed';
    this.state = 'leaving';
    if (this.tickTimer !== null) this.clock.clearTimer(this.tickTimer);
    this.tickTimer = null;
    for (const p of this.partitionList) p.stop();
    this.outbox.flush();
    if (transportStarted) await this.transport.stop();
    await this.walScheduler.stop();
    await this.wal.close();
    await this.discovery.stop();
    this.state = 'left';
    this.logger.info('left the cluster');
  }

  /** joinCluster awaits storage and the network; leaveCluster may have run meanwhile. */
  private assertJoining(): void {
    if (this.state !== 'joining') {
      throw new Error(`joinCluster() was interrupted: the node is ${this.state} (leaveCluster was called while it joined)`);
    }
  }

  // ---- routing ----

  /** Partition of `key`: the hash of the part before its last '/' (the whole key when there is none). */
  getPartitionKey(key: string): number {
    return this.router.getPartitionKey(key);
  }

  /** Partition of `prefix`, hashing the whole string. */
  getPrefixPartitionKey(prefix: string): number {
    return this.router.getPrefixPartitionKey(prefix);
  }

  /** Every partition on this node: 0 (system) and the user partitions. */
  partitions(): readonly number[] {
    return this.partitionList.map((p) => p.id);
  }

  // ---- retention ----

  /**
   * Keeps the entries of `partition` from `fromIndex` on in the log (memory and WAL) until the returned
   * hold is released: compaction never removes them meanwhile (for example while a change feed or a
   * backup reads the log). Holds are local to this node and do not survive a restart.
   */
  acquireRetentionHold(partition: number, fromIndex: number): RetentionHold {
    const p = this.partition(partition, true);
    if (!Number.isSafeInteger(fromIndex) || fromIndex < 1) invalid('fromIndex', `must be an integer log index ≥ 1, got ${String(fromIndex)}`);
    const gone = Math.max(p.compactedIndex, this.compactingThrough.get(partition) ?? 0);
    if (fromIndex <= gone) {
      invalid('fromIndex', `(${fromIndex}) is compacted away on partition ${partition}: the log begins at ${gone + 1}; hold from there or later`);
    }
    let list = this.holds.get(partition);
    if (list === undefined) {
      list = [];
      this.holds.set(partition, list);
    }
    const record: HoldRecord = { fromIndex, broken: false };
    list.push(record);
    const holds = list;
    let released = false;
    return {
      partition,
      fromIndex,
      get intact(): boolean {
        return !record.broken;
      },
      release: () => {
        if (released) return;
        released = true;
        const i = holds.indexOf(record);
        if (i >= 0) holds.splice(i, 1);
      },
    };
  }

  private retentionFloor(partition: number): number {
    const list = this.holds.get(partition);
    if (list === undefined || list.length === 0) return Number.POSITIVE_INFINITY;
    let min = Number.POSITIVE_INFINITY;
    for (const h of list) if (h.fromIndex < min) min = h.fromIndex;
    return min - 1;
  }

  /** An installed snapshot replaced the log through `through`: holds on entries it removed cannot be kept. */
  private breakHolds(partition: number, through: number): void {
    for (const h of this.holds.get(partition) ?? []) {
      if (h.broken || h.fromIndex > through) continue;
      h.broken = true;
      this.logger.warn(
        { partition, fromIndex: h.fromIndex, snapshot: through },
        'a snapshot install replaced entries a retention hold kept (this node had fallen behind the leader\'s compacted log); the hold is no longer intact',
      );
    }
  }

  // ---- leadership ----

  /** True when this node currently leads `partition` (local view, no network round). */
  amILeaderQuick(partition: number): boolean {
    return this.partition(partition, true).isLeader();
  }

  /** Waits (up to `proposalTimeoutMs`) until the partition has a leader and tells whether it is this node. */
  async amILeader(partition: number): Promise<boolean> {
    const leader = await this.waitForLeader(partition);
    return leader === this.node;
  }

  /** Resolves with the partition's leader once known, or `''` when none is known within `timeoutMs` (default `proposalTimeoutMs`). */
  waitForLeader(partition: number, timeoutMs?: number): Promise<NodeId> {
    const p = this.partition(partition, true);
    const timeout = checkTimeout('timeoutMs', timeoutMs ?? this.proposalTimeoutMs);
    return p.waitForLeader(timeout, (ms, fn) => {
      const handle = this.clock.setTimer(ms, fn);
      return () => this.clock.clearTimer(handle);
    });
  }

  /** Confirms with a quorum (ReadIndex) that this node still leads `partition` and has applied everything committed before the call. */
  confirmLeadership(partition: number): Promise<boolean> {
    return this.partition(partition, true).confirmLeadership(this.proposalTimeoutMs);
  }

  /** Hands leadership of `partition` to `to` (which must be a caught-up voter). */
  async transferLeadership(partition: number, to: NodeId): Promise<RaftOperationStatus> {
    const p = this.partition(partition, true);
    checkNodeId('to', to);
    if (!this.memberSet.has(to)) invalid('to', `${JSON.stringify(to)} is not a member of the cluster (${this.memberList.join(', ')})`);
    if (!p.isLeader()) return RaftOperationStatus.NodeIsNotLeader;
    if (to === this.node) return RaftOperationStatus.Success;
    if (!(await p.transferLeadership(to))) return RaftOperationStatus.NodeIsNotLeader;
    const leader = await this.waitForLeaderChange(p, to, this.tickMs * this.electionTicks * 3);
    return leader === to ? RaftOperationStatus.Success : RaftOperationStatus.ProposalTimeout;
  }

  // ---- replication ----

  /**
   * Replicates one entry or many (in order, atomically positioned) to `partition`. Resolves when they are
   * committed and applied on this node (`autoCommit: true`), or quorum-durable and pending a
   * `commitLogs`/`rollbackLogs` with the returned ticket (`autoCommit: false`).
   */
  replicateLogs(
    partition: number,
    type: string,
    data: Uint8Array | readonly Uint8Array[],
    options?: ReplicateOptions,
  ): Promise<ReplicationResult> {
    try {
      const p = this.partition(partition, false);
      checkType(type);
      const payloads = checkData(data);
      const autoCommit = options?.autoCommit ?? true;
      if (typeof autoCommit !== 'boolean') invalid('options.autoCommit', 'must be a boolean');
      const timeout = checkTimeout('options.timeoutMs', options?.timeoutMs ?? this.proposalTimeoutMs);
      // A ticket (autoCommit false) must be unique; the time of an auto-committed entry is informational,
      // so entries proposed in one scheduler turn share one timestamp (one object fewer kept per entry).
      const time = autoCommit ? this.turnTime() : this.hlc.now();
      const kind = autoCommit ? EntryKind.Data : EntryKind.Proposed;
      const entries: EntryProposal[] = new Array(payloads.length);
      for (let i = 0; i < payloads.length; i++) entries[i] = { kind, type, data: payloads[i]!, time };
      return p.propose(entries, false, time, timeout, options?.signal) as Promise<ReplicationResult>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Delivers the pending entries of `ticket` (from `replicateLogs(..., { autoCommit: false })`) on every node. */
  commitLogs(partition: number, ticket: HLCTimestamp): Promise<OperationResult> {
    return this.resolveTicket(EntryKind.Commit, partition, ticket);
  }

  /** Discards the pending entries of `ticket` on every node; they are never delivered. */
  rollbackLogs(partition: number, ticket: HLCTimestamp): Promise<OperationResult> {
    return this.resolveTicket(EntryKind.Rollback, partition, ticket);
  }

  /** Marks a stable point in `partition`'s log: a restart replays only what was delivered after the last checkpoint. */
  replicateCheckpoint(partition: number): Promise<OperationResult> {
    try {
      return this.partition(partition, false).checkpoint(this.proposalTimeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // ---- callbacks ----

  onReplicationReceived(handler: ReplicationHandler): Unsubscribe {
    return subscribe(this.replicationHandlers, handler);
  }

  onLogRestored(handler: RestoreHandler): Unsubscribe {
    return subscribe(this.restoreHandlers, handler);
  }

  onLeaderChanged(handler: LeaderChangedHandler): Unsubscribe {
    return subscribe(this.leaderHandlers, handler);
  }

  onReplicationError(handler: ReplicationErrorHandler): Unsubscribe {
    return subscribe(this.errorHandlers, handler);
  }

  onRestoreStarted(handler: RestoreProgressHandler): Unsubscribe {
    return subscribe(this.restoreStartedHandlers, handler);
  }

  onRestoreFinished(handler: RestoreProgressHandler): Unsubscribe {
    return subscribe(this.restoreFinishedHandlers, handler);
  }

  // ---- inspection ----

  /** A point-in-time view of `partition` on this node. */
  partitionStatus(partition: number): PartitionStatus {
    return this.partition(partition, true).status();
  }

  /** The in-memory Raft log of `partition` from `from` to `to` (inclusive), for tests and invariant checks. */
  partitionEntries(partition: number, from: number, to: number): readonly Entry[] {
    return this.partition(partition, true).entries(from, to);
  }

  /** The cluster members this node replicates to (the discovery list until membership changes land). */
  members(): readonly NodeId[] {
    return this.memberList;
  }

  // ---- internals ----

  private partition(id: number, allowSystem: boolean): Partition {
    // Written without Number.isInteger: this runs on every status and leadership query, and global
    // lookups are slow inside sandboxes such as jest's.
    if (typeof id !== 'number' || !(id >= 0) || id % 1 !== 0) {
      invalid('partition', `must be a partition id (an integer ≥ 1), got ${String(id)}`);
    }
    if (id === SYSTEM_PARTITION && !allowSystem) {
      invalid('partition', `0 is the system partition and holds no application data; use partitions 1..${this.initialPartitions}`);
    }
    const p = this.partitionList[id];
    if (p === undefined) invalid('partition', `${id} does not exist on this node (partitions are 1..${this.initialPartitions})`);
    return p;
  }

  private resolveTicket(
    kind: typeof EntryKind.Commit | typeof EntryKind.Rollback,
    partition: number,
    ticket: HLCTimestamp,
  ): Promise<OperationResult> {
    try {
      const p = this.partition(partition, false);
      if (!isHLCTimestamp(ticket)) invalid('ticket', 'must be the HLC ticket returned by replicateLogs ({ physical, counter })');
      return p.resolveTicket(kind, ticket, this.proposalTimeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private raftConfig(partition: number): RaftConfig {
    return {
      id: this.node,
      partition,
      voters: this.voterList,
      learners: this.learnerList,
      electionTicksMin: this.electionTicks,
      electionTicksMax: this.electionTicks * 2,
      heartbeatTicks: this.heartbeatTicks,
      preVote: true,
      checkQuorum: true,
      // A new commit index rides with the next Append or heartbeat: under load that saves two messages per
      // follower and commit, and a follower applies no later, since it writes the commit index with its next
      // entries anyway (see WalScheduler's lazy writes).
      broadcastCommit: false,
      ...(this.options.maxInflightMessages === undefined ? {} : { maxInflightMessages: this.options.maxInflightMessages }),
      ...(this.options.maxEntriesPerMessage === undefined ? {} : { maxEntriesPerMessage: this.options.maxEntriesPerMessage }),
      ...(this.options.maxBytesPerMessage === undefined ? {} : { maxBytesPerMessage: this.options.maxBytesPerMessage }),
      seed: mixSeed(this.seed, partition),
    };
  }

  private preferredLeader(partition: number): NodeId {
    const sorted = [...this.voterList].sort();
    return sorted[partition % sorted.length]!;
  }

  private async checkPartitionCount(): Promise<void> {
    const stored = await this.wal.getMeta(META_PARTITIONS);
    const mine = new TextEncoder().encode(String(this.initialPartitions));
    if (stored === undefined) {
      await this.wal.setMeta(META_PARTITIONS, mine);
      return;
    }
    const previous = Number(new TextDecoder().decode(stored));
    if (previous !== this.initialPartitions) {
      throw new Error(
        `this WAL was created with initialPartitions=${previous} but the node starts with ${this.initialPartitions}; ` +
          'start with the same value (changing the partition count of an existing cluster needs split/merge)',
      );
    }
  }

  private readonly onTick = (): void => {
    if (this.state !== 'joined') return;
    this.tickTimer = this.clock.setTimer(this.tickMs, this.onTick);
    for (const p of this.partitionList) p.tick();
    // Lazy writes (a follower's commit index) wait at most one tick for another write's fsync.
    this.walScheduler.flushLazy();
  };

  private receive(messages: readonly Message[]): void {
    if (this.state !== 'joined') return;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (m.to !== this.node || !this.memberSet.has(m.from)) continue;
      const p = this.partitionList[m.partition];
      if (p === undefined) continue;
      if (m.entries.length > 0) this.hlc.receive(m.entries[m.entries.length - 1]!.time);
      p.receive(m);
    }
  }

  /** One HLC timestamp per scheduler turn, taken at the first auto-committed proposal of the turn. */
  private turnTime(): HLCTimestamp {
    if (this.currentTurnTime === null) {
      this.currentTurnTime = this.hlc.now();
      this.clock.defer(this.endTurnTime);
    }
    return this.currentTurnTime;
  }

  private readonly endTurnTime = (): void => {
    this.currentTurnTime = null;
  };

  private schedule(p: Partition): void {
    if (p.queued) return;
    p.queued = true;
    this.runQueue.push(p);
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      this.clock.defer(this.drain);
    }
  }

  /** One scheduler turn: every partition with work runs up to its budget, then the outbox leaves in one frame per peer. */
  private readonly drain = (): void => {
    this.drainScheduled = false;
    if (this.state !== 'joined') return;
    const queue = this.runQueue;
    this.runQueue = [];
    for (const p of queue) {
      p.queued = false;
      if (p.run(TURN_BUDGET)) this.schedule(p);
    }
    // Messages first (a leader's appends travel while its own write runs), then the turn's WAL batch.
    this.outbox.flush();
    this.walScheduler.flushNow();
  };

  private deliver(partition: number, log: RaftLog): boolean | Promise<boolean> {
    const handlers = this.replicationHandlers;
    if (handlers.length === 0) return true;
    if (handlers.length === 1) return this.callHandler(handlers[0]!, partition, log);
    let chain: Promise<boolean> | null = null;
    // A copy: a handler may unsubscribe itself (or another) while the list is being walked.
    for (const h of [...handlers]) {
      if (chain === null) {
        const r = this.callHandler(h, partition, log);
        if (typeof r !== 'boolean') chain = r;
      } else {
        chain = chain.then(() => this.callHandler(h, partition, log));
      }
    }
    return chain ?? true;
  }

  private callHandler(h: ReplicationHandler, partition: number, log: RaftLog): boolean | Promise<boolean> {
    try {
      const r = h(partition, log);
      if (r === true) return true;
      if (r === false) {
        this.reportError(partition, log, handlerRefused('replication', partition, log));
        return false;
      }
      return Promise.resolve(r).then(
        (ok) => {
          if (!ok) this.reportError(partition, log, handlerRefused('replication', partition, log));
          return ok;
        },
        (error: unknown) => {
          this.reportError(partition, log, error);
          return false;
        },
      );
    } catch (error) {
      this.reportError(partition, log, error);
      return false;
    }
  }

  private async restored(partition: number, entry: Entry): Promise<boolean> {
    const log: RaftLog = { id: entry.index, term: entry.term, type: entry.type, data: entry.data, time: entry.time };
    for (const h of [...this.restoreHandlers]) {
      try {
        if (!(await h(partition, log))) this.reportError(partition, log, handlerRefused('restore', partition, log));
      } catch (error) {
        this.reportError(partition, log, error);
      }
    }
    return true;
  }

  private reportError(partition: number, log: RaftLog, error: unknown): void {
    this.logger.error({ partition, index: log.id, err: error }, 'application handler failed');
    for (const h of [...this.errorHandlers]) {
      try {
        h(partition, log, error);
      } catch (e) {
        this.logger.error({ err: e }, 'onReplicationError handler threw');
      }
    }
  }

  private emitLeaderChanged(partition: number, leader: NodeId): void {
    for (const h of [...this.leaderHandlers]) {
      try {
        h(partition, leader);
      } catch (error) {
        this.logger.error({ partition, err: error }, 'onLeaderChanged handler threw');
      }
    }
  }

  private waitForLeaderChange(p: Partition, expected: NodeId, timeoutMs: number): Promise<NodeId> {
    if (p.leader === expected) return Promise.resolve(expected);
    return new Promise((resolve) => {
      const off = subscribe(this.leaderHandlers, (partition, leader) => {
        if (partition !== p.id || leader !== expected) return;
        off();
        this.clock.clearTimer(timer);
        resolve(leader);
      });
      const timer = this.clock.setTimer(timeoutMs, () => {
        off();
        resolve(p.leader);
      });
    });
  }

  /** A WAL failure leaves the node unable to keep its promises: it stops taking part, loudly. */
  private fail(error: Error): void {
    if (this.state !== 'joined') return;
    this.state = 'failed';
    this.logger.fatal({ err: error }, 'WAL write failed: the node stops serving; restart it once storage is fixed');
    if (this.tickTimer !== null) this.clock.clearTimer(this.tickTimer);
    this.tickTimer = null;
    for (const p of this.partitionList) p.stop();
    this.outbox.clear();
  }
}

interface HoldRecord {
  readonly fromIndex: number;
  broken: boolean;
}

function subscribe<T>(list: T[], handler: T): Unsubscribe {
  if (typeof handler !== 'function') invalid('handler', 'must be a function');
  list.push(handler);
  return () => {
    const i = list.indexOf(handler);
    if (i >= 0) list.splice(i, 1);
  };
}

function handlerRefused(kind: 'replication' | 'restore', partition: number, log: RaftLog): Error {
  return new Error(`the ${kind} handler returned false for entry ${log.id} of partition ${partition}`);
}

function checkSeed(seed: number): number {
  if (typeof seed !== 'number' || !Number.isInteger(seed)) invalid('options.seed', `must be an integer, got ${String(seed)}`);
  return seed >>> 0;
}

/** Derives a per-partition PRNG seed so partitions on one node do not time out in lockstep. */
function mixSeed(seed: number, partition: number): number {
  let h = (seed ^ Math.imul(partition + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
