import { HybridLogicalClock } from '../../src/hlc/hybrid-logical-clock.js';
import { compareHLC } from '../../src/hlc/timestamp-order.js';
import { HLC_ZERO, type HLCTimestamp } from '../../src/hlc/timestamp.js';

/** A wall clock the test sets by hand. */
function manualWall(start: number): { wall: () => number; set: (ms: number) => void } {
  let now = start;
  return { wall: () => now, set: (ms) => (now = ms) };
}

const ts = (physical: number, counter: number): HLCTimestamp => ({ physical, counter });

describe('HybridLogicalClock.now', () => {
  it('follows the wall clock while it moves forward', () => {
    const time = manualWall(1_000);
    const clock = new HybridLogicalClock(time.wall);
    expect(clock.now()).toEqual(ts(1_000, 0));
    time.set(1_005);
    expect(clock.now()).toEqual(ts(1_005, 0));
  });

  it('counts events within one millisecond', () => {
    const clock = new HybridLogicalClock(() => 42);
    expect([clock.now(), clock.now(), clock.now()]).toEqual([ts(42, 0), ts(42, 1), ts(42, 2)]);
  });

  it('is newer than HLC_ZERO even when the wall clock reads 0', () => {
    const clock = new HybridLogicalClock(() => 0);
    expect(compareHLC(clock.now(), HLC_ZERO)).toBeGreaterThan(0);
  });

  it('never repeats or goes back under a clock that jumps backwards and stalls', () => {
    const readings = [500, 500, 400, 100, 100, 501, 502, 300, 502, 600, 0, 600];
    let i = 0;
    const clock = new HybridLogicalClock(() => readings[i++ % readings.length]!);
    const issued: HLCTimestamp[] = [];
    for (let n = 0; n < 60; n++) issued.push(clock.now());
    for (let n = 1; n < issued.length; n++) {
      expect(compareHLC(issued[n]!, issued[n - 1]!)).toBeGreaterThan(0);
    }
    // Physical time never exceeds the largest wall reading seen: the clock does not invent time.
    expect(Math.max(...issued.map((t) => t.physical))).toBe(600);
    // After the clock went back from 500 to 400, the timestamp stays at 500 and counts.
    expect(issued.slice(0, 5)).toEqual([ts(500, 0), ts(500, 1), ts(500, 2), ts(500, 3), ts(500, 4)]);
  });

  it('truncates fractional milliseconds', () => {
    expect(new HybridLogicalClock(() => 1234.9).now()).toEqual(ts(1234, 0));
  });

  it.each([Number.NaN, -1, Infinity, 2 ** 53, '5'])('rejects a wall clock reading of %p', (reading) => {
    const clock = new HybridLogicalClock(() => reading as number);
    expect(() => clock.now()).toThrow(/the wall clock returned .*non-negative milliseconds/);
  });

  it('rejects a wall clock that is not a function', () => {
    expect(() => new HybridLogicalClock(Date.now() as unknown as () => number)).toThrow(
      /wallClock must be a function returning milliseconds, got number/,
    );
  });
});

describe('HybridLogicalClock.receive', () => {
  it('jumps to a remote timestamp from the future and counts past it', () => {
    const clock = new HybridLogicalClock(() => 100);
    expect(clock.receive(ts(900, 4))).toEqual(ts(900, 5));
    // Later local events stay after the remote one although the wall clock is still at 100.
    expect(clock.now()).toEqual(ts(900, 6));
  });

  it('keeps wall time and resets the counter when the wall clock is ahead of both', () => {
    const time = manualWall(100);
    const clock = new HybridLogicalClock(time.wall);
    clock.now();
    clock.now();
    time.set(200);
    expect(clock.receive(ts(150, 9))).toEqual(ts(200, 0));
  });

  it('counts past the larger counter when local and remote share the physical time', () => {
    const clock = new HybridLogicalClock(() => 50);
    clock.receive(ts(70, 2)); // local is now 70.3
    expect(clock.receive(ts(70, 8))).toEqual(ts(70, 9));
    expect(clock.receive(ts(70, 1))).toEqual(ts(70, 10));
  });

  it('counts past the local timestamp when the remote one is older', () => {
    const clock = new HybridLogicalClock(() => 300);
    clock.now(); // 300.0
    expect(clock.receive(ts(10, 99))).toEqual(ts(300, 1));
  });

  it('orders every result after both the remote timestamp and all earlier local ones', () => {
    // A deterministic pseudo-random walk of wall readings and remote timestamps (no Math.random: replayable).
    let seed = 12345;
    const next = (bound: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % bound;
    };
    let wall = 1_000;
    const clock = new HybridLogicalClock(() => wall);
    let previous = HLC_ZERO;
    for (let step = 0; step < 2_000; step++) {
      wall += next(7) - 3; // drifts both ways
      if (next(2) === 0) {
        const remote = ts(wall + next(21) - 10, next(5));
        const merged = clock.receive(remote);
        expect(compareHLC(merged, remote)).toBeGreaterThan(0);
        expect(compareHLC(merged, previous)).toBeGreaterThan(0);
        previous = merged;
      } else {
        const local = clock.now();
        expect(compareHLC(local, previous)).toBeGreaterThan(0);
        expect(local.physical).toBeGreaterThanOrEqual(wall);
        previous = local;
      }
    }
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a negative physical time', { physical: -1, counter: 0 }],
    ['a fractional counter', { physical: 1, counter: 0.5 }],
    ['a missing counter', { physical: 1 }],
    ['a ticket string', '1.2'],
  ])('rejects %s as a remote timestamp', (_name, remote) => {
    const clock = new HybridLogicalClock(() => 1);
    expect(() => clock.receive(remote as HLCTimestamp)).toThrow(TypeError);
    expect(() => clock.receive(remote as HLCTimestamp)).toThrow(/remote must be an HLC timestamp/);
  });

  it('refuses to push the counter past 2^53 - 1 instead of losing precision', () => {
    const clock = new HybridLogicalClock(() => 1);
    expect(() => clock.receive(ts(5, Number.MAX_SAFE_INTEGER))).toThrow(RangeError);
    // The failed merge left the clock unchanged.
    expect(clock.now()).toEqual(ts(1, 0));
  });
});
