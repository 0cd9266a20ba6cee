import { RaftOperationStatus } from '../../src/runtime/status.js';
import { text } from './cluster-harness.js';
import { checkpoint, cluster, compactedPastDown, firstIndex, P, write } from './snapshot-apps.js';

describe('compaction', () => {
  it('compacts memory and WAL through the last checkpoint once enough entries were applied', async () => {
    const { c } = cluster({ transfer: false });
    await c.start();
    const leader = await c.leader(P);
    await write(c, leader, 1, 15);
    const cp = await checkpoint(c, leader);
    await write(c, leader, 16, 40);
    await c.runUntil(() => c.nodes.every((n) => firstIndex(n) === cp + 1), 5_000);
    for (const n of c.nodes) {
      expect(await n.wal.firstIndex(P)).toBe(cp + 1);
      expect(await n.wal.logBase(P)).toEqual({ index: cp, term: n.raft.partitionStatus(P).term });
    }
  });

  it('never compacts without a checkpoint, nor with compactAfterEntries 0', async () => {
    for (const every of [10, 0]) {
      const { c } = cluster({ transfer: false, compactAfterEntries: every });
      await c.start();
      const leader = await c.leader(P);
      await write(c, leader, 1, 30);
      if (every === 0) await checkpoint(c, leader);
      await write(c, leader, 31, 45);
      await c.runFor(500);
      for (const n of c.nodes) expect(firstIndex(n)).toBe(1);
    }
  });

  it('a retention hold keeps its entries until released', async () => {
    const { c } = cluster({ transfer: false });
    await c.start();
    const leader = await c.leader(P);
    await write(c, leader, 1, 5);
    const hold = leader.raft.acquireRetentionHold(P, 4);
    expect(hold).toMatchObject({ partition: P, fromIndex: 4 });
    await write(c, leader, 6, 20);
    const cp = await checkpoint(c, leader);
    await write(c, leader, 21, 45);
    await c.runUntil(() => c.nodes.every((n) => n === leader || firstIndex(n) === cp + 1), 5_000);
    expect(firstIndex(leader)).toBe(4);
    expect((await leader.wal.readEntries(P, 1, 4)).map((e) => e.index)).toEqual([4]);
    hold.release();
    hold.release();
    await write(c, leader, 46, 60);
    await c.runUntil(() => firstIndex(leader) === cp + 1, 5_000);
    expect(() => leader.raft.acquireRetentionHold(P, 0)).toThrow(/fromIndex/);
  });

  it('without state transfer, a member that is down holds compaction at what it has, then catches up from the log', async () => {
    const { c, apps } = cluster({ transfer: false });
    await c.start();
    const leader = await c.leader(P);
    const down = c.nodes.find((n) => n !== leader)!;
    await write(c, leader, 1, 5);
    await c.runUntil(() => down.raft.partitionStatus(P).appliedIndex >= leader.raft.partitionStatus(P).commitIndex);
    const held = down.raft.partitionStatus(P).lastIndex;
    c.crash(down.id);
    const cp = await checkpoint(c, leader);
    await write(c, leader, 6, 40);
    await c.runFor(300);
    for (const n of c.nodes) if (n !== down) expect(firstIndex(n)).toBeLessThanOrEqual(held + 1);
    const back = await c.restart(down.id, 2);
    apps.attach(back);
    await c.runUntil(() => back.raft.partitionStatus(P).appliedIndex === leader.raft.partitionStatus(P).appliedIndex, 5_000);
    await write(c, leader, 41, 55);
    await c.runUntil(() => c.nodes.every((n) => firstIndex(n) === cp + 1), 5_000);
  });

  it('a restart after compaction replays from the checkpoint on, pending proposals from before it included', async () => {
    const { c } = cluster({ transfer: false });
    await c.start();
    const leader = await c.leader(P);
    await write(c, leader, 1, 5);
    const pending = await c.settle(leader.raft.replicateLogs(P, 'put', text('pending'), { autoCommit: false }));
    expect(pending.status).toBe(RaftOperationStatus.Success);
    await write(c, leader, 6, 12);
    const cp = await checkpoint(c, leader);
    await write(c, leader, 13, 14);
    expect((await c.settle(leader.raft.commitLogs(P, pending.ticket!))).status).toBe(RaftOperationStatus.Success);
    await write(c, leader, 15, 40);
    const follower = c.nodes.find((n) => n !== leader)!;
    await c.runUntil(() => firstIndex(follower) > 1 && follower.raft.partitionStatus(P).appliedIndex === leader.raft.partitionStatus(P).appliedIndex, 5_000);
    // The pending entry precedes the checkpoint: compaction stops below it.
    expect(firstIndex(follower)).toBeLessThan(cp);
    c.crash(follower.id);
    const back = await c.restart(follower.id, 3);
    expect(back.restored.get(P)).toEqual(['v13', 'v14', 'pending', ...Array.from({ length: 26 }, (_, i) => `v${i + 15}`)]);
  });
});

describe('snapshots', () => {
  it('a member behind the compacted log is caught up with the application state and continues from the log', async () => {
    const { c, apps } = cluster({ transfer: true });
    const { leader, down } = await compactedPastDown(c, apps);
    const back = await c.restart(down.id, 2);
    apps.attach(back);
    await c.runUntil(() => apps.imports.some((i) => i.node === down.id), 5_000);
    await write(c, leader, 46, 50);
    await c.runUntil(() => c.nodes.every((n) => apps.of(n.id).length === 50), 5_000);
    const expected = Array.from({ length: 50 }, (_, i) => `v${i + 1}`);
    for (const n of c.nodes) expect(apps.of(n.id)).toEqual(expected);
    const installed = apps.imports.find((i) => i.node === down.id)!;
    expect(await back.wal.logBase(P)).toMatchObject({ index: expect.any(Number) });
    expect((await back.wal.logBase(P)).index).toBeGreaterThanOrEqual(installed.index);
    expect(apps.exports.some((e) => e.node === leader.id && e.index === installed.index)).toBe(true);
  });

  it('a member whose data directory was deleted rejoins through a snapshot', async () => {
    const { c, apps } = cluster({ transfer: true });
    await c.start();
    const leader = await c.leader(P);
    await write(c, leader, 1, 15);
    await checkpoint(c, leader);
    await write(c, leader, 16, 40);
    await c.runUntil(() => c.nodes.every((n) => firstIndex(n) > 1), 5_000);
    const wiped = c.nodes.find((n) => n !== leader)!;
    apps.state.delete(wiped.id);
    const fresh = await c.wipeAndRestart(wiped.id, 4);
    apps.attach(fresh);
    await write(c, leader, 41, 45);
    await c.runUntil(() => apps.of(wiped.id).length === 45, 5_000);
    expect(apps.of(wiped.id)).toEqual(apps.of(leader.id));
    expect(apps.imports.filter((i) => i.node === wiped.id).length).toBeGreaterThanOrEqual(1);
  });

  it('a snapshot carries proposals still pending, so a later commitLogs delivers them on the caught-up member', async () => {
    const { c, apps } = cluster({ transfer: true });
    await c.start();
    const leader = await c.leader(P);
    const down = c.nodes.find((n) => n !== leader)!;
    c.crash(down.id);
    // Enough before the pending proposal that the compaction floor (just below it) passes the crashed member.
    await write(c, leader, 1, 3);
    const pending = await c.settle(leader.raft.replicateLogs(P, 'put', text('late'), { autoCommit: false }));
    await write(c, leader, 4, 15);
    await checkpoint(c, leader);
    await write(c, leader, 16, 40);
    const back = await c.restart(down.id, 5);
    apps.attach(back);
    await c.runUntil(() => apps.imports.some((i) => i.node === down.id), 5_000);
    expect((await c.settle(leader.raft.commitLogs(P, pending.ticket!))).status).toBe(RaftOperationStatus.Success);
    await c.runUntil(() => apps.of(leader.id).at(-1) === 'late', 5_000);
    await c.runUntil(() => apps.of(down.id).length === apps.of(leader.id).length, 5_000);
    expect(apps.of(down.id)).toEqual(apps.of(leader.id));
    // And it survives a restart of the caught-up member: the pending proposal came with the snapshot.
    c.crash(down.id);
    const again = await c.restart(down.id, 6);
    expect(again.restored.get(P)?.at(-1)).toBe('late');
  });
});
