import { RaftOperationStatus } from '../../src/runtime/status.js';
import { InvalidArgumentError } from '../../src/runtime/validation.js';
import { TestCluster, text } from './cluster-harness.js';

const NODES = ['n1', 'n2', 'n3'];

async function started(options = {}): Promise<TestCluster> {
  const cluster = new TestCluster(NODES, options);
  await cluster.start();
  return cluster;
}

describe('RaftManager on a 3-node in-memory cluster', () => {
  test('every partition elects a leader, and a fresh cluster spreads leadership over the nodes', async () => {
    const cluster = await started();
    const leaders = [];
    for (const p of [0, 1, 2, 3]) leaders.push((await cluster.leader(p)).id);
    expect(new Set(leaders.slice(1)).size).toBe(3);
    for (const p of [1, 2, 3]) {
      for (const n of cluster.nodes) expect(await cluster.settle(n.raft.waitForLeader(p))).toBe(leaders[p]);
    }
  });

  test('replicated entries reach every node in log order, one or many per call', async () => {
    const cluster = await started();
    const leader = await cluster.leader(2);
    const one = await cluster.settle(leader.raft.replicateLogs(2, 'Put', text('a')));
    expect(one.status).toBe(RaftOperationStatus.Success);
    const many = await cluster.settle(leader.raft.replicateLogs(2, 'Put', [text('b'), text('c'), text('d')]));
    expect(many.status).toBe(RaftOperationStatus.Success);
    expect(many.lastIndex).toBe(one.lastIndex + 3);
    await cluster.runUntil(() => cluster.nodes.every((n) => (n.delivered.get(2) ?? []).length === 4));
    for (const n of cluster.nodes) expect(n.delivered.get(2)).toEqual(['a', 'b', 'c', 'd']);
    for (const n of cluster.nodes) expect(n.delivered.get(1)).toBeUndefined();
  });

  test('a follower answers NodeIsNotLeader and appends nothing', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    const follower = cluster.nodes.find((n) => n !== leader)!;
    const before = follower.raft.partitionStatus(1).lastIndex;
    const result = await cluster.settle(follower.raft.replicateLogs(1, 'Put', text('x')));
    expect(result.status).toBe(RaftOperationStatus.NodeIsNotLeader);
    expect(follower.raft.partitionStatus(1).lastIndex).toBe(before);
  });

  test('bad arguments throw errors naming the problem, and nothing is half-applied', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    const r = leader.raft;
    const before = r.partitionStatus(1).lastIndex;
    await expect(r.replicateLogs(0, 'Put', text('x'))).rejects.toThrow(/0 is the system partition/);
    await expect(r.replicateLogs(9, 'Put', text('x'))).rejects.toThrow(/9 does not exist/);
    await expect(r.replicateLogs(1.5, 'Put', text('x'))).rejects.toThrow(InvalidArgumentError);
    await expect(r.replicateLogs(1, '', text('x'))).rejects.toThrow(/type must be a non-empty string/);
    await expect(r.replicateLogs(1, 'Put', 'x' as unknown as Uint8Array)).rejects.toThrow(/data must be a Uint8Array/);
    await expect(r.replicateLogs(1, 'Put', [text('ok'), 'no' as unknown as Uint8Array])).rejects.toThrow(/data\[1\] must be a Uint8Array/);
    await expect(r.replicateLogs(1, 'Put', [])).rejects.toThrow(/at least one entry/);
    await expect(r.replicateLogs(1, 'Put', text('x'), { timeoutMs: -1 })).rejects.toThrow(/timeoutMs must be a finite number/);
    await expect(r.commitLogs(1, { physical: -1, counter: 0 })).rejects.toThrow(/ticket/);
    expect(() => r.amILeaderQuick(-1)).toThrow(/partition must be a partition id/);
    await cluster.runFor(200);
    expect(r.partitionStatus(1).lastIndex).toBe(before);
    for (const n of cluster.nodes) expect(n.delivered.get(1)).toBeUndefined();
  });

  test('autoCommit false: entries wait for commitLogs, and rollbackLogs discards them everywhere', async () => {
    const cluster = await started();
    const leader = await cluster.leader(3);
    const kept = await cluster.settle(leader.raft.replicateLogs(3, 'Put', [text('k1'), text('k2')], { autoCommit: false }));
    const dropped = await cluster.settle(leader.raft.replicateLogs(3, 'Put', text('d1'), { autoCommit: false }));
    expect(kept.status).toBe(RaftOperationStatus.Success);
    expect(kept.ticket).not.toBeNull();
    await cluster.runFor(200);
    for (const n of cluster.nodes) expect(n.delivered.get(3)).toBeUndefined();

    await cluster.settle(leader.raft.replicateLogs(3, 'Put', text('auto')));
    const rolled = await cluster.settle(leader.raft.rollbackLogs(3, dropped.ticket!));
    expect(rolled.status).toBe(RaftOperationStatus.Success);
    const committed = await cluster.settle(leader.raft.commitLogs(3, kept.ticket!));
    expect(committed.status).toBe(RaftOperationStatus.Success);
    await cluster.runUntil(() => cluster.nodes.every((n) => (n.delivered.get(3) ?? []).length === 3));
    for (const n of cluster.nodes) expect(n.delivered.get(3)).toEqual(['auto', 'k1', 'k2']);

    const again = await cluster.settle(leader.raft.commitLogs(3, dropped.ticket!));
    expect(again.status).toBe(RaftOperationStatus.ProposalNotFound);
  });

  test('a pending proposal nobody resolves is rolled back by the leader after pendingProposalTimeoutMs', async () => {
    const cluster = await started({ pendingProposalTimeoutMs: 500 });
    const leader = await cluster.leader(1);
    const pending = await cluster.settle(leader.raft.replicateLogs(1, 'Put', text('late'), { autoCommit: false }));
    expect(pending.status).toBe(RaftOperationStatus.Success);
    await cluster.runFor(1500);
    const commit = await cluster.settle(leader.raft.commitLogs(1, pending.ticket!));
    expect(commit.status).toBe(RaftOperationStatus.ProposalNotFound);
    for (const n of cluster.nodes) expect(n.delivered.get(1)).toBeUndefined();
  });

  test('a restarted node replays exactly what it delivered, skipping rolled-back and pending entries', async () => {
    const cluster = await started();
    const leader = await cluster.leader(2);
    const follower = cluster.nodes.find((n) => n !== leader)!;
    await cluster.settle(leader.raft.replicateLogs(2, 'Put', text('one')));
    const rb = await cluster.settle(leader.raft.replicateLogs(2, 'Put', text('rolled-back'), { autoCommit: false }));
    await cluster.settle(leader.raft.rollbackLogs(2, rb.ticket!));
    await cluster.settle(leader.raft.replicateLogs(2, 'Put', text('still-pending'), { autoCommit: false }));
    const c = await cluster.settle(leader.raft.replicateLogs(2, 'Put', text('two'), { autoCommit: false }));
    await cluster.settle(leader.raft.commitLogs(2, c.ticket!));
    await cluster.settle(leader.raft.replicateLogs(2, 'Put', text('three')));
    await cluster.runUntil(() => (follower.delivered.get(2) ?? []).length === 3);
    const before = follower.delivered.get(2)!;
    expect(before).toEqual(['one', 'two', 'three']);

    cluster.crash(follower.id);
    const again = await cluster.restart(follower.id, 2);
    expect(again.restored.get(2)).toEqual(before);
    await cluster.settle(leader.raft.replicateLogs(2, 'Put', text('four')));
    await cluster.runUntil(() => (again.delivered.get(2) ?? []).length === 1);
    expect(again.delivered.get(2)).toEqual(['four']);
  });

  test('after a checkpoint, a restart replays only what was delivered after it', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    await cluster.settle(leader.raft.replicateLogs(1, 'Put', text('before')));
    const cp = await cluster.settle(leader.raft.replicateCheckpoint(1));
    expect(cp.status).toBe(RaftOperationStatus.Success);
    await cluster.settle(leader.raft.replicateLogs(1, 'Put', text('after')));
    const follower = cluster.nodes.find((n) => n !== leader)!;
    await cluster.runUntil(() => (follower.delivered.get(1) ?? []).length === 2);
    cluster.crash(follower.id);
    const again = await cluster.restart(follower.id, 3);
    expect(again.restored.get(1)).toEqual(['after']);
  });

  test('when the leader stops, a new leader takes over and nothing acknowledged is lost', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    for (let i = 0; i < 20; i++) {
      const r = await cluster.settle(leader.raft.replicateLogs(1, 'Put', text(`v${i}`)));
      expect(r.status).toBe(RaftOperationStatus.Success);
    }
    cluster.crash(leader.id);
    const survivors = cluster.nodes.filter((n) => n !== leader);
    let next = survivors[0]!;
    await cluster.runUntil(() => {
      const l = survivors.find((n) => n.raft.amILeaderQuick(1));
      if (l !== undefined) next = l;
      return l !== undefined;
    });
    const r = await cluster.settle(next.raft.replicateLogs(1, 'Put', text('after-failover')));
    expect(r.status).toBe(RaftOperationStatus.Success);
    await cluster.runUntil(() => survivors.every((n) => (n.delivered.get(1) ?? []).length === 21));
    const expected = [...Array.from({ length: 20 }, (_, i) => `v${i}`), 'after-failover'];
    for (const n of survivors) expect(n.delivered.get(1)).toEqual(expected);
  });

  test('confirmLeadership succeeds on the leader, fails on a follower and on an isolated leader', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    const follower = cluster.nodes.find((n) => n !== leader)!;
    expect(await cluster.settle(leader.raft.confirmLeadership(1))).toBe(true);
    expect(await cluster.settle(follower.raft.confirmLeadership(1))).toBe(false);
    cluster.network.isolate(leader.id);
    expect(await cluster.settle(leader.raft.confirmLeadership(1), 20_000)).toBe(false);
  });

  test('transferLeadership hands a partition to another node', async () => {
    const cluster = await started();
    const leader = await cluster.leader(2);
    const target = cluster.nodes.find((n) => n !== leader)!;
    const status = await cluster.settle(leader.raft.transferLeadership(2, target.id));
    expect(status).toBe(RaftOperationStatus.Success);
    expect(target.raft.amILeaderQuick(2)).toBe(true);
    const r = await cluster.settle(target.raft.replicateLogs(2, 'Put', text('new-leader')));
    expect(r.status).toBe(RaftOperationStatus.Success);
  });

  test('an isolated leader answers ProposalTimeout instead of waiting forever', async () => {
    const cluster = await started({ proposalTimeoutMs: 300 });
    const leader = await cluster.leader(3);
    cluster.network.isolate(leader.id);
    const r = await cluster.settle(leader.raft.replicateLogs(3, 'Put', text('lost')), 5_000);
    expect([RaftOperationStatus.ProposalTimeout, RaftOperationStatus.NodeIsNotLeader]).toContain(r.status);
  });

  test('a full proposal queue answers ProposalQueueFull', async () => {
    const cluster = await started({ maxQueuedProposals: 5 });
    const leader = await cluster.leader(1);
    const calls = Array.from({ length: 12 }, (_, i) => leader.raft.replicateLogs(1, 'Put', text(`q${i}`)));
    const results = await cluster.settle(Promise.all(calls));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === RaftOperationStatus.Success)).toHaveLength(5);
    expect(statuses.filter((s) => s === RaftOperationStatus.ProposalQueueFull)).toHaveLength(7);
  });

  test('one WAL append carries the writes of many partitions, and one frame carries many partitions to a peer', async () => {
    const cluster = await started();
    for (const p of [1, 2, 3]) await cluster.leader(p);
    const node = cluster.nodes[0]!;
    const batches: number[] = [];
    const append = node.wal.append.bind(node.wal);
    node.wal.append = (batch) => {
      batches.push(new Set(batch.writes.map((w) => w.partition)).size);
      return append(batch);
    };
    const frames: number[] = [];
    cluster.network.setLinkFilter((from, _to, messages) => {
      if (from === node.id) frames.push(new Set(messages.map((m) => m.partition)).size);
      return true;
    });
    await cluster.runFor(500);
    expect(Math.max(...batches)).toBeGreaterThan(1);
    expect(Math.max(...frames)).toBeGreaterThan(1);
  });

  test('onLeaderChanged reports leaders, and unsubscribing stops the reports', async () => {
    const cluster = new TestCluster(NODES);
    const seen: Array<[number, string]> = [];
    const off = cluster.nodes[0]!.raft.onLeaderChanged((p, leader) => seen.push([p, leader]));
    await cluster.start();
    for (const p of [0, 1, 2, 3]) await cluster.leader(p);
    await cluster.runFor(100);
    expect(new Set(seen.filter(([, l]) => l !== '').map(([p]) => p))).toEqual(new Set([0, 1, 2, 3]));
    off();
    const count = seen.length;
    const leader = await cluster.leader(1);
    await cluster.settle(leader.raft.transferLeadership(1, cluster.nodes.find((n) => n !== leader)!.id));
    expect(seen.length).toBe(count);
  });

  test('onRestoreStarted and onRestoreFinished bracket the replay of every partition, in order', async () => {
    const cluster = new TestCluster(NODES);
    const events: string[] = [];
    const n = cluster.nodes[0]!;
    n.raft.onRestoreStarted((p) => events.push(`start ${p}`));
    n.raft.onLogRestored((p) => {
      events.push(`entry ${p}`);
      return true;
    });
    n.raft.onRestoreFinished((p) => events.push(`finish ${p}`));
    await cluster.start();
    expect(events).toEqual(['start 0', 'finish 0', 'start 1', 'finish 1', 'start 2', 'finish 2', 'start 3', 'finish 3']);
    const leader = await cluster.leader(1);
    await cluster.settle(leader.raft.replicateLogs(1, 'Put', text('x')));
    await cluster.runUntil(() => (n.delivered.get(1) ?? []).length === 1);
    cluster.crash(n.id);
    const again = await cluster.restart(n.id, 4);
    expect(again.restored.get(1)).toEqual(['x']);
    expect(again.raft.partitionStatus(1).restoring).toBe(false);
  });
});

describe('backpressure from a slow application', () => {
  test('entries waiting for a slow async handler count against maxQueuedProposals', async () => {
    const cluster = new TestCluster(NODES, { maxQueuedProposals: 4 });
    await cluster.start();
    const leader = await cluster.leader(1);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    leader.raft.onReplicationReceived(() => gate.then(() => true));
    const first = leader.raft.replicateLogs(1, 'Put', [text('a'), text('b'), text('c')]);
    await cluster.runFor(300);
    const refused = await cluster.settle(leader.raft.replicateLogs(1, 'Put', [text('d'), text('e')]));
    expect(refused.status).toBe(RaftOperationStatus.ProposalQueueFull);
    release();
    expect((await cluster.settle(first)).status).toBe(RaftOperationStatus.Success);
    const accepted = await cluster.settle(leader.raft.replicateLogs(1, 'Put', [text('d'), text('e')]));
    expect(accepted.status).toBe(RaftOperationStatus.Success);
  });
});

describe('learners', () => {
  test('a learner receives every entry but never leads, and the voters keep quorum without it', async () => {
    const cluster = new TestCluster(['n1', 'n2', 'n3', 'n4'], { learners: ['n4'] });
    await cluster.start();
    const learner = cluster.node('n4');
    for (const p of [0, 1, 2, 3]) expect((await cluster.leader(p)).id).not.toBe('n4');
    const leader = await cluster.leader(1);
    const first = await cluster.settle(leader.raft.replicateLogs(1, 'Put', text('to-all')));
    expect(first.status).toBe(RaftOperationStatus.Success);
    await cluster.runUntil(() => (learner.delivered.get(1) ?? []).length === 1);
    cluster.crash('n4');
    const second = await cluster.settle(leader.raft.replicateLogs(1, 'Put', text('without-learner')));
    expect(second.status).toBe(RaftOperationStatus.Success);
    await cluster.runFor(2_000);
    for (const p of [1, 2, 3]) expect((await cluster.leader(p)).id).not.toBe('n4');
  });

  test('the learners option is checked against the discovery list', async () => {
    const cluster = new TestCluster(NODES, { learners: ['n9'] });
    await expect(cluster.nodes[0]!.raft.joinCluster()).rejects.toThrow(/options.learners names "n9"/);
  });
});

describe('members()', () => {
  it('is empty before joinCluster and lists the discovery nodes after it', async () => {
    const { InMemoryNetwork } = await import('../../src/memory/in-memory-network.js');
    const { InMemoryWal } = await import('../../src/memory/in-memory-wal.js');
    const { StaticDiscovery } = await import('../../src/memory/static-discovery.js');
    const { RaftManager } = await import('../../src/runtime/raft-manager.js');
    const network = new InMemoryNetwork();
    const raft = new RaftManager({ node: 'a', wal: new InMemoryWal(), transport: network.transport('a'), discovery: new StaticDiscovery(['a', 'b', 'c']) });
    expect(raft.members()).toEqual([]);
    await raft.joinCluster();
    expect(raft.members()).toEqual(['a', 'b', 'c']);
    await raft.leaveCluster();
  });
});
