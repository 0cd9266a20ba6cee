import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LatencyLog, round, type BenchResult, type Scenario } from '../harness.js';

const RECORD_BYTES = 2048;

/**
 * The disk under the benchmarks, measured without any WAL: `writers` loops, each appending 2 KiB records
 * to its own file and calling fdatasync after every one, in the same temporary directory the durable
 * scenarios use. With 3 writers it shows what one fsync costs when three nodes share the disk, as the
 * networked scenarios do; printed next to them, it tells a slow run on a slow disk from a regression.
 */
function fdatasyncProbe(writers: number): Scenario {
  const name = `disk-fdatasync-w${writers}`;
  return {
    name,
    async run({ seconds }): Promise<BenchResult> {
      const root = mkdtempSync(join(tmpdir(), 'kommander-bench-disk-'));
      const latencies = new LatencyLog();
      const record = Buffer.alloc(RECORD_BYTES, 7);
      const start = performance.now();
      const end = start + seconds * 1000;
      try {
        await Promise.all(
          Array.from({ length: writers }, async (_, w) => {
            const file = await open(join(root, `writer-${w}`), 'w');
            try {
              for (let position = 0; performance.now() < end; position += RECORD_BYTES) {
                const t0 = performance.now();
                await file.write(record, 0, RECORD_BYTES, position);
                await file.datasync();
                latencies.record(performance.now() - t0);
              }
            } finally {
              await file.close();
            }
          }),
        );
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
      const elapsed = (performance.now() - start) / 1000;
      const { entries, p50Ms, p99Ms } = latencies.summary();
      return {
        scenario: name,
        nodes: writers,
        wal: 'fdatasync',
        transport: 'none',
        partitions: 0,
        inflight: writers,
        payloadBytes: RECORD_BYTES,
        entries,
        seconds: round(elapsed, 3),
        entriesPerSec: round(entries / elapsed, 0),
        p50Ms,
        p99Ms,
      };
    },
  };
}

/** One writer, then three sharing the disk (as the three processes of the networked scenarios do). */
export const diskScenarios: Scenario[] = [fdatasyncProbe(1), fdatasyncProbe(3)];
