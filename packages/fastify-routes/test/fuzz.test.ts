import { decodeMessageBatch, encodeMessageBatch, EntryKind, MessageType, signRequest, type Message } from '@kommander/core';
import { Prng } from '@kommander/testkit';
import { batchJson, call, closeClient, host, MEMBERS, message, PARTITIONS, PEER, post, SELF, type Answer } from './helpers.js';

const SECRET = 'fuzz-secret-fuzz-secret-fuzz-sec';
const MAX_SKEW_MS = 5000;

/** Fuzz seed: KOMMANDER_FUZZ_SEED to replay a failure, otherwise a fresh one (printed with every failure). */
const SEED = Number(process.env.KOMMANDER_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PER_ENDPOINT = 10_000;
const CONCURRENCY = 16;


const generator = new Prng(SEED);
const random = (): number => generator.next();
const int = (n: number): number => Math.floor(random() * n);
const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;

const SPECIAL_NUMBERS = [0, -1, 1.5, 2 ** 53, 2 ** 53 - 1, 1e308, -0, 7, 255, 10, 6];
const SPECIAL_STRINGS = ['', 'a', PEER, SELF, '127.0.0.1:7003', '__proto__', 'constructor', 'AQ==', 'AQ=', '====', '\u0000', 'x'.repeat(1100), '😀', '1'];

function randomJson(depth = 0): unknown {
  switch (int(depth > 3 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return random() < 0.5 ? pick(SPECIAL_NUMBERS) : (random() - 0.5) * 10 ** int(20);
    case 3:
      return pick(SPECIAL_STRINGS);
    case 4:
      return String.fromCharCode(...Array.from({ length: int(12) }, () => int(0x3000)));
    case 5:
    case 6:
      return Array.from({ length: int(4) }, () => randomJson(depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = int(5); i > 0; i--) setOwn(o, pick(['from', 'messages', 'type', 'entries', 'data', 'x', '__proto__', 'term']), randomJson(depth + 1));
      return o;
    }
  }
}

/** An own property even for `__proto__`, as JSON.parse would make it. */
function setOwn(o: object, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

function validMessages(): Message[] {
  return Array.from({ length: 1 + int(3) }, () =>
    message({
      type: pick(Object.values(MessageType)),
      partition: pick(PARTITIONS),
      term: int(100),
      index: int(1000),
      entries: Array.from({ length: int(3) }, (_, i) => ({
        index: i + 1,
        term: 1,
        kind: pick(Object.values(EntryKind)),
        type: pick(['', 'Put', 'orders/créé']),
        data: new Uint8Array(int(20)).map(() => int(256)),
        time: { physical: int(2 ** 40), counter: int(10) },
      })),
    }),
  );
}

/** A random value at a random place of a parsed batch: replace, delete or add a field, or change an array. */
function mutateTree(root: any): void {
  let node = root;
  for (let steps = int(5); steps > 0; steps--) {
    const keys = node !== null && typeof node === 'object' ? Object.keys(node) : [];
    if (keys.length === 0) break;
    const next = node[pick(keys)];
    if (next === null || typeof next !== 'object') break;
    node = next;
  }
  if (node === null || typeof node !== 'object') return;
  const keys = Object.keys(node);
  const choice = int(4);
  if (choice === 0 && keys.length > 0) delete node[pick(keys)];
  else if (choice === 1) setOwn(node, Array.isArray(node) ? String(node.length) : pick(['extra', 'term', 'data', '__proto__', 'to']), randomJson());
  else if (keys.length > 0) node[pick(keys)] = randomJson();
}

function mutateText(text: string): string {
  let s = text;
  for (let n = 1 + int(3); n > 0; n--) {
    const at = int(s.length + 1);
    switch (int(4)) {
      case 0:
        s = s.slice(0, at) + s.slice(at + 1);
        break;
      case 1:
        s = s.slice(0, at) + pick(['{', '}', '"', ',', ':', '[', ']', '0', '9', '-', 'e', '\\', 'A', '=', ' ', 'null']) + s.slice(at);
        break;
      case 2:
        s = s.slice(0, at);
        break;
      default:
        s = s.slice(0, at) + String.fromCharCode(int(128)) + s.slice(at + 1);
    }
  }
  return s;
}

function fuzzBody(): { payload: string | Buffer; contentType: string } {
  const contentType = random() < 0.95 ? 'application/json' : pick(['text/plain', 'application/octet-stream', 'application/json; charset=latin1', 'multipart/form-data']);
  let payload: string | Buffer;
  switch (int(6)) {
    case 0:
      payload = Buffer.from(Array.from({ length: int(200) }, () => int(256)));
      break;
    case 1:
      payload = JSON.stringify(randomJson());
      break;
    case 2:
    case 3: {
      const tree = JSON.parse(batchJson(validMessages(), random() < 0.9 ? PEER : pick(SPECIAL_STRINGS))) as unknown;
      for (let n = 1 + int(3); n > 0; n--) mutateTree(tree);
      payload = JSON.stringify(tree);
      break;
    }
    case 4:
      payload = mutateText(batchJson(validMessages()));
      break;
    default:
      // Valid ones too, so that the accepting path is under fuzz as well.
      payload = batchJson(validMessages().map((m) => (random() < 0.2 ? { ...m, to: pick(MEMBERS) } : m)));
  }
  return { payload, contentType };
}

function fuzzParam(): string {
  switch (int(5)) {
    case 0:
      return String(int(10));
    case 1:
      return encodeURIComponent(JSON.stringify(randomJson()) ?? '');
    case 2:
      return pick(['-1', '1.5', '1e3', '0x1', '01', '99999999999999999999', '%00', '%2e%2e', '..', 'NaN', 'Infinity', '4294967296', '%201', '1%20']);
    case 3:
      return Array.from({ length: 1 + int(30) }, () => pick(['a', '9', '%41', '-', '_', '.', '~', '%F0%9F%98%80'])).join('');
    default:
      return `${int(5)}?${pick(['x=1', 'partition=2', '__proto__=1', 'a[b]=c', ''])}`;
  }
}

async function run(count: number, one: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await one(next++);
    }),
  );
}

function checkAnswer(what: string, res: Answer): void {
  const context = `seed ${SEED}: ${what} answered ${res.statusCode} ${res.body.slice(0, 300)}`;
  if (res.statusCode >= 500 || res.statusCode < 200) throw new Error(`${context} (replay with KOMMANDER_FUZZ_SEED=${SEED})`);
  if (res.statusCode >= 400 && !what.startsWith('HEAD')) {
    const json = res.json();
    if (typeof json.message !== 'string' || json.message.length < 10 || json.statusCode !== res.statusCode) throw new Error(`${context}: the error does not say what is wrong`);
  }
}

afterAll(() => closeClient());

test(`fuzz: ${PER_ENDPOINT} random and mutated payloads to every endpoint, never a 5xx, never an invalid message delivered`, async () => {
  const { app, inbound } = await host();
  try {
    let accepted = 0;
    await run(PER_ENDPOINT, async (i) => {
      const { payload, contentType } = fuzzBody();
      const res = await post(app, payload, contentType);
      checkAnswer(`POST #${i} ${JSON.stringify(String(payload).slice(0, 200))}`, res);
      if (res.statusCode === 200) accepted++;
    });
    const paths = [
      () => `/v1/raft/partitions/${fuzzParam()}`,
      () => `/v1/raft/partitions/${fuzzParam()}/leader`,
      () => `/v1/raft/status?${fuzzParam()}`,
      () => `/v1/raft/partitions?${fuzzParam()}`,
    ];
    for (const path of paths) {
      await run(PER_ENDPOINT, async (i) => {
        const url = path();
        const method = pick(['GET', 'GET', 'GET', 'HEAD']);
        checkAnswer(`${method} #${i} ${url}`, await call(app, { method, url }));
      });
    }
    // Nothing invalid reached the node, and everything that did was counted as accepted.
    for (const m of inbound.messages) {
      const again = decodeMessageBatch(JSON.parse(encodeMessageBatch({ from: m.from, messages: [m] })));
      expect({ seed: SEED, ok: again.ok, to: m.to, member: MEMBERS.includes(m.from), partition: PARTITIONS.includes(m.partition) }).toEqual({ seed: SEED, ok: true, to: SELF, member: true, partition: true });
    }
    expect(accepted).toBeGreaterThan(0);
    expect(inbound.batches.length).toBeGreaterThanOrEqual(accepted - 50);
    // The node still serves: a valid batch afterwards is delivered.
    const before = inbound.batches.length;
    const res = await post(app, batchJson([message({ index: 424242 })]));
    expect(res.statusCode).toBe(200);
    expect(inbound.batches.length).toBe(before + 1);
    expect(inbound.batches[before]?.[0]?.index).toBe(424242);
  } finally {
    await app.close();
  }
}, 60_000);

type Signing = 'signed' | 'unsigned' | 'wrong-secret' | 'other-body' | 'flipped' | 'missing' | 'expired' | 'replay';
const SIGNINGS: readonly Signing[] = ['signed', 'signed', 'signed', 'unsigned', 'wrong-secret', 'other-body', 'flipped', 'missing', 'expired', 'replay'];
const AUTH_HEADERS = ['x-kommander-sender', 'x-kommander-timestamp', 'x-kommander-nonce', 'x-kommander-signature'] as const;

/** One character of a header value changed, or the value replaced by junk. */
function flip(value: string): string {
  if (random() < 0.2) return pick(['', ' ', '0', 'x'.repeat(70), '%', '%zz', '-1', '1e3', 'f'.repeat(32), 'F'.repeat(64)]);
  const at = int(value.length);
  const ch = value[at] === '0' ? '1' : '0';
  return value.slice(0, at) + ch + value.slice(at + 1);
}

test(`fuzz with shared-secret auth: ${PER_ENDPOINT} payloads with bad signatures among the mutations, only correctly signed ones ever delivered`, async () => {
  const { app, inbound } = await host({ auth: { mode: 'shared-secret', secret: SECRET, maxSkewMs: MAX_SKEW_MS } });
  try {
    const counts = new Map<string, number>();
    let lastAccepted: { headers: Record<string, string>; payload: string | Buffer } | null = null;
    let deliveredBySigned = 0;
    await run(PER_ENDPOINT, async (i) => {
      const { payload, contentType } = fuzzBody();
      let signing = pick(SIGNINGS);
      if (signing === 'replay' && lastAccepted === null) signing = 'unsigned';
      const sign = (secret: string, body: string | Buffer, now = Date.now()): Record<string, string> => ({
        ...signRequest({ secret, method: 'POST', path: '/v1/raft/messages', sender: random() < 0.9 ? PEER : pick(MEMBERS), body, now }),
      });
      let headers: Record<string, string> = {};
      let body: string | Buffer = payload;
      switch (signing) {
        case 'signed':
          headers = sign(SECRET, payload);
          break;
        case 'unsigned':
          break;
        case 'wrong-secret':
          headers = sign('wrong-secret-wrong-secret-wrong!', payload);
          break;
        case 'other-body':
          headers = sign(SECRET, payload);
          body = mutateText(String(payload)) + (random() < 0.5 ? ' ' : '');
          if (body === String(payload)) body += ' ';
          break;
        case 'flipped': {
          headers = sign(SECRET, payload);
          const name = pick(AUTH_HEADERS);
          const changed = flip(headers[name]!);
          headers[name] = changed === headers[name] ? `${changed}0` : changed;
          break;
        }
        case 'missing':
          headers = sign(SECRET, payload);
          delete headers[pick(AUTH_HEADERS)];
          break;
        case 'expired':
          headers = sign(SECRET, payload, Date.now() + (random() < 0.5 ? -1 : 1) * (MAX_SKEW_MS + 1000 + int(10 ** 9)));
          break;
        case 'replay':
          ({ headers, payload: body } = lastAccepted!);
          break;
      }
      const res = await call(app, { method: 'POST', url: '/v1/raft/messages', headers: { 'content-type': contentType, ...headers }, payload: body });
      checkAnswer(`POST (${signing}) #${i} ${JSON.stringify(String(body).slice(0, 200))}`, res);
      const key = `${signing} ${res.statusCode}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (signing === 'signed') {
        if (res.statusCode === 200) {
          lastAccepted = { headers, payload: body };
          // A batch with messages reaches the inbound as one batch (concurrent requests make counting them here racy).
          if ((res.json() as { accepted: number }).accepted > 0) deliveredBySigned += 1;
        }
        return;
      }
      // Not correctly signed: refused before decoding (401), or earlier by the parser stage (413/415).
      const context = `seed ${SEED}: ${signing} POST #${i} answered ${res.statusCode} ${res.body.slice(0, 300)}`;
      if (![401, 413, 415].includes(res.statusCode)) throw new Error(`${context}: expected 401 (replay with KOMMANDER_FUZZ_SEED=${SEED})`);
      if (res.statusCode === 401 && signing === 'replay' && !/replayed nonce/.test(res.json().message)) throw new Error(`${context}: a replay must be refused as one`);
      if (res.statusCode === 401 && signing === 'expired' && !/expired timestamp/.test(res.json().message)) throw new Error(`${context}: must say expired`);
    });
    // Only correctly signed requests delivered anything; each kind of bad signature was tried and refused.
    expect(inbound.batches.length).toBe(deliveredBySigned);
    expect(deliveredBySigned).toBeGreaterThan(0);
    for (const signing of ['unsigned', 'wrong-secret', 'other-body', 'flipped', 'missing', 'expired', 'replay']) expect({ seed: SEED, signing, refused: (counts.get(`${signing} 401`) ?? 0) > 0 }).toEqual({ seed: SEED, signing, refused: true });
    for (const m of inbound.messages) expect({ seed: SEED, to: m.to, member: MEMBERS.includes(m.from) }).toEqual({ seed: SEED, to: SELF, member: true });
    // The node still serves signed batches afterwards.
    const payload = batchJson([message({ index: 434343 })]);
    const res = await call(app, { method: 'POST', url: '/v1/raft/messages', headers: { 'content-type': 'application/json', ...signRequest({ secret: SECRET, method: 'POST', path: '/v1/raft/messages', sender: PEER, body: payload }) }, payload });
    expect(res.statusCode).toBe(200);
    expect(inbound.batches.at(-1)?.[0]?.index).toBe(434343);
  } finally {
    await app.close();
  }
}, 60_000);
