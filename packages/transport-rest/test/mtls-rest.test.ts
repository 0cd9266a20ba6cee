import type { AddressInfo } from 'node:net';
import { InMemoryWal, InvalidArgumentError, MessageType, RaftManager, RaftOperationStatus, StaticDiscovery, type Logger, type Message, type MutualTlsNodeAuth, type NodeId } from '@kommander/core';
import { kommanderHttpsOptions, kommanderRoutes } from '@kommander/fastify-routes';
import { createTestPki, transportConformance, type TestPki } from '@kommander/testkit';
import Fastify from 'fastify';
import { RestTransport } from '../src/index.js';
import { httpCluster, startHost, stubNode } from './http-cluster.js';

const pki = createTestPki();
const rogue = createTestPki('Rogue CA');
const A = 'node-a';
const B = 'node-b';

/** A node's mutual-tls setting: a certificate whose CN is the node id (and SANs 127.0.0.1, localhost). */
function authFor(id: NodeId, ca: TestPki = pki, extra: Partial<MutualTlsNodeAuth> = {}): MutualTlsNodeAuth {
  const { cert, key } = ca.issue({ cn: id });
  return { mode: 'mutual-tls', ca: ca.ca, cert, key, ...extra };
}

function message(fields: Partial<Message> = {}): Message {
  return { type: MessageType.Heartbeat, partition: 1, from: A, to: B, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: 0, ...fields };
}

transportConformance({
  name: 'REST over HTTPS with mutual-tls authentication',
  test,
  factory: (ids) => {
    const auths = new Map(ids.map((id) => [id, authFor(id)]));
    return httpCluster(ids, (id) => auths.get(id)!);
  },
  supports: { ordered: true, restart: true, cut: true, sizeLimit: true },
});

/** Records warnings, so a test can see what an operator would read. */
function recordingLogger(warnings: string[]): Logger {
  const quiet = (): void => undefined;
  const logger: Logger = {
    trace: quiet,
    debug: quiet,
    info: quiet,
    warn: (obj: object | string, msg?: string) => void warnings.push(`${msg ?? ''} ${JSON.stringify(obj)}`),
    error: quiet,
    fatal: quiet,
    child: () => logger,
  };
  return logger;
}

/** B's HTTPS host with routes in mutual-tls mode; A sends to it with `senderAuth`. */
async function pair(senderAuth: MutualTlsNodeAuth, receiverAuth: MutualTlsNodeAuth, resolveHost = '127.0.0.1') {
  const received: Message[] = [];
  const errors: Error[] = [];
  const warnings: string[] = [];
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of waiters) w();
  };
  const deliver = (batch: readonly Message[]): void => {
    received.push(...batch);
    wake();
  };
  let b = new RestTransport({ node: B, auth: receiverAuth });
  const host = await startHost(stubNode(B, [A, B], [0, 1]), b, 0, undefined, receiverAuth);
  await b.start(deliver);
  const a = new RestTransport({
    node: A,
    auth: senderAuth,
    resolve: () => `https://${resolveHost}:${host.port}`,
    initialBackoffMs: 10,
    maxBackoffMs: 20,
    logger: recordingLogger(warnings),
    onError: (_peer, e) => {
      errors.push(e);
      wake();
    },
  });
  await a.start(() => undefined);
  /** Resolves once `done()` holds (checked after every delivery or error), failing after 4 s (within jest's 5) with what was seen. */
  const until = (what: string, done: () => boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done()) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`${what}: received ${received.length}, errors ${errors.map((e) => e.message).join(' | ')}`));
      }, 4000);
      waiters.add(check);
      check();
    });
  return {
    a,
    host,
    /** Starts B again on the same port with `auth`, delivering to the same record. */
    restartReceiver: async (auth: MutualTlsNodeAuth): Promise<void> => {
      await b.stop();
      await host.app.close();
      b = new RestTransport({ node: B, auth });
      host.app = (await startHost(stubNode(B, [A, B], [0, 1]), b, host.port, undefined, auth)).app;
      await b.start(deliver);
    },
    received,
    errors,
    warnings,
    until,
    close: async () => {
      await a.stop();
      await b.stop();
      await host.app.close();
    },
  };
}

describe('RestTransport in mutual-tls mode', () => {
  test('a member with its own certificate delivers over HTTPS', async () => {
    const p = await pair(authFor(A), authFor(B));
    try {
      p.a.send(B, [message({ index: 3 })]);
      await p.until('delivered', () => p.received.length === 1);
      expect(p.received[0]).toEqual(message({ index: 3 }));
      expect(p.errors).toEqual([]);
      expect(p.warnings).toEqual([]);
    } finally {
      await p.close();
    }
  });

  test.each<[string, () => MutualTlsNodeAuth, RegExp]>([
    // A trusts both CAs but presents a rogue certificate: B refuses it (an alert, or a reset after the TLS 1.3 handshake).
    [
      'a sender whose certificate the receiver does not trust',
      () => {
        const { cert, key } = rogue.issue({ cn: A });
        return { mode: 'mutual-tls', ca: rogue.ca + pki.ca, cert, key };
      },
      /TLS with node-b \(127\.0\.0\.1\) failed: (?:it refused this node's certificate|it closed the connection right after the TLS handshake).*auth\.cert/,
    ],
    // A trusts only another CA: B's certificate is refused by A.
    ['a sender that does not trust the receiver’s CA', () => authFor(A, rogue), /TLS with node-b \(127\.0\.0\.1\) failed: its certificate was refused by this node \(SELF_SIGNED_CERT_IN_CHAIN\); it must be issued by this node's auth\.ca/],
  ])('%s: the TLS failure is reported, logged and retried with backoff; nothing is delivered', async (_what, senderAuth, reason) => {
    const p = await pair(senderAuth(), authFor(B));
    try {
      // Resent as Raft would: sends during a backoff are dropped, the first one after it tries again.
      const resend = setInterval(() => p.a.send(B, [message()]), 5);
      try {
        await p.until('two failed attempts', () => p.errors.length >= 2);
      } finally {
        clearInterval(resend);
      }
      expect(p.received).toEqual([]);
      for (const e of p.errors.slice(0, 2)) expect(e.message).toMatch(reason);
      expect(p.a.stats()).toMatchObject({ messagesSent: 0 });
      expect(p.a.stats().failures).toBeGreaterThanOrEqual(2);
      expect(p.warnings.length).toBeGreaterThanOrEqual(2);
      expect(p.warnings[0]).toMatch(/a request to a peer failed.*"peer":"node-b".*TLS with node-b/);
    } finally {
      await p.close();
    }
  });

  test('a peer whose certificate does not name the dialled host is refused, and reached once it presents one that does', async () => {
    // B's first certificate names only 10.9.9.9 (CN node-b); A dials 127.0.0.1.
    const misnamed = pki.issue({ cn: B, altNames: ['10.9.9.9'] });
    const p = await pair(authFor(A), { mode: 'mutual-tls', ca: pki.ca, cert: misnamed.cert, key: misnamed.key });
    try {
      const resend = setInterval(() => p.a.send(B, [message({ index: 1 })]), 5);
      try {
        await p.until('a failure', () => p.errors.length >= 1);
        expect(p.received).toEqual([]);
        expect(p.errors[0]?.message).toMatch(/TLS with node-b \(127\.0\.0\.1\) failed: its certificate does not name "127\.0\.0\.1", the host this node dialled; issue it with that host as a subject alternative name/);
        // B comes back on the same port with a certificate naming 127.0.0.1: a later attempt delivers.
        await p.restartReceiver(authFor(B));
        await p.until('delivered once B presents a good certificate', () => p.received.length >= 1);
      } finally {
        clearInterval(resend);
      }
      expect(p.received[0]).toEqual(message({ index: 1 }));
    } finally {
      await p.close();
    }
  });

  test('a peer resolved to http:// is refused before anything is sent', async () => {
    const errors: Error[] = [];
    const t = new RestTransport({ node: A, auth: authFor(A), resolve: () => 'http://127.0.0.1:1', onError: (_peer, e) => errors.push(e) });
    await t.start(() => undefined);
    try {
      t.send(B, [message()]);
      expect(errors.map((e) => e.message)).toEqual([`peer "node-b" resolves to http://127.0.0.1:1, but auth is 'mutual-tls': resolve() must return https:// URLs`]);
      expect(t.stats()).toMatchObject({ requests: 0, messagesDropped: 1 });
    } finally {
      await t.stop();
    }
  });

  test('without resolve, a peer is dialled at https://<its id> (ids are endpoints)', async () => {
    // The receiver's id is its endpoint, known once it listens; the routes read it per request.
    let endpoint = '';
    const node = { ...stubNode('', ['sender'], [0, 1]), get node(): string { return endpoint; } };
    const auth = authFor('receiver');
    const receiver = new RestTransport({ node: 'receiver', auth });
    let fail!: (e: Error) => void;
    // Settles either way, so the test always reaches its cleanup: a delivery, or the sender's failure.
    const got = new Promise<readonly Message[]>((resolve, reject) => {
      fail = reject;
      void receiver.start(resolve);
    });
    const app = Fastify({ logger: false, https: kommanderHttpsOptions(auth) });
    await app.register(kommanderRoutes, { node, inbound: receiver, auth });
    await app.listen({ port: 0, host: '127.0.0.1' });
    endpoint = `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const sender = new RestTransport({ node: 'sender', auth: authFor('sender'), requestTimeoutMs: 3000, onError: (_peer, e) => fail(e) });
    await sender.start(() => undefined);
    try {
      sender.send(endpoint, [message({ from: 'sender', to: endpoint })]);
      expect(await got).toEqual([message({ from: 'sender', to: endpoint })]);
    } finally {
      await sender.stop();
      await receiver.stop();
      await app.close();
    }
  });

  test('misconfiguration throws InvalidArgumentError at construction', () => {
    const good = authFor(A);
    const other = pki.issue({ cn: B });
    const expired = pki.issue({ cn: A, notBefore: new Date(Date.now() - 2 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
    const notYet = pki.issue({ cn: A, notBefore: new Date(Date.now() + 86_400_000) });
    const foreign = rogue.issue({ cn: A });
    const cases: [Partial<MutualTlsNodeAuth> | Record<string, unknown>, RegExp][] = [
      [{ ca: 'not a certificate' }, /RestTransport: options\.auth\.ca contains no PEM certificate/],
      [{ ca: undefined }, /RestTransport: options\.auth\.ca is required in 'mutual-tls' mode/],
      [{ key: other.key }, /RestTransport: options\.auth\.key does not belong to RestTransport: options\.auth\.cert/],
      [{ key: 'garbage' }, /RestTransport: options\.auth\.key is not a readable unencrypted PEM private key/],
      [{ cert: expired.cert, key: expired.key }, /RestTransport: options\.auth\.cert has expired/],
      [{ cert: notYet.cert, key: notYet.key }, /RestTransport: options\.auth\.cert is not valid yet/],
      [{ cert: foreign.cert, key: foreign.key }, /RestTransport: options\.auth\.cert was not issued by RestTransport: options\.auth\.ca/],
      [{ peerIdentity: 'cn' }, /RestTransport: options\.auth\.peerIdentity must be 'node-id' or 'ca'/],
      [{ cert: other.cert, key: other.key }, /RestTransport: options\.auth\.cert does not name this node/],
    ];
    for (const [change, reason] of cases) {
      const auth = { ...good, ...change } as MutualTlsNodeAuth;
      expect(() => new RestTransport({ node: A, auth })).toThrow(InvalidArgumentError);
      expect(() => new RestTransport({ node: A, auth })).toThrow(reason);
    }
    expect(() => new RestTransport({ node: A, auth: good })).not.toThrow();
  });
});
