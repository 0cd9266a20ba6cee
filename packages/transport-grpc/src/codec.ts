import { EntryKind, MessageType, type Entry, type Message, type NodeId } from '@kommander/core';
import { status } from '@grpc/grpc-js';
import {
  Batch,
  EntryKind as WireEntryKind,
  MessageType as WireMessageType,
  StreamRequest,
  type Entry as WireEntry,
  type FrameAuth,
  type Message as WireMessage,
} from './gen/kommander/transport/v1/transport.js';
import { idBytes, readBatch, writeBatch, type IdBytes } from './wire.js';

/*
 * Core messages ↔ protobuf frames. A frame (StreamRequest) holds one batch as bytes, plus its signature
 * under shared-secret authentication; the batch (Batch) holds the messages. The wire enums are the core's
 * values plus one, because protobuf reserves 0 for "not set": a frame that leaves a type out is then
 * refused instead of read as Append.
 */

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MESSAGE_TYPES = Object.values(MessageType).length;
const ENTRY_KINDS = Object.values(EntryKind).length;

function encodeEntry(e: Entry): WireEntry {
  return {
    index: BigInt(e.index),
    term: BigInt(e.term),
    kind: (e.kind + 1) as WireEntryKind,
    type: e.type,
    data: e.data,
    time: { physical: BigInt(e.time.physical), counter: BigInt(e.time.counter) },
  };
}

function encodeMessage(m: Message): WireMessage {
  return {
    type: (m.type + 1) as WireMessageType,
    partition: BigInt(m.partition),
    from: m.from,
    to: m.to,
    term: BigInt(m.term),
    logTerm: BigInt(m.logTerm),
    index: BigInt(m.index),
    entries: m.entries.length === 0 ? [] : m.entries.map(encodeEntry),
    commit: BigInt(m.commit),
    reject: m.reject,
    rejectHint: BigInt(m.rejectHint),
    context: BigInt(m.context),
  };
}

/**
 * Encodes one batch as a `Batch`: the bytes a frame carries and a signature covers. Throws (a RangeError
 * from BigInt) only for non-integer numbers, which the core never produces. The common case is written by
 * hand (`wire.ts`), the same bytes as the generated encoder's.
 */
export function encodeBatch(messages: readonly Message[]): Uint8Array {
  return writeBatch(messages) ?? encodeBatchGenerated(messages);
}

/** {@link encodeBatch} with the generated code only (what the hand-written path is tested against). */
export function encodeBatchGenerated(messages: readonly Message[]): Uint8Array {
  return Batch.encode({ messages: messages.map(encodeMessage) }).finish();
}

/** Wraps an encoded batch, and its signature when there is one, into one `StreamRequest` frame. */
export function encodeFrame(batch: Uint8Array, auth: FrameAuth | undefined): Uint8Array {
  if (auth !== undefined || batch.length === 0) return StreamRequest.encode({ batch, auth }).finish();
  // `batch = 2` alone: its tag, its length, its bytes (what StreamRequest.encode writes).
  let size = 1;
  for (let n = batch.length; n >= 0x80; n = Math.floor(n / 0x80)) size++;
  const frame = Buffer.allocUnsafe(1 + size + batch.length);
  frame[0] = 0x12;
  let pos = 1;
  let n = batch.length;
  while (n >= 0x80) {
    frame[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  frame[pos++] = n;
  frame.set(batch, pos);
  return frame;
}

/** Who a frame must come from and go to, and what the receiver accepts. */
export interface FrameContext {
  /** The verified caller: every message's `from`. */
  readonly sender: NodeId;
  /** This node: every message's `to`. */
  readonly self: NodeId;
  /** Partitions are 0 .. partitions-1 when set. */
  readonly partitions: number | undefined;
}

/** A refused frame: the gRPC status to end the stream with and a message naming the problem. */
export interface Refusal {
  readonly code: status;
  readonly details: string;
}

export type DecodeResult = { readonly ok: true; readonly messages: Message[] } | { readonly ok: false; readonly refusal: Refusal };

class FrameError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

function count(where: string, value: bigint, min: bigint): number {
  if (value < min) {
    throw new FrameError(status.INVALID_ARGUMENT, `${where} is ${value}: it must not be ${min === 0n ? 'negative' : `below ${min}`}`);
  }
  if (value > MAX_SAFE) throw new FrameError(status.INVALID_ARGUMENT, `${where} is ${value}: it must not exceed 2^53-1`);
  return Number(value);
}

function decodeEntry(where: string, e: WireEntry): Entry {
  const kind = e.kind - 1;
  if (!Number.isInteger(kind) || kind < 0 || kind >= ENTRY_KINDS) {
    throw new FrameError(status.INVALID_ARGUMENT, `${where}.kind is ${e.kind}: expected 1..${ENTRY_KINDS} (ENTRY_KIND_NOOP..ENTRY_KIND_CHECKPOINT)`);
  }
  const time = e.time ?? { physical: 0n, counter: 0n };
  return {
    index: count(`${where}.index`, e.index, 1n),
    term: count(`${where}.term`, e.term, 0n),
    kind: kind as EntryKind,
    type: e.type,
    data: e.data,
    time: { physical: count(`${where}.time.physical`, time.physical, 0n), counter: count(`${where}.time.counter`, time.counter, 0n) },
  };
}

function decodeMessage(where: string, m: WireMessage, context: FrameContext): Message {
  const type = m.type - 1;
  if (!Number.isInteger(type) || type < 0 || type >= MESSAGE_TYPES) {
    throw new FrameError(status.INVALID_ARGUMENT, `${where}.type is ${m.type}: expected 1..${MESSAGE_TYPES} (MESSAGE_TYPE_APPEND..MESSAGE_TYPE_SNAPSHOT)`);
  }
  if (m.from !== context.sender) {
    throw new FrameError(
      status.PERMISSION_DENIED,
      `${where}.from is ${JSON.stringify(m.from.slice(0, 100))} but the stream was opened by ${JSON.stringify(context.sender)}: a node may only send its own messages`,
    );
  }
  if (m.to !== context.self) {
    throw new FrameError(
      status.INVALID_ARGUMENT,
      `${where}.to is ${JSON.stringify(m.to.slice(0, 100))} but this node is ${JSON.stringify(context.self)}: send each message to the node it is addressed to`,
    );
  }
  const partition = count(`${where}.partition`, m.partition, 0n);
  if (context.partitions !== undefined && partition >= context.partitions) {
    throw new FrameError(
      status.INVALID_ARGUMENT,
      `${where}.partition is ${partition}: this node has partitions 0..${context.partitions - 1}`,
    );
  }
  const entries = m.entries.length === 0 ? [] : m.entries.map((e, i) => decodeEntry(`${where}.entries[${i}]`, e));
  return {
    type: type as MessageType,
    partition,
    from: m.from,
    to: m.to,
    term: count(`${where}.term`, m.term, 0n),
    logTerm: count(`${where}.logTerm`, m.logTerm, 0n),
    index: count(`${where}.index`, m.index, 0n),
    entries,
    commit: count(`${where}.commit`, m.commit, 0n),
    reject: m.reject,
    rejectHint: count(`${where}.rejectHint`, m.rejectHint, 0n),
    context: count(`${where}.context`, m.context, 0n),
  };
}

export type FrameResult =
  | { readonly ok: true; readonly batch: Uint8Array; readonly auth: FrameAuth | undefined }
  | { readonly ok: false; readonly refusal: Refusal };

/**
 * Opens one frame without decoding its batch: returns the batch bytes (a view into `frame`) and the
 * signature, so that the signature is checked before any message is decoded.
 */
export function readFrame(frame: Uint8Array): FrameResult {
  // The common frame, a batch and no signature, without the generated decoder.
  if (frame.length > 1 && frame[0] === 0x12) {
    let length = 0;
    let scale = 1;
    let pos = 1;
    for (; pos < frame.length && pos < 6; pos++) {
      const b = frame[pos]!;
      length += (b & 0x7f) * scale;
      scale *= 0x80;
      if (b < 0x80) break;
    }
    if (pos < 6 && pos < frame.length && frame[pos]! < 0x80 && pos + 1 + length === frame.length) {
      return { ok: true, batch: frame.subarray(pos + 1), auth: undefined };
    }
  }
  let request: StreamRequest;
  try {
    request = StreamRequest.decode(frame);
  } catch (error) {
    return {
      ok: false,
      refusal: {
        code: status.INVALID_ARGUMENT,
        details: `the frame is not a valid kommander.transport.v1.StreamRequest (${(error as Error).message}); encode it with the generated code of proto/kommander/transport/v1`,
      },
    };
  }
  return { ok: true, batch: request.batch, auth: request.auth };
}

/**
 * Decodes and checks the batch of one frame. Either every message is valid and returned, or the batch is
 * refused as a whole with a status and a message naming the first problem: nothing of a refused batch
 * reaches the node.
 */
export function decodeBatch(batch: Uint8Array, context: FrameContext): DecodeResult {
  let ids = contextIds.get(context);
  if (ids === undefined) {
    ids = idBytes(context);
    contextIds.set(context, ids);
  }
  const messages = readBatch(batch, context, ids);
  return messages !== undefined ? { ok: true, messages } : decodeBatchGenerated(batch, context);
}

/** The ids of a stream's context as bytes, made once per context. */
const contextIds = new WeakMap<FrameContext, IdBytes>();

/** {@link decodeBatch} with the generated code only: every frame the hand-written reader gives up on. */
export function decodeBatchGenerated(batch: Uint8Array, context: FrameContext): DecodeResult {
  let decoded: Batch;
  try {
    decoded = Batch.decode(batch);
  } catch (error) {
    return {
      ok: false,
      refusal: {
        code: status.INVALID_ARGUMENT,
        details: `the frame's batch is not a valid kommander.transport.v1.Batch (${(error as Error).message}); encode it with the generated code of proto/kommander/transport/v1`,
      },
    };
  }
  if (decoded.messages.length === 0) {
    return { ok: false, refusal: { code: status.INVALID_ARGUMENT, details: 'the frame holds no message: send at least one message per frame' } };
  }
  try {
    return { ok: true, messages: decoded.messages.map((m, i) => decodeMessage(`messages[${i}]`, m, context)) };
  } catch (error) {
    if (error instanceof FrameError) return { ok: false, refusal: { code: error.code, details: error.message } };
    throw error;
  }
}
