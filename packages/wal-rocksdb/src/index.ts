/**
 * @kommander/wal-rocksdb: Kommander's write-ahead log on RocksDB. One RocksDB write batch (and at most
 * one fsync) per group commit, ordered (partition, index) keys, a CRC-32 on every record.
 */
export { RocksDbWal } from './rocksdb-wal.js';
export type { RocksDbWalStats } from './rocksdb-wal.js';
export type { RocksDbWalOptions } from './options.js';
export type { RocksDbWalRepair } from './recovery.js';
export { WalCorruptionError } from './corruption.js';
