import type { WalBatch } from '../../src/ports/wal.js';
import { RaftOperationStatus } from '../../src/runtime/status.js';
import { recordBatches, TestCluster, text } from './cluster-harness.js';

/** A batch that only moves commit indexes: no entries, no snapshot. */
function commitOnly(batch: WalBatch): boolean {
  return batch.writes.length > 0 && batch.writes.every((w) => w.entries.length === 0 && w.snapshot === undefined);
}

describe('a follower\'s commit index rides with its next write', () => {
  test('no follower fsync holds only a commit index while entries keep arriving; the last one lands by the next tick', async () => {
    const cluster = new TestCluster(['a', 'b', 'c']);
    await cluster.start();
    const leader = await cluster.leader(1);
    await cluster.runFor(50);
    const followers = cluster.nodes.filter((n) => n !== leader);
    const batches = followers.map(recordBatches);
    const leaderBatches = recordBatches(leader);
    const values = Array.from({ length: 20 }, (_, i) => `v${i}`);
    for (const v of values) {
      const r = await cluster.settle(leader.raft.replicateLogs(1, 'Put', text(v)));
      expect(r.status).toBe(RaftOperationStatus.Success);
    }
    // Each proposal's commit reaches the followers with the next proposal's Append (or a heartbeat); they
    // wrote it with those entries instead of syncing it alone (a heartbeat of the 10 ms ticks may still
    // bring one while the cluster is idle, and an idle WAL writes it at once).
    for (const list of batches) {
      const commitOnlyBatches = list.filter(commitOnly).length;
      expect(list.length - commitOnlyBatches).toBeGreaterThanOrEqual(values.length);
      expect(commitOnlyBatches).toBeLessThan(values.length / 4);
    }
    // The leader's own commit index is not lazy: its application waits for it.
    expect(leaderBatches.filter(commitOnly).length).toBeGreaterThanOrEqual(values.length);
    const before = cluster.clock.elapsed;
    await cluster.runUntil(() => followers.every((n) => (n.delivered.get(1) ?? []).join() === values.join()), 1_000);
    // The follower applied the last value within about one tick (10 ms) of its commit.
    expect(cluster.clock.elapsed - before).toBeLessThanOrEqual(15);
  });

  test('a follower that crashes with a commit index not yet written replays exactly what it delivered', async () => {
    const cluster = new TestCluster(['a', 'b', 'c']);
    await cluster.start();
    const leader = await cluster.leader(1);
    await cluster.runFor(50);
    const follower = cluster.nodes.find((n) => n !== leader)!;
    for (const v of ['a1', 'a2', 'a3']) {
      const r = await cluster.settle(leader.raft.replicateLogs(1, 'Put', text(v)));
      expect(r.status).toBe(RaftOperationStatus.Success);
    }
    // Crash right after the last commit: the follower may hold it only in a lazy write.
    const delivered = [...(follower.delivered.get(1) ?? [])];
    cluster.crash(follower.id);
    const restarted = await cluster.restart(follower.id, 7);
    expect(restarted.restored.get(1) ?? []).toEqual(delivered);
    await cluster.runUntil(() => [...(restarted.restored.get(1) ?? []), ...(restarted.delivered.get(1) ?? [])].join() === 'a1,a2,a3');
  });
});
