/**
 * A throwaway certificate authority for tests of mutual TLS: ECDSA P-256 keys from `node:crypto`, X.509 v3
 * certificates assembled in DER here and signed with `crypto.sign` — no openssl binary, no dependency.
 *
 * Not for production: keys live in memory, serials are random, there is no revocation.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

/** One certificate and its private key, both PEM. */
export interface IssuedCertificate {
  readonly cert: string;
  readonly key: string;
}

export interface IssueOptions {
  /** Subject common name (a node id, typically). */
  readonly cn: string;
  /** Subject alternative names: IP addresses become IP SANs, `scheme:…` URIs become URI SANs, the rest DNS SANs. Default `['127.0.0.1', 'localhost']`. */
  readonly altNames?: readonly string[];
  /** Default: one hour ago. */
  readonly notBefore?: Date;
  /** Default: one year from now. */
  readonly notAfter?: Date;
  /** Extended key usage: `'both'` (default: TLS server and client), `'server'` or `'client'` only (for tests of bad set-ups). */
  readonly usage?: 'both' | 'server' | 'client';
}

/** Options of {@link createTestPki}; the defaults make a proper CA. */
export interface TestPkiOptions {
  /** Mark the CA certificate as a CA (basicConstraints CA:TRUE). Default true; false makes a broken CA for tests. */
  readonly markAsCa?: boolean;
  /** Add subject/authority key identifiers. Default true; false leaves chain building to names alone. */
  readonly keyIdentifiers?: boolean;
}

export interface TestPki {
  /** The CA certificate, PEM. */
  readonly ca: string;
  /** Issues a server-and-client certificate signed by this CA. */
  issue(options: IssueOptions): IssuedCertificate;
}

/** Creates a fresh CA. Two calls give two unrelated CAs (use one to make a "rogue" certificate). */
export function createTestPki(name = 'Kommander test CA', options: TestPkiOptions = {}): TestPki {
  const keyIds = options.keyIdentifiers ?? true;
  const caKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caSpki = caKeys.publicKey.export({ type: 'spki', format: 'der' });
  const caName = distinguishedName(name);
  const caKeyId = keyIdentifier(caSpki);
  const now = Date.now();
  const ca = certificate({
    issuer: caName,
    subject: caName,
    spki: caSpki,
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 10 * 365 * 86_400_000),
    extensions: [
      extension(OID.basicConstraints, true, options.markAsCa === false ? seq() : seq(der(0x01, Buffer.from([0xff])))),
      extension(OID.keyUsage, true, der(0x03, Buffer.from([0x01, 0x06]))), // keyCertSign, cRLSign
      ...(keyIds ? [extension(OID.subjectKeyIdentifier, false, der(0x04, caKeyId))] : []),
    ],
    signer: caKeys.privateKey,
  });
  return {
    ca,
    issue(options: IssueOptions): IssuedCertificate {
      const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const spki = keys.publicKey.export({ type: 'spki', format: 'der' });
      const names = (options.altNames ?? ['127.0.0.1', 'localhost']).map(generalName);
      const usage = options.usage ?? 'both';
      const purposes = usage === 'both' ? [oid(OID.serverAuth), oid(OID.clientAuth)] : [oid(usage === 'server' ? OID.serverAuth : OID.clientAuth)];
      const extensions = [
        extension(OID.basicConstraints, true, seq()),
        extension(OID.keyUsage, true, der(0x03, Buffer.from([0x05, 0xa0]))), // digitalSignature, keyEncipherment
        extension(OID.extKeyUsage, false, seq(...purposes)),
        ...(keyIds
          ? [extension(OID.subjectKeyIdentifier, false, der(0x04, keyIdentifier(spki))), extension(OID.authorityKeyIdentifier, false, seq(der(0x80, caKeyId)))]
          : []),
      ];
      if (names.length > 0) extensions.push(extension(OID.subjectAltName, false, seq(...names)));
      const cert = certificate({
        issuer: caName,
        subject: distinguishedName(options.cn),
        spki,
        notBefore: options.notBefore ?? new Date(Date.now() - 3_600_000),
        notAfter: options.notAfter ?? new Date(Date.now() + 365 * 86_400_000),
        extensions,
        signer: caKeys.privateKey,
      });
      return { cert, key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
    },
  };
}

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

interface CertificateFields {
  readonly issuer: Buffer;
  readonly subject: Buffer;
  readonly spki: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly extensions: Buffer[];
  readonly signer: KeyObject;
}

function certificate(f: CertificateFields): string {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40; // positive and minimal (DER: no leading zero byte)
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([0x02]))), // v3
    der(0x02, serial),
    algorithm,
    f.issuer,
    seq(time(f.notBefore), time(f.notAfter)),
    f.subject,
    f.spki,
    der(0xa3, seq(...f.extensions)),
  );
  const signature = sign('sha256', tbs, f.signer); // DER ECDSA-Sig-Value, as X.509 wants it
  const body = seq(tbs, algorithm, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const lines = body.toString('base64').match(/.{1,64}/g)!;
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function distinguishedName(cn: string): Buffer {
  return seq(
    der(0x31, seq(oid(OID.organization), der(0x0c, Buffer.from('Kommander tests', 'utf8')))),
    der(0x31, seq(oid(OID.commonName), der(0x0c, Buffer.from(cn, 'utf8')))),
  );
}

function generalName(name: string): Buffer {
  if (isIPv4(name)) return der(0x87, Buffer.from(name.split('.').map(Number)));
  if (isIPv6(name)) return der(0x87, ipv6Bytes(name));
  if (/^[a-z][a-z0-9+.-]*:/i.test(name)) return der(0x86, Buffer.from(name, 'ascii'));
  return der(0x82, Buffer.from(name, 'ascii'));
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const h = head === '' || head === undefined ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function keyIdentifier(spki: Buffer): Buffer {
  return createHash('sha1').update(spki).digest();
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), der(0x01, Buffer.from([0xff])), der(0x04, value)) : seq(oid(id), der(0x04, value));
}

function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z';
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050 ? der(0x17, Buffer.from(digits.slice(2), 'ascii')) : der(0x18, Buffer.from(digits, 'ascii'));
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes = [40 * parts[0]! + parts[1]!];
  for (const part of parts.slice(2)) {
    const chunk: number[] = [part & 0x7f];
    for (let v = part >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

function seq(...items: Buffer[]): Buffer {
  return der(0x30, Buffer.concat(items));
}

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let header: number[];
  if (n < 0x80) header = [tag, n];
  else if (n < 0x100) header = [tag, 0x81, n];
  else if (n < 0x10000) header = [tag, 0x82, n >> 8, n & 0xff];
  else header = [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from(header), content]);
}
