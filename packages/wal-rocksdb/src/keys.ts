/**
 * The key layout. Every key starts with one byte naming what it holds; numbers are big-endian so that
 * RocksDB's byte order is their numeric order and a partition's log is one contiguous key range:
 *
 * | key | value |
 * |---|---|
 * | `e` partition(u32) start(u64) | a run: consecutive entries of one partition from `start` on |
 * | `h` partition(u32) | the partition's hard state |
 * | `b` partition(u32) | the partition's base (absent: `{ 0, 0 }`) |
 * | `m` utf-8 name | node metadata |
 * | `f` | the format tag, written when the log is created |
 * | `z` | the marker of the last batch (what open verifies and, if torn, cuts) |
 */
export const RUN_PREFIX = 0x65;
export const HARD_STATE_PREFIX = 0x68;
export const BASE_PREFIX = 0x62;
export const META_PREFIX = 0x6d;

export const FORMAT_KEY = Buffer.from('f');
export const MARKER_KEY = Buffer.from('z');

/** Largest partition number a key can hold. */
export const MAX_PARTITION = 0xffff_ffff;

const TWO_32 = 2 ** 32;

export function runKey(partition: number, start: number): Buffer {
  const key = Buffer.allocUnsafe(13);
  key[0] = RUN_PREFIX;
  key.writeUInt32BE(partition, 1);
  key.writeUInt32BE(Math.floor(start / TWO_32), 5);
  key.writeUInt32BE(start >>> 0, 9);
  return key;
}

export function partitionKey(prefix: number, partition: number): Buffer {
  const key = Buffer.allocUnsafe(5);
  key[0] = prefix;
  key.writeUInt32BE(partition, 1);
  return key;
}

export function metaKey(name: string): Buffer {
  return Buffer.concat([Buffer.of(META_PREFIX), Buffer.from(name, 'utf8')]);
}

/** Every key that starts with `prefix`: `[prefix, prefix + 1)`. */
export function prefixRange(prefix: number): { readonly gte: Buffer; readonly lt: Buffer } {
  return { gte: Buffer.of(prefix), lt: Buffer.of(prefix + 1) };
}

export function partitionOfKey(key: Buffer): number {
  return key.readUInt32BE(1);
}

export function startOfRunKey(key: Buffer): number {
  return key.readUInt32BE(5) * TWO_32 + key.readUInt32BE(9);
}
