import type { NodeId } from './message.js';
import type { ReadState } from './state.js';

interface ReadRound {
  readonly requestId: number;
  readonly index: number;
  readonly acks: Set<NodeId>;
}

/**
 * The leader's ReadIndex rounds in flight (Raft thesis §6.4): each request remembers the commit index
 * at the time it arrived and collects heartbeat answers for its round. Heartbeats carry a round number
 * the leader draws from a counter that only grows, never the caller's request id: an answer to an
 * earlier round can then never confirm a later one, even when a caller reuses an id. Rounds are kept in
 * arrival order, because a quorum answering a later round also proves leadership for every earlier one.
 */
export class ReadIndexRounds {
  private readonly rounds = new Map<number, ReadRound>();
  private lastRound = 0;

  /** Rounds waiting for a quorum. */
  get size(): number {
    return this.rounds.size;
  }

  /** Opens a round for `requestId` reading at `index`, already acknowledged by `self` (the leader) when it votes. Returns the round number to send. */
  start(requestId: number, index: number, self: NodeId | null): number {
    const acks = new Set<NodeId>();
    if (self !== null) acks.add(self);
    const round = ++this.lastRound;
    this.rounds.set(round, { requestId, index, acks });
    return round;
  }

  /** The newest round still waiting (0 when none): periodic heartbeats carry it so lost rounds are retried. */
  newestRound(): number {
    let newest = 0;
    for (const round of this.rounds.keys()) newest = round;
    return newest;
  }

  /** Records that `voter` answered the heartbeat of `round`; returns how many voters have, or 0 for an unknown round. */
  acknowledge(round: number, voter: NodeId): number {
    const r = this.rounds.get(round);
    if (r === undefined) return 0;
    r.acks.add(voter);
    return r.acks.size;
  }

  /** Ends `round` and every older one, appending their read states to `out` in arrival order. */
  release(round: number, out: ReadState[]): void {
    if (!this.rounds.has(round)) return;
    for (const [id, r] of this.rounds) {
      this.rounds.delete(id);
      out.push({ requestId: r.requestId, index: r.index });
      if (id === round) return;
    }
  }

  clear(): void {
    this.rounds.clear();
  }
}
