import type { Logger, NodeAuth, NodeId } from '@kommander/core';

/** Options of {@link GrpcTransport}. */
export interface GrpcTransportOptions {
  /** This node's id. Kommander uses the node's endpoint (`"127.0.0.1:7001"`) by default. Required. */
  readonly node: NodeId;
  /**
   * The current cluster members. Called for every incoming call and frame: batches from any other node are
   * refused with PERMISSION_DENIED and never reach the handler. Required.
   */
  readonly members: () => Iterable<NodeId>;
  /** Interface to listen on. Default: the host part of `node` when it reads `host:port`, else `127.0.0.1`. */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one (read it back with `address()`). Default: the port part of `node` when it reads `host:port`, else 0. */
  readonly port?: number;
  /** The `host:port` of a peer. Default: the peer's id itself (ids are endpoints). Returning `undefined` drops the batch. */
  readonly resolve?: (peer: NodeId) => string | undefined;
  /** Largest frame (one batch, encoded), in bytes, sent or accepted; also gRPC's max send/receive message size. Default 4 MiB. */
  readonly maxMessageBytes?: number;
  /** When set, partitions must be 0 .. partitions-1; frames naming another are refused. Default: not bounded. */
  readonly partitions?: number;
  /** Deadline of the unary `Hello` that precedes every (re)connection, in ms. Default 2000. */
  readonly callTimeoutMs?: number;
  /** First reconnection delay after a failure, in ms; it doubles on each further failure. Default 50. */
  readonly reconnectMinMs?: number;
  /** Largest reconnection delay, in ms. Default 5000. */
  readonly reconnectMaxMs?: number;
  /** Bytes per peer and lane that may wait for a connection or for the stream to drain before batches are dropped. Default 64 MiB. */
  readonly maxQueuedBytes?: number;
  /** Interval of HTTP/2 keepalive pings on idle connections, in ms, so a dead peer is noticed. Default 10000. */
  readonly keepaliveMs?: number;
  /** Receives warnings (refused or oversized batches, refused connections) and debug lines (drops, reconnections). Default: silent. */
  readonly logger?: Logger;
  /**
   * Node authentication, the same mode on every member; checked in the constructor, so misconfiguration
   * fails at start-up. Default `{ mode: 'disabled' }`.
   *
   * - `{ mode: 'shared-secret', secret, maxSkewMs? }`: every call (Hello, Stream) is signed in its metadata
   *   and every frame carries its own signature over its batch bytes (HMAC-SHA256, core's `signRequest`); the
   *   receiver checks them before decoding, refuses replays and timestamps more than `maxSkewMs` off, and
   *   answers UNAUTHENTICATED or PERMISSION_DENIED.
   * - `{ mode: 'mutual-tls', ca, cert, key, peerIdentity? }`: TLS both ways with certificates of `ca`; the
   *   server binds the client certificate to the caller's node id (see `peerIdentity`), the client checks
   *   the server's certificate against the host it dialled and, by default, the peer's node id.
   */
  readonly auth?: NodeAuth;
}

/** Defaults of {@link GrpcTransportOptions}. */
export const GRPC_TRANSPORT_DEFAULTS = Object.freeze({
  maxMessageBytes: 4 * 1024 * 1024,
  callTimeoutMs: 2000,
  reconnectMinMs: 50,
  reconnectMaxMs: 5000,
  maxQueuedBytes: 64 * 1024 * 1024,
  keepaliveMs: 10_000,
});
