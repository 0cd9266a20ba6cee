import { createServer } from 'node:net';
import { RaftOperationStatus, type RaftManager } from '@kommander/core';

/** One benchmark result line; every scenario prints these fields (and `fsyncsPerEntry` where a WAL syncs). */
export interface BenchResult {
  scenario: string;
  nodes: number;
  wal: string;
  transport: string;
  partitions: number;
  inflight: number;
  payloadBytes: number;
  entries: number;
  seconds: number;
  entriesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  fsyncsPerEntry?: number;
}

/** A named, runnable benchmark scenario. */
export interface Scenario {
  name: string;
  run(options: { seconds: number }): Promise<BenchResult>;
}

export interface LoadResult {
  entries: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Drives `inflight` concurrent proposers against the partitions' leaders for `seconds` (after a warm-up)
 * and measures committed entries per second and the latency of each `replicateLogs` call.
 */
export async function runLoad(options: {
  nodes: readonly RaftManager[];
  partitions: number;
  inflight: number;
  payloadBytes: number;
  seconds: number;
  warmupSeconds?: number;
  /** Called when the measured window starts and when it ends (e.g. to sample fsync counters). */
  onWindow?: (edge: 'start' | 'end') => void;
}): Promise<LoadResult> {
  const { nodes, partitions, inflight, payloadBytes, seconds } = options;
  const warmup = (options.warmupSeconds ?? 0.5) * 1000;
  const payload = new Uint8Array(payloadBytes).fill(7);
  const leaders = new Map<number, RaftManager>();
  for (let p = 1; p <= partitions; p++) leaders.set(p, await leaderOf(nodes, p));

  const start = performance.now();
  const measureFrom = start + warmup;
  const end = measureFrom + seconds * 1000;
  const onWindow = options.onWindow;
  const windowTimers =
    onWindow === undefined
      ? []
      : [setTimeout(() => onWindow('start'), warmup), setTimeout(() => onWindow('end'), end - start)];
  const latencies = new LatencyLog(1 << 20);
  let measuredEnd = end;

  async function proposer(slot: number): Promise<void> {
    let p = (slot % partitions) + 1;
    for (;;) {
      const t0 = performance.now();
      if (t0 >= end) return;
      const leader = leaders.get(p)!;
      const result = await leader.replicateLogs(p, 'bench', payload);
      const t1 = performance.now();
      if (result.status === RaftOperationStatus.Success) {
        if (t0 >= measureFrom && t1 <= end) latencies.record(t1 - t0);
      } else if (result.status === RaftOperationStatus.NodeIsNotLeader) {
        leaders.set(p, await leaderOf(nodes, p));
      }
      p = (p % partitions) + 1;
    }
  }
  await Promise.all(Array.from({ length: inflight }, (_, i) => proposer(i)));
  for (const t of windowTimers) clearTimeout(t);
  measuredEnd = Math.min(measuredEnd, performance.now());
  return { seconds: round((measuredEnd - measureFrom) / 1000, 3), ...latencies.summary() };
}

async function leaderOf(nodes: readonly RaftManager[], partition: number): Promise<RaftManager> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const id = await nodes[0]!.waitForLeader(partition, 5000);
    const node = nodes.find((n) => n.node === id);
    if (node !== undefined && node.amILeaderQuick(partition)) return node;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`partition ${partition} has no leader`);
}

/**
 * Latencies of the measured window, in milliseconds: preallocated and grown by doubling, since a plain
 * array of millions of numbers would add GC work that the benchmark then charges to the system measured.
 */
export class LatencyLog {
  private values: Float64Array;
  private count = 0;

  constructor(initialCapacity = 1 << 16) {
    this.values = new Float64Array(initialCapacity);
  }

  record(ms: number): void {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.count++] = ms;
  }

  get entries(): number {
    return this.count;
  }

  summary(): { entries: number; p50Ms: number; p99Ms: number } {
    const sorted = this.values.subarray(0, this.count).sort();
    return { entries: this.count, p50Ms: round(percentile(sorted, 0.5), 3), p99Ms: round(percentile(sorted, 0.99), 3) };
  }
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** A throughput result line of a 3-node cluster scenario from its load figures. */
export function clusterResult(
  scenario: string,
  setup: { nodes: number; wal: string; transport: string; partitions: number; inflight: number; payloadBytes: number },
  load: LoadResult,
): BenchResult {
  return {
    scenario,
    ...setup,
    entries: load.entries,
    seconds: load.seconds,
    entriesPerSec: round(load.entries / load.seconds, 0),
    p50Ms: load.p50Ms,
    p99Ms: load.p99Ms,
  };
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the caller binds it right after; the race is acceptable for benchmarks and tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}
