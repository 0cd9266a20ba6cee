import { status } from '@grpc/grpc-js';
import { EntryKind, MessageType, type Message } from '@kommander/core';
import { Prng } from '@kommander/testkit';
import { HelloRequest, type Message as WireMessage } from '../src/gen/kommander/transport/v1/transport.js';
import { GrpcTransport } from '../src/index.js';
import { frame, RawClient, waitFor, wireEntry, wireMessage } from './support.js';

jest.setTimeout(60_000);

const SEED = Number(process.env['FUZZ_SEED'] ?? Date.now() % 2 ** 31);
/** Per endpoint (Hello and Stream): twice this many payloads in all. */
const PER_ENDPOINT = 10_000;
const PAYLOADS = 2 * PER_ENDPOINT;
const SERVER = 'server';
const MEMBERS = ['server', 'fuzzer', 'peer'];
/** Statuses a refusal may carry: client errors only, never INTERNAL / UNKNOWN. */
const ALLOWED = new Set([status.OK, status.INVALID_ARGUMENT, status.PERMISSION_DENIED, status.FAILED_PRECONDITION, status.RESOURCE_EXHAUSTED]);


/** An independent check of what the handler may receive: only well-formed messages from the caller to this node. */
function isValid(m: Message): boolean {
  const safe = (n: number, min = 0): boolean => Number.isSafeInteger(n) && n >= min;
  return (
    m.from === 'fuzzer' || m.from === 'peer'
      ? m.to === SERVER &&
          Object.values(MessageType).includes(m.type) &&
          safe(m.partition) &&
          m.partition < 64 &&
          [m.term, m.logTerm, m.index, m.commit, m.rejectHint, m.context].every((n) => safe(n)) &&
          typeof m.reject === 'boolean' &&
          m.entries.every(
            (e) => safe(e.index, 1) && safe(e.term) && Object.values(EntryKind).includes(e.kind) && e.data instanceof Uint8Array && safe(e.time.physical) && safe(e.time.counter),
          )
      : false
  );
}

test(`${PER_ENDPOINT} random and mutated payloads to each endpoint (Hello, Stream) are refused with a client status, never reach the handler invalid, and the node keeps serving (seed ${SEED})`, async () => {
  const prng = new Prng(SEED);
  const random = (): number => prng.next();
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256));
  const wild = (): bigint => pick([0n, 1n, -1n, 2n ** 53n, 2n ** 53n - 1n, -(2n ** 63n), 2n ** 63n - 1n, BigInt(int(1000))]);
  const randomWireMessage = (): WireMessage =>
    wireMessage(pick(['fuzzer', 'fuzzer', 'fuzzer', 'peer', 'mallory', '']), pick([SERVER, SERVER, SERVER, 'peer', '']), {
      type: int(14) - 1,
      partition: pick([0n, 1n, 63n, 64n, -1n, wild()]),
      term: wild(),
      logTerm: wild(),
      index: wild(),
      commit: random() < 0.8 ? 0n : wild(),
      rejectHint: random() < 0.8 ? 0n : wild(),
      context: random() < 0.8 ? 0n : wild(),
      reject: random() < 0.5,
      entries: Array.from({ length: int(3) }, () =>
        wireEntry({ index: wild(), term: wild(), kind: int(9) - 1, type: pick(['', 't', 'ü✓']), data: bytes(int(64)), time: { physical: wild(), counter: wild() } }),
      ),
    });
  const valid = (): Uint8Array => frame(Array.from({ length: 1 + int(3) }, () => wireMessage('fuzzer', SERVER, { index: BigInt(int(1000)), entries: random() < 0.5 ? [wireEntry()] : [] })));
  const mutate = (input: Uint8Array): Uint8Array => {
    const out = Array.from(input);
    const edits = 1 + int(4);
    for (let i = 0; i < edits; i++) {
      const at = int(out.length + 1);
      switch (int(5)) {
        case 0:
          if (out.length > 0) out[at % out.length] = (out[at % out.length] as number) ^ (1 << int(8));
          break;
        case 1:
          if (out.length > 0) out[at % out.length] = int(256);
          break;
        case 2:
          out.splice(at, 0, ...bytes(1 + int(8)));
          break;
        case 3:
          out.splice(at, 1 + int(8));
          break;
        default:
          out.length = Math.min(out.length, at);
      }
    }
    return Uint8Array.from(out);
  };
  const streamPayload = (): Uint8Array => {
    switch (int(5)) {
      case 0:
        return bytes(int(300));
      case 4:
        // Unchanged valid frames, so deliveries are exercised between the refusals.
        return valid();
      case 1:
        return mutate(valid());
      case 2:
        return frame(Array.from({ length: 1 + int(3) }, randomWireMessage));
      default:
        return mutate(frame([randomWireMessage()]));
    }
  };
  const helloPayload = (): Uint8Array =>
    random() < 0.5 ? bytes(int(100)) : mutate(HelloRequest.encode({ from: pick(['fuzzer', 'mallory']), to: pick([SERVER, 'peer']) }).finish());
  const headers = (): Record<string, string> => {
    const r = random();
    if (r < 0.9) return { 'kommander-from': 'fuzzer', 'kommander-to': SERVER };
    if (r < 0.93) return { 'kommander-from': 'mallory', 'kommander-to': SERVER };
    if (r < 0.96) return { 'kommander-from': 'fuzzer', 'kommander-to': 'peer' };
    return {};
  };

  const received: Message[] = [];
  const wakers: Array<() => void> = [];
  const server = new GrpcTransport({ node: SERVER, port: 0, members: () => MEMBERS, partitions: 64, maxMessageBytes: 64 * 1024 });
  await server.start((batch) => {
    received.push(...batch);
    for (const wake of wakers) wake();
  });
  const peer = new GrpcTransport({ node: 'peer', port: 0, members: () => MEMBERS, resolve: () => server.address() });
  await peer.start(() => {});
  const raw = new RawClient(server.address());
  const codes = new Map<string, number>();
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < PAYLOADS) {
        const i = next++;
        const toHello = i % 2 === 1;
        const payload = toHello ? helloPayload() : streamPayload();
        const head = headers();
        const result = toHello ? await raw.hello(head, payload) : await raw.stream(head, [payload]);
        const name = `${toHello ? 'Hello' : 'Stream'} ${status[result.code]}`;
        codes.set(name, (codes.get(name) ?? 0) + 1);
        if (!ALLOWED.has(result.code)) {
          throw new Error(
            `seed ${SEED}, payload ${i} (${toHello ? 'Hello' : 'Stream'}, headers ${JSON.stringify(head)}, bytes ${Buffer.from(payload).toString('hex')}): ${status[result.code]} ${result.details}`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const invalid = received.filter((m) => !isValid(m));
    if (invalid.length > 0) throw new Error(`seed ${SEED}: the handler received ${invalid.length} invalid messages, e.g. ${JSON.stringify(invalid[0], (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v))}`);
    // Still serving: a valid batch from a real peer arrives after the fuzzing.
    peer.send(SERVER, [{ type: MessageType.Heartbeat, partition: 5, from: 'peer', to: SERVER, term: 1, logTerm: 0, index: 123_456, entries: [], commit: 0, reject: false, rejectHint: 0, context: 0 }]);
    await waitFor('a valid batch after the fuzzing', (wake) => wakers.push(wake), () => received.some((m) => m.from === 'peer' && m.index === 123_456));
    // The payload mix must exercise refusals and deliveries both, or the test proves little.
    expect(codes.get('Stream OK') ?? 0).toBeGreaterThan(100);
    expect(codes.get('Stream INVALID_ARGUMENT') ?? 0).toBeGreaterThan(1000);
    expect(codes.get('Stream PERMISSION_DENIED') ?? 0).toBeGreaterThan(10);
    expect(codes.get('Hello INVALID_ARGUMENT') ?? 0).toBeGreaterThan(100);
    const sent = (endpoint: string): number => [...codes].filter(([name]) => name.startsWith(`${endpoint} `)).reduce((n, [, c]) => n + c, 0);
    expect([sent('Hello'), sent('Stream')]).toEqual([PER_ENDPOINT, PER_ENDPOINT]);
  } catch (error) {
    console.error(`fuzz failed with seed ${SEED} (rerun with FUZZ_SEED=${SEED}); status counts ${JSON.stringify([...codes])}`);
    throw error;
  } finally {
    raw.close();
    await peer.stop();
    await server.stop();
  }
});
