import { EntryKind, MessageType, type Message } from '@kommander/core';
import { GrpcTransport } from '../src/index.js';
import { waitFor } from './support.js';

jest.setTimeout(20_000);

const CHUNK_BYTES = 3 * 1024 * 1024;
const CHUNKS = 8;

function heartbeat(index: number): Message {
  return { type: MessageType.Heartbeat, partition: 1, from: 'a', to: 'b', term: 1, logTerm: 0, index, entries: [], commit: 0, reject: false, rejectHint: 0, context: 0 };
}

function chunk(context: number, bytes: number): Message {
  const data = new Uint8Array(bytes).fill(context & 0xff);
  return {
    type: MessageType.Snapshot, partition: 2, from: 'a', to: 'b', term: 1, logTerm: 1, index: 10, commit: 0, reject: false, rejectHint: 0, context,
    entries: [{ index: 1, term: 1, kind: EntryKind.Data, type: 'chunk', data, time: { physical: 1, counter: 0 } }],
  };
}

test(`a heartbeat sent after ${CHUNKS} snapshot chunks of ${CHUNK_BYTES / 2 ** 20} MiB arrives before the chunks finish`, async () => {
  const arrivals: Array<{ readonly m: Message; readonly at: number }> = [];
  const wakers: Array<() => void> = [];
  const b = new GrpcTransport({ node: 'b', port: 0, members: () => ['a', 'b'] });
  await b.start((batch) => {
    const at = performance.now();
    for (const m of batch) arrivals.push({ m, at });
    for (const wake of wakers) wake();
  });
  const a = new GrpcTransport({ node: 'a', port: 0, members: () => ['a', 'b'], resolve: () => b.address() });
  await a.start(() => {});
  const arrived = (p: (m: Message) => boolean): { at: number } | undefined => arrivals.find((x) => p(x.m));
  try {
    // Both lanes connected first, so the measurement is not a connection setup.
    a.send('b', [heartbeat(1)]);
    a.send('b', [chunk(1, 1024)]);
    await waitFor('both lanes up', (wake) => wakers.push(wake), () => arrived((m) => m.index === 1) !== undefined && arrived((m) => m.context === 1) !== undefined);

    const sentAt = performance.now();
    for (let i = 0; i < CHUNKS; i++) a.send('b', [chunk(100 + i, CHUNK_BYTES)]);
    const heartbeatSentAt = performance.now();
    a.send('b', [heartbeat(2)]);
    await waitFor(
      'the heartbeat and every chunk',
      (wake) => wakers.push(wake),
      () => arrived((m) => m.index === 2) !== undefined && arrivals.filter((x) => x.m.context >= 100).length === CHUNKS,
      15_000,
    );
    const heartbeatAt = arrived((m) => m.index === 2)!.at;
    const lastChunkAt = Math.max(...arrivals.filter((x) => x.m.context >= 100).map((x) => x.at));
    const chunksBefore = arrivals.filter((x) => x.m.context >= 100 && x.at < heartbeatAt).length;
    console.log(
      `snapshot lane: ${CHUNKS} × ${CHUNK_BYTES / 2 ** 20} MiB chunks took ${(lastChunkAt - sentAt).toFixed(1)} ms; ` +
        `a heartbeat sent after them arrived ${(heartbeatAt - heartbeatSentAt).toFixed(1)} ms after its send, after ${chunksBefore} chunks`,
    );
    expect(heartbeatAt).toBeLessThan(lastChunkAt);
    expect(chunksBefore).toBeLessThan(CHUNKS);
    // Every byte of every chunk arrived intact.
    for (const x of arrivals.filter((y) => y.m.context >= 100)) {
      const data = x.m.entries[0]!.data;
      expect(data.length).toBe(CHUNK_BYTES);
      expect(data.every((v) => v === (x.m.context & 0xff))).toBe(true);
    }
  } finally {
    await a.stop();
    await b.stop();
  }
});
