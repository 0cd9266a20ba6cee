import { createHash, createHmac } from 'node:crypto';
import { RequestVerifier, signRequest, validateNodeAuth, type VerifyRequestInput } from '../../src/auth/node-auth.js';
import { InvalidArgumentError } from '../../src/runtime/validation.js';

const SECRET = 'k'.repeat(32);
// Ahead of the wall clock: a verifier refuses requests signed before it was constructed.
const NOW = Date.now() + 600_000;
const PATH = '/v1/raft/messages';
const BODY = '{"from":"127.0.0.1:7001","messages":[]}';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function signed(fields: Partial<Parameters<typeof signRequest>[0]> = {}): Mutable<VerifyRequestInput> & { headers: Record<string, string> } {
  const input = { secret: SECRET, method: 'POST', path: PATH, sender: '127.0.0.1:7001', body: BODY, now: NOW, ...fields };
  return { method: input.method, path: input.path, headers: { ...signRequest(input) }, body: input.body, now: NOW };
}

describe('validateNodeAuth', () => {
  test('accepts disabled and shared-secret settings as they are', () => {
    const disabled = { mode: 'disabled' } as const;
    expect(validateNodeAuth(disabled)).toBe(disabled);
    const shared = { mode: 'shared-secret', secret: SECRET, maxSkewMs: 5000 } as const;
    expect(validateNodeAuth(shared)).toBe(shared);
    expect(validateNodeAuth({ mode: 'shared-secret', secret: new Uint8Array(32) })).toBeDefined();
  });

  test.each<[string, unknown, RegExp]>([
    ['not an object', 'shared-secret', /^auth must be an object/],
    ['null', null, /^auth must be an object/],
    ['an unknown mode', { mode: 'mtls' }, /^auth\.mode must be 'disabled', 'shared-secret' or 'mutual-tls', got "mtls"/],
    ['no mode', {}, /^auth\.mode must be/],
    ['a missing secret', { mode: 'shared-secret' }, /^auth\.secret is required/],
    ['a secret of the wrong type', { mode: 'shared-secret', secret: 42 }, /^auth\.secret must be a string or a Uint8Array/],
    ['a short string secret', { mode: 'shared-secret', secret: 'k'.repeat(31) }, /^auth\.secret must be at least 32 bytes, got 31/],
    ['a short byte secret', { mode: 'shared-secret', secret: new Uint8Array(16) }, /at least 32 bytes, got 16/],
    ['a zero skew', { mode: 'shared-secret', secret: SECRET, maxSkewMs: 0 }, /^auth\.maxSkewMs must be an integer number of milliseconds from 1/],
    ['a negative skew', { mode: 'shared-secret', secret: SECRET, maxSkewMs: -5 }, /maxSkewMs/],
    ['a fractional skew', { mode: 'shared-secret', secret: SECRET, maxSkewMs: 1.5 }, /maxSkewMs/],
    ['an infinite skew', { mode: 'shared-secret', secret: SECRET, maxSkewMs: Infinity }, /maxSkewMs/],
    ['a string skew', { mode: 'shared-secret', secret: SECRET, maxSkewMs: '30000' }, /maxSkewMs .* got string/],
  ])('refuses %s with an InvalidArgumentError naming the problem', (_what, auth, message) => {
    let thrown: unknown;
    try {
      validateNodeAuth(auth);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidArgumentError);
    expect((thrown as Error).message).toMatch(message);
  });

  test('a multi-byte string secret counts its UTF-8 bytes', () => {
    expect(() => validateNodeAuth({ mode: 'shared-secret', secret: 'é'.repeat(16) })).not.toThrow();
    expect(() => validateNodeAuth({ mode: 'shared-secret', secret: 'é'.repeat(15) })).toThrow(/got 30/);
  });

  test('the verifier validates its settings too', () => {
    expect(() => new RequestVerifier({ secret: 'short' })).toThrow(InvalidArgumentError);
    expect(() => new RequestVerifier({ secret: SECRET, maxSkewMs: 0 })).toThrow(/maxSkewMs/);
    expect(() => new RequestVerifier({ secret: SECRET, maxNonces: 0 })).toThrow(/maxNonces/);
  });
});

describe('signRequest', () => {
  test('produces the four headers, with the documented HMAC over method, path, sender, timestamp, nonce and body hash', () => {
    const h = signRequest({ secret: SECRET, method: 'post', path: PATH, sender: '127.0.0.1:7001', body: BODY, now: NOW });
    expect(h['x-kommander-sender']).toBe('127.0.0.1%3A7001');
    expect(h['x-kommander-timestamp']).toBe(String(NOW));
    expect(h['x-kommander-nonce']).toMatch(/^[0-9a-f]{32}$/);
    const hash = createHash('sha256').update(BODY).digest('hex');
    const canonical = `POST\n${PATH}\n127.0.0.1%3A7001\n${NOW}\n${h['x-kommander-nonce']}\n${hash}`;
    expect(h['x-kommander-signature']).toBe(createHmac('sha256', SECRET).update(canonical).digest('hex'));
  });

  test('every request gets a fresh nonce; string and byte bodies and secrets sign alike', () => {
    const a = signRequest({ secret: SECRET, method: 'POST', path: PATH, sender: 'n1', body: BODY, now: NOW });
    const b = signRequest({ secret: SECRET, method: 'POST', path: PATH, sender: 'n1', body: BODY, now: NOW });
    expect(a['x-kommander-nonce']).not.toBe(b['x-kommander-nonce']);
    const verifier = new RequestVerifier({ secret: Buffer.from(SECRET) });
    const bytes = signRequest({ secret: new TextEncoder().encode(SECRET), method: 'POST', path: PATH, sender: 'n1', body: new TextEncoder().encode(BODY), now: NOW });
    expect(verifier.verify({ method: 'POST', path: PATH, headers: { ...bytes }, body: BODY, now: NOW })).toEqual({ ok: true, sender: 'n1' });
  });

  test('refuses a sender that cannot go into a header', () => {
    expect(() => signRequest({ secret: SECRET, method: 'POST', path: PATH, sender: '', body: '' })).toThrow(InvalidArgumentError);
    expect(() => signRequest({ secret: SECRET, method: 'POST', path: PATH, sender: 'a\uD800', body: '' })).toThrow(/lone surrogate/);
  });
});

describe('RequestVerifier', () => {
  test('accepts a signed request and names its sender, also one with newlines and non-ASCII in the node id', () => {
    const verifier = new RequestVerifier({ secret: SECRET });
    expect(verifier.verify(signed())).toEqual({ ok: true, sender: '127.0.0.1:7001' });
    expect(verifier.verify(signed({ sender: 'nœud\nzwei' }))).toEqual({ ok: true, sender: 'nœud\nzwei' });
    expect(verifier.verify(signed({ body: new Uint8Array([0xff, 0x00, 0xfe]) }))).toMatchObject({ ok: true });
  });

  test.each(['x-kommander-sender', 'x-kommander-timestamp', 'x-kommander-nonce', 'x-kommander-signature'])('a missing %s is refused with 401', (name) => {
    const request = signed();
    delete request.headers[name];
    expect(new RequestVerifier({ secret: SECRET }).verify(request)).toEqual({ ok: false, status: 401, reason: expect.stringMatching(new RegExp(`^missing header ${name}`)) });
  });

  test('an unsigned request says it must be signed', () => {
    const result = new RequestVerifier({ secret: SECRET }).verify({ method: 'POST', path: PATH, headers: {}, body: BODY, now: NOW });
    expect(result).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/must be signed/) });
  });

  test.each<[string, (h: Record<string, string | string[]>) => void, RegExp]>([
    ['a repeated header', (h) => (h['x-kommander-nonce'] = [h['x-kommander-nonce'] as string, 'a'.repeat(32)]), /given more than once/],
    ['a non-numeric timestamp', (h) => (h['x-kommander-timestamp'] = '17e11'), /malformed header x-kommander-timestamp/],
    ['a short nonce', (h) => (h['x-kommander-nonce'] = 'abc'), /malformed header x-kommander-nonce/],
    ['an upper-case signature', (h) => (h['x-kommander-signature'] = (h['x-kommander-signature'] as string).toUpperCase()), /malformed header x-kommander-signature/],
    ['a badly encoded sender', (h) => (h['x-kommander-sender'] = '%E0%A4%A'), /malformed header x-kommander-sender/],
    ['a non-canonical sender', (h) => (h['x-kommander-sender'] = '127.0.0.1:7001'), /canonical/],
  ])('%s is refused with 401', (_what, change, reason) => {
    const request = signed();
    change(request.headers as Record<string, string | string[]>);
    expect(new RequestVerifier({ secret: SECRET }).verify(request)).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(reason) });
  });

  test.each<[string, (r: ReturnType<typeof signed>) => void]>([
    ['body', (r) => (r.body = BODY.replace('[]', '[ ]'))],
    ['path', (r) => (r.path = '/v1/raft/messages?x=1')],
    ['method', (r) => (r.method = 'PUT')],
    ['sender', (r) => (r.headers['x-kommander-sender'] = '127.0.0.1%3A7003')],
    ['timestamp (within the skew)', (r) => (r.headers['x-kommander-timestamp'] = String(NOW + 1))],
    ['nonce', (r) => (r.headers['x-kommander-nonce'] = 'f'.repeat(32))],
    ['signature', (r) => (r.headers['x-kommander-signature'] = `${(r.headers['x-kommander-signature'] as string).slice(0, 63)}${(r.headers['x-kommander-signature'] as string).endsWith('0') ? '1' : '0'}`)],
  ])('a tampered %s fails the signature check with 401', (_what, tamper) => {
    const verifier = new RequestVerifier({ secret: SECRET });
    const request = signed();
    tamper(request);
    expect(verifier.verify(request)).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/^bad signature/) });
    expect(verifier.nonceCount).toBe(0);
  });

  test('a request signed with another secret is refused', () => {
    const request = signed({ secret: 'z'.repeat(32) });
    expect(new RequestVerifier({ secret: SECRET }).verify(request)).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/bad signature/) });
  });

  test('timestamps outside ±maxSkewMs are refused as expired, at the boundary accepted', () => {
    const verifier = new RequestVerifier({ secret: SECRET, maxSkewMs: 1000 });
    expect(verifier.verify({ ...signed({ now: NOW - 1000 }), now: NOW })).toMatchObject({ ok: true });
    expect(verifier.verify({ ...signed({ now: NOW + 1000 }), now: NOW })).toMatchObject({ ok: true });
    expect(verifier.verify({ ...signed({ now: NOW - 1001 }), now: NOW })).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/^expired timestamp: .*1001 ms .*±1000 ms/) });
    expect(verifier.verify({ ...signed({ now: NOW + 1001 }), now: NOW })).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/^expired timestamp/) });
    // The default skew is 30 s.
    const byDefault = new RequestVerifier({ secret: SECRET });
    expect(byDefault.maxSkewMs).toBe(30_000);
    expect(byDefault.verify({ ...signed({ now: NOW - 30_000 }), now: NOW })).toMatchObject({ ok: true });
    expect(byDefault.verify({ ...signed({ now: NOW - 30_001 }), now: NOW })).toMatchObject({ ok: false, reason: expect.stringMatching(/expired/) });
  });

  test('a replayed request is refused; the same nonce from another sender is not a replay', () => {
    const verifier = new RequestVerifier({ secret: SECRET });
    const request = signed();
    expect(verifier.verify(request)).toMatchObject({ ok: true });
    expect(verifier.verify({ ...request, now: NOW + 10 })).toEqual({ ok: false, status: 401, reason: expect.stringMatching(/^replayed nonce: "127\.0\.0\.1:7001" already sent nonce [0-9a-f]{32}/) });
    // Same nonce, other sender, validly signed: a different key in the cache.
    const other = signed({ sender: 'n2' });
    other.headers['x-kommander-nonce'] = request.headers['x-kommander-nonce']!;
    const canonical = `POST\n${PATH}\nn2\n${NOW}\n${other.headers['x-kommander-nonce']}\n${createHash('sha256').update(BODY).digest('hex')}`;
    other.headers['x-kommander-signature'] = createHmac('sha256', SECRET).update(canonical).digest('hex');
    expect(verifier.verify(other)).toEqual({ ok: true, sender: 'n2' });
  });

  test('nonces are forgotten once maxSkewMs has passed since signing, when a replay is refused as expired instead', () => {
    const verifier = new RequestVerifier({ secret: SECRET, maxSkewMs: 1000 });
    const request = signed();
    expect(verifier.verify(request)).toMatchObject({ ok: true });
    expect(verifier.verify({ ...request, now: NOW + 1000 })).toMatchObject({ ok: false, reason: expect.stringMatching(/replayed nonce/) });
    expect(verifier.verify({ ...signed({ now: NOW + 2000 }), now: NOW + 2000 })).toMatchObject({ ok: true });
    expect(verifier.nonceCount).toBe(1); // the first one was purged
    expect(verifier.verify({ ...request, now: NOW + 2000 })).toMatchObject({ ok: false, reason: expect.stringMatching(/expired/) });
  });

  test('the replay cache is bounded, and a nonce evicted from a full cache still cannot be replayed', () => {
    const verifier = new RequestVerifier({ secret: SECRET, maxNonces: 3 });
    const requests = [0, 1, 2, 3, 4].map((i) => signed({ now: NOW + i }));
    for (const [i, r] of requests.entries()) expect(verifier.verify({ ...r, now: NOW + i })).toMatchObject({ ok: true });
    expect(verifier.nonceCount).toBe(3);
    // Requests 0 and 1 were evicted: replaying them is refused all the same.
    for (const r of requests.slice(0, 2)) expect(verifier.verify({ ...r, now: NOW + 10 })).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/replay.*cache of 3 is full/) });
    for (const r of requests.slice(2)) expect(verifier.verify({ ...r, now: NOW + 10 })).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/^replayed nonce:/) });
    // New requests still pass.
    expect(verifier.verify({ ...signed({ now: NOW + 11 }), now: NOW + 11 })).toMatchObject({ ok: true });
    expect(verifier.nonceCount).toBe(3);
  });

  test('a replay at the edge of the skew window is still refused (the nonce is kept until its request expires)', () => {
    const verifier = new RequestVerifier({ secret: SECRET, maxSkewMs: 1000 });
    const request = signed();
    expect(verifier.verify({ ...request, now: NOW - 1000 })).toMatchObject({ ok: true });
    expect(verifier.verify({ ...request, now: NOW + 1000 })).toMatchObject({ ok: false, reason: expect.stringMatching(/^replayed nonce:/) });
  });

  test('a request signed before the verifier started is refused (its nonces from an earlier life are unknown)', () => {
    const verifier = new RequestVerifier({ secret: SECRET, startedAt: NOW });
    expect(verifier.verify({ ...signed({ now: NOW - 5 }), now: NOW + 1 })).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/before this node started verifying/) });
    expect(verifier.verify({ ...signed({ now: NOW + 1 }), now: NOW + 1 })).toMatchObject({ ok: true });
  });

  test('a full replay cache refuses old requests per sender: one member with a fast clock cannot get the others refused', () => {
    const verifier = new RequestVerifier({ secret: SECRET, maxNonces: 4 });
    // n-fast signs 15 s ahead and fills the cache; its evicted nonces mark only its own old requests.
    for (let i = 0; i < 10; i++) expect(verifier.verify({ ...signed({ sender: 'n-fast', now: NOW + 15_000 + i }), now: NOW + i })).toMatchObject({ ok: true });
    for (let i = 0; i < 10; i++) expect(verifier.verify({ ...signed({ sender: 'n-ok', now: NOW + 10 + i }), now: NOW + 10 + i })).toMatchObject({ ok: true });
    // n-ok's own evicted requests are still refused as possible replays.
    expect(verifier.verify({ ...signed({ sender: 'n-ok', now: NOW + 11 }), now: NOW + 30 })).toMatchObject({ ok: false, reason: expect.stringMatching(/oldest nonce of "n-ok"/) });
  });

  test('a claimed sender other than the signed one is refused with 403, and the nonce is not spent', () => {
    const verifier = new RequestVerifier({ secret: SECRET });
    const request = signed();
    expect(verifier.verify({ ...request, claimedSender: '127.0.0.1:7003' })).toEqual({ ok: false, status: 403, reason: expect.stringMatching(/^sender mismatch: .*"127\.0\.0\.1:7001".*"127\.0\.0\.1:7003"/) });
    expect(verifier.verify({ ...request, claimedSender: '127.0.0.1:7001' })).toEqual({ ok: true, sender: '127.0.0.1:7001' });
  });

  test('changing the caller’s secret array afterwards does not change the verifier’s key', () => {
    const secret = new Uint8Array(32).fill(7);
    const verifier = new RequestVerifier({ secret });
    const request = signed({ secret: new Uint8Array(32).fill(7) });
    secret.fill(0);
    expect(verifier.verify(request)).toMatchObject({ ok: true });
  });
});
