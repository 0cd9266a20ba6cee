/**
 * Review tests for the runtime (lifecycle, proposals, autoCommit false, restore, leadership, async
 * handlers). Everything runs on the harness's virtual time; no real sleeps.
 */
import { getEventListeners } from 'node:events';
import type { Clock } from '../../src/ports/clock.js';
import type { HLCTimestamp } from '../../src/hlc/timestamp.js';
import { MessageType } from '../../src/raft/message.js';
import { RaftOperationStatus } from '../../src/runtime/status.js';
import { TestCluster, text, type TestNode } from './cluster-harness.js';

const NODES = ['n1', 'n2', 'n3'];
const decoder = new TextDecoder();

async function started(options = {}): Promise<TestCluster> {
  const cluster = new TestCluster(NODES, options);
  await cluster.start();
  return cluster;
}

function others(cluster: TestCluster, node: TestNode): TestNode[] {
  return cluster.nodes.filter((n) => n.id !== node.id);
}

/** Observes a promise without awaiting it. */
interface Tracked<T> {
  done: boolean;
  value: T | undefined;
  error: unknown;
}
function track<T>(promise: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { done: false, value: undefined, error: undefined };
  promise.then(
    (v) => {
      t.done = true;
      t.value = v;
    },
    (e: unknown) => {
      t.done = true;
      t.error = e;
    },
  );
  return t;
}

/** A deferred promise the test resolves by hand. */
function deferred<T = boolean>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

// ---------------------------------------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------------------------------------

describe('review: lifecycle', () => {
  test('joinCluster twice rejects the second call and leaves the node working', async () => {
    const cluster = await started();
    const n = cluster.nodes[0]!;
    await expect(n.raft.joinCluster()).rejects.toThrow(/already called/);
    const leader = await cluster.leader(1);
    const r = await cluster.settle(leader.raft.replicateLogs(1, 'Put', text('x')));
    expect(r.status).toBe(RaftOperationStatus.Success);
  });

  test('replicateLogs, commitLogs and replicateCheckpoint after leaveCluster answer a status', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    const pending = await cluster.settle(leader.raft.replicateLogs(1, 'Put', text('p'), { autoCommit: false }));
    await cluster.settle(leader.raft.leaveCluster());
    expect((await cluster.settle(leader.raft.replicateLogs(1, 'Put', text('x')))).status).toBe(RaftOperationStatus.Errored);
    expect((await cluster.settle(leader.raft.replicateCheckpoint(1))).status).toBe(RaftOperationStatus.Errored);
    expect((await cluster.settle(leader.raft.commitLogs(1, pending.ticket!))).status).toBe(RaftOperationStatus.Errored);
    await expect(leader.raft.joinCluster()).rejects.toThrow(/already called/);
  });

  // BUG: Partition.confirmLeadership checks isLeader() (the Raft object still says leader after stop())
  // and enqueues a task on the stopped executor, which drops it: the promise never settles.
  test('confirmLeadership after leaveCluster settles (false) instead of hanging', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    await cluster.settle(leader.raft.leaveCluster());
    const t = track(leader.raft.confirmLeadership(1));
    await cluster.runFor(5_000);
    expect(t.done).toBe(true);
    expect(t.value).toBe(false);
  });

  // BUG: same root cause: Partition.transferLeadership enqueues on a stopped executor.
  test('transferLeadership after leaveCluster settles instead of hanging', async () => {
    const cluster = await started();
    const leader = await cluster.leader(2);
    const target = others(cluster, leader)[0]!;
    await cluster.settle(leader.raft.leaveCluster());
    const t = track(leader.raft.transferLeadership(2, target.id));
    await cluster.runFor(5_000);
    expect(t.done).toBe(true);
    expect(t.value).not.toBe(RaftOperationStatus.Success);
  });

  // BUG: a node that left still reports itself leader (amILeaderQuick / partitionStatus / waitForLeader).
  test('a node that left no longer claims leadership', async () => {
    const cluster = await started();
    const leader = await cluster.leader(3);
    await cluster.settle(leader.raft.leaveCluster());
    expect(leader.raft.amILeaderQuick(3)).toBe(false);
    expect(await cluster.settle(leader.raft.amILeader(3))).toBe(false);
  });

  test('leaveCluster while a WAL append is in flight: the waiting proposal gets Errored and leave resolves', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    // Hold the leader's WAL appends until released.
    const held: Array<() => void> = [];
    const append = leader.wal.append.bind(leader.wal);
    leader.wal.append = (batch) => new Promise<void>((resolve, reject) => {
      held.push(() => append(batch).then(resolve, reject));
    });
    const proposal = track(leader.raft.replicateLogs(1, 'Put', text('in-flight')));
    await cluster.runUntil(() => held.length > 0);
    const leave = track(leader.raft.leaveCluster());
    await cluster.runFor(10);
    expect(proposal.done).toBe(true);
    expect(proposal.value!.status).toBe(RaftOperationStatus.Errored);
    expect(leave.done).toBe(false); // waits for the append in flight
    for (const h of held.splice(0)) h();
    await cluster.runUntil(() => leave.done);
    expect(leave.error).toBeUndefined();
  });

  test('leaveCluster while an async onReplicationReceived handler is in flight: callers get Errored, no delivery after leave', async () => {
    const cluster = await started();
    const leader = await cluster.leader(2);
    const gate = deferred<boolean>();
    const seen: string[] = [];
    leader.raft.onReplicationReceived((_p, log) => {
      seen.push(decoder.decode(log.data));
      return seen.length === 1 ? gate.promise : true;
    });
    const first = track(leader.raft.replicateLogs(2, 'Put', text('a')));
    await cluster.runUntil(() => seen.length === 1);
    const second = track(leader.raft.replicateLogs(2, 'Put', text('b')));
    await cluster.runFor(50);
    await cluster.settle(leader.raft.leaveCluster());
    expect(second.done).toBe(true);
    expect(second.value!.status).toBe(RaftOperationStatus.Errored);
    gate.resolve(true);
    await cluster.runFor(100);
    expect(first.done).toBe(true);
    expect(seen).toEqual(['a']);
  });

  // BUG: RaftManager.leaveCluster returns at once when the state is already 'leaving', so a second caller's
  // `await leaveCluster()` resolves while the WAL is still open and the first leave still runs.
  test('a second concurrent leaveCluster does not resolve before the node has left', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    const held: Array<() => void> = [];
    const append = leader.wal.append.bind(leader.wal);
    leader.wal.append = (batch) => new Promise<void>((resolve, reject) => {
      held.push(() => append(batch).then(resolve, reject));
    });
    void leader.raft.replicateLogs(1, 'Put', text('x'));
    await cluster.runUntil(() => held.length > 0);
    const a = track(leader.raft.leaveCluster());
    const b = track(leader.raft.leaveCluster());
    await cluster.runFor(5);
    expect(a.done).toBe(false); // the first one waits for the WAL append
    expect(b.done).toBe(a.done);
    for (const h of held.splice(0)) h();
    await cluster.runUntil(() => a.done && b.done);
  });

  test('leaveCluster right after joinCluster (before it got far) leaves nothing running', async () => {
    const cluster = new TestCluster(NODES);
    const n = cluster.nodes[0]!;
    const join = track(n.raft.joinCluster());
    const leave = track(n.raft.leaveCluster());
    await cluster.runUntil(() => join.done && leave.done);
    await cluster.runFor(100);
    expect(n.clock.pending).toBe(0);
    await expect(n.wal.getMeta('probe')).rejects.toThrow(/closed/);
  });

  // BUG: joinCluster does not re-check the state after its awaits: a leaveCluster issued while joinCluster
  // is restoring completes ('left'), then joinCluster carries on, starts the transport (never stopped
  // again), arms the ticker and resolves as if the node had joined.
  test('leaveCluster during the restore phase of joinCluster: join does not succeed and the transport is released', async () => {
    const cluster = new TestCluster(NODES);
    const n = cluster.nodes[0]!;
    let leave: Tracked<void> | undefined;
    n.raft.onRestoreFinished((p) => {
      if (p === 3) leave = track(n.raft.leaveCluster());
    });
    const join = track(n.raft.joinCluster());
    await cluster.runUntil(() => join.done && leave !== undefined && leave.done);
    await cluster.runFor(100);
    // The node's transport must be stopped (a new incarnation can start its own)...
    await expect(cluster.network.transport(n.id).start(() => {})).resolves.toBeUndefined();
    // ...and joinCluster, interrupted by leaving, must not report success.
    expect(join.error).toBeDefined();
  });
});

// ---------------------------------------------------------------------------------------------------------
// WAL failure
// ---------------------------------------------------------------------------------------------------------

describe('review: WAL append failure', () => {
  function breakWal(node: TestNode): void {
    node.wal.append = () => Promise.reject(new Error('disk on fire'));
  }

  test('waiting proposals get Errored, later calls get Errored, leaveCluster still resolves', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    breakWal(leader);
    const r = await cluster.settle(leader.raft.replicateLogs(1, 'Put', text('lost')), 2_000);
    expect(r.status).toBe(RaftOperationStatus.Errored);
    const again = await cluster.settle(leader.raft.replicateLogs(1, 'Put', text('again')), 2_000);
    expect(again.status).toBe(RaftOperationStatus.Errored);
    await cluster.settle(leader.raft.leaveCluster(), 2_000);
    // The rest of the cluster carries on with a new leader.
    const survivors = others(cluster, leader);
    await cluster.runUntil(() => survivors.some((s) => s.raft.amILeaderQuick(1)), 5_000);
  });

  // BUG: after the node failed, confirmLeadership hangs (stopped executor) and amILeaderQuick keeps saying true.
  test('after a WAL failure, confirmLeadership answers false and the node no longer claims leadership', async () => {
    const cluster = await started();
    const leader = await cluster.leader(2);
    breakWal(leader);
    await cluster.settle(leader.raft.replicateLogs(2, 'Put', text('lost')), 2_000);
    const t = track(leader.raft.confirmLeadership(2));
    await cluster.runFor(5_000);
    expect(t.done).toBe(true);
    expect(t.value).toBe(false);
    expect(leader.raft.amILeaderQuick(2)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Proposals
// ---------------------------------------------------------------------------------------------------------

/** Drops every frame from `from` that carries entries for `partition` (the leader's log cannot spread). */
function dropAppendsFrom(cluster: TestCluster, from: string, partition: number): void {
  cluster.network.setLinkFilter((sender, _to, messages) =>
    !(sender === from && messages.some((m) => m.partition === partition && m.type === MessageType.Append && m.entries.length > 0)));
}

/**
 * Leader `a` of partition 1 appends `proposal` (not replicated), gets isolated and deposed; another node
 * leads and overwrites the suffix; `a` rejoins and takes the other leader's entries. Returns the new leader.
 */
async function overwriteSuffix(cluster: TestCluster, a: TestNode, before: number): Promise<TestNode> {
  await cluster.runUntil(() => a.raft.partitionStatus(1).lastIndex > before);
  cluster.network.isolate(a.id);
  const rest = others(cluster, a);
  let next: TestNode | undefined;
  await cluster.runUntil(() => {
    next = rest.find((n) => n.raft.amILeaderQuick(1));
    return next !== undefined && !a.raft.amILeaderQuick(1);
  });
  const s = next!.raft.partitionStatus(1);
  await cluster.runUntil(() => next!.raft.partitionStatus(1).commitIndex >= s.lastIndex);
  cluster.network.setLinkFilter(null);
  cluster.network.heal();
  await cluster.runUntil(() => a.raft.partitionStatus(1).term === next!.raft.partitionStatus(1).term &&
    a.raft.partitionStatus(1).lastIndex === next!.raft.partitionStatus(1).lastIndex);
  return next!;
}

describe('review: proposals', () => {
  test('a proposal overwritten by another leader answers LogsFromAnotherLeader', async () => {
    const cluster = await started({ proposalTimeoutMs: 60_000 });
    const a = await cluster.leader(1);
    expect(await cluster.settle(a.raft.confirmLeadership(1))).toBe(true); // its no-op is committed
    await cluster.runUntil(() => cluster.nodes.every((n) => n.raft.partitionStatus(1).commitIndex === a.raft.partitionStatus(1).lastIndex));
    const before = a.raft.partitionStatus(1).lastIndex;
    dropAppendsFrom(cluster, a.id, 1);
    const x = track(a.raft.replicateLogs(1, 'Put', [text('x1'), text('x2'), text('x3')]));
    const next = await overwriteSuffix(cluster, a, before);
    const y = await cluster.settle(next.raft.replicateLogs(1, 'Put', [text('y1'), text('y2'), text('y3')]));
    expect(y.status).toBe(RaftOperationStatus.Success);
    await cluster.runUntil(() => x.done);
    expect(x.value!.status).toBe(RaftOperationStatus.LogsFromAnotherLeader);
    await cluster.runUntil(() => cluster.nodes.every((n) => (n.delivered.get(1) ?? []).length === 3));
    for (const n of cluster.nodes) expect(n.delivered.get(1)).toEqual(['y1', 'y2', 'y3']);
  });

  // BUG: Partition.flushProposals keys waiters by the last index (`this.waiters.set(last, ...)`) and
  // overwrites an existing waiter for that index without settling it. When this node's uncommitted
  // entries were overwritten by another leader and this node leads again and reuses the index, the old
  // caller's promise is lost: it never settles, not even with ProposalTimeout.
  test('an overwritten proposal still settles when this node leads again and reuses its index', async () => {
    const cluster = await started();
    const a = await cluster.leader(1);
    expect(await cluster.settle(a.raft.confirmLeadership(1))).toBe(true); // its no-op is committed
    await cluster.runUntil(() => cluster.nodes.every((n) => n.raft.partitionStatus(1).commitIndex === a.raft.partitionStatus(1).lastIndex));
    const before = a.raft.partitionStatus(1).lastIndex;
    dropAppendsFrom(cluster, a.id, 1);
    const x = track(a.raft.replicateLogs(1, 'Put', [text('x1'), text('x2'), text('x3')]));
    const next = await overwriteSuffix(cluster, a, before);
    expect(a.raft.partitionStatus(1).lastIndex).toBe(before + 1); // only the other leader's no-op
    expect(await cluster.settle(next.raft.transferLeadership(1, a.id))).toBe(RaftOperationStatus.Success);
    await cluster.runUntil(() => a.raft.amILeaderQuick(1));
    const y = await cluster.settle(a.raft.replicateLogs(1, 'Put', text('y')));
    expect(y.status).toBe(RaftOperationStatus.Success);
    expect(y.lastIndex).toBe(before + 3); // the index x's waiter was keyed on
    await cluster.runFor(10_000); // twice proposalTimeoutMs
    expect(x.done).toBe(true);
    expect(x.value!.status).toBe(RaftOperationStatus.LogsFromAnotherLeader);
  });

  test('timeoutMs per call: an unreplicable proposal answers ProposalTimeout', async () => {
    const cluster = await started();
    const leader = await cluster.leader(2);
    dropAppendsFrom(cluster, leader.id, 2);
    const r = await cluster.settle(leader.raft.replicateLogs(2, 'Put', text('slow'), { timeoutMs: 50 }), 1_000);
    expect(r.status).toBe(RaftOperationStatus.ProposalTimeout);
  });

  test('AbortSignal aborted before the call or while queued: OperationCancelled and nothing is appended', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    const before = leader.raft.partitionStatus(1).lastIndex;
    const aborted = AbortSignal.abort();
    const r1 = await cluster.settle(leader.raft.replicateLogs(1, 'Put', text('a'), { signal: aborted }));
    expect(r1.status).toBe(RaftOperationStatus.OperationCancelled);
    const ac = new AbortController();
    const p2 = leader.raft.replicateLogs(1, 'Put', text('b'), { signal: ac.signal });
    ac.abort();
    expect((await cluster.settle(p2)).status).toBe(RaftOperationStatus.OperationCancelled);
    await cluster.runFor(200);
    expect(leader.raft.partitionStatus(1).lastIndex).toBe(before);
    for (const n of cluster.nodes) expect(n.delivered.get(1)).toBeUndefined();
  });

  // BUG: Partition.propose adds an 'abort' listener to the caller's signal and never removes it when the
  // proposal settles: a long-lived signal (e.g. a shutdown signal passed to every call) collects one
  // listener, and one retained proposal closure, per call.
  test('the abort listener is removed once the proposal settles', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    const ac = new AbortController();
    for (let i = 0; i < 5; i++) {
      const r = await cluster.settle(leader.raft.replicateLogs(1, 'Put', text(`s${i}`), { signal: ac.signal }));
      expect(r.status).toBe(RaftOperationStatus.Success);
    }
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  // BUG: an aborted proposal keeps counting in Partition.queuedEntries until the next flush, so callers
  // get ProposalQueueFull for a queue that holds nothing live.
  test('aborted proposals do not count against maxQueuedProposals', async () => {
    const cluster = await started({ maxQueuedProposals: 3 });
    const leader = await cluster.leader(1);
    const ac = new AbortController();
    const cancelled = [0, 1, 2].map((i) => leader.raft.replicateLogs(1, 'Put', text(`c${i}`), { signal: ac.signal }));
    ac.abort();
    const live = leader.raft.replicateLogs(1, 'Put', text('live'));
    const results = await cluster.settle(Promise.all([...cancelled, live]));
    expect(results.slice(0, 3).map((r) => r.status)).toEqual(Array(3).fill(RaftOperationStatus.OperationCancelled));
    expect(results[3]!.status).toBe(RaftOperationStatus.Success);
  });
});

// ---------------------------------------------------------------------------------------------------------
// autoCommit: false
// ---------------------------------------------------------------------------------------------------------

describe('review: autoCommit false', () => {
  test('commitLogs and rollbackLogs racing: exactly one wins, and every node decides the same', async () => {
    const cluster = await started();
    const leader = await cluster.leader(3);
    const a = await cluster.settle(leader.raft.replicateLogs(3, 'Put', text('race'), { autoCommit: false }));
    const [c, r] = await cluster.settle(Promise.all([leader.raft.commitLogs(3, a.ticket!), leader.raft.rollbackLogs(3, a.ticket!)]));
    expect([c.status, r.status].sort()).toEqual([RaftOperationStatus.ProposalNotFound, RaftOperationStatus.Success].sort());
    expect(c.status).toBe(RaftOperationStatus.Success); // the commit marker was proposed first
    const [c2, c3] = await cluster.settle(Promise.all([leader.raft.commitLogs(3, a.ticket!), leader.raft.commitLogs(3, a.ticket!)]));
    expect(c2.status).toBe(RaftOperationStatus.ProposalNotFound);
    expect(c3.status).toBe(RaftOperationStatus.ProposalNotFound);
    await cluster.runUntil(() => cluster.nodes.every((n) => (n.delivered.get(3) ?? []).length === 1));
    await cluster.runFor(200);
    for (const n of cluster.nodes) expect(n.delivered.get(3)).toEqual(['race']);
  });

  test('duplicate commit markers in flight: one Success, one ProposalNotFound, delivered once', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    const a = await cluster.settle(leader.raft.replicateLogs(1, 'Put', [text('d1'), text('d2')], { autoCommit: false }));
    const both = await cluster.settle(Promise.all([leader.raft.commitLogs(1, a.ticket!), leader.raft.commitLogs(1, a.ticket!)]));
    expect(both.map((r) => r.status)).toEqual([RaftOperationStatus.Success, RaftOperationStatus.ProposalNotFound]);
    await cluster.runUntil(() => cluster.nodes.every((n) => (n.delivered.get(1) ?? []).length === 2));
    await cluster.runFor(200);
    for (const n of cluster.nodes) expect(n.delivered.get(1)).toEqual(['d1', 'd2']);
  });

  test('a pending ticket survives a crash of its leader: the new leader commits it, the restarted node learns it once', async () => {
    const cluster = await started();
    const a = await cluster.leader(2);
    const p = await cluster.settle(a.raft.replicateLogs(2, 'Put', [text('t1'), text('t2')], { autoCommit: false }));
    expect(p.status).toBe(RaftOperationStatus.Success);
    cluster.crash(a.id);
    const rest = others(cluster, a);
    let b: TestNode | undefined;
    await cluster.runUntil(() => (b = rest.find((n) => n.raft.amILeaderQuick(2))) !== undefined);
    await cluster.settle(b!.raft.confirmLeadership(2)); // its term's no-op is applied
    const a2 = await cluster.restart(a.id, 5);
    expect(a2.restored.get(2)).toBeUndefined(); // still pending: not replayed
    const c = await cluster.settle(b!.raft.commitLogs(2, p.ticket!));
    expect(c.status).toBe(RaftOperationStatus.Success);
    await cluster.runUntil(() => cluster.nodes.every((n) => (n.delivered.get(2) ?? []).length === 2));
    for (const n of cluster.nodes) expect(n.delivered.get(2)).toEqual(['t1', 't2']);
    // And a further restart replays it (delivered before that restart).
    cluster.crash(a.id);
    const a3 = await cluster.restart(a.id, 6);
    expect(a3.restored.get(2)).toEqual(['t1', 't2']);
  });

  test('the new leader knows the pending tickets and rolls expired ones back through the log', async () => {
    const cluster = await started({ pendingProposalTimeoutMs: 500 });
    const a = await cluster.leader(1);
    const p = await cluster.settle(a.raft.replicateLogs(1, 'Put', text('orphan'), { autoCommit: false }));
    const b = others(cluster, a)[0]!;
    expect(await cluster.settle(a.raft.transferLeadership(1, b.id))).toBe(RaftOperationStatus.Success);
    await cluster.runFor(1_500);
    expect((await cluster.settle(b.raft.commitLogs(1, p.ticket!))).status).toBe(RaftOperationStatus.ProposalNotFound);
    const status = b.raft.partitionStatus(1);
    const kinds = b.raft.partitionEntries(1, 1, status.lastIndex).map((e) => e.kind);
    expect(kinds.filter((k) => k === 4 /* Rollback */)).toHaveLength(1);
    for (const n of cluster.nodes) expect(n.delivered.get(1)).toBeUndefined();
    // Deterministic on restart too.
    cluster.crash(a.id);
    const a2 = await cluster.restart(a.id, 7);
    expect(a2.restored.get(1)).toBeUndefined();
  });

  // BUG: Partition.resolveTicket answers ProposalNotFound from `delivery.pending`, which on a freshly
  // elected leader does not yet contain the tickets committed under the previous leader (they are applied
  // only once this leader's no-op commits). A quorum-durable ticket that replicateLogs acknowledged is then
  // reported as not existing, a final answer, although a moment later the same call succeeds.
  test('commitLogs on a just-elected leader does not answer ProposalNotFound for an acknowledged ticket', async () => {
    const cluster = await started();
    const a = await cluster.leader(3);
    expect(await cluster.settle(a.raft.confirmLeadership(3))).toBe(true);
    const idx = a.raft.partitionStatus(3).lastIndex + 1;
    // The followers get the entry but never hear from a that it is committed.
    cluster.network.setLinkFilter((from, _to, messages) =>
      !(from === a.id && messages.some((m) => m.partition === 3 && m.commit >= idx)));
    const p = await cluster.settle(a.raft.replicateLogs(3, 'Put', text('acked'), { autoCommit: false }));
    expect(p.status).toBe(RaftOperationStatus.Success);
    cluster.network.isolate(a.id);
    const rest = others(cluster, a);
    let b: TestNode | undefined;
    await cluster.runUntil(() => (b = rest.find((n) => n.raft.amILeaderQuick(3))) !== undefined);
    const first = await cluster.settle(b!.raft.commitLogs(3, p.ticket!));
    expect(await cluster.settle(b!.raft.confirmLeadership(3))).toBe(true); // b has applied its term's no-op
    const retry = first.status === RaftOperationStatus.Success ? first : await cluster.settle(b!.raft.commitLogs(3, p.ticket!));
    // The ticket exists: the retry shows it. The first answer must not have claimed otherwise.
    expect([first.status, retry.status]).toContain(RaftOperationStatus.Success);
    expect(first.status).not.toBe(RaftOperationStatus.ProposalNotFound);
  });
});

// ---------------------------------------------------------------------------------------------------------
// HLC tickets across a restart
// ---------------------------------------------------------------------------------------------------------

describe('review: tickets after a restart', () => {
  // BUG: RaftManager.joinCluster seeds the HLC with the restored entry of the highest `physical` only,
  // taking the FIRST entry with that physical (lowest counter) and ignoring larger counters. When the wall
  // clock at restart is not past that physical (restart within the same millisecond, a clock stepped back,
  // or entries stamped by a leader whose clock runs ahead), new tickets repeat tickets already in the log,
  // and one commitLogs then releases the entries of two different proposals.
  test('a restarted node never issues a ticket that is already pending in its log', async () => {
    let cluster!: TestCluster;
    const FROZEN = 1_800_000_000_000;
    const frozen: Clock = {
      now: () => FROZEN,
      setTimer: (ms, fn) => cluster.node('n1').clock.setTimer(ms, fn),
      clearTimer: (h) => cluster.node('n1').clock.clearTimer(h),
      defer: (fn) => cluster.node('n1').clock.defer(fn),
    };
    cluster = new TestCluster(['n1'], { clock: frozen });
    await cluster.start();
    const n = await cluster.leader(3);
    const old: HLCTimestamp[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await cluster.settle(n.raft.replicateLogs(3, 'Put', text(`old${i}`), { autoCommit: false }));
      expect(r.status).toBe(RaftOperationStatus.Success);
      old.push(r.ticket!);
    }
    cluster.crash('n1');
    const again = await cluster.restart('n1', 2);
    await cluster.leader(3);
    const fresh = await cluster.settle(again.raft.replicateLogs(3, 'Put', text('new'), { autoCommit: false }));
    expect(fresh.status).toBe(RaftOperationStatus.Success);
    const key = (t: HLCTimestamp): string => `${t.physical}.${t.counter}`;
    expect(old.map(key)).not.toContain(key(fresh.ticket!));
    await cluster.settle(again.raft.commitLogs(3, fresh.ticket!));
    await cluster.runFor(100);
    expect(again.delivered.get(3)).toEqual(['new']);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Async application handlers
// ---------------------------------------------------------------------------------------------------------

describe('review: async onReplicationReceived handlers', () => {
  test('order is preserved per partition and failures are reported through onReplicationError', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    const follower = others(cluster, leader)[0]!;
    const order: string[] = [];
    const errors: Array<[number, string, string]> = [];
    follower.raft.onReplicationError((p, log, e) => errors.push([p, decoder.decode(log.data), String(e)]));
    follower.raft.onReplicationReceived((p, log) => {
      if (p !== 1) return true;
      const v = decoder.decode(log.data);
      // Later entries finish sooner: the runtime must still hand them over one after the other.
      const delay = 30 - order.length * 5;
      return new Promise<boolean>((resolve, reject) => {
        follower.clock.setTimer(Math.max(delay, 1), () => {
          order.push(v);
          if (v === 'reject') reject(new Error('boom'));
          else resolve(v !== 'false');
        });
      });
    });
    follower.raft.onReplicationReceived((p, log) => {
      if (p === 1 && decoder.decode(log.data) === 'throw') throw new Error('sync boom');
      return true;
    });
    for (const v of ['a', 'reject', 'b', 'false', 'throw', 'c']) {
      expect((await cluster.settle(leader.raft.replicateLogs(1, 'Put', text(v)))).status).toBe(RaftOperationStatus.Success);
    }
    await cluster.runUntil(() => order.length === 6);
    expect(order).toEqual(['a', 'reject', 'b', 'false', 'throw', 'c']);
    expect(follower.delivered.get(1)).toEqual(['a', 'reject', 'b', 'false', 'throw', 'c']);
    expect(errors.map(([p, v]) => [p, v])).toEqual([[1, 'reject'], [1, 'false'], [1, 'throw']]);
  });

  // BUG: Partition.applyFrom settles the proposal's waiter right after handing the entry to the
  // application, before the promise returned by an async onReplicationReceived handler resolves; the
  // API promises that replicateLogs resolves once the entries are "committed and applied on this node".
  test('replicateLogs resolves only after the leader\'s async handler has applied the entry', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    const gate = deferred<boolean>();
    let called = false;
    leader.raft.onReplicationReceived((p) => {
      if (p !== 1) return true;
      called = true;
      return gate.promise;
    });
    const r = track(leader.raft.replicateLogs(1, 'Put', text('w')));
    await cluster.runUntil(() => called);
    await cluster.runFor(20);
    expect(r.done).toBe(false); // the application has not applied it yet
    gate.resolve(true);
    await cluster.runUntil(() => r.done);
    expect(r.value!.status).toBe(RaftOperationStatus.Success);
  });

  // BUG: when a commit marker releases several entries, DeliveryTracker.commit calls deliverOne for all of
  // them synchronously, and deliverOne starts each async handler at once (it chains only the promises,
  // not the calls): the handler runs for entry k+1 while entry k is still being applied. Data entries and
  // the restore path wait for each promise before the next call.
  test('entries released by one commitLogs reach an async handler one at a time', async () => {
    const cluster = await started();
    const leader = await cluster.leader(2);
    const follower = others(cluster, leader)[0]!;
    let inFlight = 0;
    let maxInFlight = 0;
    const seen: string[] = [];
    follower.raft.onReplicationReceived((p, log) => {
      if (p !== 2) return true;
      seen.push(decoder.decode(log.data));
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return new Promise<boolean>((resolve) => follower.clock.setTimer(5, () => {
        inFlight--;
        resolve(true);
      }));
    });
    const t = await cluster.settle(leader.raft.replicateLogs(2, 'Put', [text('k1'), text('k2'), text('k3')], { autoCommit: false }));
    await cluster.settle(leader.raft.commitLogs(2, t.ticket!));
    await cluster.runUntil(() => seen.length === 3 && inFlight === 0);
    expect(seen).toEqual(['k1', 'k2', 'k3']);
    expect(maxInFlight).toBe(1);
  });

  // BUG (liveness): while an async handler runs, Partition keeps its Ready outstanding (readying = true),
  // so the leader sends no heartbeats (raft.tick() output is only collected by the next ready()); a handler
  // slower than the election timeout makes the followers elect another leader.
  test('a leader whose async handler is slower than the election timeout keeps its leadership', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    expect(await cluster.settle(leader.raft.confirmLeadership(1))).toBe(true);
    const term = leader.raft.partitionStatus(1).term;
    leader.raft.onReplicationReceived((p) => {
      if (p !== 1) return true;
      return new Promise<boolean>((resolve) => leader.clock.setTimer(400, () => resolve(true)));
    });
    const r = await cluster.settle(leader.raft.replicateLogs(1, 'Put', text('slow-apply')));
    expect(r.status).toBe(RaftOperationStatus.Success);
    await cluster.runFor(1_000);
    expect(leader.raft.amILeaderQuick(1)).toBe(true);
    expect(leader.raft.partitionStatus(1).term).toBe(term);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Restore
// ---------------------------------------------------------------------------------------------------------

describe('review: restore', () => {
  test('replay equals what an async handler was given after the last checkpoint (commit marker across the checkpoint)', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    const follower = others(cluster, leader)[0]!;
    const live: string[] = [];
    follower.raft.onReplicationReceived((p, log) => {
      if (p !== 1) return true;
      return new Promise<boolean>((resolve) => follower.clock.setTimer(3, () => {
        live.push(decoder.decode(log.data));
        resolve(true);
      }));
    });
    const r = leader.raft;
    await cluster.settle(r.replicateLogs(1, 'Put', text('d1')));
    const pending = await cluster.settle(r.replicateLogs(1, 'Put', [text('p1'), text('p2')], { autoCommit: false }));
    const dropped = await cluster.settle(r.replicateLogs(1, 'Put', text('rb'), { autoCommit: false }));
    expect((await cluster.settle(r.replicateCheckpoint(1))).status).toBe(RaftOperationStatus.Success);
    await cluster.settle(r.replicateLogs(1, 'Put', text('d2')));
    await cluster.settle(r.commitLogs(1, pending.ticket!));
    await cluster.settle(r.rollbackLogs(1, dropped.ticket!));
    await cluster.settle(r.replicateLogs(1, 'Put', text('d3')));
    await cluster.settle(r.replicateLogs(1, 'Put', text('still-pending'), { autoCommit: false }));
    await cluster.runUntil(() => live.length === 5);
    expect(live).toEqual(['d1', 'd2', 'p1', 'p2', 'd3']);
    expect(follower.delivered.get(1)).toEqual(live);
    cluster.crash(follower.id);
    const again = await cluster.restart(follower.id, 9);
    expect(again.restored.get(1)).toEqual(['d2', 'p1', 'p2', 'd3']);
  });

  test('entries committed before a crash but not yet applied are replayed once and not delivered again', async () => {
    const cluster = await started();
    const leader = await cluster.leader(2);
    const follower = others(cluster, leader)[0]!;
    const gate = deferred<boolean>();
    let blocked = 0;
    follower.raft.onReplicationReceived((p, log) => {
      if (p !== 2) return true;
      if (decoder.decode(log.data) === 'e1') {
        blocked++;
        return gate.promise; // never resolves: the node crashes mid-apply
      }
      return true;
    });
    await cluster.settle(leader.raft.replicateLogs(2, 'Put', [text('e1'), text('e2'), text('e3')]));
    await cluster.runUntil(() => blocked === 1);
    expect(follower.delivered.get(2)).toEqual(['e1']);
    cluster.crash(follower.id);
    const again = await cluster.restart(follower.id, 4);
    expect(again.restored.get(2)).toEqual(['e1', 'e2', 'e3']);
    await cluster.settle(leader.raft.replicateLogs(2, 'Put', text('e4')));
    await cluster.runUntil(() => (again.delivered.get(2) ?? []).length >= 1);
    await cluster.runFor(100);
    expect(again.delivered.get(2)).toEqual(['e4']);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Leadership
// ---------------------------------------------------------------------------------------------------------

describe('review: leadership', () => {
  test('waitForLeader answers \'\' in time when no quorum exists; confirmLeadership/amILeader answer false', async () => {
    const cluster = new TestCluster(NODES);
    const n = cluster.nodes[0]!;
    await cluster.join(n); // the other two never start
    expect(await cluster.settle(n.raft.waitForLeader(1, 500), 2_000)).toBe('');
    expect(await cluster.settle(n.raft.amILeader(1), 10_000)).toBe(false);
    expect(await cluster.settle(n.raft.confirmLeadership(1))).toBe(false);
    const r = await cluster.settle(n.raft.replicateLogs(1, 'Put', text('x')));
    expect(r.status).toBe(RaftOperationStatus.NodeIsNotLeader);
  });

  test('transferLeadership: follower answers NodeIsNotLeader, self is Success, an unreachable target times out and the leader keeps serving', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    const [f1, f2] = others(cluster, leader);
    expect(await cluster.settle(f1!.raft.transferLeadership(1, f2!.id))).toBe(RaftOperationStatus.NodeIsNotLeader);
    expect(await cluster.settle(leader.raft.transferLeadership(1, leader.id))).toBe(RaftOperationStatus.Success);
    await expect(leader.raft.transferLeadership(1, 'nobody')).rejects.toThrow(/not a member/);
    cluster.network.disconnect(leader.id, f1!.id);
    const status = await cluster.settle(leader.raft.transferLeadership(1, f1!.id), 5_000);
    expect(status).toBe(RaftOperationStatus.ProposalTimeout);
    expect(leader.raft.amILeaderQuick(1)).toBe(true);
    const r = await cluster.settle(leader.raft.replicateLogs(1, 'Put', text('still-here')));
    expect(r.status).toBe(RaftOperationStatus.Success);
  });

  test('after a transfer every node reports the new leader through onLeaderChanged and waitForLeader', async () => {
    const cluster = await started();
    const leader = await cluster.leader(2);
    await cluster.runFor(100);
    const seen = new Map<string, string[]>();
    for (const n of cluster.nodes) n.raft.onLeaderChanged((p, l) => {
      if (p === 2) seen.set(n.id, [...(seen.get(n.id) ?? []), l]);
    });
    const target = others(cluster, leader)[1]!;
    expect(await cluster.settle(leader.raft.transferLeadership(2, target.id))).toBe(RaftOperationStatus.Success);
    await cluster.runFor(200);
    for (const n of cluster.nodes) {
      expect(seen.get(n.id)!.at(-1)).toBe(target.id);
      expect(await cluster.settle(n.raft.waitForLeader(2))).toBe(target.id);
    }
  });

  // BUG: RaftManager.waitForLeaderChange subscribes to the user's leaderHandlers array and unsubscribes
  // (Array.splice) from inside emitLeaderChanged's for..of loop, which makes that loop skip the handler
  // after it: an onLeaderChanged handler registered while a transfer is under way misses the new leader.
  test('an onLeaderChanged handler registered during a transfer still sees the new leader', async () => {
    const cluster = await started();
    const leader = await cluster.leader(3);
    const target = others(cluster, leader)[0]!;
    const transfer = leader.raft.transferLeadership(3, target.id);
    await cluster.runFor(0); // the transfer has started: transferLeadership now waits for the new leader
    expect(target.raft.amILeaderQuick(3)).toBe(false);
    const seen: string[] = [];
    leader.raft.onLeaderChanged((p, l) => {
      if (p === 3) seen.push(l);
    });
    expect(await cluster.settle(transfer)).toBe(RaftOperationStatus.Success);
    await cluster.runFor(100);
    expect(seen).toContain(target.id);
  });

  // BUG: same root cause for every handler list: a handler that unsubscribes itself while being called
  // (a "once" handler) makes the next handler miss that entry.
  test('a replication handler that unsubscribes itself does not make the next handler miss the entry', async () => {
    const cluster = await started();
    const leader = await cluster.leader(1);
    const follower = others(cluster, leader)[0]!;
    const once: string[] = [];
    const always: string[] = [];
    const off = follower.raft.onReplicationReceived((p, log) => {
      if (p !== 1) return true;
      once.push(decoder.decode(log.data));
      off();
      return true;
    });
    follower.raft.onReplicationReceived((p, log) => {
      if (p === 1) always.push(decoder.decode(log.data));
      return true;
    });
    await cluster.settle(leader.raft.replicateLogs(1, 'Put', text('first')));
    await cluster.settle(leader.raft.replicateLogs(1, 'Put', text('second')));
    await cluster.runUntil(() => (follower.delivered.get(1) ?? []).length === 2);
    expect(once).toEqual(['first']);
    expect(always).toEqual(['first', 'second']);
  });
});
