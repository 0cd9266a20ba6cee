import {
  checkPeerIdentity,
  decodeMessageBatch,
  MESSAGE_BATCH_JSON_SCHEMA,
  RequestVerifier,
  validateNodeAuth,
  type Message,
  type NodeId,
  type PartitionStatus,
} from '@kommander/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { PeerCertificates } from './peer-certificate.js';
import {
  acceptedSchema,
  errorResponses,
  leaderSchema,
  nodeStatusSchema,
  partitionListSchema,
  partitionParamsSchema,
  partitionStatusSchema,
} from './schemas.js';
import type { KommanderNode, KommanderRoutesOptions, RaftInbound } from './types.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The Kommander node the routes serve (the `node` option of `@kommander/fastify-routes`). */
    kommander: KommanderNode;
  }
}

const DEFAULT_BODY_LIMIT = 32 * 1024 * 1024;
const DEFAULT_PREFIX = '/v1/raft';
const PARTITION_PARAM = /^(?:0|[1-9][0-9]{0,15})$/;

/** A 4xx answer with a stable `code`; raised inside handlers and shaped by the scope's error handler. */
class RouteError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  411: 'Length Required',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  421: 'Misdirected Request',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Fastify's own error codes, rewritten to say what to do. */
const FASTIFY_MESSAGES: Readonly<Record<string, (limit: number) => string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (limit) => `the body is larger than the ${limit}-byte limit; send smaller batches or raise the routes' bodyLimit`,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => "unsupported content type; send the batch as 'application/json'",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => 'the Content-Length header does not match the body; send the exact byte length',
};

interface ValidOptions {
  readonly bodyLimit: number;
  readonly prefix: string;
  /** Set when `auth` is in shared-secret mode. */
  readonly verifier: RequestVerifier | null;
  /** Set when `auth` is in mutual-tls mode. */
  readonly certificates: PeerCertificates | null;
  readonly adminAuth: boolean;
}

function validateOptions(options: KommanderRoutesOptions): ValidOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('@kommander/fastify-routes: options must be an object with `node` and `inbound`');
  const { node, inbound } = options;
  if (node === null || typeof node !== 'object' || typeof node.node !== 'string' || typeof node.partitions !== 'function' || typeof node.partitionStatus !== 'function' || typeof node.members !== 'function') {
    throw new TypeError('@kommander/fastify-routes: options.node must be the local node (a RaftManager: node, members(), partitions(), partitionStatus())');
  }
  if (inbound === null || typeof inbound !== 'object' || typeof inbound.receive !== 'function') {
    throw new TypeError('@kommander/fastify-routes: options.inbound must have receive(messages) (the node\'s RestTransport)');
  }
  if (options.members !== undefined && typeof options.members !== 'function') {
    throw new TypeError('@kommander/fastify-routes: options.members must be a function returning the member node ids');
  }
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1024) {
    throw new TypeError(`@kommander/fastify-routes: options.bodyLimit must be an integer number of bytes ≥ 1024, got ${String(bodyLimit)}`);
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || !prefix.startsWith('/') || prefix.endsWith('/')) {
    throw new TypeError(`@kommander/fastify-routes: options.prefix must start with '/' and not end with one, got ${JSON.stringify(prefix)}`);
  }
  const auth = validateNodeAuth(options.auth ?? { mode: 'disabled' }, '@kommander/fastify-routes: options.auth');
  const verifier = auth.mode === 'shared-secret' ? new RequestVerifier(auth.maxSkewMs === undefined ? { secret: auth.secret } : { secret: auth.secret, maxSkewMs: auth.maxSkewMs }) : null;
  const certificates = auth.mode === 'mutual-tls' ? new PeerCertificates(auth) : null;
  const adminAuth = options.adminAuth ?? false;
  if (typeof adminAuth !== 'boolean') throw new TypeError(`@kommander/fastify-routes: options.adminAuth must be a boolean, got ${typeof adminAuth}`);
  if (adminAuth && verifier === null) {
    throw new TypeError(
      certificates === null
        ? "@kommander/fastify-routes: options.adminAuth needs options.auth in 'shared-secret' mode"
        : "@kommander/fastify-routes: options.adminAuth needs options.auth in 'shared-secret' mode; in 'mutual-tls' mode leave it out: the TLS handshake guards the admin endpoints when the server refuses clients without a certificate of the CA (kommanderHttpsOptions sets rejectUnauthorized: true)",
    );
  }
  return { bodyLimit, prefix, verifier, certificates, adminAuth };
}

/** The senders authenticated by the verifier, per request (for the `from` check after decoding). */
type Senders = WeakMap<FastifyRequest, NodeId>;

/** The names of the verified client certificate, per request (for the `from` check after decoding). */
type CertificateNames = WeakMap<FastifyRequest, readonly string[]>;

/** Refuses (401) a request whose connection has no verified certificate of the cluster's CA; records the names it gives. */
function authenticateConnection(certificates: PeerCertificates, names: CertificateNames, request: FastifyRequest): void {
  const result = certificates.check(request.raw.socket);
  if (!result.ok) throw new RouteError(401, 'KOMMANDER_UNAUTHENTICATED', `request refused by node authentication: ${result.reason}`);
  names.set(request, result.names);
}

/**
 * Verifies a request's signature over its raw body; throws 401/403 with what is wrong. Records the
 * authenticated sender.
 */
function authenticate(verifier: RequestVerifier, senders: Senders, request: FastifyRequest, raw: Buffer): void {
  const result = verifier.verify({ method: request.method, path: request.url, headers: request.headers, body: raw });
  if (!result.ok) {
    throw new RouteError(result.status, result.status === 401 ? 'KOMMANDER_UNAUTHENTICATED' : 'KOMMANDER_FORBIDDEN', `request refused by node authentication: ${result.reason}`);
  }
  senders.set(request, result.sender);
}

async function kommanderRoutesPlugin(fastify: FastifyInstance, options: KommanderRoutesOptions): Promise<void> {
  const { bodyLimit, prefix, verifier, certificates, adminAuth } = validateOptions(options);
  // Without a TLS server asking for client certificates, mutual TLS could only fail at every request.
  certificates?.checkServer(fastify.server);
  const { node, inbound } = options;
  const members = options.members ?? (() => node.members());
  fastify.decorate('kommander', node);
  // The routes live in their own encapsulated scope: their content-type parser and error handler never
  // leak into the user's host.
  await fastify.register(
    async (scope) => {
      scope.setErrorHandler((error: FastifyError, _request, reply) => sendError(reply, error, bodyLimit));
      scope.setNotFoundHandler((request, reply) =>
        sendError(reply, new RouteError(404, 'KOMMANDER_NO_ROUTE', `no route ${request.method} ${request.url.split('?')[0] ?? ''}; see the README of @kommander/fastify-routes`), bodyLimit),
      );
      // Only JSON is accepted here: anything else is answered 415 instead of reaching the decoder.
      scope.removeAllContentTypeParsers();
      // The parser keeps the raw bytes: the message route authenticates them (when `auth` is shared-secret)
      // before anything is decoded, then parses them itself (see `decodeBody`).
      scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => {
        done(null, body);
      });
      const senders: Senders = new WeakMap();
      registerMessageRoute(scope, node, inbound, members, { verifier, senders, certificates, names: new WeakMap() });
      registerAdminRoutes(scope, node, adminAuth ? verifier : null, senders);
    },
    { prefix },
  );
}

/**
 * The message route's body, from the raw bytes the parser kept: authenticated first (when `auth` is shared-secret),
 * then parsed. JSON.parse, not secure-json-parse: the decoder reads only known own fields into fresh
 * objects, and refuses `__proto__` as an unknown field.
 */
function decodeBody(request: FastifyRequest, verifier: RequestVerifier | null, senders: Senders): void {
  const raw = Buffer.isBuffer(request.body) ? request.body : null;
  if (verifier !== null) authenticate(verifier, senders, request, raw ?? Buffer.alloc(0));
  if (raw === null) return; // no body at all: the decoder says what is missing
  if (raw.byteLength === 0) throw new RouteError(400, 'KOMMANDER_EMPTY_BODY', 'the body is empty; send a JSON message batch { "from", "messages" }');
  try {
    request.body = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new RouteError(400, 'KOMMANDER_MALFORMED_JSON', `the body is not well-formed JSON (${reason}); send a JSON message batch`);
  }
}

/** How the message route authenticates its sender: at most one of `verifier` and `certificates` is set. */
interface MessageAuth {
  readonly verifier: RequestVerifier | null;
  readonly senders: Senders;
  readonly certificates: PeerCertificates | null;
  readonly names: CertificateNames;
}

function registerMessageRoute(scope: FastifyInstance, node: KommanderNode, inbound: RaftInbound, members: () => Iterable<NodeId>, auth: MessageAuth): void {
  const { verifier, senders, certificates, names } = auth;
  scope.post(
    '/messages',
    {
      // Mutual TLS: the connection is checked before anything of the body is read.
      ...(certificates === null ? {} : { onRequest: async (request: FastifyRequest) => authenticateConnection(certificates, names, request) }),
      // Before validation: shared-secret authentication over the raw body, then JSON parsing.
      preValidation: async (request) => decodeBody(request, verifier, senders),
      schema: {
        description: 'Node-to-node Raft messages: one batch from one sender, for any partitions.',
        body: MESSAGE_BATCH_JSON_SCHEMA,
        response: { 200: acceptedSchema, ...errorResponses },
      },
      // Strict, single-pass validation and decoding with the core's codec, whatever Ajv options the host
      // uses (Fastify's defaults would coerce types and strip unknown fields).
      validatorCompiler: () => (data: unknown) => {
        const result = decodeMessageBatch(data);
        if (result.ok) return { value: result.value };
        return { error: new RouteError(400, 'KOMMANDER_INVALID_BATCH', `invalid message batch: ${result.error.message}`, result.error.path) };
      },
    },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const batch = request.body as { readonly from: NodeId; readonly messages: readonly Message[] };
      const sender = senders.get(request);
      if (verifier !== null && batch.from !== sender) {
        throw new RouteError(403, 'KOMMANDER_SENDER_MISMATCH', `the batch says it is from ${JSON.stringify(batch.from)}, but the request is signed by ${JSON.stringify(sender)}; a node may only send its own batches`, 'from');
      }
      if (certificates !== null) {
        const refusal = checkPeerIdentity(certificates.auth, names.get(request) ?? [], batch.from);
        if (refusal !== undefined) throw new RouteError(403, 'KOMMANDER_SENDER_MISMATCH', `request refused by node authentication: ${refusal}; a node may only send its own batches`, 'from');
      }
      if (!isMember(members, batch.from)) {
        throw new RouteError(403, 'KOMMANDER_NOT_A_MEMBER', `sender ${JSON.stringify(batch.from)} is not a member of this cluster; only members may send Raft messages to ${JSON.stringify(node.node)}`, 'from');
      }
      let known: Set<number> | null = null;
      for (let i = 0; i < batch.messages.length; i++) {
        const m = batch.messages[i]!;
        if (m.to !== node.node) {
          throw new RouteError(421, 'KOMMANDER_WRONG_NODE', `messages[${i}] is addressed to ${JSON.stringify(m.to)}, but this is node ${JSON.stringify(node.node)}; check the sender's peer addresses`, `messages[${i}].to`);
        }
        known ??= new Set(node.partitions());
        if (!known.has(m.partition)) {
          throw new RouteError(404, 'KOMMANDER_UNKNOWN_PARTITION', `messages[${i}] is for partition ${m.partition}, which this node does not host; every node must be configured with the same partitions`, `messages[${i}].partition`);
        }
      }
      if (batch.messages.length > 0 && inbound.receive(batch.messages) === false) {
        throw new RouteError(503, 'KOMMANDER_NOT_STARTED', `node ${JSON.stringify(node.node)} is not accepting messages now (its transport is not started); retry later`);
      }
      return reply.send({ accepted: batch.messages.length });
    },
  );
}

function registerAdminRoutes(scope: FastifyInstance, node: KommanderNode, verifier: RequestVerifier | null, senders: Senders): void {
  // Open unless `adminAuth`: then each GET must be signed (over its body, normally empty).
  const guard = verifier === null ? {} : { preValidation: async (request: FastifyRequest) => authenticate(verifier, senders, request, Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)) };
  const statuses = (): PartitionStatus[] => node.partitions().map((p) => node.partitionStatus(p));
  const onePartition = (request: FastifyRequest): PartitionStatus => {
    const raw = (request.params as { partition: string }).partition;
    if (!PARTITION_PARAM.test(raw) || Number(raw) > Number.MAX_SAFE_INTEGER) {
      throw new RouteError(400, 'KOMMANDER_INVALID_PARTITION', `partition must be a non-negative decimal integer (e.g. /partitions/1), got ${JSON.stringify(raw.slice(0, 40))}`, 'partition');
    }
    const partition = Number(raw);
    if (!node.partitions().includes(partition)) {
      throw new RouteError(404, 'KOMMANDER_UNKNOWN_PARTITION', `partition ${partition} does not exist on this node; GET ${'partitions'} lists them`, 'partition');
    }
    return node.partitionStatus(partition);
  };

  scope.get(
    '/status',
    { ...guard, schema: { description: 'This node: id, members, partition count and the partitions it leads.', response: { 200: nodeStatusSchema, ...errorResponses } } },
    async () => {
      const list = statuses();
      return { node: node.node, members: [...node.members()], partitions: list.length, leaderOf: list.filter((s) => s.leader === node.node).map((s) => s.partition) };
    },
  );
  scope.get(
    '/partitions',
    { ...guard, schema: { description: 'Every partition: role, leader, term, commit and applied indexes.', response: { 200: partitionListSchema, ...errorResponses } } },
    async () => ({ partitions: statuses() }),
  );
  scope.get(
    '/partitions/:partition',
    { ...guard, schema: { description: 'One partition’s status; 404 for an unknown partition.', params: partitionParamsSchema, response: { 200: partitionStatusSchema, ...errorResponses } } },
    async (request) => onePartition(request),
  );
  scope.get(
    '/partitions/:partition/leader',
    { ...guard, schema: { description: 'The leader of one partition as this node knows it; 404 for an unknown partition.', params: partitionParamsSchema, response: { 200: leaderSchema, ...errorResponses } } },
    async (request) => {
      const s = onePartition(request);
      return { partition: s.partition, leader: s.leader, known: s.leader !== '', term: s.term };
    },
  );
}

function isMember(members: () => Iterable<NodeId>, sender: NodeId): boolean {
  const list = members();
  if (Array.isArray(list)) return list.includes(sender);
  if (list instanceof Set) return list.has(sender);
  for (const m of list) if (m === sender) return true;
  return false;
}

function sendError(reply: FastifyReply, error: FastifyError | RouteError, bodyLimit: number): FastifyReply {
  const raw = typeof error.statusCode === 'number' ? error.statusCode : 500;
  const statusCode = raw >= 400 && raw < 600 ? raw : 500;
  const code = typeof error.code === 'string' ? error.code : 'KOMMANDER_ERROR';
  const rewrite = FASTIFY_MESSAGES[code];
  let message = rewrite !== undefined ? rewrite(bodyLimit) : error.message;
  if (statusCode >= 500 && statusCode !== 503) {
    reply.log.error({ err: error }, 'kommander route failed');
    message = 'internal error while handling the request; see the server log';
  }
  const body: Record<string, unknown> = { statusCode, error: STATUS_TEXT[statusCode] ?? 'Error', code, message };
  if (error instanceof RouteError && error.path !== undefined) body.path = error.path;
  return reply.status(statusCode).send(body);
}

/**
 * The Fastify plugin: `await app.register(kommanderRoutes, { node: raft, inbound: transport })` mounts
 * the node-to-node endpoint and the read-only admin endpoints under `/v1/raft/` and decorates the
 * instance with `app.kommander`.
 */
export const kommanderRoutes = fp(kommanderRoutesPlugin, { name: '@kommander/fastify-routes', fastify: '5.x' });
