import { InvalidArgumentError, type Entry, type HardState } from '@kommander/core';
import { MAX_PARTITION } from './keys.js';
import { MAX_TYPE_BYTES } from './run.js';

export const MAX_UINT32 = 0xffff_ffff;

/** Throws the core's {@link InvalidArgumentError}: bad arguments are programmer errors, reported before anything is written. */
export function invalid(argument: string, message: string): never {
  throw new InvalidArgumentError(argument, message);
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value);
    } catch {
      return 'an object';
    }
  }
  return String(value);
}

export function checkPartition(argument: string, partition: unknown): void {
  if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0 || partition > MAX_PARTITION) {
    invalid(argument, `must be an integer from 0 to ${MAX_PARTITION}, got ${describe(partition)}`);
  }
}

export function checkHardState(hardState: HardState, where: string): void {
  if (typeof hardState !== 'object' || hardState === null) invalid(where, 'must be { term, vote, commit }');
  if (!Number.isSafeInteger(hardState.term) || hardState.term < 0) invalid(`${where}.term`, `must be an integer ≥ 0, got ${describe(hardState.term)}`);
  if (!Number.isSafeInteger(hardState.commit) || hardState.commit < 0) invalid(`${where}.commit`, `must be an integer ≥ 0, got ${describe(hardState.commit)}`);
  if (typeof hardState.vote !== 'string') invalid(`${where}.vote`, `must be a node id string ('' for nobody), got ${describe(hardState.vote)}`);
}

/** The argument name of entry `k` of a batch, built only for an error message (never on the valid path). */
function entryAt(at: string, k: number): string {
  return `${at}.entries[${k}]`;
}

export function checkEntries(entries: readonly Entry[], at: string, partition: number): void {
  const start = entries[0]?.index as number;
  for (let k = 0; k < entries.length; k++) {
    const entry = entries[k] as Entry;
    if (typeof entry !== 'object' || entry === null) invalid(entryAt(at, k), `must be an entry object (partition ${partition})`);
    if (entry.index !== start + k || !Number.isSafeInteger(entry.index) || entry.index < 1) {
      invalid(
        `${entryAt(at, k)}.index`,
        `is ${describe(entry.index)} but ${start + k} was expected (partition ${partition}); entries must be contiguous and ascending, starting at 1 or above`,
      );
    }
    if (!Number.isSafeInteger(entry.term) || entry.term < 0) invalid(`${entryAt(at, k)}.term`, `must be an integer ≥ 0, got ${describe(entry.term)} (partition ${partition})`);
    if (!Number.isInteger(entry.kind) || entry.kind < 0 || entry.kind > 255) invalid(`${entryAt(at, k)}.kind`, `must be an integer from 0 to 255, got ${describe(entry.kind)} (partition ${partition})`);
    if (typeof entry.type !== 'string') invalid(`${entryAt(at, k)}.type`, `must be a string, got ${describe(entry.type)} (partition ${partition})`);
    if (entry.type.length > MAX_TYPE_BYTES / 3 && Buffer.byteLength(entry.type, 'utf8') > MAX_TYPE_BYTES) {
      invalid(`${entryAt(at, k)}.type`, `is longer than ${MAX_TYPE_BYTES} utf-8 bytes (partition ${partition})`);
    }
    if (!(entry.data instanceof Uint8Array)) invalid(`${entryAt(at, k)}.data`, `must be a Uint8Array (partition ${partition})`);
    if (entry.data.length > MAX_UINT32) invalid(`${entryAt(at, k)}.data`, `is larger than 4 GiB (partition ${partition})`);
    const time = entry.time;
    if (typeof time !== 'object' || time === null || typeof time.physical !== 'number' || !Number.isFinite(time.physical)) {
      invalid(`${entryAt(at, k)}.time`, `must be { physical: finite number, counter } (partition ${partition}), got ${describe(time)}`);
    }
    if (!Number.isInteger(time.counter) || time.counter < 0 || time.counter > MAX_UINT32) {
      invalid(`${entryAt(at, k)}.time.counter`, `must be an integer from 0 to ${MAX_UINT32}, got ${describe(time.counter)} (partition ${partition})`);
    }
  }
}
