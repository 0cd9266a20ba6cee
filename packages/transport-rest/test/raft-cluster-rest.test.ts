import type { AddressInfo } from 'node:net';
import { InMemoryWal, RaftManager, RaftOperationStatus, StaticDiscovery, type NodeId } from '@kommander/core';
import { kommanderRoutes } from '@kommander/fastify-routes';
import Fastify, { type FastifyInstance } from 'fastify';
import { RestTransport } from '../src/index.js';

interface Node {
  readonly id: NodeId;
  readonly raft: RaftManager;
  readonly app: FastifyInstance;
  readonly applied: string[];
}

test('a 3-node RaftManager cluster (InMemoryWal) elects and replicates over REST on loopback', async () => {
  const ids = ['n1', 'n2', 'n3'];
  const ports = new Map<NodeId, number>();
  const nodes: Node[] = [];
  for (const id of ids) {
    const transport = new RestTransport({ node: id, resolve: (peer) => `http://127.0.0.1:${ports.get(peer) ?? 1}` });
    const raft = new RaftManager({ node: id, initialPartitions: 2, wal: new InMemoryWal(), transport, discovery: new StaticDiscovery(ids), tickMs: 20, seed: 7 });
    const applied: string[] = [];
    raft.onReplicationReceived((partition, log) => {
      applied.push(`${partition}:${log.id}:${new TextDecoder().decode(log.data)}`);
      return true;
    });
    const app = Fastify({ logger: false });
    await app.register(kommanderRoutes, { node: raft, inbound: transport });
    await app.listen({ port: 0, host: '127.0.0.1' });
    ports.set(id, (app.server.address() as AddressInfo).port);
    nodes.push({ id, raft, app, applied });
  }
  try {
    await Promise.all(nodes.map((n) => n.raft.joinCluster()));
    for (const partition of [1, 2]) {
      const leaderId = await nodes[0]!.raft.waitForLeader(partition, 10_000);
      const leader = nodes.find((n) => n.id === leaderId)!;
      for (let i = 0; i < 20; i++) {
        const result = await leader.raft.replicateLogs(partition, 'Put', new TextEncoder().encode(`p${partition}-${i}`));
        expect(result.status).toBe(RaftOperationStatus.Success);
      }
      // The admin endpoint of every node names the same leader.
      for (const n of nodes) {
        const { port } = n.app.server.address() as AddressInfo;
        const res = await fetch(`http://127.0.0.1:${port}/v1/raft/partitions/${partition}/leader`);
        expect(res.status).toBe(200);
        expect(((await res.json()) as { leader: string }).leader).toBe(leaderId);
      }
    }
    // Every node applies the same 40 entries (waited for by events, not time).
    await Promise.all(
      nodes.map(
        (n) =>
          new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`${n.id} applied ${n.applied.length} of 40 entries`)), 10_000);
            const check = (): void => {
              if (n.applied.length >= 40) {
                clearTimeout(timer);
                resolve();
              }
            };
            check();
            n.raft.onReplicationReceived(() => {
              queueMicrotask(check);
              return true;
            });
          }),
      ),
    );
    for (const partition of ['1:', '2:']) {
      const reference = nodes[0]!.applied.filter((e) => e.startsWith(partition));
      expect(reference).toHaveLength(20);
      for (const n of nodes) expect(n.applied.filter((e) => e.startsWith(partition))).toEqual(reference);
    }
  } finally {
    for (const n of nodes) await n.raft.leaveCluster();
    for (const n of nodes) await n.app.close();
  }
}, 30_000);
