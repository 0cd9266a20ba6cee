import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import {
  checkOwnIdentity,
  encodeMessageJson,
  joinMessageBatchJson,
  nodeTlsOptions,
  signRequest,
  silentLogger,
  validateNodeAuth,
  type Logger,
  type Message,
  type MessageHandler,
  type NodeAuth,
  type NodeId,
  type NodeTlsOptions,
  type Transport,
} from '@kommander/core';
import { describeTlsFailure } from './tls-failure.js';

/** Options of {@link RestTransport}. */
export interface RestTransportOptions {
  /** This node's id, sent as the batch's sender. Required. */
  readonly node: NodeId;
  /**
   * The base URL of `peer` (scheme, host, port, optional path), e.g. `http://10.0.0.2:7001`. Default:
   * `http://${peer}` (`https://${peer}` with `auth` in `mutual-tls` mode), since Kommander uses the node's
   * endpoint as its id. In `mutual-tls` mode it must return `https://` URLs, and the host in it is the
   * name the peer's certificate is checked against.
   */
  readonly resolve?: (peer: NodeId) => string;
  /** Where the peers mounted `@kommander/fastify-routes`, appended to the base URL. Default `'/v1/raft'`. */
  readonly pathPrefix?: string;
  /** A request not answered within this many milliseconds is aborted and counts as a failure. Default 5000. */
  readonly requestTimeoutMs?: number;
  /**
   * Largest request body in bytes (UTF-8 JSON). Queued sends are merged up to this size; a single message
   * larger than it is dropped and reported. Keep it at or below the peers' `bodyLimit`. Default 16 MiB.
   */
  readonly maxBatchBytes?: number;
  /** Bytes of encoded messages queued per peer while a request is in flight; beyond it new sends are dropped. Default 64 MiB. */
  readonly maxQueuedBytes?: number;
  /** First pause after a failed request to a peer, in milliseconds; doubles per failure. Default 50. */
  readonly initialBackoffMs?: number;
  /** Longest pause between attempts to a peer that keeps failing. Default 1000. */
  readonly maxBackoffMs?: number;
  /** Called for each dropped batch with the peer and why (unreachable, timeout, TLS failure, 4xx answer, too large). Default: none. */
  readonly onError?: (peer: NodeId, error: Error) => void;
  /**
   * Receives a warning for every failed request that points at a misconfiguration (a TLS failure, a 4xx
   * answer) and a debug line for the others (unreachable, timeout, 5xx). Default: silent.
   */
  readonly logger?: Logger;
  /**
   * Node authentication. Default `{ mode: 'disabled' }`. Checked in the constructor (`InvalidArgumentError`).
   *
   * With `{ mode: 'shared-secret', secret }` every request is signed (HMAC-SHA256 over method, path, sender,
   * timestamp, nonce and the SHA-256 of the exact body bytes); the peers' routes must be registered with
   * the same secret.
   *
   * With `{ mode: 'mutual-tls', ca, cert, key, peerIdentity? }` every request goes over HTTPS presenting
   * `cert`, and the peer's certificate must chain to `ca` and name the host dialled; the peers' routes must
   * be registered with the same mode on an HTTPS host (`kommanderHttpsOptions` of
   * `@kommander/fastify-routes`). The CA, certificate and key are checked here: unreadable, mismatched,
   * expired or not issued by `ca` throws.
   */
  readonly auth?: NodeAuth;
}

/** Counters of {@link RestTransport.stats} since the transport was created. */
export interface RestTransportStats {
  readonly requests: number;
  readonly messagesSent: number;
  readonly messagesDropped: number;
  readonly messagesReceived: number;
  readonly failures: number;
}

interface Peer {
  readonly id: NodeId;
  readonly url: URL;
  /** Encoded messages waiting for the next request, oldest first. */
  queue: string[];
  queueBytes: number;
  inFlight: ClientRequest | null;
  /** Consecutive failures; 0 while healthy. */
  failures: number;
  /** While set, the peer is considered down: sends are dropped until the timer fires. */
  backoff: ReturnType<typeof setTimeout> | null;
}

const BATCH_OVERHEAD = 64;

/**
 * Kommander's {@link Transport} over HTTP: each batch is POSTed as JSON to the peer's
 * `@kommander/fastify-routes` endpoint (`<base URL><pathPrefix>/messages`) on a keep-alive connection.
 *
 * Per peer there is at most one request in flight; messages sent meanwhile are queued and go together
 * in the next request (which keeps them in send order). A failed request (connection refused or reset,
 * TLS failure, timeout, non-2xx answer) drops its batch (Raft resends) and puts the peer in backoff: sends to it are
 * dropped for 50 ms, 100 ms, … up to 1 s, then the next send tries again. `send` never throws for a
 * peer and returns at once.
 *
 * The receiving side: register `@kommander/fastify-routes` with `inbound: transport`; the routes hand
 * every valid batch to {@link RestTransport.receive}, which passes it to the handler given to `start`.
 */
export class RestTransport implements Transport {
  readonly node: NodeId;
  private readonly resolve: (peer: NodeId) => string;
  private readonly path: string;
  private readonly requestTimeoutMs: number;
  private readonly maxBatchBytes: number;
  private readonly maxQueuedBytes: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly onError: ((peer: NodeId, error: Error) => void) | undefined;
  private readonly logger: Logger;
  private readonly auth: NodeAuth;
  /** Set in `mutual-tls` mode: the agent's CA, certificate and key. */
  private readonly tls: NodeTlsOptions | null;
  private readonly peers = new Map<NodeId, Peer>();
  private handler: MessageHandler | null = null;
  private httpAgent: HttpAgent | null = null;
  private httpsAgent: HttpsAgent | null = null;
  private counters = { requests: 0, messagesSent: 0, messagesDropped: 0, messagesReceived: 0, failures: 0 };

  constructor(options: RestTransportOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('RestTransport: options must be an object with at least `node`');
    if (typeof options.node !== 'string' || options.node === '') throw new TypeError(`RestTransport: options.node must be a non-empty string (this node's id), got ${JSON.stringify(options.node)}`);
    if (options.resolve !== undefined && typeof options.resolve !== 'function') throw new TypeError('RestTransport: options.resolve must be a function (peer) => base URL');
    const prefix = options.pathPrefix ?? '/v1/raft';
    if (typeof prefix !== 'string' || (prefix !== '' && (!prefix.startsWith('/') || prefix.endsWith('/')))) {
      throw new TypeError(`RestTransport: options.pathPrefix must be '' or start with '/' and not end with one, got ${JSON.stringify(prefix)}`);
    }
    this.node = options.node;
    this.path = `${prefix}/messages`;
    this.requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs ?? 5000);
    this.maxBatchBytes = positive('maxBatchBytes', options.maxBatchBytes ?? 16 * 1024 * 1024);
    this.maxQueuedBytes = positive('maxQueuedBytes', options.maxQueuedBytes ?? 64 * 1024 * 1024);
    this.initialBackoffMs = positive('initialBackoffMs', options.initialBackoffMs ?? 50);
    this.maxBackoffMs = positive('maxBackoffMs', options.maxBackoffMs ?? 1000);
    if (this.maxBackoffMs < this.initialBackoffMs) throw new TypeError('RestTransport: options.maxBackoffMs must be ≥ initialBackoffMs');
    if (options.onError !== undefined && typeof options.onError !== 'function') throw new TypeError('RestTransport: options.onError must be a function');
    this.onError = options.onError;
    if (options.logger !== undefined && (options.logger === null || typeof options.logger.child !== 'function')) {
      throw new TypeError('RestTransport: options.logger must be a pino-compatible logger (trace … fatal and child())');
    }
    this.logger = (options.logger ?? silentLogger).child({ transport: 'rest', node: options.node });
    this.auth = validateNodeAuth(options.auth ?? { mode: 'disabled' }, 'RestTransport: options.auth');
    checkOwnIdentity(this.auth, options.node, 'RestTransport: options.auth');
    // The node id goes into a header when signing: fail now, not at the first request.
    if (this.auth.mode === 'shared-secret') signRequest({ secret: this.auth.secret, method: 'POST', path: this.path, sender: this.node, body: '' });
    this.tls = this.auth.mode === 'mutual-tls' ? nodeTlsOptions(this.auth, 'RestTransport: options.auth') : null;
    const scheme = this.tls === null ? 'http' : 'https';
    this.resolve = options.resolve ?? ((peer) => `${scheme}://${peer}`);
  }

  async start(handler: MessageHandler): Promise<void> {
    if (typeof handler !== 'function') throw new TypeError('RestTransport.start: handler must be a function');
    if (this.handler !== null) throw new Error(`RestTransport.start: node ${JSON.stringify(this.node)} is already started`);
    this.handler = handler;
    this.httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const tls = this.tls;
    // In mutual-tls mode: present this node's certificate, trust only the cluster's CA; the agent's default
    // checkServerIdentity checks the peer's certificate against the host of the URL.
    this.httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 1, ...(tls === null ? {} : { ca: tls.ca, cert: tls.cert, key: tls.key, minVersion: tls.minVersion, rejectUnauthorized: true }) });
  }

  send(peer: NodeId, messages: readonly Message[]): void {
    if (this.handler === null || messages.length === 0) return;
    const p = this.peer(peer);
    if (p instanceof Error) {
      this.drop(peer, messages.length, p);
      return;
    }
    if (p.backoff !== null) {
      this.counters.messagesDropped += messages.length;
      return;
    }
    for (let i = 0; i < messages.length; i++) {
      const encoded = encodeMessageJson(messages[i]!);
      const bytes = Buffer.byteLength(encoded);
      if (bytes + BATCH_OVERHEAD + Buffer.byteLength(this.node) > this.maxBatchBytes) {
        this.drop(peer, 1, new Error(`a ${bytes}-byte message for partition ${messages[i]!.partition} exceeds maxBatchBytes (${this.maxBatchBytes}); it was dropped`));
        continue;
      }
      if (p.queueBytes + bytes > this.maxQueuedBytes) {
        this.drop(peer, messages.length - i, new Error(`the queue for ${peer} is full (${this.maxQueuedBytes} bytes); messages were dropped`));
        break;
      }
      p.queue.push(encoded);
      p.queueBytes += bytes;
    }
    if (p.inFlight === null) this.flush(p);
  }

  async stop(): Promise<void> {
    this.handler = null;
    for (const p of this.peers.values()) {
      if (p.backoff !== null) clearTimeout(p.backoff);
      p.backoff = null;
      p.queue = [];
      p.queueBytes = 0;
      const req = p.inFlight;
      p.inFlight = null;
      req?.destroy();
    }
    this.peers.clear();
    this.httpAgent?.destroy();
    this.httpsAgent?.destroy();
    this.httpAgent = null;
    this.httpsAgent = null;
  }

  /**
   * Hands a batch received by `@kommander/fastify-routes` to the handler. Returns false (the route then
   * answers 503) when the transport is not started.
   */
  receive(messages: readonly Message[]): boolean {
    const handler = this.handler;
    if (handler === null) return false;
    this.counters.messagesReceived += messages.length;
    handler(messages);
    return true;
  }

  stats(): RestTransportStats {
    return { ...this.counters };
  }

  /** The peer's state, or why it cannot be reached (not cached: the next send resolves again). */
  private peer(id: NodeId): Peer | Error {
    const known = this.peers.get(id);
    if (known !== undefined) return known;
    let url: URL;
    try {
      url = new URL(`${this.resolve(id).replace(/\/+$/, '')}${this.path}`);
    } catch {
      return new Error(`cannot resolve peer ${JSON.stringify(id)} to a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return new Error(`cannot resolve peer ${JSON.stringify(id)} to a URL`);
    if (this.tls !== null && url.protocol !== 'https:') {
      return new Error(`peer ${JSON.stringify(id)} resolves to ${url.origin}, but auth is 'mutual-tls': resolve() must return https:// URLs`);
    }
    const p: Peer = { id, url, queue: [], queueBytes: 0, inFlight: null, failures: 0, backoff: null };
    this.peers.set(id, p);
    return p;
  }

  private flush(p: Peer, retryOfStale = false, resend?: { body: string; count: number }): void {
    let body: string;
    let count: number;
    if (resend !== undefined) {
      ({ body, count } = resend);
    } else {
      if (p.queue.length === 0) return;
      const budget = this.maxBatchBytes - BATCH_OVERHEAD - Buffer.byteLength(this.node);
      let bytes = 0;
      count = 0;
      while (count < p.queue.length) {
        const next = Buffer.byteLength(p.queue[count]!) + 1;
        if (count > 0 && bytes + next > budget) break;
        bytes += next;
        count++;
      }
      const taken = p.queue.length === count ? p.queue : p.queue.slice(0, count);
      p.queue = p.queue.length === count ? [] : p.queue.slice(count);
      p.queueBytes = Math.max(0, p.queueBytes - bytes + count);
      body = joinMessageBatchJson(this.node, taken);
    }
    const https = p.url.protocol === 'https:';
    const agent = https ? this.httpsAgent : this.httpAgent;
    if (agent === null) return;
    this.counters.requests += 1;
    const bytes = Buffer.from(body, 'utf8');
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': bytes.byteLength };
    if (this.auth.mode === 'shared-secret') {
      // Signed over the exact bytes sent and the exact request target; a resend gets a fresh nonce.
      Object.assign(headers, signRequest({ secret: this.auth.secret, method: 'POST', path: `${p.url.pathname}${p.url.search}`, sender: this.node, body: bytes }));
    }
    const options = { method: 'POST', agent, headers };
    const req = https ? httpsRequest(p.url, options) : httpRequest(p.url, options);
    p.inFlight = req;
    let settled = false;
    /** The answer's status code; 0 until one arrives. */
    let status = 0;
    const timer = setTimeout(() => req.destroy(new Error(`no answer from ${p.id} within ${this.requestTimeoutMs} ms`)), this.requestTimeoutMs);
    const finish = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (p.inFlight !== req) return; // stopped meanwhile
      p.inFlight = null;
      if (error === null) {
        p.failures = 0;
        this.counters.messagesSent += count;
        this.flush(p);
        return;
      }
      // A kept-alive socket the server closed just before we wrote on it: one immediate retry on a fresh one.
      if (!retryOfStale && req.reusedSocket && (error as NodeJS.ErrnoException).code === 'ECONNRESET') {
        this.flush(p, true, { body, count });
        return;
      }
      this.counters.failures += 1;
      const socket = req.socket as Partial<TLSSocket> | null;
      const tlsFailure = https ? describeTlsFailure(error, p.id, p.url.hostname, this.tls !== null && status === 0 && !req.reusedSocket && socket?.authorized === true) : null;
      const reported = tlsFailure ?? error;
      // TLS failures and refusals (4xx) will not heal by themselves: worth a warning. The rest (peer down,
      // timeout, 5xx) is ordinary while members restart.
      const line = { peer: p.id, url: p.url.origin, error: reported.message };
      if (tlsFailure !== null || (status >= 400 && status < 500)) this.logger.warn(line, 'a request to a peer failed; its batch is dropped and the peer is retried after a backoff');
      else this.logger.debug(line, 'a request to a peer failed; its batch is dropped and the peer is retried after a backoff');
      this.drop(p.id, count, reported);
      this.backOff(p);
    };
    req.on('response', (res: IncomingMessage) => {
      status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        res.resume();
        res.on('end', () => finish(null));
        res.on('error', finish);
        return;
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (text.length < 2048) text += chunk;
      });
      res.on('end', () => finish(new Error(`${p.id} answered ${status}: ${text.slice(0, 2048)}`)));
      res.on('error', finish);
    });
    req.on('error', finish);
    req.on('close', () => finish(new Error(`the connection to ${p.id} closed before an answer`)));
    req.end(bytes);
  }

  private backOff(p: Peer): void {
    p.failures += 1;
    const delay = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** Math.min(p.failures - 1, 30));
    this.counters.messagesDropped += p.queue.length;
    p.queue = [];
    p.queueBytes = 0;
    p.backoff = setTimeout(() => {
      p.backoff = null;
    }, delay);
    p.backoff.unref?.();
  }

  private drop(peer: NodeId, count: number, error: Error): void {
    this.counters.messagesDropped += count;
    if (this.onError === undefined) return;
    try {
      this.onError(peer, error);
    } catch {
      // A failing error callback must not break sending.
    }
  }
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`RestTransport: options.${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}
