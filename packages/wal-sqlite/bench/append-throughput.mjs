// Measures synced appends the way the runtime's WAL scheduler issues them (one at a time, each awaited):
// batches/s, entries/s, fsyncs, and the main thread's event-loop delay during the burst (SQLite and its
// fsyncs run in the worker thread), next to the delay of a loop doing nothing for as long (the machine's
// noise floor). Prints one JSON line.
// Usage: node bench/append-throughput.mjs [entriesPerBatch=64] [partitions=8] [batches=3000] [bytes=16]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { SqliteWal } from '../dist/index.js';

function delayMs(histogram) {
  return { max: +(histogram.max / 1e6).toFixed(2), p99: +(histogram.percentile(99) / 1e6).toFixed(2), mean: +(histogram.mean / 1e6).toFixed(2) };
}

const [perBatch = 64, partitions = 8, batches = 3000, bytes = 16] = process.argv.slice(2).map(Number);
const dir = mkdtempSync(join(tmpdir(), 'kommander-wal-sqlite-bench-'));
try {
  const wal = new SqliteWal({ path: join(dir, 'wal.db') });
  await wal.open();
  const data = new Uint8Array(bytes).fill(7);
  const next = new Array(partitions + 1).fill(1);
  const perPartition = Math.ceil(perBatch / partitions);
  const batch = (n) => {
    const writes = [];
    for (let p = 1; p <= partitions; p++) {
      const entries = [];
      for (let k = 0; k < perPartition; k++) {
        entries.push({ index: next[p] + k, term: 1, kind: 1, type: 'set', data, time: { physical: 1_700_000_000_000 + n, counter: k } });
      }
      next[p] += perPartition;
      writes.push({ partition: p, entries, hardState: { term: 1, vote: 'n1', commit: next[p] - 1 } });
    }
    return { writes, sync: true };
  };
  for (let n = 0; n < 200; n++) await wal.append(batch(n));
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const start = performance.now();
  const before = wal.stats();
  for (let n = 0; n < batches; n++) await wal.append(batch(n));
  const seconds = (performance.now() - start) / 1000;
  delay.disable();
  const after = wal.stats();
  await wal.close();
  const idle = monitorEventLoopDelay({ resolution: 1 });
  idle.enable();
  const idleUntil = performance.now() + seconds * 1000;
  while (performance.now() < idleUntil) await nextTurn();
  idle.disable();
  const entries = after.entries - before.entries;
  console.log(
    JSON.stringify({
      batches,
      entriesPerBatch: perPartition * partitions,
      partitions,
      bytes,
      batchesPerSecond: Math.round(batches / seconds),
      entriesPerSecond: Math.round(entries / seconds),
      fsyncs: after.syncs - before.syncs,
      meanAppendMs: +((seconds * 1000) / batches).toFixed(3),
      eventLoopDelayMs: delayMs(delay),
      idleLoopDelayMs: delayMs(idle),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
