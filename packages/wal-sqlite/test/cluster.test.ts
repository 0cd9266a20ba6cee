import { join } from 'node:path';
import { walClusterSuite } from '@kommander/testkit';
import { WORKER_SCRIPT } from './support.js';
import { SqliteWal } from '../src/index.js';

jest.setTimeout(60_000);

// Three RaftManagers in one process, each on its own SQLite file, over the in-memory network.
walClusterSuite({
  name: 'sqlite',
  test,
  createWal: (dir) => new SqliteWal({ path: join(dir, 'wal.sqlite'), workerScript: WORKER_SCRIPT }),
});
