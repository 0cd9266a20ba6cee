import { VirtualClock, VIRTUAL_EPOCH_MS } from '../../src/sim/virtual-clock.js';

function runAll(clock: VirtualClock): void {
  while (clock.runNext() !== undefined) {
    // each call runs one event
  }
}

describe('VirtualClock', () => {
  test('runs events in time order, ties in scheduling order, and advances now()', () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    clock.setTimer(5, () => seen.push(`b@${clock.elapsed}`));
    clock.setTimer(1, () => seen.push(`a@${clock.elapsed}`));
    clock.setTimer(5, () => seen.push(`c@${clock.elapsed}`));
    clock.defer(() => seen.push(`d@${clock.elapsed}`));
    expect(clock.now()).toBe(VIRTUAL_EPOCH_MS);
    runAll(clock);
    expect(seen).toEqual(['d@0', 'a@1', 'b@5', 'c@5']);
    expect(clock.now()).toBe(VIRTUAL_EPOCH_MS + 5);
    expect(clock.executed).toBe(4);
  });

  test('defer inside an event runs after the events already due at that time', () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    clock.setTimer(2, () => {
      seen.push('first');
      clock.defer(() => seen.push('deferred'));
    });
    clock.setTimer(2, () => seen.push('second'));
    runAll(clock);
    expect(seen).toEqual(['first', 'second', 'deferred']);
  });

  test('clearTimer cancels, and cancelled events neither run nor count as pending', () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    const a = clock.setTimer(1, () => seen.push(1));
    clock.setTimer(2, () => seen.push(2));
    expect(clock.pending).toBe(2);
    clock.clearTimer(a);
    clock.clearTimer(a);
    expect(clock.pending).toBe(1);
    expect(clock.nextTime()).toBe(2);
    runAll(clock);
    expect(seen).toEqual([2]);
    expect(clock.nextTime()).toBeUndefined();
  });

  test('negative and NaN delays count as zero', () => {
    const clock = new VirtualClock();
    clock.setTimer(10, () => undefined);
    clock.runNext();
    const seen: number[] = [];
    clock.setTimer(-5, () => seen.push(clock.elapsed));
    clock.setTimer(Number.NaN, () => seen.push(clock.elapsed));
    runAll(clock);
    expect(seen).toEqual([10, 10]);
  });

  test('a node facade owns its timers: stop() cancels them all and ignores new ones', () => {
    const clock = new VirtualClock();
    const n1 = clock.forNode('n1');
    const n2 = clock.forNode('n2');
    const seen: string[] = [];
    n1.setTimer(1, () => seen.push('n1 timer'));
    n1.defer(() => seen.push('n1 defer'));
    n2.setTimer(1, () => seen.push('n2 timer'));
    expect(n1.pending).toBe(2);
    n1.stop();
    expect(n1.pending).toBe(0);
    expect(n1.isStopped).toBe(true);
    n1.setTimer(1, () => seen.push('n1 after crash'));
    runAll(clock);
    expect(seen).toEqual(['n2 timer']);
    expect(clock.pending).toBe(0);
  });

  test('a facade forgets timers that ran or were cleared, and reports the node of its events', () => {
    const clock = new VirtualClock();
    const n1 = clock.forNode('n1');
    const t = n1.setTimer(3, () => undefined);
    n1.setTimer(1, () => undefined);
    n1.clearTimer(t);
    expect(n1.pending).toBe(1);
    const ran = clock.runNext();
    expect(ran).toEqual({ time: 1, label: 'timer n1', node: 'n1' });
    expect(n1.pending).toBe(0);
    expect(clock.runNext()).toBeUndefined();
  });

  test('an event that throws propagates after the clock advanced, and last names it', () => {
    const clock = new VirtualClock();
    clock.schedule(4, () => {
      throw new Error('boom');
    }, 'net n1>n2', null, 'n2');
    expect(() => clock.runNext()).toThrow('boom');
    expect(clock.elapsed).toBe(4);
    expect(clock.last).toEqual({ time: 4, label: 'net n1>n2', node: 'n2' });
  });

  test('keeps a large random schedule in order', () => {
    const clock = new VirtualClock();
    const times: number[] = [];
    let x = 12345;
    for (let i = 0; i < 2000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      clock.setTimer(x % 500, () => times.push(clock.elapsed));
    }
    runAll(clock);
    expect(times).toHaveLength(2000);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1] as number);
  });
});
