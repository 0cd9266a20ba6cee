// Measures the RocksDB WAL on this machine: synced group-commit throughput and reading back 1M entries.
// Build first (`npx -y pnpm@10.34.9 turbo run build --filter=@kommander/wal-rocksdb`), then run from the
// repository root: `node packages/wal-rocksdb/bench/measure.mjs [runEntries ...]`. Prints one JSON line
// per measurement. Not part of the test suite (it takes about a minute).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RocksDbWal } from '../dist/index.js';

const PAYLOAD = 16;
const time = { physical: 1_700_000_000_000, counter: 0 };

function entry(partition, index) {
  const data = new Uint8Array(PAYLOAD);
  data[0] = partition;
  data[1] = index & 0xff;
  return { index, term: 1, kind: 1, type: 'bench', data, time };
}

async function withWal(body) {
  const path = mkdtempSync(join(tmpdir(), 'kommander-wal-rocksdb-bench-'));
  try {
    return await body(path);
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}

/** Synced batches of 64 entries of 16 B spread over 8 partitions (8 each), one after the other. */
async function appendThroughput(batches, options) {
  return withWal(async (path) => {
    const wal = new RocksDbWal({ path, ...options });
    await wal.open();
    const next = new Array(9).fill(1);
    const started = process.hrtime.bigint();
    for (let b = 0; b < batches; b++) {
      const writes = [];
      for (let p = 1; p <= 8; p++) {
        const entries = [];
        for (let k = 0; k < 8; k++) entries.push(entry(p, next[p]++));
        writes.push({ partition: p, entries, hardState: { term: 1, vote: 'n1', commit: next[p] - 9 } });
      }
      await wal.append({ writes, sync: true });
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const stats = wal.stats();
    await wal.close();
    return { measure: 'append', options, batches, entriesPerBatch: 64, partitions: 8, payloadBytes: PAYLOAD, seconds: +seconds.toFixed(3), batchesPerSecond: Math.round(batches / seconds), entriesPerSecond: Math.round(stats.entries / seconds), fsyncsPerEntry: +(stats.syncs / stats.entries).toFixed(4) };
  });
}

/** 1M entries of one partition written `perWrite` per append (small runs get merged as they would in production), then reopened and read back whole. */
async function restore(total, perWrite) {
  return withWal(async (path) => {
    let wal = new RocksDbWal({ path, sync: false });
    await wal.open();
    for (let from = 1; from <= total; from += perWrite) {
      const entries = [];
      for (let i = from; i < Math.min(from + perWrite, total + 1); i++) entries.push(entry(1, i));
      await wal.append({ writes: [{ partition: 1, entries }], sync: false });
    }
    await wal.close();
    const results = { measure: 'restore', entries: total, entriesPerAppend: perWrite };
    for (const verifyOnOpen of [true, false]) {
      wal = new RocksDbWal({ path, verifyOnOpen });
      let started = process.hrtime.bigint();
      await wal.open();
      const openMs = Number(process.hrtime.bigint() - started) / 1e6;
      started = process.hrtime.bigint();
      const read = await wal.readEntries(1, await wal.firstIndex(1), await wal.lastIndex(1));
      const readMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (read.length !== total || read[total - 1].index !== total) throw new Error(`read ${read.length} entries`);
      await wal.close();
      results[verifyOnOpen ? 'verified' : 'unverified'] = { openMs: Math.round(openMs), readEntriesMs: Math.round(readMs) };
    }
    return results;
  });
}

const runSizes = process.argv.slice(2).map(Number);
// Three rounds, alternating, because the machine may be shared: compare the medians.
for (let round = 0; round < 3; round++) {
  console.log(JSON.stringify(await appendThroughput(3000, {})));
  console.log(JSON.stringify(await appendThroughput(3000, { smallRunsToMerge: 0 })));
}
for (const perWrite of runSizes.length > 0 ? runSizes : [8, 64, 1024]) console.log(JSON.stringify(await restore(1_000_000, perWrite)));
