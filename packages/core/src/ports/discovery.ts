import type { NodeId } from '../raft/message.js';

/**
 * Bootstrap discovery: the contact list a node starts from. It never decides who votes; the committed
 * roster of the system partition does (until membership changes land, the initial contact list is the roster).
 */
export interface Discovery {
  start(self: NodeId): Promise<void>;
  /** Every known node, this one included, in a stable order. */
  nodes(): readonly NodeId[];
  stop(): Promise<void>;
}
