import { MessageType } from '../../src/raft/message.js';
import { Cluster, drain, msg } from './cluster.js';

describe('learners', () => {
  it('receive the log and deliver committed entries', () => {
    const cluster = new Cluster(['a', 'b'], { learners: ['l'] });
    cluster.elect('a');
    cluster.propose('a', 'x');
    cluster.stabilize();
    expect(cluster.deliveredTypes('l')).toEqual(['x']);
    expect(cluster.raft('l').status()).toMatchObject({ role: 'follower', leader: 'a', commit: 2 });
  });

  it.each([MessageType.Vote, MessageType.PreVote])('never grant a type-%i request', (type) => {
    const cluster = new Cluster(['a', 'b'], { learners: ['l'], config: { checkQuorum: false } });
    const l = cluster.raft('l');
    l.step(msg({ type, from: 'b', to: 'l', term: 1, index: 5, logTerm: 5 }));
    const ready = drain(l);
    const [response] = [...ready.messages, ...ready.persistedMessages];
    expect(response?.reject).toBe(true);
    expect(l.status().vote).toBe('');
  });

  it('never campaign, not on timeout and not on TimeoutNow', () => {
    const cluster = new Cluster(['a', 'b'], { learners: ['l'] });
    cluster.elect('a');
    cluster.isolate('l');
    cluster.tick('l', 200);
    cluster.raft('l').step(msg({ type: MessageType.TimeoutNow, from: 'a', to: 'l', term: 1 }));
    expect(cluster.raft('l').status()).toMatchObject({ role: 'follower', term: 1 });
    expect(cluster.raft('l').hasReady()).toBe(false);
  });

  it('do not count towards the commit quorum', () => {
    const cluster = new Cluster(['a', 'b'], { learners: ['l'] });
    cluster.elect('a');
    cluster.isolate('b');
    cluster.propose('a', 'x');
    cluster.stabilize();
    expect(cluster.raft('l').status().lastIndex).toBe(2);
    expect(cluster.raft('a').status().commit).toBe(1);
    cluster.heal();
    cluster.tick('a');
    cluster.stabilize();
    expect(cluster.raft('a').status().commit).toBe(2);
  });

  it('do not keep a leader alive under check-quorum', () => {
    const cluster = new Cluster(['a', 'b', 'c'], { learners: ['l'] });
    cluster.elect('a');
    for (const voter of ['b', 'c']) {
      cluster.cutLink('a', voter);
      cluster.cutLink(voter, 'a');
    }
    for (let t = 0; t < 30; t++) {
      cluster.raft('a').tick();
      cluster.stabilize();
    }
    expect(cluster.raft('a').isLeader()).toBe(false);
  });
});
