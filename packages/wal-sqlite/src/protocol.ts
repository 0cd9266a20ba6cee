import type { HardState, LogBase } from '@kommander/core';
import type { SqliteWalErrorCode } from './errors.js';

/** What the worker needs to open the database (the validated options). */
export interface OpenSettings {
  readonly path: string;
  readonly sync: boolean;
  readonly verifyOnOpen: boolean;
}

/** A batch removed on open because its records failed their checksums. */
export interface TailCut {
  readonly batch: number;
  readonly partitions: readonly number[];
  readonly reason: string;
}

/** The fields of each request besides its id and operation. */
export interface RequestFields {
  open: { readonly settings: OpenSettings };
  append: { readonly sync: boolean; readonly buffer: ArrayBuffer; readonly byteLength: number };
  readEntries: { readonly partition: number; readonly from: number; readonly to: number };
  readHardState: { readonly partition: number };
  firstIndex: { readonly partition: number };
  lastIndex: { readonly partition: number };
  logBase: { readonly partition: number };
  term: { readonly partition: number; readonly index: number };
  compact: { readonly partition: number; readonly through: number };
  partitions: Record<string, never>;
  getMeta: { readonly key: string };
  setMeta: { readonly key: string; readonly value: Uint8Array };
  close: Record<string, never>;
}

export type Operation = keyof RequestFields;

/** Requests, main thread → worker. The worker serves them one at a time, in the order they were posted. */
export type Request = { [K in Operation]: { readonly id: number; readonly op: K } & RequestFields[K] }[Operation];

/** The records of a read: `count` entries from index `from`, packed as in entry-record.ts. */
export interface ReadResult {
  readonly buffer: ArrayBuffer;
  readonly count: number;
  readonly from: number;
}

/** What each operation answers. */
export interface Results {
  open: readonly TailCut[];
  append: undefined;
  readEntries: ReadResult;
  readHardState: HardState | undefined;
  firstIndex: number;
  lastIndex: number;
  logBase: LogBase;
  term: number | undefined;
  compact: undefined;
  partitions: number[];
  getMeta: Uint8Array | undefined;
  setMeta: undefined;
  close: undefined;
}

/** An error crossing the thread boundary; the main thread rebuilds the matching class. */
export type ErrorReply =
  | { readonly kind: 'wal'; readonly code: SqliteWalErrorCode; readonly message: string; readonly partition: number | undefined; readonly index: number | undefined }
  | { readonly kind: 'argument'; readonly argument: string; readonly message: string }
  | { readonly kind: 'other'; readonly message: string; readonly stack: string | undefined };

/** Replies, worker → main thread, in request order. */
export type Reply = { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false; readonly error: ErrorReply };
