/**
 * A hybrid logical clock timestamp: wall-clock milliseconds plus a logical counter that orders events
 * sharing the same millisecond. Kommander uses it to stamp log entries and as the proposal ticket of
 * `replicateLogs(..., { autoCommit: false })`.
 */
export interface HLCTimestamp {
  /** Milliseconds since the Unix epoch, as seen by the clock that issued the timestamp (never decreases). */
  readonly physical: number;
  /** Logical counter within `physical`, starting at 0. */
  readonly counter: number;
}

/** The zero timestamp, older than any issued one. */
export const HLC_ZERO: HLCTimestamp = Object.freeze({ physical: 0, counter: 0 });
