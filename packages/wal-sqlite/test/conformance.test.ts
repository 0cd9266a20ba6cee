import { join } from 'node:path';
import type { Wal } from '@kommander/core';
import { walConformance } from '@kommander/testkit';
import type { SqliteWal } from '../src/index.js';
import { copyAsCrashed, corruptRecord, corruptTail, removeDir, sqliteWal, tempDir } from './support.js';

/** The temporary directories of each case's log, kept across the instances that reopen it. */
const dirs = new WeakMap<Wal, string[]>();

function walAt(dir: string, earlier: string[] = []): SqliteWal {
  const wal = sqliteWal(join(dir, 'wal.db'));
  dirs.set(wal, [...earlier, dir]);
  return wal;
}

function dirsOf(wal: Wal): string[] {
  const known = dirs.get(wal);
  if (known === undefined) throw new Error('conformance: a log that this test file did not create');
  return known;
}

walConformance({
  name: 'SqliteWal',
  test,
  factory: async () => walAt(await tempDir()),
  reopen: (wal) => {
    const known = dirsOf(wal);
    return walAt(known[known.length - 1] as string, known.slice(0, -1));
  },
  // What a process killed at this instant leaves on disk is the database and SQLite WAL files as they
  // are now (every commit is written to the OS before its append resolves; only a power loss could drop
  // the unsynced ones), so the crashed image is a copy of them, reopened elsewhere; crash.test.ts kills
  // real processes mid-write. The abandoned instance is then closed so that its worker stops.
  crash: async (wal) => {
    const known = dirsOf(wal);
    const image = await tempDir();
    await copyAsCrashed((wal as SqliteWal).path, join(image, 'wal.db'));
    await wal.close();
    dirs.set(wal, [...known, image]);
  },
  corruptTail: (wal) => corruptTail((wal as SqliteWal).path),
  corruptRecord: (wal, partition, index) => corruptRecord((wal as SqliteWal).path, partition, index),
  cleanup: async (wal) => {
    for (const dir of dirsOf(wal)) await removeDir(dir);
  },
  supports: { reopen: true, crash: true, corruption: true },
});
