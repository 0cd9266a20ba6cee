import { join } from 'node:path';
import { EntryKind, InMemoryWal, type Entry, type Wal, type WalPartitionWrite } from '@kommander/core';
import type { SqliteWal } from '../src/index.js';
import { prng, removeDir, sqliteWal, tempDir } from './support.js';

/**
 * Random batches, overwrites, snapshots, compactions and reopens against the reference InMemoryWal:
 * exercises how runs are merged, cut at an overwrite or a compaction, and split when large. A failure
 * names its seed and step; the same seed replays it. No fsyncs: this is about what is stored, not when
 * it is durable.
 */

const PARTITIONS = 5;
const STEPS = 400;
const SEEDS = [11, 12, 13];

function describeEntries(entries: readonly Entry[]): string {
  return entries.map((e) => `${e.index}/${e.term}/${e.kind}/${e.type}/${e.time.physical}.${e.time.counter}/${Buffer.from(e.data).toString('hex')}`).join(' ');
}

for (const seed of SEEDS) {
  test(`random operations read back as on the reference log (seed ${seed})`, async () => {
    const dir = await tempDir();
    const random = prng(seed);
    const model = new InMemoryWal();
    await model.open();
    let wal: SqliteWal = sqliteWal(join(dir, 'wal.db'), { sync: false });
    await wal.open();
    const same = async (what: string, read: (log: Wal) => Promise<unknown>): Promise<void> => {
      const got = await read(wal);
      const want = await read(model);
      const text = (value: unknown): string => (Array.isArray(value) && value.length > 0 && typeof value[0] === 'object' ? describeEntries(value as Entry[]) : JSON.stringify(value));
      expect(`${what}: ${text(got)}`).toBe(`${what}: ${text(want)}`);
    };
    try {
      for (let step = 0; step < STEPS; step++) {
        const where = `seed ${seed}, step ${step}`;
        const roll = random(100);
        if (roll < 5) {
          await wal.close();
          wal = sqliteWal(join(dir, 'wal.db'), { sync: false });
          await wal.open();
        } else if (roll < 12) {
          const partition = 1 + random(PARTITIONS);
          const first = await model.firstIndex(partition);
          const last = await model.lastIndex(partition);
          const through = first === 0 ? random(5) : first - 1 + random(last - first + 3);
          await wal.compact(partition, through);
          await model.compact(partition, through);
        } else {
          const writes: WalPartitionWrite[] = [];
          for (const partition of new Set(Array.from({ length: 1 + random(3) }, () => 1 + random(PARTITIONS)))) {
            const last = await model.lastIndex(partition);
            const first = await model.firstIndex(partition);
            const base = (await model.logBase(partition)).index;
            const snapshot = random(30) === 0 ? { index: Math.max(base, last) + 1 + random(5), term: step } : undefined;
            let start = snapshot !== undefined ? snapshot.index + 1 : last === 0 ? base + 1 : last + 1;
            if (snapshot === undefined && last > 0 && random(5) === 0) start = first + random(last - first + 1);
            const large = random(8) === 0;
            const entries: Entry[] = [];
            const count = snapshot !== undefined && random(2) === 0 ? 0 : 1 + random(large ? 80 : 6);
            for (let k = 0; k < count; k++) {
              const data = new Uint8Array(large ? random(3000) : random(40)).map((_, i) => (step + k + i) & 0xff);
              entries.push({ index: start + k, term: step, kind: random(2) === 0 ? EntryKind.Data : EntryKind.Proposed, type: random(3) === 0 ? '' : `t${random(3)}`, data, time: { physical: step, counter: k } });
            }
            const hardState = random(3) === 0 ? { term: step, vote: random(2) === 0 ? '' : `n${step}`, commit: random(10) } : undefined;
            writes.push({ partition, entries, ...(snapshot === undefined ? {} : { snapshot }), ...(hardState === undefined ? {} : { hardState }) });
          }
          const sync = random(4) !== 0;
          await wal.append({ writes, sync });
          await model.append({ writes, sync });
        }
        const partition = 1 + random(PARTITIONS);
        const first = await model.firstIndex(partition);
        const last = await model.lastIndex(partition);
        const from = first + random(Math.max(1, last - first + 2)) - 1;
        const to = from + random(60);
        await same(`${where}: entries ${from}..${to} of partition ${partition}`, (log) => log.readEntries(partition, from, to));
        const index = first + random(Math.max(1, last - first + 2)) - 1;
        await same(`${where}: term of ${index} in partition ${partition}`, (log) => log.term(partition, index));
      }
      for (let partition = 1; partition <= PARTITIONS; partition++) {
        const where = `seed ${seed}, end, partition ${partition}`;
        await same(`${where}: everything`, (log) => log.readEntries(partition, 0, Number.MAX_SAFE_INTEGER));
        await same(`${where}: extent`, async (log) => [await log.firstIndex(partition), await log.lastIndex(partition), await log.logBase(partition), await log.readHardState(partition)]);
      }
      await same(`seed ${seed}: partitions`, (log) => log.partitions());
    } finally {
      await wal.close();
      await removeDir(dir);
    }
  }, 60_000);
}
