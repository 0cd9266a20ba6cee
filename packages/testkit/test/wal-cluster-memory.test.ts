import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InMemoryWal, type Wal } from '@kommander/core';
import { walClusterSuite } from '../src/conformance/wal-cluster.js';

jest.setTimeout(60_000);

// The suite run on the in-memory log, so that the suite itself is tested without a native adapter. A
// marker file in the directory stands for the log's files: deleting the directory forgets the log.
const logs = new Map<string, InMemoryWal>();
walClusterSuite({
  name: 'memory',
  test,
  createWal: (dir: string): Wal => {
    const marker = join(dir, 'memory-wal');
    let wal = logs.get(dir);
    if (wal === undefined || !existsSync(marker)) {
      wal = new InMemoryWal();
      logs.set(dir, wal);
      writeFileSync(marker, '');
    }
    return wal;
  },
});
