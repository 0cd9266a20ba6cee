import zlib from 'node:zlib';

// Native since Node 20.15; the check turns an obscure "not a function" at the first append into a clear error at load.
if (typeof zlib.crc32 !== 'function') {
  throw new Error(`@kommander/wal-sqlite needs node:zlib's crc32, available from Node 20.15 on; this is Node ${process.versions.node}: upgrade Node`);
}

/** CRC-32 (IEEE) of `data`, continuing from `previous` (the CRC of the bytes before it) when given. */
export function crc32(data: Uint8Array, previous = 0): number {
  return zlib.crc32(data, previous);
}
