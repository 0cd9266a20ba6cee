import { createServer, Socket, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Message, NodeAuth, NodeId, PartitionStatus } from '@kommander/core';
import type { TransportCluster } from '@kommander/testkit';
import { kommanderHttpsOptions, kommanderRoutes, type KommanderNode } from '@kommander/fastify-routes';
import Fastify, { type FastifyInstance } from 'fastify';
import { RestTransport, type RestTransportOptions } from '../src/index.js';

/** A TCP relay for one directed link; `cut` kills its connections and refuses new ones until `heal`. */
export class LinkProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private cutOff = false;
  port = 0;

  constructor(private readonly target: () => number) {
    this.server = createServer((client) => {
      if (this.cutOff) {
        client.destroy();
        return;
      }
      const upstream = new Socket();
      this.track(client);
      this.track(upstream);
      upstream.connect(this.target(), '127.0.0.1');
      client.pipe(upstream);
      upstream.pipe(client);
      const kill = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', kill).on('close', kill);
      upstream.on('error', kill).on('close', kill);
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  cut(): void {
    this.cutOff = true;
    for (const s of this.sockets) s.destroy();
  }

  heal(): void {
    this.cutOff = false;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}

/** A node for the routes without a RaftManager: fixed members and partitions, idle status. */
export function stubNode(id: NodeId, members: readonly NodeId[], partitions: readonly number[]): KommanderNode {
  return {
    node: id,
    members: () => members,
    partitions: () => partitions,
    partitionStatus: (partition): PartitionStatus => ({
      partition,
      role: 'follower',
      leader: '',
      term: 0,
      vote: '',
      commitIndex: 0,
      appliedIndex: 0,
      firstIndex: 1,
      lastIndex: 0,
      restoring: false,
      queuedProposals: 0,
    }),
  };
}

/**
 * One node's Fastify host on 127.0.0.1 serving the routes for `transport`. `port` 0 picks a free one. With
 * `auth` in mutual-tls mode the host serves HTTPS with `kommanderHttpsOptions(auth)`.
 */
export async function startHost(node: KommanderNode, transport: RestTransport, port = 0, bodyLimit?: number, auth?: NodeAuth): Promise<{ app: FastifyInstance; port: number }> {
  const app: FastifyInstance = auth?.mode === 'mutual-tls' ? Fastify({ logger: false, https: kommanderHttpsOptions(auth) }) : Fastify({ logger: false });
  await app.register(kommanderRoutes, { node, inbound: transport, ...(bodyLimit === undefined ? {} : { bodyLimit }), ...(auth === undefined ? {} : { auth }) });
  await app.listen({ port, host: '127.0.0.1' });
  return { app, port: (app.server.address() as AddressInfo).port };
}

/** Partitions the conformance suite's messages use. */
const PARTITIONS = [0, 1, 2, ...Array.from({ length: 10 }, (_, i) => 1000 * i + 7)];
const MAX_BATCH_BYTES = 512 * 1024;

/**
 * Every node: a Fastify host on 127.0.0.1 with the routes and a RestTransport. Every directed link goes
 * through its own TCP proxy, so `cut` closes real connections and refuses new ones. With `authOf`, each
 * node's transport and routes use that node's setting (mutual-tls: HTTPS with its own certificate).
 */
export async function httpCluster(nodeIds: readonly NodeId[], authOf?: (id: NodeId) => NodeAuth): Promise<TransportCluster> {
  const ports = new Map<NodeId, number>();
  const hosts = new Map<NodeId, FastifyInstance>();
  const transports = new Map<NodeId, RestTransport>();
  const proxies = new Map<string, LinkProxy>();
  const link = (from: NodeId, to: NodeId): string => `${from}->${to}`;

  const makeTransport = (id: NodeId, auth: NodeAuth | undefined): RestTransport => {
    const scheme = auth?.mode === 'mutual-tls' ? 'https' : 'http';
    return new RestTransport({
      node: id,
      resolve: (peer) => `${scheme}://127.0.0.1:${proxies.get(link(id, peer))?.port ?? 1}`,
      maxBatchBytes: MAX_BATCH_BYTES,
      initialBackoffMs: 10,
      maxBackoffMs: 100,
      ...(auth === undefined ? {} : { auth }),
    });
  };
  const startNode = async (id: NodeId, port: number): Promise<RestTransport> => {
    const auth = authOf?.(id);
    const transport = makeTransport(id, auth);
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

export type { Message };
export type TransportOptions = Omit<RestTransportOptions, 'node' | 'resolve'>;
