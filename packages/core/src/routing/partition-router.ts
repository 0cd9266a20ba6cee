import { ROUTING_HASH_MAX, type PartitionRange } from './partition-range.js';
import { xxHash64Low32 } from './xxhash64.js';

const encoder = new TextEncoder();

// UTF-8 needs at most 3 bytes per UTF-16 code unit, so a buffer of 3 * text.length always fits. Keys are
// encoded into one reused buffer to keep routing allocation-free; keys too long for it (rare, and already
// expensive to hash) are encoded into a fresh array instead of growing the shared one without bound.
const SCRATCH_MAX_BYTES = 64 * 1024;
let scratch = new Uint8Array(1024);

/**
 * The routing hash of `text`: xxHash64 (seed 0) of its UTF-8 bytes, reduced to a non-negative 31-bit integer
 * by keeping the low 31 bits. Every node computes the same value, so it is safe to persist and compare.
 * Lone surrogates are encoded as U+FFFD, as `TextEncoder` does.
 *
 * @throws TypeError if `text` is not a string.
 */
export function routingHash(text: string): number {
  if (typeof text !== 'string') {
    throw new TypeError(`routingHash: text must be a string, got ${typeName(text)}.`);
  }
  const worstCase = text.length * 3;
  if (worstCase > scratch.length) {
    if (worstCase > SCRATCH_MAX_BYTES) {
      const bytes = encoder.encode(text);
      return xxHash64Low32(bytes, bytes.length) & ROUTING_HASH_MAX;
    }
    scratch = new Uint8Array(Math.min(SCRATCH_MAX_BYTES, Math.max(worstCase, scratch.length * 2)));
  }
  const { written } = encoder.encodeInto(text, scratch);
  return xxHash64Low32(scratch, written) & ROUTING_HASH_MAX;
}

/**
 * Maps keys to the user partition that owns them, from the routed ranges of a partition map.
 * It is immutable: when the partition map changes, build a new router.
 */
export class PartitionRouter {
  // Routed ranges sorted by start, as parallel arrays for a cache-friendly binary search.
  readonly #starts: Int32Array;
  readonly #ends: Int32Array;
  readonly #partitions: Int32Array;

  /**
   * @param ranges - The partition map's ranges. Unrouted ranges are accepted and ignored; routed ranges must
   *   not overlap. Gaps are allowed, but a key whose hash falls in one cannot be routed.
   * @throws TypeError if `ranges` is not an array of ranges with integer bounds and a boolean `routed`.
   * @throws RangeError if a range has a partition id below 1 or bounds outside [0, 2^31 - 1] or reversed.
   * @throws Error if two routed ranges overlap.
   */
  constructor(ranges: readonly PartitionRange[]) {
    if (!Array.isArray(ranges)) {
      throw new TypeError(`PartitionRouter: ranges must be an array of PartitionRange, got ${typeName(ranges)}.`);
    }
    const routed: PartitionRange[] = [];
    ranges.forEach((range, index) => {
      validateRange(range, index);
      if (range.routed) routed.push(range);
    });
    routed.sort((a, b) => a.start - b.start);
    for (let i = 1; i < routed.length; i++) {
      const previous = routed[i - 1]!;
      const current = routed[i]!;
      if (current.start <= previous.end) {
        throw new Error(
          `PartitionRouter: routed ranges of partitions ${previous.partition} [${previous.start}, ${previous.end}] ` +
            `and ${current.partition} [${current.start}, ${current.end}] overlap; ` +
            'each routing hash must belong to at most one routed partition.',
        );
      }
    }
    this.#starts = Int32Array.from(routed, (range) => range.start);
    this.#ends = Int32Array.from(routed, (range) => range.end);
    this.#partitions = Int32Array.from(routed, (range) => range.partition);
  }

  /**
   * The partition that owns `key`. Only the part of the key before its last `/` is hashed (the whole key
   * when it has none), so `orders/42/lines/1` and `orders/42/lines/2` route together.
   *
   * @throws TypeError if `key` is not a string.
   * @throws Error if no routed range contains the key's routing hash (the message names the key and hash).
   */
  getPartitionKey(key: string): number {
    if (typeof key !== 'string') {
      throw new TypeError(`getPartitionKey: key must be a string, got ${typeName(key)}.`);
    }
    const slash = key.lastIndexOf('/');
    const routingKey = slash === -1 ? key : key.slice(0, slash);
    return this.#route(key, routingKey);
  }

  /**
   * The partition that owns `prefix`, hashing the whole string (use it when the routing key is already the
   * prefix, for example `getPrefixPartitionKey('orders/42')` equals `getPartitionKey('orders/42/anything')`).
   *
   * @throws TypeError if `prefix` is not a string.
   * @throws Error if no routed range contains the prefix's routing hash (the message names it and the hash).
   */
  getPrefixPartitionKey(prefix: string): number {
    if (typeof prefix !== 'string') {
      throw new TypeError(`getPrefixPartitionKey: prefix must be a string, got ${typeName(prefix)}.`);
    }
    return this.#route(prefix, prefix);
  }

  #route(key: string, routingKey: string): number {
    const hash = routingHash(routingKey);
    const starts = this.#starts;
    // Find the last range starting at or before the hash; it is the only one that can contain it.
    let low = 0;
    let high = starts.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (starts[middle]! <= hash) low = middle + 1;
      else high = middle - 1;
    }
    if (high >= 0 && hash <= this.#ends[high]!) return this.#partitions[high]!;
    const hashed = routingKey === key ? '' : ` of its prefix ${quote(routingKey)}`;
    throw new Error(
      `No routed partition owns key ${quote(key)} (routing hash ${hash}${hashed}); ` +
        `the partition map's routed ranges must cover every hash in [0, ${ROUTING_HASH_MAX}].`,
    );
  }
}

function validateRange(range: PartitionRange, index: number): void {
  const where = `PartitionRouter: ranges[${index}]`;
  if (typeof range !== 'object' || range === null) {
    throw new TypeError(`${where} must be a PartitionRange object, got ${typeName(range)}.`);
  }
  const { partition, start, end, routed } = range;
  if (!Number.isInteger(partition) || partition < 1) {
    throw new RangeError(`${where}.partition must be a user partition id (an integer of 1 or more), got ${partition}.`);
  }
  for (const [name, value] of [['start', start], ['end', end]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > ROUTING_HASH_MAX) {
      throw new RangeError(`${where}.${name} must be an integer in [0, ${ROUTING_HASH_MAX}], got ${value}.`);
    }
  }
  if (start > end) {
    throw new RangeError(`${where} of partition ${partition} is reversed: start ${start} is after end ${end}.`);
  }
  if (typeof routed !== 'boolean') {
    throw new TypeError(`${where}.routed must be a boolean, got ${typeName(routed)}.`);
  }
}

/** Quotes text for an error message, shortened so a huge key cannot flood a log line. */
function quote(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

function typeName(value: unknown): string {
  return value === null ? 'null' : typeof value;
}
