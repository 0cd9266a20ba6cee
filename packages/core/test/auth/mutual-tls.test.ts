import { X509Certificate } from 'node:crypto';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createTestPki } from '@kommander/testkit';
import { certificateNames, chainsTo, checkOwnIdentity, checkPeerIdentity, nodeTlsOptions, validateNodeAuth, type MutualTlsNodeAuth } from '../../src/auth/node-auth.js';
import { InvalidArgumentError } from '../../src/runtime/validation.js';

const pki = createTestPki();
const n1 = pki.issue({ cn: '127.0.0.1:7001' });
const n2 = pki.issue({ cn: 'n2', altNames: ['127.0.0.1', 'localhost', 'spiffe://cluster/n2'] });
const rogue = createTestPki('Rogue CA').issue({ cn: '127.0.0.1:7001' });

function auth(fields: Partial<MutualTlsNodeAuth> = {}): MutualTlsNodeAuth {
  return { mode: 'mutual-tls', ca: pki.ca, cert: n1.cert, key: n1.key, ...fields };
}

function refusal(value: unknown): string {
  try {
    validateNodeAuth(value);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    return (e as Error).message;
  }
  throw new Error('expected the setting to be refused');
}

describe('mutual-tls settings are checked at start-up', () => {
  test('a consistent CA, certificate and key is accepted (strings or bytes)', () => {
    const a = auth();
    expect(validateNodeAuth(a)).toBe(a);
    const bytes = auth({ ca: Buffer.from(pki.ca), cert: new Uint8Array(Buffer.from(n1.cert)), key: Buffer.from(n1.key) });
    expect(validateNodeAuth(bytes)).toBe(bytes);
  });

  test('each kind of misconfiguration is refused with what is wrong', () => {
    expect(refusal(auth({ ca: undefined as never }))).toMatch(/auth\.ca is required in 'mutual-tls' mode/);
    expect(refusal(auth({ cert: 42 as never }))).toMatch(/auth\.cert must be PEM text/);
    expect(refusal(auth({ ca: 'not a pem' }))).toMatch(/auth\.ca contains no PEM certificate/);
    expect(refusal(auth({ cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' }))).toMatch(/auth\.cert certificate 1 cannot be read/);
    expect(refusal(auth({ key: 'garbage' }))).toMatch(/auth\.key is not a readable unencrypted PEM private key/);
    expect(refusal(auth({ key: n2.key }))).toMatch(/auth\.key does not belong to auth\.cert/);
    expect(refusal(auth({ cert: rogue.cert, key: rogue.key }))).toMatch(/auth\.cert was not issued by auth\.ca: .*Rogue CA/);
    const expired = pki.issue({ cn: 'old', notBefore: new Date(Date.now() - 86_400_000), notAfter: new Date(Date.now() - 60_000) });
    expect(refusal(auth({ cert: expired.cert, key: expired.key }))).toMatch(/auth\.cert has expired/);
    const future = pki.issue({ cn: 'new', notBefore: new Date(Date.now() + 86_400_000) });
    expect(refusal(auth({ cert: future.cert, key: future.key }))).toMatch(/auth\.cert is not valid yet/);
    expect(refusal(auth({ peerIdentity: 'anyone' as never }))).toMatch(/auth\.peerIdentity must be 'node-id' or 'ca'/);
    expect(refusal({ mode: 'tls' })).toMatch(/'disabled', 'shared-secret' or 'mutual-tls'/);
    // A CA certificate not marked as a CA, and a certificate only for one side of TLS: every handshake would fail.
    const notCa = createTestPki('Not a CA', { markAsCa: false });
    const underNotCa = notCa.issue({ cn: 'x' });
    expect(refusal(auth({ ca: notCa.ca, cert: underNotCa.cert, key: underNotCa.key }))).toMatch(/auth\.ca holds .*Not a CA.*which is not a CA certificate/);
    const serverOnly = pki.issue({ cn: 's', usage: 'server' });
    expect(refusal(auth({ cert: serverOnly.cert, key: serverOnly.key }))).toMatch(/auth\.cert is not allowed for both TLS server and client use/);
  });

  test("a node's own certificate must name the node (unless peerIdentity is 'ca')", () => {
    expect(() => checkOwnIdentity(auth(), '127.0.0.1:7001')).not.toThrow();
    expect(() => checkOwnIdentity(auth(), '127.0.0.1:7002')).toThrow(/auth\.cert does not name this node "127\.0\.0\.1:7002" \(it names "127\.0\.0\.1:7001"/);
    expect(() => checkOwnIdentity(auth({ peerIdentity: 'ca' }), '127.0.0.1:7002')).not.toThrow();
    expect(() => checkOwnIdentity({ mode: 'disabled' }, 'anything')).not.toThrow();
  });

  test('chainsTo follows signatures, not names: a CA with the same name but another key does not count', () => {
    const twin = createTestPki('Kommander test CA', { keyIdentifiers: false });
    const cluster = createTestPki('Kommander test CA', { keyIdentifiers: false });
    const leaf = new X509Certificate(twin.issue({ cn: 'evil' }).cert);
    expect(chainsTo(leaf, [], [new X509Certificate(cluster.ca)])).toBe(false);
    expect(chainsTo(leaf, [], [new X509Certificate(twin.ca)])).toBe(true);
  });

  test('nodeTlsOptions gives server and client settings that require and verify certificates', () => {
    const options = nodeTlsOptions(auth());
    expect(options).toMatchObject({ requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' });
    expect(options.ca.toString()).toBe(pki.ca);
    expect(() => nodeTlsOptions(auth({ key: n2.key }))).toThrow(/does not belong/);
  });
});

describe('the test PKI', () => {
  test('every certificate it issues is valid DER that OpenSSL reads (minimal serials)', () => {
    for (let i = 0; i < 600; i++) {
      const issued = pki.issue({ cn: `n${i}` });
      expect(new X509Certificate(issued.cert).subject).toContain(`CN=n${i}`);
    }
  });
});

describe('peer identity', () => {
  test('names are the CN and the DNS, IP and URI alternative names', () => {
    expect(certificateNames(new X509Certificate(n2.cert))).toEqual(['n2', '127.0.0.1', 'localhost', 'spiffe://cluster/n2']);
    expect(certificateNames(n1.cert)).toEqual(['127.0.0.1:7001', '127.0.0.1', 'localhost']);
  });

  test('names with special characters read back as issued (Node escapes them in the subject and quotes them in SANs)', () => {
    const odd = pki.issue({ cn: 'a,b+c"d é', altNames: ['spiffe://cluster/a,b', 'host.example', '127.0.0.1'] });
    expect(certificateNames(odd.cert)).toEqual(['a,b+c"d é', 'spiffe://cluster/a,b', 'host.example', '127.0.0.1']);
  });

  test("'node-id' requires the certificate to name the sender; 'ca' accepts any member", () => {
    const names = certificateNames(n2.cert);
    expect(checkPeerIdentity(auth(), names, 'n2')).toBeUndefined();
    expect(checkPeerIdentity(auth(), names, 'spiffe://cluster/n2')).toBeUndefined();
    expect(checkPeerIdentity(auth(), names, '127.0.0.1:7003')).toMatch(/certificate does not name the sender: .*"n2".* comes from "127.0.0.1:7003"/);
    expect(checkPeerIdentity(auth({ peerIdentity: 'ca' }), names, '127.0.0.1:7003')).toBeUndefined();
  });

  test('over real HTTPS: a member certificate is verified and named; no certificate or a rogue one is refused', async () => {
    const server: Server = createServer(nodeTlsOptions(auth()), (req, res) => {
      const socket = req.socket as TLSSocket;
      res.end(JSON.stringify({ authorized: socket.authorized, names: certificateNames(socket.getPeerCertificate()) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const get = (tls: object): Promise<string> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/', ...tls }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve(body));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      const reply = JSON.parse(await get(nodeTlsOptions(auth({ cert: n2.cert, key: n2.key })))) as { authorized: boolean; names: string[] };
      expect(reply).toEqual({ authorized: true, names: ['n2', '127.0.0.1', 'localhost', 'spiffe://cluster/n2'] });
      await expect(get({ ca: pki.ca })).rejects.toThrow(/certificate required|socket hang up|ECONNRESET/i);
      await expect(get({ ca: pki.ca, cert: rogue.cert, key: rogue.key })).rejects.toThrow(/unknown ca|socket hang up|ECONNRESET/i);
      // And the client refuses a server outside the CA.
      await expect(get({ ca: createTestPki('Other').ca, cert: n2.cert, key: n2.key })).rejects.toThrow(/self.signed|unable to (get|verify)/i);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
