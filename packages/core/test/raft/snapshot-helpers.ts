import { MessageType, type Message } from '../../src/raft/message.js';
import { Cluster, msg } from './cluster.js';

export const isSnapshot = (m: Message): boolean => m.type === MessageType.Snapshot;

/**
 * What the runtime does with Snapshot requests: the leader exports the application's state at its
 * applied index, and once every chunk arrived the follower steps one Snapshot covering that index.
 */
export function transferSnapshots(c: Cluster): Message[] {
  const requests = c.take(isSnapshot);
  for (const r of requests) {
    const leader = c.raft(r.from);
    const applied = leader.status().applied;
    c.stepInto(msg({ type: MessageType.Snapshot, from: r.from, to: r.to, term: r.term, index: applied, logTerm: leader.term(applied) ?? -1 }));
  }
  c.processAll();
  return requests;
}

/** n1 leads a 3-node group; n3 is cut off while n1 commits and compacts `count` entries (n2 compacts too). */
export function compactedBehindN3(count: number, config: ConstructorParameters<typeof Cluster>[1] = {}): Cluster {
  const c = new Cluster(['n1', 'n2', 'n3'], config);
  c.elect('n1');
  c.isolate('n3');
  for (let i = 0; i < count; i++) c.propose('n1', `x${i}`);
  c.stabilize();
  c.raft('n1').compact(c.raft('n1').status().applied);
  c.raft('n2').compact(c.raft('n2').status().applied);
  c.heal();
  return c;
}
