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
 * 1. persist `hardState` and `entries` (appending entries at index i first removes stored entries ≥ i),
 *    and send `messages` (allowed in parallel with the persist: a leader may replicate before its own
 *    write completes, Raft thesis §10.2.1);
 * 2. once the persist is durable, send `persistedMessages` (votes and append acknowledgements must not
 *    leave before the state they promise is on disk, Raft thesis §3.8);
 * 3. apply `committedEntries` in order; serve `readStates` once applied reaches their index;
 * 4. call `advance(ready)`.
 */
export interface Ready {
  /** Present when the role or the known leader changed since the last Ready. */
  readonly softState: SoftState | null;
  /** Present when term, vote or commit changed since the last Ready. */
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly persistedMessages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** True when `hardState` (term or vote) or `entries` must reach stable storage before step 2. */
  readonly mustSync: boolean;
}
