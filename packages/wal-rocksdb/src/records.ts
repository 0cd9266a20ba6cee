import type { HardState, LogBase } from '@kommander/core';
import { ByteReader, ByteWriter } from './bytes.js';
import { crc32 } from './crc32.js';

/**
 * The small records (hard state, base, metadata, format tag, batch marker) are `body | crc32 u32`, the
 * checksum covering the key and the body, so a value moved under another key fails too.
 */
export function seal(key: Buffer, body: Buffer): Buffer {
  const value = Buffer.allocUnsafe(body.length + 4);
  body.copy(value, 0);
  value.writeUInt32BE(crc32(body, 0, body.length, crc32(key, 0, key.length)), body.length);
  return value;
}

/** The body of a sealed record, or `undefined` when its checksum fails. */
export function unseal(key: Buffer, value: Buffer): Buffer | undefined {
  if (value.length < 4) return undefined;
  const end = value.length - 4;
  if (crc32(value, 0, end, crc32(key, 0, key.length)) !== value.readUInt32BE(end)) return undefined;
  return value.subarray(0, end);
}

/** What the `f` record says: which layout this directory holds. */
export const FORMAT_TAG = Buffer.from('kommander-wal-rocksdb/1', 'utf8');

export const NO_BASE: LogBase = Object.freeze({ index: 0, term: 0 });

export function encodeHardState(hardState: HardState): Buffer {
  return new ByteWriter().f64(hardState.term).f64(hardState.commit).bytes(Buffer.from(hardState.vote, 'utf8')).finish();
}

export function decodeHardState(body: Buffer): HardState {
  const reader = new ByteReader(body);
  const term = reader.f64();
  const commit = reader.f64();
  return Object.freeze({ term, commit, vote: reader.rest().toString('utf8') });
}

export function encodeBase(base: LogBase): Buffer {
  return new ByteWriter().f64(base.index).f64(base.term).finish();
}

export function decodeBase(body: Buffer): LogBase {
  const reader = new ByteReader(body);
  const index = reader.f64();
  const term = reader.f64();
  if (!reader.done) throw new RangeError(`a base record has ${body.length} bytes, 16 expected`);
  return Object.freeze({ index, term });
}

/** What one partition's part of the last append batch changed, with what it replaced (to cut the batch if it is torn). */
export interface AppendMarkerPart {
  readonly partition: number;
  /** Last index before the batch (what a cut cannot bring back when the batch overwrote past it). */
  readonly prevLast: number;
  readonly hardStateWritten: boolean;
  /** The hard state before the batch (meaningful when `hardStateWritten`). */
  readonly prevHardState: HardState | undefined;
  /** A snapshot in the batch wrote the base. */
  readonly baseWritten: boolean;
  readonly prevBase: LogBase;
  /** Keys (start indexes) of the runs the batch wrote. */
  readonly runStarts: readonly number[];
}

/**
 * The `z` record, rewritten by every batch: which batch was last and what it wrote, so that open can
 * verify just those records and cut or repair the batch when they are damaged.
 */
export type Marker =
  | { readonly kind: 'none'; readonly sequence: number }
  | { readonly kind: 'append'; readonly sequence: number; readonly parts: readonly AppendMarkerPart[] }
  | { readonly kind: 'compaction'; readonly sequence: number; readonly partition: number; readonly prevBase: LogBase; readonly newBase: LogBase };

const MARKER_KINDS = ['none', 'append', 'compaction'] as const;
const HARD_STATE_WRITTEN = 1;
const HAD_PREV_HARD_STATE = 2;
const BASE_WRITTEN = 4;

export function encodeMarker(marker: Marker): Buffer {
  const writer = new ByteWriter().u8(MARKER_KINDS.indexOf(marker.kind)).f64(marker.sequence);
  if (marker.kind === 'append') {
    writer.u32(marker.parts.length);
    for (const part of marker.parts) {
      const prev = part.prevHardState;
      const flags = (part.hardStateWritten ? HARD_STATE_WRITTEN : 0) | (prev !== undefined ? HAD_PREV_HARD_STATE : 0) | (part.baseWritten ? BASE_WRITTEN : 0);
      writer.u32(part.partition).u8(flags).f64(part.prevLast);
      if (prev !== undefined) {
        const vote = Buffer.from(prev.vote, 'utf8');
        writer.f64(prev.term).f64(prev.commit).u32(vote.length).bytes(vote);
      }
      writer.f64(part.prevBase.index).f64(part.prevBase.term);
      writer.u32(part.runStarts.length);
      for (const start of part.runStarts) writer.f64(start);
    }
  } else if (marker.kind === 'compaction') {
    writer.u32(marker.partition).f64(marker.prevBase.index).f64(marker.prevBase.term).f64(marker.newBase.index).f64(marker.newBase.term);
  }
  return writer.finish();
}

/** Throws a RangeError when the body is malformed (its checksum passed, so only a bug gets here). */
export function decodeMarker(body: Buffer): Marker {
  const reader = new ByteReader(body);
  const kind = MARKER_KINDS[reader.u8()];
  const sequence = reader.f64();
  if (kind === undefined) throw new RangeError('unknown batch marker kind');
  if (kind === 'none') return { kind, sequence };
  if (kind === 'compaction') {
    const partition = reader.u32();
    const prevBase = { index: reader.f64(), term: reader.f64() };
    return { kind, sequence, partition, prevBase, newBase: { index: reader.f64(), term: reader.f64() } };
  }
  const parts: AppendMarkerPart[] = [];
  for (let count = reader.u32(); count > 0; count--) {
    const partition = reader.u32();
    const flags = reader.u8();
    const prevLast = reader.f64();
    let prevHardState: HardState | undefined;
    if ((flags & HAD_PREV_HARD_STATE) !== 0) {
      const term = reader.f64();
      const commit = reader.f64();
      prevHardState = { term, commit, vote: reader.bytes(reader.u32()).toString('utf8') };
    }
    const prevBase = { index: reader.f64(), term: reader.f64() };
    const runStarts: number[] = [];
    for (let runs = reader.u32(); runs > 0; runs--) runStarts.push(reader.f64());
    parts.push({
      partition,
      prevLast,
      hardStateWritten: (flags & HARD_STATE_WRITTEN) !== 0,
      prevHardState,
      baseWritten: (flags & BASE_WRITTEN) !== 0,
      prevBase,
      runStarts,
    });
  }
  return { kind, sequence, parts };
}
