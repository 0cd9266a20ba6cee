import { InMemoryNetwork, InMemoryWal, RaftManager, StaticDiscovery } from '@kommander/core';
import { clusterResult, runLoad, type BenchResult, type Scenario } from '../harness.js';

const NODES = ['bench-a', 'bench-b', 'bench-c'];
const PAYLOAD = 16;

function scenario(partitions: number, inflight: number): Scenario {
  const name = `in-memory-p${partitions}-i${inflight}`;
  return {
    name,
    async run({ seconds }): Promise<BenchResult> {
      const network = new InMemoryNetwork();
      const nodes = NODES.map(
        (node) =>
          new RaftManager({
            node,
            initialPartitions: partitions,
            wal: new InMemoryWal(),
            transport: network.transport(node),
            discovery: new StaticDiscovery(NODES),
            maxQueuedProposals: 1 << 20,
          }),
      );
      await Promise.all(nodes.map((n) => n.joinCluster()));
      try {
        const load = await runLoad({ nodes, partitions, inflight, payloadBytes: PAYLOAD, seconds });
        return clusterResult(name, { nodes: NODES.length, wal: 'memory', transport: 'memory', partitions, inflight, payloadBytes: PAYLOAD }, load);
      } finally {
        await Promise.all(nodes.map((n) => n.leaveCluster()));
      }
    },
  };
}

/** DESIGN/issue 2: 3 nodes, in-memory WAL and transport, 16-byte payloads, 1 and 8 partitions, 1 and 1,024 in flight. */
export const inMemoryScenarios: Scenario[] = [1, 8].flatMap((p) => [1, 1024].map((i) => scenario(p, i)));
