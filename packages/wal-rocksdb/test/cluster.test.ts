import { join } from 'node:path';
import { walClusterSuite } from '@kommander/testkit';
import { RocksDbWal } from '../src/index.js';

jest.setTimeout(60_000);

// Three RaftManagers in one process, each on its own RocksDB directory, over the in-memory network.
walClusterSuite({
  name: 'rocksdb',
  test,
  createWal: (dir) => new RocksDbWal({ path: join(dir, 'wal.rocksdb') }),
});
