import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MARKER_KEY, runKey, startOfRunKey } from '../src/keys.js';
import { Store } from '../src/native.js';
import { decodeMarker, unseal } from '../src/records.js';
import { entryBytesInRun } from '../src/run.js';

/** A fresh directory under the OS temp dir; remove it with {@link removeDir}. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'kommander-wal-rocksdb-'));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Opens the closed log's RocksDB directly, as a tool poking at the files would. */
export async function withStore<T>(path: string, body: (store: Store) => Promise<T>): Promise<T> {
  const store = await Store.open(path, { writeBufferSize: 4 * 1024 * 1024, cacheSize: 0, compression: false });
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

async function getOrFail(store: Store, key: Buffer, what: string): Promise<Buffer> {
  const value = await store.get(key);
  if (value === undefined) throw new Error(`damage helper: ${what} is not stored`);
  return value;
}

/**
 * What a crash in the middle of writing the last batch leaves: its last record (the last run it wrote)
 * cut short by `bytes` bytes. RocksDB's own log keeps batches atomic, so this stands for the damage its
 * checksums cannot see (a lying disk, a bit flip) landing on the newest batch.
 */
export async function tearLastBatch(path: string, bytes = 7): Promise<void> {
  await withStore(path, async (store) => {
    const body = unseal(MARKER_KEY, await getOrFail(store, MARKER_KEY, 'the batch marker'));
    if (body === undefined) throw new Error('damage helper: the batch marker is itself damaged');
    const marker = decodeMarker(body);
    if (marker.kind !== 'append') throw new Error(`damage helper: the last batch is a ${marker.kind}, not an append`);
    const part = [...marker.parts].reverse().find((p) => p.runStarts.length > 0);
    const start = part?.runStarts[part.runStarts.length - 1];
    if (part === undefined || start === undefined) throw new Error('damage helper: the last batch wrote no entries');
    const key = runKey(part.partition, start);
    const value = await getOrFail(store, key, `the run of partition ${part.partition} at ${start}`);
    await store.write([{ type: 'put', key, value: value.subarray(0, Math.max(0, value.length - bytes)) }], true);
  });
}

/** Flips a byte of the stored term of entry (`partition`, `index`), so that its checksum (and its run's) fails. */
export async function corruptEntry(path: string, partition: number, index: number): Promise<void> {
  await withStore(path, async (store) => {
    let found: { key: Buffer; value: Buffer } | undefined;
    await store.scan({ gte: runKey(partition, 0), lte: runKey(partition, index), reverse: true, limit: 1 }, { keys: true, values: true, highWaterMark: 1024 }, (key, value) => {
      found = { key, value };
    });
    if (found === undefined) throw new Error(`damage helper: no run of partition ${partition} holds index ${index}`);
    const value = Buffer.from(found.value);
    const { from } = entryBytesInRun(value, startOfRunKey(found.key), index);
    value[from + 1] = (value[from + 1] as number) ^ 0x5a;
    await store.write([{ type: 'put', key: found.key, value }], true);
  });
}

/** Flips a byte of a small sealed record (hard state, base, metadata, marker) under `key`. */
export async function corruptRecord(path: string, key: Buffer): Promise<void> {
  await withStore(path, async (store) => {
    const value = Buffer.from(await getOrFail(store, key, `the record ${key.toString('hex')}`));
    value[0] = (value[0] as number) ^ 0x5a;
    await store.write([{ type: 'put', key, value }], true);
  });
}
