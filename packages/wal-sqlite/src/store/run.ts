import { crc32 } from '../checksum.js';
import { RECORD_CHECKSUMMED_FROM, RECORD_HEADER_BYTES, RecordField, readUint64 } from '../codec/entry-record.js';
import type { Damage } from '../errors.js';

/**
 * A run: the records of consecutive entries of one partition, stored as one SQLite row. Reading a
 * million entries then means reading a few thousand rows and copying their bytes, not building a
 * million row objects. `crc` is the CRC-32 of the whole `records` blob, so verifying a run is one pass
 * over its bytes; each record also carries its own CRC, which names the damaged entry when the run's fails.
 */
export interface Run {
  readonly partition: number;
  readonly first: number;
  readonly last: number;
  readonly crc: number;
  readonly records: Buffer;
}

/** Where a run cut from an append's records ends, and how many records it holds. */
export interface Piece {
  readonly end: number;
  readonly count: number;
}

/**
 * Computes and stores the CRC of every record of `records` (fresh from an append) and cuts them into
 * pieces of about `runBytes` each (a piece holds at least one record).
 */
export function sealRecords(records: Buffer, runBytes: number): Piece[] {
  const pieces: Piece[] = [];
  let pieceStart = 0;
  let count = 0;
  let offset = 0;
  while (offset < records.length) {
    const length = records.readUInt32LE(offset + RecordField.length);
    const end = offset + length;
    records.writeUInt32LE(crc32(records.subarray(offset + RECORD_CHECKSUMMED_FROM, end)), offset + RecordField.crc);
    if (count > 0 && end - pieceStart > runBytes) {
      pieces.push({ end: offset, count });
      pieceStart = offset;
      count = 0;
    }
    count += 1;
    offset = end;
  }
  if (count > 0) pieces.push({ end: records.length, count });
  return pieces;
}

/** Undefined when the run is intact; otherwise the first damaged entry (or the run's first when none of its records is). */
export function checkRun(run: Run): Damage | undefined {
  if (crc32(run.records) === run.crc) return checkLayout(run, false);
  return checkLayout(run, true) ?? { partition: run.partition, index: run.first, reason: 'its run of records fails its checksum' };
}

/**
 * Walks the records: lengths within the blob, partition and index as the row says, and (with
 * `checksums`) every record's own CRC.
 */
function checkLayout(run: Run, checksums: boolean): Damage | undefined {
  const records = run.records;
  let offset = 0;
  let expected = run.first;
  while (offset < records.length) {
    const reason = checkRecord(records, offset, run.partition, expected, checksums);
    if (reason !== undefined) return { partition: run.partition, index: expected, reason };
    offset += records.readUInt32LE(offset + RecordField.length);
    expected += 1;
  }
  if (expected !== run.last + 1) {
    return { partition: run.partition, index: expected, reason: `the run of records from index ${run.first} ends at ${expected - 1} instead of ${run.last}` };
  }
  return undefined;
}

/** Why the record at `offset` is not entry (`partition`, `index`), or undefined when it is. */
function checkRecord(records: Buffer, offset: number, partition: number, index: number, checksum: boolean): string | undefined {
  if (offset + RECORD_HEADER_BYTES > records.length) return 'its record is truncated';
  const length = records.readUInt32LE(offset + RecordField.length);
  const end = offset + length;
  if (length < RECORD_HEADER_BYTES || end > records.length) return `its record has an impossible length (${length} bytes)`;
  if (checksum && records.readUInt32LE(offset + RecordField.crc) !== crc32(records.subarray(offset + RECORD_CHECKSUMMED_FROM, end))) {
    return 'its record fails its checksum';
  }
  const storedPartition = records.readUInt32LE(offset + RecordField.partition);
  const storedIndex = readUint64(records, offset + RecordField.index);
  if (storedPartition !== partition || storedIndex !== index) return `the record stored there is the one of partition ${storedPartition}, index ${storedIndex}`;
  if (records.readUInt32LE(offset + RecordField.typeLength) > length - RECORD_HEADER_BYTES) return 'its record has an impossible type length';
  return undefined;
}

/** Byte offset of the record of entry `at` in a verified run (`records.length` for `last + 1`). */
export function offsetOf(run: Run, at: number): number {
  if (at > run.last) return run.records.length;
  let offset = 0;
  for (let i = run.first; i < at; i++) offset += run.records.readUInt32LE(offset + RecordField.length);
  return offset;
}

/** Term of entry `at` of a verified run. */
export function termOf(run: Run, at: number): number {
  return readUint64(run.records, offsetOf(run, at) + RecordField.term);
}
