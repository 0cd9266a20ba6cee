import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_DATA, EntryKind, type Entry } from '@kommander/core';
import { FsyncFloorWal } from '../src/fsync-floor-wal.js';
import { parseOptions } from '../src/options.js';

const entry = (index: number): Entry => ({ index, term: 1, kind: EntryKind.Data, type: 'put', data: EMPTY_DATA, time: { physical: 1, counter: index } });

describe('FsyncFloorWal (benchmark probe)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kommander-fsync-floor-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('keeps the log in memory and overwrites its preallocated scratch file with about the batch size', async () => {
    const path = join(dir, 'nested', 'floor.bin');
    const wal = new FsyncFloorWal(path, true);
    await wal.open();
    const size = statSync(path).size;
    expect(size).toBeGreaterThanOrEqual(1024 * 1024);
    await wal.append({ writes: [{ partition: 1, entries: [entry(1), entry(2)], hardState: { term: 1, vote: 'a', commit: 0 } }], sync: true });
    await wal.append({ writes: [{ partition: 1, entries: [], hardState: { term: 1, vote: 'a', commit: 2 } }], sync: false });
    expect(wal.probe).toEqual({ writes: 2, bytes: 2 * 48 + 32 + 32, syncs: 1 });
    expect(statSync(path).size).toBe(size);
    expect((await wal.readEntries(1, 1, 3)).map((e) => e.index)).toEqual([1, 2]);
    expect(await wal.readHardState(1)).toEqual({ term: 1, vote: 'a', commit: 2 });
    await wal.close();
  });

  test('with sync off (--no-sync) it writes but never fdatasyncs', async () => {
    const wal = new FsyncFloorWal(join(dir, 'floor.bin'), false);
    await wal.open();
    await wal.append({ writes: [{ partition: 1, entries: [entry(1)] }], sync: true });
    expect(wal.probe).toEqual({ writes: 1, bytes: 48, syncs: 0 });
    await wal.close();
  });

  test('an append before open is refused and names the call to make', async () => {
    const wal = new FsyncFloorWal(join(dir, 'floor.bin'), true);
    await expect(wal.append({ writes: [{ partition: 1, entries: [entry(1)] }], sync: true })).rejects.toThrow(/call \(and await\) open\(\) first/);
  });

  test('cluster-node takes --wal fsync-floor only with --data', () => {
    const base = ['--id', '127.0.0.1:7001', '--peers', '127.0.0.1:7001,127.0.0.1:7002', '--wal', 'fsync-floor'];
    expect(parseOptions([...base, '--data', dir])).toMatchObject({ wal: 'fsync-floor', data: dir });
    expect(() => parseOptions(base)).toThrow(/--data DIR is required with --wal fsync-floor/);
  });
});
