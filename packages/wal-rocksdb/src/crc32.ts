import zlib from 'node:zlib';

/** zlib's CRC-32 when the runtime has it (Node ≥ 20.15); the table below computes the same value. */
const native: ((data: Uint8Array, value?: number) => number) | undefined = typeof zlib.crc32 === 'function' ? zlib.crc32 : undefined;

/** Below this many bytes the JS loop beats the native call (which also needs a subarray). */
const NATIVE_FROM_BYTES = 96;

const TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c;
}

/**
 * CRC-32 (IEEE 802.3, the value of `zlib.crc32`) of `bytes[start, end)`, continuing from `crc` (0 to
 * start), as an unsigned 32-bit integer.
 */
export function crc32(bytes: Uint8Array, start: number, end: number, crc = 0): number {
  if (native !== undefined && end - start >= NATIVE_FROM_BYTES) return native(bytes.subarray(start, end), crc);
  let c = ~crc;
  for (let i = start; i < end; i++) c = (TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}
