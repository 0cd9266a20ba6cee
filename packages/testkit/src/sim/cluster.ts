import {
  InMemoryWal,
  MessageType,
  RaftManager,
  RaftOperationStatus,
  StaticDiscovery,
  type Entry,
  type Message,
  type NodeId,
  type RaftLog,
  type RaftManagerOptions,
  type ReplicateOptions,
  type ReplicationHandler,
  type ReplicationResult,
  type RestoreHandler,
  type Role,
  type StateTransfer,
} from '@kommander/core';
import { AcknowledgedWritesChecker } from './invariants/acknowledged-writes.js';
import { ElectionSafetyChecker } from './invariants/election-safety.js';
import { LeaderCompletenessChecker, type LogView } from './invariants/leader-completeness.js';
import { LogMatchingChecker, type LogEntry } from './invariants/log-matching.js';
import { StateMachineSafetyChecker, type DeliverySource } from './invariants/state-machine-safety.js';
import { formatViolation, type InvariantName, type Violation } from './invariants/violation.js';
import { Prng } from './prng.js';
import { SimNetwork } from './sim-network.js';
import { Trace } from './trace.js';
import { VirtualClock, type ExecutedEvent, type NodeClock } from './virtual-clock.js';
import { max, NativePromise, nextImmediate } from './fast-globals.js';

/** The RaftManager options a simulation may tune; the rest (node, WAL, transport, discovery, clock, seed) belong to the simulator. */
export type SimulatedRaftOptions = Partial<
  Pick<
    RaftManagerOptions,
    | 'tickMs'
    | 'electionTicks'
    | 'heartbeatTicks'
    | 'proposalTimeoutMs'
    | 'pendingProposalTimeoutMs'
    | 'maxQueuedProposals'
    | 'syncWal'
    | 'syncCommitIndex'
    | 'maxInflightMessages'
    | 'maxEntriesPerMessage'
    | 'maxBytesPerMessage'
    | 'logger'
    | 'compactAfterEntries'
    | 'snapshotChunkBytes'
  >
>;

/** The application running on one node incarnation: what it does with committed (and replayed) entries. */
export interface NodeStateMachine {
  /** Receives each committed application entry (see `RaftManager.onReplicationReceived`). */
  readonly onReplicationReceived: ReplicationHandler;
  /** Receives the WAL replay at start-up. Default: `onReplicationReceived`. */
  readonly onLogRestored?: RestoreHandler;
  /** The application's state for a snapshot (see `StateTransfer.exportState`). Default: no state of its own. */
  readonly exportState?: (partition: number, index: number) => Uint8Array;
  /** Replaces the application's state with a snapshot's (see `StateTransfer.importState`). */
  readonly importState?: (partition: number, index: number, state: Uint8Array) => void;
}

/**
 * Builds the application of a node incarnation. It is called again after every restart (a crashed
 * process loses its memory), with `incarnation` counting the starts of that node from 1. Returning a
 * function uses it for both live deliveries and the replay.
 */
export type StateMachineFactory = (node: NodeId, incarnation: number) => NodeStateMachine | ReplicationHandler;

/** What a user invariant is given. */
export interface InvariantContext {
  readonly cluster: SimulatedCluster;
  /** True for the final check after the heal phase (when every node has caught up); false after each step. */
  readonly final: boolean;
}

/** A property of the user's application: return a message describing the problem, or nothing when it holds. */
export type ClusterInvariant = (context: InvariantContext) => string | undefined | void;

/** Options of {@link SimulatedCluster.start}. */
export interface SimulatedClusterOptions {
  /** Fixes every random choice of the run (network, disk, elections, nemesis, load). */
  readonly seed: number;
  /** Number of nodes, named n1, n2 … Default 3. */
  readonly nodes?: number;
  /** User partitions per node (1..partitions; partition 0 is the system partition). Default 4. */
  readonly partitions?: number;
  /** The application on each node. Default: none (the simulator still records every delivery). */
  readonly stateMachine?: StateMachineFactory;
  /** Checked after every step and at the end; its first message fails the run. Default: none. */
  readonly invariant?: ClusterInvariant;
  /** Each node's WAL append latency is drawn once from this range of virtual milliseconds. Default [1, 3]. */
  readonly walLatencyMs?: readonly [number, number];
  /** One-way network latency in virtual milliseconds. Default 1. */
  readonly networkLatencyMs?: number;
  /**
   * Give nodes a `stateTransfer` so followers behind the compacted log are caught up with snapshots
   * (the state is the simulator's record of deliveries plus the state machine's `exportState`). Default true.
   */
  readonly snapshots?: boolean;
  /** RaftManager timing and limits. Default: tickMs 25, electionTicks 10, heartbeatTicks 2, proposalTimeoutMs 2000, pendingProposalTimeoutMs 3000, compactAfterEntries 30, snapshotChunkBytes 16; the rest as RaftManager's defaults. */
  readonly raft?: SimulatedRaftOptions;
  /** Trace lines kept for failure reports. Default 200. */
  readonly traceLines?: number;
  /** How to replay this run, shown in failure messages. Default `seed <seed>`. */
  readonly replay?: string;
  /**
   * Rewrites message batches in flight, breaking Raft's assumption that messages arrive unaltered: for
   * proving that invariant checks (built-in or your own) catch a misbehaving system. Default: none.
   */
  readonly tamper?: (from: NodeId, to: NodeId, messages: readonly Message[]) => readonly Message[];
}

/** Thrown by the run methods of {@link SimulatedCluster} when an invariant breaks. */
export class SimulationError extends Error {
  constructor(
    readonly violation: Violation,
    readonly replay: string,
    readonly traceTail: readonly string[],
  ) {
    super(`${formatViolation(violation)}\nreplay: ${replay}`);
    this.name = 'SimulationError';
  }
}

/** Events at one virtual instant beyond which the run is declared livelocked; a healthy run never comes close. */
const MAX_STEPS_WITHOUT_TIME = 100_000;

const SIM_RAFT_DEFAULTS = {
  tickMs: 25,
  electionTicks: 10,
  heartbeatTicks: 2,
  proposalTimeoutMs: 2000,
  pendingProposalTimeoutMs: 3000,
  compactAfterEntries: 30,
  // Tiny chunks, so that every snapshot travels in several messages the nemesis can drop, duplicate and reorder.
  snapshotChunkBytes: 16,
} as const;

/** The in-memory log of one node's partition, read lazily by the leader completeness checker. */
class ManagerLogView implements LogView {
  firstIndex = 0;
  lastIndex = 0;
  manager: RaftManager | null = null;

  constructor(readonly partition: number) {}

  entries(from: number, to: number): readonly LogEntry[] {
    return this.manager === null || from > to ? [] : this.manager.partitionEntries(this.partition, from, to);
  }
}

/** One simulated node: its disk survives crashes; its process (manager, clock facade, transport) does not. */
interface NodeSlot {
  readonly id: NodeId;
  readonly wal: InMemoryWal;
  manager: RaftManager | null;
  clock: NodeClock | null;
  joined: boolean;
  incarnation: number;
  /**
   * What the last crash dropped from the WAL: `'unsynced'` (a power loss) or `'in-flight'` (only the
   * process died). The restart's replay must then hand back everything delivered before, unless
   * syncCommitIndex is off and the crash dropped unsynced writes.
   */
  lastCrash: 'unsynced' | 'in-flight';
  /** Per partition: the commit index up to which this incarnation's log was checked. */
  readonly checked: number[];
  /** Per partition: role and term last seen, for trace lines. */
  readonly seenRole: (Role | '')[];
  readonly seenTerm: number[];
  readonly views: ManagerLogView[];
}

function immediate(): Promise<void> {
  return new NativePromise((resolve) => nextImmediate(resolve));
}

/**
 * A whole Kommander cluster in one process: real `RaftManager`s on virtual time, a simulated network
 * and simulated disks, all driven from one seed. After every step (one event, then every promise it
 * triggered) the simulator checks election safety, log matching, leader completeness, state-machine
 * safety, and the user's invariant; the first violation stops the run with a {@link SimulationError}.
 *
 * ```ts
 * const cluster = await SimulatedCluster.start({ seed: 42, stateMachine: (node) => (p, log) => { apply(node, log); return true; } });
 * cluster.crash('n1');
 * await cluster.runFor(2000);
 * cluster.restart('n1');
 * await cluster.converge();
 * ```
 */
export class SimulatedCluster {
  /** The cluster's virtual time; schedule your own events on it with `clock.schedule`. */
  readonly clock = new VirtualClock();
  /** The simulated network: cut, partition, isolate, degrade and heal it directly. */
  readonly network: SimNetwork;
  /** Every step of the run: a hash for replay comparisons and the recent lines for failure reports. */
  readonly trace: Trace;
  /** Records what clients were told; the load generator and {@link write} feed it. */
  readonly acknowledgements = new AcknowledgedWritesChecker();
  /** Every application delivery of every node, checked against the canonical sequence per partition. */
  readonly deliveries = new StateMachineSafetyChecker();
  readonly seed: number;
  /** User partitions per node (partition 0, the system partition, comes on top). */
  readonly partitionCount: number;
  /** How to replay this run (shown in failure messages). */
  readonly replay: string;
  /** The first violation, once one happened. */
  violation: Violation | null = null;
  /** Nodes started so far, restarts included. */
  starts = 0;
  /** Crashes so far. */
  crashes = 0;
  /** Snapshots nodes installed (state transfers completed). */
  snapshotsInstalled = 0;

  private readonly slots: NodeSlot[];
  /** Draws whether a crash is a power loss or a process death, when the caller does not say. */
  private readonly crashKinds: Prng;

  /** WAL appends and, of those, fsyncs (`sync: true`) over every node's disk so far. */
  walStats(): { appends: number; syncs: number } {
    let appends = 0;
    let syncs = 0;
    for (const slot of this.slots) {
      const stats = slot.wal.stats();
      appends += stats.appends;
      syncs += stats.syncs;
    }
    return { appends, syncs };
  }

  private readonly bySlot = new Map<NodeId, NodeSlot>();
  private readonly partitionIds: number[];
  private readonly elections = new ElectionSafetyChecker();
  private readonly logs = new LogMatchingChecker();
  private readonly completeness = new LeaderCompletenessChecker(this.logs);
  private readonly options: SimulatedClusterOptions;
  private readonly raft: SimulatedRaftOptions;
  private writes = 0;
  /** The batch the current step delivered, if it was a network delivery (for its trace line). */
  private delivering: readonly Message[] | null = null;
  private lastStepTime = -1;
  /** Consecutive steps at the current virtual time (a runaway chain of zero-delay events never lets time advance). */
  private stepsAtSameTime = 0;

  private constructor(options: SimulatedClusterOptions) {
    const nodeCount = options.nodes ?? 3;
    const partitions = options.partitions ?? 4;
    if (!Number.isSafeInteger(options.seed)) throw new RangeError(`SimulatedCluster: seed must be an integer, got ${String(options.seed)}`);
    if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 64) throw new RangeError(`SimulatedCluster: nodes must be an integer in 1..64, got ${String(nodeCount)}`);
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1024) throw new RangeError(`SimulatedCluster: partitions must be an integer in 1..1024, got ${String(partitions)}`);
    const [latMin, latMax] = options.walLatencyMs ?? [1, 3];
    if (!(latMin >= 0 && latMax >= latMin)) throw new RangeError(`SimulatedCluster: walLatencyMs must be [min, max] with 0 ≤ min ≤ max, got [${latMin}, ${latMax}]`);
    this.options = options;
    this.seed = options.seed;
    this.partitionCount = partitions;
    this.replay = options.replay ?? `seed ${options.seed}`;
    this.raft = { ...SIM_RAFT_DEFAULTS, ...options.raft };
    this.trace = new Trace(options.traceLines ?? 200);
    this.partitionIds = Array.from({ length: partitions + 1 }, (_, p) => p);
    const ids = Array.from({ length: nodeCount }, (_, i) => `n${i + 1}`);
    this.network = new SimNetwork(this.clock, Prng.stream(options.seed, 'network'), ids, {
      latencyMs: options.networkLatencyMs ?? 1,
      onDeliver: (_from, _to, messages) => {
        this.delivering = messages;
        this.traceMessages(messages);
      },
      ...(options.tamper === undefined ? {} : { tamper: options.tamper }),
    });
    const disk = Prng.stream(options.seed, 'disk');
    this.crashKinds = Prng.stream(options.seed, 'crash kind');
    this.slots = ids.map((id) => {
      const latency = disk.uniform(latMin, latMax);
      const slot: NodeSlot = {
        id,
        wal: new InMemoryWal({ clock: this.clock.forNode(id, `wal ${id}`), appendLatencyMs: latency }),
        manager: null,
        clock: null,
        joined: false,
        incarnation: 0,
        lastCrash: 'in-flight',
        checked: this.partitionIds.map(() => 0),
        seenRole: this.partitionIds.map(() => ''),
        seenTerm: this.partitionIds.map(() => 0),
        views: this.partitionIds.map((p) => new ManagerLogView(p)),
      };
      this.bySlot.set(id, slot);
      return slot;
    });
  }

  /** Creates the cluster, starts every node and runs until all have joined. */
  static async start(options: SimulatedClusterOptions): Promise<SimulatedCluster> {
    const cluster = new SimulatedCluster(options);
    for (const slot of cluster.slots) cluster.boot(slot);
    if (!(await cluster.runUntil(() => cluster.slots.every((s) => s.joined), 10_000))) {
      cluster.fail('runtime-error', '', -1, 'not every node finished joinCluster() within 10 s of virtual time');
    }
    return cluster;
  }

  // ---- inspection ----

  /** Node ids, n1 … nN. */
  get nodes(): readonly NodeId[] {
    return this.network.nodes;
  }

  /** User partitions 1..N. */
  get userPartitions(): readonly number[] {
    return this.partitionIds.slice(1);
  }

  /** Virtual milliseconds since the start. */
  get now(): number {
    return this.clock.elapsed;
  }

  /** The running RaftManager of `node`, or undefined while it is crashed. */
  manager(node: NodeId): RaftManager | undefined {
    return this.slot(node).manager ?? undefined;
  }

  /** True when `node`'s process runs (it may still be joining). */
  isUp(node: NodeId): boolean {
    return this.slot(node).manager !== null;
  }

  /** True when `node` runs and its joinCluster() has resolved. */
  isJoined(node: NodeId): boolean {
    return this.slot(node).joined;
  }

  /** The node that leads `partition` now (the one in the highest term if several think so), or undefined. */
  leaderOf(partition: number): NodeId | undefined {
    let best: NodeId | undefined;
    let bestTerm = -1;
    for (const s of this.slots) {
      if (!s.joined || s.manager === null) continue;
      const status = s.manager.partitionStatus(partition);
      if (status.role === 'leader' && status.term > bestTerm) {
        best = s.id;
        bestTerm = status.term;
      }
    }
    return best;
  }

  /** How many canonical deliveries of `partition` `node` has made (over all its incarnations). */
  deliveredBy(node: NodeId, partition: number): number {
    return this.deliveries.deliveredBy(node, partition);
  }

  /** How many entries of `partition` were delivered on some node (the canonical sequence's length). */
  deliveredCount(partition: number): number {
    return this.deliveries.canonical(partition).length;
  }

  /** A line for the trace (shown in failure reports). */
  note(text: string): void {
    this.trace.record(this.clock.elapsed, text);
  }

  // ---- faults ----

  /**
   * Kills `node`'s process: its timers are cancelled, its transport dies, its WAL loses the writes in
   * flight, and the RaftManager object is abandoned (pending calls on it never settle). `lose`:
   * `'unsynced'` (a power loss: the WAL also loses every write not fsynced) or `'in-flight'` (only the
   * process died); drawn from the seed, half and half, when not given.
   */
  crash(node: NodeId, lose?: 'unsynced' | 'in-flight'): void {
    const slot = this.slot(node);
    if (slot.manager === null) throw new Error(`SimulatedCluster.crash: ${node} is already down; restart it first`);
    slot.clock?.stop();
    this.network.kill(node);
    slot.lastCrash = lose ?? (this.crashKinds.next() < 0.5 ? 'unsynced' : 'in-flight');
    slot.wal.crash(slot.lastCrash);
    slot.manager = null;
    slot.clock = null;
    slot.joined = false;
    for (const view of slot.views) view.manager = null;
    this.completeness.forgetNode(node);
    this.crashes++;
    this.note(`crash ${node} (${slot.lastCrash === 'unsynced' ? 'power loss' : 'process'})`);
  }

  /** Starts a new process for `node` on its surviving WAL: new clock facade, new transport, `joinCluster()`. */
  restart(node: NodeId): void {
    const slot = this.slot(node);
    if (slot.manager !== null) throw new Error(`SimulatedCluster.restart: ${node} is running; crash it first`);
    this.boot(slot);
  }

  /** Ends every network fault and restarts every crashed node. */
  healAll(): void {
    this.network.heal();
    for (const slot of this.slots) if (slot.manager === null) this.boot(slot);
    this.note('heal: network clean, all nodes up');
  }

  // ---- running ----

  /**
   * Runs one event, lets every promise it triggered settle, then checks the invariants. Returns false
   * when no event is scheduled. Throws a {@link SimulationError} on the first violation.
   */
  async step(): Promise<boolean> {
    const event = this.runEvent();
    if (event === undefined) return false;
    await immediate();
    this.afterEvent(event);
    return true;
  }

  /** Runs every event due in the next `ms` virtual milliseconds. */
  async runFor(ms: number): Promise<void> {
    const until = this.clock.elapsed + ms;
    for (;;) {
      let next = this.clock.nextTime();
      if (next === undefined) next = await this.settledNextTime();
      if (next === undefined || next > until) break;
      // The step is inlined (runEvent, one await, afterEvent): an async call per event costs promises
      // that a long run feels.
      const event = this.runEvent();
      if (event === undefined) break;
      await immediate();
      this.afterEvent(event);
    }
    this.clock.advanceTo(until);
  }

  /** Runs until `predicate` holds (checked before each step) or `timeoutMs` of virtual time pass; returns whether it held. Default timeout 60 s. */
  async runUntil(predicate: () => boolean, timeoutMs = 60_000): Promise<boolean> {
    const deadline = this.clock.elapsed + timeoutMs;
    for (;;) {
      if (predicate()) return true;
      let next = this.clock.nextTime();
      if (next === undefined) next = await this.settledNextTime();
      if (next === undefined || next > deadline) {
        this.clock.advanceTo(deadline);
        return predicate();
      }
      const event = this.runEvent();
      if (event === undefined) return predicate();
      await immediate();
      this.afterEvent(event);
    }
  }

  /** Runs until `promise` settles (or `timeoutMs` of virtual time pass, default 30 s); its value, or undefined. A rejection is rethrown. */
  async settle<T>(promise: Promise<T>, timeoutMs = 30_000): Promise<T | undefined> {
    const outcome: { state: 'pending' | 'fulfilled' | 'rejected'; value?: T; reason?: unknown } = { state: 'pending' };
    promise.then(
      (value) => {
        outcome.state = 'fulfilled';
        outcome.value = value;
      },
      (reason: unknown) => {
        outcome.state = 'rejected';
        outcome.reason = reason;
      },
    );
    await immediate();
    await this.runUntil(() => outcome.state !== 'pending', timeoutMs);
    if (outcome.state === 'rejected') throw outcome.reason;
    return outcome.value;
  }

  /**
   * Replicates through whichever node leads `partition`, waiting (on virtual time) for a leader and for
   * the result; records a Success as an acknowledged write. Returns `NodeIsNotLeader` when no leader
   * appears within `timeoutMs` (default 10 s) and `ProposalTimeout` when the call does not settle.
   */
  async write(partition: number, type: string, data: Uint8Array, options: ReplicateOptions = {}, timeoutMs = 10_000): Promise<ReplicationResult> {
    const deadline = this.clock.elapsed + timeoutMs;
    let leader: NodeId | undefined;
    await this.runUntil(() => (leader = this.leaderOf(partition)) !== undefined, timeoutMs);
    const manager = leader === undefined ? undefined : this.manager(leader);
    if (manager === undefined) return { status: RaftOperationStatus.NodeIsNotLeader, ticket: null, lastIndex: 0 };
    this.acknowledgements.proposed(partition, data, this.clock.elapsed);
    const result = await this.settle(manager.replicateLogs(partition, type, data, options), Math.max(1, deadline - this.clock.elapsed));
    if (result === undefined) return { status: RaftOperationStatus.ProposalTimeout, ticket: null, lastIndex: 0 };
    if (result.status === RaftOperationStatus.Success && options.autoCommit !== false) {
      this.acknowledgements.acknowledged(partition, data, this.clock.elapsed);
    }
    return result;
  }

  /**
   * The heal phase's test of liveness, to call once the network is clean and every node is up: every
   * partition elects a leader all nodes agree on, a fresh write to every user partition commits and is
   * delivered on every node, and every node has delivered the same sequence. Then the final checks run
   * (every node's whole committed log, acknowledged writes, the user invariant with `final: true`).
   * Throws a {@link SimulationError} when it does not converge within `timeoutMs` (default 20 s).
   * Returns the virtual milliseconds it took.
   */
  async converge(timeoutMs = 20_000): Promise<number> {
    const start = this.clock.elapsed;
    const deadline = start + timeoutMs;
    const left = (): number => Math.max(1, deadline - this.clock.elapsed);
    if (!(await this.runUntil(() => this.agreedLeaders().length === 0 && this.slots.every((s) => s.joined), left()))) {
      const missing = this.agreedLeaders();
      this.fail('heal-convergence', '', missing[0] ?? -1, `no leader agreed by every node after ${timeoutMs} ms for partitions ${missing.join(', ')}: ${this.describeStatuses(missing[0] ?? 0)}`);
    }
    for (const p of this.userPartitions) {
      let done = false;
      while (!done && this.clock.elapsed < deadline) {
        const data = new TextEncoder().encode(`heal-${p}-${++this.writes}`);
        const result = await this.write(p, 'heal', data, {}, left());
        done = result.status === RaftOperationStatus.Success;
        if (!done) {
          this.note(`heal write to partition ${p} answered ${result.status}`);
          // A refusal can come back at once; let virtual time pass before retrying so the deadline can expire.
          await this.runFor(Math.min(50, left()));
        }
      }
      if (!done) this.fail('heal-convergence', '', p, `no fresh write to partition ${p} succeeded within ${timeoutMs} ms: ${this.describeStatuses(p)}`);
    }
    const caughtUp = (): boolean =>
      this.userPartitions.every((p) => {
        const length = this.deliveries.canonical(p).length;
        return this.slots.every((s) => this.deliveries.nextOf(s.id, p) === length);
      });
    if (!(await this.runUntil(caughtUp, left()))) {
      const p = this.userPartitions.find((q) => this.slots.some((s) => this.deliveries.nextOf(s.id, q) !== this.deliveries.canonical(q).length)) ?? 1;
      const counts = this.slots.map((s) => `${s.id}=${this.deliveries.nextOf(s.id, p)}`).join(' ');
      this.fail('heal-convergence', '', p, `nodes did not deliver the same sequence within ${timeoutMs} ms: ${this.deliveries.canonical(p).length} canonical entries, next positions ${counts}`);
    }
    this.finalCheck();
    return this.clock.elapsed - start;
  }

  /** The end-of-run checks: every node's whole committed log again, acknowledged writes, and the user invariant with `final: true`. */
  finalCheck(): void {
    for (const slot of this.slots) slot.checked.fill(0);
    this.observe('');
    this.throwIfViolated();
    const v = this.acknowledgements.check(this.clock.elapsed, this.deliveries, this.nodes);
    if (v !== undefined) this.record(v);
    this.runUserInvariant(true);
    this.throwIfViolated();
  }

  /** Runs the invariants now, outside a step (they also run after every step). */
  checkInvariants(): void {
    this.observe('');
    this.throwIfViolated();
  }

  /**
   * Records a violation found outside the built-in checks (a load generator, a harness); the run stops
   * at the end of the current step with a {@link SimulationError}.
   */
  flag(invariant: InvariantName, node: NodeId, partition: number, details: string): void {
    this.record({ invariant, time: this.clock.elapsed, node, partition, details });
  }

  /** Stops every running node with leaveCluster(), driving virtual time until they are done. */
  async stop(): Promise<void> {
    const leaving = this.slots.filter((s) => s.manager !== null).map((s) => (s.manager as RaftManager).leaveCluster());
    await this.settle(Promise.all(leaving), 10_000);
    for (const s of this.slots) {
      s.manager = null;
      s.joined = false;
    }
  }

  // ---- internals ----

  /** The time of the next event once pending promises had their turn (they may schedule one). */
  private async settledNextTime(): Promise<number | undefined> {
    await immediate();
    return this.clock.nextTime();
  }

  /** First half of a step: runs the next event. Undefined when the queue is empty. */
  private runEvent(): ExecutedEvent | undefined {
    this.throwIfViolated();
    this.delivering = null;
    try {
      return this.clock.runNext();
    } catch (error) {
      const last = this.clock.last;
      this.fail('runtime-error', last?.node ?? '', -1, `event "${last?.label ?? '?'}" threw: ${describeError(error)}`);
      return undefined;
    }
  }

  /** Second half of a step, once the promises the event triggered have settled: trace and invariants. */
  private afterEvent(event: ExecutedEvent): void {
    if (event.time === this.lastStepTime) {
      if (++this.stepsAtSameTime > MAX_STEPS_WITHOUT_TIME) {
        this.fail('runtime-error', event.node, -1,
          `livelock: ${MAX_STEPS_WITHOUT_TIME} events ran at ${event.time.toFixed(3)} ms without virtual time advancing (last: ${event.label}); a chain of zero-delay events never ends`);
      }
    } else {
      this.lastStepTime = event.time;
      this.stepsAtSameTime = 0;
    }
    const batch = this.delivering;
    this.delivering = null;
    this.trace.record(event.time, event.label, batch === null ? undefined : () => describeMessages(batch));
    this.observe(event.node);
    this.throwIfViolated();
  }

  private boot(slot: NodeSlot): void {
    const incarnation = ++slot.incarnation;
    const clock = this.clock.forNode(slot.id);
    const seed = Prng.stream(this.seed, `raft ${slot.id} ${incarnation}`).uint32();
    const app = this.options.stateMachine?.(slot.id, incarnation);
    const stateTransfer = this.options.snapshots === false ? undefined : this.stateTransferFor(slot, incarnation, typeof app === 'function' ? undefined : app);
    const manager = new RaftManager({
      ...(stateTransfer === undefined ? {} : { stateTransfer }),
      ...this.raft,
      node: slot.id,
      initialPartitions: this.partitionCount,
      wal: slot.wal,
      transport: this.network.transportFor(slot.id),
      discovery: new StaticDiscovery(this.nodes),
      clock,
      seed,
    });
    slot.manager = manager;
    slot.clock = clock;
    slot.joined = false;
    slot.checked.fill(0);
    slot.seenRole.fill('');
    slot.seenTerm.fill(0);
    for (const view of slot.views) view.manager = manager;
    // DESIGN §2.3: the replay hands back exactly what was delivered before the restart (from the last
    // checkpoint on). With syncCommitIndex off, a power loss may cost it the deliveries past the last
    // fsynced commit index; a process crash may not.
    const lossy = this.raft.syncCommitIndex === false && slot.lastCrash === 'unsynced';
    this.deliveries.startIncarnation(slot.id, lossy);
    this.starts++;
    const onLive = typeof app === 'function' ? app : app?.onReplicationReceived;
    const onReplay = typeof app === 'function' ? app : (app?.onLogRestored ?? app?.onReplicationReceived);
    const current = (): boolean => slot.incarnation === incarnation && slot.manager === manager;
    manager.onReplicationReceived((partition, log) => {
      if (!current()) return true;
      // The entry being applied (its release point in the log) is the one after the applied index.
      this.delivered(slot.id, partition, log, 'replication', manager.partitionStatus(partition).appliedIndex + 1);
      return onLive === undefined ? true : onLive(partition, log);
    });
    manager.onLogRestored((partition, log) => {
      if (!current()) return true;
      this.delivered(slot.id, partition, log, 'restore');
      return onReplay === undefined ? true : onReplay(partition, log);
    });
    manager.onRestoreFinished((partition) => {
      if (!current()) return;
      const v = this.deliveries.restoreFinished(this.clock.elapsed, slot.id, partition);
      if (v !== undefined) this.record(v);
    });
    manager.onReplicationError((partition, log, error) => {
      if (current() && this.options.stateMachine !== undefined) {
        this.note(`${slot.id} p${partition} handler failed on id ${log.id}: ${describeError(error)}`);
      }
    });
    this.note(`start ${slot.id} #${incarnation}`);
    manager.joinCluster().then(
      () => {
        if (!current()) return;
        slot.joined = true;
        this.note(`joined ${slot.id} #${incarnation}`);
      },
      (error: unknown) => {
        if (current()) this.fail('runtime-error', slot.id, -1, `joinCluster() failed: ${describeError(error)}`, false);
      },
    );
  }

  /** Snapshots carry the node's position in the canonical delivery sequence, then the state machine's own state. */
  private stateTransferFor(slot: NodeSlot, incarnation: number, app: NodeStateMachine | undefined): StateTransfer {
    const current = (): boolean => slot.incarnation === incarnation;
    return {
      exportState: (partition, index) => {
        const own = app?.exportState?.(partition, index) ?? new Uint8Array(0);
        const out = new Uint8Array(8 + own.length);
        new DataView(out.buffer).setFloat64(0, this.deliveries.statePosition(slot.id, partition, index));
        out.set(own, 8);
        return out;
      },
      importState: (partition, index, state) => {
        if (!current()) return;
        const position = new DataView(state.buffer, state.byteOffset, state.byteLength).getFloat64(0);
        this.note(`${slot.id} p${partition} installs a snapshot at index ${index} (${position} deliveries)`);
        this.snapshotsInstalled++;
        const v = this.deliveries.jump(this.clock.elapsed, slot.id, partition, position);
        if (v !== undefined) this.record(v);
        app?.importState?.(partition, index, state.subarray(8));
      },
    };
  }

  private delivered(node: NodeId, partition: number, log: RaftLog, source: DeliverySource, releasedAt?: number): void {
    this.trace.mixInt(log.id);
    const v = this.deliveries.deliver(this.clock.elapsed, node, partition, log, source, releasedAt);
    if (v !== undefined) this.record(v);
  }

  /** Checks the invariants against `subject` (the only node the last event could change), or every node for `''`. */
  private observe(subject: NodeId): void {
    if (this.violation !== null) return;
    const time = this.clock.elapsed;
    for (const slot of this.slots) {
      if (subject !== '' && slot.id !== subject) continue;
      const manager = slot.manager;
      if (manager === null || !slot.joined) continue;
      for (const p of this.partitionIds) {
        const s = manager.partitionStatus(p);
        if (s.restoring) continue;
        let v = this.elections.observe(time, slot.id, p, s.role, s.term);
        const changed = slot.seenRole[p] !== s.role || slot.seenTerm[p] !== s.term;
        if (changed) {
          if (s.role === 'leader' || slot.seenRole[p] === 'leader') this.note(`${slot.id} p${p} ${s.role} term ${s.term}`);
          slot.seenRole[p] = s.role;
          slot.seenTerm[p] = s.term;
        }
        if (v === undefined && s.commitIndex > (slot.checked[p] as number)) {
          const from = max((slot.checked[p] as number) + 1, s.firstIndex, 1);
          const entries = from <= s.commitIndex ? manager.partitionEntries(p, from, s.commitIndex) : [];
          const gap = checkContiguous(entries, from, s.commitIndex);
          if (gap !== undefined) {
            v = { invariant: 'log-matching', time, node: slot.id, partition: p, details: `committed entries ${from}..${s.commitIndex} are not all in the log: ${gap}` };
          } else {
            v = this.logs.observe(time, slot.id, p, entries, s.term);
          }
          slot.checked[p] = s.commitIndex;
        }
        // The checker acts only when a node becomes leader of a new term, so unchanged steps skip it.
        if (v === undefined && changed) {
          const view = slot.views[p] as ManagerLogView;
          view.firstIndex = s.firstIndex;
          view.lastIndex = s.lastIndex;
          v = this.completeness.observe(time, slot.id, p, s.role, s.term, view);
        }
        if (v !== undefined) {
          this.record(v);
          return;
        }
      }
    }
    this.runUserInvariant(false);
  }

  private runUserInvariant(final: boolean): void {
    const invariant = this.options.invariant;
    if (invariant === undefined || this.violation !== null) return;
    let message: string | undefined | void;
    try {
      message = invariant({ cluster: this, final });
    } catch (error) {
      message = `the invariant threw: ${describeError(error)}`;
    }
    if (typeof message === 'string') this.record({ invariant: 'user-invariant', time: this.clock.elapsed, node: '', partition: -1, details: message });
  }

  /** Partitions (0 included) for which not every node names the same leader, or that leader does not lead. */
  private agreedLeaders(): number[] {
    const missing: number[] = [];
    for (const p of this.partitionIds) {
      let agreed: NodeId | undefined;
      let ok = true;
      for (const s of this.slots) {
        if (!s.joined || s.manager === null) {
          ok = false;
          break;
        }
        const leader = s.manager.partitionStatus(p).leader;
        if (leader === '' || (agreed !== undefined && leader !== agreed)) {
          ok = false;
          break;
        }
        agreed = leader;
      }
      if (ok && agreed !== undefined && !this.slot(agreed).manager?.amILeaderQuick(p)) ok = false;
      if (!ok) missing.push(p);
    }
    return missing;
  }

  private describeStatuses(partition: number): string {
    return this.slots
      .map((s) => {
        if (s.manager === null) return `${s.id}: down`;
        if (!s.joined) return `${s.id}: joining`;
        const st = s.manager.partitionStatus(partition);
        return `${s.id}: ${st.role} term ${st.term} leader ${st.leader || '-'} commit ${st.commitIndex} last ${st.lastIndex}`;
      })
      .join('; ');
  }

  private traceMessages(messages: readonly Message[]): void {
    const t = this.trace;
    for (const m of messages) {
      t.mixInt(m.type | (m.partition << 4));
      t.mixInt(m.term);
      t.mixInt(m.index);
      t.mixInt(m.commit);
      t.mixInt(m.entries.length);
    }
  }

  private record(v: Violation): void {
    if (this.violation !== null) return;
    this.violation = v;
    this.note(`VIOLATION ${formatViolation(v)}`);
  }

  /** Records a violation and (unless `raise` is false) throws it at once. */
  private fail(invariant: InvariantName, node: NodeId, partition: number, details: string, raise = true): void {
    this.record({ invariant, time: this.clock.elapsed, node, partition, details });
    if (raise) this.throwIfViolated();
  }

  private throwIfViolated(): void {
    if (this.violation !== null) throw new SimulationError(this.violation, this.replay, this.trace.tail(40));
  }

  private slot(node: NodeId): NodeSlot {
    const slot = this.bySlot.get(node);
    if (slot === undefined) throw new Error(`SimulatedCluster: unknown node "${node}"; nodes are ${this.nodes.join(', ')}`);
    return slot;
  }
}

/** Describes a hole in what should be the contiguous range [from, to], or undefined when there is none. */
function checkContiguous(entries: readonly Entry[], from: number, to: number): string | undefined {
  if (from > to) return undefined;
  if (entries.length !== to - from + 1) return `expected ${to - from + 1} entries, partitionEntries returned ${entries.length}`;
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k] as Entry;
    if (e.index !== from + k) return `entry #${k} has index ${e.index}, expected ${from + k}`;
  }
  return undefined;
}

const MESSAGE_NAMES = new Map<number, string>(Object.entries(MessageType).map(([name, value]) => [value, name]));

/** A short summary of a delivered batch for trace lines. */
function describeMessages(messages: readonly Message[]): string {
  const shown = messages.slice(0, 6).map((m) => {
    const entries = m.entries.length > 0 ? ` +${m.entries.length}` : '';
    const reject = m.reject ? ` reject(hint ${m.rejectHint})` : '';
    return `${MESSAGE_NAMES.get(m.type) ?? m.type} p${m.partition} t${m.term} i${m.index}/${m.logTerm}${entries} c${m.commit}${reject}`;
  });
  const more = messages.length > shown.length ? `; … ${messages.length - shown.length} more` : '';
  return `[${shown.join('; ')}${more}]`;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
