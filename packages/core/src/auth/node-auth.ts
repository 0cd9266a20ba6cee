/**
 * Node authentication for node-to-node requests. Modes: `disabled` (tests, trusted networks) and
 * `shared-secret` (every request signed with HMAC-SHA256). Mutual TLS comes later as a third member of
 * {@link NodeAuth}.
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
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { invalid } from '../runtime/validation.js';

/** How a node authenticates the requests it sends and receives. */
export type NodeAuth = DisabledNodeAuth | SharedSecretNodeAuth;

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
    invalid(argument, `must be an object { mode: 'disabled' } or { mode: 'shared-secret', secret }, got ${auth === null ? 'null' : Array.isArray(auth) ? 'an array' : typeof auth}`);
  }
  const mode = (auth as { mode?: unknown }).mode;
  if (mode === 'disabled') return auth as DisabledNodeAuth;
  if (mode !== 'shared-secret') {
    invalid(`${argument}.mode`, `must be 'disabled' or 'shared-secret', got ${typeof mode === 'string' ? JSON.stringify(mode.slice(0, 40)) : String(mode)}`);
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
   * request with a timestamp at or before the newest forgotten one is refused, so a forgotten nonce can
   * never be replayed.
   */
  readonly maxNonces?: number;
}

interface SeenNonce {
  readonly expiresAt: number;
  readonly timestamp: number;
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
  /** Requests with a timestamp ≤ this are refused: a nonce of theirs may have been evicted from a full cache. */
  private evictedUpTo = -1;

  constructor(options: RequestVerifierOptions) {
    validateNodeAuth({ mode: 'shared-secret', secret: options?.secret, ...(options?.maxSkewMs === undefined ? {} : { maxSkewMs: options.maxSkewMs }) });
    const maxNonces = options.maxNonces ?? DEFAULT_MAX_NONCES;
    if (!Number.isInteger(maxNonces) || maxNonces < 1) invalid('maxNonces', `must be a positive integer, got ${String(maxNonces)}`);
    this.key = keyOf(options.secret);
    this.maxSkewMs = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
    this.maxNonces = maxNonces;
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
    if (timestamp <= this.evictedUpTo) {
      return refuse(401, `replayed nonce cannot be ruled out: the request was signed at ${timestamp}, before the oldest nonce this node still remembers (its replay cache of ${this.maxNonces} is full); resend it with a fresh timestamp`);
    }
    while (this.seen.size >= this.maxNonces) {
      const oldest = this.seen.entries().next().value as [string, SeenNonce];
      this.seen.delete(oldest[0]);
      if (oldest[1].timestamp > this.evictedUpTo) this.evictedUpTo = oldest[1].timestamp;
    }
    this.seen.set(key, { expiresAt: now + 2 * this.maxSkewMs, timestamp });
    return { ok: true, sender };
  }

  /** Forgets nonces older than 2 × maxSkewMs (a replay of them is refused as expired anyway). */
  private purge(now: number): void {
    for (const [key, entry] of this.seen) {
      if (entry.expiresAt > now) break;
      this.seen.delete(key);
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
