import { request, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { InvalidArgumentError, type MutualTlsNodeAuth } from '@kommander/core';
import { createTestPki, type IssuedCertificate } from '@kommander/testkit';
import Fastify, { type FastifyInstance } from 'fastify';
import { kommanderHttpsOptions, kommanderRoutes } from '../src/index.js';
import { batchJson, fakeNode, message, PEER, RecordingInbound, SELF } from './helpers.js';

const OTHER_MEMBER = '127.0.0.1:7003';
const PATH = '/v1/raft/messages';

const pki = createTestPki();
const rogue = createTestPki('Rogue CA');
/** Node ids are endpoints: the CN names the node; the SANs name the host it is dialled at. */
const self = pki.issue({ cn: SELF });
const peer = pki.issue({ cn: PEER });
const otherMember = pki.issue({ cn: OTHER_MEMBER });
const rogueSelf = rogue.issue({ cn: PEER });
const AUTH: MutualTlsNodeAuth = { mode: 'mutual-tls', ca: pki.ca, cert: self.cert, key: self.key };

interface Host {
  readonly app: FastifyInstance;
  readonly inbound: RecordingInbound;
  readonly port: number;
}

/** The routes with `auth` on an HTTPS host; `https` defaults to `kommanderHttpsOptions(auth)`. */
async function tlsHost(auth: MutualTlsNodeAuth = AUTH, https: ServerOptions = kommanderHttpsOptions(auth)): Promise<Host> {
  const inbound = new RecordingInbound();
  const app = Fastify({ logger: false, https });
  await app.register(kommanderRoutes, { node: fakeNode(), inbound, auth });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, inbound, port: (app.server.address() as AddressInfo).port };
}

/** A host that asks for client certificates but lets every client finish the handshake, so the routes judge them. */
function lenient(extraCa = ''): ServerOptions {
  return { ...kommanderHttpsOptions(AUTH), ca: pki.ca + extraCa, rejectUnauthorized: false };
}

interface Answer {
  readonly statusCode: number;
  json(): any;
}

/** One HTTPS request on a fresh connection (no agent), trusting the cluster's CA, presenting `client` if given. */
function httpsCall(host: Host, options: { method?: string; url?: string; payload?: string; client?: IssuedCertificate }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (options.payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(options.payload);
    }
    const req = request(
      {
        host: '127.0.0.1',
        port: host.port,
        method: options.method ?? 'POST',
        path: options.url ?? PATH,
        headers,
        agent: false,
        ca: pki.ca,
        ...(options.client === undefined ? {} : { cert: options.client.cert, key: options.client.key }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ statusCode: res.statusCode ?? 0, json: () => JSON.parse(body) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.payload);
  });
}

function post(host: Host, client: IssuedCertificate | undefined, from = PEER): Promise<Answer> {
  return httpsCall(host, { payload: batchJson([message({ from })], from), ...(client === undefined ? {} : { client }) });
}

function expectRefused(res: Answer, status: 401 | 403, code: string, reason: RegExp): void {
  expect({ status: res.statusCode, body: res.json() }).toEqual({
    status,
    body: expect.objectContaining({ statusCode: status, code, message: expect.stringMatching(reason) }),
  });
}

describe('kommanderHttpsOptions', () => {
  test('gives the https options of a host that requires client certificates of the CA', () => {
    const options = kommanderHttpsOptions(AUTH);
    expect(options).toEqual({ ca: Buffer.from(pki.ca), cert: Buffer.from(self.cert), key: Buffer.from(self.key), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' });
  });

  test('refuses a setting that is not a valid mutual-tls one', () => {
    expect(() => kommanderHttpsOptions({ mode: 'shared-secret', secret: 's'.repeat(32) } as never)).toThrow(InvalidArgumentError);
    expect(() => kommanderHttpsOptions({ mode: 'shared-secret', secret: 's'.repeat(32) } as never)).toThrow(/kommanderHttpsOptions: auth\.mode must be 'mutual-tls'/);
    expect(() => kommanderHttpsOptions({ ...AUTH, key: peer.key })).toThrow(/kommanderHttpsOptions: auth\.key does not belong to kommanderHttpsOptions: auth\.cert/);
  });
});

describe('mutual TLS on POST /v1/raft/messages', () => {
  test('a member presenting its own certificate delivers', async () => {
    const host = await tlsHost();
    try {
      const res = await post(host, peer);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ accepted: 1 });
      expect(host.inbound.messages.map((m) => m.from)).toEqual([PEER]);
    } finally {
      await host.app.close();
    }
  });

  test.each<[string, IssuedCertificate | undefined]>([
    ['without a certificate', undefined],
    ['with a certificate of another CA', rogueSelf],
  ])('a client %s fails the TLS handshake of a kommanderHttpsOptions host; nothing reaches the node', async (_what, client) => {
    const host = await tlsHost();
    try {
      // TLS 1.3: the server's refusal arrives as an alert or a reset once the client has sent its request.
      await expect(post(host, client)).rejects.toMatchObject({ code: expect.stringMatching(/^(?:ERR_SSL_|ECONNRESET$|EPIPE$)/) });
      expect(host.inbound.batches).toHaveLength(0);
      // The same host still serves a member.
      expect((await post(host, peer)).statusCode).toBe(200);
      expect(host.inbound.batches).toHaveLength(1);
    } finally {
      await host.app.close();
    }
  });

  test('on a host that lets every client in, the routes refuse unverified clients with 401 naming the TLS error', async () => {
    const host = await tlsHost(AUTH, lenient());
    try {
      expectRefused(await post(host, undefined), 401, 'KOMMANDER_UNAUTHENTICATED', /no client certificate was presented \(TLS: UNABLE_TO_GET_ISSUER_CERT\)/);
      expectRefused(await post(host, rogueSelf), 401, 'KOMMANDER_UNAUTHENTICATED', /client certificate for "127\.0\.0\.1:7001" was not verified \(TLS: UNABLE_TO_VERIFY_LEAF_SIGNATURE\).*issued by the cluster's CA/);
      // Refused before the body is read: even a malformed body gets the 401.
      expectRefused(await httpsCall(host, { payload: '{"from": [' }), 401, 'KOMMANDER_UNAUTHENTICATED', /no client certificate/);
      expect(host.inbound.batches).toHaveLength(0);
      expect((await post(host, peer)).statusCode).toBe(200);
      expect(host.inbound.batches).toHaveLength(1);
    } finally {
      await host.app.close();
    }
  });

  test('a certificate the host trusts through another CA is refused: only the cluster CA speaks for members', async () => {
    const host = await tlsHost(AUTH, lenient(rogue.ca));
    try {
      expectRefused(await post(host, rogueSelf), 401, 'KOMMANDER_UNAUTHENTICATED', /trusted by this HTTPS server but not issued by the cluster's CA/);
      expect(host.inbound.batches).toHaveLength(0);
    } finally {
      await host.app.close();
    }
  });

  test('another trusted CA with the same name as the cluster CA does not pass for it (the chain is checked by signature)', async () => {
    // No key identifiers: Node rebuilds the reported chain by names alone, so a name match must not be enough.
    const cluster = createTestPki('Kommander twin CA', { keyIdentifiers: false });
    const twin = createTestPki('Kommander twin CA', { keyIdentifiers: false });
    const own = cluster.issue({ cn: SELF });
    const auth: MutualTlsNodeAuth = { mode: 'mutual-tls', ca: cluster.ca, cert: own.cert, key: own.key };
    const host = await tlsHost(auth, { ...kommanderHttpsOptions(auth), ca: twin.ca + cluster.ca });
    try {
      const impostor = twin.issue({ cn: PEER });
      const res = await new Promise<Answer>((resolve, reject) => {
        const payload = batchJson([message({ from: PEER })], PEER);
        const req = request(
          { host: '127.0.0.1', port: host.port, method: 'POST', path: PATH, agent: false, ca: cluster.ca, cert: impostor.cert, key: impostor.key,
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
          (r) => {
            const chunks: Buffer[] = [];
            r.on('data', (c: Buffer) => chunks.push(c));
            r.on('end', () => resolve({ statusCode: r.statusCode ?? 0, json: () => JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
      expectRefused(res, 401, 'KOMMANDER_UNAUTHENTICATED', /not issued by the cluster's CA/);
      expect(host.inbound.batches).toHaveLength(0);
    } finally {
      await host.app.close();
    }
  });

  test("a member's certificate cannot send another member's batch (403 with the reason); nothing reaches the node", async () => {
    const host = await tlsHost();
    try {
      const res = await post(host, otherMember, PEER);
      expectRefused(res, 403, 'KOMMANDER_SENDER_MISMATCH', /certificate does not name the sender: it is for "127\.0\.0\.1:7003", "127\.0\.0\.1", "localhost" but the request comes from "127\.0\.0\.1:7001"/);
      expect(res.json().path).toBe('from');
      expect(host.inbound.batches).toHaveLength(0);
      // Its own batches go through.
      expect((await post(host, otherMember, OTHER_MEMBER)).statusCode).toBe(200);
      expect(host.inbound.messages.map((m) => m.from)).toEqual([OTHER_MEMBER]);
    } finally {
      await host.app.close();
    }
  });

  test("with peerIdentity 'ca' any certificate of the CA sends for a member id, and non-members are still refused", async () => {
    const host = await tlsHost({ ...AUTH, peerIdentity: 'ca' });
    try {
      expect((await post(host, otherMember, PEER)).statusCode).toBe(200);
      expect(host.inbound.messages.map((m) => m.from)).toEqual([PEER]);
      const outsider = pki.issue({ cn: 'intruder' });
      expectRefused(await post(host, outsider, 'intruder'), 403, 'KOMMANDER_NOT_A_MEMBER', /"intruder" is not a member/);
      expect(host.inbound.batches).toHaveLength(1);
    } finally {
      await host.app.close();
    }
  });

  test('a certificate of the CA for a non-member: refused by the identity check when it claims a member id, by the member check under its own', async () => {
    const host = await tlsHost();
    try {
      const outsider = pki.issue({ cn: 'intruder' });
      expectRefused(await post(host, outsider, PEER), 403, 'KOMMANDER_SENDER_MISMATCH', /does not name the sender/);
      expectRefused(await post(host, outsider, 'intruder'), 403, 'KOMMANDER_NOT_A_MEMBER', /is not a member/);
      expect(host.inbound.batches).toHaveLength(0);
    } finally {
      await host.app.close();
    }
  });
});

describe('admin endpoints under mutual TLS', () => {
  test('on a kommanderHttpsOptions host they need a certificate of the CA (the handshake), not a signature', async () => {
    const host = await tlsHost();
    try {
      await expect(httpsCall(host, { method: 'GET', url: '/v1/raft/status' })).rejects.toMatchObject({ code: expect.stringMatching(/^(?:ERR_SSL_|ECONNRESET$|EPIPE$)/) });
      const res = await httpsCall(host, { method: 'GET', url: '/v1/raft/status', client: pki.issue({ cn: 'operator' }) });
      expect(res.statusCode).toBe(200);
      expect(res.json().node).toBe(SELF);
    } finally {
      await host.app.close();
    }
  });

  test('on a host that lets every client in they stay open, as without auth', async () => {
    const host = await tlsHost(AUTH, lenient());
    try {
      expect((await httpsCall(host, { method: 'GET', url: '/v1/raft/partitions/1/leader' })).statusCode).toBe(200);
    } finally {
      await host.app.close();
    }
  });
});

describe('mutual-tls misconfiguration fails at register', () => {
  const expired = pki.issue({ cn: SELF, notBefore: new Date(Date.now() - 2 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
  test.each<[string, Partial<MutualTlsNodeAuth> & Record<string, unknown>, RegExp]>([
    ['a CA that is not PEM', { ca: 'not a certificate' }, /options\.auth\.ca contains no PEM certificate/],
    ['a key that does not match the certificate', { key: peer.key }, /options\.auth\.key does not belong to @kommander\/fastify-routes: options\.auth\.cert/],
    ['an expired certificate', { cert: expired.cert, key: expired.key }, /options\.auth\.cert has expired/],
    ['a certificate of another CA', { cert: rogueSelf.cert, key: rogueSelf.key }, /options\.auth\.cert was not issued by @kommander\/fastify-routes: options\.auth\.ca/],
    ['an unknown peerIdentity', { peerIdentity: 'subject' as never }, /options\.auth\.peerIdentity must be 'node-id' or 'ca'/],
    ['adminAuth', { adminAuth: true }, /options\.adminAuth needs options\.auth in 'shared-secret' mode; in 'mutual-tls' mode leave it out/],
  ])('%s', async (_what, change, reason) => {
    const { adminAuth, ...authChange } = change;
    const app = Fastify({ https: kommanderHttpsOptions(AUTH) });
    try {
      await expect(app.register(kommanderRoutes, { node: fakeNode(), inbound: { receive: () => true }, auth: { ...AUTH, ...authChange }, ...(adminAuth === undefined ? {} : { adminAuth }) } as never).ready()).rejects.toThrow(reason);
    } finally {
      await app.close();
    }
  });

  test.each<[string, () => FastifyInstance, RegExp]>([
    ['a plain HTTP host', () => Fastify(), /options\.auth is 'mutual-tls', but this Fastify instance serves plain HTTP; create the host with Fastify\(\{ https: kommanderHttpsOptions\(auth\) \}\)/],
    ['an HTTPS host that does not ask for client certificates', () => Fastify({ https: { cert: self.cert, key: self.key, ca: pki.ca } }), /does not ask clients for a certificate \(https\.requestCert is not true\)/],
    ['an HTTPS host that does not trust the cluster CA', () => Fastify({ https: { cert: self.cert, key: self.key, requestCert: true } }), /does not trust the cluster's CA \(https\.ca does not contain options\.auth\.ca\)/],
    ['an HTTPS host trusting only another CA', () => Fastify({ https: { cert: self.cert, key: self.key, requestCert: true, ca: rogue.ca } }), /does not trust the cluster's CA/],
  ])('%s', async (_what, make, reason) => {
    const app = make();
    try {
      await expect(app.register(kommanderRoutes, { node: fakeNode(), inbound: { receive: () => true }, auth: AUTH }).ready()).rejects.toThrow(reason);
    } finally {
      await app.close();
    }
  });

  test('a host trusting the cluster CA among others is accepted', async () => {
    const app = Fastify({ https: { ...kommanderHttpsOptions(AUTH), ca: [rogue.ca, pki.ca] } });
    try {
      await expect(app.register(kommanderRoutes, { node: fakeNode(), inbound: { receive: () => true }, auth: AUTH }).ready()).resolves.toBeDefined();
    } finally {
      await app.close();
    }
  });
});
