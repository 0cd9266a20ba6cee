import type { RaftConfig } from '../../src/raft/config.js';
import { MessageType } from '../../src/raft/message.js';
import { Cluster, drain, entry, msg, node } from './cluster.js';

const ABC = ['a', 'b', 'c'];
const atTerm3 = { hardState: { term: 3, vote: 'b', commit: 0 } };

/** Ticks every node once and delivers everything that follows, `ticks` times. */
function run(cluster: Cluster, ticks: number): void {
  for (let t = 0; t < ticks; t++) {
    cluster.tickAll();
    cluster.stabilize();
  }
}

describe('pre-vote (thesis §9.6)', () => {
  it('a pre-candidate asks for term + 1 without changing its own term or vote', () => {
    const a = node('a', ABC, {}, atTerm3);
    a.campaign();
    expect(a.status()).toMatchObject({ role: 'pre-candidate', term: 3, vote: 'b' });
    const ready = drain(a);
    expect(ready.hardState).toBeNull();
    expect(ready.mustSync).toBe(false);
    expect(ready.softState).toEqual({ role: 'pre-candidate', leader: '' });
    expect(ready.messages.map((m) => [m.type, m.to, m.term])).toEqual([
      [MessageType.PreVote, 'b', 4],
      [MessageType.PreVote, 'c', 4],
    ]);
  });

  it('voters answer a pre-vote without changing state, before persisting anything', () => {
    const c = node('c', ABC, {}, atTerm3);
    c.step(msg({ type: MessageType.PreVote, from: 'a', to: 'c', term: 4 }));
    expect(c.status()).toMatchObject({ term: 3, vote: 'b', role: 'follower' });
    const ready = drain(c);
    expect(ready.hardState).toBeNull();
    expect(ready.persistedMessages).toEqual([]);
    expect(ready.messages.map((m) => [m.type, m.to, m.term, m.reject])).toEqual([[MessageType.PreVoteResponse, 'a', 4, false]]);
  });

  it('a pre-vote from a candidate with an older log is refused at the voter’s term', () => {
    const c = node('c', ABC, {}, { hardState: { term: 3, vote: '', commit: 0 }, entries: [entry(1, 3)] });
    c.step(msg({ type: MessageType.PreVote, from: 'a', to: 'c', term: 4, index: 5, logTerm: 2 }));
    expect(drain(c).messages.map((m) => [m.type, m.term, m.reject])).toEqual([[MessageType.PreVoteResponse, 3, true]]);
  });

  it('only a pre-vote quorum makes a real candidate, which then enters term + 1', () => {
    const a = node('a', ABC, {}, atTerm3);
    a.campaign();
    drain(a);
    a.step(msg({ type: MessageType.PreVoteResponse, from: 'b', to: 'a', term: 4 }));
    expect(a.status()).toMatchObject({ role: 'candidate', term: 4, vote: 'a' });
    const ready = drain(a);
    expect(ready.messages.map((m) => [m.type, m.to, m.term])).toEqual([
      [MessageType.Vote, 'b', 4],
      [MessageType.Vote, 'c', 4],
    ]);
  });

  it('a lost pre-vote leaves the term untouched', () => {
    const a = node('a', ABC, {}, atTerm3);
    a.campaign();
    a.step(msg({ type: MessageType.PreVoteResponse, from: 'b', to: 'a', term: 3, reject: true }));
    a.step(msg({ type: MessageType.PreVoteResponse, from: 'c', to: 'a', term: 3, reject: true }));
    expect(a.status()).toMatchObject({ role: 'follower', term: 3, vote: 'b' });
  });

  it('a partitioned node rejoining does not disrupt a stable leader', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    cluster.isolate('c');
    run(cluster, 200);
    cluster.propose('a', 'while-away');
    cluster.stabilize();
    expect(cluster.raft('c').status().term).toBe(1);
    cluster.heal();
    run(cluster, 50);
    expect(cluster.leaderOfTerm).toEqual(new Map([[1, 'a']]));
    expect(cluster.raft('a').status()).toMatchObject({ role: 'leader', term: 1 });
    expect(cluster.raft('c').status()).toMatchObject({ role: 'follower', term: 1, leader: 'a' });
    expect(cluster.deliveredTypes('c')).toEqual(['while-away']);
  });

  it('without pre-vote and check-quorum the same rejoin does disrupt the leader (the test above can fail)', () => {
    const config: Partial<RaftConfig> = { preVote: false, checkQuorum: false };
    const cluster = new Cluster(ABC, { config });
    cluster.elect('a');
    cluster.isolate('c');
    run(cluster, 200);
    cluster.propose('a', 'while-away');
    cluster.stabilize();
    expect(cluster.raft('c').status().term).toBeGreaterThan(5);
    cluster.heal();
    run(cluster, 100);
    expect(cluster.raft('a').status().term).toBeGreaterThan(5);
    expect(cluster.leaderOfTerm.size).toBeGreaterThan(1);
  });
});
