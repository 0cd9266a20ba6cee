import type { NodeId, Role } from '@kommander/core';
import type { Violation } from './violation.js';

/**
 * Election safety (Raft §5.2): at most one node leads a partition in any given term. It remembers the
 * leader of every (partition, term) it has ever seen, so a second leader is caught even long after the
 * first one stepped down.
 */
export class ElectionSafetyChecker {
  private readonly leaders = new Map<number, Map<number, NodeId>>();

  /** Records what `node` reports for `partition`; returns a violation when another node already led that term. */
  observe(time: number, node: NodeId, partition: number, role: Role, term: number): Violation | undefined {
    if (role !== 'leader') return undefined;
    let terms = this.leaders.get(partition);
    if (terms === undefined) {
      terms = new Map();
      this.leaders.set(partition, terms);
    }
    const known = terms.get(term);
    if (known === undefined) {
      terms.set(term, node);
      return undefined;
    }
    if (known === node) return undefined;
    return {
      invariant: 'election-safety',
      time,
      node,
      partition,
      details: `${node} is leader in term ${term}, which ${known} already led`,
    };
  }

  /** The leader seen for (partition, term), if any. */
  leaderOf(partition: number, term: number): NodeId | undefined {
    return this.leaders.get(partition)?.get(term);
  }

  /** Terms in which `partition` had a leader, ascending. */
  termsWithLeader(partition: number): number[] {
    return [...(this.leaders.get(partition)?.keys() ?? [])].sort((a, b) => a - b);
  }
}
