/** An opaque handle for a scheduled callback. */
export type TimerHandle = unknown;

/**
 * Time and scheduling. Everything in the runtime that waits goes through a Clock, so the simulator can
 * run whole clusters on virtual time from one seed.
 */
export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch (the physical part of HLC timestamps). */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
  /** Runs `fn` soon, after pending I/O (like `setImmediate`). */
  defer(fn: () => void): void;
}
