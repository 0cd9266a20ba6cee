import type { NodeId } from '@kommander/core';
import { entryIdentity, showIdentity, type EntryContent } from './identity.js';
import type { Violation } from './violation.js';

/** A log entry as the checkers see it. */
export interface LogEntry extends EntryContent {
  readonly index: number;
  readonly term: number;
}

/** The committed log of one partition as observed across all nodes. */
class CommittedPartition {
  /** By log index: the term, entry and identity of the committed entry, and the lowest term in which a node reported it committed. */
  readonly terms: number[] = [];
  readonly entries: LogEntry[] = [];
  /** Computed on first need: in one process nodes share entry objects, so a reference check usually settles equality. */
  readonly identities: (string | undefined)[] = [];
  readonly commitTerms: number[] = [];
  /** Who first reported each index (for violation details). */
  readonly reporters: NodeId[] = [];
  /** Highest index any node reported committed. */
  high = 0;
}

/**
 * Checks the committed prefix of every node's log against one global map per partition
 * (index → term and entry), filled incrementally as nodes report new commits:
 * - log matching: the same index and term always hold the same entry;
 * - state-machine safety at the log level: a committed index never holds two different entries.
 * It also remembers, per index, the lowest term in which some node knew it was committed, which is
 * what {@link LeaderCompletenessChecker} needs.
 */
export class LogMatchingChecker {
  private readonly partitions = new Map<number, CommittedPartition>();

  /**
   * Feeds committed entries of `node` (any contiguous or non-contiguous set, each at most once per
   * incarnation is enough). `nodeTerm` is the node's current term: the entries were committed no later.
   */
  observe(time: number, node: NodeId, partition: number, entries: readonly LogEntry[], nodeTerm: number): Violation | undefined {
    const log = this.partition(partition);
    for (const entry of entries) {
      const i = entry.index;
      const knownTerm = log.terms[i];
      if (knownTerm === undefined) {
        log.terms[i] = entry.term;
        log.entries[i] = entry;
        log.commitTerms[i] = nodeTerm;
        log.reporters[i] = node;
        if (i > log.high) log.high = i;
        continue;
      }
      const reporter = log.reporters[i] as NodeId;
      if (knownTerm !== entry.term) {
        return {
          invariant: 'state-machine-safety',
          time,
          node,
          partition,
          details: `committed index ${i} has term ${entry.term} on ${node} but term ${knownTerm} on ${reporter}`,
        };
      }
      const known = log.entries[i] as LogEntry;
      if (known !== entry && identityAt(log, i) !== entryIdentity(entry)) {
        const identity = entryIdentity(entry);
        const knownIdentity = identityAt(log, i);
        return {
          invariant: 'log-matching',
          time,
          node,
          partition,
          details:
            `index ${i} term ${entry.term} holds ${showIdentity(identity)} on ${node} ` +
            `but ${showIdentity(knownIdentity)} on ${reporter}`,
        };
      }
      if (nodeTerm < (log.commitTerms[i] as number)) log.commitTerms[i] = nodeTerm;
    }
    return undefined;
  }

  /** Highest index of `partition` any node reported committed (0 when none). */
  committedThrough(partition: number): number {
    return this.partitions.get(partition)?.high ?? 0;
  }

  /** The committed entry at `index`: its term, the entry, and an upper bound of the term in which it was committed. */
  committedAt(partition: number, index: number): { term: number; entry: LogEntry; commitTerm: number } | undefined {
    const log = this.partitions.get(partition);
    const term = log?.terms[index];
    if (log === undefined || term === undefined) return undefined;
    return { term, entry: log.entries[index] as LogEntry, commitTerm: log.commitTerms[index] as number };
  }

  /** The identity ({@link entryIdentity}) of the committed entry at `index`, or undefined when none is known. */
  identityAt(partition: number, index: number): string | undefined {
    const log = this.partitions.get(partition);
    return log === undefined || log.terms[index] === undefined ? undefined : identityAt(log, index);
  }

  private partition(partition: number): CommittedPartition {
    let log = this.partitions.get(partition);
    if (log === undefined) {
      log = new CommittedPartition();
      this.partitions.set(partition, log);
    }
    return log;
  }
}

function identityAt(log: CommittedPartition, index: number): string {
  let identity = log.identities[index];
  if (identity === undefined) {
    identity = entryIdentity(log.entries[index] as LogEntry);
    log.identities[index] = identity;
  }
  return identity;
}
