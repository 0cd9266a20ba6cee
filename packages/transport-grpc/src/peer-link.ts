import type { Logger, NodeId } from '@kommander/core';
import { Client, Metadata, status, type ChannelOptions, type ClientDuplexStream, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { HELLO_PATH, STREAM_PATH, type Authentication } from './authentication.js';
import { HelloRequest, HelloResponse, RaftTransportServiceService, StreamResponse } from './gen/kommander/transport/v1/transport.js';
import type { TransportCounters } from './stats.js';

/** Which stream of a peer a frame travels on. */
export type Lane = 'main' | 'bulk';

/** What every link of one transport shares. */
export interface LinkSettings {
  readonly self: NodeId;
  readonly resolve: (peer: NodeId) => string | undefined;
  readonly maxMessageBytes: number;
  readonly callTimeoutMs: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly maxQueuedBytes: number;
  readonly channelOptions: ChannelOptions;
  readonly auth: Authentication;
  readonly logger: Logger;
  readonly counters: TransportCounters;
}

type State = 'idle' | 'connecting' | 'open' | 'backoff' | 'closed';

const passthrough = (frame: Buffer): Buffer => frame;

/**
 * Statuses of a peer that refused us (authentication, membership, identity, a bad frame): worth a warning,
 * unlike a peer that is merely down.
 */
const REFUSALS = new Set([status.UNAUTHENTICATED, status.PERMISSION_DENIED, status.INVALID_ARGUMENT, status.FAILED_PRECONDITION]);

/** How grpc-js reports a failed check of the server's certificate (chain, host name, our node-id check). */
const CERTIFICATE_FAILURE = /certificate|SSL|TLS|handshake|altnames|self[- ]signed|unable to (get|verify)/i;

/**
 * The warning for a failed Hello that needs an operator (a refusal, a certificate problem), or undefined
 * for a peer that is merely unreachable (logged at debug like any reconnection).
 */
function connectProblem(mode: Authentication['mode'], error: ServiceError): string | undefined {
  if (REFUSALS.has(error.code)) {
    return 'the peer refused this node; check that both use the same auth (the same secret, or certificates of the same CA naming their node ids) and that each lists the other as a member';
  }
  if (error.code !== status.UNAVAILABLE) return undefined;
  if (CERTIFICATE_FAILURE.test(error.details)) {
    return "the peer's certificate was refused; check that it is issued by this node's CA and valid for the address this node dials (resolve), and that it names the peer's node id";
  }
  // grpc-js reports a connection closed during set-up, after TCP connected, this way: under mutual TLS
  // that is the peer refusing this node's certificate.
  if (mode === 'mutual-tls' && error.details.includes('Failed to connect')) {
    return "the peer closed the connection during the TLS handshake, most likely refusing this node's certificate; check that it is issued by the CA the peer trusts";
  }
  return undefined;
}

/**
 * The sending side of one lane to one peer: a gRPC channel of its own (so the bulk lane never shares a
 * TCP connection, nor its flow-control window, with the main lane), a `Hello` under a deadline, then one
 * long-lived `Stream`.
 *
 * States: idle → (first frame) connecting → open; any failure → backoff (frames are dropped: Raft resends)
 * → idle. Frames sent while connecting wait in a bounded queue and go out in order once the stream opens.
 * The backoff doubles from `reconnectMinMs` to `reconnectMaxMs` with ±20 % jitter and resets after a
 * successful Hello.
 */
export class PeerLink {
  private state: State = 'idle';
  private client: Client | null = null;
  private clientAddress = '';
  private call: ClientDuplexStream<Buffer, StreamResponse> | null = null;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The smaller of our limit and the one the peer announced in Hello. */
  private frameLimit: number;

  constructor(
    readonly peer: NodeId,
    readonly lane: Lane,
    private readonly settings: LinkSettings,
  ) {
    this.frameLimit = settings.maxMessageBytes;
  }

  /** Seals one encoded batch into a frame (signed under shared-secret authentication) and queues or writes it; never throws. */
  send(batch: Uint8Array, messages: number): void {
    const { counters, logger } = this.settings;
    if (this.state === 'closed') return;
    if (this.state === 'backoff') {
      this.drop('the peer is unreachable and the link waits before reconnecting', messages);
      return;
    }
    // Signed now, not when the stream opens: a frame waits for the connection at most callTimeoutMs.
    const sealed = this.settings.auth.seal(batch);
    const frame = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (frame.length > this.frameLimit) {
      counters.framesDropped += 1;
      logger.warn(
        { peer: this.peer, lane: this.lane, bytes: frame.length, maxMessageBytes: this.frameLimit, messages },
        'dropped a batch larger than the message size limit; split it into smaller sends or raise maxMessageBytes on every node',
      );
      return;
    }
    switch (this.state) {
      case 'open': {
        const call = this.call!;
        if (call.writableLength > this.settings.maxQueuedBytes) {
          this.drop('the stream is not draining (the peer reads too slowly)', messages);
          return;
        }
        call.write(frame);
        counters.framesSent += 1;
        return;
      }
      case 'idle':
        this.enqueue(frame, messages);
        this.connect();
        return;
      case 'connecting':
        this.enqueue(frame, messages);
        return;
    }
  }

  close(): void {
    this.state = 'closed';
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.queuedBytes = 0;
    this.call?.cancel();
    this.call = null;
    this.client?.close();
    this.client = null;
  }

  private drop(reason: string, messages: number): void {
    this.settings.counters.framesDropped += 1;
    this.settings.logger.debug({ peer: this.peer, lane: this.lane, messages }, `dropped a batch: ${reason}`);
  }

  private enqueue(frame: Buffer, messages: number): void {
    if (this.queuedBytes + frame.length > this.settings.maxQueuedBytes) {
      this.drop('too many bytes wait for the connection', messages);
      return;
    }
    this.queue.push(frame);
    this.queuedBytes += frame.length;
  }

  /** The metadata of a call to `path` whose request is `body`: who calls whom, and its authentication. */
  private metadata(path: string, body: Uint8Array): Metadata {
    const metadata = new Metadata();
    metadata.set('kommander-from', this.settings.self);
    metadata.set('kommander-to', this.peer);
    this.settings.auth.signCall(metadata, path, body);
    return metadata;
  }

  private connect(): void {
    const { resolve, callTimeoutMs, channelOptions } = this.settings;
    this.state = 'connecting';
    let address: string | undefined;
    try {
      address = resolve(this.peer);
    } catch (error) {
      this.fail(`resolve(${JSON.stringify(this.peer)}) threw: ${(error as Error).message}`);
      return;
    }
    if (address === undefined || address === '') {
      this.fail(`no address for peer ${JSON.stringify(this.peer)}; pass it in the transport's resolve option`);
      return;
    }
    if (this.client === null || this.clientAddress !== address) {
      this.client?.close();
      this.client = new Client(address, this.settings.auth.channelCredentials(this.peer), channelOptions);
      this.clientAddress = address;
    }
    const client = this.client;
    // Serialised here, so that the signature covers exactly the bytes sent.
    const body = Buffer.from(HelloRequest.encode({ from: this.settings.self, to: this.peer }).finish());
    client.makeUnaryRequest(
      HELLO_PATH,
      passthrough,
      RaftTransportServiceService.hello.responseDeserialize,
      body,
      this.metadata(HELLO_PATH, body),
      { deadline: Date.now() + callTimeoutMs },
      (error: ServiceError | null, response?: HelloResponse) => {
        if (this.state !== 'connecting' || this.client !== client) return;
        if (error !== null) {
          const problem = connectProblem(this.settings.auth.mode, error);
          if (problem !== undefined) this.settings.logger.warn({ peer: this.peer, lane: this.lane, address, code: status[error.code], details: error.details }, problem);
          this.fail(`Hello failed: ${status[error.code]}: ${error.details}`);
          return;
        }
        if (response === undefined) {
          this.fail('Hello failed: no response');
          return;
        }
        if (response.node !== this.peer) {
          this.fail(`the node at ${address} is ${JSON.stringify(response.node)}, not ${JSON.stringify(this.peer)}; check resolve`);
          return;
        }
        if (response.maxMessageBytes > 0) this.frameLimit = Math.min(this.settings.maxMessageBytes, response.maxMessageBytes);
        this.open(client);
      },
    );
  }

  private open(client: Client): void {
    const call = client.makeBidiStreamRequest(STREAM_PATH, passthrough, RaftTransportServiceService.stream.responseDeserialize, this.metadata(STREAM_PATH, Buffer.from(this.peer, 'utf8')));
    call.on('data', () => {});
    // Every end of the call, ours or the peer's, arrives as one `status` event; `error` repeats it.
    call.on('error', () => {});
    call.on('status', (s: StatusObject) => {
      if (this.call !== call) return;
      this.call = null;
      if (REFUSALS.has(s.code)) {
        this.settings.logger.warn({ peer: this.peer, lane: this.lane, code: status[s.code], details: s.details }, 'the peer refused a batch');
      }
      this.fail(`the stream ended: ${status[s.code]}: ${s.details}`);
    });
    this.call = call;
    this.state = 'open';
    this.failures = 0;
    this.settings.counters.connections += 1;
    const queued = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const frame of queued) {
      call.write(frame);
      this.settings.counters.framesSent += 1;
    }
  }

  private fail(reason: string): void {
    if (this.state === 'closed') return;
    const { reconnectMinMs, reconnectMaxMs, counters, logger } = this.settings;
    const lost = this.queue.length;
    counters.framesDropped += lost;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.call !== null) {
      const call = this.call;
      this.call = null;
      call.cancel();
    }
    const base = Math.min(reconnectMaxMs, reconnectMinMs * 2 ** Math.min(this.failures, 30));
    const delay = Math.min(reconnectMaxMs, Math.round(base * (0.8 + Math.random() * 0.4)));
    this.failures += 1;
    counters.connectFailures += 1;
    logger.debug({ peer: this.peer, lane: this.lane, retryInMs: delay, droppedBatches: lost }, `link to peer down: ${reason}`);
    this.state = 'backoff';
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.state === 'backoff') this.state = 'idle';
    }, delay);
    this.timer.unref();
  }
}
