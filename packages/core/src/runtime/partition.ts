import { EMPTY_DATA, EntryKind, type Entry, type EntryProposal } from '../raft/entry.js';
import { MessageType, type Message, type NodeId } from '../raft/message.js';
import { Raft, type ProposeResult } from '../raft/raft.js';
import type { RaftConfig, RaftRestore } from '../raft/config.js';
import type { LogBase, Ready } from '../raft/state.js';
import type { WalPartitionWrite } from '../ports/wal.js';
import type { Logger } from '../ports/logger.js';
import type { StateTransfer } from '../ports/state-transfer.js';
import { HLC_ZERO } from '../hlc/timestamp.js';
import { decodeSnapshot, encodePendingMeta, encodeSnapshot, pendingMetaKey } from './snapshot-codec.js';
import type { HLCTimestamp } from '../hlc/timestamp.js';
import { DeliveryTracker, ticketKey } from './delivery.js';
import { Lane, PartitionExecutor } from './executor.js';
import { RaftOperationStatus } from './status.js';
import type { OperationResult, PartitionStatus, RaftLog, ReplicationResult } from './types.js';

/** What a partition needs from the node that hosts it. */
export interface PartitionHost {
  readonly node: NodeId;
  now(): number;
  hlcNow(): HLCTimestamp;
  /** Asks the node scheduler to run this partition soon. */
  schedule(partition: Partition): void;
  send(messages: readonly Message[]): void;
  /** Hands one message to the transport at once, as its own frame (snapshot chunks). */
  sendAlone(message: Message): void;
  /**
   * Queues a WAL write; `done` runs once it is durable (or, with `sync` false, once the WAL has it in the
   * OS's hands). A lazy write waits for another one's fsync (see WalScheduler).
   */
  persist(write: WalPartitionWrite, done: (error: Error | null) => void, lazy: boolean, sync: boolean): void;
  /** RaftManagerOptions.syncCommitIndex: whether a write that only moves the commit index is fsynced. */
  readonly syncCommitIndex: boolean;
  deliver(partition: number, log: RaftLog): boolean | Promise<boolean>;
  leaderChanged(partition: number, leader: NodeId): void;
  readonly pendingProposalTimeoutMs: number;
  readonly proposalTimeoutMs: number;
  readonly maxQueuedProposals: number;
  readonly logger: Logger;
  readonly stateTransfer: StateTransfer | undefined;
  /** Applied entries between compactions (0: never compact). */
  readonly compactAfterEntries: number;
  readonly snapshotChunkBytes: number;
  /**
   * Removes the partition's WAL entries through `through`, or less if a retention hold taken meanwhile
   * says so, between two WAL batches; `done` gets the index actually compacted through.
   */
  compact(partition: number, through: number, done: (error: Error | null, through: number) => void): void;
  /** A snapshot replaced the log through `through`: retention holds on what it removed are broken. */
  breakHolds(partition: number, through: number): void;
  /** Writes node metadata between two WAL batches. */
  setMeta(key: string, value: Uint8Array, done: (error: Error | null) => void): void;
  /** Highest index retention holds allow compacting through (Infinity without holds). */
  retentionFloor(partition: number): number;
  nextTransferId(): number;
  /** The node cannot keep its promises any more (as for a WAL failure). */
  fail(error: Error): void;
}

/** Chunks of one snapshot arriving from a leader. */
interface IncomingSnapshot {
  readonly from: NodeId;
  readonly transfer: number;
  readonly term: number;
  readonly index: number;
  readonly logTerm: number;
  readonly chunks: (Uint8Array | undefined)[];
  received: number;
}

/** A complete snapshot this node stepped into its Raft, waiting for the Ready that installs it. */
interface ReceivedSnapshot {
  readonly index: number;
  readonly term: number;
  readonly payload: Uint8Array;
}

/** Chunks of one snapshot at most: a sender enlarges its chunks to stay within it, a receiver drops more. */
const MAX_SNAPSHOT_CHUNKS = 1 << 16;

type Result = ReplicationResult | OperationResult;

interface Waiter {
  readonly term: number;
  readonly deadline: number;
  /** For markers: whether the marker must have resolved a pending proposal to count as Success. */
  readonly marker: boolean;
  readonly ticket: HLCTimestamp | null;
  readonly firstIndex: number;
  readonly resolve: (result: Result) => void;
}

interface QueuedProposal {
  readonly entries: EntryProposal[];
  /** Still in the partition's queue (counts against `maxQueuedProposals`). */
  queued: boolean;
  readonly marker: boolean;
  readonly ticket: HLCTimestamp | null;
  readonly deadline: number;
  /** The promise's resolve, or with a signal one that also removes the abort listener. */
  resolve: (result: Result) => void;
  cancelled: boolean;
}

interface ReadWaiter {
  readonly deadline: number;
  index: number;
  readonly resolve: (ok: boolean) => void;
}

const NOT_LEADER: ReplicationResult = Object.freeze({ status: RaftOperationStatus.NodeIsNotLeader, ticket: null, lastIndex: 0 });

/** Maps a refused proposal to the status the caller sees. */
function refusal(result: ProposeResult): ReplicationResult {
  switch (result.reason) {
    case 'too-many-uncommitted':
      return { status: RaftOperationStatus.ProposalQueueFull, ticket: null, lastIndex: 0 };
    default:
      return NOT_LEADER;
  }
}

function failed(status: RaftOperationStatus): ReplicationResult {
  return { status, ticket: null, lastIndex: 0 };
}

/**
 * One partition on one node: its Raft group, its serial executor, the proposals waiting for commit, and the
 * delivery of committed entries to the application. Every method that touches `raft` runs inside the
 * executor, so the protocol object is driven strictly one input at a time.
 */
export class Partition {
  readonly executor = new PartitionExecutor();
  readonly delivery = new DeliveryTracker();
  /** Set by the node scheduler while the partition sits in its run queue. */
  queued = false;
  leader: NodeId = '';
  restoring = true;

  private raft: Raft | null = null;
  /** A Ready carrying a snapshot is being installed; the next one waits for it. */
  private readying = false;
  /**
   * Readies handed off to the WAL and not yet durable, oldest first (pipelined persistence): the next
   * Ready is taken while earlier writes are in flight, and each completes — acknowledgements sent,
   * committed entries applied, `raft.persisted` — only after every earlier one, once its write is durable.
   */
  private readonly inflight: Array<{ readonly ready: Ready; durable: boolean }> = [];
  private proposals: QueuedProposal[] = [];
  private queuedEntries = 0;
  private proposalFlushQueued = false;
  private readonly waiters = new Map<number, Waiter>();
  private readonly readWaiters = new Map<number, ReadWaiter>();
  private readonly leaderWaiters: Array<(leader: NodeId) => void> = [];
  private nextReadId = 1;
  /** Set while applying when an application handler returned a promise. */
  private asyncDelivery: Promise<unknown> | undefined = undefined;
  /**
   * Committed entries waiting for the application, in log order. Applying runs apart from the Ready
   * cycle (as etcd's server does), so a slow async handler never stops heartbeats and replication.
   */
  private applyQueue: Entry[] = [];
  private applyHead = 0;
  private applying = false;
  /** Highest index the application has been handed and finished with on this node. */
  private appliedIndex = 0;
  private stopped = false;
  /** WAL entries through this index are compacted (or covered by an installed snapshot). */
  private compactedThrough = 0;
  private compacting = false;
  private lastCompactionCheck = 0;
  /** Peers the Raft asked a snapshot for, served once the apply loop is idle. */
  private readonly snapshotTargets = new Set<NodeId>();
  private incoming: IncomingSnapshot | null = null;
  private received: ReceivedSnapshot | null = null;
  /** A Ready carrying a snapshot, waiting for the apply loop to go idle before the import. */
  private pendingInstall: { readonly ready: Ready; readonly snapshot: LogBase; readonly payload: Uint8Array } | null = null;
  private warnedNoTransfer = false;
  /** Members whose snapshot could not be exported; reported to the protocol at the next tick (no busy retry). */
  private failedExports: NodeId[] = [];
  /** A snapshot install is under way: messages that promise nothing keep flowing meanwhile. */
  private installing = false;
  private readonly tickTask = (): void => this.onTick();
  private readonly flushTask = (): void => this.flushProposals();

  constructor(
    readonly id: number,
    private readonly host: PartitionHost,
  ) {}

  /** Starts the protocol from the restored state (after the WAL replay). */
  start(config: RaftConfig, restore: RaftRestore): void {
    this.raft = new Raft(config, restore);
    this.appliedIndex = restore.applied;
    this.compactedThrough = restore.base?.index ?? 0;
    this.lastCompactionCheck = this.appliedIndex;
    this.restoring = false;
  }

  /** Entries through this index are compacted (or replaced by an installed snapshot). */
  get compactedIndex(): number {
    return this.compactedThrough;
  }

  get started(): boolean {
    return this.raft !== null;
  }

  isLeader(): boolean {
    return !this.stopped && this.raft !== null && this.raft.isLeader();
  }

  status(): PartitionStatus {
    const raft = this.raft;
    if (raft === null || this.stopped) {
      return {
        partition: this.id, role: 'follower', leader: '', term: 0, vote: '', commitIndex: 0, appliedIndex: 0,
        firstIndex: 0, lastIndex: 0, restoring: this.restoring, queuedProposals: this.queuedEntries,
      };
    }
    const s = raft.status();
    return {
      partition: this.id, role: s.role, leader: s.leader, term: s.term, vote: s.vote, commitIndex: s.commit,
      appliedIndex: this.appliedIndex, firstIndex: s.firstIndex, lastIndex: s.lastIndex, restoring: this.restoring,
      queuedProposals: this.queuedEntries,
    };
  }

  entries(from: number, to: number): readonly Entry[] {
    return this.raft === null ? [] : this.raft.entries(from, to);
  }

  // ---- inputs (each one becomes an executor task) ----

  tick(): void {
    this.enqueue(Lane.Control, this.tickTask);
  }

  receive(message: Message): void {
    if (message.type === MessageType.Snapshot) {
      // Only chunks travel between nodes: the protocol's own Snapshot requests never leave the leader, and
      // stepping one without its state would replace the log with nothing to install.
      if (message.entries.length > 0) this.enqueue(Lane.Replication, () => this.onSnapshotChunk(message));
      return;
    }
    const lane = message.type === MessageType.Vote || message.type === MessageType.VoteResponse ||
      message.type === MessageType.PreVote || message.type === MessageType.PreVoteResponse ||
      message.type === MessageType.TimeoutNow
      ? Lane.Control
      : Lane.Replication;
    this.enqueue(lane, () => this.raft?.step(message));
  }

  campaign(): void {
    this.enqueue(Lane.Control, () => this.raft?.campaign());
  }

  /** Queues application entries (or a marker) for proposal; resolves once they are applied here, or fail. */
  propose(entries: EntryProposal[], marker: boolean, ticket: HLCTimestamp | null, timeoutMs: number, signal?: AbortSignal): Promise<Result> {
    if (this.stopped) return Promise.resolve(failed(RaftOperationStatus.Errored));
    if (this.restoring) return Promise.resolve(failed(RaftOperationStatus.RestoreInProgress));
    if (!this.isLeader()) return Promise.resolve(NOT_LEADER);
    // Entries committed but still waiting for a slow application count too: that is the backpressure.
    const unapplied = this.applyQueue.length - this.applyHead + (this.applying ? 1 : 0);
    if (this.queuedEntries + unapplied + entries.length > this.host.maxQueuedProposals) {
      return Promise.resolve(failed(RaftOperationStatus.ProposalQueueFull));
    }
    return new Promise<Result>((resolve) => {
      if (signal?.aborted === true) {
        resolve(failed(RaftOperationStatus.OperationCancelled));
        return;
      }
      const proposal: QueuedProposal = {
        entries, queued: true, marker, ticket, deadline: this.host.now() + timeoutMs, resolve, cancelled: false,
      };
      if (signal !== undefined) this.cancelOnAbort(proposal, signal, resolve);
      this.proposals.push(proposal);
      this.queuedEntries += entries.length;
      if (!this.proposalFlushQueued) {
        this.proposalFlushQueued = true;
        this.enqueue(Lane.Client, this.flushTask);
      }
    });
  }

  /** Proposes a commit or rollback marker for a pending ticket. */
  resolveTicket(kind: typeof EntryKind.Commit | typeof EntryKind.Rollback, ticket: HLCTimestamp, timeoutMs: number): Promise<OperationResult> {
    if (this.stopped) return Promise.resolve({ status: RaftOperationStatus.Errored, index: 0 });
    if (this.restoring) return Promise.resolve({ status: RaftOperationStatus.RestoreInProgress, index: 0 });
    if (!this.isLeader()) return Promise.resolve({ status: RaftOperationStatus.NodeIsNotLeader, index: 0 });
    // A leader that has not yet applied its own term's first entry may not know every pending ticket yet;
    // it proposes the marker anyway and the apply-time check answers.
    if (!this.delivery.pending.has(ticketKey(ticket)) && this.knowsAllPending()) {
      return Promise.resolve({ status: RaftOperationStatus.ProposalNotFound, index: 0 });
    }
    const marker: EntryProposal = { kind, type: '', data: EMPTY_DATA, time: ticket };
    return this.propose([marker], true, ticket, timeoutMs).then(toOperationResult);
  }

  checkpoint(timeoutMs: number): Promise<OperationResult> {
    const entry: EntryProposal = { kind: EntryKind.Checkpoint, type: '', data: EMPTY_DATA, time: this.host.hlcNow() };
    return this.propose([entry], false, null, timeoutMs).then(toOperationResult);
  }

  /** ReadIndex: resolves true once this node is confirmed leader by a quorum and has applied the read index. */
  confirmLeadership(timeoutMs: number): Promise<boolean> {
    if (this.restoring || !this.isLeader()) return Promise.resolve(false);
    const id = this.nextReadId++;
    return new Promise<boolean>((resolve) => {
      this.readWaiters.set(id, { deadline: this.host.now() + timeoutMs, index: -1, resolve });
      this.enqueue(Lane.Client, () => {
        if (this.raft === null || !this.raft.readIndex(id)) this.finishRead(id, false);
      });
    });
  }

  transferLeadership(to: NodeId): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      this.enqueue(Lane.Control, () => resolve(this.raft !== null && this.raft.transferLeadership(to)));
    });
  }

  /** Resolves with the leader once one is known, or '' when `timeoutMs` passes first. */
  waitForLeader(timeoutMs: number, setTimer: (ms: number, fn: () => void) => () => void): Promise<NodeId> {
    if (this.stopped) return Promise.resolve('');
    if (this.leader !== '') return Promise.resolve(this.leader);
    return new Promise<NodeId>((resolve) => {
      let settled = false;
      const cancel = setTimer(timeoutMs, () => {
        if (settled) return;
        settled = true;
        const i = this.leaderWaiters.indexOf(onLeader);
        if (i >= 0) this.leaderWaiters.splice(i, 1);
        resolve('');
      });
      const onLeader = (leader: NodeId): void => {
        if (settled) return;
        settled = true;
        cancel();
        resolve(leader);
      };
      this.leaderWaiters.push(onLeader);
    });
  }

  /** Fails everything that waits; the node is leaving. */
  stop(): void {
    this.stopped = true;
    this.leader = '';
    this.executor.clear();
    for (const w of this.leaderWaiters.splice(0)) w('');
    for (const p of this.proposals) p.resolve(failed(RaftOperationStatus.Errored));
    this.proposals = [];
    this.queuedEntries = 0;
    for (const w of this.waiters.values()) w.resolve(failed(RaftOperationStatus.Errored));
    this.waiters.clear();
    for (const r of this.readWaiters.values()) r.resolve(false);
    this.readWaiters.clear();
  }

  // ---- the scheduler turn ----

  /** Runs queued tasks within `budget`, then hands out a Ready if one is due. Returns true when more work waits. */
  run(budget: number): boolean {
    if (this.stopped) return false;
    this.executor.runBatch(budget);
    if (this.installing && this.raft !== null) {
      // The install holds the Ready; heartbeat answers and the like must not wait for it.
      const messages = this.raft.takeMessages();
      if (messages.length > 0) this.host.send(messages);
    }
    this.processReady();
    return this.executor.size > 0 || this.canReady();
  }

  private enqueue(lane: Lane, task: () => void): void {
    if (this.stopped) return;
    this.executor.enqueue(lane, task);
    this.host.schedule(this);
  }

  private onTick(): void {
    const raft = this.raft;
    if (raft === null) return;
    raft.tick();
    if (this.failedExports.length > 0) {
      for (const to of this.failedExports) raft.reportSnapshot(to, false);
      this.failedExports = [];
    }
    this.expireWaits();
    if (raft.isLeader()) this.rollbackExpiredTickets();
  }

  /**
   * An abort before `proposal` settles cancels it (and takes it out of the queue count). Settling removes
   * the listener, so a long-lived signal does not collect them; only the first outcome counts.
   */
  private cancelOnAbort(proposal: QueuedProposal, signal: AbortSignal, resolve: (result: Result) => void): void {
    let settled = false;
    const settle = (result: Result): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onAbort = (): void => {
      proposal.cancelled = true;
      if (proposal.queued) {
        proposal.queued = false;
        this.queuedEntries -= proposal.entries.length;
      }
      settle(failed(RaftOperationStatus.OperationCancelled));
    };
    proposal.resolve = settle;
    signal.addEventListener('abort', onAbort, { once: true });
  }

  private flushProposals(): void {
    this.proposalFlushQueued = false;
    const batch = this.proposals;
    this.proposals = [];
    this.queuedEntries = 0;
    for (const p of batch) p.queued = false;
    const raft = this.raft;
    if (raft === null) return;
    let live = batch;
    for (const p of batch) {
      if (p.cancelled) {
        live = batch.filter((q) => !q.cancelled);
        break;
      }
    }
    if (live.length === 0) return;
    if (!raft.isLeader()) {
      for (const p of live) p.resolve(NOT_LEADER);
      return;
    }
    let entries: EntryProposal[];
    if (live.length === 1) entries = live[0]!.entries;
    else {
      entries = [];
      for (const p of live) for (const e of p.entries) entries.push(e);
    }
    const result = raft.propose(entries);
    if (!result.accepted) {
      const answer = refusal(result);
      for (const p of live) p.resolve(answer);
      return;
    }
    let index = result.firstIndex;
    for (const p of live) {
      const last = index + p.entries.length - 1;
      // An older waiter at this index belongs to entries another leader overwrote while this node was
      // deposed; its proposal is lost.
      this.waiters.get(last)?.resolve(failed(RaftOperationStatus.LogsFromAnotherLeader));
      this.waiters.set(last, {
        term: result.term, deadline: p.deadline, marker: p.marker, ticket: p.ticket, firstIndex: index, resolve: p.resolve,
      });
      index = last + 1;
    }
  }

  /** Whether {@link processReady} would take a Ready now. */
  private canReady(): boolean {
    const raft = this.raft;
    if (raft === null || this.readying || !raft.hasReady()) return false;
    // A snapshot replaces the log: it is installed alone, after every earlier write is durable.
    return this.inflight.length === 0 || raft.pendingSnapshot() === null;
  }

  private processReady(): void {
    const raft = this.raft;
    if (raft === null || !this.canReady()) return;
    const ready = raft.ready();
    if (ready.softState !== null && ready.softState.leader !== this.leader) this.onLeader(ready.softState.leader);
    if (ready.softState !== null && ready.softState.role !== 'leader') this.failReads();
    if (ready.messages.length > 0) this.host.send(this.takeSnapshotRequests(ready.messages));
    if (ready.snapshot !== null) {
      this.readying = true;
      this.installSnapshot(ready, ready.snapshot);
      return;
    }
    raft.handOff(ready);
    const slot = { ready, durable: false };
    this.inflight.push(slot);
    if (ready.entries.length > 0 || ready.hardState !== null) {
      const write: WalPartitionWrite = ready.hardState === null
        ? { partition: this.id, entries: ready.entries }
        : { partition: this.id, entries: ready.entries, hardState: ready.hardState };
      // Entries, terms and votes are always synced before anything depends on them. By default the
      // commit index is too: entries are applied only under a durable commit index, so that a restart
      // replays everything the application already received, even after a power loss. With
      // syncCommitIndex off, a write that only moves the commit index is handed to the OS without an
      // fsync (etcd-raft's MustSync rule): a killed process still replays everything, a power loss may
      // replay a prefix (the next synced batch makes it durable). A follower's write that only moves
      // its commit index is lazy: it rides with the next write (or the tick's), since only this node's
      // own apply loop waits for it.
      const lazy = !ready.mustSync && !raft.isLeader();
      const sync = ready.mustSync || this.host.syncCommitIndex;
      this.host.persist(write, (error) => {
        if (error !== null || this.stopped) return; // the node stops itself on a WAL failure
        slot.durable = true;
        this.completeDurable();
      }, lazy, sync);
    } else {
      slot.durable = true;
      this.completeDurable();
    }
  }

  /** Completes the Readies at the head of {@link inflight} whose writes are durable, in order. */
  private completeDurable(): void {
    const inflight = this.inflight;
    let completed = false;
    while (inflight.length > 0 && inflight[0]!.durable) {
      const { ready } = inflight.shift()!;
      if (this.stopped || this.raft === null) return;
      if (ready.persistedMessages.length > 0) this.host.send(ready.persistedMessages);
      const committed = ready.committedEntries;
      for (let i = 0; i < committed.length; i++) this.applyQueue.push(committed[i]!);
      this.raft.persisted(ready);
      for (const rs of ready.readStates) {
        const w = this.readWaiters.get(rs.requestId);
        if (w !== undefined) w.index = rs.index;
      }
      completed = true;
    }
    if (!completed) return;
    this.host.schedule(this);
    if (!this.applying) this.applyEntries();
    else this.serveReads();
  }

  /** After the persist of a snapshot install (the one Ready that is not pipelined): it completes like the others. */
  private afterPersist(ready: Ready): void {
    if (this.stopped || this.raft === null) return;
    this.raft.handOff(ready);
    this.readying = false;
    this.inflight.push({ ready, durable: true });
    this.completeDurable();
  }

  /** Applies queued entries in order; an async handler suspends the loop until its promise settles. */
  private applyEntries(): void {
    this.applying = true;
    while (this.applyHead < this.applyQueue.length) {
      if (this.stopped) return;
      const entry = this.applyQueue[this.applyHead++]!;
      const resolvedMarker = this.delivery.commit(entry, this.deliverOne);
      const pending = this.asyncDelivery;
      if (pending !== undefined) {
        this.asyncDelivery = undefined;
        const resume = (): void => {
          this.entryApplied(entry, resolvedMarker);
          this.applyEntries();
        };
        pending.then(resume, resume);
        return;
      }
      this.entryApplied(entry, resolvedMarker);
    }
    this.applyQueue = [];
    this.applyHead = 0;
    this.applying = false;
    if (this.pendingInstall !== null) {
      this.runInstall();
      return;
    }
    this.serveReads();
    if (this.snapshotTargets.size > 0) this.exportSnapshot();
    this.maybeCompact();
  }

  /** Hands one released entry to the application; async handlers run one after another, in order. */
  private readonly deliverOne = (entry: Entry): void => {
    const pending = this.asyncDelivery;
    if (pending !== undefined) {
      this.asyncDelivery = pending.then(() => this.host.deliver(this.id, toRaftLog(entry)));
      return;
    }
    const r = this.host.deliver(this.id, toRaftLog(entry));
    if (typeof r !== 'boolean') this.asyncDelivery = r;
  };

  private entryApplied(entry: Entry, resolvedMarker: boolean): void {
    this.appliedIndex = entry.index;
    if (this.waiters.size > 0) this.settleWaiter(entry, resolvedMarker);
  }

  /** True once this leader has applied an entry of its own term, so it knows every committed pending ticket. */
  private knowsAllPending(): boolean {
    const raft = this.raft;
    return raft !== null && raft.term(this.appliedIndex) === raft.status().term;
  }

  private settleWaiter(entry: Entry, resolvedMarker: boolean): void {
    const w = this.waiters.get(entry.index);
    if (w === undefined) return;
    this.waiters.delete(entry.index);
    if (w.term !== entry.term) {
      w.resolve(failed(RaftOperationStatus.LogsFromAnotherLeader));
    } else if (w.marker) {
      w.resolve(resolvedMarker
        ? { status: RaftOperationStatus.Success, ticket: w.ticket, lastIndex: entry.index }
        : failed(RaftOperationStatus.ProposalNotFound));
    } else {
      w.resolve({ status: RaftOperationStatus.Success, ticket: w.ticket, lastIndex: entry.index });
    }
  }

  // ---- snapshots and compaction ----

  /** Takes the protocol's snapshot requests out of the outgoing messages; they are served by {@link exportSnapshot}. */
  private takeSnapshotRequests(messages: readonly Message[]): readonly Message[] {
    if (!messages.some(isSnapshotMessage)) return messages;
    const rest: Message[] = [];
    for (const m of messages) {
      if (m.type !== MessageType.Snapshot) {
        rest.push(m);
        continue;
      }
      if (this.host.stateTransfer === undefined) {
        // Nothing to send: the protocol asks again after its snapshot timeout; say why once.
        if (!this.warnedNoTransfer) {
          this.warnedNoTransfer = true;
          this.host.logger.error(
            { partition: this.id, peer: m.to, base: m.index },
            'a member needs entries this node compacted and no stateTransfer is configured: it cannot catch up; configure options.stateTransfer',
          );
        }
        continue;
      }
      this.snapshotTargets.add(m.to);
    }
    if (this.snapshotTargets.size > 0 && !this.applying) this.exportSnapshot();
    return rest;
  }

  /**
   * Leader: exports the application's state at the applied index (the apply loop is idle and stays
   * paused until the export settles, so the state matches that index) and sends it in chunks to every
   * member that asked.
   */
  private exportSnapshot(): void {
    const raft = this.raft;
    const transfer = this.host.stateTransfer;
    if (raft === null || transfer === undefined || this.stopped) return;
    const targets = [...this.snapshotTargets];
    this.snapshotTargets.clear();
    const index = this.appliedIndex;
    const logTerm = raft.term(index);
    if (!raft.isLeader() || logTerm === undefined || index === 0) {
      for (const to of targets) this.failedExports.push(to);
      return;
    }
    const term = raft.status().term;
    const pending: Entry[] = [];
    for (const p of this.delivery.pending.values()) for (const e of p.entries) pending.push(e);
    this.applying = true;
    const resume = (): void => {
      this.applying = false;
      if (!this.stopped) this.applyEntries();
    };
    Promise.resolve()
      .then(() => transfer.exportState(this.id, index))
      .then(
        (state) => {
          if (!(state instanceof Uint8Array)) throw new Error(`stateTransfer.exportState(${this.id}, ${index}) must return a Uint8Array`);
          const payload = encodeSnapshot(pending, state);
          // Never more chunks than a receiver accepts, whatever the configured chunk size.
          const size = Math.max(this.host.snapshotChunkBytes, Math.ceil(payload.length / MAX_SNAPSHOT_CHUNKS));
          const total = Math.max(1, Math.ceil(payload.length / size));
          for (const to of targets) {
            const id = this.host.nextTransferId();
            for (let k = 0; k < total; k++) {
              const data = payload.subarray(k * size, Math.min(payload.length, (k + 1) * size));
              const chunk: Entry = { index: k + 1, term: 0, kind: EntryKind.Data, type: '', data, time: HLC_ZERO };
              // One message per chunk, each its own transport frame, so heartbeats are not held behind them.
              this.host.sendAlone({
                type: MessageType.Snapshot, partition: this.id, from: this.host.node, to, term, logTerm, index,
                entries: [chunk], commit: total, reject: false, rejectHint: k, context: id,
              });
            }
          }
          this.host.logger.info({ partition: this.id, index, bytes: payload.length, peers: targets }, 'sent a snapshot');
          resume();
        },
        (error: unknown) => {
          this.host.logger.error({ partition: this.id, index, err: error }, 'stateTransfer.exportState failed; the snapshot will be retried');
          for (const to of targets) this.failedExports.push(to);
          resume();
        },
      );
  }

  /** Follower: collects the chunks of one snapshot; a complete one is stepped into the protocol. */
  private onSnapshotChunk(m: Message): void {
    const raft = this.raft;
    if (raft === null) return;
    if (this.host.stateTransfer === undefined) {
      if (!this.warnedNoTransfer) {
        this.warnedNoTransfer = true;
        this.host.logger.error({ partition: this.id, from: m.from }, 'received a snapshot but no stateTransfer is configured to import it; configure options.stateTransfer');
      }
      return;
    }
    const total = m.commit;
    const k = m.rejectHint;
    const data = m.entries[0]!.data;
    if (!Number.isInteger(total) || total < 1 || total > MAX_SNAPSHOT_CHUNKS || !Number.isInteger(k) || k < 0 || k >= total) {
      this.host.logger.warn({ partition: this.id, from: m.from, chunk: k, chunks: total }, `dropped a snapshot chunk: a snapshot has 1 to ${MAX_SNAPSHOT_CHUNKS} chunks`);
      return;
    }
    if (m.term < raft.status().term || m.index < 1) return;
    let t = this.incoming;
    // A late chunk of an earlier transfer of the same leader must not discard the one being assembled.
    if (t !== null && t.from === m.from && t.term === m.term && m.context < t.transfer) return;
    if (t === null || t.from !== m.from || t.transfer !== m.context || t.term !== m.term || t.chunks.length !== total) {
      t = { from: m.from, transfer: m.context, term: m.term, index: m.index, logTerm: m.logTerm, chunks: new Array(total).fill(undefined), received: 0 };
      this.incoming = t;
    }
    if (t.chunks[k] !== undefined) return;
    t.chunks[k] = data;
    t.received++;
    if (t.received < total) return;
    this.incoming = null;
    raft.step({
      type: MessageType.Snapshot, partition: this.id, from: t.from, to: this.host.node, term: t.term, logTerm: t.logTerm, index: t.index,
      entries: [], commit: 0, reject: false, rejectHint: 0, context: 0,
    });
    // Keep the state only of the snapshot the protocol will install (a declined one is dropped, and an
    // earlier one still waiting for its Ready stays).
    const pending = raft.pendingSnapshot();
    if (pending !== null && pending.index === t.index && pending.term === t.logTerm) {
      this.received = { index: t.index, term: t.logTerm, payload: concatChunks(t.chunks) };
    } else if (pending === null || this.received?.index !== pending.index) {
      this.received = null;
    }
  }

  /** A Ready replaced the log with a snapshot: import the state once the apply loop is idle, then persist. */
  private installSnapshot(ready: Ready, snapshot: LogBase): void {
    const received = this.received;
    this.received = null;
    if (received === null || received.index !== snapshot.index || received.term !== snapshot.term) {
      this.host.fail(new Error(`partition ${this.id}: the protocol installed snapshot ${snapshot.index}/${snapshot.term} but no matching state was received (internal error)`));
      return;
    }
    this.pendingInstall = { ready, snapshot, payload: received.payload };
    this.installing = true;
    if (!this.applying) this.runInstall();
  }

  private runInstall(): void {
    const install = this.pendingInstall;
    const transfer = this.host.stateTransfer;
    if (install === null || transfer === undefined || this.stopped) return;
    this.pendingInstall = null;
    this.applying = true;
    const { ready, snapshot, payload } = install;
    let decoded: { pending: Entry[]; state: Uint8Array };
    try {
      decoded = decodeSnapshot(payload);
    } catch (error) {
      this.host.fail(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    Promise.resolve()
      .then(() => transfer.importState(this.id, snapshot.index, decoded.state))
      .then(
        () => {
          if (this.stopped) return;
          this.delivery.pending.clear();
          for (const e of decoded.pending) this.delivery.commit(e, ignoreRelease);
          this.delivery.lastCheckpoint = snapshot.index;
          this.delivery.checkpointFloor = snapshot.index;
          this.host.breakHolds(this.id, snapshot.index);
          const write: WalPartitionWrite = ready.hardState === null
            ? { partition: this.id, snapshot, entries: ready.entries }
            : { partition: this.id, snapshot, entries: ready.entries, hardState: ready.hardState };
          const persist = (): void => this.host.persist(write, (error) => {
            if (error !== null || this.stopped) return;
            this.installing = false;
            this.appliedIndex = snapshot.index;
            this.compactedThrough = snapshot.index;
            this.lastCompactionCheck = snapshot.index;
            this.applying = false;
            this.host.logger.info({ partition: this.id, index: snapshot.index, term: snapshot.term }, 'installed a snapshot');
            this.afterPersist(ready);
          }, false, true);
          if (decoded.pending.length === 0) persist();
          else this.host.setMeta(pendingMetaKey(this.id), encodePendingMeta(snapshot.index, decoded.pending), (error) => {
            if (error !== null) this.host.fail(error);
            else persist();
          });
        },
        (error: unknown) => {
          this.host.fail(new Error(`stateTransfer.importState failed for partition ${this.id} at index ${snapshot.index}: ${error instanceof Error ? error.message : String(error)}; restart the node`));
        },
      );
  }

  /**
   * Compacts the log through the last applied checkpoint once enough entries were applied, bounded by
   * retention holds, pending proposals and (without state transfer) what every member holds.
   */
  private maybeCompact(): void {
    const every = this.host.compactAfterEntries;
    const raft = this.raft;
    if (every === 0 || this.compacting || raft === null || this.stopped) return;
    if (this.appliedIndex - this.compactedThrough < every) return;
    if (this.appliedIndex - this.lastCompactionCheck < Math.max(1, every >> 3)) return;
    this.lastCompactionCheck = this.appliedIndex;
    let floor = Math.min(this.delivery.checkpointFloor, this.appliedIndex, this.host.retentionFloor(this.id));
    for (const p of this.delivery.pending.values()) {
      const first = p.entries[0];
      if (first !== undefined && first.index - 1 < floor) floor = first.index - 1;
    }
    if (this.host.stateTransfer === undefined) floor = Math.min(floor, raft.status().replicated);
    if (floor <= this.compactedThrough) return;
    this.compacting = true;
    this.host.compact(this.id, floor, (error, through) => {
      this.compacting = false;
      if (error !== null) {
        this.host.logger.warn({ partition: this.id, through: floor, err: error }, 'WAL compaction failed; it will be retried');
        return;
      }
      if (through <= this.compactedThrough) return;
      this.compactedThrough = through;
      this.enqueue(Lane.Maintenance, () => this.raft?.compact(through));
    });
  }

  private onLeader(leader: NodeId): void {
    this.leader = leader;
    this.host.leaderChanged(this.id, leader);
    if (leader !== '' && this.leaderWaiters.length > 0) {
      const waiters = this.leaderWaiters.splice(0);
      for (const w of waiters) w(leader);
    }
  }

  private serveReads(): void {
    if (this.readWaiters.size === 0) return;
    for (const [id, w] of this.readWaiters) {
      if (w.index >= 0 && w.index <= this.appliedIndex) this.finishRead(id, true);
    }
  }

  private finishRead(id: number, ok: boolean): void {
    const w = this.readWaiters.get(id);
    if (w === undefined) return;
    this.readWaiters.delete(id);
    w.resolve(ok);
  }

  private failReads(): void {
    for (const id of [...this.readWaiters.keys()]) this.finishRead(id, false);
  }

  /** Proposal and read timeouts are checked on the tick, so there is no timer per proposal. */
  private expireWaits(): void {
    const now = this.host.now();
    if (this.waiters.size > 0) {
      for (const [index, w] of this.waiters) {
        if (w.deadline <= now) {
          this.waiters.delete(index);
          w.resolve(failed(RaftOperationStatus.ProposalTimeout));
        }
      }
    }
    if (this.readWaiters.size > 0) {
      for (const [id, w] of this.readWaiters) if (w.deadline <= now) this.finishRead(id, false);
    }
  }

  /** The leader rolls back, through the log, proposals nobody committed or rolled back in time. */
  private rollbackExpiredTickets(): void {
    if (this.delivery.pending.size === 0) return;
    const now = this.host.now();
    const limit = this.host.pendingProposalTimeoutMs;
    const markers: EntryProposal[] = [];
    for (const p of this.delivery.pending.values()) {
      if (p.ticket.physical + limit > now) continue;
      if (p.rollbackProposedAt !== 0 && p.rollbackProposedAt + this.host.proposalTimeoutMs > now) continue;
      p.rollbackProposedAt = now;
      markers.push({ kind: EntryKind.Rollback, type: '', data: EMPTY_DATA, time: p.ticket });
    }
    if (markers.length > 0) this.raft?.propose(markers);
  }
}

function isSnapshotMessage(m: Message): boolean {
  return m.type === MessageType.Snapshot;
}

function ignoreRelease(): void {}

function concatChunks(chunks: readonly (Uint8Array | undefined)[]): Uint8Array {
  let size = 0;
  for (const c of chunks) size += c!.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c!, at);
    at += c!.length;
  }
  return out;
}

function toRaftLog(entry: Entry): RaftLog {
  return { id: entry.index, term: entry.term, type: entry.type, data: entry.data, time: entry.time };
}

function toOperationResult(result: Result): OperationResult {
  return { status: result.status, index: 'lastIndex' in result ? result.lastIndex : result.index };
}
