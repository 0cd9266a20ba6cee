import type { WalBatch } from '../../src/ports/wal.js';
import { RaftOperationStatus } from '../../src/runtime/status.js';
import { InvalidArgumentError } from '../../src/runtime/validation.js';
import { recordBatches, TestCluster, text, type TestNode } from './cluster-harness.js';

/** A batch that carries entries or a snapshot: what must always be fsynced. */
const carriesLog = (batch: WalBatch): boolean => batch.writes.some((w) => w.entries.length > 0 || w.snapshot !== undefined);

const VALUES = ['v1', 'v2', 'v3', 'v4', 'v5'];

/** A 3-node cluster that commits VALUES on partition 1, recording the leader's and followers' batches meanwhile. */
async function replicated(syncCommitIndex: boolean | undefined): Promise<{ cluster: TestCluster; leader: TestNode; batches: Map<string, WalBatch[]> }> {
  const cluster = new TestCluster(['a', 'b', 'c'], syncCommitIndex === undefined ? {} : { syncCommitIndex });
  await cluster.start();
  const leader = await cluster.leader(1);
  await cluster.runFor(50);
  const batches = new Map(cluster.nodes.map((n) => [n.id, recordBatches(n)]));
  for (const v of VALUES) {
    const r = await cluster.settle(leader.raft.replicateLogs(1, 'Put', text(v)));
    expect(r.status).toBe(RaftOperationStatus.Success);
  }
  return { cluster, leader, batches };
}

describe('RaftManagerOptions.syncCommitIndex', () => {
  test('by default every batch is fsynced, the leader\'s commit index too, and a crash replays exactly what was delivered', async () => {
    const { cluster, leader, batches } = await replicated(undefined);
    for (const list of batches.values()) expect(list.every((b) => b.sync)).toBe(true);
    const delivered = [...(leader.delivered.get(1) ?? [])];
    expect(delivered).toEqual(VALUES);
    // InMemoryWal.crash drops every write not fsynced: the power-loss case.
    cluster.crash(leader.id);
    const restarted = await cluster.restart(leader.id, 11);
    expect(restarted.restored.get(1) ?? []).toEqual(delivered);
  });

  test('off, a commit-only write goes without an fsync while every write of entries keeps one', async () => {
    const { leader, batches } = await replicated(false);
    const leaderBatches = batches.get(leader.id)!;
    const unsynced = leaderBatches.filter((b) => !b.sync);
    // One commit round per proposal: the leader's commit index of each went to its WAL unsynced.
    expect(unsynced.length).toBeGreaterThanOrEqual(VALUES.length);
    expect(unsynced.every((b) => !carriesLog(b) && b.writes.every((w) => w.hardState !== undefined))).toBe(true);
    for (const list of batches.values()) {
      expect(list.filter(carriesLog).length).toBeGreaterThan(0);
      expect(list.filter(carriesLog).every((b) => b.sync)).toBe(true);
    }
  });

  test('off, a killed process (the OS keeps what the WAL was handed) still replays exactly what was delivered', async () => {
    const { cluster, leader } = await replicated(false);
    const delivered = [...(leader.delivered.get(1) ?? [])];
    expect(delivered).toEqual(VALUES);
    // Right after the last delivery: its commit index went to the WAL unsynced, and must have landed.
    cluster.crash(leader.id, 'in-flight');
    const restarted = await cluster.restart(leader.id, 11);
    expect(restarted.restored.get(1) ?? []).toEqual(delivered);
  });

  test('off, a power loss may cut the replay short of what was delivered; the rest is delivered again once the node rejoins', async () => {
    const { cluster, leader } = await replicated(false);
    const delivered = [...(leader.delivered.get(1) ?? [])];
    expect(delivered).toEqual(VALUES);
    cluster.crash(leader.id);
    const restarted = await cluster.restart(leader.id, 11);
    const restored = restarted.restored.get(1) ?? [];
    // The last commit index was never fsynced: the replay stops before the last value...
    expect(restored.length).toBeLessThan(delivered.length);
    expect(delivered.slice(0, restored.length)).toEqual(restored);
    // ...but the entries are in the WAL, and the partition's (new) leader brings the commit index back.
    await cluster.runUntil(() => [...restored, ...(restarted.delivered.get(1) ?? [])].join() === VALUES.join());
    // Nothing acknowledged was lost, and the others deliver the same sequence.
    const others = cluster.nodes.filter((x) => x !== restarted);
    await cluster.runUntil(() => others.every((n) => (n.delivered.get(1) ?? []).length >= VALUES.length));
    for (const n of others) expect(n.delivered.get(1)).toEqual(VALUES);
  });

  test('must be a boolean, and so must syncWal: anything else throws naming the option', () => {
    expect(() => new TestCluster(['a'], { syncCommitIndex: 'no' as unknown as boolean })).toThrow(InvalidArgumentError);
    expect(() => new TestCluster(['a'], { syncCommitIndex: 'no' as unknown as boolean })).toThrow(/options\.syncCommitIndex must be true or false, got "no"/);
    expect(() => new TestCluster(['a'], { syncWal: 1 as unknown as boolean })).toThrow(/options\.syncWal must be true or false, got number 1/);
  });
});
