import { createTestPki } from '@kommander/testkit';
import { InvalidArgumentError, type NodeAuth } from '@kommander/core';
import { GrpcTransport } from '../src/index.js';
import { mutualTls } from './support.js';

const pki = createTestPki();
const rogue = createTestPki('Rogue CA');
const HOUR = 3_600_000;

/** Construction alone must fail: misconfiguration is found at start-up, not at the first call. */
function construct(auth: unknown): () => GrpcTransport {
  return () => new GrpcTransport({ node: 'a', port: 0, members: () => ['a', 'b'], auth: auth as NodeAuth });
}

describe('GrpcTransport refuses a bad auth option at construction', () => {
  test.each<[string, () => unknown, RegExp]>([
    ['a secret shorter than 32 bytes', () => ({ mode: 'shared-secret', secret: 'too-short' }), /^GrpcTransport: options\.auth\.secret must be at least 32 bytes, got 9; use e\.g\. 32 random bytes/],
    ['no secret', () => ({ mode: 'shared-secret' }), /^GrpcTransport: options\.auth\.secret is required in 'shared-secret' mode/],
    ['a bad skew bound', () => ({ mode: 'shared-secret', secret: 'x'.repeat(32), maxSkewMs: 0 }), /^GrpcTransport: options\.auth\.maxSkewMs must be an integer number of milliseconds from 1 to/],
    ['an unknown mode', () => ({ mode: 'kerberos' }), /^GrpcTransport: options\.auth\.mode must be 'disabled', 'shared-secret' or 'mutual-tls', got "kerberos"/],
    ['a setting that is not an object', () => 'shared-secret', /^GrpcTransport: options\.auth must be an object/],
    ['a certificate of another CA', () => ({ ...mutualTls(rogue, 'a'), ca: pki.ca }), /^GrpcTransport: options\.auth\.cert was not issued by GrpcTransport: options\.auth\.ca/],
    ['a key that does not match the certificate', () => ({ ...mutualTls(pki, 'a'), key: pki.issue({ cn: 'a' }).key }), /^GrpcTransport: options\.auth\.key does not belong to GrpcTransport: options\.auth\.cert/],
    [
      'an expired certificate',
      () => mutualTls(pki, 'a', { notBefore: new Date(Date.now() - 48 * HOUR), notAfter: new Date(Date.now() - 24 * HOUR) }),
      /^GrpcTransport: options\.auth\.cert has expired: .*was valid until/,
    ],
    ['a certificate not valid yet', () => mutualTls(pki, 'a', { notBefore: new Date(Date.now() + 24 * HOUR) }), /^GrpcTransport: options\.auth\.cert is not valid yet/],
    ['a missing CA', () => ({ ...mutualTls(pki, 'a'), ca: undefined }), /^GrpcTransport: options\.auth\.ca is required in 'mutual-tls' mode/],
    ['a key that is not PEM', () => ({ ...mutualTls(pki, 'a'), key: 'not a key' }), /^GrpcTransport: options\.auth\.key is not a readable unencrypted PEM private key/],
    ['an unknown peerIdentity', () => ({ ...mutualTls(pki, 'a'), peerIdentity: 'subject' }), /^GrpcTransport: options\.auth\.peerIdentity must be 'node-id' or 'ca'/],
    ['a certificate that names another node', () => mutualTls(pki, 'b'), /^GrpcTransport: options\.auth\.cert does not name this node "a"/],
  ])('%s', (_name, auth, message) => {
    let thrown: unknown;
    try {
      construct(auth())();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidArgumentError);
    expect((thrown as Error).message).toMatch(message);
  });

  test('a node id that is not printable ASCII fails at construction (ids travel in gRPC metadata)', () => {
    expect(() => new GrpcTransport({ node: 'nöde-1', port: 0, members: () => ['nöde-1'] })).toThrow(/options\.node must be printable ASCII/);
  });

  test('a batch for a peer whose id is not printable ASCII is dropped and counted, never thrown', async () => {
    const transport = new GrpcTransport({ node: '127.0.0.1:0', host: '127.0.0.1', port: 0, members: () => ['127.0.0.1:0', 'nöde'] });
    await transport.start(() => undefined);
    try {
      const heartbeat = { type: 6, partition: 1, from: '127.0.0.1:0', to: 'nöde', term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: 0 } as const;
      expect(() => transport.send('nöde', [heartbeat])).not.toThrow();
      expect(transport.stats().framesDropped).toBe(1);
    } finally {
      await transport.stop();
    }
  });

  test('a node id that cannot be signed (a lone surrogate) fails at construction under shared-secret', () => {
    expect(() => new GrpcTransport({ node: 'a\ud800', port: 0, members: () => ['a'], auth: { mode: 'shared-secret', secret: 'x'.repeat(32) } })).toThrow(InvalidArgumentError);
  });

  test.each<[string, NodeAuth | undefined]>([
    ['no auth option (disabled)', undefined],
    ["{ mode: 'disabled' }", { mode: 'disabled' }],
    ['a 32-byte secret', { mode: 'shared-secret', secret: 'x'.repeat(32) }],
    ['a 32-byte Uint8Array secret', { mode: 'shared-secret', secret: new Uint8Array(32).fill(7) }],
    ['a certificate of the CA', mutualTls(pki, 'a')],
  ])('accepts %s', (_name, auth) => {
    expect(construct(auth)()).toBeInstanceOf(GrpcTransport);
  });
});
