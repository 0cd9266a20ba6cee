// Measures a restore-sized read: readEntries(p, first, last) of 1,000,000 entries of 16 bytes, and a
// reopen (which verifies every record). Prints one JSON line. Usage: node bench/read-million.mjs [entries] [perBatch]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SqliteWal } from '../dist/index.js';

const total = Number(process.argv[2] ?? 1_000_000);
const perBatch = Number(process.argv[3] ?? 1_000);
const dir = mkdtempSync(join(tmpdir(), 'kommander-wal-sqlite-bench-'));
try {
  const path = join(dir, 'wal.db');
  let wal = new SqliteWal({ path, sync: false });
  await wal.open();
  const data = new Uint8Array(16).fill(7);
  let t = performance.now();
  for (let from = 1; from <= total; from += perBatch) {
    const entries = [];
    for (let index = from; index < from + perBatch && index <= total; index++) {
      entries.push({ index, term: 1, kind: 1, type: 'set', data, time: { physical: 1_700_000_000_000 + index, counter: 0 } });
    }
    await wal.append({ writes: [{ partition: 1, entries }], sync: false });
  }
  const writeMs = performance.now() - t;
  await wal.close();
  wal = new SqliteWal({ path });
  t = performance.now();
  await wal.open();
  const openMs = performance.now() - t;
  t = performance.now();
  const entries = await wal.readEntries(1, await wal.firstIndex(1), await wal.lastIndex(1));
  const readMs = performance.now() - t;
  if (entries.length !== total || entries[total - 1].index !== total) throw new Error(`read ${entries.length} entries`);
  await wal.close();
  const wal2 = new SqliteWal({ path, verifyOnOpen: false });
  t = performance.now();
  await wal2.open();
  const openUnverifiedMs = performance.now() - t;
  await wal2.close();
  console.log(JSON.stringify({ entries: total, perBatch, writeMs: Math.round(writeMs), openVerifiedMs: Math.round(openMs), openUnverifiedMs: Math.round(openUnverifiedMs), readEntriesMs: Math.round(readMs) }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
