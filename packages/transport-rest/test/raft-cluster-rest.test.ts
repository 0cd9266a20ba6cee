import { get as httpsGet } from 'node:https';
import type { AddressInfo } from 'node:net';
import { InMemoryWal, nodeTlsOptions, RaftManager, RaftOperationStatus, StaticDiscovery, type MutualTlsNodeAuth, type NodeId } from '@kommander/core';
import { kommanderHttpsOptions, kommanderRoutes } from '@kommander/fastify-routes';
import { createTestPki } from '@kommander/testkit';
import Fastify, { type FastifyInstance } from 'fastify';
import { RestTransport } from '../src/index.js';

interface Node {
  readonly id: NodeId;
  readonly raft: RaftManager;
  readonly app: FastifyInstance;
  readonly applied: string[];
}

/** GET of an admin endpoint; over mutual TLS the client presents a certificate of the cluster's CA. */
async function getJson(url: string, tls: MutualTlsNodeAuth | undefined): Promise<{ status: number; body: unknown }> {
  if (tls === undefined) {
    const res = await fetch(url);
    return { status: res.status, body: await res.json() };
  }
  const { ca, cert, key } = nodeTlsOptions(tls);
  return new Promise((resolve, reject) => {
    httpsGet(url, { ca, cert, key, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

const pki = createTestPki();

test.each<[string, boolean]>([
  ['HTTP', false],
  ['HTTPS with mutual-tls authentication', true],
])('a 3-node RaftManager cluster (InMemoryWal) elects and replicates over REST on loopback, %s', async (_what, mutualTls) => {
  const ids = ['n1', 'n2', 'n3'];
  const ports = new Map<NodeId, number>();
  const nodes: Node[] = [];
  const scheme = mutualTls ? 'https' : 'http';
  /** A certificate per node, naming it (CN) and 127.0.0.1 (SAN). */
  const authOf = (id: NodeId): MutualTlsNodeAuth | undefined => {
    if (!mutualTls) return undefined;
    const { cert, key } = pki.issue({ cn: id });
    return { mode: 'mutual-tls', ca: pki.ca, cert, key };
  };
  const admin = authOf('operator');
  for (const id of ids) {
    const auth = authOf(id);
    const transport = new RestTransport({ node: id, resolve: (peer) => `${scheme}://127.0.0.1:${ports.get(peer) ?? 1}`, ...(auth === undefined ? {} : { auth }) });
    const raft = new RaftManager({ node: id, initialPartitions: 2, wal: new InMemoryWal(), transport, discovery: new StaticDiscovery(ids), tickMs: 20, seed: 7 });
    const applied: string[] = [];
    raft.onReplicationReceived((partition, log) => {
      applied.push(`${partition}:${log.id}:${new TextDecoder().decode(log.data)}`);
      return true;
    });
    const app: FastifyInstance = auth === undefined ? Fastify({ logger: false }) : Fastify({ logger: false, https: kommanderHttpsOptions(auth) });
    await app.register(kommanderRoutes, { node: raft, inbound: transport, ...(auth === undefined ? {} : { auth }) });
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
        const res = await getJson(`${scheme}://127.0.0.1:${port}/v1/raft/partitions/${partition}/leader`, admin);
        expect(res.status).toBe(200);
        expect((res.body as { leader: string }).leader).toBe(leaderId);
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
