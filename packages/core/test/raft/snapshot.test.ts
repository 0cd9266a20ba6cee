import { MessageType, type Message } from '../../src/raft/message.js';
import { EMPTY_HARD_STATE } from '../../src/raft/state.js';
import { Cluster, drain, log, msg, node } from './cluster.js';
import { compactedBehindN3, isSnapshot, transferSnapshots } from './snapshot-helpers.js';




describe('snapshot after compaction', () => {
  it('a follower behind the compacted prefix is asked for a snapshot, not sent Appends', () => {
    const c = compactedBehindN3(10);
    expect(c.raft('n1').status().firstIndex).toBe(12);
    c.tick('n1');
    const sent: Message[] = [];
    c.stabilize((m) => {
      if (isSnapshot(m)) return false;
      sent.push(m);
      return true;
    });
    expect(sent.filter((m) => m.to === 'n3' && m.type === MessageType.Append && m.entries.length > 0)).toEqual([]);
    const requests = c.queue.filter((m) => m.to === 'n3' && isSnapshot(m));
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ from: 'n1', index: 11, logTerm: 1 });
  });

  it('the follower installs the snapshot, acknowledges it after the persist, and continues from the log', () => {
    const c = compactedBehindN3(10);
    c.tick('n1');
    c.stabilize((m) => !isSnapshot(m));
    const n3Before = c.raft('n3').status();
    expect(n3Before.lastIndex).toBe(1);

    const request = c.take(isSnapshot)[0] as Message;
    const applied = c.raft('n1').status().applied;
    c.stepInto(msg({ type: MessageType.Snapshot, from: 'n1', to: 'n3', term: request.term, index: applied, logTerm: 1 }));
    const ready = c.beginReady('n3');
    expect(ready?.snapshot).toEqual({ index: 11, term: 1 });
    expect(ready?.mustSync).toBe(true);
    expect(ready?.committedEntries).toEqual([]);
    // The acknowledgement promises the new base: it waits for the persist.
    expect(ready?.messages.filter((m) => m.type === MessageType.AppendResponse)).toEqual([]);
    expect(ready?.persistedMessages).toEqual([expect.objectContaining({ type: MessageType.AppendResponse, index: 11, reject: false })]);
    c.finishReady('n3');
    expect(c.node('n3').storage.base).toEqual({ index: 11, term: 1 });
    expect(c.raft('n3').status()).toMatchObject({ commit: 11, applied: 11, firstIndex: 12, lastIndex: 11, lastTerm: 1 });

    c.propose('n1', 'after');
    c.stabilize((m) => !isSnapshot(m));
    expect(c.raft('n3').status().lastIndex).toBe(12);
    expect(c.raft('n3').entries(12, 12)[0]?.type).toBe('after');
    expect(c.deliveredTypes('n3')).toEqual(['after']);
    expect(c.queue.filter(isSnapshot)).toEqual([]);
  });

  it('a restarted follower resumes from the installed base and can win no election it should not', () => {
    const c = compactedBehindN3(5);
    c.tick('n1');
    c.stabilize((m) => !isSnapshot(m));
    transferSnapshots(c);
    c.stabilize((m) => !isSnapshot(m));
    c.crash('n3');
    c.restart('n3');
    expect(c.raft('n3').status()).toMatchObject({ firstIndex: 7, lastIndex: 6, lastTerm: 1, commit: 6 });
    // n3's restored log ends at (6, term 1): a candidate whose log ends before it must be refused.
    c.raft('n3').step(msg({ type: MessageType.Vote, from: 'n2', to: 'n3', term: 3, index: 5, logTerm: 1 }));
    const refusal = drain(c.raft('n3')).persistedMessages[0];
    expect(refusal).toMatchObject({ type: MessageType.VoteResponse, reject: true });
  });

  it('a snapshot the commit index already covers changes nothing and reports the commit index', () => {
    const r = node('b', ['a', 'b'], {}, { hardState: { term: 2, vote: 'a', commit: 3 }, entries: log(1, 2, 2), applied: 3 });
    r.step(msg({ type: MessageType.Snapshot, from: 'a', to: 'b', term: 2, index: 2, logTerm: 2 }));
    const ready = drain(r);
    expect(ready.snapshot).toBeNull();
    expect(ready.persistedMessages).toEqual([expect.objectContaining({ type: MessageType.AppendResponse, index: 3, reject: false })]);
    expect(r.status().lastIndex).toBe(3);
  });

  it('a snapshot matching an entry the log holds commits through it instead of replacing the log', () => {
    const r = node('b', ['a', 'b'], {}, { hardState: { term: 2, vote: 'a', commit: 1 }, entries: log(1, 2, 2, 2), applied: 1 });
    r.step(msg({ type: MessageType.Snapshot, from: 'a', to: 'b', term: 2, index: 3, logTerm: 2 }));
    const ready = drain(r);
    expect(ready.snapshot).toBeNull();
    expect(ready.committedEntries.map((e) => e.index)).toEqual([2, 3]);
    expect(r.status()).toMatchObject({ commit: 3, lastIndex: 4 });
  });

  it('a snapshot from a stale term is not installed, and the stale sender learns the term', () => {
    const r = node('b', ['a', 'b'], {}, { hardState: { term: 5, vote: '', commit: 0 }, entries: [], applied: 0 });
    r.step(msg({ type: MessageType.Snapshot, from: 'a', to: 'b', term: 4, index: 9, logTerm: 4 }));
    const ready = drain(r);
    expect(ready.snapshot).toBeNull();
    expect(ready.persistedMessages).toEqual([expect.objectContaining({ type: MessageType.AppendResponse, term: 5, index: 0 })]);
    expect(r.status().lastIndex).toBe(0);
  });

  it('a snapshot of a higher term makes a candidate follow the sender and install it', () => {
    const r = node('b', ['a', 'b', 'c'], { preVote: false }, { hardState: { term: 1, vote: '', commit: 0 }, entries: log(1), applied: 0 });
    r.campaign();
    drain(r);
    expect(r.status().role).toBe('candidate');
    r.step(msg({ type: MessageType.Snapshot, from: 'a', to: 'b', term: 3, index: 8, logTerm: 3 }));
    const ready = drain(r);
    expect(ready.snapshot).toEqual({ index: 8, term: 3 });
    expect(r.status()).toMatchObject({ role: 'follower', leader: 'a', term: 3, commit: 8 });
  });

  it('while a snapshot is outstanding the leader sends the follower no Appends and ignores its rejections', () => {
    const c = compactedBehindN3(10);
    c.tick('n1');
    c.stabilize((m) => !isSnapshot(m));
    c.drop(isSnapshot);
    c.propose('n1', 'more');
    c.raft('n1').step(msg({ type: MessageType.AppendResponse, from: 'n3', to: 'n1', term: c.raft('n1').status().term, index: 5, reject: true, rejectHint: 1 }));
    c.tick('n1', 3);
    c.deliverOnce((m) => m.type === MessageType.Heartbeat || m.type === MessageType.HeartbeatResponse);
    expect(c.queue.filter((m) => m.to === 'n3' && (m.type === MessageType.Append || isSnapshot(m)))).toEqual([]);
  });

  it('a lost snapshot is asked for again after snapshotTimeoutTicks', () => {
    const c = new Cluster(['n1', 'n2', 'n3'], { config: { snapshotTimeoutTicks: 5, electionTicksMin: 50, electionTicksMax: 60 } });
    c.elect('n1');
    c.isolate('n3');
    c.propose('n1', 'a', 'b');
    c.stabilize();
    c.raft('n1').compact(c.raft('n1').status().applied);
    c.heal();
    c.tick('n1');
    c.stabilize((m) => !isSnapshot(m));
    expect(c.drop(isSnapshot)).toHaveLength(1);
    for (let i = 0; i < 4; i++) {
      c.tick('n1');
      c.stabilize((m) => !isSnapshot(m));
    }
    expect(c.queue.filter(isSnapshot)).toEqual([]);
    c.tick('n1');
    c.stabilize((m) => !isSnapshot(m));
    expect(c.queue.filter(isSnapshot)).toHaveLength(1);
    transferSnapshots(c);
    c.stabilize((m) => !isSnapshot(m));
    expect(c.raft('n3').status().commit).toBe(c.raft('n1').status().commit);
  });

  it('reportSnapshot(false) makes the leader probe past the compacted prefix and ask again when the member still lacks it', () => {
    const c = compactedBehindN3(3);
    c.tick('n1');
    c.stabilize((m) => !isSnapshot(m));
    expect(c.drop(isSnapshot)).toHaveLength(1);
    c.raft('n1').reportSnapshot('n3', true);
    c.processAll();
    expect(c.queue).toEqual([]);
    c.raft('n1').reportSnapshot('n3', false);
    c.processAll();
    const base = c.raft('n1').status().firstIndex - 1;
    expect(c.queue).toEqual([expect.objectContaining({ type: MessageType.Append, to: 'n3', index: base })]);
    c.stabilize((m) => !isSnapshot(m));
    expect(c.queue.filter(isSnapshot)).toHaveLength(1);
  });

  it('a node with an empty (wiped) log is caught up by a snapshot', () => {
    const c = compactedBehindN3(4);
    c.stabilize((m) => !isSnapshot(m));
    transferSnapshots(c);
    c.stabilize((m) => !isSnapshot(m));
    // n3 loses its data directory and restarts empty.
    c.restore('n3', { hardState: EMPTY_HARD_STATE, entries: [], applied: 0 });
    c.propose('n1', 'later');
    c.tick('n1');
    c.stabilize((m) => !isSnapshot(m));
    expect(transferSnapshots(c)).toHaveLength(1);
    c.stabilize((m) => !isSnapshot(m));
    expect(c.raft('n3').status().lastIndex).toBe(c.raft('n1').status().lastIndex);
    expect(c.raft('n3').status().commit).toBe(c.raft('n1').status().commit);
  });
});

describe('restore from a base', () => {
  it('a log restored with a base and no entries knows its last term', () => {
    expect(() => node('a', ['a', 'b'], {}, { hardState: { term: 4, vote: '', commit: 20 }, entries: [], applied: 20 })).toThrow(/term of the last compacted entry is unknown/);
    const withBase = node('a', ['a', 'b'], {}, { hardState: { term: 4, vote: '', commit: 20 }, entries: [], applied: 20, base: { index: 20, term: 3 } });
    expect(withBase.status()).toMatchObject({ firstIndex: 21, lastIndex: 20, lastTerm: 3, commit: 20, applied: 20 });
    expect(withBase.term(20)).toBe(3);
    expect(withBase.term(19)).toBeUndefined();
  });

  it('refuses entries that do not start right after the base', () => {
    expect(() => node('a', ['a'], {}, { hardState: EMPTY_HARD_STATE, entries: log(1, 1), applied: 0, base: { index: 5, term: 1 } })).toThrow(
      /must start right after base 5/,
    );
  });
});

describe('replicated floor', () => {
  it('the leader reports the lowest match and announces it to followers in heartbeats', () => {
    const c = new Cluster(['n1', 'n2', 'n3']);
    c.elect('n1');
    c.propose('n1', 'a', 'b');
    c.stabilize();
    const commit = c.raft('n1').status().commit;
    expect(c.raft('n1').status().replicated).toBe(commit);
    c.isolate('n3');
    c.propose('n1', 'c');
    c.stabilize();
    expect(c.raft('n1').status().replicated).toBe(commit);
    c.tick('n1');
    c.stabilize();
    expect(c.raft('n2').status().replicated).toBe(commit);
    expect(c.raft('n3').status().replicated).toBeLessThanOrEqual(commit);
  });
});
