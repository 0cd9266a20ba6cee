import type { NodeId, Role } from '@kommander/core';
import { entryIdentity, showIdentity } from './identity.js';
import type { LogEntry, LogMatchingChecker } from './log-matching.js';
import type { Violation } from './violation.js';

/** The part of a node's in-memory log the checker reads. */
export interface LogView {
  /** First retained index (entries below were compacted; they cannot be checked). */
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** Entries with from ≤ index ≤ to, ascending. */
  entries(from: number, to: number): readonly LogEntry[];
}

/**
 * Leader completeness (Raft §5.4): an entry committed in term t is in the log of every leader of a term
 * after t. The checker watches role changes and, when a node becomes leader of term T, compares its log
 * with every entry known committed in a term before T. "Known committed in term t" is the term of the
 * first node that reported the commit, an upper bound of the real commit term, so the check never
 * accuses a correct leader (a late leader of an older term may legitimately miss newer commits).
 */
export class LeaderCompletenessChecker {
  private readonly lastSeen = new Map<string, { role: Role; term: number }>();

  constructor(private readonly committed: LogMatchingChecker) {}

  /** Records what `node` reports for `partition`; checks its log when it has just become leader of a new term. */
  observe(time: number, node: NodeId, partition: number, role: Role, term: number, log: LogView): Violation | undefined {
    const key = `${node}\u0000${partition}`;
    const previous = this.lastSeen.get(key);
    if (previous !== undefined && previous.role === role && previous.term === term) return undefined;
    this.lastSeen.set(key, { role, term });
    if (role !== 'leader') return undefined;
    return this.check(time, node, partition, term, log);
  }

  /** Forgets what was seen of `node` (a restarted node's first observation counts as a change). */
  forgetNode(node: NodeId): void {
    for (const key of [...this.lastSeen.keys()]) if (key.startsWith(`${node}\u0000`)) this.lastSeen.delete(key);
  }

  private check(time: number, node: NodeId, partition: number, term: number, log: LogView): Violation | undefined {
    const high = this.committed.committedThrough(partition);
    if (high === 0) return undefined;
    const from = Math.max(1, log.firstIndex);
    const held = log.lastIndex >= from ? log.entries(from, Math.min(high, log.lastIndex)) : [];
    for (let i = from; i <= high; i++) {
      const c = this.committed.committedAt(partition, i);
      if (c === undefined || c.commitTerm >= term) continue;
      let mine: LogEntry | undefined = held[i - from];
      if (mine !== undefined && mine.index !== i) mine = held.find((e) => e.index === i);
      if (mine === undefined) {
        return {
          invariant: 'leader-completeness',
          time,
          node,
          partition,
          details: `${node} became leader of term ${term} without index ${i} (term ${c.term}), committed by term ${c.commitTerm}; its log ends at ${log.lastIndex}`,
        };
      }
      if (mine === c.entry) continue;
      const identity = entryIdentity(mine);
      const committed = this.committed.identityAt(partition, i) as string;
      if (mine.term !== c.term || identity !== committed) {
        return {
          invariant: 'leader-completeness',
          time,
          node,
          partition,
          details:
            `${node} became leader of term ${term} with index ${i} = term ${mine.term} ${showIdentity(identity)}, ` +
            `but term ${c.term} ${showIdentity(committed)} was committed there by term ${c.commitTerm}`,
        };
      }
    }
    return undefined;
  }
}
