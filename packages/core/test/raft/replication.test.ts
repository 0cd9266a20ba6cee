import { EntryKind } from '../../src/raft/entry.js';
import type { Message } from '../../src/raft/message.js';
import { MessageType } from '../../src/raft/message.js';
import { Cluster, data, drain, entry, log, msg, node } from './cluster.js';

const ABC = ['a', 'b', 'c'];
const isAppend = (m: Message): boolean => m.type === MessageType.Append;
const appendsTo = (queue: readonly Message[], to: string): Message[] => queue.filter((m) => isAppend(m) && m.to === to);
const repeat = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));

describe('the no-op of a new term', () => {
  it('is the first entry a leader appends, with the leader’s term and no payload', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    const [noop] = cluster.raft('a').entries(1, 1);
    expect(noop).toMatchObject({ index: 1, term: 1, kind: EntryKind.Noop, type: '', time: { physical: 0, counter: 0 } });
    expect(noop?.data.byteLength).toBe(0);
  });

  it('lets entries of earlier terms commit under it', () => {
    const cluster = new Cluster(ABC, { config: { preVote: false } });
    for (const id of ABC) cluster.restore(id, { hardState: { term: 2, vote: '', commit: 1 }, entries: log(1, 2, 2), applied: 1 });
    cluster.elect('b');
    for (const id of ABC) {
      expect(cluster.raft(id).status()).toMatchObject({ commit: 4, applied: 4, term: 3 });
      expect(cluster.node(id).delivered.map((e) => `${e.index}/${e.term}`)).toEqual(['2/2', '3/2', '4/3']);
    }
  });
});

describe('commit announcement with broadcastCommit: false', () => {
  const quiet = { config: { broadcastCommit: false } };
  const commitOf = (cluster: Cluster, id: string): number => cluster.raft(id).status().commit;

  it('sends no Append that only moves the commit index; the next Append with entries carries it', () => {
    const cluster = new Cluster(ABC, quiet);
    cluster.elect('a');
    cluster.propose('a', 'x');
    const sent: Message[] = [];
    cluster.stabilize((m) => {
      sent.push(m);
      return true;
    });
    expect(commitOf(cluster, 'a')).toBe(2);
    // Only the Appends that carried x went to the followers, none after the commit moved to 2.
    expect(sent.filter((m) => isAppend(m)).map((m) => [m.to, m.entries.length])).toEqual([['b', 1], ['c', 1]]);
    expect(commitOf(cluster, 'b')).toBeLessThan(2);
    expect(cluster.deliveredTypes('b')).toEqual([]);
    cluster.propose('a', 'y');
    cluster.processAll();
    expect(appendsTo(cluster.queue, 'b').map((m) => [m.commit, m.entries.map((e) => e.type)])).toEqual([[2, ['y']]]);
    cluster.stabilize();
    expect(cluster.deliveredTypes('b')).toEqual(['x']);
    expect(cluster.deliveredTypes('a')).toEqual(['x', 'y']);
  });

  it('lets the next heartbeat carry the commit index when no entries follow', () => {
    const cluster = new Cluster(ABC, quiet);
    cluster.elect('a');
    cluster.propose('a', 'x');
    cluster.stabilize();
    expect(cluster.deliveredTypes('c')).toEqual([]);
    cluster.tick('a');
    const heartbeats = cluster.queue.filter((m) => m.type === MessageType.Heartbeat);
    expect(heartbeats.map((m) => [m.to, m.commit])).toEqual([['b', 2], ['c', 2]]);
    cluster.stabilize();
    for (const id of ABC) expect(cluster.deliveredTypes(id)).toEqual(['x']);
  });

  it('changes nothing for a leader that announces: the default sends the commit index at once', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    cluster.propose('a', 'x');
    cluster.stabilize();
    for (const id of ABC) expect(cluster.deliveredTypes(id)).toEqual(['x']);
  });
});

describe('commit', () => {
  it('counts the leader itself only once its own entries are persisted', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    const a = cluster.raft('a');
    a.propose([data('x')]);
    const pending = a.ready(); // the leader's write of index 2 is in progress
    cluster.send(pending.messages);
    cluster.deliverOnce((m) => m.to === 'b'); // b persists and acknowledges
    cluster.stabilize((m) => m.to === 'a');
    expect(a.status().commit).toBe(1);
    a.advance(pending);
    expect(a.status().commit).toBe(2);
    // The follower hears of the new commit index at once, not at the next heartbeat.
    cluster.processAll();
    expect(cluster.queue.filter((m) => m.to === 'b' && m.type === MessageType.Append).map((m) => m.commit)).toEqual([2]);
  });

  it('needs no leader write when a majority of followers acknowledged (thesis §10.2.1)', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    const a = cluster.raft('a');
    a.propose([data('x')]);
    const pending = a.ready();
    cluster.send(pending.messages);
    cluster.stabilize((m) => m.to !== 'a' || m.type === MessageType.AppendResponse);
    expect(a.status().commit).toBe(2);
    a.advance(pending);
    expect(drain(a).committedEntries.map((e) => e.type)).toEqual(['x']);
  });

  it('a leader learns only its own quorum: two of five voters do not commit', () => {
    const cluster = new Cluster(['a', 'b', 'c', 'd', 'e']);
    cluster.elect('a');
    cluster.propose('a', 'x');
    cluster.processAll();
    cluster.drop((m) => m.to === 'c' || m.to === 'd' || m.to === 'e');
    cluster.stabilize();
    expect(cluster.raft('a').status().commit).toBe(1);
  });
});

describe('figure 8 of the Raft paper: a leader commits only entries of its own term by counting replicas', () => {
  const S = ['s1', 's2', 's3', 's4', 's5'];
  const electRepeatedly = (cluster: Cluster, id: string, deliver: (m: Message) => boolean = () => true): void => {
    for (let attempt = 0; attempt < 5 && !cluster.raft(id).isLeader(); attempt++) {
      cluster.raft(id).campaign();
      cluster.stabilize(deliver);
    }
    expect(cluster.raft(id).isLeader()).toBe(true);
  };

  /** Up to (c): "x" (index 2, term 1) is on s1, s2 and s3, a majority, but s1 (leader of term 3) must not commit it. */
  function upToC(): Cluster {
    const cluster = new Cluster(S, { config: { preVote: false, checkQuorum: false, maxEntriesPerMessage: 1 } });
    // (a) s1 leads term 1 and replicates "x" at index 2 to s2 only.
    cluster.elect('s1');
    cluster.propose('s1', 'x');
    cluster.processAll();
    cluster.drop((m) => m.from === 's1' && m.to !== 's2');
    cluster.stabilize();
    // (b) s1 crashes; s5 wins term 2 with s3 and s4 and appends index 2 of term 2 on its own log only.
    cluster.crash('s1');
    electRepeatedly(cluster, 's5', (m) => !(m.from === 's5' && isAppend(m)));
    cluster.drop();
    expect(cluster.raft('s5').status()).toMatchObject({ term: 2, lastIndex: 2, lastTerm: 2 });
    // (c) s5 crashes, s1 restarts and wins term 3; it brings s3 to index 2 but index 3 (its term) reaches s2 only.
    cluster.crash('s5');
    cluster.restart('s1');
    // s3 must see the first probe (it lacks index 2 and rejects it), then index 2, but not index 3 once it could accept it.
    const held = (m: Message): boolean =>
      m.from === 's1' &&
      isAppend(m) &&
      (m.to === 's4' || (m.to === 's3' && m.entries.some((e) => e.index === 3) && cluster.raft('s3').status().lastIndex >= 2));
    electRepeatedly(cluster, 's1', (m) => !held(m));
    cluster.drop();
    const s1 = cluster.raft('s1');
    expect(s1.status()).toMatchObject({ term: 3, lastIndex: 3, lastTerm: 3 });
    for (const id of ['s1', 's2', 's3']) expect(cluster.raft(id).entries(2, 2)[0]?.type).toBe('x');
    expect(cluster.raft('s3').status().lastIndex).toBe(2);
    return cluster;
  }

  it('(c)→(d): "x" on a majority is not committed, and a later leader rightly overwrites it', () => {
    const cluster = upToC();
    expect(cluster.raft('s1').status().commit).toBe(1);
    // (d) s1 crashes; s5 (last term 2) wins with s3 and s4 and overwrites index 2 everywhere it can.
    cluster.crash('s1');
    cluster.restart('s5');
    electRepeatedly(cluster, 's5');
    expect(cluster.raft('s5').status().term).toBeGreaterThanOrEqual(4);
    for (const id of ['s2', 's3', 's4', 's5']) {
      expect(cluster.raft(id).term(2)).toBe(2);
      expect(cluster.raft(id).status().commit).toBe(3);
      expect(cluster.deliveredTypes(id)).toEqual([]);
    }
    expect(cluster.deliveredAt.get(2)?.term).toBe(2);
  });

  it('(c)→(e): once an entry of s1’s own term is on a majority, "x" commits with it and can no longer be lost', () => {
    const cluster = upToC();
    cluster.tick('s1'); // a heartbeat round lets s1 resend index 3 to s3 and s4
    cluster.stabilize();
    expect(cluster.raft('s1').status().commit).toBe(3);
    expect(cluster.deliveredTypes('s1')).toEqual(['x']);
    // s5 can no longer win: every node that holds index 3 of term 3 refuses it.
    cluster.crash('s1');
    cluster.restart('s5');
    for (let attempt = 0; attempt < 5; attempt++) {
      cluster.raft('s5').campaign();
      cluster.stabilize();
    }
    expect(cluster.raft('s5').isLeader()).toBe(false);
  });
});

describe('follower log matching', () => {
  const restored = { hardState: { term: 2, vote: '', commit: 1 }, entries: log(1, 2, 2, 2), applied: 1 };

  it('truncates a conflicting suffix; the next Ready writes from the conflict index', () => {
    const b = node('b', ABC, {}, restored);
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 3, index: 2, logTerm: 2, entries: [entry(3, 3)], commit: 1 }));
    expect(b.status()).toMatchObject({ lastIndex: 3, lastTerm: 3 });
    const ready = drain(b);
    expect(ready.entries.map((e) => `${e.index}/${e.term}`)).toEqual(['3/3']);
    expect(ready.mustSync).toBe(true);
    expect(ready.persistedMessages.map((m) => [m.type, m.index, m.reject])).toEqual([[MessageType.AppendResponse, 3, false]]);
  });

  it('writes only the new part of an Append that overlaps entries it already has', () => {
    const b = node('b', ABC, {}, restored);
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 2, index: 1, logTerm: 1, entries: [entry(2, 2), entry(3, 2), entry(4, 2), entry(5, 2)], commit: 5 }));
    const ready = drain(b);
    expect(ready.entries.map((e) => e.index)).toEqual([5]);
    expect(ready.committedEntries.map((e) => e.index)).toEqual([2, 3, 4, 5]);
  });

  it('keeps its suffix when a delayed, shorter Append arrives', () => {
    const b = node('b', ABC, {}, restored);
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 2, index: 1, logTerm: 1, entries: [entry(2, 2)], commit: 1 }));
    expect(b.status().lastIndex).toBe(4);
    expect(drain(b).persistedMessages[0]).toMatchObject({ index: 2, reject: false });
  });

  it('never rewrites committed entries: an Append below the commit index is answered with the commit index', () => {
    const b = node('b', ABC, {}, { ...restored, hardState: { term: 2, vote: '', commit: 3 } });
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 3, index: 1, logTerm: 1, entries: [entry(2, 3)] }));
    expect(b.term(2)).toBe(2);
    expect(drain(b).persistedMessages[0]).toMatchObject({ type: MessageType.AppendResponse, index: 3, reject: false });
  });

  it('a heartbeat committing beyond its log (lost data) commits nothing and tells the leader what it holds', () => {
    const b = node('b', ABC, {}, restored);
    const before = b.status().commit;
    b.step(msg({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 2, commit: 9 }));
    expect(b.status().commit).toBe(before);
    const sent = drain(b).messages;
    expect(sent).toContainEqual(expect.objectContaining({ type: MessageType.AppendResponse, reject: true, index: 9, rejectHint: 4, context: 2 }));
    expect(sent).toContainEqual(expect.objectContaining({ type: MessageType.HeartbeatResponse }));
  });

  it('a leader told that a follower lost its data lowers its match and probes again', () => {
    const c = new Cluster(ABC);
    c.elect('a');
    c.propose('a', 'x', 'y');
    c.stabilize();
    const term = c.raft('a').status().term;
    c.raft('a').step(msg({ type: MessageType.AppendResponse, from: 'b', to: 'a', term, index: 4, reject: true, rejectHint: 0, context: 2 }));
    const appends = drain(c.raft('a')).messages.filter((m) => m.type === MessageType.Append && m.to === 'b');
    expect(appends).toEqual([expect.objectContaining({ index: 0 })]);
  });

  it('rejects an Append that does not match, hinting where the logs may still match', () => {
    const b = node('b', ABC, {}, restored);
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 3, index: 9, logTerm: 3, entries: [entry(10, 3)] }));
    expect(drain(b).persistedMessages[0]).toMatchObject({ type: MessageType.AppendResponse, reject: true, index: 9, rejectHint: 4, logTerm: 2 });
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 3, index: 4, logTerm: 1, entries: [entry(5, 3)] }));
    expect(drain(b).persistedMessages[0]).toMatchObject({ reject: true, index: 4, rejectHint: 1, logTerm: 1 });
  });

  it('the leader skips a whole conflicting term per round trip', () => {
    const cluster = new Cluster(ABC, { config: { preVote: false } });
    const leaderLog = log(...repeat(5, () => 1), ...repeat(15, () => 3));
    const staleLog = log(...repeat(5, () => 1), ...repeat(7, () => 2));
    cluster.restore('a', { hardState: { term: 3, vote: '', commit: 5 }, entries: leaderLog, applied: 0 });
    cluster.restore('c', { hardState: { term: 3, vote: '', commit: 5 }, entries: leaderLog, applied: 0 });
    cluster.restore('b', { hardState: { term: 3, vote: '', commit: 5 }, entries: staleLog, applied: 0 });
    cluster.raft('a').campaign();
    const toB: Message[] = [];
    const rejections: Message[] = [];
    for (let round = 0; round < 50; round++) {
      const batch = cluster.deliverOnce();
      if (batch.length === 0) break;
      toB.push(...appendsTo(batch, 'b'));
      rejections.push(...batch.filter((m) => m.type === MessageType.AppendResponse && m.reject));
    }
    expect(rejections.length).toBe(1);
    expect(toB.map((m) => m.index)).toEqual([20, 5]);
    expect(cluster.raft('b').entries(1, 21).map((e) => e.term)).toEqual(cluster.raft('a').entries(1, 21).map((e) => e.term));
    expect(cluster.raft('b').status().commit).toBe(21);
  });
});

describe('progress: probe and replicate', () => {
  it('in probe a leader sends one Append and waits for its answer', () => {
    const cluster = new Cluster(ABC);
    cluster.raft('a').campaign();
    cluster.stabilize((m) => m.to !== 'b' || !isAppend(m));
    expect(appendsTo(cluster.queue, 'b').length).toBe(1);
    cluster.propose('a', 'x');
    cluster.propose('a', 'y');
    cluster.processAll();
    expect(appendsTo(cluster.queue, 'b').length).toBe(1);
    // Once the probe is answered, b is in replicate and receives everything in one message.
    cluster.deliverOnce((m) => m.to === 'b' && isAppend(m));
    cluster.deliverOnce((m) => m.from === 'b');
    const [catchUp] = appendsTo(cluster.queue, 'b');
    expect(catchUp?.entries.map((e) => e.type)).toEqual(['x', 'y']);
  });

  it('in replicate a leader pipelines up to maxInflightMessages Appends, then waits for acknowledgements', () => {
    const cluster = new Cluster(ABC, { config: { maxInflightMessages: 2, maxEntriesPerMessage: 1 } });
    cluster.elect('a');
    for (let i = 1; i <= 5; i++) cluster.propose('a', `x${i}`);
    cluster.processAll();
    const first = appendsTo(cluster.queue, 'b');
    expect(first.map((m) => m.entries.map((e) => e.type))).toEqual([['x1'], ['x2']]);
    expect(first.map((m) => m.index)).toEqual([1, 2]); // sent optimistically: the second does not wait for the first
    cluster.drop((m) => m.to === 'c');
    cluster.deliverOnce((m) => m.to === 'b' && m.entries[0]?.type === 'x1');
    cluster.deliverOnce((m) => m.from === 'b');
    expect(appendsTo(cluster.queue, 'b').map((m) => m.entries.map((e) => e.type))).toEqual([['x2'], ['x3']]);
  });

  it('bounds every Append by maxBytesPerMessage, but an oversized entry still travels alone', () => {
    const cluster = new Cluster(ABC, { config: { maxBytesPerMessage: 10 } });
    cluster.elect('a');
    cluster.raft('a').propose([data('a', 4), data('b', 4), data('c', 4), data('big', 100), data('d', 4), data('e', 4)]);
    cluster.processAll();
    expect(appendsTo(cluster.queue, 'b').map((m) => m.entries.map((e) => e.type))).toEqual([['a', 'b'], ['c'], ['big'], ['d', 'e']]);
  });

  it('bounds every Append by maxEntriesPerMessage', () => {
    const cluster = new Cluster(ABC, { config: { maxEntriesPerMessage: 2 } });
    cluster.elect('a');
    cluster.propose('a', 'p', 'q', 'r', 's', 't');
    cluster.processAll();
    expect(appendsTo(cluster.queue, 'c').map((m) => m.entries.length)).toEqual([2, 2, 1]);
  });

  it('proposals of one turn share one Append per follower', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    for (let i = 0; i < 10; i++) cluster.propose('a', `x${i}`);
    cluster.processAll();
    expect(appendsTo(cluster.queue, 'b').map((m) => m.entries.length)).toEqual([10]);
  });
});

describe('heartbeats and catch-up', () => {
  it('carry commit = min(leader commit, follower match)', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    cluster.propose('a', 'x');
    cluster.stabilize((m) => m.to !== 'c');
    cluster.drop();
    expect(cluster.raft('a').status().commit).toBe(2);
    cluster.tick('a');
    const beats = cluster.queue.filter((m) => m.type === MessageType.Heartbeat);
    expect(beats.map((m) => [m.to, m.commit])).toEqual([
      ['b', 2],
      ['c', 1],
    ]);
  });

  it('a follower that answers a heartbeat while behind is sent the missing entries', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    cluster.propose('a', 'x');
    cluster.propose('a', 'y');
    cluster.stabilize((m) => m.to !== 'c'); // every Append to c is lost, the commit news too
    cluster.drop();
    expect(cluster.raft('c').status().lastIndex).toBe(1);
    cluster.tick('a');
    cluster.stabilize();
    expect(cluster.deliveredTypes('c')).toEqual(['x', 'y']);
  });

  it('a full window whose Appends were lost is reopened by heartbeat answers', () => {
    const cluster = new Cluster(ABC, { config: { maxInflightMessages: 1, maxEntriesPerMessage: 1 } });
    cluster.elect('a');
    cluster.propose('a', 'x');
    cluster.propose('a', 'y');
    cluster.processAll();
    expect(appendsTo(cluster.queue, 'c').length).toBe(1);
    cluster.drop((m) => m.to === 'c');
    cluster.stabilize();
    cluster.tick('a');
    cluster.stabilize();
    expect(cluster.deliveredTypes('c')).toEqual(['x', 'y']);
  });
});

describe('proposals', () => {
  it('are assigned consecutive indexes in the leader’s term', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    expect(cluster.propose('a', 'x', 'y')).toEqual({ accepted: true, reason: 'ok', firstIndex: 2, lastIndex: 3, term: 1 });
    expect(cluster.raft('a').entries(2, 3).map((e) => [e.index, e.term, e.type])).toEqual([
      [2, 1, 'x'],
      [3, 1, 'y'],
    ]);
  });

  it('are refused on a follower', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    expect(cluster.propose('b', 'x')).toEqual({ accepted: false, reason: 'not-leader', firstIndex: 0, lastIndex: 0, term: 1 });
  });

  it('are refused beyond maxUncommittedEntries, except when nothing is uncommitted', () => {
    const cluster = new Cluster(ABC, { config: { maxUncommittedEntries: 3 } });
    cluster.elect('a');
    expect(cluster.propose('a', '1', '2', '3', '4').accepted).toBe(true);
    cluster.stabilize();
    cluster.isolate('a');
    expect(cluster.propose('a', 'x', 'y').accepted).toBe(true);
    expect(cluster.propose('a', 'z', 'w')).toMatchObject({ accepted: false, reason: 'too-many-uncommitted' });
    expect(cluster.propose('a', 'z').accepted).toBe(true);
    expect(cluster.propose('a', 'w').reason).toBe('too-many-uncommitted');
  });
});
