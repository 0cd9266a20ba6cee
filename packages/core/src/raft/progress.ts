import type { NodeId } from './message.js';

/**
 * How a leader replicates to one follower.
 * - `probe`: the leader does not know where the follower's log matches its own; it sends one Append at
 *   a time and waits for the answer before sending the next.
 * - `replicate`: the match is known; the leader streams Appends optimistically (advancing `next` before
 *   the acknowledgement) up to the in-flight window.
 * - `snapshot`: the follower needs entries the leader compacted; the leader asked the runtime to send it
 *   the application's state and sends no Appends until the follower acknowledges it or the wait times out.
 */
export type ReplicationState = 'probe' | 'replicate' | 'snapshot';

/**
 * The Append messages a leader has sent to one follower and not yet seen acknowledged, as the last
 * entry index of each, oldest first. A fixed ring buffer: the hot path never allocates.
 */
export class InflightWindow {
  private readonly lastIndexes: number[];
  private head = 0;
  private count = 0;

  /** @param capacity messages allowed in flight; at least 1. */
  constructor(readonly capacity: number) {
    this.lastIndexes = new Array<number>(capacity).fill(0);
  }

  /** Messages currently in flight. */
  get size(): number {
    return this.count;
  }

  /** No further Append may be sent until an acknowledgement frees a slot. */
  isFull(): boolean {
    return this.count === this.capacity;
  }

  /** Records a sent message whose last entry is `lastIndex` (sent in ascending order). */
  add(lastIndex: number): void {
    if (this.count === this.capacity) {
      throw new Error(`InflightWindow.add: the window of ${this.capacity} messages is full; check isFull() before sending`);
    }
    this.lastIndexes[(this.head + this.count) % this.capacity] = lastIndex;
    this.count++;
  }

  /** Frees every message whose entries are all at or below `index` (the follower acknowledged them). */
  freeThrough(index: number): void {
    while (this.count > 0 && (this.lastIndexes[this.head] as number) <= index) {
      this.head = (this.head + 1) % this.capacity;
      this.count--;
    }
  }

  /** Frees the oldest message: a heartbeat answer proves the follower alive although an Append may have been lost. */
  freeOldest(): void {
    if (this.count === 0) return;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
  }

  /** Forgets every message in flight: the leader starts over from the follower's match index. */
  clear(): void {
    this.head = 0;
    this.count = 0;
  }
}

/** What a leader knows about one member's log (etcd-raft's tracker.Progress). */
export class Progress {
  /** Highest index known to be replicated on the member. */
  match = 0;
  /** Index of the next entry to send. */
  next = 1;
  state: ReplicationState = 'probe';
  /** In `probe`, an Append is outstanding and the leader waits for its answer before sending another. */
  probeSent = false;
  /** The member answered since the last check-quorum round. */
  recentActive = false;
  /**
   * Appends the leader still owes this member at its next flush: 0 none, 1 entries if any are unsent,
   * 2 a message even without entries (a probe, or news of a higher commit index). Deferring sends to
   * the flush lets many proposals and acknowledgements of one turn share one Append per member.
   */
  owedAppend: 0 | 1 | 2 = 0;
  /** Ticks spent in `snapshot` state. */
  snapshotElapsed = 0;
  readonly inflight: InflightWindow;

  constructor(
    readonly id: NodeId,
    readonly isVoter: boolean,
    maxInflightMessages: number,
  ) {
    this.inflight = new InflightWindow(maxInflightMessages);
  }

  /** Starts over as a new leader's view: nothing known, next right after the leader's last entry. */
  resetForLeader(match: number, next: number): void {
    this.match = match;
    this.next = next;
    this.state = 'probe';
    this.probeSent = false;
    this.recentActive = false;
    this.owedAppend = 0;
    this.inflight.clear();
  }

  /** The follower's log position is uncertain again (a rejection, a new leader): probe from `match + 1`. */
  becomeProbe(): void {
    this.state = 'probe';
    this.next = this.match + 1;
    this.probeSent = false;
    this.inflight.clear();
  }

  /** The follower must be sent a snapshot; nothing else goes to it meanwhile. */
  becomeSnapshot(): void {
    this.state = 'snapshot';
    this.snapshotElapsed = 0;
    this.probeSent = false;
    this.inflight.clear();
  }

  /** The follower acknowledged a probe: stream from `match + 1` with a fresh window. */
  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.inflight.clear();
  }

  /** True when the leader must not send this member another Append now. */
  isPaused(): boolean {
    if (this.state === 'snapshot') return true;
    return this.state === 'probe' ? this.probeSent : this.inflight.isFull();
  }

  /** Records an Append sent with entries up to `lastIndex` (or none: `lastIndex` is then `next - 1`). */
  sentAppend(lastIndex: number, withEntries: boolean): void {
    if (this.state === 'replicate') {
      if (withEntries) {
        this.next = lastIndex + 1;
        this.inflight.add(lastIndex);
      }
    } else {
      this.probeSent = true;
    }
  }

  /** The member acknowledged entries up to `index`. Returns whether that raised `match`. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    if (this.next < index + 1) this.next = index + 1;
    return updated;
  }

  /**
   * The member rejected an Append whose previous entry was `rejected`; `hint` is the highest index
   * where the logs may still match. Returns false when the rejection is stale (answers a message sent
   * before a later decision), so it must not move `next` backwards again.
   */
  maybeDecrease(rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    // The member rejects the probe at its match index with a shorter log: it lost what it had
    // acknowledged (its data directory was wiped). Believing less than the truth is safe (entries are
    // only sent again); believing more would never catch it up.
    if (hint < this.match) this.match = hint;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }
}
