import { MessageType } from '../../src/raft/message.js';
import { Cluster } from './cluster.js';

const ABC = ['a', 'b', 'c'];

describe('leadership transfer (thesis §3.10)', () => {
  it('an up-to-date target gets TimeoutNow and wins at once, without pre-vote and despite leases', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    expect(cluster.raft('a').transferLeadership('b')).toBe(true);
    expect(cluster.raft('a').status().leadTransferee).toBe('b');
    cluster.processAll();
    expect(cluster.queue.map((m) => [m.type, m.to])).toEqual([[MessageType.TimeoutNow, 'b']]);
    cluster.deliverOnce();
    expect(cluster.queue.filter((m) => m.from === 'b').map((m) => [m.type, m.term, m.context])).toEqual([
      [MessageType.Vote, 2, 1],
      [MessageType.Vote, 2, 1],
    ]);
    cluster.stabilize();
    expect(cluster.raft('b').status()).toMatchObject({ role: 'leader', term: 2 });
    expect(cluster.raft('a').status()).toMatchObject({ role: 'follower', leader: 'b', leadTransferee: '' });
    expect(cluster.leaderOfTerm).toEqual(new Map([[1, 'a'], [2, 'b']]));
  });

  it('refuses proposals while transferring', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    cluster.raft('a').transferLeadership('b');
    expect(cluster.propose('a', 'x')).toMatchObject({ accepted: false, reason: 'transferring' });
  });

  it('brings a lagging target up to date before sending TimeoutNow', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    cluster.propose('a', 'x', 'y');
    cluster.stabilize((m) => m.to !== 'c');
    cluster.drop();
    expect(cluster.raft('c').status().lastIndex).toBe(1);
    cluster.raft('a').transferLeadership('c');
    cluster.processAll();
    expect(cluster.queue.some((m) => m.type === MessageType.TimeoutNow)).toBe(false);
    cluster.stabilize();
    expect(cluster.raft('c').status()).toMatchObject({ role: 'leader', term: 2 });
    expect(cluster.deliveredTypes('c')).toEqual(['x', 'y']);
  });

  it('is abandoned after an election timeout, and proposals resume', () => {
    const cluster = new Cluster(ABC, { config: { electionTicksMin: 10, electionTicksMax: 20 } });
    cluster.elect('a');
    cluster.propose('a', 'x');
    cluster.isolate('b');
    cluster.stabilize();
    cluster.raft('a').transferLeadership('b');
    for (let t = 0; t < 9; t++) {
      cluster.tick('a');
      cluster.stabilize();
    }
    expect(cluster.raft('a').status().leadTransferee).toBe('b');
    cluster.tick('a');
    expect(cluster.raft('a').status()).toMatchObject({ role: 'leader', leadTransferee: '' });
    expect(cluster.propose('a', 'y').accepted).toBe(true);
  });

  it('is refused towards itself, unknown nodes and learners, and on followers', () => {
    const cluster = new Cluster(ABC, { learners: ['l'] });
    cluster.elect('a');
    expect(cluster.raft('a').transferLeadership('a')).toBe(false);
    expect(cluster.raft('a').transferLeadership('zz')).toBe(false);
    expect(cluster.raft('a').transferLeadership('l')).toBe(false);
    expect(cluster.raft('b').transferLeadership('c')).toBe(false);
    expect(cluster.raft('a').status().leadTransferee).toBe('');
  });
});
