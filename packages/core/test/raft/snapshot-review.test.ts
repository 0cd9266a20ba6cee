/**
 * Adversarial review of compaction and snapshot install at the protocol level (the pure Raft state
 * machine driven by test/raft/cluster.ts). The test named "P1" failed on the code it was written
 * against (its comment says what the bug was and what the correct behaviour is) and now guards the fix.
 * The others add coverage that did not exist.
 */
import { MessageType, type Message } from '../../src/raft/message.js';
import { Cluster, drain, entry, log, msg, node } from './cluster.js';
import { compactedBehindN3, isSnapshot, transferSnapshots } from './snapshot-helpers.js';




describe('snapshot review (protocol): retries', () => {
  it('P1 after a snapshot whose acknowledgement was lost, the leader probes and catches the member up from the log instead of sending a second snapshot', () => {
    // Bug: when the snapshot wait times out (tickLeader, snapshotTimeoutTicks) or reportSnapshot(false) is
    // called, Progress.becomeProbe() sets next = match + 1, and match is still where the member was before
    // the snapshot. That index is below the compacted prefix, so maybeSendAppend immediately asks for another
    // snapshot without ever asking the member where its log now ends. A member that installed the snapshot
    // but whose acknowledgement was lost (or that crashed right after persisting it) gets the whole
    // application state again, after waiting snapshotTimeoutTicks (10 s at the runtime defaults).
    // Correct (etcd: BecomeProbe sets Next to max(Match+1, PendingSnapshot+1)): after a snapshot the leader
    // probes with an Append past the compacted prefix (e.g. at its last index), so a member that already holds
    // the snapshot answers with its last index and is caught up from the log; only a member that really lacks
    // it is sent another snapshot.
    const c = compactedBehindN3(6, { config: { snapshotTimeoutTicks: 5, electionTicksMin: 50, electionTicksMax: 60 } });
    c.tick('n1');
    c.stabilize((m) => !isSnapshot(m));
    // n3 installs the snapshot, but its acknowledgement is lost.
    const requests = c.take(isSnapshot);
    expect(requests).toHaveLength(1);
    const applied = c.raft('n1').status().applied;
    c.stepInto(msg({ type: MessageType.Snapshot, from: 'n1', to: 'n3', term: requests[0]!.term, index: applied, logTerm: c.raft('n1').term(applied)! }));
    c.processAll();
    expect(c.raft('n3').status()).toMatchObject({ commit: applied, lastIndex: applied });
    expect(c.drop((m) => m.from === 'n3' && m.type === MessageType.AppendResponse)).toHaveLength(1);
    c.propose('n1', 'after');
    for (let i = 0; i < 6; i++) {
      c.tick('n1');
      c.stabilize((m) => !isSnapshot(m));
    }
    // n3 already holds everything through the compacted prefix: it must be caught up from the log.
    expect(c.queue.filter(isSnapshot)).toEqual([]);
    expect(c.raft('n3').status().lastIndex).toBe(c.raft('n1').status().lastIndex);
  });
});

describe('snapshot review (protocol): safety', () => {
  it('a deposed leader with uncommitted entries past the new leader\'s compacted prefix is replaced by a snapshot and agrees on every index', () => {
    // No leader lease, so that n2 can be elected by hand while n1 is cut off.
    const c = new Cluster(['n1', 'n2', 'n3'], { config: { checkQuorum: false } });
    c.elect('n1');
    c.propose('n1', 'a', 'b');
    c.stabilize();
    c.isolate('n1');
    c.propose('n1', 'lost1', 'lost2', 'lost3');
    c.processAll();
    c.drop();
    c.elect('n2');
    for (let i = 0; i < 8; i++) c.propose('n2', `y${i}`);
    c.stabilize();
    c.raft('n2').compact(c.raft('n2').status().applied);
    c.raft('n3').compact(c.raft('n3').status().applied);
    c.heal();
    c.tick('n2');
    c.stabilize((m) => !isSnapshot(m));
    expect(transferSnapshots(c)).toEqual([expect.objectContaining({ from: 'n2', to: 'n1' })]);
    c.stabilize((m) => !isSnapshot(m));
    c.propose('n2', 'z');
    c.stabilize((m) => !isSnapshot(m));
    const n1 = c.raft('n1').status();
    const n2 = c.raft('n2').status();
    expect(n1).toMatchObject({ role: 'follower', leader: 'n2', lastIndex: n2.lastIndex, commit: n2.commit });
    for (let i = n1.firstIndex; i <= n1.lastIndex; i++) expect(c.raft('n1').term(i)).toBe(c.raft('n2').term(i));
    expect(c.deliveredTypes('n1').filter((t) => t.startsWith('lost'))).toEqual([]);
  });

  it('a snapshot matching an uncommitted entry commits through it and keeps the suffix, which the next Append truncates where it conflicts', () => {
    const b = node('b', ['a', 'b', 'c'], {}, { hardState: { term: 3, vote: '', commit: 1 }, entries: log(1, 1, 1, 2, 2), applied: 1 });
    b.step(msg({ type: MessageType.Snapshot, from: 'a', to: 'b', term: 3, index: 3, logTerm: 1 }));
    let ready = drain(b);
    expect(ready.snapshot).toBeNull();
    expect(ready.committedEntries.map((e) => e.index)).toEqual([2, 3]);
    expect(ready.persistedMessages).toEqual([expect.objectContaining({ type: MessageType.AppendResponse, index: 3, reject: false })]);
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 3, index: 3, logTerm: 1, entries: [entry(4, 3), entry(5, 3)], commit: 5 }));
    ready = drain(b);
    expect(ready.entries.map((e) => [e.index, e.term])).toEqual([[4, 3], [5, 3]]);
    expect(ready.committedEntries.map((e) => [e.index, e.term])).toEqual([[4, 3], [5, 3]]);
  });

  it('a snapshot stepped while an older Ready is in progress: that Ready\'s committed entries stay valid, the snapshot comes in the next Ready', () => {
    const b = node('b', ['a', 'b', 'c'], {}, { hardState: { term: 1, vote: 'a', commit: 1 }, entries: log(1, 1, 1), applied: 1 });
    b.step(msg({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 1, commit: 3 }));
    const older = b.ready();
    expect(older.committedEntries.map((e) => e.index)).toEqual([2, 3]);
    // While the runtime persists and applies `older`, the leader's snapshot arrives.
    b.step(msg({ type: MessageType.Snapshot, from: 'a', to: 'b', term: 1, index: 10, logTerm: 1 }));
    expect(b.hasReady()).toBe(false);
    b.advance(older);
    const install = b.ready();
    expect(install.snapshot).toEqual({ index: 10, term: 1 });
    expect(install.committedEntries).toEqual([]);
    expect(install.entries).toEqual([]);
    expect(install.hardState).toEqual({ term: 1, vote: 'a', commit: 10 });
    expect(install.persistedMessages).toEqual([expect.objectContaining({ type: MessageType.AppendResponse, index: 10, reject: false })]);
    b.advance(install);
    expect(b.status()).toMatchObject({ commit: 10, applied: 10, firstIndex: 11, lastIndex: 10 });
    // The log continues after the snapshot.
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 1, index: 10, logTerm: 1, entries: [entry(11, 1)], commit: 11 }));
    const next = drain(b);
    expect(next.entries.map((e) => e.index)).toEqual([11]);
    expect(next.committedEntries.map((e) => e.index)).toEqual([11]);
  });

  it('a second snapshot stepped before the first one\'s Ready was acknowledged is installed by the next Ready; the first acknowledgement still leaves', () => {
    const b = node('b', ['a', 'b', 'c'], {}, { hardState: { term: 3, vote: '', commit: 1 }, entries: log(1), applied: 1 });
    b.step(msg({ type: MessageType.Snapshot, from: 'a', to: 'b', term: 3, index: 10, logTerm: 2 }));
    const first = b.ready();
    expect(first.snapshot).toEqual({ index: 10, term: 2 });
    b.step(msg({ type: MessageType.Snapshot, from: 'a', to: 'b', term: 3, index: 20, logTerm: 3 }));
    b.advance(first);
    expect(first.persistedMessages).toEqual([expect.objectContaining({ index: 10 })]);
    expect(b.pendingSnapshot()).toEqual({ index: 20, term: 3 });
    const second = drain(b);
    expect(second.snapshot).toEqual({ index: 20, term: 3 });
    expect(second.hardState?.commit).toBe(20);
    expect(second.persistedMessages).toEqual([expect.objectContaining({ index: 20 })]);
    expect(b.status()).toMatchObject({ commit: 20, applied: 20, firstIndex: 21, lastIndex: 20, lastTerm: 3 });
  });

  it('a node restored from a snapshot base refuses a vote to a candidate whose log ends before the base, and grants one that ends at it', () => {
    const restore = { hardState: { term: 4, vote: '', commit: 20 }, entries: [], applied: 20, base: { index: 20, term: 3 } };
    const r1 = node('a', ['a', 'b', 'c'], { preVote: false, checkQuorum: false }, restore);
    r1.step(msg({ type: MessageType.Vote, from: 'b', to: 'a', term: 5, index: 25, logTerm: 2 }));
    expect(drain(r1).persistedMessages).toEqual([expect.objectContaining({ type: MessageType.VoteResponse, reject: true })]);
    const r2 = node('a', ['a', 'b', 'c'], { preVote: false, checkQuorum: false }, restore);
    r2.step(msg({ type: MessageType.Vote, from: 'b', to: 'a', term: 5, index: 20, logTerm: 3 }));
    expect(drain(r2).persistedMessages).toEqual([expect.objectContaining({ type: MessageType.VoteResponse, reject: false })]);
    // A pre-vote from a stale log is refused too.
    const r3 = node('a', ['a', 'b', 'c'], {}, restore);
    r3.step(msg({ type: MessageType.PreVote, from: 'b', to: 'a', term: 5, index: 19, logTerm: 3 }));
    expect(drain(r3).messages).toEqual([expect.objectContaining({ type: MessageType.PreVoteResponse, reject: true })]);
  });

  it('compact beyond the applied index is refused, and compacting at or below the base does nothing', () => {
    const r = node('a', ['a'], {}, { hardState: { term: 1, vote: 'a', commit: 3 }, entries: log(1, 1, 1, 1), applied: 2 });
    expect(() => r.compact(3)).toThrow(/beyond the applied index/);
    r.compact(2);
    expect(r.status()).toMatchObject({ firstIndex: 3, lastIndex: 4 });
    expect(r.term(2)).toBe(1);
    r.compact(1);
    r.compact(2);
    expect(r.status()).toMatchObject({ firstIndex: 3, lastIndex: 4 });
  });
});

describe('snapshot review (protocol): replicated floor without snapshots', () => {
  it('a learner that never answered holds the floor at 0 on the leader and on the followers', () => {
    const c = new Cluster(['n1', 'n2'], { learners: ['n3'] });
    c.isolate('n3');
    c.elect('n1');
    c.propose('n1', 'a', 'b', 'c');
    c.stabilize();
    c.tick('n1');
    c.stabilize();
    expect(c.raft('n1').status().commit).toBeGreaterThan(0);
    expect(c.raft('n1').status().replicated).toBe(0);
    expect(c.raft('n2').status().replicated).toBe(0);
  });

  it('a newly elected leader announces floor 0 until every member answered, then the lowest match', () => {
    const c = new Cluster(['n1', 'n2', 'n3'], { config: { checkQuorum: false } });
    c.elect('n1');
    c.propose('n1', 'a', 'b');
    c.stabilize();
    c.tick('n1');
    c.stabilize();
    expect(c.raft('n2').status().replicated).toBe(c.raft('n1').status().commit);
    // n2 takes over while n3 is cut off: nothing is known about n3 in the new term.
    c.isolate('n3');
    c.elect('n2');
    c.tick('n2');
    c.stabilize();
    expect(c.raft('n2').status().replicated).toBe(0);
    expect(c.raft('n1').status().replicated).toBe(0);
    c.heal();
    c.tick('n2');
    c.stabilize();
    c.tick('n2');
    c.stabilize();
    const commit = c.raft('n2').status().commit;
    expect(c.raft('n2').status().replicated).toBe(commit);
    expect(c.raft('n3').status().replicated).toBe(commit);
  });

  it('a member that lost its data lowers the floor the leader announces', () => {
    const c = new Cluster(['n1', 'n2', 'n3']);
    c.elect('n1');
    c.propose('n1', 'a', 'b');
    c.stabilize();
    c.tick('n1');
    c.stabilize();
    expect(c.raft('n1').status().replicated).toBe(c.raft('n1').status().commit);
    c.restore('n3', { hardState: { term: c.raft('n3').status().term, vote: '', commit: 0 }, entries: [], applied: 0 });
    c.tick('n1');
    c.deliverOnce();
    c.deliverOnce();
    expect(c.raft('n1').status().replicated).toBe(0);
  });
});
