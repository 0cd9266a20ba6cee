import type { Entry } from './entry.js';
import type { Message, NodeId } from './message.js';

/** The state a node must persist before it answers votes or acknowledges appends. */
export interface HardState {
  readonly term: number;
  /** Whom this node voted for in `term` (`''` for nobody). */
  readonly vote: NodeId;
  /** Highest index known committed. */
  readonly commit: number;
}

/**
 * Where a log begins after compaction or a snapshot: the entry at `index` is no longer held, and it had
 * `term`. `{ index: 0, term: 0 }` for a log that starts at 1.
 */
export interface LogBase {
  readonly index: number;
  readonly term: number;
}

export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: '', commit: 0 });

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** Volatile state worth reporting; not persisted. */
export interface SoftState {
  readonly role: Role;
  /** The known leader of the current term (`''` when unknown). */
  readonly leader: NodeId;
}

/** A ReadIndex request that is now safe: the read may be served once the applied index reaches `index`. */
export interface ReadState {
  readonly requestId: number;
  readonly index: number;
}

/**
 * Everything a `tick`, `step` or `propose` produced, for the runtime to carry out in this order:
 * 0. when `snapshot` is set, install the application state received for it (the runtime holds it),
 *    before anything is persisted: the log no longer holds the entries the state replaces;
 * 1. persist `snapshot` (the log restarts after it), `hardState` and `entries` (appending entries at
 *    index i first removes stored entries ≥ i),
 *    and send `messages` (allowed in parallel with the persist: a leader may replicate before its own
 *    write completes, Raft thesis §10.2.1);
 * 2. once the persist is durable, send `persistedMessages` (votes and append acknowledgements must not
 *    leave before the state they promise is on disk, Raft thesis §3.8);
 * 3. apply `committedEntries` in order; serve `readStates` once applied reaches their index;
 * 4. call `advance(ready)`.
 * Pipelined: call `handOff(ready)` as soon as the persist is queued and the messages sent, so the next
 * Ready can be taken while this one's write is in flight; when the write is durable do steps 2 and 3 and
 * call `persisted(ready)` — Readies complete in the order they were handed off.
 */
export interface Ready {
  /** Present when the role or the known leader changed since the last Ready. */
  readonly softState: SoftState | null;
  /** Present when term, vote or commit changed since the last Ready. */
  readonly hardState: HardState | null;
  /** Set when this follower replaced its log with a snapshot: the log now begins after it (entries start at `index + 1`). */
  readonly snapshot: LogBase | null;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly persistedMessages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** True when `hardState` (term or vote) or `entries` must reach stable storage before step 2. */
  readonly mustSync: boolean;
}
