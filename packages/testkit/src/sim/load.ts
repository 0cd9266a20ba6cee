import { RaftOperationStatus, type HLCTimestamp, type NodeId, type RaftManager } from '@kommander/core';
import type { SimulatedCluster } from './cluster.js';
import type { Prng } from './prng.js';

/** Options of {@link ClientLoad}. */
export interface ClientLoadOptions {
  /** Virtual milliseconds between two client operations, drawn uniformly from [min, max]. Default [15, 45]. */
  readonly intervalMs?: readonly [number, number];
  /** Share of proposals made with `autoCommit: false`, later committed or rolled back. Default 0.2. */
  readonly manualShare?: number;
  /** Share of those manual proposals that are rolled back instead of committed. Default 0.3. */
  readonly rollbackShare?: number;
  /** Share of operations that are `replicateCheckpoint` calls. Default 0.02. */
  readonly checkpointShare?: number;
  /** Share of operations that hand the partition's leadership to another node (`transferLeadership`). Default 0.01. */
  readonly transferShare?: number;
  /** Most payloads in one `replicateLogs` call. Default 3. */
  readonly maxBatch?: number;
}

/** What the load generator did and was told. */
export interface ClientLoadStats {
  /** Operations attempted (a proposal, a checkpoint, or nothing when no node led the partition). */
  operations: number;
  /** Payloads proposed. */
  proposed: number;
  /** Payloads acknowledged with Success (committed through `commitLogs` for manual proposals). */
  acknowledged: number;
  /** Payloads whose rollback succeeded. */
  rolledBack: number;
  /** Checkpoints that succeeded. */
  checkpoints: number;
  /** Leadership transfers that succeeded. */
  transfers: number;
  /** Operations skipped because no running node led the chosen partition. */
  noLeader: number;
  /** How many calls ended with each status (replicate, commit, rollback and checkpoint calls together). */
  readonly statuses: Record<string, number>;
}

/**
 * A seeded client that proposes unique payloads through whichever node leads each user partition
 * (as `amILeaderQuick` says), mixing `autoCommit: true` writes, `autoCommit: false` writes later committed
 * or rolled back, checkpoints and leadership transfers. It never waits for a call: it records the outcome when (if ever) the
 * promise settles, because calls made on a node that later crashes never settle.
 */
export class ClientLoad {
  readonly stats: ClientLoadStats = { operations: 0, proposed: 0, acknowledged: 0, rolledBack: 0, checkpoints: 0, transfers: 0, noLeader: 0, statuses: {} };
  private readonly intervalMs: readonly [number, number];
  private readonly manualShare: number;
  private readonly rollbackShare: number;
  private readonly checkpointShare: number;
  private readonly transferShare: number;
  private readonly maxBatch: number;
  private readonly encoder = new TextEncoder();
  private running = false;
  private counter = 0;

  constructor(
    private readonly cluster: SimulatedCluster,
    private readonly prng: Prng,
    options: ClientLoadOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? [15, 45];
    this.manualShare = options.manualShare ?? 0.2;
    this.rollbackShare = options.rollbackShare ?? 0.3;
    this.checkpointShare = options.checkpointShare ?? 0.02;
    this.transferShare = options.transferShare ?? 0.01;
    this.maxBatch = options.maxBatch ?? 3;
    const [min, max] = this.intervalMs;
    if (!(min > 0 && max >= min)) throw new RangeError(`ClientLoad: intervalMs must be [min, max] with 0 < min ≤ max, got [${min}, ${max}]`);
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) throw new RangeError(`ClientLoad: maxBatch must be an integer ≥ 1, got ${this.maxBatch}`);
  }

  /** Starts issuing operations on virtual time. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.scheduleNext();
  }

  /** Stops issuing new operations; outcomes of calls in flight are still recorded. */
  stop(): void {
    this.running = false;
  }

  private scheduleNext(): void {
    const [min, max] = this.intervalMs;
    this.cluster.clock.schedule(this.prng.uniform(min, max), () => this.operate(), 'load');
  }

  private operate(): void {
    if (!this.running) return;
    this.scheduleNext();
    this.stats.operations++;
    const partition = this.prng.pick(this.cluster.userPartitions);
    const leaders = this.cluster.nodes.filter((n) => this.cluster.isJoined(n) && this.cluster.manager(n)?.amILeaderQuick(partition) === true);
    if (leaders.length === 0) {
      this.stats.noLeader++;
      return;
    }
    const node = this.prng.pick(leaders);
    const manager = this.cluster.manager(node) as RaftManager;
    const others = this.cluster.nodes.filter((n) => n !== node);
    if (others.length > 0 && this.prng.chance(this.transferShare)) {
      const to = this.prng.pick(others);
      this.cluster.note(`load ${node} p${partition} transfer leadership to ${to}`);
      manager.transferLeadership(partition, to).then(
        (status) => {
          this.stats.statuses[status] = (this.stats.statuses[status] ?? 0) + 1;
          if (status === RaftOperationStatus.Success) this.stats.transfers++;
        },
        (error: unknown) => this.rejected(node, partition, 'transferLeadership', error),
      );
      return;
    }
    if (this.prng.chance(this.checkpointShare)) {
      this.cluster.note(`load ${node} p${partition} checkpoint`);
      this.watch(node, partition, 'checkpoint', manager.replicateCheckpoint(partition), (status) => {
        if (status === RaftOperationStatus.Success) this.stats.checkpoints++;
      });
      return;
    }
    const count = this.prng.between(1, this.maxBatch);
    const manual = this.prng.chance(this.manualShare);
    const rollback = manual && this.prng.chance(this.rollbackShare);
    const resolveAfter = manual ? this.prng.uniform(0.5, 40) : 0;
    const payloads: Uint8Array[] = [];
    const names: string[] = [];
    for (let i = 0; i < count; i++) {
      const name = `p${partition}w${++this.counter}`;
      names.push(name);
      const data = this.encoder.encode(name);
      payloads.push(data);
      this.cluster.acknowledgements.proposed(partition, data, this.cluster.now);
    }
    this.stats.proposed += count;
    this.cluster.note(`load ${node} p${partition} ${manual ? 'propose' : 'write'} ${names.join(',')}`);
    const call = manager.replicateLogs(partition, 'sim', count === 1 ? (payloads[0] as Uint8Array) : payloads, { autoCommit: !manual });
    this.watch(node, partition, 'replicate', call, (status, result) => {
      if (status !== RaftOperationStatus.Success) return;
      if (!manual) {
        this.acknowledge(partition, payloads);
        return;
      }
      const ticket = result?.ticket;
      if (ticket === null || ticket === undefined) {
        this.cluster.flag('runtime-error', node, partition, `replicateLogs(autoCommit: false) succeeded without a ticket for ${names.join(',')}`);
        return;
      }
      this.cluster.clock.schedule(resolveAfter, () => this.resolve(node, manager, partition, ticket, rollback, payloads, names), 'load');
    });
  }

  private resolve(node: NodeId, manager: RaftManager, partition: number, ticket: HLCTimestamp, rollback: boolean, payloads: readonly Uint8Array[], names: readonly string[]): void {
    // Only the incarnation that made the proposal holds it; a restarted node has forgotten it.
    if (this.cluster.manager(node) !== manager) return;
    this.cluster.note(`load ${node} p${partition} ${rollback ? 'rollback' : 'commit'} ${names.join(',')}`);
    const call = rollback ? manager.rollbackLogs(partition, ticket) : manager.commitLogs(partition, ticket);
    this.watch(node, partition, rollback ? 'rollback' : 'commit', call, (status) => {
      if (status !== RaftOperationStatus.Success) return;
      if (rollback) {
        this.stats.rolledBack += payloads.length;
        for (const data of payloads) this.cluster.acknowledgements.rolledBack(partition, data, this.cluster.now);
      } else {
        this.acknowledge(partition, payloads);
      }
    });
  }

  private acknowledge(partition: number, payloads: readonly Uint8Array[]): void {
    this.stats.acknowledged += payloads.length;
    for (const data of payloads) this.cluster.acknowledgements.acknowledged(partition, data, this.cluster.now);
  }

  private watch<R extends { readonly status: RaftOperationStatus }>(
    node: NodeId,
    partition: number,
    what: string,
    call: Promise<R>,
    onSettled: (status: RaftOperationStatus, result: R | undefined) => void,
  ): void {
    call.then(
      (result) => {
        const statuses = this.stats.statuses;
        statuses[result.status] = (statuses[result.status] ?? 0) + 1;
        onSettled(result.status, result);
      },
      (error: unknown) => this.rejected(node, partition, what, error),
    );
  }

  private rejected(node: NodeId, partition: number, what: string, error: unknown): void {
    this.cluster.flag('runtime-error', node, partition, `${what} on ${node} rejected (expected outcomes are statuses): ${error instanceof Error ? error.message : String(error)}`);
  }
}
