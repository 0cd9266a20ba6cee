import { EntryKind, MessageType, type Entry, type Message } from '@kommander/core';
import { Prng } from '@kommander/testkit';
import { decodeBatch, decodeBatchGenerated, encodeBatch, encodeBatchGenerated, encodeFrame, readFrame, type FrameContext } from '../src/codec.js';
import { FrameAuth, StreamRequest } from '../src/gen/kommander/transport/v1/transport.js';
import { isDeepStrictEqual } from 'node:util';
import { idBytes, readBatch, writeBatch } from '../src/wire.js';

/** Deep equality at node:util's speed; jest's matcher (for its diff) only when they differ. */
function expectSame(actual: unknown, expected: unknown): void {
  if (!isDeepStrictEqual(actual, expected)) expect(actual).toEqual(expected);
}

/*
 * The hand-written hot path (wire.ts) against the generated code: the same bytes out, the same messages
 * or the same refusal back, for random batches and for mutated ones.
 */

const SEED = 20261206;
const CONTEXT: FrameContext = { sender: 'node-a:7001', self: 'node-b:7002', partitions: 64 };
const MESSAGE_TYPES = Object.values(MessageType) as MessageType[];
const ENTRY_KINDS = Object.values(EntryKind) as EntryKind[];
const EDGES = [0, 1, 127, 128, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35, 2 ** 49, 2 ** 52 + 3, Number.MAX_SAFE_INTEGER];

function generator(seed: number): { count: () => number; message: () => Message } {
  const prng = new Prng(seed);
  const below = (n: number): number => Math.floor(prng.next() * n);
  const count = (): number => {
    switch (below(4)) {
      case 0: return EDGES[below(EDGES.length)]!;
      case 1: return below(200);
      case 2: return below(2 ** 31);
      default: return Math.floor(prng.next() * Number.MAX_SAFE_INTEGER);
    }
  };
  const text = (): string => {
    const pick = ['', 'Put', 'bench', 'tenant/7/resources', 'é', 'naïve ünïcode', '日本語', '🙂 emoji', 'x'.repeat(40)];
    return pick[below(pick.length)]!;
  };
  const bytes = (): Uint8Array => {
    const out = new Uint8Array(below(4) === 0 ? 0 : below(300));
    for (let i = 0; i < out.length; i++) out[i] = below(256);
    // What both decoders hand out: views of the frame (a Buffer, as grpc-js delivers it), or an empty array.
    return out.length === 0 ? out : Buffer.from(out);
  };
  const entry = (): Entry => ({
    index: Math.max(1, count()),
    term: count(),
    kind: ENTRY_KINDS[below(ENTRY_KINDS.length)]!,
    type: text(),
    data: bytes(),
    time: { physical: count(), counter: count() },
  });
  const message = (): Message => ({
    type: MESSAGE_TYPES[below(MESSAGE_TYPES.length)]!,
    partition: below(64),
    from: CONTEXT.sender,
    to: CONTEXT.self,
    term: count(),
    logTerm: count(),
    index: count(),
    entries: below(3) === 0 ? [] : Array.from({ length: 1 + below(8) }, entry),
    commit: count(),
    reject: below(2) === 0,
    rejectHint: count(),
    context: count(),
  });
  return { count, message };
}

describe('hand-written Batch codec', () => {
  test('writes the bytes the generated encoder writes, and reads them back through the fast path, for 1,500 random batches', () => {
    const { message } = generator(SEED);
    const prng = new Prng(SEED + 1);
    const ids = idBytes(CONTEXT);
    for (let i = 0; i < 1500; i++) {
      const messages = Array.from({ length: 1 + Math.floor(prng.next() * 6) }, message);
      const fast = writeBatch(messages);
      expect(fast).toBeDefined();
      expect(Buffer.from(fast!).equals(Buffer.from(encodeBatchGenerated(messages)))).toBe(true);
      // The reader takes the frame itself (it does not give up on valid frames) and returns what was sent.
      const read = readBatch(fast!, CONTEXT, ids);
      expect(read).toBeDefined();
      expectSame(read, messages);
      expectSame(decodeBatch(fast!, CONTEXT), decodeBatchGenerated(fast!, CONTEXT));
    }
  });

  test('every edge of the varint sizes round-trips in every numeric field', () => {
    const ids = idBytes(CONTEXT);
    for (const n of EDGES) {
      const m: Message = {
        type: MessageType.Append, partition: Math.min(n, 63), from: CONTEXT.sender, to: CONTEXT.self, term: n, logTerm: n, index: n,
        entries: [{ index: Math.max(1, n), term: n, kind: EntryKind.Data, type: 't', data: new Uint8Array([n % 256]), time: { physical: n, counter: n } }],
        commit: n, reject: false, rejectHint: n, context: n,
      };
      const bytes = encodeBatch([m]);
      expect(Buffer.from(bytes).equals(Buffer.from(encodeBatchGenerated([m])))).toBe(true);
      expect(readBatch(bytes, CONTEXT, ids)).toEqual([m]);
    }
  });

  test('a number the wire cannot carry is left to the generated encoder, which refuses it as before', () => {
    const { message } = generator(SEED + 2);
    const bad = { ...message(), term: 1.5 };
    expect(writeBatch([bad])).toBeUndefined();
    expect(() => encodeBatch([bad])).toThrow(RangeError);
  });

  test('mutated and truncated batches get exactly the generated path\'s answer (messages or refusal), 8,000 cases', () => {
    const { message } = generator(SEED + 3);
    const prng = new Prng(SEED + 4);
    const below = (n: number): number => Math.floor(prng.next() * n);
    let refused = 0;
    let fallbacks = 0;
    const ids = idBytes(CONTEXT);
    for (let i = 0; i < 8000; i++) {
      const valid = encodeBatchGenerated(Array.from({ length: 1 + below(3) }, message));
      let bytes = Uint8Array.from(valid);
      switch (below(5)) {
        case 0: bytes = bytes.subarray(0, below(bytes.length)); break;
        case 1: bytes[below(bytes.length)] = below(256); break;
        case 2: for (let k = 0; k < 4; k++) { const at = below(bytes.length); bytes[at] = bytes[at]! ^ (1 << below(8)); } break;
        case 3: { const at = below(bytes.length); bytes = Uint8Array.from([...bytes.subarray(0, at), below(256), ...bytes.subarray(at)]); break; }
        default: bytes[below(bytes.length)] = 0x80 | below(128); break;
      }
      const generated = decodeBatchGenerated(bytes, CONTEXT);
      if (!generated.ok) refused++;
      if (readBatch(bytes, CONTEXT, ids) === undefined) fallbacks++;
      expectSame(decodeBatch(bytes, CONTEXT), generated);
    }
    // Both kinds of outcome were exercised.
    expect(refused).toBeGreaterThan(400);
    expect(fallbacks).toBeGreaterThan(refused);
  });

  test('entries of one frame with the same time share one time object (and the same type string), and differing ones keep their own values', () => {
    const entry = (index: number, type: string, physical: number, counter: number): Entry =>
      ({ index, term: 3, kind: EntryKind.Data, type, data: new Uint8Array([index]), time: { physical, counter } });
    const at = 1_767_000_000_000;
    const entries = [entry(1, 'Put', at, 0), entry(2, 'Put', at, 0), entry(3, 'Del', at, 0), entry(4, 'Put', at, 1), entry(5, 'Put', at + 1, 1), entry(6, 'Pux', at + 1, 1)];
    const m: Message = { type: MessageType.Append, partition: 2, from: CONTEXT.sender, to: CONTEXT.self, term: 3, logTerm: 3, index: 0, entries, commit: 0, reject: false, rejectHint: 0, context: 0 };
    const [read] = readBatch(writeBatch([m])!, CONTEXT, idBytes(CONTEXT))!;
    expect(read).toEqual(m);
    const times = read!.entries.map((e) => e.time);
    expect(times[1]).toBe(times[0]);
    expect(times[2]).toBe(times[0]);
    expect(times[3]).not.toBe(times[2]);
    expect(times[4]).not.toBe(times[3]);
    expect(times[5]).toBe(times[4]);
    expect(read!.entries.map((e) => e.type)).toEqual(['Put', 'Put', 'Del', 'Put', 'Put', 'Pux']);
  });

  test('messages the checks refuse (another sender, another node, a partition out of range, an unknown type) fall back and are refused with the same words', () => {
    const { message } = generator(SEED + 5);
    const cases: Message[] = [
      { ...message(), from: 'intruder' },
      { ...message(), to: 'someone-else' },
      { ...message(), partition: 64 },
      { ...message(), type: 99 as MessageType },
      { ...message(), entries: [{ index: 0, term: 1, kind: EntryKind.Data, type: '', data: new Uint8Array(0), time: { physical: 0, counter: 0 } }] },
    ];
    const ids = idBytes(CONTEXT);
    for (const m of cases) {
      const bytes = encodeBatchGenerated([m]);
      expect(readBatch(bytes, CONTEXT, ids)).toBeUndefined();
      const result = decodeBatch(bytes, CONTEXT);
      expect(result.ok).toBe(false);
      expect(result).toEqual(decodeBatchGenerated(bytes, CONTEXT));
    }
  });

  test('frames: the unsigned frame is the generated one, and either kind reads back to its batch and signature', () => {
    const { message } = generator(SEED + 6);
    const batch = encodeBatch([message(), message()]);
    const plain = encodeFrame(batch, undefined);
    expect(Buffer.from(plain).equals(Buffer.from(StreamRequest.encode({ batch, auth: undefined }).finish()))).toBe(true);
    const opened = readFrame(plain);
    expect(opened.ok && Buffer.from(opened.batch).equals(Buffer.from(batch)) && opened.auth === undefined).toBe(true);
    const auth: FrameAuth = { timestamp: '1', nonce: 'ab'.repeat(16), signature: 'cd'.repeat(32) };
    const signed = encodeFrame(batch, auth);
    const read = readFrame(signed);
    expect(read.ok && Buffer.from(read.batch).equals(Buffer.from(batch))).toBe(true);
    expect(read.ok && read.auth).toEqual(auth);
    // A frame with trailing bytes after its batch is not the plain form: the generated decoder reads it.
    expect(readFrame(Uint8Array.from([...plain, 0xff])).ok).toBe(false);
  });
});
