/** The largest routing hash: routing hashes are non-negative 31-bit integers, so the space is [0, 2^31 - 1]. */
export const ROUTING_HASH_MAX = 0x7fffffff;

/** The most partitions `initialPartitionRanges` will create (partition ids are 1..n). */
export const MAX_INITIAL_PARTITIONS = 65535;

/**
 * The slice of the routing-hash space that one user partition owns in the partition map.
 * Keys whose routing hash lies in `[start, end]` belong to `partition`, provided the range is routed.
 */
export interface PartitionRange {
  /** The user partition that owns the range (1 and above; partition 0 is the system partition). */
  partition: number;
  /** First routing hash of the range, inclusive, in [0, ROUTING_HASH_MAX]. */
  start: number;
  /** Last routing hash of the range, inclusive, in [start, ROUTING_HASH_MAX]. */
  end: number;
  /**
   * Whether keys are routed to this range. A partition created as unrouted (for example the target of a
   * split that has not finished) holds a range in the map but never matches a key.
   */
  routed: boolean;
}

/**
 * The partition map of a fresh cluster: the routing-hash space [0, ROUTING_HASH_MAX] split into `n`
 * contiguous, routed ranges owned by partitions 1..n in hash order. Range sizes differ by at most one.
 *
 * @param n - Number of user partitions, an integer in [1, MAX_INITIAL_PARTITIONS].
 * @throws RangeError if `n` is not an integer in [1, MAX_INITIAL_PARTITIONS].
 */
export function initialPartitionRanges(n: number): PartitionRange[] {
  if (!Number.isInteger(n) || n < 1 || n > MAX_INITIAL_PARTITIONS) {
    throw new RangeError(
      `initialPartitionRanges: the number of partitions must be an integer from 1 to ${MAX_INITIAL_PARTITIONS}, ` +
        `got ${String(n)}.`,
    );
  }
  const spaceSize = ROUTING_HASH_MAX + 1;
  const ranges: PartitionRange[] = [];
  for (let i = 0; i < n; i++) {
    // i * 2^31 stays below 2^47, so the products are exact and the boundaries depend only on n.
    ranges.push({
      partition: i + 1,
      start: Math.floor((i * spaceSize) / n),
      end: Math.floor(((i + 1) * spaceSize) / n) - 1,
      routed: true,
    });
  }
  return ranges;
}
