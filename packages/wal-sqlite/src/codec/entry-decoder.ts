import type { Entry, EntryKind } from '@kommander/core';
import type { Damage } from '../errors.js';
import { RECORD_HEADER_BYTES, RecordField, getUint64 } from './entry-record.js';

/**
 * Turns the records of a read reply into entries. Payloads are views into `buffer` (no copy): the buffer
 * was transferred from the worker and belongs to these entries alone. The worker verified the checksums;
 * this checks that the records are the ones asked for, so a misplaced record cannot pass unnoticed.
 * Returns the damage instead of entries when they are not.
 */
export function decodeEntries(buffer: ArrayBuffer, count: number, partition: number, from: number): Entry[] | Damage {
  const view = new DataView(buffer);
  const bytes = Buffer.from(buffer);
  const entries = new Array<Entry>(count);
  let offset = 0;
  let type = '';
  let typeAt = 0;
  let typeLength = 0;
  for (let k = 0; k < count; k++) {
    const index = from + k;
    if (offset + RECORD_HEADER_BYTES > buffer.byteLength) return { partition, index, reason: 'the read ended before its record' };
    const length = view.getUint32(offset + RecordField.length, true);
    const stored = getUint64(view, offset + RecordField.index);
    if (view.getUint32(offset + RecordField.partition, true) !== partition || stored !== index || length < RECORD_HEADER_BYTES) {
      return { partition, index, reason: `the record read there is the one of partition ${view.getUint32(offset + RecordField.partition, true)}, index ${stored}` };
    }
    const recordTypeLength = view.getUint32(offset + RecordField.typeLength, true);
    const typeStart = offset + RECORD_HEADER_BYTES;
    const dataStart = typeStart + recordTypeLength;
    const end = offset + length;
    if (dataStart > end || end > buffer.byteLength) return { partition, index, reason: 'its record is truncated' };
    if (recordTypeLength === 0) {
      type = '';
    } else if (recordTypeLength !== typeLength || !sameBytes(bytes, typeAt, typeStart, typeLength)) {
      type = bytes.toString('utf8', typeStart, dataStart);
    }
    typeAt = typeStart;
    typeLength = recordTypeLength;
    entries[k] = {
      index,
      term: getUint64(view, offset + RecordField.term),
      kind: view.getUint8(offset + RecordField.kind) as EntryKind,
      type,
      data: new Uint8Array(buffer, dataStart, end - dataStart),
      time: { physical: getUint64(view, offset + RecordField.physical), counter: view.getUint32(offset + RecordField.counter, true) },
    };
    offset = end;
  }
  return entries;
}

/** Byte comparison inline: types are short, and a native call per entry costs more than the loop. */
function sameBytes(bytes: Uint8Array, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}
