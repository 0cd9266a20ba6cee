import type { Clock, TimerHandle } from '../../src/ports/clock.js';

interface Pending {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** A clock that moves only when the test says so; `defer` is a zero-delay timer. */
export class ManualClock implements Clock {
  private time = 0;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();

  now(): number {
    return this.time;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const seq = this.seq++;
    this.pending.set(seq, { at: this.time + ms, seq, fn });
    return seq;
  }

  clearTimer(handle: TimerHandle): void {
    this.pending.delete(handle as number);
  }

  defer(fn: () => void): void {
    this.setTimer(0, fn);
  }

  /** Timers not yet fired. */
  get timers(): number {
    return this.pending.size;
  }

  /** Moves time forward by `ms`, firing due timers in (due time, creation) order, including ones they schedule. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const timer of this.pending.values()) {
        if (timer.at <= until && (next === undefined || timer.at < next.at || (timer.at === next.at && timer.seq < next.seq))) next = timer;
      }
      if (next === undefined) break;
      this.pending.delete(next.seq);
      this.time = next.at;
      next.fn();
    }
    this.time = until;
  }
}
