import { HLC_ZERO } from '../hlc/timestamp.js';
import type { RaftConfig, RaftRestore } from './config.js';
import { EMPTY_DATA, EntryKind } from './entry.js';
import type { Entry, EntryProposal } from './entry.js';
import { RaftLog } from './log.js';
import { MessageType } from './message.js';
import type { Message, NodeId } from './message.js';
import { Prng, seedFromString } from './prng.js';
import { Progress } from './progress.js';
import { majority, quorumIndex, voteOutcome } from './quorum.js';
import { ReadIndexRounds } from './read-index.js';
import type { HardState, LogBase, ReadState, Ready, Role, SoftState } from './state.js';

/** Vote `context` marking an election started by a leadership transfer: voters skip their leader lease for it. */
const TRANSFER_CONTEXT = 1;
/** AppendResponse `context` of a follower that holds less than the leader believes it acknowledged (its data was lost). */
const LOST_LOG_CONTEXT = 2;
const NO_ENTRIES: readonly Entry[] = Object.freeze([]);
const NO_MESSAGES: readonly Message[] = Object.freeze([]);
const NO_READ_STATES: readonly ReadState[] = Object.freeze([]);

/** Defaults of the optional {@link RaftConfig} fields, as documented there. */
export const RAFT_CONFIG_DEFAULTS = Object.freeze({
  electionTicksMin: 10,
  electionTicksMax: 20,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  maxInflightMessages: 256,
  maxEntriesPerMessage: 1024,
  maxBytesPerMessage: 1024 * 1024,
  maxUncommittedEntries: 100_000,
  snapshotTimeoutTicks: 200,
  broadcastCommit: true,
});

/** Why a proposal was or was not appended. */
export type ProposeReason = 'ok' | 'not-leader' | 'transferring' | 'too-many-uncommitted';

/** The outcome of {@link Raft.propose}. */
export interface ProposeResult {
  readonly accepted: boolean;
  /** `'ok'` when accepted; otherwise why not: this node is not the leader, it is handing leadership over, or too many entries wait for commit. */
  readonly reason: ProposeReason;
  /** Index given to the first proposed entry (0 when refused). */
  readonly firstIndex: number;
  /** Index given to the last proposed entry (0 when refused; `firstIndex - 1` for an empty proposal). */
  readonly lastIndex: number;
  /** The node's current term: with `firstIndex..lastIndex` it identifies the entries, which commit only if they still hold this term. */
  readonly term: number;
}

/** A snapshot of one group's protocol state, for status pages and invariant checks. */
export interface RaftStatusView {
  readonly id: NodeId;
  readonly partition: number;
  readonly role: Role;
  readonly term: number;
  /** Whom this node voted for in `term` (`''` for nobody). */
  readonly vote: NodeId;
  /** The known leader of `term` (`''` when unknown). */
  readonly leader: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** The member leadership is being handed to (`''` when no transfer is in progress). */
  readonly leadTransferee: NodeId;
  /**
   * Index through which every member is known to hold the log: on a leader the lowest match index, on
   * a follower what its leader last announced (0 when unknown). Compacting no further than this never
   * leaves a member needing a snapshot.
   */
  readonly replicated: number;
}

type StepFunction = (this: Raft, m: Message) => void;

/** Every message is built here with all fields in one order, so messages share one hidden class. */
function message(
  type: MessageType,
  partition: number,
  from: NodeId,
  to: NodeId,
  term: number,
  logTerm: number,
  index: number,
  entries: readonly Entry[],
  commit: number,
  reject: boolean,
  rejectHint: number,
  context: number,
): Message {
  return { type, partition, from, to, term, logTerm, index, entries, commit, reject, rejectHint, context };
}

/**
 * The Raft protocol for one group on one node: a pure, synchronous, deterministic state machine in
 * the style of etcd-io/raft. Inputs are {@link tick}, {@link step}, {@link propose}, {@link campaign},
 * {@link readIndex} and {@link transferLeadership}; outputs are collected into a {@link Ready} that the
 * runtime carries out and acknowledges with {@link advance}. No I/O, timers, promises or clocks.
 *
 * Messages are handled by one entry point, {@link step}, which deals with terms and votes and then
 * hands the message to the step function of the current role (swapped on every role change).
 */
export class Raft {
  /** This node. */
  readonly id: NodeId;
  /** The group (Kommander partition) id, copied into every message. */
  readonly partition: number;

  private readonly voters: readonly NodeId[];
  private readonly isVoter: boolean;
  private readonly electionTicksMin: number;
  private readonly electionTicksMax: number;
  private readonly heartbeatTicks: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxEntriesPerMessage: number;
  private readonly maxBytesPerMessage: number;
  private readonly maxUncommittedEntries: number;
  private readonly snapshotTimeoutTicks: number;
  private readonly broadcastCommit: boolean;
  private readonly prng: Prng;
  private readonly log: RaftLog;

  /** Every member but this node (voters, then learners). */
  private readonly peers: readonly Progress[];
  /** Every member's progress, this node included (a leader tracks its own durable match index too). */
  private readonly progress: ReadonlyMap<NodeId, Progress>;
  private readonly voterProgress: readonly Progress[];
  private readonly self: Progress;
  /** Reused for the commit computation so that the hot path does not allocate. */
  private readonly matchScratch: number[];

  private currentTerm: number;
  private votedFor: NodeId;
  private leaderId: NodeId = '';
  private role: Role = 'follower';
  private stepRole: StepFunction = this.stepFollower;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private readonly votes = new Map<NodeId, boolean>();
  private transferee: NodeId = '';
  private readonly readRounds = new ReadIndexRounds();
  /** ReadIndex requests that arrived before this leader committed an entry of its term (thesis §6.4 step 1). */
  private pendingReads: number[] = [];
  /** Some member is owed an Append (see `Progress.owedAppend`); sent at the next flush. */
  private appendsOwed = false;

  private messages: Message[] = [];
  private persistedMessages: Message[] = [];
  private readStates: ReadState[] = [];
  private lastSoftState: SoftState;
  private lastHardState: HardState;
  private readyOutstanding = false;
  /** A snapshot this follower installed that the next Ready must carry. */
  private snapshotToInstall: LogBase | null = null;
  /** Follower: the replication floor the leader last announced (every member holds the log through it). */
  private leaderFloor = 0;

  /**
   * @param config the group's membership, timing and limits; checked, and an Error names any bad field.
   * @param restore what this node persisted before (empty entries and a zero hard state for a new node).
   */
  constructor(config: RaftConfig, restore: RaftRestore) {
    const c = validateConfig(config);
    this.id = config.id;
    this.partition = config.partition;
    this.voters = config.voters.slice();
    this.isVoter = this.voters.includes(this.id);
    this.electionTicksMin = c.electionTicksMin;
    this.electionTicksMax = c.electionTicksMax;
    this.heartbeatTicks = c.heartbeatTicks;
    this.preVote = c.preVote;
    this.checkQuorum = c.checkQuorum;
    this.maxEntriesPerMessage = c.maxEntriesPerMessage;
    this.maxBytesPerMessage = c.maxBytesPerMessage;
    this.maxUncommittedEntries = c.maxUncommittedEntries;
    this.snapshotTimeoutTicks = c.snapshotTimeoutTicks;
    this.broadcastCommit = c.broadcastCommit;
    this.prng = new Prng(seedFromString(config.id, config.seed));

    const progress = new Map<NodeId, Progress>();
    const peers: Progress[] = [];
    const voterProgress: Progress[] = [];
    for (const member of [...this.voters, ...c.learners]) {
      const isVoter = this.voters.includes(member);
      const pr = new Progress(member, isVoter, c.maxInflightMessages);
      progress.set(member, pr);
      if (isVoter) voterProgress.push(pr);
      if (member !== this.id) peers.push(pr);
    }
    this.progress = progress;
    this.peers = peers;
    this.voterProgress = voterProgress;
    this.self = progress.get(this.id) as Progress;
    this.matchScratch = new Array<number>(voterProgress.length).fill(0);

    const hard = restore.hardState;
    if (!Number.isInteger(restore.applied) || restore.applied < 0) {
      throw new Error(`RaftRestore.applied must be a non-negative integer, got ${restore.applied}`);
    }
    this.log = new RaftLog(restore.entries, hard.commit, restore.applied, restore.base);
    this.currentTerm = hard.term;
    this.votedFor = hard.vote;
    this.lastHardState = hard;
    this.lastSoftState = { role: 'follower', leader: '' };
    this.becomeFollower(hard.term, '');
  }

  /** Advances time by one tick: followers and candidates count towards an election, a leader towards heartbeats and check-quorum. */
  tick(): void {
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  /**
   * Handles one message addressed to this node in this group (`m.partition` is not checked here).
   * Term rules come first (Raft §5.1): a higher term makes this node a follower of that term, except
   * for pre-votes (which must not disturb anybody) and for votes arriving while this node is within
   * a leader's lease (check-quorum); a lower term is ignored, answered only so that a stale leader or
   * pre-candidate learns the current term.
   */
  step(m: Message): void {
    if (m.term > this.currentTerm) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const transfer = m.type === MessageType.Vote && m.context === TRANSFER_CONTEXT;
        if (!transfer && this.inLeaderLease()) return;
      }
      if (m.type === MessageType.PreVote) {
        // A pre-vote asks about a term the sender has not entered; answering must change nothing here.
      } else if (m.type === MessageType.PreVoteResponse && !m.reject) {
        // A granted pre-vote echoes the term we would campaign in; we enter it only by winning the pre-vote.
      } else if (
        m.type === MessageType.Append || m.type === MessageType.Heartbeat || m.type === MessageType.TimeoutNow || m.type === MessageType.Snapshot
      ) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, '');
      }
    } else if (m.term < this.currentTerm) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.Append || m.type === MessageType.Heartbeat || m.type === MessageType.Snapshot)) {
        // A node that was cut off may hold a higher term that nobody else will ever raise to (pre-vote
        // stops it from disrupting, the lease makes others ignore it); telling the stale leader our
        // term makes it step down so the group can re-elect at a term everybody accepts.
        // Index 0 acknowledges nothing: the sender may lead again by now, in this very term, and must
        // not take this answer to an old message as a match of this node's log (seed 3001065).
        this.sendAfterPersist(this.appendResponse(m.from, 0, false, 0, 0));
      } else if (m.type === MessageType.PreVote) {
        this.send(this.voteResponse(MessageType.PreVoteResponse, m.from, this.currentTerm, true));
      }
      return;
    }

    if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
      this.handleVoteRequest(m);
      return;
    }
    this.stepRole(m);
  }

  /**
   * Leader only: appends `entries` to the log with this term and the next indexes, and replicates them.
   * Refused (as a value, never thrown) when this node is not the leader, is transferring leadership, or
   * already holds `maxUncommittedEntries` uncommitted entries. A proposal is accepted whatever its size
   * when nothing is uncommitted, so that an oversized batch cannot block the group forever.
   */
  propose(entries: readonly EntryProposal[]): ProposeResult {
    if (this.role !== 'leader') return { accepted: false, reason: 'not-leader', firstIndex: 0, lastIndex: 0, term: this.currentTerm };
    if (this.transferee !== '') return { accepted: false, reason: 'transferring', firstIndex: 0, lastIndex: 0, term: this.currentTerm };
    const last = this.log.lastIndex();
    const uncommitted = last - this.log.committed;
    if (uncommitted > 0 && uncommitted + entries.length > this.maxUncommittedEntries) {
      return { accepted: false, reason: 'too-many-uncommitted', firstIndex: 0, lastIndex: 0, term: this.currentTerm };
    }
    const term = this.currentTerm;
    for (let k = 0; k < entries.length; k++) {
      const p = entries[k] as EntryProposal;
      this.log.append({ index: last + 1 + k, term, kind: p.kind, type: p.type, data: p.data, time: p.time });
    }
    if (entries.length > 0) this.oweAppendToAll(1);
    return { accepted: true, reason: 'ok', firstIndex: last + 1, lastIndex: last + entries.length, term };
  }

  /**
   * Starts an election now, as if the election timeout had elapsed: a pre-vote round first when
   * `preVote` is on. Does nothing on a leader or a learner. A single-voter group needs no other vote:
   * it becomes leader at the `advance()` that makes its own vote durable.
   */
  campaign(): void {
    if (this.role === 'leader' || !this.isVoter) return;
    if (this.preVote) this.startPreVote();
    else this.startElection(false);
  }

  /**
   * Leader only (returns false otherwise): asks for a linearizable read point (ReadIndex, Raft thesis
   * §6.4). The leader records its commit index, confirms with a heartbeat round that it is still the
   * leader, and then emits `ReadState { requestId, index }` in a later Ready: the read may be served
   * once the applied index reaches `index`. A request made before this leader has committed an entry
   * of its term waits for that commit. If leadership is lost first, the request is dropped silently
   * (the runtime times it out or fails it on the role change).
   * @param requestId positive integer, distinct among outstanding reads; echoed in heartbeats as `context`.
   */
  readIndex(requestId: number): boolean {
    if (!Number.isInteger(requestId) || requestId <= 0) {
      throw new Error(`readIndex: requestId must be a positive integer (0 means "no read" in heartbeats), got ${requestId}`);
    }
    if (this.role !== 'leader') return false;
    if (this.log.term(this.log.committed) !== this.currentTerm) {
      this.pendingReads.push(requestId);
      return true;
    }
    this.startReadRound(requestId);
    return true;
  }

  /**
   * Leader only: hands leadership to voter `to` (Raft thesis §3.10). Proposals are refused while the
   * transfer runs; the leader brings `to` up to date and then sends it TimeoutNow, which makes it
   * campaign at once. The transfer is abandoned after an election timeout (`electionTicksMin` ticks).
   * Returns false when this node is not the leader or `to` is this node, unknown, or a learner.
   */
  transferLeadership(to: NodeId): boolean {
    if (this.role !== 'leader' || to === this.id) return false;
    const pr = this.progress.get(to);
    if (pr === undefined || !pr.isVoter) return false;
    if (this.transferee === to) return true;
    this.transferee = to;
    this.electionElapsed = 0;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.oweAppend(pr, 2);
    return true;
  }

  /**
   * Drops entries through `index` from memory once the application has them (`index ≤ applied`).
   * The runtime calls it after compacting the WAL. A follower that later needs entries below the
   * compacted range is sent a snapshot (a {@link MessageType.Snapshot} message for the runtime).
   */
  compact(index: number): void {
    this.log.compact(index);
  }

  /**
   * Leader only: the runtime reports on a snapshot it was asked to send `to`. A failure (the state could
   * not be exported or sent) returns the follower to probing, which asks for a snapshot again if it is
   * still needed; success changes nothing, as the follower's acknowledgement is what counts.
   */
  reportSnapshot(to: NodeId, ok: boolean): void {
    if (this.role !== 'leader' || ok) return;
    const pr = this.progress.get(to);
    if (pr === undefined || pr.state !== 'snapshot') return;
    this.probeAfterSnapshot(pr);
  }

  /**
   * Messages produced since the last Ready that may leave before anything is persisted (heartbeat
   * answers, appends of a leader), taken out so that the runtime can send them while a long Ready (a
   * snapshot install) is still outstanding. Votes and acknowledgements stay for their Ready.
   */
  takeMessages(): readonly Message[] {
    this.flushAppends();
    if (this.messages.length === 0) return NO_MESSAGES;
    const out = this.messages;
    this.messages = [];
    return out;
  }

  /**
   * Leaves snapshot state: probe just past the compacted prefix (as etcd probes past the pending
   * snapshot), so a member that installed the snapshot but whose acknowledgement was lost answers where
   * its log ends instead of being sent the whole state again; a member that lacks it rejects and is
   * asked for a snapshot again.
   */
  private probeAfterSnapshot(pr: Progress): void {
    pr.becomeProbe();
    pr.next = Math.max(pr.next, this.log.baseIndex() + 1);
    this.oweAppend(pr, 2);
  }

  /**
   * Whether {@link ready} would return anything. False while a Ready is outstanding (between
   * `ready()` and `advance()`), because only one may be in progress at a time. Appends owed to
   * followers are built here, so proposals made after this call go into the next message.
   */
  hasReady(): boolean {
    if (this.readyOutstanding) return false;
    this.flushAppends();
    return (
      this.messages.length > 0 ||
      this.persistedMessages.length > 0 ||
      this.readStates.length > 0 ||
      this.log.hasUnstable() ||
      this.log.hasUnapplied() ||
      this.snapshotToInstall !== null ||
      this.role !== this.lastSoftState.role ||
      this.leaderId !== this.lastSoftState.leader ||
      this.hardStateChanged()
    );
  }

  /**
   * Collects everything produced since the last Ready (see {@link Ready} for the order in which the
   * runtime must carry it out). Throws if the previous Ready was not yet acknowledged with `advance()`.
   */
  ready(): Ready {
    if (this.readyOutstanding) {
      throw new Error('Raft.ready() called again before advance(): acknowledge the previous Ready first');
    }
    this.flushAppends();
    let softState: SoftState | null = null;
    if (this.role !== this.lastSoftState.role || this.leaderId !== this.lastSoftState.leader) {
      softState = { role: this.role, leader: this.leaderId };
      this.lastSoftState = softState;
    }
    let hardState: HardState | null = null;
    let mustSync = false;
    if (this.hardStateChanged()) {
      hardState = { term: this.currentTerm, vote: this.votedFor, commit: this.log.committed };
      // A commit index alone may be lost in a crash (it is re-learned from the leader); term and vote may not.
      mustSync = hardState.term !== this.lastHardState.term || hardState.vote !== this.lastHardState.vote;
      this.lastHardState = hardState;
    }
    const entries = this.log.unstableEntries();
    if (entries.length > 0 || this.snapshotToInstall !== null) mustSync = true;
    const ready: Ready = {
      softState,
      hardState,
      snapshot: this.snapshotToInstall,
      entries,
      messages: this.messages.length > 0 ? this.messages : NO_MESSAGES,
      persistedMessages: this.persistedMessages.length > 0 ? this.persistedMessages : NO_MESSAGES,
      committedEntries: this.log.unappliedEntries(),
      readStates: this.readStates.length > 0 ? this.readStates : NO_READ_STATES,
      mustSync,
    };
    if (this.messages.length > 0) this.messages = [];
    if (this.persistedMessages.length > 0) this.persistedMessages = [];
    if (this.readStates.length > 0) this.readStates = [];
    this.readyOutstanding = true;
    return ready;
  }

  /**
   * Acknowledges `ready` in one step: its hard state and entries are durable, its messages sent and its
   * committed entries applied (or handed to the apply loop). Same as {@link handOff} then {@link persisted}.
   */
  advance(ready: Ready): void {
    this.handOff(ready);
    this.persisted(ready);
  }

  /**
   * Ends the outstanding Ready once the runtime has taken charge of it: its writes are queued for the
   * WAL in order, its messages sent, its committed entries queued for applying. The next `ready()` may
   * follow at once, while this one's write is still in flight (pipelined persistence, like etcd-raft's
   * asynchronous storage writes). Nothing here assumes durability: the runtime calls {@link persisted}
   * once the write is durable, and must send `persistedMessages` and apply `committedEntries` only then,
   * in the order of the Readies. A Ready that carries a `snapshot` must be persisted before the next
   * `ready()` (the runtime installs it alone).
   */
  handOff(ready: Ready): void {
    if (!this.readyOutstanding) throw new Error('Raft.handOff() called without an outstanding ready()');
    this.readyOutstanding = false;
    if (ready.snapshot !== null && this.snapshotToInstall === ready.snapshot) this.snapshotToInstall = null;
    if (ready.entries.length > 0) this.log.stableTo(ready.entries);
    const lastApplied = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastApplied !== undefined) this.log.appliedTo(lastApplied.index);
  }

  /**
   * `ready`, already handed off, is durable. Durability is what lets this node count itself: a leader's
   * own match index and a candidate's own vote only take effect here (an unpersisted vote or entry could
   * be forgotten in a crash and then contradicted). Call in the order the Readies were handed off.
   */
  persisted(ready: Ready): void {
    const last = ready.entries[ready.entries.length - 1];
    if (last !== undefined && this.role === 'leader' && this.log.term(last.index) === last.term && this.self.maybeUpdate(last.index)) {
      if (this.maybeCommit()) this.announceCommit();
    }
    const hs = ready.hardState;
    if (this.role === 'candidate' && hs !== null && hs.term === this.currentTerm && hs.vote === this.id) {
      this.recordVote(this.id, true);
    }
  }

  /** The snapshot this follower installed that the next Ready carries (`null` when none waits). */
  pendingSnapshot(): LogBase | null {
    return this.snapshotToInstall;
  }

  /** A fresh snapshot of this node's protocol state. */
  status(): RaftStatusView {
    return {
      id: this.id,
      partition: this.partition,
      role: this.role,
      term: this.currentTerm,
      vote: this.votedFor,
      leader: this.leaderId,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      lastTerm: this.log.lastTerm(),
      leadTransferee: this.transferee,
      replicated: this.replicatedFloor(),
    };
  }

  /** The in-memory log slice `[from, to]` (inclusive, clipped to the retained range), for invariant checks. */
  entries(from: number, to: number): readonly Entry[] {
    return this.log.slice(from, to, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
  }

  /** Term of the entry at `index`, or `undefined` when it is not in the in-memory log. */
  term(index: number): number | undefined {
    return this.log.term(index);
  }

  /** Whether this node currently believes it leads its term (it may already be deposed without knowing). */
  isLeader(): boolean {
    return this.role === 'leader';
  }

  /** Common to every role change: enter `term` (forgetting the vote of an older one), restart the election timer with a fresh random timeout. */
  private reset(term: number): void {
    if (term !== this.currentTerm) {
      this.currentTerm = term;
      this.votedFor = '';
    }
    this.leaderId = '';
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.prng.nextInt(this.electionTicksMin, this.electionTicksMax);
    this.transferee = '';
    this.votes.clear();
    this.readRounds.clear();
    this.pendingReads = [];
  }

  private becomeFollower(term: number, leader: NodeId): void {
    this.stepRole = this.stepFollower;
    this.reset(term);
    this.leaderId = leader;
    this.role = 'follower';
  }

  /** Pre-vote (thesis §9.6): ask first whether an election could be won, without touching term or vote. */
  private startPreVote(): void {
    this.stepRole = this.stepCandidate;
    this.reset(this.currentTerm);
    this.role = 'pre-candidate';
    // Nothing is persisted for a pre-vote, so this node's own grant counts at once.
    if (this.recordVote(this.id, true)) return;
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const pr of this.voterProgress) {
      if (pr === this.self) continue;
      this.send(message(MessageType.PreVote, this.partition, this.id, pr.id, this.currentTerm + 1, lastTerm, lastIndex, NO_ENTRIES, 0, false, 0, 0));
    }
  }

  /**
   * A real election in a new term. This node's own vote counts only once the Ready carrying it has been
   * persisted (see `advance`): counting it earlier would let a crash erase the vote and this node then
   * vote again, for someone else, in the same term.
   */
  private startElection(transfer: boolean): void {
    this.stepRole = this.stepCandidate;
    this.reset(this.currentTerm + 1);
    this.votedFor = this.id;
    this.role = 'candidate';
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    const context = transfer ? TRANSFER_CONTEXT : 0;
    for (const pr of this.voterProgress) {
      if (pr === this.self) continue;
      this.send(message(MessageType.Vote, this.partition, this.id, pr.id, this.currentTerm, lastTerm, lastIndex, NO_ENTRIES, 0, false, 0, context));
    }
  }

  private becomeLeader(): void {
    this.stepRole = this.stepLeader;
    this.reset(this.currentTerm);
    this.leaderId = this.id;
    this.role = 'leader';
    const last = this.log.lastIndex();
    for (const pr of this.progress.values()) pr.resetForLeader(0, last + 1);
    this.self.resetForLeader(this.log.stableIndex(), last + 1);
    this.self.becomeReplicate();
    this.self.recentActive = true;
    // Entries of earlier terms commit only under an entry of this term (Raft §5.4.2, figure 8).
    this.log.append({ index: last + 1, term: this.currentTerm, kind: EntryKind.Noop, type: '', data: EMPTY_DATA, time: HLC_ZERO });
    this.oweAppendToAll(2);
  }

  /** Counts a (pre-)vote; acts on the outcome. Returns true when the election is decided. */
  private recordVote(from: NodeId, granted: boolean): boolean {
    const pr = this.progress.get(from);
    if (pr === undefined || !pr.isVoter) return false;
    if (!this.votes.has(from)) this.votes.set(from, granted);
    let yes = 0;
    let no = 0;
    for (const v of this.votes.values()) {
      if (v) yes++;
      else no++;
    }
    const outcome = voteOutcome(yes, no, this.voterProgress.length);
    if (outcome === 'won') {
      if (this.role === 'pre-candidate') this.startElection(false);
      else this.becomeLeader();
      return true;
    }
    if (outcome === 'lost') {
      this.becomeFollower(this.currentTerm, '');
      return true;
    }
    return false;
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.isVoter && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign();
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTicksMin) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.currentTerm, '');
        return;
      }
      this.transferee = '';
    }
    for (const pr of this.peers) {
      if (pr.state === 'snapshot' && ++pr.snapshotElapsed >= this.snapshotTimeoutTicks) {
        // The snapshot or its acknowledgement was lost: probe again, which asks for a new one if still needed.
        this.probeAfterSnapshot(pr);
      }
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      // Carrying the newest pending read round retries reads whose own heartbeats were lost.
      this.broadcastHeartbeat(this.readRounds.newestRound());
    }
  }

  /** Check-quorum: did a majority of voters answer during the last election timeout? Starts the next period. */
  private quorumActive(): boolean {
    let active = 0;
    for (const pr of this.voterProgress) {
      if (pr === this.self || pr.recentActive) active++;
      if (pr !== this.self) pr.recentActive = false;
    }
    return active >= majority(this.voterProgress.length);
  }

  /** Leader lease for check-quorum: a node that heard from a leader within the minimum election timeout will not help depose it. */
  private inLeaderLease(): boolean {
    return this.checkQuorum && this.leaderId !== '' && this.electionElapsed < this.electionTicksMin;
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Append:
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleAppend(m);
        return;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.Snapshot:
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.TimeoutNow:
        // Leadership transfer (thesis §3.10): the leader vouches that this log is current, so skip pre-vote.
        if (this.isVoter) this.startElection(true);
        return;
      default:
        return;
    }
  }

  /** Shared by pre-candidates and candidates; each only counts the responses of its own kind of round. */
  private stepCandidate(m: Message): void {
    switch (m.type) {
      case MessageType.Append:
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.Snapshot:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case MessageType.VoteResponse:
        if (this.role === 'candidate') this.recordVote(m.from, !m.reject);
        return;
      case MessageType.PreVoteResponse:
        if (this.role === 'pre-candidate') this.recordVote(m.from, !m.reject);
        return;
      default:
        return;
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.AppendResponse:
        this.handleAppendResponse(m);
        return;
      case MessageType.HeartbeatResponse:
        this.handleHeartbeatResponse(m);
        return;
      default:
        return;
    }
  }

  private handleVoteRequest(m: Message): void {
    const pre = m.type === MessageType.PreVote;
    const responseType = pre ? MessageType.PreVoteResponse : MessageType.VoteResponse;
    // One vote per term (§5.2); a pre-vote for a future term promises nothing, so it is not limited by our vote.
    const canVote =
      this.votedFor === m.from || (this.votedFor === '' && this.leaderId === '') || (pre && m.term > this.currentTerm);
    if (this.isVoter && canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      const response = this.voteResponse(responseType, m.from, m.term, false);
      if (pre) {
        this.send(response);
      } else {
        this.electionElapsed = 0;
        this.votedFor = m.from;
        this.sendAfterPersist(response);
      }
      return;
    }
    const rejection = this.voteResponse(responseType, m.from, this.currentTerm, true);
    if (pre) this.send(rejection);
    else this.sendAfterPersist(rejection);
  }

  private handleAppend(m: Message): void {
    const committed = this.log.committed;
    if (m.index < committed) {
      // Everything through our commit index already matches the leader; say so, and it resumes from there.
      this.sendAfterPersist(this.appendResponse(m.from, committed, false, 0, 0));
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew >= 0) {
      this.sendAfterPersist(this.appendResponse(m.from, lastNew, false, 0, 0));
      return;
    }
    // Hint the leader at the last entry that could match (a term no newer than the one it sent), so it
    // skips the whole conflicting term in one round trip; logTerm lets it do the same on its side.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.sendAfterPersist(this.appendResponse(m.from, m.index, true, hint, this.log.term(hint) ?? 0));
  }

  /**
   * The leader's runtime delivered a complete snapshot covering the log through (`m.index`, `m.logTerm`).
   * Already covered by the commit index, or matching an entry this log holds: nothing to replace (the
   * log catches up by Append). Otherwise the log restarts after the snapshot and the next Ready carries
   * it, for the runtime to install the state and persist the new base before acknowledging.
   */
  private handleSnapshot(m: Message): void {
    if (m.index <= 0) return;
    const committed = this.log.committed;
    if (m.index <= committed) {
      this.sendAfterPersist(this.appendResponse(m.from, committed, false, 0, 0));
      return;
    }
    if (this.log.matchTerm(m.index, m.logTerm)) {
      this.log.commitTo(m.index);
      this.sendAfterPersist(this.appendResponse(m.from, m.index, false, 0, 0));
      return;
    }
    this.log.restore(m.index, m.logTerm);
    this.snapshotToInstall = { index: m.index, term: m.logTerm };
    this.sendAfterPersist(this.appendResponse(m.from, m.index, false, 0, 0));
  }

  private handleHeartbeat(m: Message): void {
    this.leaderFloor = m.index;
    if (m.commit > this.log.lastIndex()) {
      // The leader bounds the commit index by what this node acknowledged in this term, so holding less
      // means the node lost its data (a wiped data directory). Say so, so the leader lowers its match.
      const lastIndex = this.log.lastIndex();
      this.send(message(MessageType.AppendResponse, this.partition, this.id, m.from, this.currentTerm, 0, m.commit, NO_ENTRIES, 0, true, lastIndex, LOST_LOG_CONTEXT));
    } else {
      this.log.commitTo(m.commit);
    }
    this.send(message(MessageType.HeartbeatResponse, this.partition, this.id, m.from, this.currentTerm, 0, 0, NO_ENTRIES, 0, false, 0, m.context));
  }

  private handleAppendResponse(m: Message): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined || pr === this.self) return;
    pr.recentActive = true;
    if (m.reject) {
      if (m.context === LOST_LOG_CONTEXT) {
        if (m.rejectHint < pr.match) {
          pr.match = m.rejectHint;
          pr.becomeProbe();
          this.oweAppend(pr, 2);
        }
        return;
      }
      // A rejection cannot tell where a snapshot the follower is receiving leaves its log.
      if (pr.state === 'snapshot') return;
      const hint = m.logTerm > 0 ? this.log.findConflictByTerm(m.rejectHint, m.logTerm) : m.rejectHint;
      if (pr.maybeDecrease(m.index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.oweAppend(pr, 2);
      }
      return;
    }
    // Index 0 acknowledges nothing (the answer to an old-term message); it must not end a probe.
    const wasProbeAtMatch = pr.state === 'probe' && pr.match === m.index && m.index > 0;
    if (pr.maybeUpdate(m.index) || wasProbeAtMatch) {
      if (pr.state !== 'replicate') pr.becomeReplicate();
      else pr.inflight.freeThrough(m.index);
      if (this.maybeCommit()) this.announceCommit();
      this.oweAppend(pr, 1);
      if (m.from === this.transferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
    }
  }

  private handleHeartbeatResponse(m: Message): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined || pr === this.self) return;
    pr.recentActive = true;
    pr.probeSent = false;
    // Appends may have been lost; a live follower behind a full window would otherwise never be sent to again.
    if (pr.state === 'replicate' && pr.inflight.isFull()) pr.inflight.freeOldest();
    if (pr.match < this.log.lastIndex() || pr.state === 'probe') this.oweAppend(pr, 2);
    if (m.context !== 0 && pr.isVoter) {
      const acks = this.readRounds.acknowledge(m.context, m.from);
      if (acks >= majority(this.voterProgress.length)) this.readRounds.release(m.context, this.readStates);
    }
  }

  /** Raises the commit index to what a majority of voters durably hold, if that entry is of this term. */
  private maybeCommit(): boolean {
    const scratch = this.matchScratch;
    for (let i = 0; i < this.voterProgress.length; i++) scratch[i] = (this.voterProgress[i] as Progress).match;
    const index = quorumIndex(scratch);
    if (index <= this.log.committed || this.log.term(index) !== this.currentTerm) return false;
    const firstInTerm = this.log.term(this.log.committed) !== this.currentTerm;
    this.log.commitTo(index);
    if (firstInTerm && this.pendingReads.length > 0) {
      const waiting = this.pendingReads;
      this.pendingReads = [];
      for (const requestId of waiting) this.startReadRound(requestId);
    }
    return true;
  }

  private startReadRound(requestId: number): void {
    const selfVotes = this.self.isVoter ? this.id : null;
    const round = this.readRounds.start(requestId, this.log.committed, selfVotes);
    if (this.voterProgress.length === 1 && selfVotes !== null) {
      this.readRounds.release(round, this.readStates);
      return;
    }
    this.broadcastHeartbeat(round);
  }

  private broadcastHeartbeat(context: number): void {
    const commit = this.log.committed;
    const floor = this.replicatedFloor();
    for (const pr of this.peers) {
      // A follower may not yet hold our entries up to `commit`; it learns only what it is known to match.
      const bounded = Math.min(pr.match, commit);
      this.send(message(MessageType.Heartbeat, this.partition, this.id, pr.id, this.currentTerm, 0, floor, NO_ENTRIES, bounded, false, 0, context));
    }
  }

  /** See {@link RaftStatusView.replicated}. */
  private replicatedFloor(): number {
    if (this.role !== 'leader') return this.leaderFloor;
    let floor = this.log.committed;
    for (const pr of this.progress.values()) if (pr.match < floor) floor = pr.match;
    return floor;
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send(message(MessageType.TimeoutNow, this.partition, this.id, to, this.currentTerm, 0, 0, NO_ENTRIES, 0, false, 0, 0));
  }

  private oweAppend(pr: Progress, level: 1 | 2): void {
    if (pr.owedAppend < level) pr.owedAppend = level;
    this.appendsOwed = true;
  }

  /**
   * The commit index advanced: every follower is owed it. With `broadcastCommit` an Append goes even
   * without entries; otherwise it waits for the next Append with entries or the next heartbeat.
   */
  private announceCommit(): void {
    this.oweAppendToAll(this.broadcastCommit ? 2 : 1);
  }

  private oweAppendToAll(level: 1 | 2): void {
    for (const pr of this.peers) if (pr.owedAppend < level) pr.owedAppend = level;
    this.appendsOwed = true;
  }

  /** Sends every owed Append: as many per member as its window allows, so one turn's proposals share messages. */
  private flushAppends(): void {
    if (!this.appendsOwed) return;
    this.appendsOwed = false;
    const leader = this.role === 'leader';
    for (const pr of this.peers) {
      if (pr.owedAppend === 0) continue;
      let sendEmpty = pr.owedAppend === 2;
      pr.owedAppend = 0;
      if (!leader) continue;
      while (this.maybeSendAppend(pr, sendEmpty)) sendEmpty = false;
    }
  }

  /** Sends one Append to `pr` if its state allows; returns whether a message went out. */
  private maybeSendAppend(pr: Progress, sendIfEmpty: boolean): boolean {
    if (pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) {
      // Below the compacted prefix: only the application's state can catch this member up.
      pr.becomeSnapshot();
      const base = this.log.baseIndex();
      this.send(message(MessageType.Snapshot, this.partition, this.id, pr.id, this.currentTerm, this.log.term(base) ?? 0, base, NO_ENTRIES, this.log.committed, false, 0, 0));
      return false;
    }
    const entries =
      pr.next <= this.log.lastIndex()
        ? this.log.slice(pr.next, this.log.lastIndex(), this.maxEntriesPerMessage, this.maxBytesPerMessage)
        : NO_ENTRIES;
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send(message(MessageType.Append, this.partition, this.id, pr.id, this.currentTerm, prevTerm, prevIndex, entries, this.log.committed, false, 0, 0));
    pr.sentAppend(prevIndex + entries.length, entries.length > 0);
    return true;
  }

  private appendResponse(to: NodeId, index: number, reject: boolean, rejectHint: number, logTerm: number): Message {
    return message(MessageType.AppendResponse, this.partition, this.id, to, this.currentTerm, logTerm, index, NO_ENTRIES, 0, reject, rejectHint, 0);
  }

  private voteResponse(type: MessageType, to: NodeId, term: number, reject: boolean): Message {
    return message(type, this.partition, this.id, to, term, 0, 0, NO_ENTRIES, 0, reject, 0, 0);
  }

  /** A message that promises nothing about durable state: it may leave before the current Ready is persisted. */
  private send(m: Message): void {
    this.messages.push(m);
  }

  /**
   * Vote grants and append acknowledgements promise state (a vote, a term, entries) that must survive a
   * crash, so they leave only after the Ready that carries that state is durable (Raft thesis §3.8).
   */
  private sendAfterPersist(m: Message): void {
    this.persistedMessages.push(m);
  }

  private hardStateChanged(): boolean {
    const last = this.lastHardState;
    return last.term !== this.currentTerm || last.vote !== this.votedFor || last.commit !== this.log.committed;
  }
}

interface ResolvedConfig {
  readonly learners: readonly NodeId[];
  readonly electionTicksMin: number;
  readonly electionTicksMax: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxInflightMessages: number;
  readonly maxEntriesPerMessage: number;
  readonly maxBytesPerMessage: number;
  readonly maxUncommittedEntries: number;
  readonly snapshotTimeoutTicks: number;
  readonly broadcastCommit: boolean;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`RaftConfig.${name} must be a positive integer, got ${value}`);
  }
  return value;
}

function booleanOption(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new Error(`RaftConfig.${name} must be true or false, got ${typeof value === 'string' ? `"${value}"` : String(value)}`);
  return value;
}

/** Applies the documented defaults and rejects a configuration that cannot work, naming the field. */
function validateConfig(config: RaftConfig): ResolvedConfig {
  const d = RAFT_CONFIG_DEFAULTS;
  if (typeof config.id !== 'string' || config.id === '') {
    throw new Error('RaftConfig.id must be a non-empty string (the node id, e.g. its endpoint)');
  }
  if (!Number.isInteger(config.partition) || config.partition < 0) {
    throw new Error(`RaftConfig.partition must be a non-negative integer, got ${config.partition}`);
  }
  if (!Number.isFinite(config.seed)) {
    throw new Error(`RaftConfig.seed must be a finite number, got ${config.seed}`);
  }
  if (config.voters.length === 0) {
    throw new Error('RaftConfig.voters must not be empty: list at least one voting member');
  }
  const learners = config.learners ?? [];
  const seen = new Set<NodeId>();
  for (const member of [...config.voters, ...learners]) {
    if (member === '') throw new Error('RaftConfig.voters and RaftConfig.learners must not contain an empty node id');
    if (seen.has(member)) {
      throw new Error(`RaftConfig: member "${member}" is listed twice in voters/learners; list each member once, as a voter or as a learner`);
    }
    seen.add(member);
  }
  if (!seen.has(config.id)) {
    throw new Error(`RaftConfig.id "${config.id}" is neither in voters nor in learners; add this node to one of them`);
  }
  const heartbeatTicks = positiveInteger('heartbeatTicks', config.heartbeatTicks ?? d.heartbeatTicks);
  const electionTicksMin = positiveInteger('electionTicksMin', config.electionTicksMin ?? d.electionTicksMin);
  const electionTicksMax = positiveInteger('electionTicksMax', config.electionTicksMax ?? d.electionTicksMax);
  if (electionTicksMin <= heartbeatTicks) {
    throw new Error(
      `RaftConfig.electionTicksMin (${electionTicksMin}) must be greater than heartbeatTicks (${heartbeatTicks}), or followers time out between heartbeats`,
    );
  }
  if (electionTicksMax <= electionTicksMin) {
    throw new Error(
      `RaftConfig.electionTicksMax (${electionTicksMax}) must be greater than electionTicksMin (${electionTicksMin}): timeouts are drawn from [min, max)`,
    );
  }
  return {
    learners,
    electionTicksMin,
    electionTicksMax,
    heartbeatTicks,
    preVote: booleanOption('preVote', config.preVote ?? d.preVote),
    checkQuorum: booleanOption('checkQuorum', config.checkQuorum ?? d.checkQuorum),
    maxInflightMessages: positiveInteger('maxInflightMessages', config.maxInflightMessages ?? d.maxInflightMessages),
    maxEntriesPerMessage: positiveInteger('maxEntriesPerMessage', config.maxEntriesPerMessage ?? d.maxEntriesPerMessage),
    maxBytesPerMessage: positiveInteger('maxBytesPerMessage', config.maxBytesPerMessage ?? d.maxBytesPerMessage),
    maxUncommittedEntries: positiveInteger('maxUncommittedEntries', config.maxUncommittedEntries ?? d.maxUncommittedEntries),
    snapshotTimeoutTicks: positiveInteger('snapshotTimeoutTicks', config.snapshotTimeoutTicks ?? d.snapshotTimeoutTicks),
    broadcastCommit: booleanOption('broadcastCommit', config.broadcastCommit ?? d.broadcastCommit),
  };
}
