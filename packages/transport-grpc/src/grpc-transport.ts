import {
  InvalidArgumentError,
  MessageType,
  silentLogger,
  checkOwnIdentity,
  validateNodeAuth,
  type Logger,
  type Message,
  type MessageHandler,
  type NodeId,
  type Transport,
} from '@kommander/core';
import {
  Server,
  status,
  type ChannelOptions,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { createAuthentication, HELLO_PATH, STREAM_PATH, type Authentication, type IncomingCall } from './authentication.js';
import { decodeBatch, encodeBatch, readFrame, type Refusal } from './codec.js';
import { HelloRequest, HelloResponse, RaftTransportServiceService, StreamResponse } from './gen/kommander/transport/v1/transport.js';
import { GRPC_TRANSPORT_DEFAULTS, type GrpcTransportOptions } from './options.js';
import { PeerLink, type Lane, type LinkSettings } from './peer-link.js';
import { newCounters, type GrpcTransportStats } from './stats.js';

const passthrough = (frame: Buffer): Buffer => frame;
/** Node ids travel as gRPC metadata values, which must be printable ASCII. */
const METADATA_SAFE = /^[\x20-\x7e]+$/;

/**
 * The service as this server registers it: requests stay raw bytes, so that each call is verified
 * (authentication, membership, identity) before anything is decoded, and so that an undecodable frame is
 * answered with INVALID_ARGUMENT instead of grpc-js's INTERNAL.
 */
const SERVICE: ServiceDefinition = {
  hello: { ...RaftTransportServiceService.hello, requestDeserialize: passthrough },
  stream: { ...RaftTransportServiceService.stream, requestDeserialize: passthrough },
};

type Verdict = { readonly ok: true; readonly sender: NodeId } | { readonly ok: false; readonly refusal: Refusal };

function splitEndpoint(node: NodeId): { host: string; port: number } | undefined {
  const match = /^(.+):(\d{1,5})$/.exec(node);
  if (match === null) return undefined;
  const port = Number(match[2]);
  if (port > 65535) return undefined;
  return { host: (match[1] as string).replace(/^\[(.*)\]$/, '$1'), port };
}

function check(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InvalidArgumentError(`GrpcTransport: options.${name}`, `must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

/** Snapshot chunks (Snapshot messages carrying entries) travel on the bulk lane, everything else on the main one. */
function isBulk(m: Message): boolean {
  return m.type === MessageType.Snapshot && m.entries.length > 0;
}

/**
 * Kommander's {@link Transport} on gRPC. One server per node; to each peer one long-lived bidirectional
 * stream carries the batches of every partition (one frame per `send`), and a second stream on its own
 * connection carries snapshot chunks so that multi-MiB transfers never delay heartbeats.
 *
 * ```ts
 * const transport = new GrpcTransport({ node: '127.0.0.1:7001', members: () => roster });
 * const raft = new RaftManager({ node: '127.0.0.1:7001', transport, wal, discovery, ... });
 * ```
 *
 * `send` never throws and returns at once; a batch is dropped (and counted in {@link stats}) when it is
 * larger than `maxMessageBytes` or the peer is unreachable. Links reconnect on their own with
 * exponential backoff. The server refuses, with a gRPC status naming the problem, unauthenticated calls
 * and frames (option `auth`), calls from non-members, calls meant for another node and invalid frames;
 * the stream ends, the server keeps serving, and nothing of a refused frame reaches the handler.
 */
export class GrpcTransport implements Transport {
  /** This node's id. */
  readonly node: NodeId;
  /** `node` as UTF-8: what a stream opening to this node is signed over. */
  private readonly nodeBytes: Buffer;
  private readonly members: () => Iterable<NodeId>;
  private readonly host: string;
  private readonly port: number;
  private readonly partitions: number | undefined;
  private readonly maxMessageBytes: number;
  private readonly logger: Logger;
  private readonly auth: Authentication;
  private readonly settings: LinkSettings;
  private readonly counters = newCounters();
  private readonly links = new Map<string, PeerLink>();
  private readonly streams = new Set<ServerDuplexStream<Buffer, StreamResponse>>();
  private handler: MessageHandler | null = null;
  private server: Server | null = null;
  private boundPort = 0;

  constructor(options: GrpcTransportOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('GrpcTransport: options', 'must be an object');
    if (typeof options.node !== 'string' || options.node === '') {
      throw new InvalidArgumentError('GrpcTransport: options.node', `must be a non-empty string (this node's id), got ${String(options.node)}`);
    }
    if (!METADATA_SAFE.test(options.node)) {
      throw new InvalidArgumentError('GrpcTransport: options.node', `must be printable ASCII (it travels in gRPC metadata), got ${JSON.stringify(options.node)}`);
    }
    if (typeof options.members !== 'function') {
      throw new InvalidArgumentError('GrpcTransport: options.members', 'must be a function returning the current member ids');
    }
    const endpoint = splitEndpoint(options.node);
    this.node = options.node;
    this.nodeBytes = Buffer.from(options.node, 'utf8');
    this.members = options.members;
    this.host = options.host ?? endpoint?.host ?? '127.0.0.1';
    this.port = check('port', options.port, endpoint?.port ?? 0, 0);
    if (this.port > 65535) throw new InvalidArgumentError('GrpcTransport: options.port', `must be at most 65535, got ${this.port}`);
    this.partitions = options.partitions === undefined ? undefined : check('partitions', options.partitions, 0, 1);
    this.maxMessageBytes = check('maxMessageBytes', options.maxMessageBytes, GRPC_TRANSPORT_DEFAULTS.maxMessageBytes, 1024);
    const reconnectMinMs = check('reconnectMinMs', options.reconnectMinMs, GRPC_TRANSPORT_DEFAULTS.reconnectMinMs, 1);
    const reconnectMaxMs = check('reconnectMaxMs', options.reconnectMaxMs, Math.max(reconnectMinMs, GRPC_TRANSPORT_DEFAULTS.reconnectMaxMs), reconnectMinMs);
    const keepaliveMs = check('keepaliveMs', options.keepaliveMs, GRPC_TRANSPORT_DEFAULTS.keepaliveMs, 1000);
    if (options.resolve !== undefined && typeof options.resolve !== 'function') {
      throw new InvalidArgumentError('GrpcTransport: options.resolve', 'must be a function (peer id) => "host:port"');
    }
    this.logger = (options.logger ?? silentLogger).child({ transport: 'grpc', node: options.node });
    const auth = validateNodeAuth(options.auth ?? { mode: 'disabled' }, 'GrpcTransport: options.auth');
    checkOwnIdentity(auth, options.node, 'GrpcTransport: options.auth');
    this.auth = createAuthentication(auth, options.node, 'GrpcTransport: options.auth');
    const channelOptions: ChannelOptions = {
      'grpc.max_send_message_length': this.maxMessageBytes,
      'grpc.max_receive_message_length': this.maxMessageBytes,
      'grpc.initial_reconnect_backoff_ms': reconnectMinMs,
      'grpc.max_reconnect_backoff_ms': reconnectMaxMs,
      // Each link gets its own connection: the bulk lane must not share the main lane's TCP stream.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.keepalive_time_ms': keepaliveMs,
      'grpc.keepalive_timeout_ms': Math.max(1000, Math.floor(keepaliveMs / 2)),
    };
    this.settings = {
      self: options.node,
      resolve: options.resolve ?? ((peer) => peer),
      maxMessageBytes: this.maxMessageBytes,
      callTimeoutMs: check('callTimeoutMs', options.callTimeoutMs, GRPC_TRANSPORT_DEFAULTS.callTimeoutMs, 1),
      reconnectMinMs,
      reconnectMaxMs,
      maxQueuedBytes: check('maxQueuedBytes', options.maxQueuedBytes, GRPC_TRANSPORT_DEFAULTS.maxQueuedBytes, 0),
      channelOptions,
      auth: this.auth,
      logger: this.logger,
      counters: this.counters,
    };
  }

  /** Starts the server. Rejects when the port cannot be bound or the transport already runs. */
  async start(handler: MessageHandler): Promise<void> {
    if (typeof handler !== 'function') throw new InvalidArgumentError('GrpcTransport.start: handler', 'must be a function');
    if (this.server !== null) throw new Error(`GrpcTransport.start: node "${this.node}" is already started; stop it first`);
    const server = new Server({
      'grpc.max_send_message_length': this.maxMessageBytes,
      'grpc.max_receive_message_length': this.maxMessageBytes,
    });
    server.addService(SERVICE, { hello: this.onHello, stream: this.onStream });
    this.server = server;
    const target = `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
    try {
      this.boundPort = await new Promise<number>((resolve, reject) => {
        server.bindAsync(target, this.auth.serverCredentials, (error, port) => (error === null ? resolve(port) : reject(error)));
      });
    } catch (error) {
      this.server = null;
      server.forceShutdown();
      throw new Error(`GrpcTransport.start: cannot listen on ${target}: ${(error as Error).message}`);
    }
    this.handler = handler;
  }

  /** The `host:port` the server listens on; only after `start` resolved. */
  address(): string {
    if (this.server === null) throw new Error(`GrpcTransport.address: node "${this.node}" is not started`);
    return `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.boundPort}`;
  }

  /** Sends one batch to `peer` as one frame (snapshot chunks as a second frame on the bulk lane). Never throws; drops when not started. */
  send(peer: NodeId, messages: readonly Message[]): void {
    if (this.handler === null || messages.length === 0) return;
    let main: Message[] | readonly Message[] = messages;
    let bulk: Message[] = [];
    if (messages.some(isBulk)) {
      main = messages.filter((m) => !isBulk(m));
      bulk = messages.filter(isBulk);
    }
    if (main.length > 0) this.sendOn(peer, 'main', main);
    if (bulk.length > 0) this.sendOn(peer, 'bulk', bulk);
  }

  private sendOn(peer: NodeId, lane: Lane, messages: readonly Message[]): void {
    if (!METADATA_SAFE.test(peer)) {
      this.counters.framesDropped += 1;
      this.logger.error({ peer }, 'dropped a batch for a peer whose id is not printable ASCII (it cannot travel in gRPC metadata); use endpoint-like ids');
      return;
    }
    let batch: Uint8Array;
    try {
      batch = encodeBatch(messages);
    } catch (error) {
      this.counters.framesDropped += 1;
      this.logger.error({ peer, error: (error as Error).message }, 'dropped a batch that cannot be encoded (a number is not an integer)');
      return;
    }
    const key = `${lane}\u0000${peer}`;
    let link = this.links.get(key);
    if (link === undefined) {
      link = new PeerLink(peer, lane, this.settings);
      this.links.set(key, link);
    }
    link.send(batch, messages.length);
  }

  /** Stops sending and receiving: the handler is never called once this resolves. Stopping a stopped transport does nothing. */
  async stop(): Promise<void> {
    this.handler = null;
    for (const link of this.links.values()) link.close();
    this.links.clear();
    const server = this.server;
    this.server = null;
    if (server === null) return;
    for (const call of this.streams) call.destroy();
    this.streams.clear();
    server.forceShutdown();
  }

  /** Counters since creation. */
  stats(): GrpcTransportStats {
    return { ...this.counters };
  }

  private isMember(node: NodeId): boolean {
    for (const member of this.members()) if (member === node) return true;
    return false;
  }

  /**
   * Verifies a call from its metadata (and, under shared-secret authentication, the signature over its
   * raw body; under mutual TLS, the client certificate) before any body is decoded.
   */
  private verifyCall(call: IncomingCall, path: string, body: Uint8Array): Verdict {
    const from = call.metadata.get('kommander-from')[0];
    const to = call.metadata.get('kommander-to')[0];
    if (typeof from !== 'string' || from === '') {
      return { ok: false, refusal: { code: status.INVALID_ARGUMENT, details: 'the call has no kommander-from metadata: name the calling node in it' } };
    }
    if (typeof to !== 'string' || to === '') {
      return { ok: false, refusal: { code: status.INVALID_ARGUMENT, details: 'the call has no kommander-to metadata: name the node you mean to reach in it' } };
    }
    const denied = this.auth.verifyCall(call, path, body, from);
    if (denied !== undefined) return { ok: false, refusal: denied };
    if (to !== this.node) {
      return {
        ok: false,
        refusal: {
          code: status.FAILED_PRECONDITION,
          details: `this node is ${JSON.stringify(this.node)}, not ${JSON.stringify(to.slice(0, 100))}: check the caller's address of that node`,
        },
      };
    }
    if (!this.isMember(from)) return { ok: false, refusal: this.notMember(from) };
    return { ok: true, sender: from };
  }

  private notMember(from: NodeId): Refusal {
    return {
      code: status.PERMISSION_DENIED,
      details: `node ${JSON.stringify(from.slice(0, 100))} is not a member of this cluster; only members may send Raft messages`,
    };
  }

  private refuse(where: string, refusal: Refusal): void {
    this.counters.refused += 1;
    this.logger.warn({ code: status[refusal.code], details: refusal.details }, `refused ${where}`);
  }

  private readonly onHello = (call: ServerUnaryCall<Buffer, HelloResponse>, callback: sendUnaryData<HelloResponse>): void => {
    const verdict = this.verifyCall(call, HELLO_PATH, call.request);
    if (!verdict.ok) {
      this.refuse('a Hello', verdict.refusal);
      callback(verdict.refusal);
      return;
    }
    let request: HelloRequest;
    try {
      request = HelloRequest.decode(call.request);
    } catch (error) {
      const refusal = { code: status.INVALID_ARGUMENT, details: `the body is not a valid kommander.transport.v1.HelloRequest (${(error as Error).message})` };
      this.refuse('a Hello', refusal);
      callback(refusal);
      return;
    }
    if (request.from !== verdict.sender || request.to !== this.node) {
      const refusal = {
        code: status.INVALID_ARGUMENT,
        details: `the HelloRequest names from=${JSON.stringify(request.from.slice(0, 100))}, to=${JSON.stringify(request.to.slice(0, 100))} but the metadata names ${JSON.stringify(verdict.sender)} → ${JSON.stringify(this.node)}: they must agree`,
      };
      this.refuse('a Hello', refusal);
      callback(refusal);
      return;
    }
    if (this.handler === null) {
      callback({ code: status.UNAVAILABLE, details: `node ${JSON.stringify(this.node)} is stopping; retry later` });
      return;
    }
    callback(null, { node: this.node, maxMessageBytes: this.maxMessageBytes });
  };

  private readonly onStream = (call: ServerDuplexStream<Buffer, StreamResponse>): void => {
    // A stream opening is signed over the callee's id, so it cannot be replayed to another node.
    const verdict = this.verifyCall(call, STREAM_PATH, this.nodeBytes);
    if (!verdict.ok) {
      this.refuse('a stream', verdict.refusal);
      call.emit('error', verdict.refusal);
      return;
    }
    const context = { sender: verdict.sender, self: this.node, partitions: this.partitions };
    const checkFrame = this.auth.frameCheck(verdict.sender);
    let ended = false;
    const end = (refusal: Refusal | null): void => {
      if (ended) return;
      ended = true;
      this.streams.delete(call);
      if (refusal === null) call.end();
      else call.emit('error', refusal);
    };
    const refuseFrame = (refusal: Refusal): void => {
      this.refuse(`a frame from ${context.sender}`, refusal);
      end(refusal);
    };
    this.streams.add(call);
    call.on('data', (frame: Buffer) => {
      if (ended) return;
      const handler = this.handler;
      if (handler === null) {
        end({ code: status.UNAVAILABLE, details: `node ${JSON.stringify(this.node)} is stopping; reconnect later` });
        return;
      }
      // Membership may change while a stream lives: checked again for every frame.
      if (!this.isMember(context.sender)) {
        refuseFrame(this.notMember(context.sender));
        return;
      }
      // The signature covers the batch bytes: checked before a single message is decoded.
      const opened = readFrame(frame);
      if (!opened.ok) {
        refuseFrame(opened.refusal);
        return;
      }
      const denied = checkFrame(opened.batch, opened.auth);
      if (denied !== undefined) {
        refuseFrame(denied);
        return;
      }
      const result = decodeBatch(opened.batch, context);
      if (!result.ok) {
        refuseFrame(result.refusal);
        return;
      }
      this.counters.framesReceived += 1;
      this.counters.messagesReceived += result.messages.length;
      try {
        handler(result.messages);
      } catch (error) {
        this.logger.error({ from: context.sender, error: (error as Error).message }, 'the message handler threw; the batch is lost, the stream goes on');
      }
    });
    call.on('end', () => end(null));
    call.on('cancelled', () => {
      ended = true;
      this.streams.delete(call);
    });
  };
}
