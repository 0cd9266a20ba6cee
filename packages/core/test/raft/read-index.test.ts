import type { Message } from '../../src/raft/message.js';
import { MessageType } from '../../src/raft/message.js';
import { Cluster, drain, node } from './cluster.js';

const ABC = ['a', 'b', 'c'];
/** Heartbeats of read round `round` (the leader numbers its rounds 1, 2, … whatever the request ids). */
const readBeats = (queue: readonly Message[], round: number): Message[] =>
  queue.filter((m) => m.type === MessageType.Heartbeat && m.context === round);

describe('ReadIndex (thesis §6.4)', () => {
  it('answers once a voter quorum confirmed leadership with the commit index at request time', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    cluster.propose('a', 'x');
    cluster.stabilize();
    expect(cluster.raft('a').readIndex(7)).toBe(true);
    cluster.processAll();
    expect(readBeats(cluster.queue, 1).map((m) => m.to)).toEqual(['b', 'c']);
    expect(cluster.node('a').readStates).toEqual([]);
    cluster.deliverOnce((m) => m.to === 'b');
    cluster.drop((m) => m.to === 'c');
    cluster.deliverOnce();
    expect(cluster.node('a').readStates).toEqual([{ requestId: 7, index: 2 }]);
  });

  it('never answers without a quorum', () => {
    const cluster = new Cluster(ABC, { config: { checkQuorum: false } });
    cluster.elect('a');
    cluster.isolate('a');
    expect(cluster.raft('a').readIndex(7)).toBe(true);
    for (let t = 0; t < 30; t++) {
      cluster.tick('a');
      cluster.stabilize();
    }
    expect(cluster.node('a').readStates).toEqual([]);
  });

  it('waits until the leader has committed an entry of its term', () => {
    const cluster = new Cluster(ABC);
    cluster.raft('a').campaign();
    cluster.stabilize((m) => m.type !== MessageType.Append);
    cluster.drop();
    expect(cluster.raft('a').isLeader()).toBe(true);
    expect(cluster.raft('a').readIndex(3)).toBe(true);
    cluster.processAll();
    expect(readBeats(cluster.queue, 1)).toEqual([]);
    cluster.tick('a');
    cluster.stabilize();
    expect(cluster.node('a').readStates).toEqual([{ requestId: 3, index: 1 }]);
  });

  it('a single voter answers at once, after its first commit', () => {
    const a = node('a', ['a']);
    a.campaign();
    drain(a); // vote durable: leader, no-op not yet committed
    expect(a.readIndex(9)).toBe(true);
    drain(a); // no-op persisted and committed
    expect(drain(a).readStates).toEqual([{ requestId: 9, index: 1 }]);
    expect(a.readIndex(10)).toBe(true);
    const ready = drain(a);
    expect(ready.readStates).toEqual([{ requestId: 10, index: 1 }]);
    expect(ready.messages).toEqual([]);
  });

  it('a quorum for a later round also answers the earlier rounds, in order', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    cluster.raft('a').readIndex(1);
    cluster.raft('a').readIndex(2);
    cluster.processAll();
    cluster.drop((m) => m.context === 1);
    cluster.stabilize();
    expect(cluster.node('a').readStates).toEqual([
      { requestId: 1, index: 1 },
      { requestId: 2, index: 1 },
    ]);
  });

  it('answers of learners do not count', () => {
    const cluster = new Cluster(ABC, { learners: ['l'] });
    cluster.elect('a');
    cluster.raft('a').readIndex(4);
    cluster.processAll();
    cluster.drop((m) => m.to === 'b' || m.to === 'c');
    cluster.stabilize();
    expect(cluster.node('a').readStates).toEqual([]);
  });

  it('is refused by a follower, rejects invalid ids, and gives a reused id a round of its own', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    expect(cluster.raft('b').readIndex(1)).toBe(false);
    expect(() => cluster.raft('a').readIndex(0)).toThrow(/requestId must be a positive integer/);
    cluster.raft('a').readIndex(5);
    cluster.raft('a').readIndex(5);
    cluster.processAll();
    expect(readBeats(cluster.queue, 1)).toHaveLength(2);
    expect(readBeats(cluster.queue, 2)).toHaveLength(2);
  });

  it('drops outstanding rounds when leadership is lost', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    cluster.raft('a').readIndex(6);
    cluster.processAll();
    cluster.raft('a').step({ ...cluster.queue[0]!, type: MessageType.AppendResponse, from: 'b', to: 'a', term: 5 });
    cluster.stabilize();
    expect(cluster.node('a').readStates).toEqual([]);
  });
});
