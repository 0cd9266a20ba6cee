import { encodeMessageBatch, MessageType, type Message, type NodeId, type PartitionStatus } from '@kommander/core';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { kommanderRoutes, type KommanderNode, type KommanderRoutesOptions } from '../src/index.js';

export const SELF = '127.0.0.1:7002';
export const PEER = '127.0.0.1:7001';
export const MEMBERS: readonly NodeId[] = [PEER, SELF, '127.0.0.1:7003'];
export const PARTITIONS: readonly number[] = [0, 1, 2, 3];

/** A node with fixed partitions; partition 1 is led by this node, the others have no known leader. */
export function fakeNode(): KommanderNode {
  return {
    node: SELF,
    members: () => MEMBERS,
    partitions: () => PARTITIONS,
    partitionStatus: (partition): PartitionStatus => {
      if (!PARTITIONS.includes(partition)) throw new Error(`partitionStatus called for unknown partition ${partition}`);
      return {
        partition,
        role: partition === 1 ? 'leader' : 'follower',
        leader: partition === 1 ? SELF : '',
        term: 5 + partition,
        vote: partition === 1 ? SELF : '',
        commitIndex: 10 * partition,
        appliedIndex: 10 * partition - (partition > 0 ? 1 : 0),
        firstIndex: 1,
        lastIndex: 10 * partition + 2,
        restoring: false,
        queuedProposals: 0,
      };
    },
  };
}

/** Records every batch handed over, and checks each is what the routes promise: valid and for this node. */
export class RecordingInbound {
  readonly batches: (readonly Message[])[] = [];
  accepting = true;
  receive(messages: readonly Message[]): boolean {
    if (!this.accepting) return false;
    this.batches.push(messages);
    return true;
  }
  get messages(): Message[] {
    return this.batches.flat();
  }
}

export function message(fields: Partial<Message> = {}): Message {
  return {
    type: MessageType.Heartbeat,
    partition: 1,
    from: PEER,
    to: SELF,
    term: 5,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 3,
    reject: false,
    rejectHint: 0,
    context: 0,
    ...fields,
  };
}

export function batchJson(messages: readonly Message[] = [message()], from: NodeId = PEER): string {
  return encodeMessageBatch({ from, messages });
}

export async function host(options: Partial<KommanderRoutesOptions> = {}): Promise<{ app: FastifyInstance; inbound: RecordingInbound }> {
  const inbound = new RecordingInbound();
  const app = Fastify({ logger: false });
  app.get('/own', async () => ({ mine: true }));
  await app.register(kommanderRoutes, { node: fakeNode(), inbound, ...options });
  await listen(app);
  return { app, inbound };
}

/** Listens on 127.0.0.1 with an ephemeral port. */
export async function listen(app: FastifyInstance): Promise<void> {
  await app.listen({ port: 0, host: '127.0.0.1' });
}

export interface Answer {
  readonly statusCode: number;
  readonly body: string;
  json(): any;
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

/**
 * A real HTTP request to a listening host. (`fastify.inject` cannot run under this repository's jest:
 * light-my-request requires the ESM-only `cookie@2`, which jest's CommonJS runtime cannot load.)
 */
export function call(app: FastifyInstance, options: { method: string; url: string; headers?: Record<string, string>; payload?: string | Buffer }): Promise<Answer> {
  const { port } = app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const payload = options.payload;
    const headers: Record<string, string | number> = { ...(options.headers ?? {}) };
    if (payload !== undefined) headers['content-length'] = Buffer.byteLength(payload);
    const req = request({ host: '127.0.0.1', port, method: options.method, path: options.url, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ statusCode: res.statusCode ?? 0, body, json: () => JSON.parse(body) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Closes the kept-alive client connections (call in afterAll). */
export function closeClient(): void {
  agent.destroy();
}

export function post(app: FastifyInstance, payload: string | Buffer, contentType = 'application/json'): Promise<Answer> {
  return call(app, { method: 'POST', url: '/v1/raft/messages', headers: { 'content-type': contentType }, payload });
}
