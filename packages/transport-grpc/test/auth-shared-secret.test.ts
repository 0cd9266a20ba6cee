import { status } from '@grpc/grpc-js';
import { MessageType, type Message, type SharedSecretNodeAuth } from '@kommander/core';
import { transportConformance } from '@kommander/testkit';
import { HelloRequest } from '../src/gen/kommander/transport/v1/transport.js';
import { encodeFrame, GrpcTransport } from '../src/index.js';
import {
  batchOf,
  frame,
  grpcCluster,
  HELLO_PATH,
  pollUntil,
  RawClient,
  recordingLogger,
  signedCall,
  signedFrame,
  STREAM_PATH,
  waitFor,
  wireMessage,
  type Signing,
} from './support.js';

jest.setTimeout(20_000);

const SECRET = 'the-cluster-secret-of-at-least-32-bytes';
const WRONG_SECRET = 'not-the-cluster-secret-but-32-bytes-long';
const AUTH: SharedSecretNodeAuth = { mode: 'shared-secret', secret: SECRET, maxSkewMs: 10_000 };

transportConformance({
  name: 'GrpcTransport with shared-secret authentication',
  test,
  factory: (nodeIds) => grpcCluster(nodeIds, { auth: AUTH }),
  supports: { ordered: true, restart: true, cut: true, sizeLimit: true },
});

const SERVER = 'server';
const MEMBERS = ['server', 'peer', 'other'];
const asPeer: Signing = { secret: SECRET, sender: 'peer' };

/** A valid frame from `sender` (default peer) whose messages carry `index`, so a test can look for it at the handler. */
const batch = (index: number, from = 'peer'): Uint8Array => batchOf([wireMessage(from, SERVER, { index: BigInt(index) })]);
const hello = (from: string, to = SERVER): Uint8Array => HelloRequest.encode({ from, to }).finish();

describe('GrpcTransport with shared-secret authentication refuses', () => {
  const received: Message[] = [];
  const wakers: Array<() => void> = [];
  const logger = recordingLogger();
  let server: GrpcTransport;
  let peer: GrpcTransport;
  let raw: RawClient;
  let seq = 0;

  beforeAll(async () => {
    server = new GrpcTransport({ node: SERVER, port: 0, members: () => MEMBERS, partitions: 16, auth: AUTH, logger });
    await server.start((b) => {
      received.push(...b);
      for (const wake of wakers) wake();
    });
    peer = new GrpcTransport({ node: 'peer', port: 0, members: () => MEMBERS, resolve: () => server.address(), auth: AUTH });
    await peer.start(() => {});
    raw = new RawClient(server.address());
  });

  afterAll(async () => {
    raw.close();
    await peer.stop();
    await server.stop();
  });

  const delivered = (index: number): Message[] => received.filter((m) => m.index === index);

  /** A good peer still delivers: a heartbeat from the real `peer` transport arrives. */
  async function stillServes(): Promise<void> {
    const index = 900_000 + seq++;
    peer.send(SERVER, [{ type: MessageType.Heartbeat, partition: 3, from: 'peer', to: SERVER, term: 1, logTerm: 0, index, entries: [], commit: 0, reject: false, rejectHint: 0, context: 0 }]);
    await waitFor(`a heartbeat from the good peer (${index})`, (wake) => wakers.push(wake), () => delivered(index).length === 1);
  }

  /** Each case: the call's metadata and frames (their messages carry indexes 101..199, never to be delivered), the status and details expected. */
  const streamCases: Array<[string, () => { headers: Record<string, string>; frames: Uint8Array[] }, status, RegExp]> = [
    ['an unsigned stream', () => ({ headers: { 'kommander-from': 'peer', 'kommander-to': SERVER }, frames: [frame([wireMessage('peer', SERVER, { index: 101n })])] }), status.UNAUTHENTICATED, /the Stream call is refused: missing header x-kommander-sender/],
    ['a stream opened with the wrong secret', () => ({ headers: signedCall({ secret: WRONG_SECRET, sender: 'peer' }, STREAM_PATH, SERVER), frames: [signedFrame(asPeer, batch(102))] }), status.UNAUTHENTICATED, /the Stream call is refused: bad signature/],
    ['a stream opening signed for another node (replayed to this one)', () => ({ headers: signedCall(asPeer, STREAM_PATH, SERVER, Buffer.from('other', 'utf8')), frames: [signedFrame(asPeer, batch(114))] }), status.UNAUTHENTICATED, /the Stream call is refused: bad signature/],
    ['a stream opening not bound to a node (signed over an empty body)', () => ({ headers: signedCall(asPeer, STREAM_PATH, SERVER, new Uint8Array(0)), frames: [signedFrame(asPeer, batch(115))] }), status.UNAUTHENTICATED, /the Stream call is refused: bad signature/],
    ['a stream whose metadata names another sender than its signer', () => ({ headers: signedCall(asPeer, STREAM_PATH, SERVER, undefined, 'other'), frames: [signedFrame(asPeer, batch(103, 'other'))] }), status.PERMISSION_DENIED, /sender mismatch: the request is signed by "peer" but claims to come from "other"/],
    ['a stream of a non-member that has the secret', () => ({ headers: signedCall({ secret: SECRET, sender: 'mallory' }, STREAM_PATH, SERVER), frames: [signedFrame({ secret: SECRET, sender: 'mallory' }, batch(104, 'mallory'))] }), status.PERMISSION_DENIED, /"mallory" is not a member/],
    ['a frame without signature', () => ({ headers: signedCall(asPeer, STREAM_PATH, SERVER), frames: [encodeFrame(batch(105), undefined)] }), status.UNAUTHENTICATED, /the frame carries no signature \(FrameAuth\): this node requires shared-secret authentication/],
    [
      'a frame with a bad signature',
      () => {
        const good = signedFrame(asPeer, batch(106));
        // The signature is the frame's last field: change its last hex digit.
        const bad = Uint8Array.from(good);
        bad[bad.length - 1] = bad[bad.length - 1] === 0x30 ? 0x31 : 0x30;
        return { headers: signedCall(asPeer, STREAM_PATH, SERVER), frames: [bad] };
      },
      status.UNAUTHENTICATED,
      /a frame from "peer" is refused: bad signature/,
    ],
    ['a frame signed with the wrong secret', () => ({ headers: signedCall(asPeer, STREAM_PATH, SERVER), frames: [signedFrame({ secret: WRONG_SECRET, sender: 'peer' }, batch(107))] }), status.UNAUTHENTICATED, /a frame from "peer" is refused: bad signature/],
    [
      'a frame whose batch was altered after signing',
      () => {
        const signed = signedFrame(asPeer, batch(108));
        // The signed batch replaced in place by another valid one of the same length (index 107 instead of 108).
        const forged = Uint8Array.from(signed);
        forged.set(batch(107), Buffer.from(signed).indexOf(Buffer.from(batch(108))));
        return { headers: signedCall(asPeer, STREAM_PATH, SERVER), frames: [forged] };
      },
      status.UNAUTHENTICATED,
      /bad signature/,
    ],
    ['a frame with an expired timestamp', () => ({ headers: signedCall(asPeer, STREAM_PATH, SERVER), frames: [signedFrame({ ...asPeer, now: Date.now() - 60_000 }, batch(109))] }), status.UNAUTHENTICATED, /a frame from "peer" is refused: expired timestamp/],
    ['a frame from the future', () => ({ headers: signedCall(asPeer, STREAM_PATH, SERVER), frames: [signedFrame({ ...asPeer, now: Date.now() + 60_000 }, batch(110))] }), status.UNAUTHENTICATED, /expired timestamp/],
    ['a frame signed by another member than the stream\'s sender', () => ({ headers: signedCall(asPeer, STREAM_PATH, SERVER), frames: [signedFrame({ secret: SECRET, sender: 'other' }, batch(111, 'other'))] }), status.UNAUTHENTICATED, /a frame from "peer" is refused: bad signature/],
    ['a signed frame whose messages claim another sender', () => ({ headers: signedCall(asPeer, STREAM_PATH, SERVER), frames: [signedFrame(asPeer, batch(112, 'other'))] }), status.PERMISSION_DENIED, /messages\[0\]\.from is "other" but the stream was opened by "peer"/],
    ['a stream whose call metadata has an expired timestamp', () => ({ headers: signedCall({ ...asPeer, now: Date.now() - 60_000 }, STREAM_PATH, SERVER), frames: [signedFrame(asPeer, batch(113))] }), status.UNAUTHENTICATED, /the Stream call is refused: expired timestamp/],
  ];

  test.each(streamCases)('%s', async (_name, make, code, details) => {
    const before = received.length;
    const { headers, frames } = make();
    const result = await raw.stream(headers, frames);
    expect({ code: status[result.code], details: result.details }).toEqual({ code: status[code], details: expect.stringMatching(details) });
    await stillServes();
    expect(received.length).toBe(before + 1);
    expect(received.filter((m) => m.index > 100 && m.index < 200)).toEqual([]);
  });

  test('a replayed frame (the same bytes again) on the same stream and on a new one', async () => {
    const signed = signedFrame(asPeer, batch(201));
    const first = await raw.stream(signedCall(asPeer, STREAM_PATH, SERVER), [signed, signed]);
    expect({ code: status[first.code], details: first.details }).toEqual({ code: 'UNAUTHENTICATED', details: expect.stringMatching(/a frame from "peer" is refused: replayed nonce/) });
    const again = await raw.stream(signedCall(asPeer, STREAM_PATH, SERVER), [signed]);
    expect({ code: status[again.code], details: again.details }).toEqual({ code: 'UNAUTHENTICATED', details: expect.stringMatching(/replayed nonce/) });
    await stillServes();
    expect(delivered(201)).toHaveLength(1);
  });

  test('a good frame after refused ones on other streams is delivered, and the next one too', async () => {
    const result = await raw.stream(signedCall(asPeer, STREAM_PATH, SERVER), [signedFrame(asPeer, batch(301)), signedFrame(asPeer, batch(302))]);
    expect(status[result.code]).toBe('OK');
    expect([delivered(301).length, delivered(302).length]).toEqual([1, 1]);
  });

  test.each([
    ['an unsigned Hello', () => ({ headers: { 'kommander-from': 'peer', 'kommander-to': SERVER }, body: hello('peer') }), status.UNAUTHENTICATED, /the Hello call is refused: missing header x-kommander-sender/],
    ['a Hello signed with the wrong secret', () => ({ headers: signedCall({ secret: WRONG_SECRET, sender: 'peer' }, HELLO_PATH, SERVER, hello('peer')), body: hello('peer') }), status.UNAUTHENTICATED, /the Hello call is refused: bad signature/],
    ['a Hello whose body was altered after signing', () => ({ headers: signedCall(asPeer, HELLO_PATH, SERVER, hello('peer')), body: hello('peer', 'other') }), status.UNAUTHENTICATED, /bad signature/],
    ['a Hello signed for the Stream method', () => ({ headers: signedCall(asPeer, STREAM_PATH, SERVER, hello('peer')), body: hello('peer') }), status.UNAUTHENTICATED, /bad signature/],
    ['a Hello with an expired timestamp', () => ({ headers: signedCall({ ...asPeer, now: Date.now() - 60_000 }, HELLO_PATH, SERVER, hello('peer')), body: hello('peer') }), status.UNAUTHENTICATED, /expired timestamp/],
    ['a Hello signed by peer claiming to be other', () => ({ headers: signedCall(asPeer, HELLO_PATH, SERVER, hello('other'), 'other'), body: hello('other') }), status.PERMISSION_DENIED, /sender mismatch: the request is signed by "peer" but claims to come from "other"/],
    ['a Hello of a non-member that has the secret', () => ({ headers: signedCall({ secret: SECRET, sender: 'mallory' }, HELLO_PATH, SERVER, hello('mallory')), body: hello('mallory') }), status.PERMISSION_DENIED, /"mallory" is not a member/],
    ['a valid Hello', () => ({ headers: signedCall(asPeer, HELLO_PATH, SERVER, hello('peer')), body: hello('peer') }), status.OK, /OK/],
  ] as Array<[string, () => { headers: Record<string, string>; body: Uint8Array }, status, RegExp]>)('%s', async (_name, make, code, details) => {
    const { headers, body } = make();
    const result = await raw.hello(headers, body);
    expect({ code: status[result.code], details: result.details }).toEqual({ code: status[code], details: expect.stringMatching(details) });
    await stillServes();
  });

  test('a replayed Hello', async () => {
    const headers = signedCall(asPeer, HELLO_PATH, SERVER, hello('peer'));
    expect(status[(await raw.hello(headers, hello('peer'))).code]).toBe('OK');
    const replay = await raw.hello(headers, hello('peer'));
    expect({ code: status[replay.code], details: replay.details }).toEqual({ code: 'UNAUTHENTICATED', details: expect.stringMatching(/the Hello call is refused: replayed nonce/) });
  });

  test.each([
    ['the wrong secret', { mode: 'shared-secret', secret: WRONG_SECRET } as const, /the Hello call is refused: bad signature/],
    ['no authentication', { mode: 'disabled' } as const, /the Hello call is refused: missing header/],
  ])('a peer transport with %s delivers nothing, is told why, and retries with backoff', async (_name, auth, details) => {
    const senderLogger = recordingLogger();
    const refusedBefore = server.stats().refused;
    const intruder = new GrpcTransport({ node: 'other', port: 0, members: () => MEMBERS, resolve: () => server.address(), auth, logger: senderLogger, reconnectMinMs: 5, reconnectMaxMs: 20 });
    await intruder.start(() => {});
    const timer = setInterval(() => intruder.send(SERVER, [{ type: MessageType.Heartbeat, partition: 1, from: 'other', to: SERVER, term: 1, logTerm: 0, index: 401, entries: [], commit: 0, reject: false, rejectHint: 0, context: 0 }]), 5);
    try {
      await pollUntil('two refused connection attempts', () => intruder.stats().connectFailures >= 2 && server.stats().refused >= refusedBefore + 2);
    } finally {
      clearInterval(timer);
      await intruder.stop();
    }
    expect(senderLogger.warnings.some((w) => w.includes('the peer refused this node') && w.includes('UNAUTHENTICATED') && details.test(w))).toBe(true);
    expect(logger.warnings.some((w) => w.includes('refused a Hello') && details.test(w))).toBe(true);
    expect(intruder.stats().connections).toBe(0);
    await stillServes();
    expect(delivered(401)).toHaveLength(0);
  });
});
