import { credentials, status, type ChannelCredentials } from '@grpc/grpc-js';
import { MessageType, type Message, type MutualTlsNodeAuth, type NodeId } from '@kommander/core';
import { createTestPki, transportConformance } from '@kommander/testkit';
import { HelloRequest } from '../src/gen/kommander/transport/v1/transport.js';
import { GrpcTransport } from '../src/index.js';
import { frame, grpcCluster, mutualTls, pollUntil, RawClient, recordingLogger, waitFor, wireMessage } from './support.js';

jest.setTimeout(20_000);

const pki = createTestPki();
const rogue = createTestPki('Rogue CA');

transportConformance({
  name: 'GrpcTransport with mutual TLS',
  test,
  factory: (nodeIds) => {
    // One certificate per node id, kept across restarts.
    const certificates = new Map<NodeId, MutualTlsNodeAuth>();
    return grpcCluster(nodeIds, (node) => {
      if (!certificates.has(node)) certificates.set(node, mutualTls(pki, node));
      return { auth: certificates.get(node)! };
    });
  },
  supports: { ordered: true, restart: true, cut: true, sizeLimit: true },
});

const SERVER = 'server';
const MEMBERS = ['server', 'peer', 'other'];
const buffer = (pem: string): Buffer => Buffer.from(pem, 'utf8');
const hello = (from: string): Uint8Array => HelloRequest.encode({ from, to: SERVER }).finish();
const asPeer = { 'kommander-from': 'peer', 'kommander-to': SERVER };

/** A client that presents `certificate` (or none) and trusts our CA. */
function tlsClient(address: string, certificate?: { cert: string; key: string }): RawClient {
  const channel: ChannelCredentials =
    certificate === undefined ? credentials.createSsl(buffer(pki.ca)) : credentials.createSsl(buffer(pki.ca), buffer(certificate.key), buffer(certificate.cert));
  return new RawClient(address, channel);
}

interface Node {
  readonly transport: GrpcTransport;
  readonly received: Message[];
  readonly logger: ReturnType<typeof recordingLogger>;
  delivered(index: number): Message[];
  /** Resolves once a message with `index` arrived. */
  arrival(index: number): Promise<void>;
}

async function startServer(auth: MutualTlsNodeAuth): Promise<Node> {
  const received: Message[] = [];
  const wakers: Array<() => void> = [];
  const logger = recordingLogger();
  const transport = new GrpcTransport({ node: SERVER, host: '127.0.0.1', port: 0, members: () => MEMBERS, auth, logger });
  await transport.start((b) => {
    received.push(...b);
    for (const wake of wakers) wake();
  });
  const delivered = (index: number): Message[] => received.filter((m) => m.index === index);
  return {
    transport,
    received,
    logger,
    delivered,
    arrival: (index) => waitFor(`message ${index}`, (wake) => wakers.push(wake), () => delivered(index).length > 0),
  };
}

function heartbeat(from: string, index: number): Message {
  return { type: MessageType.Heartbeat, partition: 1, from, to: SERVER, term: 1, logTerm: 0, index, entries: [], commit: 0, reject: false, rejectHint: 0, context: 0 };
}

/** A sending transport `node` with `auth`, dialling the server; resends `index` until stopped. */
async function sender(node: string, auth: MutualTlsNodeAuth, server: Node, index: number): Promise<{ transport: GrpcTransport; logger: ReturnType<typeof recordingLogger>; stop(): Promise<void> }> {
  const logger = recordingLogger();
  const transport = new GrpcTransport({ node, port: 0, members: () => MEMBERS, resolve: () => server.transport.address(), auth, logger, reconnectMinMs: 5, reconnectMaxMs: 20 });
  await transport.start(() => {});
  const timer = setInterval(() => transport.send(SERVER, [heartbeat(node, index)]), 5);
  return {
    transport,
    logger,
    stop: async () => {
      clearInterval(timer);
      await transport.stop();
    },
  };
}

describe('GrpcTransport with mutual TLS (peerIdentity node-id)', () => {
  let server: Node;
  let peer: GrpcTransport;
  let seq = 0;

  beforeAll(async () => {
    server = await startServer(mutualTls(pki, SERVER));
    peer = new GrpcTransport({ node: 'peer', port: 0, members: () => MEMBERS, resolve: () => server.transport.address(), auth: mutualTls(pki, 'peer') });
    await peer.start(() => {});
  });

  afterAll(async () => {
    await peer.stop();
    await server.transport.stop();
  });

  /** A member with its own certificate delivers. */
  async function stillServes(): Promise<void> {
    const index = 900_000 + seq++;
    peer.send(SERVER, [heartbeat('peer', index)]);
    await server.arrival(index);
  }

  const refusedAtConnect: Array<[string, () => RawClient]> = [
    ['a client without a certificate', () => tlsClient(server.transport.address())],
    ['a client with a certificate of another CA', () => tlsClient(server.transport.address(), rogue.issue({ cn: 'peer' }))],
    ['a client without TLS', () => new RawClient(server.transport.address())],
  ];

  test.each(refusedAtConnect)('%s is refused at the handshake and delivers nothing', async (_name, client) => {
    const raw = client();
    try {
      const helloResult = await raw.hello(asPeer, hello('peer'));
      const streamResult = await raw.stream(asPeer, [frame([wireMessage('peer', SERVER, { index: 101n })])]);
      expect([status[helloResult.code], status[streamResult.code]]).toEqual(['UNAVAILABLE', 'UNAVAILABLE']);
    } finally {
      raw.close();
    }
    await stillServes();
    expect(server.delivered(101)).toEqual([]);
  });

  test('a client with a valid certificate naming another node is refused with PERMISSION_DENIED and delivers nothing', async () => {
    const raw = tlsClient(server.transport.address(), pki.issue({ cn: 'other' }));
    try {
      const helloResult = await raw.hello(asPeer, hello('peer'));
      expect({ code: status[helloResult.code], details: helloResult.details }).toEqual({
        code: 'PERMISSION_DENIED',
        details: expect.stringMatching(/the client certificate is refused: certificate does not name the sender: it is for "other", "127\.0\.0\.1", "localhost" but the request comes from "peer"/),
      });
      const streamResult = await raw.stream(asPeer, [frame([wireMessage('peer', SERVER, { index: 102n })])]);
      expect({ code: status[streamResult.code], details: streamResult.details }).toEqual({ code: 'PERMISSION_DENIED', details: expect.stringMatching(/does not name the sender/) });
      // The certificate's own id is accepted: the binding is to the id, not to the CA alone.
      const asOther = { 'kommander-from': 'other', 'kommander-to': SERVER };
      const ownId = await raw.stream(asOther, [frame([wireMessage('other', SERVER, { index: 103n })])]);
      expect(status[ownId.code]).toBe('OK');
    } finally {
      raw.close();
    }
    await stillServes();
    expect([server.delivered(102), server.delivered(103).length]).toEqual([[], 1]);
  });

  test('a member with its own certificate delivers; its stream refuses frames from another sender', async () => {
    const raw = tlsClient(server.transport.address(), pki.issue({ cn: 'peer' }));
    try {
      expect(status[(await raw.hello(asPeer, hello('peer'))).code]).toBe('OK');
      const result = await raw.stream(asPeer, [frame([wireMessage('peer', SERVER, { index: 201n })]), frame([wireMessage('other', SERVER, { index: 202n })])]);
      expect({ code: status[result.code], details: result.details }).toEqual({
        code: 'PERMISSION_DENIED',
        details: expect.stringMatching(/messages\[0\]\.from is "other" but the stream was opened by "peer"/),
      });
    } finally {
      raw.close();
    }
    expect([server.delivered(201).length, server.delivered(202).length]).toEqual([1, 0]);
  });

  test('a transport with the certificate of another member is refused, told why, retried with backoff, and delivers nothing', async () => {
    const refusedBefore = server.transport.stats().refused;
    const impostor = await sender('peer', mutualTls(pki, 'other', { peerIdentity: 'ca' }) /* skips its own start-up check, as an impostor would */, server, 301);
    try {
      await pollUntil('two refused connection attempts', () => impostor.transport.stats().connectFailures >= 2 && server.transport.stats().refused >= refusedBefore + 2);
    } finally {
      await impostor.stop();
    }
    expect(impostor.logger.warnings.some((w) => w.includes('the peer refused this node') && w.includes('PERMISSION_DENIED') && w.includes('does not name the sender'))).toBe(true);
    expect(server.logger.warnings.some((w) => w.includes('refused a Hello') && w.includes('does not name the sender'))).toBe(true);
    expect(impostor.transport.stats().connections).toBe(0);
    await stillServes();
    expect(server.delivered(301)).toEqual([]);
  });

  test('a transport with a certificate of another CA is refused at the handshake, the failure is logged, and it delivers nothing', async () => {
    // It trusts our CA too, so only the server's check of its certificate fails.
    const outsider = await sender('peer', mutualTls(rogue, 'peer', { ca: pki.ca + rogue.ca }), server, 302);
    try {
      await pollUntil('two failed connection attempts', () => outsider.transport.stats().connectFailures >= 2);
    } finally {
      await outsider.stop();
    }
    expect(outsider.logger.warnings.some((w) => w.includes('TLS handshake') && w.includes('UNAVAILABLE'))).toBe(true);
    expect(outsider.transport.stats().connections).toBe(0);
    await stillServes();
    expect(server.delivered(302)).toEqual([]);
  });
});

describe('the client side of mutual TLS checks the server it dialled', () => {
  test.each([
    ['a certificate not valid for the dialled host (127.0.0.1)', () => mutualTls(pki, SERVER, { altNames: ['localhost'] }), /Hostname\/IP does not match certificate's altnames/],
    ['a certificate naming another node id', () => mutualTls(pki, 'other', { peerIdentity: 'ca' }) /* a server that skips its own start-up check */, /the server at 127\.0\.0\.1 is not peer \\?"server\\?": certificate does not name the sender/],
    ['a certificate of another CA', () => mutualTls(rogue, SERVER, { ca: pki.ca + rogue.ca }), /self[- ]signed certificate|unable to verify|unable to get/],
  ])('a server with %s is refused; the failure is logged and retried with backoff', async (_name, auth, details) => {
    const server = await startServer(auth());
    const client = await sender('peer', mutualTls(pki, 'peer'), server, 401);
    try {
      await pollUntil('two failed connection attempts', () => client.transport.stats().connectFailures >= 2);
    } finally {
      await client.stop();
      await server.transport.stop();
    }
    expect(client.logger.warnings.some((w) => w.includes("the peer's certificate was refused") && details.test(w))).toBe(true);
    expect(client.transport.stats().connections).toBe(0);
    expect(server.received).toEqual([]);
  });
});

describe("peerIdentity: 'ca'", () => {
  test('accepts a certificate of the CA that names another node id', async () => {
    const server = await startServer(mutualTls(pki, SERVER, { peerIdentity: 'ca' }));
    const client = await sender('peer', mutualTls(pki, 'other', { peerIdentity: 'ca' }), server, 501);
    try {
      await server.arrival(501);
    } finally {
      await client.stop();
      await server.transport.stop();
    }
    expect(server.delivered(501)[0]).toMatchObject({ from: 'peer', to: SERVER, index: 501 });
  });

  test('still refuses a certificate of another CA', async () => {
    const server = await startServer(mutualTls(pki, SERVER, { peerIdentity: 'ca' }));
    const raw = tlsClient(server.transport.address(), rogue.issue({ cn: 'peer' }));
    try {
      const result = await raw.stream(asPeer, [frame([wireMessage('peer', SERVER, { index: 502n })])]);
      expect(status[result.code]).toBe('UNAVAILABLE');
    } finally {
      raw.close();
      await server.transport.stop();
    }
    expect(server.received).toEqual([]);
  });
});
