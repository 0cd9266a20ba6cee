import { InvalidArgumentError, nodeTlsOptions, validateNodeAuth, type MutualTlsNodeAuth, type NodeTlsOptions } from '@kommander/core';

/**
 * The `https` options of a Fastify host whose Kommander routes use `auth` in `mutual-tls` mode:
 * `Fastify({ https: kommanderHttpsOptions(auth) })`. The server presents `auth.cert`, asks every client for
 * a certificate (`requestCert: true`), refuses the handshake of a client whose certificate does not chain
 * to `auth.ca` (`rejectUnauthorized: true`, which also guards the host's other routes and the admin
 * endpoints) and speaks TLS 1.2 or later.
 *
 * Throws `InvalidArgumentError` when `auth` is not a valid `mutual-tls` setting (unreadable PEM, key not
 * matching the certificate, expired or not yet valid, certificate not issued by `ca`).
 */
export function kommanderHttpsOptions(auth: MutualTlsNodeAuth): NodeTlsOptions {
  const valid = validateNodeAuth(auth, 'kommanderHttpsOptions: auth');
  if (valid.mode !== 'mutual-tls') {
    throw new InvalidArgumentError('kommanderHttpsOptions: auth.mode', `must be 'mutual-tls' (HTTPS with client certificates), got ${JSON.stringify(valid.mode)}`);
  }
  return nodeTlsOptions(valid, 'kommanderHttpsOptions: auth');
}
