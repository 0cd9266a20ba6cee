import { decodeMessageBatch, encodeMessageBatch, encodeMessageJson, MESSAGE_BATCH_JSON_SCHEMA, parseMessageBatch, type MessageBatch } from '../../src/codec/message-json.js';
import { EntryKind, type Entry } from '../../src/raft/entry.js';
import { MessageType, type Message } from '../../src/raft/message.js';

function message(fields: Partial<Message> = {}): Message {
  return {
    type: MessageType.Append,
    partition: 3,
    from: 'a',
    to: 'b',
    term: 7,
    logTerm: 6,
    index: 41,
    entries: [],
    commit: 40,
    reject: false,
    rejectHint: 0,
    context: 0,
    ...fields,
  };
}

function entry(fields: Partial<Entry> = {}): Entry {
  return { index: 42, term: 7, kind: EntryKind.Data, type: 'Put', data: new Uint8Array([0, 1, 254, 255]), time: { physical: 1_718_000_000_000, counter: 3 }, ...fields };
}

function valid(): Record<string, unknown> {
  return JSON.parse(encodeMessageBatch({ from: 'a', messages: [message({ entries: [entry()] })] })) as Record<string, unknown>;
}

/** Decodes `mutate(valid batch)` and returns the error, failing when it decodes. */
function refusal(mutate: (batch: any) => unknown): { path: string; expected: string; message: string } {
  const batch = valid();
  const replaced = mutate(batch);
  const result = decodeMessageBatch(replaced === undefined ? batch : replaced);
  if (result.ok) throw new Error('expected the batch to be refused');
  return result.error;
}

describe('message JSON codec', () => {
  test('the same entries sent to two followers encode once, and a list that differs in one entry encodes afresh', () => {
    const first = entry({ index: 42 });
    const entries = [first, entry({ index: 43, type: 'Del', data: new Uint8Array([9]) })];
    const toB = encodeMessageJson(message({ entries }));
    const toC = encodeMessageJson(message({ to: 'c', entries: [...entries] }));
    expect(toC).toBe(toB.replace('"to":"b"', '"to":"c"'));
    // The same array, one entry replaced in place: the earlier JSON must not be reused.
    entries[1] = entry({ index: 43, type: 'Put', data: new Uint8Array([7, 7]) });
    const decoded = parseMessageBatch(`{"from":"a","messages":[${encodeMessageJson(message({ entries }))}]}`);
    expect(decoded.ok && decoded.value.messages[0]!.entries.map((e) => [e.type, Array.from(e.data)])).toEqual([
      ['Put', [0, 1, 254, 255]],
      ['Put', [7, 7]],
    ]);
  });

  test('round-trips every message type and entry kind, extreme numbers and every byte', () => {
    const all = new Uint8Array(256).map((_, i) => i);
    const messages = Object.values(MessageType).map((type, i) =>
      message({
        type,
        partition: i,
        from: 'nœud "a"\n',
        to: '10.0.0.2:7001',
        term: Number.MAX_SAFE_INTEGER - i,
        index: 2 ** 53 - 1,
        reject: i % 2 === 0,
        context: 2 ** 40,
        entries: Object.values(EntryKind).map((kind, k) => entry({ kind, index: k, data: all.subarray(0, k * 50), type: k === 0 ? '' : 'tÿpe✓' })),
      }),
    );
    const batch: MessageBatch = { from: 'nœud "a"\n', messages };
    const text = encodeMessageBatch(batch);
    const decoded = parseMessageBatch(text);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.value).toEqual(batch);
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(JSON.parse(text))));
  });

  test('the decoder returns fresh objects with Uint8Array data', () => {
    const raw = valid();
    const result = decodeMessageBatch(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.messages[0]).not.toBe((raw.messages as unknown[])[0]);
    expect(result.value.messages[0]?.entries[0]?.data).toBeInstanceOf(Uint8Array);
  });

  test('entries of one message with equal times share one decoded time object; a differing time gets its own', () => {
    const t = { physical: 1_718_000_000_000, counter: 3 };
    const entries = [entry({ index: 1, time: t }), entry({ index: 2, time: { ...t } }), entry({ index: 3, time: { ...t, counter: 4 } }), entry({ index: 4, time: { ...t, counter: 4 } })];
    const result = parseMessageBatch(encodeMessageBatch({ from: 'a', messages: [message({ entries }), message({ entries: [entry({ time: t })] })] }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const [first, second] = result.value.messages;
    expect(first!.entries).toEqual(entries);
    const times = first!.entries.map((e) => e.time);
    expect(times[1]).toBe(times[0]);
    expect(times[2]).not.toBe(times[1]);
    expect(times[3]).toBe(times[2]);
    // Only within one message: another message's entries get their own.
    expect(second!.entries[0]!.time).not.toBe(times[0]);
    expect(second!.entries[0]!.time).toEqual(t);
  });

  test.each([
    ['not an object', () => [1], '', 'an object'],
    ['a missing field', (b: any) => void delete b.messages[0].commit, 'messages[0].commit', 'a value'],
    ['an unknown batch field', (b: any) => void (b.extra = 1), 'extra', 'no such field'],
    ['an unknown message field', (b: any) => void (b.messages[0].leader = 'x'), 'messages[0].leader', 'no such field'],
    ['an unknown entry field', (b: any) => void (b.messages[0].entries[0].crc = 1), 'messages[0].entries[0].crc', 'no such field'],
    ['an unknown time field', (b: any) => void (b.messages[0].entries[0].time.wall = 1), 'messages[0].entries[0].time.wall', 'no such field'],
    ['a string term', (b: any) => void (b.messages[0].term = '7'), 'messages[0].term', 'non-negative integer'],
    ['a negative index', (b: any) => void (b.messages[0].index = -1), 'messages[0].index', 'non-negative integer'],
    ['a fractional commit', (b: any) => void (b.messages[0].commit = 1.5), 'messages[0].commit', 'non-negative integer'],
    ['a number above 2^53', (b: any) => void (b.messages[0].term = 2 ** 53), 'messages[0].term', '9007199254740991'],
    ['an unknown message type', (b: any) => void (b.messages[0].type = 10), 'messages[0].type', 'a message type'],
    ['an unknown entry kind', (b: any) => void (b.messages[0].entries[0].kind = 6), 'messages[0].entries[0].kind', 'an entry kind'],
    ['bad base64', (b: any) => void (b.messages[0].entries[0].data = 'a$==') , 'messages[0].entries[0].data', 'base64'],
    ['binary data as an array', (b: any) => void (b.messages[0].entries[0].data = [1, 2]), 'messages[0].entries[0].data', 'base64'],
    ['a reject that is not boolean', (b: any) => void (b.messages[0].reject = 0), 'messages[0].reject', 'true or false'],
    ['an empty node id', (b: any) => void (b.messages[0].to = ''), 'messages[0].to', 'node id'],
    ['a node id too long', (b: any) => void (b.from = 'x'.repeat(1025)), 'from', 'node id'],
    ['messages not an array', (b: any) => void (b.messages = {}), 'messages', 'an array'],
    ['entries null', (b: any) => void (b.messages[0].entries = null), 'messages[0].entries', 'an array'],
    ['a message from another sender', (b: any) => void (b.messages[0].from = 'c'), 'messages[0].from', 'the batch\'s sender'],
  ])('refuses %s with its path and expectation', (_name, mutate, path, expected) => {
    const error = refusal(mutate as (b: unknown) => unknown);
    expect(error.path).toBe(path);
    expect(error.expected).toContain(expected);
    expect(error.message).toContain(path === '' ? 'the body' : path);
  });

  test('malformed JSON is an error value, not an exception', () => {
    const result = parseMessageBatch('{"from": "a", "messages": [');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.message).toMatch(/not well-formed JSON/);
  });

  test('an __proto__ key is an unknown field, and never pollutes anything', () => {
    const result = parseMessageBatch('{"from":"a","messages":[],"__proto__":{"polluted":true}}');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.path).toBe('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('the JSON schema lists exactly the fields the decoder knows', () => {
    const message = MESSAGE_BATCH_JSON_SCHEMA.properties.messages.items;
    expect(Object.keys(message.properties).sort()).toEqual(Object.keys(valid().messages ? (valid().messages as any[])[0] : {}).sort());
    expect([...message.required].sort()).toEqual(Object.keys(message.properties).sort());
    const entrySchema = message.properties.entries.items;
    expect([...entrySchema.required].sort()).toEqual(Object.keys(entrySchema.properties).sort());
    expect(new RegExp(entrySchema.properties.data.pattern).test('aGk=')).toBe(true);
    expect(new RegExp(entrySchema.properties.data.pattern).test('aGk')).toBe(false);
  });
});
