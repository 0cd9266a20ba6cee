import { InvalidArgumentError, type Entry, type HardState, type WalBatch, type WalPartitionWrite } from '@kommander/core';
import { MAX_PARTITION, WriteFlag } from './batch-layout.js';
import { RECORD_HEADER_BYTES, RecordField, setUint64 } from './entry-record.js';

/** A validated batch packed for the worker. */
export interface EncodedBatch {
  readonly buffer: ArrayBuffer;
  /** Bytes of `buffer` in use (the buffer is sized for the worst-case UTF-8 length of the strings). */
  readonly byteLength: number;
  readonly entries: number;
}

const WHERE = 'SqliteWal.append: batch';

function invalid(argument: string, message: string): never {
  throw new InvalidArgumentError(argument, message);
}

/**
 * Checks the whole batch, then packs it (layout in batch-layout.ts). Throws before packing anything when
 * any part is wrong, so an invalid batch never reaches the worker. What it cannot check here (a write
 * that would leave a gap after the stored entries) the worker checks before it writes.
 */
export function encodeBatch(batch: WalBatch): EncodedBatch {
  if (typeof batch !== 'object' || batch === null || !Array.isArray(batch.writes)) {
    invalid(WHERE, 'must be an object { writes: WalPartitionWrite[], sync: boolean }');
  }
  if (typeof batch.sync !== 'boolean') invalid(`${WHERE}.sync`, `must be a boolean, got ${typeof batch.sync}`);
  let bound = 4;
  let entries = 0;
  for (let w = 0; w < batch.writes.length; w++) {
    const write = batch.writes[w] as WalPartitionWrite;
    bound += validateWrite(write, `${WHERE}.writes[${w}]`);
    entries += write.entries.length;
  }
  const buffer = new ArrayBuffer(bound);
  const byteLength = new BatchWriter(buffer).write(batch.writes);
  return { buffer, byteLength, entries };
}

/** Validates one write and returns an upper bound of its packed size. */
function validateWrite(write: WalPartitionWrite, at: string): number {
  if (typeof write !== 'object' || write === null) invalid(at, 'must be an object { partition, entries, hardState?, snapshot? }');
  const partition = write.partition;
  if (!Number.isInteger(partition) || partition < 0 || partition > MAX_PARTITION) {
    invalid(`${at}.partition`, `must be an integer from 0 to ${MAX_PARTITION}, got ${String(partition)}`);
  }
  if (!Array.isArray(write.entries)) invalid(`${at}.entries`, `must be an array (empty for none) (partition ${partition})`);
  let bound = 4 + 1 + 16 + 4 + 4;
  if (write.hardState !== undefined) bound += validateHardState(write.hardState, `${at}.hardState`);
  const entries = write.entries;
  const start = entries[0]?.index;
  const snapshot = write.snapshot;
  if (snapshot !== undefined) {
    if (typeof snapshot !== 'object' || snapshot === null || !isCount(snapshot.index) || snapshot.index < 1 || !isCount(snapshot.term)) {
      invalid(`${at}.snapshot`, `must be { index ≥ 1, term ≥ 0 } integers, got ${JSON.stringify(snapshot)} (partition ${partition})`);
    }
    if (start !== undefined && start !== snapshot.index + 1) {
      invalid(`${at}.entries`, `start at index ${String(start)} but must start at ${snapshot.index + 1}, right after the snapshot (partition ${partition})`);
    }
  }
  if (start === undefined) return bound;
  for (let k = 0; k < entries.length; k++) {
    const entry = entries[k] as Entry;
    if (typeof entry !== 'object' || entry === null) invalid(entryAt(at, k), `must be an entry object (partition ${partition})`);
    if (entry.index !== start + k || !isCount(entry.index) || entry.index < 1) {
      invalid(
        `${entryAt(at, k)}.index`,
        `is ${String(entry.index)} but ${(start as number) + k} was expected (partition ${partition}); ` +
          'entries must be contiguous and ascending, starting at 1 or above',
      );
    }
    if (!isCount(entry.term)) invalid(`${entryAt(at, k)}.term`, `must be an integer ≥ 0, got ${String(entry.term)} (partition ${partition})`);
    if (!Number.isInteger(entry.kind) || entry.kind < 0 || entry.kind > 0xff) {
      invalid(`${entryAt(at, k)}.kind`, `must be an EntryKind (an integer from 0 to 255), got ${String(entry.kind)} (partition ${partition})`);
    }
    if (typeof entry.type !== 'string') invalid(`${entryAt(at, k)}.type`, `must be a string, got ${typeof entry.type} (partition ${partition})`);
    if (!(entry.data instanceof Uint8Array)) invalid(`${entryAt(at, k)}.data`, `must be a Uint8Array (partition ${partition})`);
    const time = entry.time;
    if (typeof time !== 'object' || time === null || !isCount(time.physical) || !Number.isInteger(time.counter) || time.counter < 0 || time.counter > 0xffff_ffff) {
      invalid(`${entryAt(at, k)}.time`, `must be an HLC timestamp { physical, counter } of integers ≥ 0 (counter < 2^32) (partition ${partition}, index ${entry.index})`);
    }
    bound += RECORD_HEADER_BYTES + entry.type.length * 3 + entry.data.length;
  }
  return bound;
}

function validateHardState(hardState: HardState, where: string): number {
  if (typeof hardState !== 'object' || hardState === null) invalid(where, 'must be an object { term, vote, commit }');
  if (!isCount(hardState.term)) invalid(`${where}.term`, `must be an integer ≥ 0, got ${String(hardState.term)}`);
  if (!isCount(hardState.commit)) invalid(`${where}.commit`, `must be an integer ≥ 0, got ${String(hardState.commit)}`);
  if (typeof hardState.vote !== 'string') invalid(`${where}.vote`, `must be a node id string ('' for nobody), got ${typeof hardState.vote}`);
  return 16 + 4 + hardState.vote.length * 3;
}

/** The argument name of entry `k` of a write, built only for an error message (never on the valid path). */
function entryAt(at: string, k: number): string {
  return `${at}.entries[${k}]`;
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Packs validated writes; strings go through a Buffer view, everything else through the DataView. */
class BatchWriter {
  private readonly view: DataView;
  private readonly bytes: Buffer;
  private offset = 0;
  private lastType = '';
  private lastTypeBytes: Uint8Array = new Uint8Array(0);

  constructor(buffer: ArrayBuffer) {
    this.view = new DataView(buffer);
    this.bytes = Buffer.from(buffer);
  }

  write(writes: readonly WalPartitionWrite[]): number {
    this.u32(writes.length);
    for (const write of writes) this.writeOne(write);
    return this.offset;
  }

  private writeOne(write: WalPartitionWrite): void {
    const view = this.view;
    this.u32(write.partition);
    const flags = (write.snapshot !== undefined ? WriteFlag.snapshot : 0) | (write.hardState !== undefined ? WriteFlag.hardState : 0);
    view.setUint8(this.offset, flags);
    this.offset += 1;
    if (write.snapshot !== undefined) {
      this.u64(write.snapshot.index);
      this.u64(write.snapshot.term);
    }
    if (write.hardState !== undefined) {
      this.u64(write.hardState.term);
      this.u64(write.hardState.commit);
      const voteLengthAt = this.offset;
      this.offset += 4;
      const voteLength = this.bytes.write(write.hardState.vote, this.offset);
      view.setUint32(voteLengthAt, voteLength, true);
      this.offset += voteLength;
    }
    this.u32(write.entries.length);
    const recordsLengthAt = this.offset;
    this.offset += 4;
    const recordsStart = this.offset;
    for (const entry of write.entries) this.record(write.partition, entry);
    view.setUint32(recordsLengthAt, this.offset - recordsStart, true);
  }

  private record(partition: number, entry: Entry): void {
    const view = this.view;
    const at = this.offset;
    // The checksum field stays 0 (a new ArrayBuffer is zeroed): the worker computes it, off the event loop.
    view.setUint32(at + RecordField.partition, partition, true);
    setUint64(view, at + RecordField.index, entry.index);
    setUint64(view, at + RecordField.term, entry.term);
    view.setUint8(at + RecordField.kind, entry.kind);
    setUint64(view, at + RecordField.physical, entry.time.physical);
    view.setUint32(at + RecordField.counter, entry.time.counter, true);
    let offset = at + RECORD_HEADER_BYTES;
    const typeLength = this.type(entry.type, offset);
    view.setUint32(at + RecordField.typeLength, typeLength, true);
    offset += typeLength;
    this.bytes.set(entry.data, offset);
    offset += entry.data.length;
    view.setUint32(at + RecordField.length, offset - at, true);
    this.offset = offset;
  }

  /** Writes a type string at `offset`; consecutive entries almost always share one, so its bytes are kept. */
  private type(type: string, offset: number): number {
    if (type.length === 0) return 0;
    if (type !== this.lastType) {
      this.lastType = type;
      this.lastTypeBytes = Buffer.from(type, 'utf8');
    }
    this.bytes.set(this.lastTypeBytes, offset);
    return this.lastTypeBytes.length;
  }

  private u32(value: number): void {
    this.view.setUint32(this.offset, value, true);
    this.offset += 4;
  }

  private u64(value: number): void {
    setUint64(this.view, this.offset, value);
    this.offset += 8;
  }
}
