import { checkServerIdentity } from 'node:tls';
import {
  RequestVerifier,
  certificateNames,
  checkPeerIdentity,
  nodeTlsOptions,
  signRequest,
  type MutualTlsNodeAuth,
  type NodeAuth,
  type NodeId,
  type SharedSecretNodeAuth,
  type VerifyResult,
} from '@kommander/core';
import { credentials, ServerCredentials, status, type ChannelCredentials, type Metadata, type ServerUnaryCall } from '@grpc/grpc-js';
import { encodeFrame, type Refusal } from './codec.js';
import { RaftTransportServiceService, type FrameAuth } from './gen/kommander/transport/v1/transport.js';

/** The full gRPC method paths, as signed. */
export const HELLO_PATH = RaftTransportServiceService.hello.path;
export const STREAM_PATH = RaftTransportServiceService.stream.path;

/** What the checks read of an incoming call (unary or stream). */
export type IncomingCall = Pick<ServerUnaryCall<unknown, unknown>, 'metadata' | 'getAuthContext'>;

/** Checks one frame of a stream: its batch bytes and its signature, before the batch is decoded. */
export type FrameCheck = (batch: Uint8Array, auth: FrameAuth | undefined) => Refusal | undefined;

const acceptFrame: FrameCheck = () => undefined;
const NO_BODY = new Uint8Array(0);

/**
 * How one transport proves who it is to its peers and checks who calls it: one implementation per
 * {@link NodeAuth} mode, chosen once in the constructor so that the hot path never asks which mode it is in.
 */
export interface Authentication {
  readonly mode: NodeAuth['mode'];
  /** The credentials this node's server listens with. */
  readonly serverCredentials: ServerCredentials;
  /** The credentials of a channel to `peer` (a fresh object: each link owns its channel). */
  channelCredentials(peer: NodeId): ChannelCredentials;
  /** Adds to `metadata` what authenticates a call to `path` whose request is `body` (empty for Stream). */
  signCall(metadata: Metadata, path: string, body: Uint8Array): void;
  /** The frame that carries `batch` (an encoded Batch), signed when the mode signs frames. */
  seal(batch: Uint8Array): Uint8Array;
  /**
   * Checks a call that claims to come from `from` before anything of its body is decoded. Returns the
   * refusal (UNAUTHENTICATED or PERMISSION_DENIED), or undefined when the caller is who it claims.
   */
  verifyCall(call: IncomingCall, path: string, body: Uint8Array, from: NodeId): Refusal | undefined;
  /** The check of every frame of a stream whose caller `sender` passed {@link verifyCall}. */
  frameCheck(sender: NodeId): FrameCheck;
}

/** The {@link Authentication} of `auth`, which the caller validated (`validateNodeAuth`). */
export function createAuthentication(auth: NodeAuth, node: NodeId, argument: string): Authentication {
  switch (auth.mode) {
    case 'disabled':
      return new NoAuthentication();
    case 'shared-secret':
      return new SharedSecretAuthentication(auth, node);
    case 'mutual-tls':
      return new MutualTlsAuthentication(auth, argument);
  }
}

/** `disabled`: insecure channels; every caller is taken at its word (membership is still checked). */
class NoAuthentication implements Authentication {
  readonly mode = 'disabled';
  readonly serverCredentials = ServerCredentials.createInsecure();

  channelCredentials(): ChannelCredentials {
    return credentials.createInsecure();
  }

  signCall(): void {}

  seal(batch: Uint8Array): Uint8Array {
    return encodeFrame(batch, undefined);
  }

  verifyCall(): Refusal | undefined {
    return undefined;
  }

  frameCheck(): FrameCheck {
    return acceptFrame;
  }
}

function refusalOf(result: VerifyResult & { ok: false }, what: string): Refusal {
  return { code: result.status === 403 ? status.PERMISSION_DENIED : status.UNAUTHENTICATED, details: `${what} is refused: ${result.reason}` };
}

/**
 * `shared-secret`: calls carry the core's signed request headers as metadata (the Hello's over its request
 * bytes, the Stream's over no body) and every frame carries its own {@link FrameAuth} over its batch bytes,
 * checked by one {@link RequestVerifier} per transport (skew bound and replay cache) — one SHA-256 and one
 * HMAC per frame, whatever the number of messages in it.
 */
class SharedSecretAuthentication implements Authentication {
  readonly mode = 'shared-secret';
  readonly serverCredentials = ServerCredentials.createInsecure();
  private readonly secret: string | Uint8Array;
  private readonly verifier: RequestVerifier;

  constructor(
    auth: SharedSecretNodeAuth,
    private readonly node: NodeId,
  ) {
    this.secret = auth.secret;
    // The node id goes into every signature: an id that cannot be encoded fails now, not at the first send.
    signRequest({ secret: auth.secret, method: 'POST', path: STREAM_PATH, sender: node, body: NO_BODY });
    this.verifier = new RequestVerifier(auth.maxSkewMs === undefined ? { secret: auth.secret } : { secret: auth.secret, maxSkewMs: auth.maxSkewMs });
  }

  channelCredentials(): ChannelCredentials {
    return credentials.createInsecure();
  }

  signCall(metadata: Metadata, path: string, body: Uint8Array): void {
    const headers = signRequest({ secret: this.secret, method: 'POST', path, sender: this.node, body });
    for (const [name, value] of Object.entries(headers)) metadata.set(name, value);
  }

  seal(batch: Uint8Array): Uint8Array {
    const headers = signRequest({ secret: this.secret, method: 'POST', path: STREAM_PATH, sender: this.node, body: batch });
    return encodeFrame(batch, {
      timestamp: headers['x-kommander-timestamp'],
      nonce: headers['x-kommander-nonce'],
      signature: headers['x-kommander-signature'],
    });
  }

  verifyCall(call: IncomingCall, path: string, body: Uint8Array, from: NodeId): Refusal | undefined {
    const headers: Record<string, string | string[] | undefined> = {};
    for (const name of ['x-kommander-sender', 'x-kommander-timestamp', 'x-kommander-nonce', 'x-kommander-signature']) {
      const values = call.metadata.get(name).map(String);
      headers[name] = values.length <= 1 ? values[0] : values;
    }
    const result = this.verifier.verify({ method: 'POST', path, headers, body, claimedSender: from });
    return result.ok ? undefined : refusalOf(result, `the ${path === HELLO_PATH ? 'Hello' : 'Stream'} call`);
  }

  frameCheck(sender: NodeId): FrameCheck {
    // The stream's sender was verified with the call: every frame must be signed by that same sender.
    const senderHeader = encodeURIComponent(sender);
    return (batch, auth) => {
      if (auth === undefined) {
        return {
          code: status.UNAUTHENTICATED,
          details: 'the frame carries no signature (FrameAuth): this node requires shared-secret authentication; configure the same auth on every node',
        };
      }
      const result = this.verifier.verify({
        method: 'POST',
        path: STREAM_PATH,
        headers: {
          'x-kommander-sender': senderHeader,
          'x-kommander-timestamp': auth.timestamp,
          'x-kommander-nonce': auth.nonce,
          'x-kommander-signature': auth.signature,
        },
        body: batch,
      });
      return result.ok ? undefined : refusalOf(result, `a frame from ${JSON.stringify(sender)}`);
    };
  }
}

/**
 * `mutual-tls`: TLS both ways with certificates of the cluster's CA. The server requires and verifies a
 * client certificate and binds it to the caller's `kommander-from` (core's `checkPeerIdentity`) on every
 * Hello and once per stream; the client checks the server's certificate against the host it dialled and,
 * under `peerIdentity: 'node-id'`, against the peer id it means to reach.
 */
class MutualTlsAuthentication implements Authentication {
  readonly mode = 'mutual-tls';
  readonly serverCredentials: ServerCredentials;
  private readonly tls: ReturnType<typeof nodeTlsOptions>;

  constructor(
    private readonly auth: MutualTlsNodeAuth,
    argument: string,
  ) {
    this.tls = nodeTlsOptions(auth, argument);
    this.serverCredentials = ServerCredentials.createSsl(this.tls.ca, [{ cert_chain: this.tls.cert, private_key: this.tls.key }], true);
  }

  channelCredentials(peer: NodeId): ChannelCredentials {
    const { ca, key, cert } = this.tls;
    return credentials.createSsl(ca, key, cert, {
      // Replaces Node's host check in grpc-js, so that check comes first here.
      checkServerIdentity: (host, certificate) => {
        const hostError = checkServerIdentity(host, certificate);
        if (hostError !== undefined) return hostError;
        const reason = checkPeerIdentity(this.auth, certificateNames(certificate), peer);
        if (reason === undefined) return undefined;
        return new Error(`the server at ${host} is not peer ${JSON.stringify(peer)}: ${reason}; give each node a certificate naming its node id, or check resolve`);
      },
    });
  }

  signCall(): void {}

  seal(batch: Uint8Array): Uint8Array {
    return encodeFrame(batch, undefined);
  }

  verifyCall(call: IncomingCall, _path: string, _body: Uint8Array, from: NodeId): Refusal | undefined {
    const certificate = call.getAuthContext().sslPeerCertificate;
    if (certificate === undefined) {
      return { code: status.UNAUTHENTICATED, details: 'the call has no verified client certificate: this node requires mutual TLS with a certificate of the cluster\'s CA' };
    }
    const reason = checkPeerIdentity(this.auth, certificateNames(certificate), from);
    return reason === undefined ? undefined : { code: status.PERMISSION_DENIED, details: `the client certificate is refused: ${reason}` };
  }

  frameCheck(): FrameCheck {
    // The stream's sender is bound to the connection's certificate once; frames claiming another sender
    // are refused by the batch decoder (every message's `from` must be the stream's sender).
    return acceptFrame;
  }
}
