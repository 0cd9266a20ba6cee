import { EntryKind, InvalidArgumentError, MessageType, type Message, type NodeAuth, type NodeId } from '@kommander/core';
import type { FastifyInstance } from 'fastify';
import { RestTransport } from '../src/index.js';
import { startHost, stubNode } from './http-cluster.js';

const A = 'node-a';
const B = 'node-b';
const SECRET = 'transport-secret-with-32-bytes!!';
const AUTH: NodeAuth = { mode: 'shared-secret', secret: SECRET };

function message(fields: Partial<Message> = {}): Message {
  return { type: MessageType.Heartbeat, partition: 1, from: A, to: B, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: 0, ...fields };
}

/** B listens with `receiverAuth`; A sends with `senderAuth`. Resolves with what B got or the error A saw. */
async function pair(senderAuth: NodeAuth | undefined, receiverAuth: NodeAuth | undefined): Promise<{
  a: RestTransport;
  received: Promise<readonly Message[]>;
  error: Promise<Error>;
  close: () => Promise<void>;
}> {
  let deliver!: (m: readonly Message[]) => void;
  const received = new Promise<readonly Message[]>((resolve) => (deliver = resolve));
  let fail!: (e: Error) => void;
  const error = new Promise<Error>((resolve) => (fail = resolve));
  const ports = new Map<NodeId, number>();
  const b = new RestTransport({ node: B, resolve: (peer) => `http://127.0.0.1:${ports.get(peer) ?? 1}`, ...(receiverAuth === undefined ? {} : { auth: receiverAuth }) });
  const host: { app: FastifyInstance; port: number } = await startHost(stubNode(B, [A, B], [0, 1]), b, 0, undefined, receiverAuth);
  ports.set(B, host.port);
  await b.start(deliver);
  const a = new RestTransport({ node: A, resolve: (peer) => `http://127.0.0.1:${ports.get(peer) ?? 1}`, onError: (_peer, e) => fail(e), ...(senderAuth === undefined ? {} : { auth: senderAuth }) });
  await a.start(() => undefined);
  return {
    a,
    received,
    error,
    close: async () => {
      await a.stop();
      await b.stop();
      await host.app.close();
    },
  };
}

test('signed batches are delivered, over the exact bytes (non-ASCII and binary payloads)', async () => {
  const p = await pair(AUTH, AUTH);
  try {
    const sent = message({ type: MessageType.Append, entries: [{ index: 1, term: 1, kind: EntryKind.Data, type: 'commandes/créé 😀', data: new Uint8Array([0, 255, 7]), time: { physical: 1, counter: 0 } }] });
    p.a.send(B, [sent]);
    expect(await p.received).toEqual([sent]);
  } finally {
    await p.close();
  }
});

test.each<[string, NodeAuth | undefined, RegExp]>([
  ['a sender with another secret', { mode: 'shared-secret', secret: 'another-secret-also-of-32-bytes!' }, /node-b answered 401: .*bad signature/],
  ['an unsigned sender', undefined, /node-b answered 401: .*missing header x-kommander-sender/],
])('%s is refused with 401 and nothing is delivered', async (_what, senderAuth, reason) => {
  const p = await pair(senderAuth, AUTH);
  let delivered = false;
  try {
    p.a.send(B, [message()]);
    // Whichever comes first: a delivery fails the test at once (instead of waiting for an error that never comes).
    const outcome = await Promise.race([p.error, p.received.then(() => (delivered = true))]);
    expect(delivered).toBe(false);
    expect((outcome as Error).message).toMatch(reason);
    expect(p.a.stats()).toMatchObject({ failures: 1, messagesSent: 0 });
  } finally {
    await p.close();
  }
});

test('a receiver with shorter skew refuses a sender whose clock is off (expired timestamp)', async () => {
  const realNow = Date.now;
  const p = await pair(AUTH, { ...AUTH, maxSkewMs: 1000 });
  try {
    // Only the sender's signing reads this clock before the request leaves; restored when the error arrives.
    Date.now = () => realNow() - 120_000;
    p.a.send(B, [message()]);
    Date.now = realNow;
    const outcome = await Promise.race([p.error, p.received.then(() => new Error('delivered despite the expired timestamp'))]);
    expect(outcome.message).toMatch(/node-b answered 401: .*expired timestamp/);
  } finally {
    Date.now = realNow;
    await p.close();
  }
});

test('auth misconfiguration throws at construction', () => {
  const cases: [unknown, RegExp][] = [
    [{ mode: 'mtls' }, /RestTransport: options\.auth\.mode must be 'disabled', 'shared-secret' or 'mutual-tls', got "mtls"/],
    [{ mode: 'shared-secret' }, /RestTransport: options\.auth\.secret is required/],
    [{ mode: 'shared-secret', secret: 'too short' }, /RestTransport: options\.auth\.secret must be at least 32 bytes, got 9/],
    [{ mode: 'shared-secret', secret: SECRET, maxSkewMs: 0 }, /RestTransport: options\.auth\.maxSkewMs/],
    ['shared-secret', /RestTransport: options\.auth must be an object/],
  ];
  for (const [auth, message] of cases) {
    expect(() => new RestTransport({ node: A, auth: auth as NodeAuth })).toThrow(InvalidArgumentError);
    expect(() => new RestTransport({ node: A, auth: auth as NodeAuth })).toThrow(message);
  }
  expect(() => new RestTransport({ node: 'bad\uD800', auth: AUTH })).toThrow(/lone surrogate/);
  expect(() => new RestTransport({ node: A, auth: AUTH })).not.toThrow();
  expect(() => new RestTransport({ node: A, auth: { mode: 'disabled' } })).not.toThrow();
});
