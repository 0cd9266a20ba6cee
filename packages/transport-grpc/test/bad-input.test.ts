import { status } from '@grpc/grpc-js';
import { MessageType, type Message } from '@kommander/core';
import { EntryKind as WireEntryKind, HelloRequest, MessageType as WireMessageType } from '../src/gen/kommander/transport/v1/transport.js';
import { GrpcTransport } from '../src/index.js';
import { frame, RawClient, recordingLogger, waitFor, wireEntry, wireMessage } from './support.js';

jest.setTimeout(15_000);

const SERVER = 'server';
const MEMBERS = ['server', 'peer', 'other'];

interface Setup {
  readonly server: GrpcTransport;
  readonly peer: GrpcTransport;
  readonly raw: RawClient;
  readonly received: Message[];
  readonly logger: ReturnType<typeof recordingLogger>;
  /** Sends a valid heartbeat from the real peer transport and waits until it arrives. */
  stillServes(seq: number): Promise<void>;
  close(): Promise<void>;
}

async function setup(): Promise<Setup> {
  const logger = recordingLogger();
  const received: Message[] = [];
  const wakers: Array<() => void> = [];
  const server = new GrpcTransport({ node: SERVER, port: 0, members: () => MEMBERS, partitions: 16, maxMessageBytes: 64 * 1024, logger });
  await server.start((batch) => {
    received.push(...batch);
    for (const wake of wakers) wake();
  });
  const address = server.address();
  const peer = new GrpcTransport({ node: 'peer', port: 0, members: () => MEMBERS, resolve: () => address });
  await peer.start(() => {});
  const raw = new RawClient(address);
  return {
    server,
    peer,
    raw,
    received,
    logger,
    stillServes: async (seq) => {
      peer.send(SERVER, [
        { type: MessageType.Heartbeat, partition: 3, from: 'peer', to: SERVER, term: 1, logTerm: 0, index: seq, entries: [], commit: 0, reject: false, rejectHint: 0, context: 0 },
      ]);
      await waitFor(`heartbeat ${seq}`, (wake) => wakers.push(wake), () => received.some((m) => m.index === seq && m.from === 'peer'));
    },
    close: async () => {
      raw.close();
      await peer.stop();
      await server.stop();
    },
  };
}

const asPeer = { 'kommander-from': 'peer', 'kommander-to': SERVER };

/** Each case: headers, frames, the expected status and a fragment of its message. */
const cases: Array<[string, Record<string, string>, () => Uint8Array[], status, RegExp]> = [
  ['bytes that are not protobuf', asPeer, () => [new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f])], status.INVALID_ARGUMENT, /not a valid kommander\.transport\.v1\.StreamRequest/],
  ['a truncated frame', asPeer, () => [frame([wireMessage('peer', SERVER)]).subarray(0, 7)], status.INVALID_ARGUMENT, /not a valid/],
  ['an empty frame', asPeer, () => [new Uint8Array(0)], status.INVALID_ARGUMENT, /holds no message/],
  ['a negative index', asPeer, () => [frame([wireMessage('peer', SERVER, { index: -5n })])], status.INVALID_ARGUMENT, /messages\[0\]\.index is -5: it must not be negative/],
  ['a term above 2^53-1', asPeer, () => [frame([wireMessage('peer', SERVER, { term: 2n ** 60n })])], status.INVALID_ARGUMENT, /messages\[0\]\.term .* must not exceed 2\^53-1/],
  ['an unknown message type', asPeer, () => [frame([wireMessage('peer', SERVER, { type: 42 as WireMessageType })])], status.INVALID_ARGUMENT, /messages\[0\]\.type is 42/],
  ['an unset message type', asPeer, () => [frame([wireMessage('peer', SERVER, { type: WireMessageType.MESSAGE_TYPE_UNSPECIFIED })])], status.INVALID_ARGUMENT, /messages\[0\]\.type is 0/],
  [
    'a bad entry kind',
    asPeer,
    () => [frame([wireMessage('peer', SERVER, { type: WireMessageType.MESSAGE_TYPE_APPEND, entries: [wireEntry(), wireEntry({ kind: 9 as WireEntryKind })] })])],
    status.INVALID_ARGUMENT,
    /messages\[0\]\.entries\[1\]\.kind is 9/,
  ],
  ['an entry index of 0', asPeer, () => [frame([wireMessage('peer', SERVER, { entries: [wireEntry({ index: 0n })] })])], status.INVALID_ARGUMENT, /entries\[0\]\.index is 0: it must not be below 1/],
  ['a partition out of range', asPeer, () => [frame([wireMessage('peer', SERVER, { partition: 16n })])], status.INVALID_ARGUMENT, /partition is 16: this node has partitions 0\.\.15/],
  ['a message to another node', asPeer, () => [frame([wireMessage('peer', 'other')])], status.INVALID_ARGUMENT, /messages\[0\]\.to is "other" but this node is "server"/],
  ['a message claiming another sender', asPeer, () => [frame([wireMessage('other', SERVER)])], status.PERMISSION_DENIED, /from is "other" but the stream was opened by "peer"/],
  ['a sender that is not a member', { 'kommander-from': 'mallory', 'kommander-to': SERVER }, () => [frame([wireMessage('mallory', SERVER)])], status.PERMISSION_DENIED, /"mallory" is not a member/],
  ['no kommander-from metadata', { 'kommander-to': SERVER }, () => [frame([wireMessage('peer', SERVER)])], status.INVALID_ARGUMENT, /no kommander-from metadata/],
  ['a call meant for another node', { 'kommander-from': 'peer', 'kommander-to': 'other' }, () => [frame([wireMessage('peer', SERVER)])], status.FAILED_PRECONDITION, /this node is "server", not "other"/],
  ['a frame above maxMessageBytes', asPeer, () => [frame([wireMessage('peer', SERVER, { entries: [wireEntry({ data: new Uint8Array(80 * 1024) })] })])], status.RESOURCE_EXHAUSTED, /larger than max/],
  [
    'an invalid message after a valid one in the same frame',
    asPeer,
    () => [frame([wireMessage('peer', SERVER, { index: 777n }), wireMessage('peer', SERVER, { logTerm: -1n })])],
    status.INVALID_ARGUMENT,
    /messages\[1\]\.logTerm is -1/,
  ],
];

describe('GrpcTransport refuses bad input on Stream', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup();
  });
  afterAll(async () => {
    await s.close();
  });

  test.each(cases)('%s', async (_name, headers, frames, code, details) => {
    const before = s.received.length;
    const result = await s.raw.stream(headers, frames());
    expect({ code: status[result.code], details: result.details }).toEqual({ code: status[code], details: expect.stringMatching(details) });
    await s.stillServes(1000 + cases.findIndex((c) => c[0] === _name));
    expect(s.received.length).toBe(before + 1);
    expect(s.received.every((m) => m.from === 'peer' && m.to === SERVER && m.index !== 777)).toBe(true);
  });

  test('refusals are reported through the logger', () => {
    expect(s.logger.warnings.some((w) => w.includes('refused a frame from peer') && w.includes('INVALID_ARGUMENT'))).toBe(true);
    expect(s.server.stats().refused).toBeGreaterThanOrEqual(cases.length - 1);
  });
});

describe('GrpcTransport refuses bad input on Hello', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup();
  });
  afterAll(async () => {
    await s.close();
  });

  const hello = (from: string, to: string): Uint8Array => HelloRequest.encode({ from, to }).finish();
  test.each([
    ['a valid Hello', asPeer, hello('peer', SERVER), status.OK, /OK/],
    ['a body that is not protobuf', asPeer, new Uint8Array([0x0a, 0x80]), status.INVALID_ARGUMENT, /not a valid kommander\.transport\.v1\.HelloRequest/],
    ['a body disagreeing with the metadata', asPeer, hello('other', SERVER), status.INVALID_ARGUMENT, /must agree/],
    ['a non-member', { 'kommander-from': 'mallory', 'kommander-to': SERVER }, hello('mallory', SERVER), status.PERMISSION_DENIED, /not a member/],
    ['no metadata', {}, hello('peer', SERVER), status.INVALID_ARGUMENT, /no kommander-from/],
  ] as Array<[string, Record<string, string>, Uint8Array, status, RegExp]>)('%s', async (_name, headers, body, code, details) => {
    const result = await s.raw.hello(headers, body);
    expect({ code: status[result.code], details: result.details }).toEqual({ code: status[code], details: expect.stringMatching(details) });
    await s.stillServes(2000 + s.received.length);
  });
});

test('a sender drops an oversized batch, reports it, and keeps sending', async () => {
  const logger = recordingLogger();
  const received: Message[] = [];
  const wakers: Array<() => void> = [];
  const b = new GrpcTransport({ node: 'b', port: 0, members: () => ['a', 'b'], maxMessageBytes: 32 * 1024 });
  await b.start((batch) => {
    received.push(...batch);
    for (const wake of wakers) wake();
  });
  const a = new GrpcTransport({ node: 'a', port: 0, members: () => ['a', 'b'], resolve: () => b.address(), maxMessageBytes: 32 * 1024, logger });
  await a.start(() => {});
  try {
    const base = { type: MessageType.Append, partition: 0, from: 'a', to: 'b', term: 1, logTerm: 0, commit: 0, reject: false, rejectHint: 0, context: 0 } as const;
    const entry = { index: 1, term: 1, kind: 1, type: 'x', time: { physical: 1, counter: 0 } } as const;
    expect(() => a.send('b', [{ ...base, index: 1, entries: [{ ...entry, data: new Uint8Array(40 * 1024) }] }])).not.toThrow();
    a.send('b', [{ ...base, index: 2, entries: [{ ...entry, data: new Uint8Array(1024) }] }]);
    await waitFor('the small batch', (wake) => wakers.push(wake), () => received.some((m) => m.index === 2));
    expect(received.map((m) => m.index)).toEqual([2]);
    expect(a.stats().framesDropped).toBe(1);
    expect(logger.warnings.join('\n')).toMatch(/dropped a batch larger than the message size limit.*"bytes":4\d{4}.*"maxMessageBytes":32768/);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('options are checked at construction', () => {
  expect(() => new GrpcTransport({ node: '', members: () => [] })).toThrow(/options\.node must be a non-empty string/);
  expect(() => new GrpcTransport({ node: 'a', members: undefined as never })).toThrow(/options\.members must be a function/);
  expect(() => new GrpcTransport({ node: 'a', members: () => [], maxMessageBytes: 10 })).toThrow(/maxMessageBytes must be an integer ≥ 1024/);
  expect(() => new GrpcTransport({ node: 'a', members: () => [], reconnectMinMs: 100, reconnectMaxMs: 50 })).toThrow(/reconnectMaxMs must be an integer ≥ 100/);
  expect(new GrpcTransport({ node: '127.0.0.1:7001', members: () => [] }).node).toBe('127.0.0.1:7001');
});
