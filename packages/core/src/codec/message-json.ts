import { EntryKind, type Entry } from '../raft/entry.js';
import { MessageType, type Message, type NodeId } from '../raft/message.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import type { HLCTimestamp } from '../hlc/timestamp.js';

/**
 * The JSON form of a batch of Raft messages, as the REST transport sends it and the Fastify routes
 * receive it:
 *
 * ```json
 * { "from": "10.0.0.1:7001",
 *   "messages": [ { "type": 0, "partition": 1, "from": "10.0.0.1:7001", "to": "10.0.0.2:7001",
 *                   "term": 3, "logTerm": 2, "index": 41, "commit": 40, "reject": false, "rejectHint": 0,
 *                   "context": 0,
 *                   "entries": [ { "index": 42, "term": 3, "kind": 1, "type": "Put", "data": "aGk=",
 *                                  "time": { "physical": 1718000000000, "counter": 0 } } ] } ] }
 * ```
 *
 * Every field of {@link Message} and {@link Entry} is present, numbers are JSON integers (non-negative,
 * at most 2^53 − 1, so they round-trip exactly), `type`/`kind` use the core's numeric codes and `data`
 * is padded standard base64.
 */
export interface MessageBatch {
  /** The sending node; every message's `from` must equal it. */
  readonly from: NodeId;
  readonly messages: readonly Message[];
}

/** The longest node id the decoder accepts, in UTF-16 code units. */
export const MAX_NODE_ID_LENGTH = 1024;

/** Why a JSON batch was refused: where (`path`, e.g. `messages[2].entries[0].data`) and what was expected there. */
export interface MessageJsonError {
  /** JSON path of the offending value from the batch root (`''` for the root itself). */
  readonly path: string;
  /** What the decoder wanted there, e.g. `a non-negative integer ≤ 9007199254740991`. */
  readonly expected: string;
  /** A one-line human-readable explanation, naming the path, the expectation and what was found. */
  readonly message: string;
}

/** Result of {@link decodeMessageBatch}: a value, or an error that says what is wrong. Bad input never throws. */
export type MessageJsonResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: MessageJsonError };

// ---- encoding ----

/** The JSON text of one message (an element of a batch's `messages`). */
export function encodeMessageJson(m: Message): string {
  return (
    `{"type":${m.type},"partition":${m.partition},"from":${JSON.stringify(m.from)},"to":${JSON.stringify(m.to)},` +
    `"term":${m.term},"logTerm":${m.logTerm},"index":${m.index},"entries":[${entriesJson(m.entries)}],"commit":${m.commit},` +
    `"reject":${m.reject ? 'true' : 'false'},"rejectHint":${m.rejectHint},"context":${m.context}}`
  );
}

/**
 * The entries most recently encoded (the references, copied) and their JSON. A leader sends the same
 * entries to every follower in one turn, so the second encoding is a lookup: the lists must hold the
 * very same entry objects, which are immutable.
 */
let lastEntries: readonly Entry[] = [];
let lastEntriesJson = '';

function entriesJson(entries: readonly Entry[]): string {
  const n = entries.length;
  if (n === 0) return '';
  if (n === lastEntries.length) {
    let k = 0;
    while (k < n && entries[k] === lastEntries[k]) k++;
    if (k === n) return lastEntriesJson;
  }
  let json = '';
  let type = '';
  let typeJson = '""';
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    if (e.type !== type) {
      type = e.type;
      typeJson = JSON.stringify(type);
    }
    if (i > 0) json += ',';
    json +=
      `{"index":${e.index},"term":${e.term},"kind":${e.kind},"type":${typeJson},` +
      `"data":"${encodeBase64(e.data)}","time":{"physical":${e.time.physical},"counter":${e.time.counter}}}`;
  }
  lastEntries = entries.slice();
  lastEntriesJson = json;
  return json;
}

/** Joins messages already encoded with {@link encodeMessageJson} into the JSON text of a batch from `from`. */
export function joinMessageBatchJson(from: NodeId, encodedMessages: readonly string[]): string {
  return `{"from":${JSON.stringify(from)},"messages":[${encodedMessages.join(',')}]}`;
}

/** The JSON text of a batch. */
export function encodeMessageBatch(batch: MessageBatch): string {
  return joinMessageBatchJson(batch.from, batch.messages.map(encodeMessageJson));
}

// ---- decoding ----

const MAX_INTEGER = Number.MAX_SAFE_INTEGER;
const INTEGER = `a non-negative integer ≤ ${MAX_INTEGER}`;
const MESSAGE_TYPES = new Set<number>(Object.values(MessageType));
const ENTRY_KINDS = new Set<number>(Object.values(EntryKind));
const MESSAGE_TYPE_LIST = describeCodes(MessageType);
const ENTRY_KIND_LIST = describeCodes(EntryKind);

const BATCH_FIELDS = new Set(['from', 'messages']);
const MESSAGE_FIELDS = new Set(['type', 'partition', 'from', 'to', 'term', 'logTerm', 'index', 'entries', 'commit', 'reject', 'rejectHint', 'context']);
const ENTRY_FIELDS = new Set(['index', 'term', 'kind', 'type', 'data', 'time']);
const TIME_FIELDS = new Set(['physical', 'counter']);

/** Thrown inside the decoder only, caught at its entry point and returned as a value. */
class Refusal {
  constructor(readonly error: MessageJsonError) {}
}

/**
 * Checks a parsed JSON value (the result of `JSON.parse`) strictly against the batch format and returns
 * the batch, or the first problem found: a wrong type, a missing or unknown field, a number out of range
 * or not an integer, bad base64, an unknown message type or entry kind, an empty or too long node id, or
 * a message whose `from` is not the batch's `from`. The returned messages are fresh objects.
 */
export function decodeMessageBatch(value: unknown): MessageJsonResult<MessageBatch> {
  try {
    const root = object(value, '');
    fields(root, BATCH_FIELDS, '');
    const from = nodeId(root.from, 'from');
    const list = root.messages;
    if (!Array.isArray(list)) refuse('messages', 'an array of messages', list);
    const messages: Message[] = new Array<Message>(list.length);
    for (let i = 0; i < list.length; i++) {
      const path = `messages[${i}]`;
      const m = decodeMessage(list[i], path);
      if (m.from !== from) refuse(`${path}.from`, `the batch's sender ${JSON.stringify(from)}`, m.from);
      messages[i] = m;
    }
    return { ok: true, value: { from, messages } };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, error: error.error };
    throw error;
  }
}

/** `JSON.parse` followed by {@link decodeMessageBatch}; malformed JSON is an error value too. */
export function parseMessageBatch(text: string): MessageJsonResult<MessageBatch> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, error: { path: '', expected: 'well-formed JSON', message: `the body is not well-formed JSON (${reason})` } };
  }
  return decodeMessageBatch(value);
}

function decodeMessage(value: unknown, path: string): Message {
  const o = object(value, path);
  fields(o, MESSAGE_FIELDS, path);
  const type = integer(o.type, `${path}.type`);
  if (!MESSAGE_TYPES.has(type)) refuse(`${path}.type`, `a message type (${MESSAGE_TYPE_LIST})`, o.type);
  const list = o.entries;
  if (!Array.isArray(list)) refuse(`${path}.entries`, 'an array of entries', list);
  const entries: Entry[] = new Array<Entry>(list.length);
  for (let i = 0; i < list.length; i++) entries[i] = decodeEntry(list[i], path, i, i > 0 ? entries[i - 1]!.time : undefined);
  if (typeof o.reject !== 'boolean') refuse(`${path}.reject`, 'true or false', o.reject);
  return {
    type: type as MessageType,
    partition: integer(o.partition, `${path}.partition`),
    from: nodeId(o.from, `${path}.from`),
    to: nodeId(o.to, `${path}.to`),
    term: integer(o.term, `${path}.term`),
    logTerm: integer(o.logTerm, `${path}.logTerm`),
    index: integer(o.index, `${path}.index`),
    entries,
    commit: integer(o.commit, `${path}.commit`),
    reject: o.reject,
    rejectHint: integer(o.rejectHint, `${path}.rejectHint`),
    context: integer(o.context, `${path}.context`),
  };
}

/**
 * `previous`: the time of the entry before it in the message. Entries of one proposing turn share their
 * HLC timestamp, and an entry equal in time gets the same (immutable) object: one object fewer per
 * retained entry for the young-generation GC to copy.
 */
function decodeEntry(value: unknown, message: string, i: number, previous: HLCTimestamp | undefined): Entry {
  // Every check runs without building a path; the path is built only to name a refused value.
  if (!isObject(value)) refuse(entryPath(message, i, ''), 'an object', value);
  const o = value;
  if (!hasExactly(o, ENTRY_FIELDS)) fields(o, ENTRY_FIELDS, entryPath(message, i, ''));
  const kind = o.kind;
  if (!isInteger(kind)) refuse(entryPath(message, i, '.kind'), INTEGER, kind);
  if (!ENTRY_KINDS.has(kind)) refuse(entryPath(message, i, '.kind'), `an entry kind (${ENTRY_KIND_LIST})`, kind);
  if (typeof o.type !== 'string') refuse(entryPath(message, i, '.type'), 'a string (the application log type)', o.type);
  if (typeof o.data !== 'string') refuse(entryPath(message, i, '.data'), 'a base64 string', o.data);
  const data = decodeBase64(o.data);
  if (data === null) refuse(entryPath(message, i, '.data'), 'padded standard base64 (A–Z a–z 0–9 + /, length a multiple of 4)', o.data);
  const t = o.time;
  if (!isObject(t)) refuse(entryPath(message, i, '.time'), 'an object', t);
  if (!hasExactly(t, TIME_FIELDS)) fields(t, TIME_FIELDS, entryPath(message, i, '.time'));
  const physical = t.physical;
  if (!isInteger(physical)) refuse(entryPath(message, i, '.time.physical'), INTEGER, physical);
  const counter = t.counter;
  if (!isInteger(counter)) refuse(entryPath(message, i, '.time.counter'), INTEGER, counter);
  const index = o.index;
  if (!isInteger(index)) refuse(entryPath(message, i, '.index'), INTEGER, index);
  const term = o.term;
  if (!isInteger(term)) refuse(entryPath(message, i, '.term'), INTEGER, term);
  return {
    index,
    term,
    kind: kind as EntryKind,
    type: o.type,
    data,
    time: previous !== undefined && previous.physical === physical && previous.counter === counter ? previous : { physical, counter },
  };
}

/** The JSON path of entry `i` of the message at `message`, then `field` (`''` for the entry itself). */
function entryPath(message: string, i: number, field: string): string {
  return `${message}.entries[${i}]${field}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= MAX_INTEGER && value % 1 === 0;
}

/** Whether `o` has exactly the `known` fields as its own; {@link fields} names the problem when not. */
function hasExactly(o: Record<string, unknown>, known: ReadonlySet<string>): boolean {
  let count = 0;
  for (const key in o) {
    if (!Object.prototype.hasOwnProperty.call(o, key)) continue;
    if (!known.has(key)) return false;
    count++;
  }
  return count === known.size;
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (!isObject(value)) refuse(path, 'an object', value);
  return value as Record<string, unknown>;
}

/** Refuses unknown fields first (a newer sender's format), then missing ones. */
function fields(o: Record<string, unknown>, known: ReadonlySet<string>, path: string): void {
  let count = 0;
  for (const key in o) {
    if (!Object.prototype.hasOwnProperty.call(o, key)) continue;
    if (!known.has(key)) {
      const where = path === '' ? key : `${path}.${key}`;
      refuseWith(where, `no such field (known fields: ${[...known].join(', ')})`, `unknown field ${JSON.stringify(where)}; remove it (known fields: ${[...known].join(', ')})`);
    }
    count++;
  }
  if (count < known.size) {
    for (const key of known) {
      if (!Object.prototype.hasOwnProperty.call(o, key)) {
        const where = path === '' ? key : `${path}.${key}`;
        refuseWith(where, 'a value', `missing field ${JSON.stringify(where)}; every field is required`);
      }
    }
  }
}

function integer(value: unknown, path: string): number {
  if (!isInteger(value)) refuse(path, INTEGER, value);
  return value;
}

function nodeId(value: unknown, path: string): NodeId {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NODE_ID_LENGTH) {
    refuse(path, `a node id (a string of 1 to ${MAX_NODE_ID_LENGTH} characters)`, value);
  }
  return value;
}

function refuse(path: string, expected: string, got: unknown): never {
  refuseWith(path, expected, `${path === '' ? 'the body' : path}: expected ${expected}, got ${describe(got)}`);
}

function refuseWith(path: string, expected: string, message: string): never {
  throw new Refusal({ path, expected, message });
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function describeCodes(codes: Record<string, number>): string {
  return Object.entries(codes)
    .map(([name, code]) => `${code} = ${name}`)
    .join(', ');
}

// ---- schema ----

const integerSchema = { type: 'integer', minimum: 0, maximum: MAX_INTEGER } as const;
const nodeIdSchema = { type: 'string', minLength: 1, maxLength: MAX_NODE_ID_LENGTH } as const;

/**
 * JSON Schema (draft-07) of one batch. {@link decodeMessageBatch} enforces exactly this, plus one rule a
 * schema cannot say: every message's `from` equals the batch's `from`.
 */
export const MESSAGE_BATCH_JSON_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['from', 'messages'],
  properties: {
    from: nodeIdSchema,
    messages: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: [...MESSAGE_FIELDS],
        properties: {
          type: { type: 'integer', enum: [...MESSAGE_TYPES] },
          partition: integerSchema,
          from: nodeIdSchema,
          to: nodeIdSchema,
          term: integerSchema,
          logTerm: integerSchema,
          index: integerSchema,
          entries: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: [...ENTRY_FIELDS],
              properties: {
                index: integerSchema,
                term: integerSchema,
                kind: { type: 'integer', enum: [...ENTRY_KINDS] },
                type: { type: 'string' },
                data: { type: 'string', contentEncoding: 'base64', pattern: '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$' },
                time: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['physical', 'counter'],
                  properties: { physical: integerSchema, counter: integerSchema },
                },
              },
            },
          },
          commit: integerSchema,
          reject: { type: 'boolean' },
          rejectHint: integerSchema,
          context: integerSchema,
        },
      },
    },
  },
} as const;
