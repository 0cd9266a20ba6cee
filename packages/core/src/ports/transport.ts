import type { Message, NodeId } from '../raft/message.js';

/** Receives every batch of messages that arrives for this node, in arrival order. */
export type MessageHandler = (messages: readonly Message[]) => void;

/**
 * The node-to-node transport port. Delivery is best effort: messages may be lost, duplicated, delayed
 * or reordered, and Raft tolerates all of it. Implementations should keep one connection per peer,
 * batch, and reconnect on their own.
 */
export interface Transport {
  /** Starts listening; `handler` receives every batch addressed to this node until `stop`. */
  start(handler: MessageHandler): Promise<void>;
  /** Sends one batch (messages of any partitions) to `peer`. Never throws for an unreachable peer; returns at once. */
  send(peer: NodeId, messages: readonly Message[]): void;
  /** Stops sending and receiving; the handler is not called after the promise resolves. */
  stop(): Promise<void>;
}
