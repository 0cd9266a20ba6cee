import net from 'node:net';
import { signRequest, type Logger, type MutualTlsNodeAuth, type NodeId } from '@kommander/core';
import type { IssueOptions, TestPki, TransportCluster } from '@kommander/testkit';
import { encodeFrame, GrpcTransport, type GrpcTransportOptions } from '../src/index.js';

/**
 * A TCP relay for one direction of one link (a → b), so a test can cut the link the way a network
 * partition would: every open connection is destroyed and new ones are refused until `heal`.
 */
export class LinkProxy {
  private readonly sockets = new Set<net.Socket>();
  private cut = false;
  private readonly server: net.Server;
  port = 0;

  constructor(private readonly target: () => number) {
    this.server = net.createServer((inbound) => {
      if (this.cut) {
        inbound.destroy();
        return;
      }
      const outbound = net.connect(this.target(), '127.0.0.1');
      this.sockets.add(inbound);
      this.sockets.add(outbound);
      const close = (): void => {
        inbound.destroy();
        outbound.destroy();
        this.sockets.delete(inbound);
        this.sockets.delete(outbound);
      };
      inbound.on('error', close).on('close', close);
      outbound.on('error', close).on('close', close);
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  setCut(cut: boolean): void {
    this.cut = cut;
    if (cut) for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function memberList(nodeIds: readonly NodeId[]): () => Iterable<NodeId> {
  return () => nodeIds;
}

/**
 * A real gRPC cluster on loopback: each node listens on an ephemeral port, and every directed link goes
 * through a {@link LinkProxy} so that the conformance suite can cut and heal it. `extra` adds options to
 * every node, or to each node as a function of its id (certificates, for one).
 */
export async function grpcCluster(
  nodeIds: readonly NodeId[],
  extra: Partial<GrpcTransportOptions> | ((node: NodeId) => Partial<GrpcTransportOptions>) = {},
): Promise<TransportCluster & { readonly transports: Map<NodeId, GrpcTransport> }> {
  const extraOf = typeof extra === 'function' ? extra : () => extra;
  const ports = new Map<NodeId, number>();
  const proxies = new Map<string, LinkProxy>();
  for (const from of nodeIds) {
    for (const to of nodeIds) {
      if (from === to) continue;
      const proxy = new LinkProxy(() => ports.get(to) ?? 1);
      await proxy.listen();
      proxies.set(`${from}>${to}`, proxy);
    }
  }
  const make = (node: NodeId): GrpcTransport => {
    const transport = new GrpcTransport({
      node,
      host: '127.0.0.1',
      port: ports.get(node) ?? 0,
      members: memberList(nodeIds),
      resolve: (peer) => {
        const proxy = proxies.get(`${node}>${peer}`);
        return proxy === undefined ? undefined : `127.0.0.1:${proxy.port}`;
      },
      ...extraOf(node),
    });
    // The port is known once the suite started the transport; the proxies read it lazily.
    const start = transport.start.bind(transport);
    transport.start = async (handler) => {
      await start(handler);
      ports.set(node, Number(transport.address().split(':').pop()));
    };
    return transport;
  };
  const transports = new Map(nodeIds.map((id) => [id, make(id)]));
  return {
    transports,
    maxMessageBytes: extraOf(nodeIds[0] ?? '').maxMessageBytes ?? 4 * 1024 * 1024,
    restart: async (node) => {
      await transports.get(node)?.stop();
      const reborn = make(node);
      transports.set(node, reborn);
      return reborn;
    },
    cut: (a, b) => {
      proxies.get(`${a}>${b}`)?.setCut(true);
      proxies.get(`${b}>${a}`)?.setCut(true);
    },
    heal: () => {
      for (const proxy of proxies.values()) proxy.setCut(false);
    },
    close: async () => {
      for (const transport of transports.values()) await transport.stop();
      for (const proxy of proxies.values()) await proxy.close();
    },
  };
}

/** A logger that records warnings, for tests that expect a refusal to be reported. */
export function recordingLogger(): Logger & { readonly warnings: string[] } {
  const warnings: string[] = [];
  const drop = (): void => {};
  const logger = {
    warnings,
    trace: drop,
    debug: drop,
    info: drop,
    warn: (obj: object | string, msg?: string): void => {
      warnings.push(typeof obj === 'string' ? obj : `${msg ?? ''} ${JSON.stringify(obj)}`);
    },
    error: (obj: object | string, msg?: string): void => {
      warnings.push(`ERROR ${typeof obj === 'string' ? obj : `${msg ?? ''} ${JSON.stringify(obj)}`}`);
    },
    fatal: drop,
    child: (): Logger => logger,
  };
  return logger;
}

import { Client, credentials, Metadata, status, type ChannelCredentials, type StatusObject } from '@grpc/grpc-js';
import {
  Batch,
  EntryKind as WireEntryKind,
  MessageType as WireMessageType,
  RaftTransportServiceService,
  StreamRequest,
  type Entry as WireEntry,
  type FrameAuth,
  type Message as WireMessage,
} from '../src/gen/kommander/transport/v1/transport.js';

const passthrough = (b: Buffer): Buffer => b;

/** A grpc-js client that writes raw bytes to the transport's methods, bypassing every check of the sender. */
export class RawClient {
  readonly client: Client;
  constructor(address: string, channelCredentials: ChannelCredentials = credentials.createInsecure()) {
    this.client = new Client(address, channelCredentials, {
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
  }

  /** Opens a Stream with `headers`, writes `frames`, half-closes, and resolves with the final status. */
  stream(headers: Record<string, string>, frames: readonly Uint8Array[]): Promise<StatusObject> {
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
    const call = this.client.makeBidiStreamRequest(RaftTransportServiceService.stream.path, passthrough, passthrough, metadata, {
      deadline: Date.now() + 10_000,
    });
    return new Promise((resolve) => {
      call.on('data', () => {});
      call.on('error', () => {});
      call.on('status', resolve);
      for (const frame of frames) call.write(Buffer.from(frame));
      call.end();
    });
  }

  /** Calls Hello with a raw body and resolves with the status (OK on success). */
  hello(headers: Record<string, string>, body: Uint8Array): Promise<StatusObject> {
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(
        RaftTransportServiceService.hello.path,
        passthrough,
        passthrough,
        Buffer.from(body),
        metadata,
        { deadline: Date.now() + 10_000 },
        (error) => {
          resolve(error === null ? { code: status.OK, details: 'OK', metadata: new Metadata() } : { code: error.code, details: error.details, metadata: error.metadata });
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

/** A valid wire message from `from` to `to`, with `fields` replaced. */
export function wireMessage(from: string, to: string, fields: Partial<WireMessage> = {}): WireMessage {
  return {
    type: WireMessageType.MESSAGE_TYPE_HEARTBEAT,
    partition: 1n,
    from,
    to,
    term: 1n,
    logTerm: 0n,
    index: 1n,
    entries: [],
    commit: 0n,
    reject: false,
    rejectHint: 0n,
    context: 0n,
    ...fields,
  };
}

export function wireEntry(fields: Partial<WireEntry> = {}): WireEntry {
  return {
    index: 1n,
    term: 1n,
    kind: WireEntryKind.ENTRY_KIND_DATA,
    type: 't',
    data: new Uint8Array([1, 2, 3]),
    time: { physical: 1n, counter: 0n },
    ...fields,
  };
}

/** The encoded Batch of `messages`: what a frame carries and a signature covers. */
export function batchOf(messages: readonly WireMessage[]): Uint8Array {
  return Batch.encode({ messages: [...messages] }).finish();
}

/** A frame holding `messages`, with `auth` when given. */
export function frame(messages: readonly WireMessage[], auth?: FrameAuth): Uint8Array {
  return StreamRequest.encode({ batch: batchOf(messages), auth }).finish();
}

/** Resolves when `predicate` holds after a call of `subscribe`'s callback; rejects after `timeoutMs`. */
export function waitFor(what: string, subscribe: (wake: () => void) => void, predicate: () => boolean, timeoutMs = 4000): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    subscribe(() => {
      if (done || !predicate()) return;
      done = true;
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Resolves once `predicate` holds, checking every 5 ms; rejects after `timeoutMs`. For conditions no event announces (counters, log lines). */
export async function pollUntil(what: string, predicate: () => boolean, timeoutMs = 4000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The full method paths, as the signatures cover them. */
export const HELLO_PATH = '/kommander.transport.v1.RaftTransportService/Hello';
export const STREAM_PATH = '/kommander.transport.v1.RaftTransportService/Stream';

/** What a shared-secret signature is made of; `now` defaults to the clock. */
export interface Signing {
  readonly secret: string;
  readonly sender: string;
  readonly now?: number;
}

function sign(signing: Signing, path: string, body: Uint8Array): ReturnType<typeof signRequest> {
  return signRequest({ secret: signing.secret, method: 'POST', path, sender: signing.sender, body, ...(signing.now === undefined ? {} : { now: signing.now }) });
}

/** Metadata of a call to `to` signed as `signing.sender` over `body` (for Stream: `to` as UTF-8), naming `from` (default: the signer). */
export function signedCall(signing: Signing, path: string, to: string, body: Uint8Array = path === STREAM_PATH ? Buffer.from(to, 'utf8') : new Uint8Array(0), from = signing.sender): Record<string, string> {
  return { 'kommander-from': from, 'kommander-to': to, ...sign(signing, path, body) };
}

/** A frame carrying `batch` (see {@link batchOf}) with a FrameAuth signed as `signing.sender`. */
export function signedFrame(signing: Signing, batch: Uint8Array): Uint8Array {
  const headers = sign(signing, STREAM_PATH, batch);
  return encodeFrame(batch, { timestamp: headers['x-kommander-timestamp'], nonce: headers['x-kommander-nonce'], signature: headers['x-kommander-signature'] });
}

/** A `mutual-tls` setting for `node`: a certificate of `pki` naming it (CN = the id, SANs 127.0.0.1 and localhost by default). */
export function mutualTls(pki: TestPki, node: string, fields: Partial<IssueOptions> & { readonly peerIdentity?: 'node-id' | 'ca'; readonly ca?: string } = {}): MutualTlsNodeAuth {
  const { peerIdentity, ca, ...issue } = fields;
  return { mode: 'mutual-tls', ca: ca ?? pki.ca, ...pki.issue({ cn: node, ...issue }), ...(peerIdentity === undefined ? {} : { peerIdentity }) };
}
