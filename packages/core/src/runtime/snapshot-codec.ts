import type { Entry, EntryKind } from '../raft/entry.js';

const MAGIC = 0x4b534e31; // "KSN1"
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** Binary form of entries (pending proposals travelling with a snapshot or kept in WAL metadata). */
export function encodeEntries(entries: readonly Entry[]): Uint8Array {
  const types = entries.map((e) => textEncoder.encode(e.type));
  let size = 4;
  for (let i = 0; i < entries.length; i++) size += 8 + 8 + 1 + 8 + 4 + 4 + types[i]!.length + 4 + entries[i]!.data.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  view.setUint32(at, entries.length);
  at += 4;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const type = types[i]!;
    view.setFloat64(at, e.index);
    view.setFloat64(at + 8, e.term);
    view.setUint8(at + 16, e.kind);
    view.setFloat64(at + 17, e.time.physical);
    view.setUint32(at + 25, e.time.counter);
    view.setUint32(at + 29, type.length);
    at += 33;
    out.set(type, at);
    at += type.length;
    view.setUint32(at, e.data.length);
    at += 4;
    out.set(e.data, at);
    at += e.data.length;
  }
  return out;
}

/** Reads what {@link encodeEntries} wrote, from `offset`; returns the entries and the offset after them. */
export function decodeEntries(bytes: Uint8Array, offset = 0): { entries: Entry[]; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = offset;
  const count = view.getUint32(at);
  at += 4;
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const index = view.getFloat64(at);
    const term = view.getFloat64(at + 8);
    const kind = view.getUint8(at + 16) as EntryKind;
    const physical = view.getFloat64(at + 17);
    const counter = view.getUint32(at + 25);
    const typeLength = view.getUint32(at + 29);
    at += 33;
    const type = textDecoder.decode(bytes.subarray(at, at + typeLength));
    at += typeLength;
    const dataLength = view.getUint32(at);
    at += 4;
    if (at + dataLength > bytes.length) throw new Error('snapshot codec: truncated entry data');
    const data = bytes.slice(at, at + dataLength);
    at += dataLength;
    entries.push({ index, term, kind, type, data, time: { physical, counter } });
  }
  return { entries, end: at };
}

/** A snapshot as sent between nodes: the proposals still pending at its index, then the application's state. */
export function encodeSnapshot(pending: readonly Entry[], state: Uint8Array): Uint8Array {
  const head = encodeEntries(pending);
  const out = new Uint8Array(4 + head.length + state.length);
  new DataView(out.buffer).setUint32(0, MAGIC);
  out.set(head, 4);
  out.set(state, 4 + head.length);
  return out;
}

export function decodeSnapshot(bytes: Uint8Array): { pending: Entry[]; state: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8 || view.getUint32(0) !== MAGIC) throw new Error('snapshot payload is not a Kommander snapshot (bad magic); sender and receiver run incompatible versions');
  const { entries, end } = decodeEntries(bytes, 4);
  return { pending: entries, state: bytes.subarray(end) };
}

/** WAL metadata of pending proposals that came with an installed snapshot, valid while the log base is `base`. */
export function encodePendingMeta(base: number, pending: readonly Entry[]): Uint8Array {
  const body = encodeEntries(pending);
  const out = new Uint8Array(8 + body.length);
  new DataView(out.buffer).setFloat64(0, base);
  out.set(body, 8);
  return out;
}

export function decodePendingMeta(bytes: Uint8Array): { base: number; pending: Entry[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { base: view.getFloat64(0), pending: decodeEntries(bytes, 8).entries };
}

export function pendingMetaKey(partition: number): string {
  return `kommander.snapshotPending.${partition}`;
}
