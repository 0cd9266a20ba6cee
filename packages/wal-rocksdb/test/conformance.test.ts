import { walConformance } from '@kommander/testkit';
import { RocksDbWal } from '../src/index.js';
import { corruptEntry, removeDir, tearLastBatch, tempDir } from './damage.js';

const asRocks = (wal: unknown): RocksDbWal => wal as RocksDbWal;

walConformance({
  name: 'RocksDbWal',
  test,
  factory: () => new RocksDbWal({ path: tempDir() }),
  reopen: (wal) => new RocksDbWal({ path: asRocks(wal).path }),
  // In-process death: the instance is abandoned without its closing fsync and its queued writes are
  // dropped; crash.test.ts kills real child processes for the faithful version.
  crash: (wal) => asRocks(wal).crash(),
  corruptTail: (wal) => tearLastBatch(asRocks(wal).path),
  corruptRecord: (wal, partition, index) => corruptEntry(asRocks(wal).path, partition, index),
  cleanup: async (wal) => {
    await asRocks(wal).close();
    removeDir(asRocks(wal).path);
  },
  supports: { reopen: true, crash: true, corruption: true },
});
