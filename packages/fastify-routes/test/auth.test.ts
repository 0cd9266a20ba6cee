import { signRequest, type NodeAuth } from '@kommander/core';
import Fastify from 'fastify';
import { kommanderRoutes } from '../src/index.js';
import { batchJson, call, closeClient, fakeNode, host, message, PEER, SELF, type Answer } from './helpers.js';
import type { FastifyInstance } from 'fastify';

const SECRET = 's'.repeat(32);
const AUTH: NodeAuth = { mode: 'shared-secret', secret: SECRET, maxSkewMs: 5000 };
const PATH = '/v1/raft/messages';

afterAll(() => closeClient());

function signedPost(app: FastifyInstance, body: string, options: { secret?: string; sender?: string; now?: number; path?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers = signRequest({ secret: options.secret ?? SECRET, method: 'POST', path: options.path ?? PATH, sender: options.sender ?? PEER, body, now: options.now ?? Date.now() });
  return call(app, { method: 'POST', url: PATH, headers: { 'content-type': 'application/json', ...headers, ...options.headers }, payload: body });
}

function expectRefused(res: Answer, status: number, message: RegExp): void {
  expect({ status: res.statusCode, body: res.json() }).toEqual({
    status,
    body: expect.objectContaining({ statusCode: status, error: status === 401 ? 'Unauthorized' : 'Forbidden', message: expect.stringMatching(message) }),
  });
}

describe('shared-secret authentication on POST /v1/raft/messages', () => {
  test('a signed batch is delivered', async () => {
    const { app, inbound } = await host({ auth: AUTH });
    try {
      const res = await signedPost(app, batchJson([message({ index: 7 })]));
      expect(res.statusCode).toBe(200);
      expect(inbound.messages.map((m) => m.index)).toEqual([7]);
    } finally {
      await app.close();
    }
  });

  test('unsigned, wrong-secret, tampered, expired and replayed requests are refused and never reach the inbound', async () => {
    const { app, inbound } = await host({ auth: AUTH });
    try {
      const body = batchJson();
      // Unsigned.
      expectRefused(await call(app, { method: 'POST', url: PATH, headers: { 'content-type': 'application/json' }, payload: body }), 401, /missing header x-kommander-sender; requests to this node must be signed/);
      // Unsigned and malformed: authentication comes before decoding.
      expectRefused(await call(app, { method: 'POST', url: PATH, headers: { 'content-type': 'application/json' }, payload: '{"from": [' }), 401, /missing header/);
      // Wrong secret.
      expectRefused(await signedPost(app, body, { secret: 'w'.repeat(32) }), 401, /bad signature/);
      // Tampered body: signed over one body, another sent.
      const headers = signRequest({ secret: SECRET, method: 'POST', path: PATH, sender: PEER, body, now: Date.now() });
      const tampered = body.replace('"commit":3', '"commit":4');
      expect(tampered).not.toBe(body);
      expectRefused(await call(app, { method: 'POST', url: PATH, headers: { 'content-type': 'application/json', ...headers }, payload: tampered }), 401, /bad signature/);
      // Tampered path: signed for another path (e.g. another prefix), sent here.
      expectRefused(await signedPost(app, body, { path: '/other/messages' }), 401, /bad signature/);
      // Tampered sender header.
      expectRefused(await signedPost(app, body, { headers: { 'x-kommander-sender': encodeURIComponent('127.0.0.1:7003') } }), 401, /bad signature/);
      // Tampered timestamp.
      const fresh = signRequest({ secret: SECRET, method: 'POST', path: PATH, sender: PEER, body, now: Date.now() });
      expectRefused(
        await call(app, { method: 'POST', url: PATH, headers: { 'content-type': 'application/json', ...fresh, 'x-kommander-timestamp': String(Number(fresh['x-kommander-timestamp']) + 1) }, payload: body }),
        401,
        /bad signature/,
      );
      // Expired, either way.
      expectRefused(await signedPost(app, body, { now: Date.now() - 60_000 }), 401, /expired timestamp: .*±5000 ms/);
      expectRefused(await signedPost(app, body, { now: Date.now() + 60_000 }), 401, /expired timestamp/);
      expect(inbound.batches).toHaveLength(0);
      // Replayed: the same signed request twice.
      const once = signRequest({ secret: SECRET, method: 'POST', path: PATH, sender: PEER, body, now: Date.now() });
      const replay = { method: 'POST', url: PATH, headers: { 'content-type': 'application/json', ...once }, payload: body };
      expect((await call(app, replay)).statusCode).toBe(200);
      expectRefused(await call(app, replay), 401, /replayed nonce/);
      expect(inbound.batches).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  test('a batch whose from is not the signed sender is refused with 403', async () => {
    const { app, inbound } = await host({ auth: AUTH });
    try {
      // Signed by member 7003, claiming to be 7001.
      const res = await signedPost(app, batchJson([message()], PEER), { sender: '127.0.0.1:7003' });
      expectRefused(res, 403, /batch says it is from "127\.0\.0\.1:7001", but the request is signed by "127\.0\.0\.1:7003"/);
      expect(res.json().code).toBe('KOMMANDER_SENDER_MISMATCH');
      // A signed non-member is refused by the member check.
      const outsider = await signedPost(app, batchJson([message({ from: 'intruder' })], 'intruder'), { sender: 'intruder' });
      expectRefused(outsider, 403, /"intruder" is not a member/);
      expect(inbound.batches).toHaveLength(0);
    } finally {
      await app.close();
    }
  });

  test('after authentication, bad bodies get the usual 400s', async () => {
    const { app, inbound } = await host({ auth: AUTH });
    try {
      expect((await signedPost(app, '')).json()).toMatchObject({ statusCode: 400, code: 'KOMMANDER_EMPTY_BODY' });
      expect((await signedPost(app, '{"from": [')).json()).toMatchObject({ statusCode: 400, code: 'KOMMANDER_MALFORMED_JSON' });
      expect((await signedPost(app, batchJson().replace('"term":5', '"term":"5"'))).json()).toMatchObject({ statusCode: 400, code: 'KOMMANDER_INVALID_BATCH' });
      expect(inbound.batches).toHaveLength(0);
    } finally {
      await app.close();
    }
  });

  test('the admin GET endpoints stay open by default', async () => {
    const { app } = await host({ auth: AUTH });
    try {
      expect((await call(app, { method: 'GET', url: '/v1/raft/status' })).statusCode).toBe(200);
      expect((await call(app, { method: 'GET', url: '/v1/raft/partitions/1/leader' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  test('with adminAuth the admin GET endpoints need a signature too', async () => {
    const { app } = await host({ auth: AUTH, adminAuth: true });
    try {
      expectRefused(await call(app, { method: 'GET', url: '/v1/raft/status' }), 401, /missing header/);
      const headers = signRequest({ secret: SECRET, method: 'GET', path: '/v1/raft/status', sender: 'operator', body: '' });
      const res = await call(app, { method: 'GET', url: '/v1/raft/status', headers: { ...headers } });
      expect(res.statusCode).toBe(200);
      expect(res.json().node).toBe(SELF);
    } finally {
      await app.close();
    }
  });
});

describe('authentication misconfiguration fails at register', () => {
  test.each<[string, Record<string, unknown>, RegExp]>([
    ['an unknown mode', { auth: { mode: 'hmac' } }, /options\.auth\.mode must be 'disabled', 'shared-secret' or 'mutual-tls', got "hmac"/],
    ['a missing secret', { auth: { mode: 'shared-secret' } }, /options\.auth\.secret is required/],
    ['a short secret', { auth: { mode: 'shared-secret', secret: 'short' } }, /options\.auth\.secret must be at least 32 bytes, got 5/],
    ['a bad skew', { auth: { mode: 'shared-secret', secret: SECRET, maxSkewMs: -1 } }, /options\.auth\.maxSkewMs must be an integer/],
    ['adminAuth without a secret', { adminAuth: true }, /options\.adminAuth needs options\.auth in 'shared-secret' mode/],
  ])('%s', async (_what, extra, message) => {
    const app = Fastify();
    await expect(app.register(kommanderRoutes, { node: fakeNode(), inbound: { receive: () => true }, ...extra } as never).ready()).rejects.toThrow(message);
    await app.close();
  });
});
