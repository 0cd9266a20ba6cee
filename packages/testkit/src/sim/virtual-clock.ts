import type { Clock, NodeId, TimerHandle } from '@kommander/core';

/** What `VirtualClock.now()` returns at virtual time 0: a plausible wall clock, so HLC tickets look real. */
export const VIRTUAL_EPOCH_MS = 1_700_000_000_000;

/** One scheduled callback. It is its own timer handle. */
class ScheduledEvent {
  constructor(
    readonly time: number,
    readonly seq: number,
    /** Null once cancelled or run. */
    public fn: (() => void) | null,
    readonly label: string,
    readonly owner: NodeClock | null,
    readonly subject: NodeId,
  ) {}
}

/** What the clock reports about the event it just ran (for the trace). */
export interface ExecutedEvent {
  /** Virtual milliseconds since the start of the run. */
  readonly time: number;
  readonly label: string;
  /**
   * The only node the event can affect: the owner of the clock facade that scheduled it, or the receiver
   * of a network delivery; `''` when it may touch any node (nemesis, client load).
   */
  readonly node: NodeId;
}

/**
 * Virtual time for a whole simulated cluster: a single queue of events ordered by (time, scheduling
 * order). Nothing happens until the run loop calls {@link VirtualClock.runNext}, which jumps to the next
 * event and runs it, so ten virtual seconds cost only the work done in them. Ties run in the order they
 * were scheduled, which keeps runs reproducible.
 */
export class VirtualClock implements Clock {
  private readonly heap: ScheduledEvent[] = [];
  private seq = 0;
  private current = 0;
  private live = 0;
  /** Events run so far. */
  executed = 0;
  /** The event run last (set before it runs, so it names the culprit when the event throws). */
  last: ExecutedEvent | undefined = undefined;

  /** Virtual milliseconds since the start of the run. */
  get elapsed(): number {
    return this.current;
  }

  now(): number {
    return VIRTUAL_EPOCH_MS + this.current;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    return this.schedule(ms, fn, 'timer');
  }

  clearTimer(handle: TimerHandle): void {
    if (handle instanceof ScheduledEvent) this.cancel(handle);
  }

  /** A zero-delay event: it runs after everything already due now. */
  defer(fn: () => void): void {
    this.schedule(0, fn, 'defer');
  }

  /**
   * Schedules a simulator event with a label for the trace. `subject` is the only node the event can
   * affect (`''`: any). Delays that are negative or not numbers count as 0, as with `setTimeout`.
   */
  schedule(delayMs: number, fn: () => void, label: string, owner: NodeClock | null = null, subject: NodeId = owner?.node ?? ''): TimerHandle {
    const delay = delayMs > 0 ? delayMs : 0;
    const event = new ScheduledEvent(this.current + delay, this.seq++, fn, label, owner, subject);
    this.push(event);
    this.live++;
    return event;
  }

  /** Cancels an event scheduled by {@link schedule}; cancelling twice or after it ran does nothing. */
  cancel(handle: TimerHandle): void {
    if (!(handle instanceof ScheduledEvent) || handle.fn === null) return;
    handle.fn = null;
    this.live--;
    handle.owner?.forget(handle);
  }

  /**
   * A clock facade for one incarnation of one node; {@link NodeClock.stop} cancels all its timers when
   * the node crashes. `label` names its events in the trace (default `timer <node>`).
   */
  forNode(node: NodeId, label = `timer ${node}`): NodeClock {
    return new NodeClock(this, node, label);
  }

  /** Events scheduled and not yet run or cancelled. */
  get pending(): number {
    return this.live;
  }

  /** Virtual time of the next event, or `undefined` when none is scheduled. */
  nextTime(): number | undefined {
    this.dropCancelled();
    return this.heap[0]?.time;
  }

  /**
   * Advances to the next event and runs it. Returns what ran, or `undefined` when the queue is empty.
   * An exception thrown by the event propagates to the caller after the clock has advanced.
   */
  runNext(): ExecutedEvent | undefined {
    this.dropCancelled();
    const event = this.pop();
    if (event === undefined) return undefined;
    const fn = event.fn as () => void;
    event.fn = null;
    this.live--;
    this.current = event.time;
    this.executed++;
    event.owner?.forget(event);
    const executed: ExecutedEvent = { time: event.time, label: event.label, node: event.subject };
    this.last = executed;
    fn();
    return executed;
  }

  /** Moves virtual time forward to `time` without running anything (used when the queue is empty). */
  advanceTo(time: number): void {
    if (time > this.current) this.current = time;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && (this.heap[0] as ScheduledEvent).fn === null) this.pop();
  }

  private push(event: ScheduledEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as ScheduledEvent;
      if (!before(event, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
  }

  private pop(): ScheduledEvent | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let child = l;
      if (r < n && before(heap[r] as ScheduledEvent, heap[l] as ScheduledEvent)) child = r;
      const c = heap[child] as ScheduledEvent;
      if (!before(c, last)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}

function before(x: ScheduledEvent, y: ScheduledEvent): boolean {
  return x.time < y.time || (x.time === y.time && x.seq < y.seq);
}

/**
 * The clock one node incarnation sees. It shares the cluster's virtual time but owns its timers, so a
 * crash can cancel every pending callback of the dead process at once; after {@link stop} new timers are
 * silently ignored, as they would be in a process that no longer exists.
 */
export class NodeClock implements Clock {
  private readonly timers = new Set<TimerHandle>();
  private stopped = false;

  constructor(
    private readonly clock: VirtualClock,
    readonly node: NodeId,
    private readonly label = `timer ${node}`,
  ) {}

  now(): number {
    return this.clock.now();
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    if (this.stopped) return null;
    const handle = this.clock.schedule(ms, fn, this.label, this);
    this.timers.add(handle);
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    if (this.timers.has(handle)) this.clock.cancel(handle);
  }

  defer(fn: () => void): void {
    this.setTimer(0, fn);
  }

  /** Timers of this facade not yet run or cancelled. */
  get pending(): number {
    return this.timers.size;
  }

  /** True once {@link stop} was called. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Cancels every pending timer and ignores new ones: the process is gone. */
  stop(): void {
    this.stopped = true;
    for (const handle of [...this.timers]) this.clock.cancel(handle);
    this.timers.clear();
  }

  /** @internal Called by the clock when one of this facade's events ran or was cancelled. */
  forget(handle: TimerHandle): void {
    this.timers.delete(handle);
  }
}
