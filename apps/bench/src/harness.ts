import { readFileSync } from 'node:fs';
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
  /** Node.js flags the measured processes ran with, when not the defaults. */
  nodeFlags?: readonly string[];
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

/**
 * The ports {@link freePort} hands out: a block just below the kernel's ephemeral range (Linux:
 * /proc/sys/net/ipv4/ip_local_port_range), where no outgoing connection and no `listen(0)` of another
 * process can take a port between the check and the moment the caller listens on it. `undefined` where the
 * range cannot be read or leaves no room below it.
 */
export function portBlock(rangeFile = '/proc/sys/net/ipv4/ip_local_port_range'): { readonly low: number; readonly high: number } | undefined {
  let text: string;
  try {
    text = readFileSync(rangeFile, 'utf8');
  } catch {
    return undefined;
  }
  const ephemeralLow = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isInteger(ephemeralLow)) return undefined;
  const high = ephemeralLow - 1;
  const low = Math.max(10_000, high - 12_000);
  return high - low >= 1_000 ? { low, high } : undefined;
}

/** The block and where this process is in it, read at the first {@link freePort} (cluster-node imports this module too and never asks). */
let ports: { readonly block: ReturnType<typeof portBlock>; cursor: number } | undefined;

function canListen(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' || error.code === 'EACCES' ? resolve(undefined) : reject(error)));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(bound > 0 ? bound : undefined));
    });
  });
}

/**
 * A TCP port on 127.0.0.1 that is free now, for a process the caller starts next. It comes from
 * {@link portBlock} (so only another explicit listener could take it first); without one, from the kernel
 * (`listen(0)`), where an outgoing connection may take it before the caller listens.
 */
export async function freePort(): Promise<number> {
  if (ports === undefined) {
    const block = portBlock();
    // Each process walks the block from its own starting point, so that parallel test workers rarely meet.
    ports = { block, cursor: block === undefined ? 0 : block.low + ((process.pid * 7_919) % (block.high - block.low + 1)) };
  }
  const { block } = ports;
  if (block === undefined) {
    const port = await canListen(0);
    if (port === undefined) throw new Error('no free TCP port on 127.0.0.1');
    return port;
  }
  const size = block.high - block.low + 1;
  for (let tried = 0; tried < size; tried++) {
    const port = ports.cursor;
    ports.cursor = port >= block.high ? block.low : port + 1;
    if ((await canListen(port)) !== undefined) return port;
  }
  throw new Error(`no free TCP port on 127.0.0.1 between ${block.low} and ${block.high}`);
}
