import type { NodeId } from '@kommander/core';

/** The properties the simulator checks; user invariants report as `'user-invariant'`. */
export type InvariantName =
  /** At most one leader per partition and term, over the whole run. */
  | 'election-safety'
  /** Two committed entries with the same index and term are the same entry. */
  | 'log-matching'
  /** A node that becomes leader in term T holds every entry committed in a term before T. */
  | 'leader-completeness'
  /** No two nodes commit or deliver different entries at the same place (committed logs and application deliveries). */
  | 'state-machine-safety'
  /** A write acknowledged with Success is delivered on every node by the end of the heal phase. */
  | 'acknowledged-write-lost'
  /** A proposal rolled back with Success is never delivered. */
  | 'rolled-back-write-delivered'
  /** A payload proposed once is delivered at most once. */
  | 'duplicate-delivery'
  /** After the heal phase every partition has a leader, a fresh write commits everywhere and every node delivered the same sequence. */
  | 'heal-convergence'
  /** The runtime threw out of a timer, a message handler or a promise nobody handled. */
  | 'runtime-error'
  /** The user's own invariant returned a message. */
  | 'user-invariant';

/** The first broken property of a run: what, when, where, and the evidence. */
export interface Violation {
  readonly invariant: InvariantName;
  /** Virtual milliseconds since the start of the run. */
  readonly time: number;
  /** The node where it was observed (`''` when it concerns the cluster). */
  readonly node: NodeId;
  /** The partition concerned (-1 when it concerns no single partition). */
  readonly partition: number;
  readonly details: string;
}

/** One line describing a violation. */
export function formatViolation(v: Violation): string {
  const where = [v.node === '' ? '' : `node ${v.node}`, v.partition < 0 ? '' : `partition ${v.partition}`].filter((s) => s !== '').join(', ');
  return `${v.invariant} at ${v.time.toFixed(3)} ms${where === '' ? '' : ` (${where})`}: ${v.details}`;
}
