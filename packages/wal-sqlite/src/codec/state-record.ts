import type { HardState, LogBase } from '@kommander/core';
import { crc32 } from '../checksum.js';
import { getUint64, setUint64 } from './entry-record.js';

/**
 * The stored record of a partition's hard state and log base, one per partition. Little-endian:
 *
 * ```
 * offset  size  field
 *      0     4  length of the whole record
 *      4     4  crc32 of bytes 8 … length
 *      8     4  partition
 *     12     1  flags: 1 = the partition has a hard state
 *     13     8  hard state term
 *     21     8  hard state commit
 *     29     8  base index
 *     37     8  base term
 *     45     4  byte length of the vote (UTF-8)
 *     49     …  vote
 * ```
 */
export interface PartitionStateRecord {
  readonly partition: number;
  readonly hardState: HardState | undefined;
  readonly base: LogBase;
}

const HEADER_BYTES = 49;
const HAS_HARD_STATE = 1;

export function encodeState(state: PartitionStateRecord): Buffer {
  const vote = Buffer.from(state.hardState?.vote ?? '', 'utf8');
  const record = Buffer.alloc(HEADER_BYTES + vote.length);
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  view.setUint32(0, record.length, true);
  view.setUint32(8, state.partition, true);
  view.setUint8(12, state.hardState === undefined ? 0 : HAS_HARD_STATE);
  setUint64(view, 13, state.hardState?.term ?? 0);
  setUint64(view, 21, state.hardState?.commit ?? 0);
  setUint64(view, 29, state.base.index);
  setUint64(view, 37, state.base.term);
  view.setUint32(45, vote.length, true);
  record.set(vote, HEADER_BYTES);
  view.setUint32(4, crc32(record.subarray(8)), true);
  return record;
}

/** The record, or why it cannot be trusted. */
export function decodeState(record: Buffer): PartitionStateRecord | string {
  if (record.length < HEADER_BYTES) return `its record is truncated (${record.length} bytes)`;
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const voteLength = view.getUint32(45, true);
  if (view.getUint32(0, true) !== record.length || HEADER_BYTES + voteLength !== record.length) return 'its record has a wrong length';
  if (view.getUint32(4, true) !== crc32(record.subarray(8))) return 'its record fails its checksum';
  const hardState: HardState | undefined =
    (view.getUint8(12) & HAS_HARD_STATE) === 0
      ? undefined
      : { term: getUint64(view, 13), vote: record.toString('utf8', HEADER_BYTES, HEADER_BYTES + voteLength), commit: getUint64(view, 21) };
  return { partition: view.getUint32(8, true), hardState, base: { index: getUint64(view, 29), term: getUint64(view, 37) } };
}
