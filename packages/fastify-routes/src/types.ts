import type { Message, NodeAuth, NodeId, PartitionStatus } from '@kommander/core';

/**
 * What the routes read from the local node: a `RaftManager` fits as it is. Kept structural so tests and
 * other hosts can pass their own.
 */
export interface KommanderNode {
  /** This node's id: batches whose messages are addressed elsewhere are refused. */
  readonly node: NodeId;
  /** The cluster members this node accepts Raft messages from (used when no `members` option is given). */
  members(): readonly NodeId[];
  /** Every partition on this node (0 = system). */
  partitions(): readonly number[];
  /** A point-in-time view of one partition (only called for ids `partitions()` lists). */
  partitionStatus(partition: number): PartitionStatus;
}

/**
 * The receiving end the node-to-node route hands valid batches to: `RestTransport` of
 * `@kommander/transport-rest` implements it.
 */
export interface RaftInbound {
  /**
   * Delivers one batch, already validated and addressed to this node. Returns `false` when the node is
   * not accepting messages now (not started or stopped); the route then answers 503 so the sender backs off.
   */
  receive(messages: readonly Message[]): boolean | void;
}

/** Options of the `kommanderRoutes` plugin. */
export interface KommanderRoutesOptions {
  /** The local node (a `RaftManager`), decorated onto the instance as `fastify.kommander`. Required. */
  readonly node: KommanderNode;
  /** Where valid batches go (the node's `RestTransport`). Required. */
  readonly inbound: RaftInbound;
  /** The senders whose batches are accepted. Default: `() => node.members()`. */
  readonly members?: () => Iterable<NodeId>;
  /** Largest accepted request body, in bytes; larger ones get 413. Default 32 MiB (the transport's default batch limit is 16 MiB). */
  readonly bodyLimit?: number;
  /** Where the routes are mounted. Default `'/v1/raft'`. Must start with `/` and not end with one. */
  readonly prefix?: string;
  /**
   * Node authentication of `POST /messages`. Default `{ mode: 'disabled' }`. Checked at `register`.
   *
   * With `{ mode: 'shared-secret', secret, maxSkewMs? }` every batch must be signed by a `RestTransport` holding
   * the same secret; it is verified over the raw body before the body is decoded, and the batch's `from`
   * must be the signed sender.
   *
   * With `{ mode: 'mutual-tls', ca, cert, key, peerIdentity? }` the host must be an HTTPS server that asks
   * for client certificates and trusts `ca` (`Fastify({ https: kommanderHttpsOptions(auth) })`; else
   * `register` fails). Every request must come over a connection whose client certificate was verified
   * and is issued by `ca` (else 401, checked before the body is read), and, with `peerIdentity: 'node-id'`
   * (the default), the certificate must name the batch's `from` as its CN or a subject alternative name
   * (else 403).
   */
  readonly auth?: NodeAuth;
  /**
   * Also require signed requests on the admin GET endpoints (signed over an empty body with
   * `signRequest` of `@kommander/core`). Default false: the admin endpoints are read-only and stay open
   * (in `mutual-tls` mode, open to every client the TLS handshake lets in). Needs `auth` in `shared-secret` mode.
   */
  readonly adminAuth?: boolean;
}
