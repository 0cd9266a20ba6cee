/**
 * Mutual TLS on the receiving side: the host must be an HTTPS server that asks for client certificates and
 * trusts the cluster's CA (checked at register), and every node-to-node request must come over a
 * connection whose client certificate was verified and chains to that CA (checked per connection).
 */
import { X509Certificate } from 'node:crypto';
import { Server as TlsServer, type DetailedPeerCertificate } from 'node:tls';
import { caCertificates, certificateNames, chainsTo, type MutualTlsNodeAuth } from '@kommander/core';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;
const FIX = 'create the host with Fastify({ https: kommanderHttpsOptions(auth) })';

/** The SHA-256 fingerprints (`AB:CD:…`, as Node prints them) of the PEM certificates in `value`; unreadable ones are skipped. */
function fingerprints(value: unknown): Set<string> {
  const out = new Set<string>();
  const items = Array.isArray(value) ? (value as unknown[]) : [value];
  for (const item of items) {
    const text = typeof item === 'string' ? item : item instanceof Uint8Array ? Buffer.from(item).toString('utf8') : '';
    for (const block of text.match(PEM_CERTIFICATE) ?? []) {
      try {
        out.add(new X509Certificate(block).fingerprint256);
      } catch {
        // Not a certificate Node can read: it cannot be the cluster's CA either.
      }
    }
  }
  return out;
}

/** The verified outcome for one TLS connection. */
export type PeerCheck = { readonly ok: true; readonly names: readonly string[] } | { readonly ok: false; readonly reason: string };

/** Checks client certificates against the cluster's CA (`auth.ca`), once per connection. */
export class PeerCertificates {
  private readonly clusterCa: ReadonlySet<string>;
  private readonly clusterCaCertificates: readonly X509Certificate[];
  /**
   * Per socket: a connection's client certificate is verified once, in its handshake, so every request on
   * a kept-alive connection gets the same answer. (A TLS 1.2 renegotiation cannot lend a connection a
   * certificate whose key the client did not already prove it holds.)
   */
  private readonly checked = new WeakMap<object, PeerCheck>();

  constructor(readonly auth: MutualTlsNodeAuth) {
    this.clusterCaCertificates = caCertificates(auth);
    this.clusterCa = new Set(this.clusterCaCertificates.map((c) => c.fingerprint256));
  }

  /**
   * At register: `server` (the Fastify instance's) must be an HTTPS server that requests client
   * certificates and whose `ca` contains the cluster's CA. Throws what is wrong and how to fix it.
   */
  checkServer(server: unknown): void {
    const where = "@kommander/fastify-routes: options.auth is 'mutual-tls', but";
    if (!(server instanceof TlsServer)) throw new TypeError(`${where} this Fastify instance serves plain HTTP; ${FIX}`);
    const options = server as TlsServer & { readonly requestCert?: unknown; readonly ca?: unknown };
    if (options.requestCert !== true) {
      throw new TypeError(`${where} its HTTPS server does not ask clients for a certificate (https.requestCert is not true), so peers cannot be identified; ${FIX}`);
    }
    const trusted = fingerprints(options.ca);
    if (![...this.clusterCa].some((f) => trusted.has(f))) {
      throw new TypeError(`${where} its HTTPS server does not trust the cluster's CA (https.ca does not contain options.auth.ca), so the members' certificates would be refused; ${FIX}, or add auth.ca to https.ca`);
    }
  }

  /** Whether the connection of a request (`request.raw.socket`) carries a verified certificate of the cluster's CA, and the names it gives. */
  check(socket: unknown): PeerCheck {
    if (socket === null || typeof socket !== 'object') return { ok: false, reason: 'the request has no connection to check' };
    let result = this.checked.get(socket);
    if (result === undefined) {
      result = this.verify(socket as { readonly authorized?: unknown; readonly authorizationError?: unknown; getPeerCertificate?: (detailed: true) => DetailedPeerCertificate });
      this.checked.set(socket, result);
    }
    return result;
  }

  private verify(socket: { readonly authorized?: unknown; readonly authorizationError?: unknown; getPeerCertificate?: (detailed: true) => DetailedPeerCertificate }): PeerCheck {
    if (typeof socket.getPeerCertificate !== 'function') {
      return { ok: false, reason: "the connection is not TLS; in 'mutual-tls' mode nodes connect over HTTPS with their certificate" };
    }
    const leaf = socket.getPeerCertificate(true);
    const tlsError = String(socket.authorizationError ?? 'not verified');
    if (leaf === null || typeof leaf !== 'object' || leaf.raw === undefined) {
      return { ok: false, reason: `no client certificate was presented (TLS: ${tlsError}); the sender needs auth in 'mutual-tls' mode with a certificate issued by the cluster's CA` };
    }
    if (socket.authorized !== true) {
      return { ok: false, reason: `the client certificate ${describe(leaf)} was not verified (TLS: ${tlsError}); it must be issued by the cluster's CA (auth.ca) and be valid now` };
    }
    // TLS verified the chain against every CA the host trusts; this one must lead to the cluster's CA by
    // signature (Node's reported chain is rebuilt by names, which another CA could share).
    const above: X509Certificate[] = [];
    const seen = new Set<string>([leaf.fingerprint256]);
    for (let c = leaf.issuerCertificate; c !== undefined && c !== null && c.raw !== undefined && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
      seen.add(c.fingerprint256);
      above.push(new X509Certificate(c.raw));
    }
    if (chainsTo(new X509Certificate(leaf.raw), above, this.clusterCaCertificates)) return { ok: true, names: certificateNames(leaf) };
    return { ok: false, reason: `the client certificate ${describe(leaf)} is trusted by this HTTPS server but not issued by the cluster's CA (options.auth.ca); only members' certificates may send Raft messages` };
  }
}

function describe(certificate: DetailedPeerCertificate): string {
  const cn = certificate.subject?.CN;
  return cn === undefined ? `(serial ${certificate.serialNumber})` : `for ${JSON.stringify(Array.isArray(cn) ? cn.join(', ') : cn)}`;
}
