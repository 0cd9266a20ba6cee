import type { NodeId } from './message.js';
import type { ReadState } from './state.js';

interface ReadRound {
  readonly index: number;
  readonly acks: Set<NodeId>;
}

/**
 * The leader's ReadIndex rounds in flight (Raft thesis §6.4): each request remembers the commit index
 * at the time it arrived and collects heartbeat answers carrying its id. Rounds are kept in arrival
 * order, because a quorum answering a later round also proves leadership for every earlier one.
 */
export class ReadIndexRounds {
  private readonly rounds = new Map<number, ReadRound>();

  /** Rounds waiting for a quorum. */
  get size(): number {
    return this.rounds.size;
  }

  /** Opens a round for `requestId` reading at `index`, already acknowledged by `self` (the leader) when it votes. */
  start(requestId: number, index: number, self: NodeId | null): void {
    if (this.rounds.has(requestId)) {
      throw new Error(`readIndex: request id ${requestId} is already waiting for a quorum; give every outstanding read a distinct id`);
    }
    const acks = new Set<NodeId>();
    if (self !== null) acks.add(self);
    this.rounds.set(requestId, { index, acks });
  }

  /** Records that `voter` answered the heartbeat of round `requestId`; returns how many voters have, or 0 for an unknown round. */
  acknowledge(requestId: number, voter: NodeId): number {
    const round = this.rounds.get(requestId);
    if (round === undefined) return 0;
    round.acks.add(voter);
    return round.acks.size;
  }

  /** Ends round `requestId` and every older one, appending their read states to `out` in arrival order. */
  release(requestId: number, out: ReadState[]): void {
    if (!this.rounds.has(requestId)) return;
    for (const [id, round] of this.rounds) {
      this.rounds.delete(id);
      out.push({ requestId: id, index: round.index });
      if (id === requestId) return;
    }
  }

  clear(): void {
    this.rounds.clear();
  }
}
