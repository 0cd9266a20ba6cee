import { MessageType } from '../../src/raft/message.js';
import { Cluster, drain, log, msg, node } from './cluster.js';

const ABC = ['a', 'b', 'c'];

describe('Ready: what may leave before the persist (thesis §3.8)', () => {
  it.each([
    ['VoteResponse', MessageType.Vote, 'persistedMessages'],
    ['PreVoteResponse', MessageType.PreVote, 'messages'],
    ['AppendResponse', MessageType.Append, 'persistedMessages'],
    ['HeartbeatResponse', MessageType.Heartbeat, 'messages'],
  ] as const)('%s goes in %s', (_name, requestType, list) => {
    const b = node('b', ABC, { checkQuorum: false });
    b.step(msg({ type: requestType, from: 'a', to: 'b', term: 1 }));
    const ready = drain(b);
    expect(ready[list].length).toBe(1);
    expect(ready[list === 'messages' ? 'persistedMessages' : 'messages']).toEqual([]);
  });

  it('requests and a leader’s Appends go in messages, in parallel with the leader’s own write', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    cluster.propose('a', 'x');
    const ready = cluster.raft('a').ready();
    expect(ready.entries.map((e) => e.type)).toEqual(['x']);
    expect(ready.messages.map((m) => [m.type, m.to])).toEqual([
      [MessageType.Append, 'b'],
      [MessageType.Append, 'c'],
    ]);
    expect(ready.persistedMessages).toEqual([]);
  });
});

describe('Ready contents', () => {
  it('reports soft and hard state only when they changed', () => {
    const b = node('b', ABC);
    expect(b.hasReady()).toBe(false);
    b.step(msg({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 1 }));
    const first = drain(b);
    expect(first.softState).toEqual({ role: 'follower', leader: 'a' });
    expect(first.hardState).toEqual({ term: 1, vote: '', commit: 0 });
    b.step(msg({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 1 }));
    const second = drain(b);
    expect(second.softState).toBeNull();
    expect(second.hardState).toBeNull();
    expect(second.mustSync).toBe(false);
  });

  it('needs no sync for a commit index alone, but for entries, term or vote', () => {
    const b = node('b', ABC, {}, { hardState: { term: 1, vote: 'a', commit: 0 }, entries: log(1, 1) });
    b.step(msg({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 1, commit: 2 }));
    const commitOnly = drain(b);
    expect(commitOnly.hardState).toEqual({ term: 1, vote: 'a', commit: 2 });
    expect(commitOnly.mustSync).toBe(false);
    expect(commitOnly.committedEntries.map((e) => e.index)).toEqual([1, 2]);
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 1, index: 2, logTerm: 1, entries: log(1, 1, 1).slice(2), commit: 2 }));
    expect(drain(b).mustSync).toBe(true);
  });

  it('hands out committed entries once: (applied, commit], applied moving on advance', () => {
    const b = node('b', ABC, {}, { hardState: { term: 1, vote: '', commit: 0 }, entries: log(1, 1, 1) });
    b.step(msg({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 1, commit: 2 }));
    const ready = b.ready();
    expect(ready.committedEntries.map((e) => e.index)).toEqual([1, 2]);
    expect(b.status().applied).toBe(0);
    b.advance(ready);
    expect(b.status().applied).toBe(2);
    b.step(msg({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 1, commit: 3 }));
    expect(drain(b).committedEntries.map((e) => e.index)).toEqual([3]);
  });

  it('allows only one Ready at a time, while steps go on', () => {
    const b = node('b', ABC);
    b.step(msg({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 1 }));
    const ready = b.ready();
    expect(() => b.ready()).toThrow(/before advance\(\)/);
    b.step(msg({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 1 }));
    expect(b.hasReady()).toBe(false);
    b.advance(ready);
    expect(() => b.advance(ready)).toThrow(/without an outstanding ready\(\)/);
    expect(b.hasReady()).toBe(true);
    expect(drain(b).messages.map((m) => m.type)).toEqual([MessageType.HeartbeatResponse]);
  });

  it('a follower whose write is overtaken by a truncation rewrites from the conflict', () => {
    const b = node('b', ABC, {}, { hardState: { term: 1, vote: '', commit: 1 }, entries: log(1) });
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 1, index: 1, logTerm: 1, entries: log(1, 1, 1).slice(1), commit: 1 }));
    const inProgress = b.ready();
    expect(inProgress.entries.map((e) => `${e.index}/${e.term}`)).toEqual(['2/1', '3/1']);
    b.step(msg({ type: MessageType.Append, from: 'c', to: 'b', term: 2, index: 1, logTerm: 1, entries: log(1, 2).slice(1), commit: 1 }));
    b.advance(inProgress);
    expect(drain(b).entries.map((e) => `${e.index}/${e.term}`)).toEqual(['2/2']);
  });
});

describe('restart from RaftRestore', () => {
  it('continues as a follower with the restored term, vote and commit, delivering what was not applied', () => {
    const b = node('b', ABC, {}, { hardState: { term: 3, vote: 'a', commit: 3 }, entries: log(1, 2, 3, 3, 3), applied: 1 });
    expect(b.status()).toMatchObject({ role: 'follower', term: 3, vote: 'a', commit: 3, applied: 1, lastIndex: 5, leader: '' });
    const ready = drain(b);
    expect(ready.committedEntries.map((e) => e.index)).toEqual([2, 3]);
    expect(ready.entries).toEqual([]);
    expect(ready.hardState).toBeNull();
    b.step(msg({ type: MessageType.Vote, from: 'c', to: 'b', term: 3, index: 9, logTerm: 3 }));
    expect(drain(b).persistedMessages[0]).toMatchObject({ type: MessageType.VoteResponse, reject: true });
  });

  it('a whole group restarted from storage re-elects and keeps every committed entry', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    cluster.propose('a', 'x', 'y');
    cluster.stabilize();
    for (const id of ABC) cluster.crash(id);
    for (const id of ABC) cluster.restart(id);
    expect(cluster.raft('c').status()).toMatchObject({ term: 1, commit: 3, applied: 3 });
    cluster.elect('c');
    cluster.propose('c', 'z');
    cluster.stabilize();
    for (const id of ABC) expect(cluster.deliveredTypes(id)).toEqual(['x', 'y', 'z']);
  });

  it('restores a log compacted below its first entry and catches up from the leader', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    cluster.propose('a', 'x', 'y', 'z');
    cluster.stabilize();
    const stored = cluster.node('b').storage;
    cluster.restore('b', { hardState: stored.hardState, entries: stored.entries.slice(2), applied: stored.applied });
    expect(cluster.raft('b').status()).toMatchObject({ firstIndex: 3, lastIndex: 4 });
    cluster.propose('a', 'w');
    cluster.stabilize();
    expect(cluster.raft('b').status()).toMatchObject({ commit: 5, applied: 5 });
  });

  it('after compaction, a follower still anchors an Append at the compacted base', () => {
    const b = node('b', ABC, {}, { hardState: { term: 1, vote: '', commit: 2 }, entries: log(1, 1, 1, 1).slice(2), applied: 2 });
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 1, index: 2, logTerm: 1, entries: log(1, 1, 1, 1).slice(2), commit: 4 }));
    expect(b.status().commit).toBe(4);
  });
});
