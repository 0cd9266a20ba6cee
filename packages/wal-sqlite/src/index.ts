/**
 * @kommander/wal-sqlite: Kommander's write-ahead log on SQLite (better-sqlite3), run in a worker thread
 * so that fsyncs never block the event loop.
 */
export { SqliteWal } from './sqlite-wal.js';
export type { SqliteWalOptions, SqliteWalRepair, SqliteWalStats } from './sqlite-wal-options.js';
export { SqliteWalError, SqliteWalErrorCode } from './errors.js';
