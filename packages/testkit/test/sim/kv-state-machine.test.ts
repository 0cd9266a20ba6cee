import { RaftOperationStatus, type NodeId, type RaftLog } from '@kommander/core';
import { SimulatedCluster, type ClusterInvariant, type StateMachineFactory } from '../../src/sim/cluster.js';
import { runSimulation } from '../../src/sim/simulation.js';

/**
 * The example application: a replicated key/value map per partition. A command is `key=value` (or a
 * bare `key`, which stores the entry's log id). Each node incarnation rebuilds its map from the replay.
 */
class ReplicatedMap {
  readonly data = new Map<string, string>();
  /**
   * Per partition, commands applied by this incarnation and a digest of their order: equal counts must
   * mean equal digests (partitions are ordered independently, so only per-partition order is compared).
   */
  readonly applied = new Map<number, number>();
  readonly digest = new Map<number, number>();
  private readonly decoder = new TextDecoder();

  apply(partition: number, log: RaftLog): boolean {
    const command = this.decoder.decode(log.data);
    const eq = command.indexOf('=');
    const key = `${partition}/${eq < 0 ? command : command.slice(0, eq)}`;
    const value = eq < 0 ? String(log.id) : command.slice(eq + 1);
    this.data.set(key, value);
    this.applied.set(partition, (this.applied.get(partition) ?? 0) + 1);
    let digest = this.digest.get(partition) ?? 0;
    for (let i = 0; i < command.length; i++) digest = Math.imul(digest ^ command.charCodeAt(i), 0x01000193);
    this.digest.set(partition, Math.imul(digest ^ log.id, 0x01000193));
    return true;
  }
}

/** The maps of the live incarnations, by node. */
function kvApplication(): { maps: Map<NodeId, ReplicatedMap>; factory: StateMachineFactory; invariant: ClusterInvariant } {
  const maps = new Map<NodeId, ReplicatedMap>();
  const factory: StateMachineFactory = (node) => {
    const map = new ReplicatedMap();
    maps.set(node, map);
    return (partition, log) => map.apply(partition, log);
  };
  const invariant: ClusterInvariant = ({ cluster, final }) => {
    const live = cluster.nodes.filter((n) => cluster.isUp(n));
    for (const partition of cluster.userPartitions) {
      const byApplied = new Map<number, { node: NodeId; digest: number }>();
      for (const node of live) {
        const map = maps.get(node);
        if (map === undefined) continue;
        const applied = map.applied.get(partition) ?? 0;
        const digest = map.digest.get(partition) ?? 0;
        const other = byApplied.get(applied);
        if (other !== undefined && other.digest !== digest) {
          return `${node} and ${other.node} both applied ${applied} commands to partition ${partition} but their states differ`;
        }
        byApplied.set(applied, { node, digest });
      }
    }
    if (!final) return undefined;
    const [first, ...rest] = live.map((n) => [n, maps.get(n)] as const);
    for (const [node, map] of rest) {
      if (first === undefined || map === undefined || first[1] === undefined) return 'a live node has no map';
      if (map.data.size !== first[1].data.size) return `${node} holds ${map.data.size} keys, ${first[0]} holds ${first[1].data.size}`;
      for (const [k, v] of map.data) if (first[1].data.get(k) !== v) return `${node} has ${k}=${v}, ${first[0]} has ${first[1].data.get(k)}`;
    }
    return undefined;
  };
  return { maps, factory, invariant };
}

describe('a user state machine on the simulator (replicated key/value map)', () => {
  test('survives crashes: every node ends with the same map, rebuilt from the replay after restarts', async () => {
    const app = kvApplication();
    const cluster = await SimulatedCluster.start({ seed: 77, nodes: 3, partitions: 2, stateMachine: app.factory, invariant: app.invariant });
    const encode = (s: string): Uint8Array => new TextEncoder().encode(s);
    for (let round = 0; round < 6; round++) {
      for (let k = 0; k < 4; k++) {
        const result = await cluster.write(1 + (k % 2), 'set', encode(`key${k}=r${round}`));
        expect(result.status).toBe(RaftOperationStatus.Success);
      }
      const victim = cluster.nodes[round % 3] as NodeId;
      cluster.crash(victim);
      await cluster.runFor(200);
      cluster.restart(victim);
    }
    await cluster.converge();
    for (const node of cluster.nodes) {
      const map = app.maps.get(node);
      for (let k = 0; k < 4; k++) expect(map?.data.get(`${1 + (k % 2)}/key${k}`)).toBe('r5');
    }
  });

  test('runs under the full nemesis and client load with the user invariant checked after every step', async () => {
    const app = kvApplication();
    const report = await runSimulation({
      seed: 31337,
      nodes: 3,
      partitions: 3,
      durationMs: 10_000,
      // Without checkpoints the replay starts at the first entry, so an in-memory map can be rebuilt.
      load: { checkpointShare: 0 },
      stateMachine: app.factory,
      invariant: app.invariant,
    });
    expect(report.violation).toBeNull();
    expect(report.converged).toBe(true);
    const sizes = [...app.maps.values()].map((m) => m.data.size);
    expect(new Set(sizes).size).toBe(1);
    expect(sizes[0]).toBe(report.delivered.reduce((a, b) => a + b, 0));
  });

  test('a broken user invariant is reported with the replay line', async () => {
    const report = await runSimulation({
      seed: 5,
      nodes: 3,
      partitions: 2,
      durationMs: 2000,
      invariant: ({ cluster }) => (cluster.deliveredCount(1) > 10 ? 'partition 1 grew past 10 entries' : undefined),
    });
    expect(report.ok).toBe(false);
    expect(report.violation?.invariant).toBe('user-invariant');
    expect(report.violation?.details).toBe('partition 1 grew past 10 entries');
    expect(report.replay).toBe('pnpm sim --seed 5 --nodes 3 --partitions 2 --duration 2000');
    expect(report.traceTail.some((line) => line.includes('VIOLATION'))).toBe(true);
  });
});
