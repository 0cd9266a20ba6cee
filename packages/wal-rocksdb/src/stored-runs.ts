import { CORRUPTION_ADVICE, WalCorruptionError } from './corruption.js';
import { runKey } from './keys.js';
import type { Store } from './native.js';
import { unseal } from './records.js';
import { checkRun, locateDamage, type RunHeader } from './run.js';

/** Reading runs and small records back with their checksums checked; failures name the log's `path`, partition and index. */

/** The run's header when its checksum passes and it is where its key says; otherwise throws naming partition and index. */
export function verifiedRun(path: string, partition: number, start: number, value: Buffer, operation: string): RunHeader {
  const header = checkRun(value);
  if (header !== undefined && header.partition === partition && header.start === start && header.count > 0) return header;
  const damage = header === undefined ? locateDamage(value, start) : { index: start, what: `the record says partition ${header.partition}, index ${header.start}` };
  const index = damage.index ?? start;
  throw new WalCorruptionError(
    `RocksDbWal.${operation}: partition ${partition}, index ${index} is corrupt in ${path} (${damage.what}` +
      `${damage.index === undefined ? `; in the run of entries from index ${start}` : ''}). ${CORRUPTION_ADVICE}`,
    partition,
    index,
  );
}

/** One run, read from a snapshot taken now (so it matches the in-memory view of this turn), verified. */
export async function readRun(store: Store, path: string, partition: number, start: number, operation: string): Promise<{ value: Buffer; header: RunHeader }> {
  const key = runKey(partition, start);
  let found: Buffer | undefined;
  await store.scan({ gte: key, lte: key, limit: 1 }, { keys: false, values: true, highWaterMark: 1024 }, (_key, value) => {
    found = value;
  });
  if (found === undefined) {
    throw new WalCorruptionError(`RocksDbWal.${operation}: partition ${partition}, index ${start} is missing from ${path}. ${CORRUPTION_ADVICE}`, partition, start);
  }
  return { value: found, header: verifiedRun(path, partition, start, found, operation) };
}

/** Runs are contiguous, so a hole in what a range read decoded means records are missing. */
export function assertComplete(path: string, entries: readonly unknown[], partition: number, lo: number, operation: string): void {
  for (let i = 0; i < entries.length; i++) {
    if (entries[i] === undefined) {
      throw new WalCorruptionError(`RocksDbWal.${operation}: partition ${partition}, index ${lo + i} is missing from ${path}. ${CORRUPTION_ADVICE}`, partition, lo + i);
    }
  }
}

/** The body of a sealed record read at open, or a corruption error naming `what`. */
export function unsealed(path: string, key: Buffer, value: Buffer, what: string, partition: number | undefined): Buffer {
  const body = unseal(key, value);
  if (body === undefined) {
    throw new WalCorruptionError(`RocksDbWal.open: ${what} in ${path} is damaged (checksum mismatch). ${CORRUPTION_ADVICE}`, partition);
  }
  return body;
}
