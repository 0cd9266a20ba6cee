import { createServer, Socket, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Message, NodeAuth, NodeId, PartitionStatus } from '@kommander/core';
import { kommanderRoutes, type KommanderNode } from '@kommander/fastify-routes';
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

/** One node's Fastify host on 127.0.0.1 serving the routes for `transport`. `port` 0 picks a free one. */
export async function startHost(node: KommanderNode, transport: RestTransport, port = 0, bodyLimit?: number, auth?: NodeAuth): Promise<{ app: FastifyInstance; port: number }> {
  const app = Fastify({ logger: false });
  await app.register(kommanderRoutes, { node, inbound: transport, ...(bodyLimit === undefined ? {} : { bodyLimit }), ...(auth === undefined ? {} : { auth }) });
  await app.listen({ port, host: '127.0.0.1' });
  return { app, port: (app.server.address() as AddressInfo).port };
}

export type { Message };
export type TransportOptions = Omit<RestTransportOptions, 'node' | 'resolve'>;
