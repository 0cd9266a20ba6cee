import { initialPartitionRanges, MAX_INITIAL_PARTITIONS, ROUTING_HASH_MAX } from '../../src/routing/partition-range.js';

describe('initialPartitionRanges', () => {
  it('is one routed range over the whole space for one partition', () => {
    expect(initialPartitionRanges(1)).toEqual([{ partition: 1, start: 0, end: 2 ** 31 - 1, routed: true }]);
  });

  it('splits the space in halves for two partitions', () => {
    expect(initialPartitionRanges(2)).toEqual([
      { partition: 1, start: 0, end: 2 ** 30 - 1, routed: true },
      { partition: 2, start: 2 ** 30, end: 2 ** 31 - 1, routed: true },
    ]);
  });

  it.each(Array.from({ length: 64 }, (_, i) => i + 1))(
    'covers [0, 2^31 - 1] without gap or overlap, evenly, with ids 1..n in hash order (n = %i)',
    (n) => {
      const ranges = initialPartitionRanges(n);
      expect(ranges).toHaveLength(n);
      expect(ranges[0]!.start).toBe(0);
      expect(ranges[n - 1]!.end).toBe(ROUTING_HASH_MAX);
      const sizes = new Set<number>();
      ranges.forEach((range, i) => {
        expect(range.partition).toBe(i + 1);
        expect(range.routed).toBe(true);
        expect(range.end).toBeGreaterThanOrEqual(range.start);
        if (i > 0) expect(range.start).toBe(ranges[i - 1]!.end + 1);
        sizes.add(range.end - range.start + 1);
      });
      const smallest = Math.min(...sizes);
      expect(Math.max(...sizes) - smallest).toBeLessThanOrEqual(1);
      expect(smallest).toBe(Math.floor(2 ** 31 / n));
    },
  );

  it('accepts the largest partition count and still covers the space', () => {
    const ranges = initialPartitionRanges(MAX_INITIAL_PARTITIONS);
    expect(ranges).toHaveLength(65535);
    expect(ranges[65534]).toMatchObject({ partition: 65535, end: ROUTING_HASH_MAX });
    expect(ranges.every((range, i) => i === 0 || range.start === ranges[i - 1]!.end + 1)).toBe(true);
  });

  it.each([0, -1, 1.5, 65536, Number.NaN, Infinity])('rejects %p partitions with a message naming the limits', (n) => {
    expect(() => initialPartitionRanges(n)).toThrow(RangeError);
    expect(() => initialPartitionRanges(n)).toThrow(`an integer from 1 to 65535, got ${String(n)}`);
  });

  it('rejects a non-number partition count', () => {
    expect(() => initialPartitionRanges('4' as unknown as number)).toThrow(/got 4\./);
  });
});
