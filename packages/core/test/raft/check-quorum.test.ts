import { MessageType } from '../../src/raft/message.js';
import { Cluster, drain, msg, node } from './cluster.js';

const ABC = ['a', 'b', 'c'];

/** A follower of `a` at term 1 that has just heard from it. */
function followerOfA(config = {}) {
  const b = node('b', ABC, { electionTicksMin: 10, electionTicksMax: 20, ...config }, { hardState: { term: 1, vote: 'a', commit: 0 } });
  b.step(msg({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 1 }));
  drain(b);
  return b;
}

const voteFromC = (type: MessageType, context = 0) => msg({ type, from: 'c', to: 'b', term: 2, context });

describe('check-quorum', () => {
  it('a leader cut off from its quorum steps down after a full election timeout without answers', () => {
    const cluster = new Cluster(ABC, { config: { electionTicksMin: 10, electionTicksMax: 20 } });
    cluster.elect('a');
    cluster.isolate('a');
    // The first period still contains the followers' answers to the election's appends.
    cluster.tick('a', 10);
    expect(cluster.raft('a').isLeader()).toBe(true);
    cluster.tick('a', 9);
    expect(cluster.raft('a').isLeader()).toBe(true);
    cluster.tick('a', 1);
    expect(cluster.raft('a').status()).toMatchObject({ role: 'follower', term: 1, leader: '' });
  });

  it('a leader that hears from a quorum keeps leading', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    cluster.isolate('c');
    for (let t = 0; t < 100; t++) {
      cluster.tickAll();
      cluster.stabilize();
    }
    expect(cluster.raft('a').status()).toMatchObject({ role: 'leader', term: 1 });
  });

  it('without check-quorum an isolated leader keeps believing it leads', () => {
    const cluster = new Cluster(ABC, { config: { checkQuorum: false } });
    cluster.elect('a');
    cluster.isolate('a');
    cluster.tick('a', 100);
    expect(cluster.raft('a').isLeader()).toBe(true);
  });
});

describe('leader lease', () => {
  it.each([MessageType.Vote, MessageType.PreVote])('a follower in contact with its leader ignores type-%i requests of a higher term', (type) => {
    const b = followerOfA();
    b.step(voteFromC(type));
    expect(b.status()).toMatchObject({ term: 1, vote: 'a', leader: 'a' });
    expect(b.hasReady()).toBe(false);
    for (let t = 0; t < 9; t++) b.tick();
    b.step(voteFromC(type));
    expect(b.hasReady()).toBe(false);
  });

  it('the lease ends after the minimum election timeout without the leader', () => {
    const b = followerOfA();
    for (let t = 0; t < 10; t++) b.tick();
    drain(b);
    b.step(voteFromC(MessageType.Vote));
    expect(b.status()).toMatchObject({ term: 2, vote: 'c' });
    expect(drain(b).persistedMessages.map((m) => [m.type, m.reject])).toEqual([[MessageType.VoteResponse, false]]);
  });

  it('a vote flagged as a leadership transfer (context 1) bypasses the lease', () => {
    const b = followerOfA();
    b.step(voteFromC(MessageType.Vote, 1));
    expect(b.status()).toMatchObject({ term: 2, vote: 'c', leader: '' });
    expect(drain(b).persistedMessages.map((m) => [m.type, m.term, m.reject])).toEqual([[MessageType.VoteResponse, 2, false]]);
  });

  it('there is no lease without check-quorum', () => {
    const b = followerOfA({ checkQuorum: false });
    b.step(voteFromC(MessageType.Vote));
    expect(b.status()).toMatchObject({ term: 2, vote: 'c' });
  });
});
