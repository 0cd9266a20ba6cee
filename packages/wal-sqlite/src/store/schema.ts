import type Database from 'better-sqlite3';
import { SqliteWalError, SqliteWalErrorCode } from '../errors.js';

/** `PRAGMA application_id` of a Kommander WAL ("KMDW"), so another program's SQLite file is never mistaken for one. */
export const APPLICATION_ID = 0x4b4d4457;

/** `PRAGMA user_version`: the schema this code writes. An older one would be migrated here; a newer one is refused. */
export const SCHEMA_VERSION = 1;

/**
 * Every row written by a batch (or a compaction) carries that batch's sequence number in `batch`. Rows
 * the newest batch replaced are not deleted at once but marked with its number in `dead`, and deleted
 * by the next batch: so when the newest batch turns out damaged on open, removing its rows and reviving
 * the ones it marked gives back exactly the log as it was before it. A run's records live in their own
 * table, so that marking a run dead rewrites a small row, never its records.
 *
 * There is no index besides the row ids: the worker reads the small `runs` and `states` rows on open and
 * keeps each partition's runs in memory (partition-runs.ts). New rows therefore always land at the end of
 * their tables, and a batch over many partitions dirties a few pages, not one index page per partition.
 */
const SCHEMA = `
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  partition INTEGER NOT NULL,
  first INTEGER NOT NULL,
  last INTEGER NOT NULL,
  batch INTEGER NOT NULL,
  dead INTEGER,
  crc INTEGER NOT NULL,
  bytes INTEGER NOT NULL
);

CREATE TABLE run_records (
  id INTEGER PRIMARY KEY,
  records BLOB NOT NULL
);

CREATE TABLE states (
  id INTEGER PRIMARY KEY,
  partition INTEGER NOT NULL,
  batch INTEGER NOT NULL,
  dead INTEGER,
  record BLOB NOT NULL
);

CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  crc INTEGER NOT NULL,
  value BLOB NOT NULL
);
`;

/** Creates the schema in an empty database, or checks that the database is a WAL this code can read. Runs inside the open transaction. */
export function prepareSchema(db: Database.Database, path: string): void {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  if (applicationId === 0 && version === 0) {
    const objects = db.prepare('SELECT count(*) FROM sqlite_master').pluck().get() as number;
    if (objects > 0) {
      throw new SqliteWalError(
        SqliteWalErrorCode.incompatible,
        `SqliteWal.open: ${path} is a SQLite database of another program (it has tables but is not a Kommander WAL); give SqliteWal a path of its own`,
      );
    }
    db.exec(SCHEMA);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    return;
  }
  if (applicationId !== APPLICATION_ID) {
    throw new SqliteWalError(
      SqliteWalErrorCode.incompatible,
      `SqliteWal.open: ${path} is a SQLite database of another program (application_id ${applicationId}); give SqliteWal a path of its own`,
    );
  }
  if (version > SCHEMA_VERSION) {
    throw new SqliteWalError(
      SqliteWalErrorCode.incompatible,
      `SqliteWal.open: ${path} was written by a newer @kommander/wal-sqlite (schema version ${version}; this one reads up to ${SCHEMA_VERSION}); upgrade @kommander/wal-sqlite`,
    );
  }
  if (version < 1) {
    throw new SqliteWalError(SqliteWalErrorCode.incompatible, `SqliteWal.open: ${path} has an unknown schema version ${version}; it was not written by SqliteWal`);
  }
}
