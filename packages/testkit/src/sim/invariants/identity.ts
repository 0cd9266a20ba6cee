import type { HLCTimestamp } from '@kommander/core';
import { fromCharCode, imul } from '../fast-globals.js';

/** Payloads longer than this are summarised by length and hash instead of copied into the key. */
const INLINE_BYTES = 64;

/**
 * A compact string that is equal for equal byte arrays (and different, up to hash collisions for long
 * payloads, for different ones). The simulator's payloads are short unique ids, so they stay exact.
 */
export function dataKey(data: Uint8Array): string {
  if (data.length <= INLINE_BYTES) return fromCharCode(...data);
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < data.length; i++) {
    const b = data[i] as number;
    h1 = imul(h1 ^ b, 0x01000193);
    h2 = imul(h2 ^ b, 0x5bd1e995);
  }
  return `#${data.length}:${(h1 >>> 0).toString(36)}${(h2 >>> 0).toString(36)}`;
}

/** The fields that make a log entry what it is, apart from its position (index and term). */
export interface EntryContent {
  readonly kind: number;
  readonly type: string;
  readonly data: Uint8Array;
  readonly time: HLCTimestamp;
}

/** A string equal for two entries exactly when their content (kind, type, HLC time, payload) is equal. */
export function entryIdentity(entry: EntryContent): string {
  return `${entry.kind}|${entry.type}|${entry.time.physical}.${entry.time.counter}|${dataKey(entry.data)}`;
}

/** A readable form of an identity for violation details (payload bytes shown as escaped text). */
export function showIdentity(identity: string): string {
  return JSON.stringify(identity);
}
