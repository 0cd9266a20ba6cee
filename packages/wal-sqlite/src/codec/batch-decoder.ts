import type { HardState, LogBase } from '@kommander/core';
import { WriteFlag } from './batch-layout.js';
import { RecordField, getUint64 } from './entry-record.js';

/** One partition's write as the worker sees it; `records` is a view into the transferred batch buffer. */
export interface DecodedWrite {
  readonly partition: number;
  readonly snapshot: LogBase | undefined;
  readonly hardState: HardState | undefined;
  /** Index of the first entry (0 when there are none). */
  readonly first: number;
  readonly count: number;
  readonly records: Buffer;
}

/** Reads the batch the main thread packed (layout in batch-layout.ts). The main thread validated it. */
export function decodeBatch(buffer: ArrayBuffer, byteLength: number): DecodedWrite[] {
  const view = new DataView(buffer, 0, byteLength);
  const bytes = Buffer.from(buffer, 0, byteLength);
  let offset = 0;
  const count = view.getUint32(offset, true);
  offset += 4;
  const writes: DecodedWrite[] = [];
  for (let w = 0; w < count; w++) {
    const partition = view.getUint32(offset, true);
    const flags = view.getUint8(offset + 4);
    offset += 5;
    let snapshot: LogBase | undefined;
    if ((flags & WriteFlag.snapshot) !== 0) {
      snapshot = { index: getUint64(view, offset), term: getUint64(view, offset + 8) };
      offset += 16;
    }
    let hardState: HardState | undefined;
    if ((flags & WriteFlag.hardState) !== 0) {
      const term = getUint64(view, offset);
      const commit = getUint64(view, offset + 8);
      const voteLength = view.getUint32(offset + 16, true);
      offset += 20;
      hardState = { term, vote: bytes.toString('utf8', offset, offset + voteLength), commit };
      offset += voteLength;
    }
    const entries = view.getUint32(offset, true);
    const recordsLength = view.getUint32(offset + 4, true);
    offset += 8;
    const records = bytes.subarray(offset, offset + recordsLength);
    offset += recordsLength;
    const first = entries === 0 ? 0 : getUint64(view, offset - recordsLength + RecordField.index);
    writes.push({ partition, snapshot, hardState, first, count: entries, records });
  }
  return writes;
}
