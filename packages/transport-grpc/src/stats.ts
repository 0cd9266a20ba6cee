/** Counters of {@link GrpcTransport.stats}, from the transport's creation on. */
export interface GrpcTransportStats {
  /** Frames (batches) written to a peer's stream. */
  readonly framesSent: number;
  /** Frames dropped before sending: oversized, the peer unreachable or backing off, or too many bytes waiting. */
  readonly framesDropped: number;
  /** Streams opened after a successful Hello (the first connection and every reconnection). */
  readonly connections: number;
  /** Failed connection attempts and broken streams, each followed by a backoff. */
  readonly connectFailures: number;
  /** Frames received, checked and handed to the handler. */
  readonly framesReceived: number;
  /** Messages inside the received frames. */
  readonly messagesReceived: number;
  /** Calls and frames refused by this node's server (bad metadata, a non-member, an invalid frame). */
  readonly refused: number;
}

/** @internal The mutable counters behind {@link GrpcTransportStats}. */
export type TransportCounters = { -readonly [K in keyof GrpcTransportStats]: GrpcTransportStats[K] };

export function newCounters(): TransportCounters {
  return { framesSent: 0, framesDropped: 0, connections: 0, connectFailures: 0, framesReceived: 0, messagesReceived: 0, refused: 0 };
}
