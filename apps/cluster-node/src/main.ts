#!/usr/bin/env node
/**
 * One Kommander node as a process: `kommander-node --id 127.0.0.1:7001 --peers 127.0.0.1:7001,127.0.0.1:7002,...`.
 * A Fastify host serves a small key-value API (the application), the read-only admin routes and, with
 * REST, the node-to-node routes; gRPC listens on the --id port instead. Prints one JSON line
 * `{"event":"ready",...}` once joined, and leaves the cluster cleanly on SIGTERM or SIGINT.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { InMemoryWal, RaftManager, RaftOperationStatus, StaticDiscovery, validateNodeAuth, type NodeAuth, type Transport, type Wal } from '@kommander/core';
import { kommanderHttpsOptions, kommanderRoutes, type RaftInbound } from '@kommander/fastify-routes';
import { GrpcTransport } from '@kommander/transport-grpc';
import { RestTransport } from '@kommander/transport-rest';
import { RocksDbWal } from '@kommander/wal-rocksdb';
import { SqliteWal } from '@kommander/wal-sqlite';
import { runLoad } from '@kommander/bench/harness';
import { FsyncFloorWal } from './fsync-floor-wal.js';
import { HopFloorWal } from './hop-floor-wal.js';
import { parseOptions, type NodeOptions } from './options.js';
import { encodePut, KvState } from './state.js';

function createWal(options: NodeOptions): Wal {
  switch (options.wal) {
    case 'memory':
      return new InMemoryWal();
    case 'sqlite':
      return new SqliteWal({ path: join(options.data, 'wal.sqlite'), sync: options.sync });
    case 'rocksdb':
      return new RocksDbWal({ path: join(options.data, 'wal.rocksdb'), sync: options.sync });
    case 'fsync-floor':
      return new FsyncFloorWal(join(options.data, 'fsync-floor.bin'), options.sync);
    case 'hop-floor':
      return new HopFloorWal(options.sync);
  }
}

/** Reads the authentication files and checks the setting, so that a bad one stops the process at start-up. */
function loadAuth(options: NodeOptions): NodeAuth {
  const read = (flag: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`${flag} ${path}: ${(error as Error).message}`);
    }
  };
  switch (options.auth) {
    case 'disabled':
      return { mode: 'disabled' };
    case 'shared-secret':
      return validateNodeAuth({ mode: 'shared-secret', secret: read('--secret-file', options.secretFile).toString('utf8').replace(/\r?\n$/, '') }, '--secret-file (auth)');
    case 'mutual-tls':
      return validateNodeAuth({ mode: 'mutual-tls', ca: read('--tls-ca', options.tlsCa), cert: read('--tls-cert', options.tlsCert), key: read('--tls-key', options.tlsKey) }, '--tls (auth)');
  }
}

/** With gRPC the Raft messages do not arrive over HTTP: the node-to-node route answers 503. */
const NO_HTTP_INBOUND: RaftInbound = { receive: () => false };

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  let raft: RaftManager | undefined;
  const members = (): Iterable<string> => raft?.members() ?? [];
  const state = new KvState();
  const auth = loadAuth(options);
  const rest = options.transport === 'rest' ? new RestTransport({ node: options.id, auth }) : undefined;
  const transport: Transport = rest ?? new GrpcTransport({ node: options.id, members, host: options.host, auth });
  const node = new RaftManager({
    node: options.id,
    initialPartitions: options.partitions,
    wal: createWal(options),
    transport,
    discovery: new StaticDiscovery(options.peers),
    tickMs: options.tickMs,
    syncWal: options.sync,
    syncCommitIndex: options.syncCommit,
    stateTransfer: state,
  });
  raft = node;
  node.onReplicationReceived((partition, log) => state.apply(partition, log));
  node.onLogRestored((partition, log) => state.restore(partition, log));

  // With REST and mutual TLS the Raft routes need an HTTPS host that asks for client certificates.
  // (One FastifyInstance type for both: the routes below do not depend on the server kind.)
  const app: FastifyInstance = rest !== undefined && auth.mode === 'mutual-tls'
    ? (Fastify({ logger: false, https: kommanderHttpsOptions(auth) }) as unknown as FastifyInstance)
    : Fastify({ logger: false });
  await app.register(kommanderRoutes, { node, inbound: rest ?? NO_HTTP_INBOUND, ...(rest === undefined ? {} : { auth }) });
  app.post<{ Params: { key: string }; Body: { value: string } }>(
    '/kv/:key',
    { schema: { body: { type: 'object', required: ['value'], additionalProperties: false, properties: { value: { type: 'string' } } } } },
    async (request, reply) => {
      const { key } = request.params;
      const partition = node.getPartitionKey(key);
      if (!node.amILeaderQuick(partition)) {
        return reply.code(421).send({ error: 'not the leader of this key\'s partition', partition, leader: node.partitionStatus(partition).leader });
      }
      const result = await node.replicateLogs(partition, 'put', encodePut(key, request.body.value));
      if (result.status !== RaftOperationStatus.Success) return reply.code(503).send({ error: result.status, partition });
      return { partition, index: result.lastIndex };
    },
  );
  app.get<{ Params: { key: string } }>('/kv/:key', async (request, reply) => {
    const partition = node.getPartitionKey(request.params.key);
    const value = state.get(partition, request.params.key);
    if (value === undefined) return reply.code(404).send({ error: 'no such key', partition });
    return { partition, value };
  });
  app.get<{ Params: { partition: string } }>('/applied/:partition', async (request, reply) => {
    const partition = Number(request.params.partition);
    if (!node.partitions().includes(partition)) return reply.code(404).send({ error: `no partition ${request.params.partition}` });
    return { partition, sequence: state.sequence(partition), restored: state.restored(partition) };
  });

  // For benchmarks: hand a partition's leadership to another node, and drive load from this node.
  app.post<{ Params: { partition: string }; Body: { to: string } }>(
    '/transfer/:partition',
    { schema: { body: { type: 'object', required: ['to'], additionalProperties: false, properties: { to: { type: 'string' } } } } },
    async (request, reply) => {
      const partition = Number(request.params.partition);
      if (!node.partitions().includes(partition)) return reply.code(404).send({ error: `no partition ${request.params.partition}` });
      if (!options.peers.includes(request.body.to)) return reply.code(400).send({ error: `${request.body.to} is not a member` });
      return { status: await node.transferLeadership(partition, request.body.to) };
    },
  );
  app.post<{ Body: { partitions: number; inflight: number; seconds: number; payloadBytes: number } }>(
    '/bench',
    {
      schema: {
        body: {
          type: 'object',
          required: ['partitions', 'inflight', 'seconds', 'payloadBytes'],
          additionalProperties: false,
          properties: {
            partitions: { type: 'integer', minimum: 1 },
            inflight: { type: 'integer', minimum: 1, maximum: 65536 },
            seconds: { type: 'number', exclusiveMinimum: 0, maximum: 600 },
            payloadBytes: { type: 'integer', minimum: 0, maximum: 1048576 },
          },
        },
      },
    },
    async (request, reply) => {
      const { partitions } = request.body;
      for (let p = 1; p <= partitions; p++) {
        if (!node.amILeaderQuick(p)) return reply.code(409).send({ error: `this node does not lead partition ${p}: move leadership here first (POST /transfer/${p})` });
      }
      return runLoad({ nodes: [node], ...request.body });
    },
  );

  // With REST the routes must listen before the node joins, so that peers reach it at once.
  await app.listen({ host: options.host, port: options.httpPort });
  await node.joinCluster();
  const address = app.server.address();
  const httpPort = typeof address === 'object' && address !== null ? address.port : options.httpPort;
  process.stdout.write(`${JSON.stringify({ event: 'ready', id: options.id, transport: options.transport, wal: options.wal, httpPort, pid: process.pid })}\n`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    node
      .leaveCluster()
      .then(() => app.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
