// Loopback figures for the README: `node bench/throughput.mjs` after a build (`AUTH=shared-secret` to sign
// every call and frame). Prints one JSON line.
import { GrpcTransport } from '../dist/index.js';

const members = () => ['a', 'b'];
const auth = process.env.AUTH === 'shared-secret' ? { mode: 'shared-secret', secret: 'bench-secret-of-at-least-32-bytes!' } : { mode: 'disabled' };
let onBatch = () => {};
const b = new GrpcTransport({ node: 'b', port: 0, members, auth });
await b.start((batch) => onBatch(batch));
const a = new GrpcTransport({ node: 'a', port: 0, members, resolve: () => b.address(), auth });
await a.start(() => {});

const msg = (index) => ({ type: 6, partition: index % 8, from: 'a', to: 'b', term: 3, logTerm: 2, index, entries: [], commit: index, reject: false, rejectHint: 0, context: 0 });
const append = (index) => ({ ...msg(index), type: 0, entries: [{ index: index + 1, term: 3, kind: 1, type: 't', data: new Uint8Array(16), time: { physical: Date.now(), counter: 0 } }] });

async function roundTrip() {
  const start = performance.now();
  await new Promise((resolve) => { onBatch = resolve; a.send('b', [msg(1)]); });
  return performance.now() - start;
}
for (let i = 0; i < 200; i++) await roundTrip();
const latencies = [];
for (let i = 0; i < 2000; i++) latencies.push(await roundTrip());
latencies.sort((x, y) => x - y);

async function throughput(make, batches, size, inFlight) {
  let received = 0;
  const total = batches * size;
  const start = performance.now();
  await new Promise((resolve) => {
    let sent = 0;
    const pump = () => { while (sent < batches && sent - received / size < inFlight) { a.send('b', Array.from({ length: size }, (_, i) => make(sent * size + i))); sent++; } };
    onBatch = (batch) => { received += batch.length; if (received >= total) resolve(); else pump(); };
    pump();
  });
  return Math.round(total / ((performance.now() - start) / 1000));
}
const heartbeats = await throughput(msg, 5000, 64, 64);
const appends = await throughput(append, 5000, 64, 64);
console.log(JSON.stringify({
  auth: auth.mode,
  oneSmallBatchLatencyMs: { p50: +latencies[1000].toFixed(3), p99: +latencies[1980].toFixed(3) },
  messagesPerSecond64MsgBatches: { heartbeats, appendsWith16ByteEntry: appends },
}));
await a.stop();
await b.stop();
