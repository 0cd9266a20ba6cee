/**
 * @kommander/core: the Raft protocol, the partition runtime, routing, the hybrid logical clock, the ports
 * that adapters implement, and in-memory adapters for tests and demos.
 */
export { RaftManager } from './runtime/raft-manager.js';
export type { RaftManagerOptions } from './runtime/options.js';
export { RaftOperationStatus } from './runtime/status.js';
export type {
  LeaderChangedHandler,
  OperationResult,
  PartitionStatus,
  RaftLog,
  ReplicateOptions,
  ReplicationErrorHandler,
  ReplicationHandler,
  ReplicationResult,
  RestoreHandler,
  RestoreProgressHandler,
  RetentionHold,
  Unsubscribe,
} from './runtime/types.js';
export { InvalidArgumentError } from './runtime/validation.js';
export { SystemClock, systemClock } from './runtime/system-clock.js';
export { silentLogger } from './runtime/silent-logger.js';

export { Raft, RAFT_CONFIG_DEFAULTS } from './raft/raft.js';
export type { ProposeReason, ProposeResult, RaftStatusView } from './raft/raft.js';
export { EntryKind, EMPTY_DATA } from './raft/entry.js';
export type { Entry, EntryProposal } from './raft/entry.js';
export { MessageType } from './raft/message.js';
export type { Message, NodeId } from './raft/message.js';
export { EMPTY_HARD_STATE } from './raft/state.js';
export type { HardState, ReadState, Ready, Role, SoftState } from './raft/state.js';
export type { RaftConfig, RaftRestore } from './raft/config.js';

export type { Clock, TimerHandle } from './ports/clock.js';
export type { Discovery } from './ports/discovery.js';
export type { LogFn, Logger } from './ports/logger.js';
export type { MessageHandler, Transport } from './ports/transport.js';
export type { LogBase, Wal, WalBatch, WalPartitionWrite } from './ports/wal.js';
export type { StateTransfer } from './ports/state-transfer.js';

export { HLC_ZERO } from './hlc/timestamp.js';
export type { HLCTimestamp } from './hlc/timestamp.js';
export { HybridLogicalClock } from './hlc/hybrid-logical-clock.js';
export { compareHLC, formatTicket, hlcEquals, isHLCTimestamp, parseTicket } from './hlc/timestamp-order.js';

export { xxHash64 } from './routing/xxhash64.js';
export { initialPartitionRanges, MAX_INITIAL_PARTITIONS, ROUTING_HASH_MAX } from './routing/partition-range.js';
export type { PartitionRange } from './routing/partition-range.js';
export { PartitionRouter, routingHash } from './routing/partition-router.js';

export { InMemoryWal } from './memory/in-memory-wal.js';
export type { InMemoryWalOptions, InMemoryWalStats } from './memory/in-memory-wal.js';
export { InMemoryNetwork, InMemoryTransport } from './memory/in-memory-network.js';
export type { InMemoryNetworkOptions, InMemoryNetworkStats, LinkFilter } from './memory/in-memory-network.js';
export { StaticDiscovery } from './memory/static-discovery.js';

export {
  decodeMessageBatch,
  encodeMessageBatch,
  encodeMessageJson,
  joinMessageBatchJson,
  MAX_NODE_ID_LENGTH,
  MESSAGE_BATCH_JSON_SCHEMA,
  parseMessageBatch,
} from './codec/message-json.js';
export type { MessageBatch, MessageJsonError, MessageJsonResult } from './codec/message-json.js';
export { decodeBase64, encodeBase64 } from './codec/base64.js';

export {
  DEFAULT_MAX_NONCES,
  DEFAULT_MAX_SKEW_MS,
  MAX_SKEW_LIMIT_MS,
  MIN_SECRET_BYTES,
  NODE_AUTH_HEADERS,
  RequestVerifier,
  caCertificates,
  certificateNames,
  chainsTo,
  checkOwnIdentity,
  checkPeerIdentity,
  nodeTlsOptions,
  signRequest,
  validateNodeAuth,
} from './auth/node-auth.js';
export type {
  DisabledNodeAuth,
  MutualTlsNodeAuth,
  NodeAuth,
  NodeTlsOptions,
  Pem,
  RequestVerifierOptions,
  SharedSecretNodeAuth,
  SignedHeaders,
  SignRequestInput,
  VerifyRequestInput,
  VerifyResult,
} from './auth/node-auth.js';
