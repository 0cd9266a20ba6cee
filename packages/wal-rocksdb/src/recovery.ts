import { CORRUPTION_ADVICE, WalCorruptionError } from './corruption.js';
import {
  BASE_PREFIX,
  FORMAT_KEY,
  HARD_STATE_PREFIX,
  MARKER_KEY,
  META_PREFIX,
  partitionKey,
  partitionOfKey,
  prefixRange,
  RUN_PREFIX,
  runKey,
  startOfRunKey,
} from './keys.js';
import type { Store, StoreOperation } from './native.js';
import { PartitionLog } from './partition-log.js';
import {
  decodeBase,
  decodeHardState,
  decodeMarker,
  encodeBase,
  encodeHardState,
  encodeMarker,
  FORMAT_TAG,
  seal,
  unseal,
  type AppendMarkerPart,
  type Marker,
} from './records.js';
import { checkRun, locateDamage } from './run.js';
import { readRun, unsealed, verifiedRun } from './stored-runs.js';

/** A repair that `open` made; see {@link RocksDbWalOptions.onRepair}. */
export interface RocksDbWalRepair {
  /**
   * - `torn-batch-cut`: a record of the last append batch failed its checksum; the whole batch was
   *   removed (its entries, and its hard states and snapshot bases restored to what they were before).
   * - `compaction-base-rewritten`: the base record written by the last compaction was damaged and was
   *   written again from the batch marker.
   * - `marker-reset`: the batch marker itself was damaged; every record was verified and the marker reset.
   */
  readonly kind: 'torn-batch-cut' | 'compaction-base-rewritten' | 'marker-reset';
  /** Sequence number of the batch concerned (0 when unknown). */
  readonly sequence: number;
  /** Partitions the repaired batch touched. */
  readonly partitions: readonly number[];
  /** What was found and done, for a log line. */
  readonly message: string;
}

/** What recovery needs to know of the log's options. */
export interface RecoveryConfig {
  readonly path: string;
  readonly sync: boolean;
  readonly verifyOnOpen: boolean;
  readonly readAheadBytes: number;
}

/** The state an open log starts from. */
export interface Recovered {
  readonly logs: Map<number, PartitionLog>;
  /** Sequence number of the last batch. */
  readonly sequence: number;
  /** The stored marker's value. */
  readonly markerValue: Buffer;
  readonly repairs: RocksDbWalRepair[];
}

/** A damaged record found among those of the last batch. */
interface Damage {
  readonly partition: number;
  readonly what: string;
}

type AppendMarker = Marker & { readonly kind: 'append' };

/**
 * What `open` does once RocksDB is open: checks the format tag (writing it in a new log), verifies the
 * records of the last batch named by the marker and cuts or repairs that batch when they are damaged,
 * then loads every partition's runs, hard state and base (checking every checksum when `verifyOnOpen`,
 * or when the marker itself was damaged).
 */
export async function recover(store: Store, config: RecoveryConfig): Promise<Recovered> {
  await checkFormat(store, config);
  const repairs: RocksDbWalRepair[] = [];
  const stored = await store.get(MARKER_KEY);
  let marker: Marker = { kind: 'none', sequence: 0 };
  let markerDamaged = false;
  if (stored !== undefined) {
    const body = unseal(MARKER_KEY, stored);
    if (body === undefined) markerDamaged = true;
    else marker = decodeMarker(body);
  }
  let markerValue = stored !== undefined && !markerDamaged ? stored : seal(MARKER_KEY, encodeMarker({ kind: 'none', sequence: marker.sequence }));

  if (marker.kind === 'append') {
    const damage = await findDamage(store, marker.parts);
    if (damage !== undefined) {
      markerValue = await cut(store, marker, config);
      const logs = await load(store, config, config.verifyOnOpen);
      repairs.push(cutReport(marker, damage, logs, config));
      return { logs, sequence: marker.sequence, markerValue, repairs };
    }
  } else if (marker.kind === 'compaction') {
    const key = partitionKey(BASE_PREFIX, marker.partition);
    if (!(await intact(store, key))) {
      await store.write([{ type: 'put', key, value: seal(key, encodeBase(marker.newBase)) }], config.sync);
      repairs.push({
        kind: 'compaction-base-rewritten',
        sequence: marker.sequence,
        partitions: [marker.partition],
        message:
          `RocksDbWal.open: the base record of partition ${marker.partition} written by the last compaction (batch ${marker.sequence}) in ${config.path} ` +
          `was damaged; it was written again from the batch marker (index ${marker.newBase.index}, term ${marker.newBase.term}).`,
      });
    }
  }
  const logs = await load(store, config, config.verifyOnOpen || markerDamaged);
  if (markerDamaged) {
    await store.write([{ type: 'put', key: MARKER_KEY, value: markerValue }], config.sync);
    repairs.push({
      kind: 'marker-reset',
      sequence: 0,
      partitions: [],
      message: `RocksDbWal.open: the batch marker in ${config.path} was damaged; every record was verified intact and the marker was reset.`,
    });
  }
  return { logs, sequence: marker.sequence, markerValue, repairs };
}

async function checkFormat(store: Store, config: RecoveryConfig): Promise<void> {
  const stored = await store.get(FORMAT_KEY);
  if (stored === undefined) {
    let empty = true;
    await store.scan({ gte: Buffer.of(0), limit: 1 }, { keys: true, values: false, highWaterMark: 1024 }, () => {
      empty = false;
    });
    if (!empty) {
      throw new Error(
        `RocksDbWal.open: ${config.path} holds a RocksDB database that is not a Kommander WAL (it has no format record); ` +
          'give the WAL a directory of its own',
      );
    }
    await store.write([{ type: 'put', key: FORMAT_KEY, value: seal(FORMAT_KEY, FORMAT_TAG) }], config.sync);
    return;
  }
  const tag = unseal(FORMAT_KEY, stored);
  if (tag === undefined) throw new WalCorruptionError(`RocksDbWal.open: the format record of ${config.path} is damaged (checksum mismatch). ${CORRUPTION_ADVICE}`);
  if (!tag.equals(FORMAT_TAG)) {
    throw new Error(`RocksDbWal.open: ${config.path} holds the format "${tag.toString('utf8')}", but this version reads "${FORMAT_TAG.toString('utf8')}"; open it with the version that wrote it`);
  }
}

/** The first damaged record among those the last append batch wrote, if any. */
async function findDamage(store: Store, parts: readonly AppendMarkerPart[]): Promise<Damage | undefined> {
  for (const part of parts) {
    const p = part.partition;
    for (const start of part.runStarts) {
      const value = await store.get(runKey(p, start));
      if (value === undefined) return { partition: p, what: `the run at index ${start} is missing` };
      const header = checkRun(value);
      if (header === undefined || header.start !== start || header.partition !== p) {
        const damage = locateDamage(value, start);
        return { partition: p, what: `index ${damage.index ?? start}: ${damage.what}` };
      }
    }
    if (part.hardStateWritten && !(await intact(store, partitionKey(HARD_STATE_PREFIX, p)))) {
      return { partition: p, what: 'its hard state record fails its checksum' };
    }
    if (part.baseWritten && !(await intact(store, partitionKey(BASE_PREFIX, p)))) {
      return { partition: p, what: 'its snapshot base record fails its checksum' };
    }
  }
  return undefined;
}

async function intact(store: Store, key: Buffer): Promise<boolean> {
  const value = await store.get(key);
  return value !== undefined && unseal(key, value) !== undefined;
}

/** Removes the last append batch: deletes its runs and puts back the hard states and bases it replaced. Returns the new marker's value. */
async function cut(store: Store, marker: AppendMarker, config: RecoveryConfig): Promise<Buffer> {
  const operations: StoreOperation[] = [];
  for (const part of marker.parts) {
    const p = part.partition;
    for (const start of part.runStarts) operations.push({ type: 'del', key: runKey(p, start) });
    if (part.hardStateWritten) {
      const key = partitionKey(HARD_STATE_PREFIX, p);
      const prev = part.prevHardState;
      operations.push(prev === undefined ? { type: 'del', key } : { type: 'put', key, value: seal(key, encodeHardState(prev)) });
    }
    if (part.baseWritten) {
      const key = partitionKey(BASE_PREFIX, p);
      const prev = part.prevBase;
      operations.push(prev.index === 0 && prev.term === 0 ? { type: 'del', key } : { type: 'put', key, value: seal(key, encodeBase(prev)) });
    }
  }
  const markerValue = seal(MARKER_KEY, encodeMarker({ kind: 'none', sequence: marker.sequence }));
  operations.push({ type: 'put', key: MARKER_KEY, value: markerValue });
  await store.write(operations, config.sync);
  return markerValue;
}

function cutReport(marker: AppendMarker, damage: Damage, logs: ReadonlyMap<number, PartitionLog>, config: RecoveryConfig): RocksDbWalRepair {
  const partitions = marker.parts.map((part) => part.partition);
  const lost: string[] = [];
  for (const part of marker.parts) {
    const now = logs.get(part.partition)?.last ?? 0;
    if (part.prevLast > now) lost.push(`partition ${part.partition} entries ${now + 1}–${part.prevLast}`);
  }
  return {
    kind: 'torn-batch-cut',
    sequence: marker.sequence,
    partitions,
    message:
      `RocksDbWal.open: the last batch (sequence ${marker.sequence}, partitions ${partitions.join(', ')}) in ${config.path} was torn ` +
      `(partition ${damage.partition}, ${damage.what}); the whole batch was cut and the log ends with the batch before it.` +
      (lost.length === 0 ? '' : ` The cut batch had replaced entries that are now gone: ${lost.join('; ')}.`),
  };
}

/** The in-memory view of every partition; with `verify`, every record's checksum is checked on the way. */
async function load(store: Store, config: RecoveryConfig, verify: boolean): Promise<Map<number, PartitionLog>> {
  const logs = new Map<number, PartitionLog>();
  const logOf = (partition: number): PartitionLog => {
    let log = logs.get(partition);
    if (log === undefined) {
      log = new PartitionLog();
      logs.set(partition, log);
    }
    return log;
  };
  const path = config.path;
  const scan = { keys: true, values: true, highWaterMark: config.readAheadBytes };
  await store.scan(prefixRange(HARD_STATE_PREFIX), scan, (key, value) => {
    const partition = partitionOfKey(key);
    logOf(partition).hardState = decodeHardState(unsealed(path, key, value, `the hard state of partition ${partition}`, partition));
  });
  await store.scan(prefixRange(BASE_PREFIX), scan, (key, value) => {
    const partition = partitionOfKey(key);
    logOf(partition).base = decodeBase(unsealed(path, key, value, `the base of partition ${partition}`, partition));
  });
  if (verify) {
    let current: PartitionLog | undefined;
    let currentPartition = -1;
    await store.scan(prefixRange(RUN_PREFIX), scan, (key, value) => {
      const partition = partitionOfKey(key);
      const start = startOfRunKey(key);
      const header = verifiedRun(path, partition, start, value, 'open');
      if (partition !== currentPartition || current === undefined) {
        current = logOf(partition);
        currentPartition = partition;
      } else if (start > current.last + 1) {
        throw new WalCorruptionError(
          `RocksDbWal.open: partition ${partition}, index ${current.last + 1} to ${start - 1} are missing from ${path}. ${CORRUPTION_ADVICE}`,
          partition,
          current.last + 1,
        );
      }
      current.starts.push(start);
      current.last = start + header.count - 1;
    });
    await store.scan(prefixRange(META_PREFIX), scan, (key, value) => {
      unsealed(path, key, value, `the metadata "${key.subarray(1).toString('utf8')}"`, undefined);
    });
  } else {
    await store.scan(prefixRange(RUN_PREFIX), { keys: true, values: false, highWaterMark: config.readAheadBytes }, (key) => {
      logOf(partitionOfKey(key)).starts.push(startOfRunKey(key));
    });
    for (const [partition, log] of logs) {
      const start = log.starts[log.starts.length - 1];
      if (start === undefined) continue;
      const { header } = await readRun(store, path, partition, start, 'open');
      log.last = start + header.count - 1;
    }
  }
  return logs;
}
