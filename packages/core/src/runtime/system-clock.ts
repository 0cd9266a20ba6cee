import type { Clock, TimerHandle } from '../ports/clock.js';

/**
 * The real clock: `Date.now`, `setTimeout` and `setImmediate`.
 *
 * Timers stay referenced on purpose: the node-wide ticker is a timer, and a node that has joined a
 * cluster must keep the process alive until it leaves.
 */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    return setTimeout(fn, ms);
  }

  clearTimer(handle: TimerHandle): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  }

  defer(fn: () => void): void {
    setImmediate(fn);
  }
}

/** The shared {@link SystemClock}; it holds no state, so one instance serves every caller. */
export const systemClock: Clock = new SystemClock();
