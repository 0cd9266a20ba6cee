import { initialPartitionRanges, type PartitionRange } from '../../src/routing/partition-range.js';
import { PartitionRouter, routingHash } from '../../src/routing/partition-router.js';
import { xxHash64 } from '../../src/routing/xxhash64.js';

// Published XXH64 values (seed 0) from cespare/xxhash xxhash_test.go and dotnet/runtime XxHash64Tests.cs;
// the routing hash keeps their low 31 bits.
const published: ReadonlyArray<readonly [string, bigint]> = [
  ['', 0xef46db3751d8e999n],
  ['a', 0xd24ec4f1a98c6e5bn],
  ['asdf', 0x415872f599cea71en],
  ['abc', 0x44bc2cf5ad770999n],
  ['Nobody inspects the spammish repetition', 0xfbcea83c8a378bf1n],
  ['Call me Ishmael. Some years ago--never mind how long precisely-', 0x02a2e85470d6fd96n],
];
const low31 = (hash: bigint): number => Number(hash & 0x7fffffffn);

/** The range that `initialPartitionRanges(n)` gives the hash, found by scanning (independent of the router). */
function owner(ranges: readonly PartitionRange[], hash: number): number {
  const range = ranges.find((r) => r.routed && r.start <= hash && hash <= r.end);
  if (!range) throw new Error(`test setup: no range holds ${hash}`);
  return range.partition;
}

describe('routingHash', () => {
  it.each(published)('is the low 31 bits of the published xxHash64 of %p', (text, hash) => {
    expect(routingHash(text)).toBe(low31(hash));
  });

  it('hashes the UTF-8 bytes of non-ASCII text', () => {
    for (const text of ['ключ/значение', '鍵', 'emoji 🔑 key', 'é'.repeat(500)]) {
      expect(routingHash(text)).toBe(low31(xxHash64(Buffer.from(text, 'utf8'))));
    }
  });

  it('encodes a lone surrogate as U+FFFD, like TextEncoder', () => {
    expect(routingHash('a\ud800b')).toBe(routingHash('a\ufffdb'));
  });

  it('gives the same answer before and after the shared buffer grows, and for very long keys', () => {
    const before = routingHash('tenant-7');
    const medium = 'm'.repeat(5_000);
    const huge = 'h'.repeat(100_000);
    expect(routingHash(medium)).toBe(low31(xxHash64(Buffer.from(medium))));
    expect(routingHash(huge)).toBe(low31(xxHash64(Buffer.from(huge))));
    expect(routingHash('tenant-7')).toBe(before);
  });

  it('is always a non-negative 31-bit integer', () => {
    for (let i = 0; i < 2000; i++) {
      const hash = routingHash(`key-${i}`);
      expect(Number.isInteger(hash) && hash >= 0 && hash <= 0x7fffffff).toBe(true);
    }
  });

  it('rejects non-string input, naming the type', () => {
    expect(() => routingHash(42 as unknown as string)).toThrow(
      new TypeError('routingHash: text must be a string, got number.'),
    );
  });
});

describe('PartitionRouter', () => {
  const ranges = initialPartitionRanges(8);
  const router = new PartitionRouter(ranges);

  it('routes a key without "/" by hashing the whole key', () => {
    for (const [text, hash] of published.filter(([t]) => !t.includes('/'))) {
      expect(router.getPartitionKey(text)).toBe(owner(ranges, low31(hash)));
    }
  });

  it('routes a key with "/" by hashing the part before the last "/"', () => {
    expect(router.getPartitionKey('asdf/1')).toBe(owner(ranges, low31(0x415872f599cea71en)));
    expect(router.getPartitionKey('abc/')).toBe(owner(ranges, low31(0x44bc2cf5ad770999n)));
    expect(router.getPartitionKey('/leading')).toBe(owner(ranges, low31(0xef46db3751d8e999n)));
    expect(router.getPartitionKey('tenants/7/resources/9')).toBe(owner(ranges, routingHash('tenants/7/resources')));
  });

  it('routes keys that share the prefix before the last "/" to one partition', () => {
    const spread = new Set<number>();
    for (let tenant = 0; tenant < 200; tenant++) {
      const prefix = `tenants/${tenant}/resources`;
      const expected = router.getPrefixPartitionKey(prefix);
      spread.add(expected);
      for (const leaf of ['a', 'b', 'ключ', '']) {
        expect(router.getPartitionKey(`${prefix}/${leaf}`)).toBe(expected);
      }
    }
    // 200 prefixes over 8 partitions all landing on one would mean the hash is not being used.
    expect(spread.size).toBe(8);
  });

  it('hashes the whole string in getPrefixPartitionKey, slashes included', () => {
    const prefix = 'Call me Ishmael. Some years ago--never mind how long precisely-';
    expect(router.getPrefixPartitionKey(prefix)).toBe(owner(ranges, low31(0x02a2e85470d6fd96n)));
    expect(router.getPrefixPartitionKey('orders/42')).toBe(owner(ranges, routingHash('orders/42')));
    expect(router.getPrefixPartitionKey('asdf/')).toBe(owner(ranges, routingHash('asdf/')));
  });

  it('never routes to an unrouted range', () => {
    const mixed: PartitionRange[] = [
      { partition: 1, start: 0, end: 0x3fffffff, routed: true },
      { partition: 2, start: 0x40000000, end: 0x7fffffff, routed: false },
      // A split target may overlap a routed range while it is still unrouted.
      { partition: 3, start: 0, end: 0x1fffffff, routed: false },
    ];
    const partial = new PartitionRouter(mixed);
    let routedKeys = 0;
    for (let i = 0; i < 500; i++) {
      const key = `k${i}`;
      const hash = routingHash(key);
      if (hash <= 0x3fffffff) {
        expect(partial.getPrefixPartitionKey(key)).toBe(1);
        routedKeys++;
      } else {
        expect(() => partial.getPrefixPartitionKey(key)).toThrow(`routing hash ${hash}`);
      }
    }
    expect(routedKeys).toBeGreaterThan(0);
    expect(routedKeys).toBeLessThan(500);
  });

  it('throws an error naming the key and its hash when no routed range holds it', () => {
    const none = new PartitionRouter([{ partition: 4, start: 0, end: 0x7fffffff, routed: false }]);
    const hash = low31(0xd24ec4f1a98c6e5bn);
    expect(() => none.getPrefixPartitionKey('a')).toThrow(`No routed partition owns key "a" (routing hash ${hash})`);
    expect(() => none.getPartitionKey('a/b')).toThrow(`key "a/b" (routing hash ${hash} of its prefix "a")`);
    expect(() => new PartitionRouter([]).getPartitionKey('x')).toThrow(/No routed partition owns key "x"/);
  });

  it('matches the bounds of a range inclusively', () => {
    const hash = routingHash('edge');
    const exact = new PartitionRouter([
      { partition: 5, start: hash, end: hash, routed: true },
      ...(hash > 0 ? [{ partition: 6, start: 0, end: hash - 1, routed: true }] : []),
      ...(hash < 0x7fffffff ? [{ partition: 7, start: hash + 1, end: 0x7fffffff, routed: true }] : []),
    ]);
    expect(exact.getPrefixPartitionKey('edge')).toBe(5);
  });

  it('agrees with a linear scan for many keys and partition counts', () => {
    for (const n of [1, 3, 16, 64]) {
      const map = initialPartitionRanges(n);
      const r = new PartitionRouter(map);
      for (let i = 0; i < 300; i++) {
        const key = `user/${i * 7919}`;
        expect(r.getPartitionKey(`${key}/profile`)).toBe(owner(map, routingHash(key)));
      }
    }
  });

  it('is not affected by later changes to the ranges it was built from', () => {
    const map = initialPartitionRanges(2);
    const r = new PartitionRouter(map);
    const before = r.getPrefixPartitionKey('abc');
    for (const range of map) range.routed = false;
    expect(r.getPrefixPartitionKey('abc')).toBe(before);
  });

  it('rejects non-string keys and prefixes, naming the argument', () => {
    expect(() => router.getPartitionKey(undefined as unknown as string)).toThrow(
      new TypeError('getPartitionKey: key must be a string, got undefined.'),
    );
    expect(() => router.getPrefixPartitionKey(null as unknown as string)).toThrow(
      new TypeError('getPrefixPartitionKey: prefix must be a string, got null.'),
    );
  });

  it('rejects overlapping routed ranges, naming both partitions', () => {
    expect(
      () =>
        new PartitionRouter([
          { partition: 1, start: 0, end: 100, routed: true },
          { partition: 2, start: 100, end: 0x7fffffff, routed: true },
        ]),
    ).toThrow(/partitions 1 \[0, 100\] and 2 \[100, 2147483647\] overlap/);
  });

  const range = (fields: Record<string, unknown>): unknown => ({
    partition: 1,
    start: 0,
    end: 1,
    routed: true,
    ...fields,
  });
  it.each<[string, unknown, RegExp]>([
    ['a non-array', { length: 0 }, /ranges must be an array of PartitionRange, got object/],
    ['a null entry', [null], /ranges\[0\] must be a PartitionRange object, got null/],
    ['partition 0', [range({ partition: 0 })], /ranges\[0\]\.partition must be a user partition id/],
    ['a negative start', [range({ start: -1 })], /ranges\[0\]\.start must be an integer in \[0, 2147483647\], got -1/],
    ['an end past 2^31 - 1', [range({ end: 2 ** 31 })], /ranges\[0\]\.end must be an integer/],
    ['a fractional bound', [range({ start: 0.5 })], /start must be an integer/],
    ['reversed bounds', [range({ partition: 3, start: 9, end: 8 })], /partition 3 is reversed: start 9 is after end 8/],
    ['a non-boolean routed', [range({ routed: 'yes' })], /ranges\[0\]\.routed must be a boolean, got string/],
    ['a bad entry after good ones', [range({}), range({ end: -5 })], /ranges\[1\]\.end must be an integer/],
  ])('rejects %s', (_name, input, message) => {
    expect(() => new PartitionRouter(input as PartitionRange[])).toThrow(message);
  });
});
