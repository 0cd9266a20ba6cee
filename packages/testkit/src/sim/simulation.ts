import type { NodeId } from '@kommander/core';
import { SimulatedCluster, SimulationError, type ClusterInvariant, type SimulatedRaftOptions, type StateMachineFactory } from './cluster.js';
import type { Violation } from './invariants/violation.js';
import { ClientLoad, type ClientLoadOptions, type ClientLoadStats } from './load.js';
import { describeFault, Nemesis, planFaults, type FaultPlanOptions } from './nemesis.js';
import { Prng } from './prng.js';
import type { NetworkStats } from './sim-network.js';

/** Options of {@link runSimulation}. */
export interface SimulationOptions {
  /** Fixes the whole run: the same options replay the same run exactly. */
  readonly seed: number;
  /** Nodes in the cluster. Default 3. */
  readonly nodes?: number;
  /** User partitions. Default 4. */
  readonly partitions?: number;
  /** Virtual milliseconds of load and faults before the heal phase. Default 10000. */
  readonly durationMs?: number;
  /** Inject faults (true: the default plan, at least 5 per run; or the plan's options), or run fault-free (false). Default true. */
  readonly faults?: boolean | FaultPlanOptions;
  /** Run the client load (true: defaults; or its options). Default true. */
  readonly load?: boolean | ClientLoadOptions;
  /** The application on each node; see {@link SimulatedClusterOptions.stateMachine}. Default: none. */
  readonly stateMachine?: StateMachineFactory;
  /** The application's invariant, checked after every step and after the heal. Default: none. */
  readonly invariant?: ClusterInvariant;
  /** RaftManager timing and limits; see {@link SimulatedClusterOptions.raft}. */
  readonly raft?: SimulatedRaftOptions;
  /** Give nodes a state transfer so compaction can pass lagging members (see {@link SimulatedClusterOptions.snapshots}). Default true. */
  readonly snapshots?: boolean;
  /** Virtual milliseconds the heal phase may take to converge. Default 20000. */
  readonly healTimeoutMs?: number;
  /** Trace lines kept in the report. Default 200. */
  readonly traceLines?: number;
}

/** The outcome of one simulated run. Equal options give an equal report (a run replays exactly). */
export interface SimulationReport {
  readonly seed: number;
  readonly nodes: number;
  readonly partitions: number;
  readonly durationMs: number;
  readonly faults: boolean;
  /** True when no invariant broke and the heal phase converged. */
  readonly ok: boolean;
  /** The first violation, or null. */
  readonly violation: Violation | null;
  /** The command that replays this run. */
  readonly replay: string;
  /** The planned faults, one line each (`at` in virtual ms, then the fault). */
  readonly faultPlan: readonly string[];
  /** Faults actually injected (a crash of a node already down is skipped). */
  readonly faultsInjected: number;
  readonly crashes: number;
  /** Snapshots installed by followers behind the compacted log. */
  readonly snapshots: number;
  /** Node starts, the first ones included. */
  readonly starts: number;
  /** WAL appends over every node's disk, and of those the ones with `sync: true` (an fsync each). */
  readonly walAppends: number;
  readonly walSyncs: number;
  readonly load: ClientLoadStats;
  /** Writes acknowledged with Success (load and heal writes). */
  readonly acknowledged: number;
  /** Per user partition (1..N): entries delivered to the application. */
  readonly delivered: readonly number[];
  readonly converged: boolean;
  /** Virtual milliseconds the heal phase took (0 when it did not finish). */
  readonly healMs: number;
  /** Events run. */
  readonly steps: number;
  /** Virtual milliseconds at the end of the run. */
  readonly endMs: number;
  readonly network: NetworkStats;
  /** A digest of every event of the run: equal for equal runs. */
  readonly traceHash: string;
  /** The last trace lines, oldest first. */
  readonly traceTail: readonly string[];
}

/** The command line that replays a run with these options. */
export function replayCommand(options: { seed: number; nodes?: number; partitions?: number; durationMs?: number; faults?: boolean | FaultPlanOptions; raft?: SimulatedRaftOptions }): string {
  const faults = options.faults === false ? ' --no-faults' : '';
  const lazyCommit = options.raft?.syncCommitIndex === false ? ' --lazy-commit' : '';
  return `pnpm sim --seed ${options.seed} --nodes ${options.nodes ?? 3} --partitions ${options.partitions ?? 4} --duration ${options.durationMs ?? 10_000}${faults}${lazyCommit}`;
}

/**
 * Runs one deterministic simulation: a cluster of real RaftManagers on virtual time under client load
 * and a nemesis drawn from the seed, then a heal phase that must converge. Invariants are checked after
 * every step. Never throws for a broken invariant: the report says what broke, where, and how to replay it.
 */
export async function runSimulation(options: SimulationOptions): Promise<SimulationReport> {
  const nodes = options.nodes ?? 3;
  const partitions = options.partitions ?? 4;
  const durationMs = options.durationMs ?? 10_000;
  if (!(Number.isFinite(durationMs) && durationMs >= 0)) throw new RangeError(`runSimulation: durationMs must be a number ≥ 0, got ${String(durationMs)}`);
  const faults = options.faults ?? true;
  const replay = replayCommand({ seed: options.seed, nodes, partitions, durationMs, faults, ...(options.raft === undefined ? {} : { raft: options.raft }) });
  let cluster: SimulatedCluster | undefined;
  let violation: Violation | null = null;
  let load: ClientLoad | undefined;
  let nemesis: Nemesis | undefined;
  let faultPlan: string[] = [];
  let healMs = 0;
  let converged = false;
  try {
    cluster = await SimulatedCluster.start({
      seed: options.seed,
      nodes,
      partitions,
      replay,
      ...(options.stateMachine === undefined ? {} : { stateMachine: options.stateMachine }),
      ...(options.invariant === undefined ? {} : { invariant: options.invariant }),
      ...(options.raft === undefined ? {} : { raft: options.raft }),
      ...(options.snapshots === undefined ? {} : { snapshots: options.snapshots }),
      ...(options.traceLines === undefined ? {} : { traceLines: options.traceLines }),
    });
    if (faults !== false) {
      const plan = planFaults(Prng.stream(options.seed, 'nemesis'), cluster.nodes as NodeId[], durationMs, faults === true ? {} : faults);
      faultPlan = plan.map((f) => `${f.at} ${describeFault(f.fault)}`);
      nemesis = new Nemesis(cluster.clock, cluster);
      nemesis.play(plan);
    }
    if (options.load !== false) {
      load = new ClientLoad(cluster, Prng.stream(options.seed, 'load'), options.load === true || options.load === undefined ? {} : options.load);
      load.start();
    }
    await cluster.runFor(durationMs);
    load?.stop();
    nemesis?.heal();
    cluster.healAll();
    healMs = await cluster.converge(options.healTimeoutMs ?? 20_000);
    converged = true;
  } catch (error) {
    if (error instanceof SimulationError) {
      violation = error.violation;
    } else {
      const details = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
      violation = { invariant: 'runtime-error', time: cluster?.now ?? 0, node: '', partition: -1, details: `the simulation threw: ${details}` };
      cluster?.note(`VIOLATION runtime-error ${details.split('\n')[0] ?? ''}`);
    }
  }
  const wal = cluster?.walStats() ?? { appends: 0, syncs: 0 };
  const emptyLoad: ClientLoadStats = { operations: 0, proposed: 0, acknowledged: 0, rolledBack: 0, checkpoints: 0, transfers: 0, noLeader: 0, statuses: {} };
  return {
    seed: options.seed,
    nodes,
    partitions,
    durationMs,
    faults: faults !== false,
    ok: violation === null,
    violation,
    replay,
    faultPlan,
    faultsInjected: nemesis?.injected ?? 0,
    crashes: cluster?.crashes ?? 0,
    snapshots: cluster?.snapshotsInstalled ?? 0,
    starts: cluster?.starts ?? 0,
    walAppends: wal.appends,
    walSyncs: wal.syncs,
    load: load === undefined ? emptyLoad : { ...load.stats, statuses: { ...load.stats.statuses } },
    acknowledged: cluster?.acknowledgements.acknowledgedCount ?? 0,
    delivered: cluster === undefined ? [] : cluster.userPartitions.map((p) => (cluster as SimulatedCluster).deliveredCount(p)),
    converged,
    healMs: converged ? healMs : 0,
    steps: cluster?.clock.executed ?? 0,
    endMs: cluster?.now ?? 0,
    network: cluster === undefined ? { sent: 0, delivered: 0, dropped: 0, cut: 0, unreachable: 0, duplicated: 0 } : { ...cluster.network.stats },
    traceHash: cluster?.trace.hash ?? '',
    traceTail: cluster?.trace.tail(options.traceLines ?? 200) ?? [],
  };
}
