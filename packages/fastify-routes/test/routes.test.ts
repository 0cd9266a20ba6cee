import { EntryKind, MessageType } from '@kommander/core';
import Fastify from 'fastify';
import { kommanderRoutes } from '../src/index.js';
import { batchJson, call, closeClient, fakeNode, host, listen, message, PEER, post, SELF } from './helpers.js';

afterAll(() => closeClient());

describe('node-to-node endpoint POST /v1/raft/messages', () => {
  test('a valid batch reaches the inbound with every field decoded', async () => {
    const { app, inbound } = await host();
    const sent = message({ type: MessageType.Append, partition: 2, entries: [{ index: 9, term: 5, kind: EntryKind.Data, type: 'Put', data: new Uint8Array([1, 2, 255]), time: { physical: 17, counter: 2 } }] });
    const res = await post(app, batchJson([sent, message({ partition: 0 })]));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ accepted: 2 });
    expect(inbound.batches).toHaveLength(1);
    expect(inbound.messages[0]).toEqual(sent);
    expect(inbound.messages[0]?.entries[0]?.data).toBeInstanceOf(Uint8Array);
    await app.close();
  });

  test('an empty batch is accepted without waking the node', async () => {
    const { app, inbound } = await host();
    const res = await post(app, batchJson([]));
    expect(res.statusCode).toBe(200);
    expect(inbound.batches).toHaveLength(0);
    await app.close();
  });

  const cases: [string, () => string | Buffer, number, string, RegExp][] = [
    ['malformed JSON', () => '{"from": "x", "messages": [', 400, 'KOMMANDER_MALFORMED_JSON', /not well-formed JSON/],
    ['an empty body', () => '', 400, 'KOMMANDER_EMPTY_BODY', /body is empty/],
    ['a wrong type', () => batchJson().replace('"term":5', '"term":"5"'), 400, 'KOMMANDER_INVALID_BATCH', /messages\[0\]\.term: expected a non-negative integer/],
    ['an unknown field', () => batchJson().replace('"context":0', '"context":0,"lease":1'), 400, 'KOMMANDER_INVALID_BATCH', /unknown field "messages\[0\]\.lease"/],
    ['a missing field', () => batchJson().replace(',"context":0', ''), 400, 'KOMMANDER_INVALID_BATCH', /missing field "messages\[0\]\.context"/],
    ['a number out of range', () => batchJson().replace('"commit":3', '"commit":9007199254740993'), 400, 'KOMMANDER_INVALID_BATCH', /commit: expected a non-negative integer ≤ 9007199254740991/],
    ['an unknown message type', () => batchJson().replace('"type":6', '"type":42'), 400, 'KOMMANDER_INVALID_BATCH', /a message type/],
    ['bad base64', () => batchJson([message({ type: MessageType.Append, entries: [{ index: 1, term: 1, kind: EntryKind.Data, type: 'x', data: new Uint8Array([1]), time: { physical: 1, counter: 0 } }] })]).replace('"AQ=="', '"AQ="'), 400, 'KOMMANDER_INVALID_BATCH', /base64/],
    ['a __proto__ key', () => batchJson().replace('{"from"', '{"__proto__":{"x":1},"from"'), 400, 'KOMMANDER_INVALID_BATCH', /unknown field "__proto__"/],
    ['a sender that is not a member', () => batchJson([message({ from: '10.9.9.9:1' })], '10.9.9.9:1'), 403, 'KOMMANDER_NOT_A_MEMBER', /is not a member/],
    ['a message for another node', () => batchJson([message({ to: '127.0.0.1:7003' })]), 421, 'KOMMANDER_WRONG_NODE', /addressed to "127\.0\.0\.1:7003"/],
    ['an unknown partition', () => batchJson([message(), message({ partition: 99 })]), 404, 'KOMMANDER_UNKNOWN_PARTITION', /partition 99/],
    ['a message whose from differs from the batch sender', () => batchJson([message({ from: '127.0.0.1:7003' })]), 400, 'KOMMANDER_INVALID_BATCH', /batch's sender/],
  ];
  test.each(cases)('refuses %s with a clear 4xx and touches nothing', async (_name, body, status, code, text) => {
    const { app, inbound } = await host();
    const res = await post(app, body());
    expect(res.statusCode).toBe(status);
    const json = res.json();
    expect(json).toMatchObject({ statusCode: status, code });
    expect(json.message).toMatch(text);
    expect(inbound.batches).toHaveLength(0);
    await app.close();
  });

  test('refuses an oversized body with 413 and says which limit', async () => {
    const { app, inbound } = await host({ bodyLimit: 4096 });
    const big = batchJson([message({ type: MessageType.Append, entries: [{ index: 1, term: 1, kind: EntryKind.Data, type: 'x', data: new Uint8Array(8000), time: { physical: 1, counter: 0 } }] })]);
    const res = await post(app, big);
    expect(res.statusCode).toBe(413);
    expect(res.json().message).toMatch(/4096-byte limit/);
    expect(inbound.batches).toHaveLength(0);
    expect((await post(app, batchJson())).statusCode).toBe(200);
    await app.close();
  });

  test('refuses a body that is not JSON with 415', async () => {
    const { app, inbound } = await host();
    const res = await post(app, batchJson(), 'text/plain');
    expect(res.statusCode).toBe(415);
    expect(res.json().message).toMatch(/application\/json/);
    expect(inbound.batches).toHaveLength(0);
    await app.close();
  });

  test('answers 503 while the transport is stopped, so the sender backs off', async () => {
    const { app, inbound } = await host();
    inbound.accepting = false;
    const res = await post(app, batchJson());
    expect(res.statusCode).toBe(503);
    expect(res.json().message).toMatch(/not accepting messages/);
    await app.close();
  });

  test('the members option overrides the node’s member list', async () => {
    const { app, inbound } = await host({ members: () => new Set([SELF]) });
    expect((await post(app, batchJson())).statusCode).toBe(403);
    expect(inbound.batches).toHaveLength(0);
    await app.close();
  });

  test('strict validation holds even when the host’s Ajv coerces types and strips fields', async () => {
    const app = Fastify({ ajv: { customOptions: { coerceTypes: true, removeAdditional: 'all' } } });
    const inbound = { received: 0, receive: () => void (inbound.received += 1) };
    await app.register(kommanderRoutes, { node: fakeNode(), inbound });
    await listen(app);
    const res = await post(app, batchJson().replace('"term":5', '"term":"5"'));
    expect(res.statusCode).toBe(400);
    expect(inbound.received).toBe(0);
    await app.close();
  });
});

describe('admin endpoints', () => {
  test('GET /v1/raft/status gives the node, members and the partitions it leads', async () => {
    const { app } = await host();
    const res = await call(app, { method: 'GET', url: '/v1/raft/status' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ node: SELF, members: [PEER, SELF, '127.0.0.1:7003'], partitions: 4, leaderOf: [1] });
    await app.close();
  });

  test('GET /v1/raft/partitions lists leaders, terms, commit and applied indexes', async () => {
    const { app } = await host();
    const res = await call(app, { method: 'GET', url: '/v1/raft/partitions' });
    expect(res.statusCode).toBe(200);
    const { partitions } = res.json();
    expect(partitions).toHaveLength(4);
    expect(partitions[1]).toMatchObject({ partition: 1, role: 'leader', leader: SELF, term: 6, commitIndex: 10, appliedIndex: 9 });
    expect(partitions[2]).toMatchObject({ partition: 2, leader: '', term: 7, commitIndex: 20, appliedIndex: 19 });
    await app.close();
  });

  test('GET /v1/raft/partitions/:p and /leader, with 404 for an unknown partition and 400 for a bad id', async () => {
    const { app } = await host();
    expect((await call(app, { method: 'GET', url: '/v1/raft/partitions/2' })).json()).toMatchObject({ partition: 2, commitIndex: 20 });
    expect((await call(app, { method: 'GET', url: '/v1/raft/partitions/1/leader' })).json()).toEqual({ partition: 1, leader: SELF, known: true, term: 6 });
    expect((await call(app, { method: 'GET', url: '/v1/raft/partitions/3/leader' })).json()).toEqual({ partition: 3, leader: '', known: false, term: 8 });
    const unknown = await call(app, { method: 'GET', url: '/v1/raft/partitions/12/leader' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'KOMMANDER_UNKNOWN_PARTITION' });
    expect(unknown.json().message).toMatch(/partition 12 does not exist/);
    for (const bad of ['-1', '1.5', 'abc', '01', '1e3', '99999999999999999']) {
      const res = await call(app, { method: 'GET', url: `/v1/raft/partitions/${bad}` });
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toMatch(/non-negative decimal integer/);
    }
    await app.close();
  });

  test('unknown paths under the prefix answer 404 in the same shape; the host’s own routes are untouched', async () => {
    const { app } = await host();
    const res = await call(app, { method: 'GET', url: '/v1/raft/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'KOMMANDER_NO_ROUTE' });
    expect((await call(app, { method: 'GET', url: '/own' })).json()).toEqual({ mine: true });
    await app.close();
  });
});

describe('plugin', () => {
  test('decorates the instance with the node and honours prefix', async () => {
    const node = fakeNode();
    const app = Fastify();
    await app.register(kommanderRoutes, { node, inbound: { receive: () => true }, prefix: '/cluster' });
    await listen(app);
    expect(app.kommander).toBe(node);
    expect((await call(app, { method: 'GET', url: '/cluster/status' })).statusCode).toBe(200);
    expect((await call(app, { method: 'GET', url: '/v1/raft/status' })).statusCode).toBe(404);
    await app.close();
  });

  test('misconfiguration fails at registration, not at the first request', async () => {
    for (const options of [
      { node: {}, inbound: { receive: () => true } },
      { node: fakeNode(), inbound: {} },
      { node: fakeNode(), inbound: { receive: () => true }, bodyLimit: 10 },
      { node: fakeNode(), inbound: { receive: () => true }, prefix: 'v1/' },
    ]) {
      const app = Fastify();
      await expect(app.register(kommanderRoutes, options as never).ready()).rejects.toThrow(/@kommander\/fastify-routes: options\./);
    }
  });
});
