/**
 * Expected outcomes of runtime operations, with the names Kommander uses. They are returned as values;
 * exceptions are reserved for programmer errors (bad arguments) and broken invariants.
 */
export const RaftOperationStatus = {
  Success: 'Success',
  /** Something failed that the caller cannot fix by retrying the same call (see the logged error). */
  Errored: 'Errored',
  /** This node does not lead the partition; route the call to the leader (`waitForLeader`). */
  NodeIsNotLeader: 'NodeIsNotLeader',
  /** This node led the partition in an older term; a newer leader exists. */
  LeaderInOldTerm: 'LeaderInOldTerm',
  LeaderAlreadyElected: 'LeaderAlreadyElected',
  /** The proposal was overwritten by another leader's entries before it committed. */
  LogsFromAnotherLeader: 'LogsFromAnotherLeader',
  ActiveProposal: 'ActiveProposal',
  /** No pending (`autoCommit: false`) proposal has this ticket on this node. */
  ProposalNotFound: 'ProposalNotFound',
  /** The proposal did not commit within `proposalTimeoutMs`; it may still commit later. */
  ProposalTimeout: 'ProposalTimeout',
  ReplicationFailed: 'ReplicationFailed',
  Pending: 'Pending',
  /** The partition's proposal queue is full; back off and retry. */
  ProposalQueueFull: 'ProposalQueueFull',
  /** The partition is still replaying its WAL; retry shortly. */
  RestoreInProgress: 'RestoreInProgress',
  /** The partition moved to a new generation; refresh the partition map and retry. */
  PartitionMoved: 'PartitionMoved',
  StaleMembership: 'StaleMembership',
  ConcurrentMembershipChange: 'ConcurrentMembershipChange',
  InsufficientVoters: 'InsufficientVoters',
  LogMismatch: 'LogMismatch',
  SnapshotRequired: 'SnapshotRequired',
  /** The caller's `AbortSignal` fired first; the work may still apply. */
  OperationCancelled: 'OperationCancelled',
} as const;
export type RaftOperationStatus = (typeof RaftOperationStatus)[keyof typeof RaftOperationStatus];
