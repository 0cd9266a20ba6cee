/**
 * The application's side of snapshot install. A follower that needs entries the leader compacted is
 * caught up with the application's state instead: the leader's runtime exports it, sends it in chunks,
 * and the follower's runtime imports it, then continues from the log after the point the state covers.
 *
 * Without this port (the `stateTransfer` option unset) a node compacts its log only through the index
 * every member is known to hold, so no member ever needs a snapshot; a member that lost its data is
 * then caught up from the log while the log still begins at 1, and not at all once it was compacted.
 */
export interface StateTransfer {
  /**
   * Leader side: the state of `partition` after every entry delivered to `onReplicationReceived` up to
   * and including log index `index`, as bytes. The runtime calls it between deliveries and delivers
   * nothing on this partition until it settles, so the state read synchronously (or copied before the
   * promise) matches `index` exactly.
   */
  exportState(partition: number, index: number): Uint8Array | Promise<Uint8Array>;
  /**
   * Follower side: replace the state of `partition` with `state`, exported by the leader at `index`.
   * Persist it before resolving when the application's state is durable: the runtime records in the WAL
   * that the log now begins after `index` only once this resolves. If the process dies between the two,
   * the restart replays the node's old log from its last checkpoint, so an application that stores the
   * index of its state should skip replayed entries at or below it.
   */
  importState(partition: number, index: number, state: Uint8Array): void | Promise<void>;
}
