import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntryKind, InMemoryNetwork, InMemoryWal, RaftManager, StaticDiscovery, type Entry, type Wal } from '@kommander/core';
import { RocksDbWal } from '@kommander/wal-rocksdb';
import { SqliteWal } from '@kommander/wal-sqlite';
import { clusterResult, round, runLoad, type BenchResult, type Scenario } from '../harness.js';

const NODES = ['bench-a', 'bench-b', 'bench-c'];
const PAYLOAD = 16;

/** A WAL under test: how to open one at a directory, and its fsync counter. */
interface WalKind {
  readonly name: 'sqlite' | 'rocksdb' | 'memory';
  create(dir: string): Wal;
  syncs(wal: Wal): number;
}

const KINDS: readonly WalKind[] = [
  { name: 'sqlite', create: (dir) => new SqliteWal({ path: join(dir, 'wal.sqlite') }), syncs: (w) => (w as SqliteWal).stats().syncs },
  { name: 'rocksdb', create: (dir) => new RocksDbWal({ path: join(dir, 'wal.rocksdb') }), syncs: (w) => (w as RocksDbWal).stats().syncs },
];

function throughput(kind: WalKind, partitions: number, inflight: number): Scenario {
  const name = `${kind.name}-p${partitions}-i${inflight}`;
  return {
    name,
    async run({ seconds }): Promise<BenchResult> {
      const root = mkdtempSync(join(tmpdir(), `kommander-bench-${kind.name}-`));
      const network = new InMemoryNetwork();
      const wals = NODES.map((node) => kind.create(join(root, node)));
      const nodes = NODES.map(
        (node, i) =>
          new RaftManager({
            node,
            initialPartitions: partitions,
            wal: wals[i]!,
            transport: network.transport(node),
            discovery: new StaticDiscovery(NODES),
            maxQueuedProposals: 1 << 20,
          }),
      );
      try {
        await Promise.all(nodes.map((n) => n.joinCluster()));
        let syncsAtStart = 0;
        let syncsAtEnd = 0;
        const totalSyncs = (): number => wals.reduce((sum, w) => sum + kind.syncs(w), 0);
        const load = await runLoad({
          nodes,
          partitions,
          inflight,
          payloadBytes: PAYLOAD,
          seconds,
          onWindow: (edge) => {
            if (edge === 'start') syncsAtStart = totalSyncs();
            else syncsAtEnd = totalSyncs();
          },
        });
        return {
          ...clusterResult(name, { nodes: NODES.length, wal: kind.name, transport: 'memory', partitions, inflight, payloadBytes: PAYLOAD }, load),
          // Per node: each node fsyncs its own WAL, and each committed entry is written by every node.
          fsyncsPerEntry: load.entries === 0 ? 0 : round((syncsAtEnd - syncsAtStart) / NODES.length / load.entries, 4),
        };
      } finally {
        await Promise.all(nodes.map((n) => n.leaveCluster().catch(() => undefined)));
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

const RESTORE_ENTRIES = 1_000_000;

/**
 * Restore of one partition holding 1,000,000 committed 16-byte entries: the WAL is filled directly, then a
 * single-node RaftManager is timed from `joinCluster()` to its return (open, read, Raft log rebuilt, every
 * entry replayed through `onLogRestored`).
 */
function restore(kind: WalKind): Scenario {
  const name = `restore-1m-${kind.name}`;
  return {
    name,
    async run(): Promise<BenchResult> {
      const root = mkdtempSync(join(tmpdir(), `kommander-bench-restore-${kind.name}-`));
      const memory = new InMemoryWal();
      const open = (): Wal => (kind.name === 'memory' ? memory : kind.create(root));
      try {
        const writer = open();
        await writer.open();
        const payload = new Uint8Array(PAYLOAD).fill(7);
        const time = { physical: Date.now(), counter: 0 };
        const batch = 10_000;
        for (let from = 1; from <= RESTORE_ENTRIES; from += batch) {
          const entries: Entry[] = [];
          for (let i = from; i < from + batch; i++) entries.push({ index: i, term: 1, kind: EntryKind.Data, type: 'bench', data: payload, time });
          const last = from + batch - 1;
          await writer.append({ writes: [{ partition: 1, entries, hardState: { term: 1, vote: 'restore-a', commit: last } }], sync: last === RESTORE_ENTRIES });
        }
        await writer.close();
        const reader = open();
        const node = new RaftManager({
          node: 'restore-a',
          initialPartitions: 1,
          wal: reader,
          transport: new InMemoryNetwork().transport('restore-a'),
          discovery: new StaticDiscovery(['restore-a']),
        });
        let replayed = 0;
        node.onLogRestored(() => {
          replayed++;
          return true;
        });
        const t0 = performance.now();
        await node.joinCluster();
        const ms = performance.now() - t0;
        await node.leaveCluster();
        if (replayed !== RESTORE_ENTRIES) throw new Error(`${name}: replayed ${replayed} entries, expected ${RESTORE_ENTRIES}`);
        return {
          scenario: name,
          nodes: 1,
          wal: kind.name,
          transport: 'memory',
          partitions: 1,
          inflight: 0,
          payloadBytes: PAYLOAD,
          entries: replayed,
          seconds: round(ms / 1000, 3),
          entriesPerSec: round(replayed / (ms / 1000), 0),
          p50Ms: 0,
          p99Ms: 0,
        };
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Issue 3: 3 nodes in one process on each durable WAL with fsync on, in-memory transport, 16-byte payloads;
 * 1, 8 and 64 partitions × 1, 64 and 1,024 in flight; and the 1,000,000-entry restore.
 */
export const durableScenarios: Scenario[] = [
  ...KINDS.flatMap((kind) => [1, 8, 64].flatMap((p) => [1, 64, 1024].map((i) => throughput(kind, p, i)))),
  ...[...KINDS, { name: 'memory', create: () => new InMemoryWal(), syncs: () => 0 } satisfies WalKind].map(restore),
];
