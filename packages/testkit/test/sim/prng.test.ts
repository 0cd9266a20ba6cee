import { Prng } from '../../src/sim/prng.js';

describe('Prng', () => {
  test('equal seeds give equal sequences, different seeds different ones', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const sa = Array.from({ length: 20 }, () => a.uint32());
    const sb = Array.from({ length: 20 }, () => b.uint32());
    const sc = Array.from({ length: 20 }, () => c.uint32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
  });

  test('draws stay in their ranges and cover them', () => {
    const prng = new Prng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const f = prng.next();
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
      const k = prng.between(3, 9);
      expect(k).toBeGreaterThanOrEqual(3);
      expect(k).toBeLessThanOrEqual(9);
      seen.add(k);
    }
    expect([...seen].sort()).toEqual([3, 4, 5, 6, 7, 8, 9]);
  });

  test('is close to uniform', () => {
    const prng = new Prng(99);
    const buckets = new Array<number>(10).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const k = prng.int(10);
      buckets[k] = (buckets[k] as number) + 1;
    }
    for (const count of buckets) expect(Math.abs(count - n / 10)).toBeLessThan(n / 100);
  });

  test('chance(0) never draws, so fault-free runs do not consume randomness', () => {
    const a = new Prng(5);
    const b = new Prng(5);
    expect(a.chance(0)).toBe(false);
    expect(a.chance(1)).toBe(true);
    expect(a.uint32()).toBe(b.uint32());
  });

  test('named streams are reproducible and independent of each other', () => {
    const net1 = Prng.stream(1234, 'network');
    const net2 = Prng.stream(1234, 'network');
    const load = Prng.stream(1234, 'load');
    const other = Prng.stream(1235, 'network');
    const draw = (p: Prng): number[] => Array.from({ length: 8 }, () => p.uint32());
    const n1 = draw(net1);
    expect(draw(net2)).toEqual(n1);
    expect(draw(load)).not.toEqual(n1);
    expect(draw(other)).not.toEqual(n1);
  });

  test('shuffle is a permutation and pick chooses members', () => {
    const prng = new Prng(3);
    const items = ['a', 'b', 'c', 'd', 'e'];
    const shuffled = prng.shuffle(items);
    expect([...shuffled].sort()).toEqual(items);
    expect(items).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(items).toContain(prng.pick(items));
  });

  test('rejects bad arguments with a message naming them', () => {
    expect(() => new Prng(Number.NaN)).toThrow('seed must be a finite number');
    expect(() => new Prng(1).int(0)).toThrow('n ≥ 1');
    expect(() => new Prng(1).between(5, 4)).toThrow('min ≤ max');
    expect(() => new Prng(1).pick([])).toThrow('non-empty');
  });
});
