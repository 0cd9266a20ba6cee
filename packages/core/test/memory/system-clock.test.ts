import { SystemClock, systemClock } from '../../src/runtime/system-clock.js';
import { silentLogger } from '../../src/runtime/silent-logger.js';

describe('SystemClock', () => {
  it('reads the wall clock', () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('fires a timer once, not before its delay', async () => {
    const clock = new SystemClock();
    const start = Date.now();
    const fired = await new Promise<number>((resolve) => clock.setTimer(20, () => resolve(Date.now())));
    // Node may fire a millisecond early against Date.now's rounding.
    expect(fired - start).toBeGreaterThanOrEqual(19);
  });

  it('cancels a cleared timer', async () => {
    const clock = new SystemClock();
    const calls: string[] = [];
    const cancelled = clock.setTimer(1, () => calls.push('cancelled'));
    clock.clearTimer(cancelled);
    await new Promise<void>((resolve) => clock.setTimer(5, () => resolve()));
    expect(calls).toEqual([]);
  });

  it('defers after the current turn and its promise jobs', async () => {
    const order: string[] = [];
    const deferred = new Promise<void>((resolve) =>
      systemClock.defer(() => {
        order.push('defer');
        resolve();
      }),
    );
    void Promise.resolve().then(() => order.push('microtask'));
    order.push('sync');
    await deferred;
    expect(order).toEqual(['sync', 'microtask', 'defer']);
  });
});

describe('silentLogger', () => {
  it('accepts every call and returns itself as child', () => {
    expect(() => {
      silentLogger.info('x');
      silentLogger.error({ partition: 1 }, 'y');
    }).not.toThrow();
    expect(silentLogger.child({ node: 'a' })).toBe(silentLogger);
  });
});
