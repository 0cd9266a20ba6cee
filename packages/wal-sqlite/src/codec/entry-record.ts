/**
 * The binary record of one log entry. The same bytes travel from the main thread to the worker in an
 * append, are stored in SQLite as part of a run, and travel back in a read: nothing is re-encoded on
 * the way. Little-endian; 64-bit fields hold safe integers as two 32-bit halves.
 *
 * ```
 * offset  size  field
 *      0     4  length of the whole record, header included
 *      4     4  crc32 of bytes 8 … length (partition, index, term, kind, time, type and data)
 *      8     4  partition
 *     12     8  index
 *     20     8  term
 *     28     1  kind
 *     29     8  time.physical
 *     37     4  time.counter
 *     41     4  byte length of type (UTF-8)
 *     45     …  type, then data (the rest of the record)
 * ```
 */
export const RecordField = {
  length: 0,
  crc: 4,
  partition: 8,
  index: 12,
  term: 20,
  kind: 28,
  physical: 29,
  counter: 37,
  typeLength: 41,
} as const;

/** Bytes before the type. */
export const RECORD_HEADER_BYTES = 45;

/** The bytes the record checksum covers start here. */
export const RECORD_CHECKSUMMED_FROM = RecordField.partition;

const TWO_POW_32 = 0x1_0000_0000;

export function setUint64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value >>> 0, true);
  view.setUint32(offset + 4, Math.floor(value / TWO_POW_32), true);
}

export function getUint64(view: DataView, offset: number): number {
  return view.getUint32(offset, true) + view.getUint32(offset + 4, true) * TWO_POW_32;
}

/** {@link getUint64} for a Buffer. */
export function readUint64(bytes: Buffer, offset: number): number {
  return bytes.readUInt32LE(offset) + bytes.readUInt32LE(offset + 4) * TWO_POW_32;
}
