import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  InMemoryNetwork,
  RaftManager,
  RaftOperationStatus,
  StaticDiscovery,
  type NodeId,
  type RaftManagerOptions,
  type StateTransfer,
  type Wal,
} from '@kommander/core';
import type { ConformanceTest } from './conformance-test.js';

/** Options of {@link walClusterSuite}. */
export interface WalClusterSuiteOptions {
  /** Prefix of every case name, usually the adapter's name. */
  readonly name: string;
  readonly test: ConformanceTest;
  /** A log stored under `dir` (an existing directory, empty for a new node); the same `dir` again opens the same log, a deleted and recreated one a new log. */
  readonly createWal: (dir: string) => Wal;
  /** How long one wait for the cluster may take, in real milliseconds. Default 20000. */
  readonly timeoutMs?: number;
}

const NODES: readonly NodeId[] = ['wal-a', 'wal-b', 'wal-c'];
const PARTITIONS = 3;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * The application of one node: per partition, the payloads applied, as a durable application would keep
 * them (it survives restarts of its RaftManager). Its snapshot state is that list.
 */
class App {
  readonly applied = new Map<number, string[]>();
  readonly restored = new Map<number, string[]>();
  imports = 0;

  list(map: Map<number, string[]>, partition: number): string[] {
    let l = map.get(partition);
    if (l === undefined) {
      l = [];
      map.set(partition, l);
    }
    return l;
  }

  transfer(): StateTransfer {
    return {
      exportState: (partition) => encoder.encode(JSON.stringify(this.list(this.applied, partition))),
      importState: (partition, _index, state) => {
        this.imports++;
        this.applied.set(partition, JSON.parse(decoder.decode(state)) as string[]);
      },
    };
  }
}

/**
 * Three RaftManagers in one process, each on its own durable log from `createWal`, over an in-memory
 * network, on real time. Waits are driven by the nodes' callbacks (never by sleeping): every delivery
 * re-checks what a test waits for.
 */
class WalCluster {
  readonly root = mkdtempSync(join(tmpdir(), 'kommander-wal-cluster-'));
  readonly network = new InMemoryNetwork();
  readonly managers = new Map<NodeId, RaftManager>();
  readonly apps = new Map<NodeId, App>();
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly options: WalClusterSuiteOptions,
    private readonly extra: Partial<RaftManagerOptions>,
    private readonly snapshots: boolean,
  ) {
    for (const id of NODES) this.apps.set(id, new App());
  }

  dir(id: NodeId): string {
    return join(this.root, id);
  }

  async startAll(): Promise<void> {
    await Promise.all(NODES.map((id) => this.start(id)));
  }

  async start(id: NodeId): Promise<void> {
    const app = this.apps.get(id)!;
    mkdirSync(this.dir(id), { recursive: true });
    const manager = new RaftManager({
      node: id,
      initialPartitions: PARTITIONS,
      wal: this.options.createWal(this.dir(id)),
      transport: this.network.transport(id),
      discovery: new StaticDiscovery(NODES),
      tickMs: 10,
      ...this.extra,
      ...(this.snapshots ? { stateTransfer: app.transfer() } : {}),
    });
    app.restored.clear();
    manager.onLogRestored((partition, log) => {
      app.list(app.restored, partition).push(decoder.decode(log.data));
      return true;
    });
    manager.onReplicationReceived((partition, log) => {
      app.list(app.applied, partition).push(decoder.decode(log.data));
      this.notify();
      return true;
    });
    this.managers.set(id, manager);
    await manager.joinCluster();
  }

  async stop(id: NodeId): Promise<void> {
    const m = this.managers.get(id);
    this.managers.delete(id);
    await m?.leaveCluster();
  }

  async stopAll(): Promise<void> {
    await Promise.all(NODES.map((id) => this.stop(id)));
  }

  /** The node that leads `partition` now, waiting for leadership events while none does. */
  leader(partition: number): Promise<RaftManager> {
    const find = (): RaftManager | undefined => [...this.managers.values()].find((m) => m.amILeaderQuick(partition));
    const now = find();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const offs = [...this.managers.values()].map((m) =>
        m.onLeaderChanged(() => {
          const found = find();
          if (found === undefined) return;
          done();
          resolve(found);
        }),
      );
      const timer = setTimeout(() => {
        done();
        reject(new Error(`partition ${partition} elected no leader within ${this.options.timeoutMs ?? 20_000} ms`));
      }, this.options.timeoutMs ?? 20_000);
      const done = (): void => {
        clearTimeout(timer);
        for (const off of offs) off();
      };
    });
  }

  async write(partition: number, values: readonly string[]): Promise<void> {
    for (const v of values) {
      for (let attempt = 0; ; attempt++) {
        const leader = await this.leader(partition);
        const r = await leader.replicateLogs(partition, 'put', encoder.encode(v));
        if (r.status === RaftOperationStatus.Success) break;
        if (attempt > 20) throw new Error(`write ${v} to partition ${partition} kept failing: ${r.status}`);
      }
    }
  }

  async checkpoint(partition: number): Promise<void> {
    const r = await (await this.leader(partition)).replicateCheckpoint(partition);
    assert.equal(r.status, RaftOperationStatus.Success, `checkpoint of partition ${partition}`);
  }

  /** Resolves once `predicate` holds, re-checked after every delivery; rejects after the timeout. */
  until(predicate: () => boolean, what: string): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate()) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, this.options.timeoutMs ?? 20_000);
      this.waiters.add(check);
    });
  }

  applied(id: NodeId, partition: number): string[] {
    return this.apps.get(id)!.list(this.apps.get(id)!.applied, partition);
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.managers.keys()].map((id) => this.stop(id).catch(() => undefined)));
    rmSync(this.root, { recursive: true, force: true });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}

function values(partition: number, from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(`p${partition}-v${i}`);
  return out;
}

/**
 * Cluster cases for a durable {@link Wal} adapter: three nodes in one process on the adapter (in-memory
 * transport, real time). Restarting every node rebuilds identical state through `onLogRestored`; a node
 * whose data directory is deleted rejoins and catches up, from the log, and through a snapshot once the
 * log was compacted.
 */
export function walClusterSuite(options: WalClusterSuiteOptions): void {
  const test = (name: string, extra: Partial<RaftManagerOptions>, snapshots: boolean, body: (c: WalCluster) => Promise<void>): void => {
    options.test(`${options.name} cluster: ${name}`, async () => {
      const c = new WalCluster(options, extra, snapshots);
      try {
        await c.startAll();
        await body(c);
      } finally {
        await c.dispose();
      }
    });
  };

  test('writes survive a restart of every node and onLogRestored rebuilds identical state', { compactAfterEntries: 0 }, false, async (c) => {
    for (let p = 1; p <= PARTITIONS; p++) await c.write(p, values(p, 1, 20));
    await c.checkpoint(2);
    for (let p = 1; p <= PARTITIONS; p++) await c.write(p, values(p, 21, 30));
    await c.until(() => NODES.every((id) => [1, 2, 3].every((p) => c.applied(id, p).length === 30)), 'every node to apply 30 entries per partition');
    await c.stopAll();
    await c.startAll();
    for (const id of NODES) {
      const app = c.apps.get(id)!;
      assert.deepEqual(app.list(app.restored, 1), values(1, 1, 30), `${id}: partition 1 replays everything`);
      assert.deepEqual(app.list(app.restored, 2), values(2, 21, 30), `${id}: partition 2 replays from its checkpoint on`);
      assert.deepEqual(app.list(app.restored, 3), values(3, 1, 30), `${id}: partition 3 replays everything`);
    }
    for (let p = 1; p <= PARTITIONS; p++) await c.write(p, values(p, 31, 31));
    await c.until(() => NODES.every((id) => [1, 2, 3].every((p) => c.applied(id, p).at(-1) === `p${p}-v31`)), 'writes after the restart on every node');
  });

  test('a node whose data directory was deleted rejoins and catches up from the log', { compactAfterEntries: 0 }, false, async (c) => {
    for (let p = 1; p <= PARTITIONS; p++) await c.write(p, values(p, 1, 15));
    await c.until(() => NODES.every((id) => c.applied(id, 1).length === 15), 'every node to apply partition 1');
    const wiped = NODES[2]!;
    await c.stop(wiped);
    rmSync(c.dir(wiped), { recursive: true, force: true });
    c.apps.get(wiped)!.applied.clear();
    await c.start(wiped);
    await c.write(1, values(1, 16, 20));
    await c.until(() => c.applied(wiped, 1).length === 20, `${wiped} to catch up on partition 1`);
    assert.deepEqual(c.applied(wiped, 1), values(1, 1, 20));
  });

  test('a node behind the compacted log is caught up with a snapshot, on disk', { compactAfterEntries: 10 }, true, async (c) => {
    const lagging = NODES[2]!;
    await c.write(1, values(1, 1, 5));
    await c.until(() => c.applied(lagging, 1).length === 5, `${lagging} to apply the first writes`);
    await c.stop(lagging);
    await c.write(1, values(1, 6, 20));
    await c.checkpoint(1);
    await c.write(1, values(1, 21, 40));
    const leader = await c.leader(1);
    await c.until(() => leader.partitionStatus(1).firstIndex > 10, 'the leader to compact its log');
    await c.start(lagging);
    await c.write(1, values(1, 41, 45));
    await c.until(() => c.applied(lagging, 1).length === 45, `${lagging} to catch up through a snapshot`);
    assert.deepEqual(c.applied(lagging, 1), values(1, 1, 45));
    assert.ok(c.apps.get(lagging)!.imports >= 1, 'the lagging node imported a snapshot');
    await c.stop(lagging);
    await c.start(lagging);
    // Its log now begins at the snapshot: the replay is the tail of what it applied, ending at the last write.
    const app = c.apps.get(lagging)!;
    const replayed = app.list(app.restored, 1);
    assert.ok(replayed.length < 45, `the replay starts after the snapshot (${replayed.length} entries replayed)`);
    assert.deepEqual(replayed, values(1, 46 - replayed.length, 45), 'the replay is the tail of the applied sequence');
  });
}
