/**
 * TLS failures of a request to a peer, rewritten to say which side refused what and what to check. Node
 * reports them with OpenSSL's verification codes (`CERT_HAS_EXPIRED`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE` …),
 * `ERR_TLS_*` (the name check) or `ERR_SSL_*` (an alert from the peer, or a peer that does not speak TLS).
 */

/** OpenSSL's certificate verification results, as Node gives them in `error.code`. */
const VERIFY_CODES = /^(?:CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|INVALID_CA$|PATH_LENGTH_EXCEEDED$|INVALID_PURPOSE$|ERR_TLS_CERT_ALTNAME_INVALID$)/;

/**
 * When `error` is a TLS failure, a new Error (with `code` and `cause` kept) whose message names the peer,
 * what went wrong and what to check; otherwise `null`.
 *
 * `afterHandshake`: the connection was fresh, completed its handshake, and was reset before any answer —
 * under TLS 1.3 that is how a peer refusing this node's certificate shows (the client finishes its side
 * of the handshake before the server has checked the client certificate).
 */
export function describeTlsFailure(error: Error, peer: string, host: string, afterHandshake: boolean): Error | null {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  let reason: string | null = null;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    reason = `its certificate does not name ${JSON.stringify(host)}, the host this node dialled; issue it with that host as a subject alternative name (IP or DNS), or make resolve() return a name it has`;
  } else if (VERIFY_CODES.test(code)) {
    reason = `its certificate was refused by this node (${code}); it must be issued by this node's auth.ca and be valid now`;
  } else if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    reason = `it does not speak TLS at that address (${code}); serve the routes over HTTPS: Fastify({ https: kommanderHttpsOptions(auth) })`;
  } else if (/^ERR_SSL_.*ALERT/.test(code)) {
    reason = `it refused this node's certificate (${code}); auth.cert must be issued by the CA the peer trusts, be valid now, and be presented (auth in 'mutual-tls' mode)`;
  } else if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    reason = `${code}; check the TLS settings of both nodes (same CA, TLS 1.2 or later)`;
  } else if (afterHandshake && (code === 'ECONNRESET' || code === 'EPIPE')) {
    reason = `it closed the connection right after the TLS handshake (${code}), which is how a peer refuses this node's certificate; check that auth.cert is issued by the CA the peer trusts`;
  }
  if (reason === null) return null;
  const described = new Error(`TLS with ${peer} (${host}) failed: ${reason}. (${error.message})`, { cause: error });
  (described as NodeJS.ErrnoException).code = code;
  return described;
}
