import type { StateTransfer } from '../../src/ports/state-transfer.js';
import type { RaftManagerOptions } from '../../src/runtime/options.js';
import { RaftOperationStatus } from '../../src/runtime/status.js';
import { TestCluster, text, type TestNode } from './cluster-harness.js';

/** The partition these tests write to. */
export const P = 1;
const IDS = ['a', 'b', 'c'];
const decoder = new TextDecoder();

/** How one node's application behaves towards state transfer (changed by tests while they run). */
export interface Behaviour {
  /** exportState throws while this returns true. */
  exportFails: () => boolean;
  /** Called inside importState after the state was replaced (e.g. to crash the node there). */
  afterImport: (node: string, index: number) => void;
}

/**
 * A durable application per node id (it survives crashes, as an application's own database would): the
 * payloads delivered on partition P, in order. Its state for a snapshot is that list.
 */
export class Apps {
  readonly state = new Map<string, string[]>();
  readonly imports: { node: string; index: number; at: number }[] = [];
  readonly exports: { node: string; index: number; at: number; ok: boolean }[] = [];
  readonly behaviour: Behaviour = { exportFails: () => false, afterImport: () => {} };
  now: () => number = () => 0;

  of(id: string): string[] {
    let s = this.state.get(id);
    if (s === undefined) {
      s = [];
      this.state.set(id, s);
    }
    return s;
  }

  transfer(id: string): StateTransfer {
    return {
      exportState: (partition, index) => {
        const ok = !this.behaviour.exportFails();
        this.exports.push({ node: id, index, at: this.now(), ok });
        if (!ok) throw new Error('export failed (test)');
        return partition === P ? text(JSON.stringify(this.of(id))) : new Uint8Array(0);
      },
      importState: (partition, index, state) => {
        this.imports.push({ node: id, index, at: this.now() });
        if (partition === P) this.state.set(id, JSON.parse(decoder.decode(state)) as string[]);
        this.behaviour.afterImport(id, index);
      },
    };
  }

  /** Follows live deliveries of a node incarnation. */
  attach(node: TestNode): void {
    node.raft.onReplicationReceived((partition, log) => {
      if (partition === P) this.of(node.id).push(decoder.decode(log.data));
      return true;
    });
  }
}

export function cluster(options: { transfer: boolean; compactAfterEntries?: number; extra?: Partial<RaftManagerOptions>; ids?: string[] }): { c: TestCluster; apps: Apps } {
  const apps = new Apps();
  const c = new TestCluster(options.ids ?? IDS, { compactAfterEntries: options.compactAfterEntries ?? 10, ...options.extra }, (id) =>
    options.transfer ? { stateTransfer: apps.transfer(id) } : {},
  );
  apps.now = () => c.clock.elapsed;
  for (const n of c.nodes) apps.attach(n);
  return { c, apps };
}

export async function write(c: TestCluster, leader: TestNode, from: number, to: number): Promise<void> {
  for (let i = from; i <= to; i++) {
    const r = await c.settle(leader.raft.replicateLogs(P, 'put', text(`v${i}`)));
    expect(r.status).toBe(RaftOperationStatus.Success);
  }
}

export async function checkpoint(c: TestCluster, leader: TestNode): Promise<number> {
  const r = await c.settle(leader.raft.replicateCheckpoint(P));
  expect(r.status).toBe(RaftOperationStatus.Success);
  return r.index;
}

export function firstIndex(n: TestNode): number {
  return n.raft.partitionStatus(P).firstIndex;
}


/**
 * A leader with a follower (`down`) that was crashed while the leader wrote, checkpointed and compacted
 * past what `down` holds. `down` is still crashed when this returns.
 */
export async function compactedPastDown(c: TestCluster, apps: Apps): Promise<{ leader: TestNode; down: TestNode }> {
  await c.start();
  const leader = await c.leader(P);
  const down = c.nodes.find((n) => n !== leader)!;
  await write(c, leader, 1, 5);
  await c.runUntil(() => apps.of(down.id).length === 5);
  c.crash(down.id);
  await write(c, leader, 6, 20);
  await checkpoint(c, leader);
  await write(c, leader, 21, 45);
  await c.runUntil(() => firstIndex(leader) > 10, 5_000);
  return { leader, down };
}
