import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { RecordField } from '../src/codec/entry-record.js';
import { SqliteWal, type SqliteWalOptions } from '../src/index.js';

/**
 * Jest runs the TypeScript sources as CommonJS, but a worker thread needs a real JavaScript file: the
 * tests use the built worker (the root `pnpm test` builds before jest). Jest's cwd is the repository root.
 */
export const PACKAGE_DIR = resolve(process.cwd(), 'packages/wal-sqlite');
export const WORKER_SCRIPT = join(PACKAGE_DIR, 'dist/sqlite-wal-worker.js');
if (!existsSync(WORKER_SCRIPT)) {
  throw new Error(`${WORKER_SCRIPT} is missing: build the package first (npx -y pnpm@10.34.9 turbo run build), then run jest from the repository root`);
}

export function fixture(name: string): string {
  return join(PACKAGE_DIR, 'test/fixtures', name);
}

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'kommander-wal-sqlite-'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export function sqliteWal(path: string, options: Omit<SqliteWalOptions, 'path' | 'workerScript'> = {}): SqliteWal {
  return new SqliteWal({ ...options, path, workerScript: WORKER_SCRIPT });
}

/** Copies the database and its SQLite WAL file as they are on disk, which is what a process killed now would leave behind. */
export async function copyAsCrashed(path: string, to: string): Promise<void> {
  await copyFile(path, to);
  if (existsSync(`${path}-wal`)) await copyFile(`${path}-wal`, `${to}-wal`);
}

interface RunRow {
  id: number;
  first: number;
  records: Buffer;
}

/** Flips the last byte of the newest batch's last run (or of its last hard state record when it wrote no entries): a torn final write. */
export function corruptTail(path: string): void {
  const db = new Database(path);
  try {
    const batch = db.prepare('SELECT max(batch) FROM (SELECT batch FROM runs UNION ALL SELECT batch FROM states)').pluck().get() as number;
    const run = db
      .prepare('SELECT r.id AS id, r.first AS first, b.records AS records FROM runs r JOIN run_records b ON b.id = r.id WHERE r.batch = ? ORDER BY r.id DESC LIMIT 1')
      .get(batch) as RunRow | undefined;
    if (run !== undefined) {
      flip(run.records, run.records.length - 1);
      db.prepare('UPDATE run_records SET records = ? WHERE id = ?').run(run.records, run.id);
      return;
    }
    const state = db.prepare('SELECT id, record FROM states WHERE batch = ? ORDER BY id DESC LIMIT 1').get(batch) as { id: number; record: Buffer };
    flip(state.record, state.record.length - 1);
    db.prepare('UPDATE states SET record = ? WHERE id = ?').run(state.record, state.id);
  } finally {
    db.close();
  }
}

/** Flips a byte inside the stored record of entry (`partition`, `index`), which its checksums cover. */
export function corruptRecord(path: string, partition: number, index: number): void {
  const db = new Database(path);
  try {
    const run = db
      .prepare(
        'SELECT r.id AS id, r.first AS first, b.records AS records FROM runs r JOIN run_records b ON b.id = r.id ' +
          'WHERE r.partition = ? AND r.first <= ? AND r.last >= ? AND r.dead IS NULL',
      )
      .get(partition, index, index) as RunRow | undefined;
    if (run === undefined) throw new Error(`corruptRecord: no stored record of partition ${partition}, index ${index} in ${path}`);
    let offset = 0;
    for (let i = run.first; i < index; i++) offset += run.records.readUInt32LE(offset);
    flip(run.records, offset + RecordField.term);
    db.prepare('UPDATE run_records SET records = ? WHERE id = ?').run(run.records, run.id);
  } finally {
    db.close();
  }
}

function flip(bytes: Buffer, at: number): void {
  bytes[at] = (bytes[at] as number) ^ 0x5a;
}

/** A small seeded PRNG (mulberry32): `next(n)` is an integer in [0, n). The crash writer fixture carries the same one in JavaScript. */
export function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
}
