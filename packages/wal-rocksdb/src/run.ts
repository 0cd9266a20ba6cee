import type { Entry, EntryKind } from '@kommander/core';
import { crc32 } from './crc32.js';

/**
 * A run is one RocksDB value holding consecutive entries of one partition, so that reading a long log
 * is a short iteration (the binding costs about a microsecond per record, whatever its size):
 *
 * ```
 * header   version u8 | partition u32 | start index f64 | count u32
 * entry    kind u8 | term f64 | time.physical f64 | time.counter u32 | type length u16 | type (utf-8)
 *          | data length u32 | data | crc32 of this entry's bytes u32
 * trailer  crc32 of everything before it u32
 * ```
 *
 * Numbers are big-endian; indexes and terms are float64, exact for every safe integer. The trailer
 * covers the whole run (checked on every read); each entry's own checksum lets a damaged run name the
 * entry that is damaged.
 */
export const RUN_VERSION = 1;
const HEADER_BYTES = 17;
/** kind, term, physical, counter, type length, data length, crc. */
const ENTRY_FIXED_BYTES = 1 + 8 + 8 + 4 + 2 + 4 + 4;
const TRAILER_BYTES = 4;

/** Longest `type` a run can hold, in utf-8 bytes. */
export const MAX_TYPE_BYTES = 0xffff;

/** One run ready to be written: entries `start..end` of the partition. */
export interface EncodedRun {
  readonly start: number;
  readonly end: number;
  readonly value: Buffer;
}

/** Splits a write's entries into runs and encodes them. Keeps the utf-8 bytes of recent types. */
export class RunEncoder {
  private readonly typeBytes = new Map<string, Buffer>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  /** The utf-8 bytes of `type` (cached: a log uses few types). */
  bytesOfType(type: string): Buffer {
    let bytes = this.typeBytes.get(type);
    if (bytes === undefined) {
      if (this.typeBytes.size >= 1024) this.typeBytes.clear();
      bytes = Buffer.from(type, 'utf8');
      this.typeBytes.set(type, bytes);
    }
    return bytes;
  }

  /** Encodes `entries` (contiguous, validated) of `partition` as runs of at most `maxEntries` entries and about `maxBytes` bytes. */
  encode(partition: number, entries: readonly Entry[]): EncodedRun[] {
    const runs: EncodedRun[] = [];
    let from = 0;
    let bytes = HEADER_BYTES + TRAILER_BYTES;
    for (let k = 0; k < entries.length; k++) {
      const entry = entries[k] as Entry;
      const size = ENTRY_FIXED_BYTES + this.bytesOfType(entry.type).length + entry.data.length;
      if (k > from && (k - from >= this.maxEntries || bytes + size > this.maxBytes)) {
        runs.push(this.encodeRun(partition, entries, from, k, bytes));
        from = k;
        bytes = HEADER_BYTES + TRAILER_BYTES;
      }
      bytes += size;
    }
    if (from < entries.length) runs.push(this.encodeRun(partition, entries, from, entries.length, bytes));
    return runs;
  }

  private encodeRun(partition: number, entries: readonly Entry[], from: number, to: number, size: number): EncodedRun {
    const value = Buffer.allocUnsafe(size);
    const start = (entries[from] as Entry).index;
    value[0] = RUN_VERSION;
    value.writeUInt32BE(partition, 1);
    value.writeDoubleBE(start, 5);
    value.writeUInt32BE(to - from, 13);
    let at = HEADER_BYTES;
    for (let k = from; k < to; k++) {
      const entry = entries[k] as Entry;
      const type = this.bytesOfType(entry.type);
      const entryStart = at;
      value[at] = entry.kind;
      value.writeDoubleBE(entry.term, at + 1);
      value.writeDoubleBE(entry.time.physical, at + 9);
      value.writeUInt32BE(entry.time.counter, at + 17);
      value.writeUInt16BE(type.length, at + 21);
      at += 23;
      value.set(type, at);
      at += type.length;
      value.writeUInt32BE(entry.data.length, at);
      at += 4;
      value.set(entry.data, at);
      at += entry.data.length;
      value.writeUInt32BE(crc32(value, entryStart, at), at);
      at += 4;
    }
    value.writeUInt32BE(crc32(value, 0, at), at);
    return { start, end: start + (to - from) - 1, value };
  }
}

/** The first `count` entries of the stored run `value`, which starts at index `start`. */
export interface RunPiece {
  readonly value: Buffer;
  readonly start: number;
  readonly count: number;
}

/**
 * One run holding the given pieces back to back (each piece starting where the previous one ended), made
 * by copying their entry bytes: entry checksums cover only an entry's own bytes, so they stay valid.
 */
export function concatRuns(partition: number, pieces: readonly RunPiece[]): EncodedRun {
  const first = pieces[0];
  if (first === undefined) throw new RangeError('concatRuns needs at least one piece');
  const ends: number[] = [];
  let size = HEADER_BYTES + TRAILER_BYTES;
  let count = 0;
  for (const piece of pieces) {
    if (piece.start !== first.start + count) throw new RangeError(`run pieces are not contiguous: ${piece.start} follows ${first.start + count - 1}`);
    let at = HEADER_BYTES;
    for (let k = 0; k < piece.count; k++) at = skipEntry(piece.value, at);
    ends.push(at);
    size += at - HEADER_BYTES;
    count += piece.count;
  }
  const value = Buffer.allocUnsafe(size);
  value[0] = RUN_VERSION;
  value.writeUInt32BE(partition, 1);
  value.writeDoubleBE(first.start, 5);
  value.writeUInt32BE(count, 13);
  let at = HEADER_BYTES;
  pieces.forEach((piece, k) => {
    at += piece.value.copy(value, at, HEADER_BYTES, ends[k]);
  });
  value.writeUInt32BE(crc32(value, 0, at), at);
  return { start: first.start, end: first.start + count - 1, value };
}

/** Header fields of a run whose trailer checksum passed. */
export interface RunHeader {
  readonly partition: number;
  readonly start: number;
  readonly count: number;
}

/** The header when the run's trailer checksum and version are right; `undefined` when it is damaged. */
export function checkRun(value: Buffer): RunHeader | undefined {
  if (value.length < HEADER_BYTES + TRAILER_BYTES || value[0] !== RUN_VERSION) return undefined;
  const end = value.length - TRAILER_BYTES;
  if (crc32(value, 0, end) !== value.readUInt32BE(end)) return undefined;
  return { partition: value.readUInt32BE(1), start: value.readDoubleBE(5), count: value.readUInt32BE(13) };
}

/**
 * Where a run that failed {@link checkRun} is damaged: the index of the first entry whose own checksum
 * fails or whose fields run past the end, or, when every entry is whole, the damage is in the header or
 * trailer (`index` undefined). `start` is the run's key: the header may be the damaged part.
 */
export function locateDamage(value: Buffer, start: number): { readonly index: number | undefined; readonly what: string } {
  if (value.length < HEADER_BYTES + TRAILER_BYTES) return { index: start, what: `the record is cut short (${value.length} bytes)` };
  const count = value.readUInt32BE(13);
  const end = value.length - TRAILER_BYTES;
  let at = HEADER_BYTES;
  for (let k = 0; k < count; k++) {
    const index = start + k;
    if (at + 23 > end) return { index, what: 'the record is cut short before this entry' };
    const typeLength = value.readUInt16BE(at + 21);
    const dataAt = at + 23 + typeLength;
    if (dataAt + 4 > end) return { index, what: 'the record is cut short inside this entry' };
    const entryEnd = dataAt + 4 + value.readUInt32BE(dataAt);
    if (entryEnd + 4 > end) return { index, what: 'the record is cut short inside this entry' };
    if (crc32(value, at, entryEnd) !== value.readUInt32BE(entryEnd)) return { index, what: 'checksum mismatch' };
    at = entryEnd + 4;
  }
  if (at !== end) return { index: undefined, what: `${end - at} stray bytes after the last entry` };
  return { index: undefined, what: 'the run header or trailer checksum is damaged' };
}

/**
 * Turns verified runs into entries. Consecutive entries usually share their `type`, so the last decoded
 * string is reused when the bytes match instead of decoding utf-8 again.
 */
export class RunDecoder {
  private lastTypeBytes: Buffer = Buffer.alloc(0);
  private lastTypeAt = 0;
  private lastTypeLength = -1;
  private lastType = '';

  /**
   * Writes the entries of the verified run `value` whose index is in `[lo, hi]` to `out[index - lo]`,
   * replacing what an earlier run put there (a later run starts where an overwrite cut the earlier one).
   */
  decodeInto(value: Buffer, header: RunHeader, lo: number, hi: number, out: Entry[]): void {
    let index = header.start;
    const last = Math.min(hi, header.start + header.count - 1);
    let at = HEADER_BYTES;
    while (index < lo) {
      at = skipEntry(value, at);
      index++;
    }
    for (; index <= last; index++) {
      const typeLength = value.readUInt16BE(at + 21);
      const typeAt = at + 23;
      const dataAt = typeAt + typeLength + 4;
      const dataLength = value.readUInt32BE(dataAt - 4);
      out[index - lo] = {
        index,
        term: value.readDoubleBE(at + 1),
        kind: value[at] as EntryKind,
        type: this.typeAt(value, typeAt, typeLength),
        data: value.subarray(dataAt, dataAt + dataLength),
        time: { physical: value.readDoubleBE(at + 9), counter: value.readUInt32BE(at + 17) },
      };
      at = dataAt + dataLength + 4;
    }
  }

  private typeAt(value: Buffer, at: number, length: number): string {
    if (length === 0) return '';
    if (length === this.lastTypeLength) {
      const previous = this.lastTypeBytes;
      const from = this.lastTypeAt;
      let same = true;
      for (let i = 0; i < length; i++) {
        if (value[at + i] !== previous[from + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.lastType;
    }
    this.lastType = value.toString('utf8', at, at + length);
    this.lastTypeBytes = value;
    this.lastTypeAt = at;
    this.lastTypeLength = length;
    return this.lastType;
  }
}

/** Term of the entry at `index` in the verified run `value` (which must hold it). */
export function termInRun(value: Buffer, header: RunHeader, index: number): number {
  let at = HEADER_BYTES;
  for (let i = header.start; i < index; i++) at = skipEntry(value, at);
  return value.readDoubleBE(at + 1);
}

/** Offset of the byte range `[from, to)` of the entry at `index` in a run starting at `start` (for tests that damage it). */
export function entryBytesInRun(value: Buffer, start: number, index: number): { readonly from: number; readonly to: number } {
  let at = HEADER_BYTES;
  for (let i = start; i < index; i++) at = skipEntry(value, at);
  return { from: at, to: skipEntry(value, at) };
}

function skipEntry(value: Buffer, at: number): number {
  const dataLengthAt = at + 23 + value.readUInt16BE(at + 21);
  return dataLengthAt + 4 + value.readUInt32BE(dataLengthAt) + 4;
}
