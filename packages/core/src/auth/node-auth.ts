/**
 * Node authentication for node-to-node requests. Modes: `disabled` (tests, trusted networks),
 * `shared-secret` (every request signed with HMAC-SHA256) and `mutual-tls` (both ends present certificates
 * issued by the cluster's CA; see {@link MutualTlsNodeAuth}).
 *
 * Shared-secret signing: the sender adds four headers,
 *   x-kommander-sender     the sender's node id, percent-encoded (encodeURIComponent)
 *   x-kommander-timestamp  the sender's clock in milliseconds since the epoch (decimal)
 *   x-kommander-nonce      16 random bytes, lowercase hex
 *   x-kommander-signature  lowercase hex HMAC-SHA256(secret, canonical string)
 * where the canonical string is
 *   METHOD \n path \n sender header \n timestamp \n nonce \n hex SHA-256 of the exact body bytes.
 * No field can contain a newline (the sender is percent-encoded), so the string is unambiguous.
 *
 * The receiver ({@link RequestVerifier}) refuses a request whose headers are missing or malformed, whose
 * timestamp is more than `maxSkewMs` away from its own clock, whose signature does not match (compared in
 * constant time), or whose (sender, nonce) it has already accepted within the last 2 × `maxSkewMs`.
 */
import { X509Certificate, createHash, createHmac, createPrivateKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { invalid } from '../runtime/validation.js';

/** How a node authenticates the requests it sends and receives. */
export type NodeAuth = DisabledNodeAuth | SharedSecretNodeAuth | MutualTlsNodeAuth;

/** No authentication: every request is accepted (tests, or a network that is trusted by other means). */
export interface DisabledNodeAuth {
  readonly mode: 'disabled';
}

/** Every request signed with HMAC-SHA256 under a secret all members share. */
export interface SharedSecretNodeAuth {
  readonly mode: 'shared-secret';
  /** At least 32 bytes (a string counts its UTF-8 bytes). The same on every member. */
  readonly secret: string | Uint8Array;
  /** Largest accepted difference between the sender's timestamp and the receiver's clock. Default 30000 ms. */
  readonly maxSkewMs?: number;
}

/** PEM text, as a string or the bytes of a file. */
export type Pem = string | Uint8Array;

/**
 * Mutual TLS: every connection between nodes is TLS (1.2 or later) and both ends present a certificate
 * that chains to `ca`; the client also checks the server's name against the address it dialled.
 *
 * Identity: with `peerIdentity: 'node-id'` (the default) a peer's certificate must name the node id the
 * peer sends as — its subject CN, or one of its DNS, IP or URI subject alternative names, equals the id
 * (for an endpoint id such as `10.0.0.5:7001` use the CN) — so that a member's certificate cannot be used
 * to speak for another member. `'ca'` accepts any certificate of the CA for any member id.
 */
export interface MutualTlsNodeAuth {
  readonly mode: 'mutual-tls';
  /** The CA certificate(s) that issue the members' certificates (PEM; several may be concatenated). */
  readonly ca: Pem;
  /** This node's certificate (PEM, optionally followed by intermediates); used as server and client certificate. */
  readonly cert: Pem;
  /** The private key of `cert` (PEM, unencrypted). */
  readonly key: Pem;
  /** How a peer certificate binds to a node id; default `'node-id'`. */
  readonly peerIdentity?: 'node-id' | 'ca';
}

export const NODE_AUTH_HEADERS = {
  sender: 'x-kommander-sender',
  timestamp: 'x-kommander-timestamp',
  nonce: 'x-kommander-nonce',
  signature: 'x-kommander-signature',
} as const;

/** The headers {@link signRequest} produces. */
export interface SignedHeaders {
  readonly 'x-kommander-sender': string;
  readonly 'x-kommander-timestamp': string;
  readonly 'x-kommander-nonce': string;
  readonly 'x-kommander-signature': string;
}

export const MIN_SECRET_BYTES = 32;
export const DEFAULT_MAX_SKEW_MS = 30_000;
/** Largest `maxSkewMs` accepted: one hour. */
export const MAX_SKEW_LIMIT_MS = 3_600_000;
/** Default bound of the replay cache of a {@link RequestVerifier}. */
export const DEFAULT_MAX_NONCES = 100_000;

const TIMESTAMP = /^(?:0|[1-9][0-9]{0,15})$/;
const NONCE = /^[0-9a-f]{32}$/;
const SIGNATURE = /^[0-9a-f]{64}$/;

/**
 * Checks an authentication setting and returns it; throws {@link InvalidArgumentError} naming the problem
 * (unknown mode, missing or short secret, bad skew), so that misconfiguration fails at start-up.
 * `argument` names the option in the message (default `auth`).
 */
export function validateNodeAuth(auth: unknown, argument = 'auth'): NodeAuth {
  if (auth === null || typeof auth !== 'object' || Array.isArray(auth)) {
    invalid(argument, `must be an object { mode: 'disabled' }, { mode: 'shared-secret', secret } or { mode: 'mutual-tls', ca, cert, key }, got ${auth === null ? 'null' : Array.isArray(auth) ? 'an array' : typeof auth}`);
  }
  const mode = (auth as { mode?: unknown }).mode;
  if (mode === 'disabled') return auth as DisabledNodeAuth;
  if (mode === 'mutual-tls') {
    checkMutualTls(auth as MutualTlsNodeAuth, argument);
    return auth as MutualTlsNodeAuth;
  }
  if (mode !== 'shared-secret') {
    invalid(`${argument}.mode`, `must be 'disabled', 'shared-secret' or 'mutual-tls', got ${typeof mode === 'string' ? JSON.stringify(mode.slice(0, 40)) : String(mode)}`);
  }
  const { secret, maxSkewMs } = auth as { secret?: unknown; maxSkewMs?: unknown };
  if (secret === undefined || secret === null) invalid(`${argument}.secret`, `is required in 'shared-secret' mode (at least ${MIN_SECRET_BYTES} bytes, the same on every member)`);
  if (typeof secret !== 'string' && !(secret instanceof Uint8Array)) invalid(`${argument}.secret`, `must be a string or a Uint8Array, got ${typeof secret}`);
  const bytes = typeof secret === 'string' ? Buffer.byteLength(secret, 'utf8') : secret.byteLength;
  if (bytes < MIN_SECRET_BYTES) invalid(`${argument}.secret`, `must be at least ${MIN_SECRET_BYTES} bytes, got ${bytes}; use e.g. 32 random bytes (crypto.randomBytes(32))`);
  if (maxSkewMs !== undefined && (typeof maxSkewMs !== 'number' || !Number.isInteger(maxSkewMs) || maxSkewMs < 1 || maxSkewMs > MAX_SKEW_LIMIT_MS)) {
    invalid(`${argument}.maxSkewMs`, `must be an integer number of milliseconds from 1 to ${MAX_SKEW_LIMIT_MS}, got ${typeof maxSkewMs === 'number' ? String(maxSkewMs) : typeof maxSkewMs}`);
  }
  return auth as SharedSecretNodeAuth;
}

/** What {@link signRequest} signs. */
export interface SignRequestInput {
  readonly secret: string | Uint8Array;
  /** The HTTP method (upper-cased for signing). */
  readonly method: string;
  /** The request target exactly as sent: path and query, e.g. `/v1/raft/messages`. */
  readonly path: string;
  /** The sender's node id. */
  readonly sender: string;
  /** The exact body bytes (a string is taken as its UTF-8 bytes); empty for none. */
  readonly body: string | Uint8Array;
  /** The sender's clock in ms; default `Date.now()`. */
  readonly now?: number;
}

/** Signs one request: returns the four `x-kommander-*` headers to send with it. */
export function signRequest(input: SignRequestInput): SignedHeaders {
  const sender = encodeSender(input.sender);
  const timestamp = String(Math.floor(input.now ?? Date.now()));
  const nonce = randomBytes(16).toString('hex');
  const signature = sign(keyOf(input.secret), input.method, input.path, sender, timestamp, nonce, bodyHash(input.body));
  return {
    'x-kommander-sender': sender,
    'x-kommander-timestamp': timestamp,
    'x-kommander-nonce': nonce,
    'x-kommander-signature': signature,
  };
}

/** What {@link RequestVerifier.verify} checks. */
export interface VerifyRequestInput {
  readonly method: string;
  /** The request target exactly as received (path and query). */
  readonly path: string;
  /** The request headers, names lower-case (Node's `IncomingHttpHeaders` fits). */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The exact body bytes received. */
  readonly body: string | Uint8Array;
  /** The receiver's clock in ms; default `Date.now()`. */
  readonly now?: number;
  /** The sender the request claims elsewhere (e.g. a batch's `from`); when given it must equal the signed sender (else 403). */
  readonly claimedSender?: string;
}

export type VerifyResult = { readonly ok: true; readonly sender: string } | { readonly ok: false; readonly status: 401 | 403; readonly reason: string };

/** Options of a {@link RequestVerifier}: the shared-secret setting plus the replay cache bound. */
export interface RequestVerifierOptions {
  readonly secret: string | Uint8Array;
  readonly maxSkewMs?: number;
  /**
   * Most (sender, nonce) pairs remembered (default 100,000). When full, the oldest are forgotten and every
   * request of that sender with a timestamp at or before its newest forgotten one is refused, so a
   * forgotten nonce can never be replayed (and one sender's clock cannot get another's requests refused).
   */
  readonly maxNonces?: number;
  /**
   * Requests signed at or before this time (ms) are refused: the nonces of an earlier life of this node
   * are not known, so they could be replays. Default: the time of construction. Senders resend.
   */
  readonly startedAt?: number;
}

interface SeenNonce {
  /** The signing time plus the skew bound: after it the request is refused as expired anyway. */
  readonly expiresAt: number;
  readonly timestamp: number;
  readonly sender: string;
}

/**
 * The receiving side of shared-secret authentication: verifies signatures, the clock skew, and refuses
 * replayed nonces. One per node (its replay cache is what stops replays).
 */
export class RequestVerifier {
  readonly maxSkewMs: number;
  readonly maxNonces: number;
  private readonly key: Buffer;
  /** (sender, nonce) → when it may be forgotten; insertion order ≈ expiry order. */
  private readonly seen = new Map<string, SeenNonce>();
  /** Per sender: its requests with a timestamp ≤ this are refused, a nonce of theirs may have been evicted from a full cache. */
  private readonly evictedUpTo = new Map<string, number>();
  private readonly startedAt: number;

  constructor(options: RequestVerifierOptions) {
    validateNodeAuth({ mode: 'shared-secret', secret: options?.secret, ...(options?.maxSkewMs === undefined ? {} : { maxSkewMs: options.maxSkewMs }) });
    const maxNonces = options.maxNonces ?? DEFAULT_MAX_NONCES;
    if (!Number.isInteger(maxNonces) || maxNonces < 1) invalid('maxNonces', `must be a positive integer, got ${String(maxNonces)}`);
    this.key = keyOf(options.secret);
    this.maxSkewMs = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
    this.maxNonces = maxNonces;
    const startedAt = options.startedAt ?? Date.now();
    if (typeof startedAt !== 'number' || !Number.isFinite(startedAt)) invalid('startedAt', `must be a time in milliseconds, got ${String(startedAt)}`);
    this.startedAt = startedAt;
  }

  /** Remembered nonces (for tests and monitoring). */
  get nonceCount(): number {
    return this.seen.size;
  }

  verify(input: VerifyRequestInput): VerifyResult {
    const now = input.now ?? Date.now();
    const h = input.headers;
    const values: string[] = [];
    for (const name of [NODE_AUTH_HEADERS.sender, NODE_AUTH_HEADERS.timestamp, NODE_AUTH_HEADERS.nonce, NODE_AUTH_HEADERS.signature]) {
      const value = h[name];
      if (value === undefined || value === '') return refuse(401, `missing header ${name}; requests to this node must be signed (shared-secret authentication)`);
      if (typeof value !== 'string') return refuse(401, `header ${name} is given more than once`);
      values.push(value);
    }
    const [senderHeader, timestampHeader, nonce, signature] = values as [string, string, string, string];
    let sender: string;
    try {
      sender = decodeURIComponent(senderHeader);
    } catch {
      return refuse(401, `malformed header ${NODE_AUTH_HEADERS.sender}: not a percent-encoded node id`);
    }
    if (encodeSender(sender) !== senderHeader) return refuse(401, `malformed header ${NODE_AUTH_HEADERS.sender}: not in canonical percent-encoding (encodeURIComponent)`);
    if (!TIMESTAMP.test(timestampHeader)) return refuse(401, `malformed header ${NODE_AUTH_HEADERS.timestamp}: expected milliseconds since the epoch as a decimal integer`);
    if (!NONCE.test(nonce)) return refuse(401, `malformed header ${NODE_AUTH_HEADERS.nonce}: expected 32 lowercase hex digits (16 random bytes)`);
    if (!SIGNATURE.test(signature)) return refuse(401, `malformed header ${NODE_AUTH_HEADERS.signature}: expected 64 lowercase hex digits (HMAC-SHA256)`);
    const timestamp = Number(timestampHeader);
    if (Math.abs(now - timestamp) > this.maxSkewMs) {
      return refuse(401, `expired timestamp: the request was signed at ${timestamp}, ${now - timestamp} ms from this node's clock (${now}); at most ±${this.maxSkewMs} ms is accepted — check the clocks of both nodes`);
    }
    const expected = Buffer.from(sign(this.key, input.method, input.path, senderHeader, timestampHeader, nonce, bodyHash(input.body)), 'hex');
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
      return refuse(401, 'bad signature: it does not match the method, path, sender, timestamp, nonce and body under this node\'s secret (different secret, or the request was altered)');
    }
    if (input.claimedSender !== undefined && input.claimedSender !== sender) {
      return refuse(403, `sender mismatch: the request is signed by ${JSON.stringify(sender)} but claims to come from ${JSON.stringify(input.claimedSender)}`);
    }
    this.purge(now);
    const key = `${senderHeader}\n${nonce}`;
    if (this.seen.has(key)) return refuse(401, `replayed nonce: ${JSON.stringify(sender)} already sent nonce ${nonce}; every request needs a fresh one`);
    if (timestamp <= this.startedAt) {
      return refuse(401, `replayed nonce cannot be ruled out: the request was signed at ${timestamp}, before this node started verifying (${this.startedAt}), and the nonces of its earlier life are not known; resend it with a fresh timestamp`);
    }
    const evicted = this.evictedUpTo.get(senderHeader);
    if (evicted !== undefined && timestamp <= evicted) {
      return refuse(401, `replayed nonce cannot be ruled out: the request was signed at ${timestamp}, before the oldest nonce of ${JSON.stringify(sender)} this node still remembers (its replay cache of ${this.maxNonces} is full); resend it with a fresh timestamp`);
    }
    while (this.seen.size >= this.maxNonces) {
      const [oldestKey, oldest] = this.seen.entries().next().value as [string, SeenNonce];
      this.seen.delete(oldestKey);
      if (oldest.timestamp > (this.evictedUpTo.get(oldest.sender) ?? -1)) this.evictedUpTo.set(oldest.sender, oldest.timestamp);
    }
    this.seen.set(key, { expiresAt: timestamp + this.maxSkewMs, timestamp, sender: senderHeader });
    return { ok: true, sender };
  }

  /**
   * Forgets nonces whose requests are refused as expired by now anyway (signed more than maxSkewMs ago),
   * and eviction marks that old. Insertion order is close to expiry order; a late one waits for the next purge.
   */
  private purge(now: number): void {
    for (const [key, entry] of this.seen) {
      if (entry.expiresAt >= now) break;
      this.seen.delete(key);
    }
    if (this.evictedUpTo.size > 0) {
      for (const [sender, at] of this.evictedUpTo) if (at + this.maxSkewMs < now) this.evictedUpTo.delete(sender);
    }
  }
}

/** A sender as it goes into the header and the signature: percent-encoded, so no newline or non-ASCII. */
export function encodeSender(sender: string): string {
  if (typeof sender !== 'string' || sender === '') invalid('sender', `must be a non-empty string (a node id), got ${typeof sender === 'string' ? '""' : typeof sender}`);
  try {
    return encodeURIComponent(sender);
  } catch {
    return invalid('sender', 'must be well-formed Unicode (it contains a lone surrogate) to be sent in a header');
  }
}

function refuse(status: 401 | 403, reason: string): VerifyResult {
  return { ok: false, status, reason };
}

function keyOf(secret: string | Uint8Array): Buffer {
  return typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret); // a copy: later changes to the caller's array do not matter
}

function bodyHash(body: string | Uint8Array): string {
  return createHash('sha256').update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body).digest('hex');
}

function sign(key: Buffer, method: string, path: string, sender: string, timestamp: string, nonce: string, hash: string): string {
  return createHmac('sha256', key).update(`${method.toUpperCase()}\n${path}\n${sender}\n${timestamp}\n${nonce}\n${hash}`, 'utf8').digest('hex');
}

// ---------------------------------------------------------------------------------------------------------
// Mutual TLS

/** Options for `tls.createSecureContext`, `https.createServer`, `https.Agent` or `grpc.credentials` made from a {@link MutualTlsNodeAuth}. */
export interface NodeTlsOptions {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Servers ask for a client certificate… */
  readonly requestCert: true;
  /** …and refuse connections whose certificate does not chain to `ca` (clients refuse such servers). */
  readonly rejectUnauthorized: true;
  readonly minVersion: 'TLSv1.2';
}

/** The TLS options of a node in `mutual-tls` mode (validated first: throws like {@link validateNodeAuth}). */
export function nodeTlsOptions(auth: MutualTlsNodeAuth, argument = 'auth'): NodeTlsOptions {
  checkMutualTls(auth, argument);
  return { ca: pemBuffer(auth.ca), cert: pemBuffer(auth.cert), key: pemBuffer(auth.key), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' };
}

/**
 * The names a certificate gives its holder: the subject CN and every DNS, IP and URI subject alternative
 * name. Accepts an `X509Certificate`, PEM/DER bytes, or Node's `PeerCertificate` (`socket.getPeerCertificate()`).
 */
export function certificateNames(certificate: X509Certificate | Uint8Array | string | { readonly raw?: Uint8Array; readonly subject?: { readonly CN?: string | string[] }; readonly subjectaltname?: string }): string[] {
  let cn: string | string[] | undefined;
  let alt: string | undefined;
  if (certificate instanceof X509Certificate || typeof certificate === 'string' || certificate instanceof Uint8Array) {
    const x509 = certificate instanceof X509Certificate ? certificate : new X509Certificate(certificate);
    cn = subjectCn(x509.subject);
    alt = x509.subjectAltName;
  } else {
    cn = certificate.subject?.CN;
    alt = certificate.subjectaltname;
  }
  const names: string[] = [];
  if (typeof cn === 'string') names.push(cn);
  else if (Array.isArray(cn)) names.push(...cn);
  for (const part of splitAltNames(alt ?? '')) {
    const m = /^(DNS|IP Address|URI):(.*)$/.exec(part);
    if (m !== null) names.push(m[2]!);
  }
  return names;
}

/**
 * Whether a peer whose verified certificate has these `names` may send as `sender`, under `auth`.
 * Returns `undefined` when it may, else the reason to refuse (403).
 */
export function checkPeerIdentity(auth: MutualTlsNodeAuth, names: readonly string[], sender: string): string | undefined {
  if ((auth.peerIdentity ?? 'node-id') === 'ca') return undefined;
  if (names.includes(sender)) return undefined;
  return `certificate does not name the sender: it is for ${names.length === 0 ? 'no name' : names.map((n) => JSON.stringify(n)).join(', ')} but the request comes from ${JSON.stringify(sender)} (its CN or a subject alternative name must equal the node id)`;
}

const checkedTls = new WeakSet<object>();

function checkMutualTls(auth: MutualTlsNodeAuth, argument: string): void {
  if (checkedTls.has(auth)) return;
  const { peerIdentity } = auth;
  if (peerIdentity !== undefined && peerIdentity !== 'node-id' && peerIdentity !== 'ca') {
    invalid(`${argument}.peerIdentity`, `must be 'node-id' or 'ca', got ${JSON.stringify(String(peerIdentity).slice(0, 40))}`);
  }
  const cas = parseCertificates(auth.ca, `${argument}.ca`);
  const chain = parseCertificates(auth.cert, `${argument}.cert`);
  const leaf = chain[0]!;
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pemBuffer(requirePem(auth.key, `${argument}.key`)) });
  } catch (e) {
    return invalid(`${argument}.key`, `is not a readable unencrypted PEM private key (${(e as Error).message})`);
  }
  if (!leaf.checkPrivateKey(key)) invalid(`${argument}.key`, `does not belong to ${argument}.cert (subject ${JSON.stringify(leaf.subject.replace(/\n/g, ', '))})`);
  const now = Date.now();
  for (const [name, list] of [[`${argument}.cert`, chain], [`${argument}.ca`, cas]] as const) {
    for (const c of list) {
      if (Date.parse(c.validTo) < now) invalid(name, `has expired: ${JSON.stringify(c.subject.replace(/\n/g, ', '))} was valid until ${c.validTo}`);
      if (Date.parse(c.validFrom) > now) invalid(name, `is not valid yet: ${JSON.stringify(c.subject.replace(/\n/g, ', '))} is valid from ${c.validFrom} (check this machine's clock)`);
    }
  }
  for (const ca of cas) {
    if (!ca.ca) invalid(`${argument}.ca`, `holds ${JSON.stringify(ca.subject.replace(/\n/g, ', '))}, which is not a CA certificate (basicConstraints CA:TRUE); TLS would refuse every certificate it issued`);
  }
  for (const c of chain.slice(1)) {
    if (!c.ca) invalid(`${argument}.cert`, `carries ${JSON.stringify(c.subject.replace(/\n/g, ', '))} after the node's certificate, which is not a CA certificate (basicConstraints CA:TRUE)`);
  }
  const usages = leaf.keyUsage; // the extended key usages, when the certificate restricts them
  if (usages !== undefined && !(usages.includes(SERVER_AUTH) && usages.includes(CLIENT_AUTH))) {
    invalid(`${argument}.cert`, `is not allowed for both TLS server and client use (its extended key usage lists ${usages.join(', ') || 'nothing'}; a node needs serverAuth ${SERVER_AUTH} and clientAuth ${CLIENT_AUTH})`);
  }
  if (!chainsTo(leaf, chain.slice(1), cas)) {
    invalid(`${argument}.cert`, `was not issued by ${argument}.ca: ${JSON.stringify(leaf.subject.replace(/\n/g, ', '))} is issued by ${JSON.stringify(leaf.issuer.replace(/\n/g, ', '))}, which is not among the CA certificates (peers would refuse this node)`);
  }
  checkedTls.add(auth);
}

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/**
 * Whether `leaf` is signed by one of `cas`, directly or through `intermediates` (each link checked by
 * signature, not by name). For a peer's verified chain, pass the certificates Node reports above the leaf.
 */
export function chainsTo(leaf: X509Certificate, intermediates: readonly X509Certificate[], cas: readonly X509Certificate[]): boolean {
  let current = leaf;
  const pool = [...intermediates];
  for (let depth = 0; depth <= pool.length; depth++) {
    if (cas.some((ca) => current.checkIssued(ca) && current.verify(ca.publicKey))) return true;
    const at = pool.findIndex((c) => c.ca && current.checkIssued(c) && current.verify(c.publicKey));
    if (at < 0) return false;
    current = pool[at]!;
    pool.splice(at, 1);
  }
  return false;
}

/**
 * Start-up check of a node's own certificate: in `mutual-tls` mode with `peerIdentity: 'node-id'` it must
 * name `node` (CN or a SAN), or every peer would refuse this node. Throws {@link InvalidArgumentError}.
 */
export function checkOwnIdentity(auth: NodeAuth, node: string, argument = 'auth'): void {
  if (auth.mode !== 'mutual-tls' || (auth.peerIdentity ?? 'node-id') === 'ca') return;
  const leaf = parseCertificates(auth.cert, `${argument}.cert`)[0]!;
  const names = certificateNames(leaf);
  if (!names.includes(node)) {
    invalid(`${argument}.cert`, `does not name this node ${JSON.stringify(node)} (it names ${names.map((n) => JSON.stringify(n)).join(', ') || 'nothing'}); with peerIdentity 'node-id' every peer would refuse it — issue the certificate with CN or a subject alternative name ${JSON.stringify(node)}`);
  }
}

/** The CA certificates of a validated {@link MutualTlsNodeAuth}. */
export function caCertificates(auth: MutualTlsNodeAuth): X509Certificate[] {
  return parseCertificates(auth.ca, 'auth.ca');
}

function requirePem(value: unknown, argument: string): Pem {
  if (value === undefined || value === null) invalid(argument, `is required in 'mutual-tls' mode (PEM text or the bytes of a PEM file)`);
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) invalid(argument, `must be PEM text (a string) or its bytes (a Uint8Array), got ${typeof value}`);
  return value;
}

function pemBuffer(value: Pem): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

function parseCertificates(value: unknown, argument: string): X509Certificate[] {
  const text = pemBuffer(requirePem(value, argument)).toString('utf8');
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) invalid(argument, 'contains no PEM certificate (-----BEGIN CERTIFICATE-----)');
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (e) {
      return invalid(argument, `certificate ${i + 1} cannot be read (${(e as Error).message})`);
    }
  });
}

function subjectCn(subject: string): string[] {
  const out: string[] = [];
  for (const line of subject.split('\n')) if (line.startsWith('CN=')) out.push(unescapeDn(line.slice(3)));
  return out;
}

/** Undoes the escaping of a distinguished-name value as Node prints it (`\,` and the like, `\HH` bytes). */
function unescapeDn(value: string): string {
  if (!value.includes('\\')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === '\\' && i + 1 < value.length) {
      const hex = value.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
        continue;
      }
      i++;
    }
    bytes.push(...Buffer.from(value[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Splits Node's `subjectaltname` string (`DNS:a, IP Address:1.2.3.4, URI:"x\u002c y"`) into its parts;
 * a quoted value is a JSON string (Node quotes values holding special characters).
 */
function splitAltNames(alt: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < alt.length; i++) {
    const ch = alt[i]!;
    if (ch === '"') {
      let end = i + 1;
      while (end < alt.length && alt[end] !== '"') end += alt[end] === '\\' ? 2 : 1;
      try {
        current += JSON.parse(alt.slice(i, end + 1)) as string;
      } catch {
        current += alt.slice(i + 1, end); // not JSON: keep the text, it then matches nothing by accident
      }
      i = end;
    } else if (ch === ',') {
      parts.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim() !== '') parts.push(current.trim());
  return parts;
}
