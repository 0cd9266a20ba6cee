import { setImmediate as realSetImmediate } from 'node:timers';
import { VirtualClock, type NodeClock } from '../../../testkit/src/sim/virtual-clock.js';
import { InMemoryNetwork } from '../../src/memory/in-memory-network.js';
import { InMemoryWal } from '../../src/memory/in-memory-wal.js';
import { StaticDiscovery } from '../../src/memory/static-discovery.js';
import { RaftManager } from '../../src/runtime/raft-manager.js';
import type { RaftManagerOptions } from '../../src/runtime/options.js';
import type { RaftLog } from '../../src/runtime/types.js';
import type { Transport } from '../../src/ports/transport.js';
import type { WalBatch } from '../../src/ports/wal.js';

/** One node of a test cluster, with what the application saw. */
export interface TestNode {
  readonly id: string;
  raft: RaftManager;
  clock: NodeClock;
  readonly wal: InMemoryWal;
  readonly transport: Transport;
  /** Per partition: the delivered entries' payloads as strings, in order. */
  delivered: Map<number, string[]>;
  restored: Map<number, string[]>;
}

/** Records every batch a node hands its WAL from now on. */
export function recordBatches(node: TestNode): WalBatch[] {
  const batches: WalBatch[] = [];
  const append = node.wal.append.bind(node.wal);
  node.wal.append = (batch: WalBatch): Promise<void> => {
    batches.push(batch);
    return append(batch);
  };
  return batches;
}

const decoder = new TextDecoder();
export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * A small cluster on virtual time for runtime tests: real RaftManagers, InMemoryWal with a WAL latency,
 * InMemoryNetwork on the same virtual clock. `runUntil` advances time event by event.
 */
export class TestCluster {
  readonly clock = new VirtualClock();
  readonly network = new InMemoryNetwork({ clock: this.clock, latencyMs: 1 });
  readonly nodes: TestNode[] = [];

  constructor(
    readonly ids: readonly string[],
    private readonly extra: Partial<RaftManagerOptions> = {},
    /** Options of one node (applied after `extra`), e.g. its own stateTransfer. */
    private readonly perNode: (id: string) => Partial<RaftManagerOptions> = () => ({}),
  ) {
    for (const id of ids) {
      const wal = new InMemoryWal({ clock: this.clock, appendLatencyMs: 1 });
      this.nodes.push(this.create(id, wal, 1));
    }
  }

  node(id: string): TestNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  async start(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.join(n)));
  }

  /** Joins while the clock keeps running (the WAL completes on virtual time). */
  async join(n: TestNode): Promise<void> {
    let done = false;
    const p = n.raft.joinCluster().then(() => {
      done = true;
    });
    await this.runUntil(() => done, 10_000);
    await p;
  }

  /**
   * Crashes a node: timers, transport and the WAL appends in flight are gone, and by default (a power
   * loss) the WAL writes not fsynced too; `'in-flight'` models only the process dying.
   */
  crash(id: string, lose: 'unsynced' | 'in-flight' = 'unsynced'): void {
    const n = this.node(id);
    n.clock.stop();
    n.wal.crash(lose);
    void n.transport.stop();
  }

  /** Crashes a node, deletes its WAL (a wiped data directory) and starts it again empty. */
  async wipeAndRestart(id: string, seed: number): Promise<TestNode> {
    this.crash(id);
    const old = this.node(id);
    const fresh = this.create(id, new InMemoryWal({ clock: this.clock, appendLatencyMs: 1 }), seed);
    this.nodes[this.nodes.indexOf(old)] = fresh;
    await this.join(fresh);
    return fresh;
  }

  /** Starts a new incarnation of a crashed node on its surviving WAL. */
  async restart(id: string, seed: number): Promise<TestNode> {
    const old = this.node(id);
    const fresh = this.create(id, old.wal, seed);
    this.nodes[this.nodes.indexOf(old)] = fresh;
    await this.join(fresh);
    return fresh;
  }

  async leader(partition: number, maxMs = 10_000): Promise<TestNode> {
    let found: TestNode | undefined;
    await this.runUntil(() => {
      found = this.nodes.find((n) => n.raft.amILeaderQuick(partition));
      return found !== undefined;
    }, maxMs);
    return found!;
  }

  /** Runs virtual time until `predicate` holds; fails the test after `maxMs` of virtual time. */
  async runUntil(predicate: () => boolean, maxMs = 10_000): Promise<void> {
    const limit = this.clock.elapsed + maxMs;
    for (;;) {
      await drainMicrotasks();
      if (predicate()) return;
      if (this.clock.elapsed > limit || this.clock.runNext() === undefined) {
        throw new Error(`condition not reached within ${maxMs} virtual ms`);
      }
    }
  }

  /** Runs virtual time for `ms`. */
  async runFor(ms: number): Promise<void> {
    const until = this.clock.elapsed + ms;
    for (;;) {
      await drainMicrotasks();
      const next = this.clock.nextTime();
      if (next === undefined || next > until) break;
      this.clock.runNext();
    }
    this.clock.advanceTo(until);
  }

  /** Awaits a promise while virtual time runs. */
  async settle<T>(promise: Promise<T>, maxMs = 10_000): Promise<T> {
    let done = false;
    let value: T | undefined;
    promise.then((v) => {
      done = true;
      value = v;
    }, () => {
      done = true;
    });
    await this.runUntil(() => done, maxMs);
    return (await promise) ?? (value as T);
  }

  private create(id: string, wal: InMemoryWal, seed: number): TestNode {
    const clock = this.clock.forNode(id);
    const transport = this.network.transport(id);
    const raft = new RaftManager({
      node: id,
      initialPartitions: 3,
      wal,
      transport,
      discovery: new StaticDiscovery(this.ids),
      clock,
      seed: seed * 1000 + this.ids.indexOf(id),
      tickMs: 10,
      ...this.extra,
      ...this.perNode(id),
    });
    const node: TestNode = { id, raft, clock, wal, transport, delivered: new Map(), restored: new Map() };
    const record = (into: Map<number, string[]>) => (partition: number, log: RaftLog): boolean => {
      const list = into.get(partition) ?? [];
      list.push(decoder.decode(log.data));
      into.set(partition, list);
      return true;
    };
    raft.onReplicationReceived(record(node.delivered));
    raft.onLogRestored(record(node.restored));
    return node;
  }
}

function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}
