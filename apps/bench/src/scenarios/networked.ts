import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { clusterResult, freePort, type BenchResult, type LoadResult, type Scenario } from '../harness.js';

/** The built apps/cluster-node entry (the bench runs from the repository root). */
const NODE_MAIN = resolve(process.cwd(), 'apps/cluster-node/dist/main.js');
const PAYLOAD = 16;

/** How many times a scenario starts its cluster again when a node finds its port taken. */
const START_ATTEMPTS = 3;

class PortTaken extends Error {}

interface Proc {
  readonly id: string;
  readonly httpPort: number;
  readonly child: ChildProcess;
}


/**
 * Node.js flags of the gRPC nodes: a 2 MiB young-generation semi-space instead of V8's 16 MiB. A node
 * retains the entries it replicates, so most of the young generation survives a scavenge; smaller
 * semi-spaces give shorter, more frequent pauses (2–4 ms on average instead of 10–12 ms on the 2-core machine),
 * which each stall a whole commit round less. Measured: +13–25% throughput and a lower p99 for gRPC at
 * 64 and 256 in flight; REST (whose JSON decoding makes more short-lived garbage) lost up to 10% at 256,
 * so it runs with V8's defaults. A deployment sets the same with NODE_OPTIONS=--max-semi-space-size=2.
 */
const GRPC_NODE_FLAGS = ['--max-semi-space-size=2'];

/** Starts one node; `spawned` gets the child at once, so a failed start elsewhere can still kill it. */
function startNode(args: readonly string[], flags: readonly string[], id: string, httpPort: number, spawned: ChildProcess[]): Promise<Proc> {
  const child = spawn(process.execPath, [...flags, NODE_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  spawned.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((done, fail) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"event":"ready"')) done({ id, httpPort, child });
    });
    child.once('exit', (code) => fail(new Error(`cluster node ${id} exited (${code}) before it was ready: ${stderr}`)));
  });
}

async function call(port: number, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Moves the leadership of partitions 1..n to `target`, asking each current leader to hand it over. */
async function gatherLeadership(procs: readonly Proc[], target: Proc, partitions: number): Promise<void> {
  const byId = new Map(procs.map((p) => [p.id, p]));
  for (let p = 1; p <= partitions; p++) {
    for (let attempt = 0; ; attempt++) {
      const leader = String((await call(target.httpPort, `/v1/raft/partitions/${p}/leader`)).body.leader ?? '');
      if (leader === target.id) break;
      const from = byId.get(leader);
      if (from !== undefined) await call(from.httpPort, `/transfer/${p}`, { to: target.id });
      if (attempt > 200) throw new Error(`could not move partition ${p}'s leadership to ${target.id}`);
      // Pacing while the election the transfer started completes.
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/**
 * `wal`: RocksDB with fsync, RocksDB whose commit-index-only writes are not fsynced (`lazycommit`:
 * RaftManagerOptions.syncCommitIndex false, etcd-raft's rule), in-memory, or cluster-node's
 * `fsync-floor` probe (in memory plus one write and fdatasync of a scratch file per batch), with the
 * commit index fsynced (`fsyncfloor`) or not (`fsyncfloor-lazycommit`), or its `hop-floor` probe (in
 * memory plus one thread-pool round trip per synced batch, no file), the commit index not synced.
 */
type NetworkedWal = 'rocksdb' | 'lazycommit' | 'memory' | 'fsyncfloor' | 'fsyncfloor-lazycommit' | 'hopfloor-lazycommit';

/** cluster-node's `--wal` for each. */
const WAL_FLAG: Record<NetworkedWal, string> = {
  rocksdb: 'rocksdb',
  lazycommit: 'rocksdb',
  memory: 'memory',
  fsyncfloor: 'fsync-floor',
  'fsyncfloor-lazycommit': 'fsync-floor',
  'hopfloor-lazycommit': 'hop-floor',
};

function networked(transport: 'grpc' | 'rest', partitions: number, inflight: number, wal: NetworkedWal = 'rocksdb'): Scenario {
  const name = `${transport}-3proc-${wal === 'rocksdb' ? '' : `${wal === 'memory' ? 'memwal' : wal}-`}p${partitions}-i${inflight}`;
  const walFlag = WAL_FLAG[wal];
  const lazyCommit = wal.endsWith('lazycommit');
  const reported = wal === 'lazycommit' ? 'rocksdb-lazycommit' : wal;
  const flags = transport === 'grpc' ? GRPC_NODE_FLAGS : [];
  return {
    name,
    async run({ seconds }): Promise<BenchResult> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await runOnce(seconds);
        } catch (error) {
          // A port that freePort handed out can still be taken before the node listens on it (by another
          // process listening on it explicitly, or anywhere freePort has no block below the ephemeral range);
          // that is the machine's race, not a result.
          if (attempt >= START_ATTEMPTS || !(error instanceof PortTaken)) throw error;
        }
      }
    },
  };

  async function runOnce(seconds: number): Promise<BenchResult> {
    const root = mkdtempSync(join(tmpdir(), `kommander-bench-${transport}-`));
    const spawned: ChildProcess[] = [];
    try {
      const ids: { id: string; httpPort: number }[] = [];
      for (let i = 0; i < 3; i++) {
        const raftPort = await freePort();
        ids.push({ id: `127.0.0.1:${raftPort}`, httpPort: transport === 'rest' ? raftPort : await freePort() });
      }
      const peers = ids.map((n) => n.id).join(',');
      const procs = await Promise.all(
        ids.map((n) =>
          startNode(
            ['--id', n.id, '--peers', peers, '--transport', transport, '--wal', walFlag,
              '--data', join(root, n.id.replace(':', '_')), '--partitions', String(partitions), '--http-port', String(n.httpPort),
              ...(lazyCommit ? ['--no-sync-commit'] : [])],
            flags,
            n.id,
            n.httpPort,
            spawned,
          ),
        ),
      ).catch((error: unknown) => {
        throw error instanceof Error && error.message.includes('EADDRINUSE') ? new PortTaken(error.message) : error;
      });
      const driver = procs[0]!;
      await gatherLeadership(procs, driver, partitions);
      const r = await call(driver.httpPort, '/bench', { partitions, inflight, seconds, payloadBytes: PAYLOAD });
      if (r.status !== 200) throw new Error(`${name}: /bench answered ${r.status}: ${JSON.stringify(r.body)}`);
      const result = clusterResult(name, { nodes: 3, wal: reported, transport, partitions, inflight, payloadBytes: PAYLOAD }, r.body as unknown as LoadResult);
      return flags.length === 0 ? result : { ...result, nodeFlags: flags };
    } finally {
      for (const child of spawned) child.kill('SIGKILL');
      await Promise.all(spawned.map((child) => (child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((done) => child.once('exit', done)))));
      rmSync(root, { recursive: true, force: true });
    }
  }
}

/**
 * Issue 4: 3 processes (apps/cluster-node) on loopback over gRPC and REST, RocksDB WAL with fsync, 16-byte
 * payloads, 1 / 64 / 256 proposals in flight, 1 and 8 partitions. Every partition's leadership is moved to
 * the first node, which drives the load in-process (the proposals do not cross a client API). Two more
 * scenarios, `grpc-3proc-memwal-*`, run the same processes on in-memory WALs as a reference ceiling.
 */
export const networkedScenarios: Scenario[] = [
  ...(['grpc', 'rest'] as const).flatMap((t) => [1, 8].flatMap((p) => [1, 64, 256].map((i) => networked(t, p, i)))),
  // Durable too (entries, terms and votes fsynced), with the commit index of a round not fsynced on its
  // own, as etcd does: what RaftManagerOptions.syncCommitIndex false trades (see its documentation).
  ...(['grpc', 'rest'] as const).flatMap((t) => [1, 8].flatMap((p) => [64, 256].map((i) => networked(t, p, i, 'lazycommit')))),
  // Not durable, so not a result against the goal: the same three processes on in-memory WALs, the
  // ceiling that the processes, the transport and the machine's two cores leave before any disk write.
  ...[64, 256].map((i) => networked('grpc', 1, i, 'memory')),
  // Not durable either (the probe keeps nothing): the same processes on in-memory WALs that also write and
  // fdatasync a scratch file per batch, the least a durable WAL costs here; the gap to the RocksDB lines
  // is RocksDB's share of a round, the gap to hopfloor (below) the disk's.
  ...(['fsyncfloor', 'fsyncfloor-lazycommit'] as const).flatMap((w) => [64, 256].map((i) => networked('grpc', 1, i, w))),
  // Not durable: in-memory WALs that make one round trip through Node's thread pool per synced batch and
  // write nothing; the gap to memwal is what that hop alone costs a round here, apart from the disk.
  ...[64, 256].map((i) => networked('grpc', 1, i, 'hopfloor-lazycommit')),
];
