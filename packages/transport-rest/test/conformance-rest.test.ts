import type { NodeAuth, NodeId } from '@kommander/core';
import { transportConformance, type TransportCluster } from '@kommander/testkit';
import type { FastifyInstance } from 'fastify';
import { RestTransport } from '../src/index.js';
import { LinkProxy, startHost, stubNode } from './http-cluster.js';

/** Partitions the suite's messages use. */
const PARTITIONS = [0, 1, 2, ...Array.from({ length: 10 }, (_, i) => 1000 * i + 7)];
const MAX_BATCH_BYTES = 512 * 1024;

/**
 * Every node: a Fastify host on 127.0.0.1 with the routes and a RestTransport. Every directed link goes
 * through its own TCP proxy, so `cut` closes real connections and refuses new ones. With `auth`, the
 * transports sign and the routes verify every request.
 */
async function httpCluster(nodeIds: readonly NodeId[], auth?: NodeAuth): Promise<TransportCluster> {
  const ports = new Map<NodeId, number>();
  const hosts = new Map<NodeId, FastifyInstance>();
  const transports = new Map<NodeId, RestTransport>();
  const proxies = new Map<string, LinkProxy>();
  const link = (from: NodeId, to: NodeId): string => `${from}->${to}`;

  const makeTransport = (id: NodeId): RestTransport =>
    new RestTransport({
      node: id,
      resolve: (peer) => `http://127.0.0.1:${proxies.get(link(id, peer))?.port ?? 1}`,
      maxBatchBytes: MAX_BATCH_BYTES,
      initialBackoffMs: 10,
      maxBackoffMs: 100,
      ...(auth === undefined ? {} : { auth }),
    });
  const startNode = async (id: NodeId, port: number): Promise<RestTransport> => {
    const transport = makeTransport(id);
    const host = await startHost(stubNode(id, nodeIds, PARTITIONS), transport, port, undefined, auth);
    ports.set(id, host.port);
    hosts.set(id, host.app);
    transports.set(id, transport);
    return transport;
  };

  for (const id of nodeIds) await startNode(id, 0);
  for (const from of nodeIds) {
    for (const to of nodeIds) {
      if (from === to) continue;
      const proxy = new LinkProxy(() => ports.get(to) ?? 1);
      await proxy.listen();
      proxies.set(link(from, to), proxy);
    }
  }
  return {
    transports,
    maxMessageBytes: MAX_BATCH_BYTES,
    restart: async (id) => {
      await transports.get(id)?.stop();
      await hosts.get(id)?.close();
      return startNode(id, ports.get(id) ?? 0);
    },
    cut: (a, b) => {
      proxies.get(link(a, b))?.cut();
      proxies.get(link(b, a))?.cut();
    },
    heal: () => {
      for (const proxy of proxies.values()) proxy.heal();
    },
    close: async () => {
      for (const t of transports.values()) await t.stop();
      for (const h of hosts.values()) await h.close();
      for (const p of proxies.values()) await p.close();
    },
  };
}

transportConformance({
  name: 'REST over HTTP',
  test,
  factory: (ids) => httpCluster(ids),
  supports: { ordered: true, restart: true, cut: true, sizeLimit: true },
});

transportConformance({
  name: 'REST over HTTP with shared-secret authentication',
  test,
  factory: (ids) => httpCluster(ids, { mode: 'shared-secret', secret: 'conformance-secret-of-32-bytes!!', maxSkewMs: 10_000 }),
  supports: { ordered: true, restart: true, cut: true, sizeLimit: true },
});
