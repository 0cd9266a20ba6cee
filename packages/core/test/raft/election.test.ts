import { EntryKind } from '../../src/raft/entry.js';
import { MessageType } from '../../src/raft/message.js';
import { RAFT_CONFIG_DEFAULTS } from '../../src/raft/raft.js';
import { Cluster, drain, entry, msg, node } from './cluster.js';

const ABC = ['a', 'b', 'c'];

describe('election timeout', () => {
  it('is drawn from [electionTicksMin, electionTicksMax) and re-drawn at every reset', () => {
    const r = node('a', ABC, { preVote: false, electionTicksMin: 5, electionTicksMax: 9 });
    const gaps: number[] = [];
    let lastTerm = 0;
    let lastChange = 0;
    for (let t = 1; t <= 600; t++) {
      r.tick();
      const term = r.status().term;
      if (term !== lastTerm) {
        gaps.push(t - lastChange);
        lastChange = t;
        lastTerm = term;
      }
      drain(r);
    }
    expect(gaps.length).toBeGreaterThan(60);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(5);
      expect(gap).toBeLessThan(9);
    }
    expect(new Set(gaps)).toEqual(new Set([5, 6, 7, 8]));
  });

  it('replays exactly from the same seed and differs between nodes sharing a seed', () => {
    const firstTimeout = (id: string, seed: number): number => {
      const r = node(id, ['a', 'b'], { seed, preVote: false });
      for (let t = 1; t < 100; t++) {
        r.tick();
        if (r.status().role === 'candidate') return t;
      }
      throw new Error('no election');
    };
    expect(firstTimeout('a', 5)).toBe(firstTimeout('a', 5));
    const seeds = Array.from({ length: 20 }, (_, s) => firstTimeout('a', s) === firstTimeout('b', s));
    expect(seeds.filter((same) => !same).length).toBeGreaterThan(10);
  });
});

describe('voting', () => {
  const restored = { hardState: { term: 1, vote: '', commit: 0 }, entries: [entry(1, 1), entry(2, 1)] };

  it('grants one vote per term and repeats the same grant to the same candidate', () => {
    const c = node('c', ABC, {}, restored);
    c.step(msg({ type: MessageType.Vote, from: 'a', to: 'c', term: 2, index: 2, logTerm: 1 }));
    c.step(msg({ type: MessageType.Vote, from: 'b', to: 'c', term: 2, index: 2, logTerm: 1 }));
    c.step(msg({ type: MessageType.Vote, from: 'a', to: 'c', term: 2, index: 2, logTerm: 1 }));
    const ready = drain(c);
    expect(ready.messages).toEqual([]);
    expect(ready.persistedMessages.map((m) => [m.type, m.to, m.term, m.reject])).toEqual([
      [MessageType.VoteResponse, 'a', 2, false],
      [MessageType.VoteResponse, 'b', 2, true],
      [MessageType.VoteResponse, 'a', 2, false],
    ]);
    expect(ready.hardState).toEqual({ term: 2, vote: 'a', commit: 0 });
    expect(ready.mustSync).toBe(true);
  });

  it.each([
    ['a longer log of the same last term', 3, 1, false],
    ['the same log', 2, 1, false],
    ['a shorter log of the same last term', 1, 1, true],
    ['a shorter log with a newer last term', 1, 2, false],
    ['a longer log with an older last term', 9, 0, true],
  ])('against a candidate with %s: reject=%s', (_label, index, logTerm, reject) => {
    const c = node('c', ABC, {}, restored);
    c.step(msg({ type: MessageType.Vote, from: 'a', to: 'c', term: 2, index, logTerm }));
    const [response] = drain(c).persistedMessages;
    expect(response?.reject).toBe(reject);
    expect(c.status().vote).toBe(reject ? '' : 'a');
  });
});

describe('terms', () => {
  it('a follower adopts a higher term and its leader from an Append or Heartbeat', () => {
    const b = node('b', ABC, {}, { hardState: { term: 1, vote: 'a', commit: 0 } });
    b.step(msg({ type: MessageType.Heartbeat, from: 'c', to: 'b', term: 3 }));
    expect(b.status()).toMatchObject({ term: 3, vote: '', leader: 'c', role: 'follower' });
  });

  it('a leader steps down when any message shows a higher term', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    const a = cluster.raft('a');
    a.step(msg({ type: MessageType.AppendResponse, from: 'b', to: 'a', term: 9 }));
    expect(a.status()).toMatchObject({ role: 'follower', term: 9, leader: '', vote: '' });
    const ready = drain(a);
    expect(ready.softState).toEqual({ role: 'follower', leader: '' });
    expect(ready.hardState).toMatchObject({ term: 9, vote: '' });
  });

  it('a candidate yields to the leader of its own term', () => {
    const a = node('a', ABC, { preVote: false });
    a.campaign();
    expect(a.status()).toMatchObject({ role: 'candidate', term: 1 });
    a.step(msg({ type: MessageType.Heartbeat, from: 'b', to: 'a', term: 1 }));
    expect(a.status()).toMatchObject({ role: 'follower', term: 1, leader: 'b', vote: 'a' });
  });

  it('ignores messages of an older term, telling a stale leader the current term', () => {
    const b = node('b', ABC, {}, { hardState: { term: 5, vote: '', commit: 0 } });
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 3, entries: [entry(1, 3)] }));
    expect(b.status()).toMatchObject({ term: 5, lastIndex: 0, leader: '' });
    const ready = drain(b);
    expect(ready.persistedMessages.map((m) => [m.type, m.to, m.term])).toEqual([[MessageType.AppendResponse, 'a', 5]]);
    b.step(msg({ type: MessageType.VoteResponse, from: 'a', to: 'b', term: 4 }));
    expect(b.hasReady()).toBe(false);
  });
});

describe('elections', () => {
  it('elects a leader in a three-node group; every node delivers its no-op', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    for (const id of ABC) {
      expect(cluster.raft(id).status()).toMatchObject({ term: 1, leader: 'a', commit: 1 });
      expect(cluster.node(id).delivered.map((e) => [e.index, e.term, e.kind])).toEqual([[1, 1, EntryKind.Noop]]);
    }
    expect(cluster.raft('b').status().role).toBe('follower');
  });

  it('a candidate that a majority rejects returns to follower in the same term', () => {
    const a = node('a', ABC, { preVote: false });
    a.campaign();
    drain(a);
    a.step(msg({ type: MessageType.VoteResponse, from: 'b', to: 'a', term: 1, reject: true }));
    expect(a.status().role).toBe('candidate');
    a.step(msg({ type: MessageType.VoteResponse, from: 'c', to: 'a', term: 1, reject: true }));
    expect(a.status()).toMatchObject({ role: 'follower', term: 1, vote: 'a' });
  });

  it('a candidate counts its own vote only once it is persisted', () => {
    const a = node('a', ABC, { preVote: false });
    a.campaign();
    a.step(msg({ type: MessageType.VoteResponse, from: 'b', to: 'a', term: 1 }));
    expect(a.isLeader()).toBe(false);
    const ready = a.ready();
    expect(ready.hardState).toEqual({ term: 1, vote: 'a', commit: 0 });
    expect(ready.messages.filter((m) => m.type === MessageType.Vote).map((m) => m.to)).toEqual(['b', 'c']);
    a.advance(ready);
    expect(a.isLeader()).toBe(true);
  });

  it('a single voter elects itself on campaign, as soon as its vote is durable', () => {
    const a = node('a', ['a']);
    a.campaign();
    expect(a.status()).toMatchObject({ role: 'candidate', term: 1, vote: 'a' });
    const first = drain(a);
    expect(first.messages).toEqual([]);
    expect(first.mustSync).toBe(true);
    expect(a.isLeader()).toBe(true);
    const second = drain(a);
    expect(second.softState).toEqual({ role: 'leader', leader: 'a' });
    expect(second.entries.map((e) => [e.index, e.term, e.kind])).toEqual([[1, 1, EntryKind.Noop]]);
    expect(a.status().commit).toBe(1);
    expect(drain(a).committedEntries.map((e) => e.index)).toEqual([1]);
    expect(a.hasReady()).toBe(false);
  });

  it('a single voter elects itself on its first election timeout', () => {
    const a = node('a', ['a']);
    let ticks = 0;
    while (!a.isLeader()) {
      a.tick();
      ticks++;
      while (a.hasReady()) drain(a);
      expect(ticks).toBeLessThan(RAFT_CONFIG_DEFAULTS.electionTicksMax);
    }
    expect(ticks).toBeGreaterThanOrEqual(RAFT_CONFIG_DEFAULTS.electionTicksMin);
  });

  it('campaign does nothing on a leader or a learner', () => {
    const cluster = new Cluster(['a', 'b'], { learners: ['l'] });
    cluster.elect('a');
    const term = cluster.raft('a').status().term;
    cluster.raft('a').campaign();
    cluster.raft('l').campaign();
    expect(cluster.raft('a').status()).toMatchObject({ role: 'leader', term });
    expect(cluster.raft('l').status()).toMatchObject({ role: 'follower', term });
    expect(cluster.raft('l').hasReady()).toBe(false);
  });
});

describe('config', () => {
  it('documents its defaults', () => {
    expect(RAFT_CONFIG_DEFAULTS).toEqual({
      electionTicksMin: 10,
      electionTicksMax: 20,
      heartbeatTicks: 1,
      preVote: true,
      checkQuorum: true,
      maxInflightMessages: 256,
      maxEntriesPerMessage: 1024,
      maxBytesPerMessage: 1048576,
      maxUncommittedEntries: 100000,
      snapshotTimeoutTicks: 200,
      broadcastCommit: true,
    });
  });

  it.each([
    [{ voters: [] }, /voters must not be empty/],
    [{ voters: ['a', 'a'] }, /"a" is listed twice/],
    [{ learners: ['b'] }, /"b" is listed twice/],
    [{ id: 'z' }, /id "z" is neither in voters nor in learners/],
    [{ id: '' }, /id must be a non-empty string/],
    [{ voters: ['a', ''] }, /must not contain an empty node id/],
    [{ electionTicksMin: 2, heartbeatTicks: 2 }, /electionTicksMin \(2\) must be greater than heartbeatTicks \(2\)/],
    [{ electionTicksMin: 20 }, /electionTicksMax \(20\) must be greater than electionTicksMin \(20\)/],
    [{ heartbeatTicks: 0 }, /heartbeatTicks must be a positive integer, got 0/],
    [{ maxInflightMessages: 0 }, /maxInflightMessages must be a positive integer/],
    [{ maxEntriesPerMessage: 1.5 }, /maxEntriesPerMessage must be a positive integer/],
    [{ maxBytesPerMessage: -1 }, /maxBytesPerMessage must be a positive integer/],
    [{ maxUncommittedEntries: 0 }, /maxUncommittedEntries must be a positive integer/],
    [{ seed: Number.NaN }, /seed must be a finite number/],
    [{ partition: -1 }, /partition must be a non-negative integer/],
    [{ broadcastCommit: 'no' }, /broadcastCommit must be true or false, got "no"/],
    [{ preVote: 1 }, /preVote must be true or false, got 1/],
  ])('rejects %j', (override, error) => {
    expect(() => node('a', ['a', 'b'], override as never)).toThrow(error);
  });

  it('rejects a restore whose commit is beyond its entries', () => {
    expect(() => node('a', ['a'], {}, { hardState: { term: 1, vote: '', commit: 3 }, entries: [entry(1, 1)] })).toThrow(/beyond the last restored entry/);
  });
});
