import { Prng, seedFromString } from '../../src/raft/prng.js';

describe('Prng', () => {
  it('replays the same sequence from the same seed', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const first = Array.from({ length: 20 }, () => a.nextUint32());
    expect(Array.from({ length: 20 }, () => b.nextUint32())).toEqual(first);
    expect(new Set(first).size).toBe(20);
  });

  it('gives different sequences for different seeds', () => {
    expect(new Prng(1).nextUint32()).not.toBe(new Prng(2).nextUint32());
  });

  it('draws integers in [min, max) and reaches both ends', () => {
    const prng = new Prng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = prng.nextInt(10, 20);
      expect(v).toBeGreaterThanOrEqual(10);
      expect(v).toBeLessThan(20);
      expect(Number.isInteger(v)).toBe(true);
      seen.add(v);
    }
    expect(seen.size).toBe(10);
  });

  it('mixes node ids into the seed', () => {
    expect(seedFromString('a', 1)).not.toBe(seedFromString('b', 1));
    expect(seedFromString('a', 1)).not.toBe(seedFromString('a', 2));
    expect(seedFromString('a', 1)).toBe(seedFromString('a', 1));
  });
});
