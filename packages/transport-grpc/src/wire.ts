import { EntryKind, MessageType, type Entry, type HLCTimestamp, type Message } from '@kommander/core';

/*
 * The hot path of the codec: `Batch` frames (proto/kommander/transport/v1) written and read by hand, with
 * plain numbers instead of the generated code's BigInts and without its intermediate objects. It writes
 * the very bytes the generated encoder writes (same field order, zero values left out), and it reads only
 * the common, well-formed case: any frame it does not fully understand — a field it does not expect, a
 * repeated singular field, a negative or oversized number, an unknown enum value, a message that fails a
 * check — makes it give up (return undefined), and the caller decodes that frame with the generated code
 * and its checks, which name the problem. The tests hold both paths to the same results.
 */

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const TWO_32 = 0x1_0000_0000;

function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x20_0000) return 3;
  if (n < 0x1000_0000) return 4;
  let size = 4;
  for (let rest = Math.floor(n / 0x1000_0000); rest > 0; rest = Math.floor(rest / 0x80)) size++;
  return size;
}

/** Writes a non-negative safe integer as a varint at `pos`; returns the position after it. */
function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= TWO_32) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  let v = n >>> 0;
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** UTF-8 byte length; ASCII strings (the usual ids and types) are measured without a native call. */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

function writeString(buf: Buffer, pos: number, s: string, bytes: number): number {
  if (bytes === s.length) {
    for (let i = 0; i < s.length; i++) buf[pos + i] = s.charCodeAt(i);
    return pos + bytes;
  }
  return pos + buf.write(s, pos, bytes, 'utf8');
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** Bytes of one `Entry`'s fields (not its tag and length), or -1 when a number is outside 0 .. 2^53-1. */
function entrySize(e: Entry, typeBytes: number): number {
  const t = e.time;
  if (!isCount(e.index) || !isCount(e.term) || !isCount(t.physical) || !isCount(t.counter) || !isCount(e.kind)) return -1;
  const time = (t.physical === 0 ? 0 : 1 + varintSize(t.physical)) + (t.counter === 0 ? 0 : 1 + varintSize(t.counter));
  return (
    (e.index === 0 ? 0 : 1 + varintSize(e.index)) +
    (e.term === 0 ? 0 : 1 + varintSize(e.term)) +
    1 + varintSize(e.kind + 1) +
    (typeBytes === 0 ? 0 : 1 + varintSize(typeBytes) + typeBytes) +
    (e.data.length === 0 ? 0 : 1 + varintSize(e.data.length) + e.data.length) +
    1 + varintSize(time) + time
  );
}

const NUMBER_FIELDS = ['partition', 'term', 'logTerm', 'index', 'commit', 'rejectHint', 'context'] as const;

/**
 * Encodes `messages` as a `Batch`, byte for byte what the generated `Batch.encode` writes for them.
 * Returns undefined when a number is not an integer in 0 .. 2^53-1 (the generated code then decides).
 */
export function writeBatch(messages: readonly Message[]): Uint8Array | undefined {
  // First pass: sizes (kept, so the second pass writes without measuring again).
  const sizes: number[] = [];
  let total = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    for (const f of NUMBER_FIELDS) if (!isCount(m[f])) return undefined;
    if (!isCount(m.type)) return undefined;
    const fromBytes = utf8Length(m.from);
    const toBytes = utf8Length(m.to);
    let size =
      1 + varintSize(m.type + 1) +
      (m.partition === 0 ? 0 : 1 + varintSize(m.partition)) +
      (fromBytes === 0 ? 0 : 1 + varintSize(fromBytes) + fromBytes) +
      (toBytes === 0 ? 0 : 1 + varintSize(toBytes) + toBytes) +
      (m.term === 0 ? 0 : 1 + varintSize(m.term)) +
      (m.logTerm === 0 ? 0 : 1 + varintSize(m.logTerm)) +
      (m.index === 0 ? 0 : 1 + varintSize(m.index)) +
      (m.commit === 0 ? 0 : 1 + varintSize(m.commit)) +
      (m.reject ? 2 : 0) +
      (m.rejectHint === 0 ? 0 : 1 + varintSize(m.rejectHint)) +
      (m.context === 0 ? 0 : 1 + varintSize(m.context));
    sizes.push(fromBytes, toBytes);
    const entries = m.entries;
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k]!;
      const typeBytes = utf8Length(e.type);
      const es = entrySize(e, typeBytes);
      if (es < 0) return undefined;
      sizes.push(typeBytes, es);
      size += 1 + varintSize(es) + es;
    }
    sizes.push(size);
    total += 1 + varintSize(size) + size;
  }
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  let s = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const fromBytes = sizes[s++]!;
    const toBytes = sizes[s++]!;
    const entryAt = s;
    s += 2 * m.entries.length;
    const size = sizes[s++]!;
    buf[pos++] = 0x0a;
    pos = writeVarint(buf, pos, size);
    buf[pos++] = 0x08;
    pos = writeVarint(buf, pos, m.type + 1);
    if (m.partition !== 0) {
      buf[pos++] = 0x10;
      pos = writeVarint(buf, pos, m.partition);
    }
    if (fromBytes !== 0) {
      buf[pos++] = 0x1a;
      pos = writeVarint(buf, pos, fromBytes);
      pos = writeString(buf, pos, m.from, fromBytes);
    }
    if (toBytes !== 0) {
      buf[pos++] = 0x22;
      pos = writeVarint(buf, pos, toBytes);
      pos = writeString(buf, pos, m.to, toBytes);
    }
    if (m.term !== 0) {
      buf[pos++] = 0x28;
      pos = writeVarint(buf, pos, m.term);
    }
    if (m.logTerm !== 0) {
      buf[pos++] = 0x30;
      pos = writeVarint(buf, pos, m.logTerm);
    }
    if (m.index !== 0) {
      buf[pos++] = 0x38;
      pos = writeVarint(buf, pos, m.index);
    }
    for (let k = 0; k < m.entries.length; k++) pos = writeEntry(buf, pos, m.entries[k]!, sizes[entryAt + 2 * k]!, sizes[entryAt + 2 * k + 1]!);
    if (m.commit !== 0) {
      buf[pos++] = 0x48;
      pos = writeVarint(buf, pos, m.commit);
    }
    if (m.reject) {
      buf[pos++] = 0x50;
      buf[pos++] = 1;
    }
    if (m.rejectHint !== 0) {
      buf[pos++] = 0x58;
      pos = writeVarint(buf, pos, m.rejectHint);
    }
    if (m.context !== 0) {
      buf[pos++] = 0x60;
      pos = writeVarint(buf, pos, m.context);
    }
  }
  return buf;
}

function writeEntry(buf: Buffer, pos: number, e: Entry, typeBytes: number, size: number): number {
  buf[pos++] = 0x42;
  pos = writeVarint(buf, pos, size);
  if (e.index !== 0) {
    buf[pos++] = 0x08;
    pos = writeVarint(buf, pos, e.index);
  }
  if (e.term !== 0) {
    buf[pos++] = 0x10;
    pos = writeVarint(buf, pos, e.term);
  }
  buf[pos++] = 0x18;
  pos = writeVarint(buf, pos, e.kind + 1);
  if (typeBytes !== 0) {
    buf[pos++] = 0x22;
    pos = writeVarint(buf, pos, typeBytes);
    pos = writeString(buf, pos, e.type, typeBytes);
  }
  if (e.data.length !== 0) {
    buf[pos++] = 0x2a;
    pos = writeVarint(buf, pos, e.data.length);
    buf.set(e.data, pos);
    pos += e.data.length;
  }
  const { physical, counter } = e.time;
  buf[pos++] = 0x32;
  pos = writeVarint(buf, pos, (physical === 0 ? 0 : 1 + varintSize(physical)) + (counter === 0 ? 0 : 1 + varintSize(counter)));
  if (physical !== 0) {
    buf[pos++] = 0x08;
    pos = writeVarint(buf, pos, physical);
  }
  if (counter !== 0) {
    buf[pos++] = 0x10;
    pos = writeVarint(buf, pos, counter);
  }
  return pos;
}

// ---- reading ----

/** Who a frame must come from and go to, and its partitions: the checks of the generated path, in the common case. */
export interface ReadContext {
  readonly sender: string;
  readonly self: string;
  readonly partitions: number | undefined;
}

const MESSAGE_TYPES = Object.values(MessageType).length;
const ENTRY_KINDS = Object.values(EntryKind).length;

const utf8 = new TextDecoder();

/** Gives up on the frame: the generated decoder takes over. */
class GiveUp {}
const GIVE_UP = new GiveUp();

class Reader {
  pos = 0;
  /**
   * The last entry type and time read from this frame. Entries of one batch mostly share both (one
   * application type, one HLC timestamp per proposing turn): handing out the same string and time object
   * leaves two objects fewer per retained entry for the young-generation GC to copy. Entries and their
   * times are immutable, so sharing them is safe.
   */
  private typeRaw: Uint8Array | undefined;
  private typeValue = '';
  lastTime: HLCTimestamp | undefined;

  constructor(
    readonly buf: Uint8Array,
    readonly end: number,
  ) {}

  /** A varint holding an integer in 0 .. 2^53-1. */
  count(limit: number): number {
    const buf = this.buf;
    let pos = this.pos;
    let low = 0;
    let shift = 0;
    let b: number;
    // Up to 28 bits with bitwise arithmetic.
    do {
      if (pos >= limit) throw GIVE_UP;
      b = buf[pos++]!;
      low |= (b & 0x7f) << shift;
      shift += 7;
    } while (b >= 0x80 && shift < 28);
    let value = low >>> 0;
    if (b >= 0x80) {
      // Bits 28 and up: at most 25 more (a safe integer), so 4 more bytes.
      let scale = 0x1000_0000;
      let more = 0;
      do {
        if (pos >= limit || more === 4) throw GIVE_UP;
        b = buf[pos++]!;
        value += (b & 0x7f) * scale;
        scale *= 0x80;
        more++;
      } while (b >= 0x80);
      if (value > MAX_SAFE || (b === 0 && more > 0)) throw GIVE_UP;
    }
    this.pos = pos;
    return value;
  }

  /** A length-delimited field's length, checked against the enclosing end. */
  length(limit: number): number {
    const n = this.count(limit);
    if (n > limit - this.pos) throw GIVE_UP;
    return n;
  }

  string(bytes: number): string {
    const buf = this.buf;
    const start = this.pos;
    this.pos += bytes;
    if (bytes <= 32) {
      let ascii = true;
      for (let i = start; i < start + bytes; i++) {
        if (buf[i]! >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        let s = '';
        for (let i = start; i < start + bytes; i++) s += String.fromCharCode(buf[i]!);
        return s;
      }
    }
    return utf8.decode(buf.subarray(start, start + bytes));
  }

  /** {@link string}, but the previous result again when the bytes spell those of the last call (in this frame). */
  type(bytes: number): string {
    if (this.typeRaw !== undefined && this.equals(bytes, this.typeRaw)) return this.typeValue;
    this.typeRaw = this.buf.subarray(this.pos, this.pos + bytes);
    this.typeValue = this.string(bytes);
    return this.typeValue;
  }

  /** True, and skips them, when the next `bytes` bytes spell `expected` (ASCII). */
  equals(bytes: number, expected: Uint8Array): boolean {
    if (bytes !== expected.length) return false;
    const buf = this.buf;
    const start = this.pos;
    for (let i = 0; i < bytes; i++) if (buf[start + i] !== expected[i]) return false;
    this.pos += bytes;
    return true;
  }
}

/** The ids a stream checks every message against, as bytes, so that matching ones are not decoded. */
export interface IdBytes {
  readonly sender: Uint8Array;
  readonly self: Uint8Array;
}

export function idBytes(context: { readonly sender: string; readonly self: string }): IdBytes {
  return { sender: Buffer.from(context.sender, 'utf8'), self: Buffer.from(context.self, 'utf8') };
}

/**
 * Reads a `Batch` of well-formed, valid messages; undefined when the frame holds anything else (see the
 * top of this file), for the generated decoder to read and judge.
 */
export function readBatch(batch: Uint8Array, context: ReadContext, ids: IdBytes): Message[] | undefined {
  const r = new Reader(batch, batch.length);
  const messages: Message[] = [];
  try {
    while (r.pos < r.end) {
      if (batch[r.pos++] !== 0x0a) return undefined;
      const len = r.length(r.end);
      messages.push(readMessage(r, r.pos + len, context, ids));
    }
  } catch (error) {
    if (error === GIVE_UP) return undefined;
    throw error;
  }
  return messages.length === 0 ? undefined : messages;
}

function readMessage(r: Reader, end: number, context: ReadContext, ids: IdBytes): Message {
  const buf = r.buf;
  let type = -1;
  let partition = 0;
  let from: string | undefined;
  let to: string | undefined;
  let term = 0;
  let logTerm = 0;
  let index = 0;
  let entries: Entry[] | undefined;
  let commit = 0;
  let reject = false;
  let rejectHint = 0;
  let ctx = 0;
  let seen = 0;
  while (r.pos < end) {
    const tag = buf[r.pos++]!;
    const field = tag >>> 3;
    if (field !== 8) {
      // Singular fields once each; anything else, the generated path reads.
      const bit = 1 << field;
      if ((seen & bit) !== 0) throw GIVE_UP;
      seen |= bit;
    }
    switch (tag) {
      case 0x08: type = r.count(end) - 1; break;
      case 0x10: partition = r.count(end); break;
      case 0x1a: {
        const n = r.length(end);
        if (!r.equals(n, ids.sender)) throw GIVE_UP;
        from = context.sender;
        break;
      }
      case 0x22: {
        const n = r.length(end);
        if (!r.equals(n, ids.self)) throw GIVE_UP;
        to = context.self;
        break;
      }
      case 0x28: term = r.count(end); break;
      case 0x30: logTerm = r.count(end); break;
      case 0x38: index = r.count(end); break;
      case 0x42: {
        const n = r.length(end);
        (entries ??= []).push(readEntry(r, r.pos + n));
        break;
      }
      case 0x48: commit = r.count(end); break;
      case 0x50: {
        const v = r.count(end);
        if (v > 1) throw GIVE_UP;
        reject = v === 1;
        break;
      }
      case 0x58: rejectHint = r.count(end); break;
      case 0x60: ctx = r.count(end); break;
      default: throw GIVE_UP;
    }
  }
  if (r.pos !== end || from === undefined || to === undefined || type < 0 || type >= MESSAGE_TYPES) throw GIVE_UP;
  if (context.partitions !== undefined && partition >= context.partitions) throw GIVE_UP;
  return {
    type: type as MessageType,
    partition,
    from,
    to,
    term,
    logTerm,
    index,
    entries: entries ?? [],
    commit,
    reject,
    rejectHint,
    context: ctx,
  };
}

function readEntry(r: Reader, end: number): Entry {
  const buf = r.buf;
  let index = 0;
  let term = 0;
  let kind = -1;
  let type = '';
  let data: Uint8Array | undefined;
  let physical = 0;
  let counter = 0;
  let seen = 0;
  while (r.pos < end) {
    const tag = buf[r.pos++]!;
    const bit = 1 << (tag >>> 3);
    if ((seen & bit) !== 0) throw GIVE_UP;
    seen |= bit;
    switch (tag) {
      case 0x08: index = r.count(end); break;
      case 0x10: term = r.count(end); break;
      case 0x18: kind = r.count(end) - 1; break;
      case 0x22: type = r.type(r.length(end)); break;
      case 0x2a: {
        const n = r.length(end);
        data = buf.subarray(r.pos, r.pos + n);
        r.pos += n;
        break;
      }
      case 0x32: {
        const timeBytes = r.length(end);
        const timeEnd = r.pos + timeBytes;
        let timeSeen = 0;
        while (r.pos < timeEnd) {
          const t = buf[r.pos++]!;
          const tbit = 1 << (t >>> 3);
          if ((timeSeen & tbit) !== 0) throw GIVE_UP;
          timeSeen |= tbit;
          if (t === 0x08) physical = r.count(timeEnd);
          else if (t === 0x10) counter = r.count(timeEnd);
          else throw GIVE_UP;
        }
        if (r.pos !== timeEnd) throw GIVE_UP;
        break;
      }
      default: throw GIVE_UP;
    }
  }
  if (r.pos !== end || index < 1 || kind < 0 || kind >= ENTRY_KINDS) throw GIVE_UP;
  const last = r.lastTime;
  const time = last !== undefined && last.physical === physical && last.counter === counter ? last : (r.lastTime = { physical, counter });
  return { index, term, kind: kind as EntryKind, type, data: data ?? EMPTY, time };
}

const EMPTY = new Uint8Array(0);
