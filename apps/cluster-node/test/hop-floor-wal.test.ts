import { EMPTY_DATA, EntryKind, type Entry } from '@kommander/core';
import { HopFloorWal } from '../src/hop-floor-wal.js';
import { parseOptions } from '../src/options.js';

const entry = (index: number): Entry => ({ index, term: 1, kind: EntryKind.Data, type: 'put', data: EMPTY_DATA, time: { physical: 1, counter: index } });

/** Lets every queued microtask run (an in-memory append settles within a few), but no I/O callback. */
async function drainMicrotasks(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

describe('HopFloorWal (benchmark probe)', () => {
  test('a synced append waits for one thread-pool round trip; a batch not to be synced does not', async () => {
    const wal = new HopFloorWal(true);
    await wal.open();
    let synced = false;
    const appended = wal
      .append({ writes: [{ partition: 1, entries: [entry(1), entry(2)], hardState: { term: 1, vote: 'a', commit: 0 } }], sync: true })
      .then(() => (synced = true));
    await drainMicrotasks();
    expect(synced).toBe(false);
    await appended;
    expect(synced).toBe(true);

    let unsynced = false;
    const commitOnly = wal.append({ writes: [{ partition: 1, entries: [], hardState: { term: 1, vote: 'a', commit: 2 } }], sync: false }).then(() => (unsynced = true));
    await drainMicrotasks();
    expect(unsynced).toBe(true);
    await commitOnly;

    expect(wal.probe).toEqual({ hops: 1 });
    expect((await wal.readEntries(1, 1, 3)).map((e) => e.index)).toEqual([1, 2]);
    expect(await wal.readHardState(1)).toEqual({ term: 1, vote: 'a', commit: 2 });
    await wal.close();
  });

  test('with sync off (--no-sync) it never hops', async () => {
    const wal = new HopFloorWal(false);
    await wal.open();
    await wal.append({ writes: [{ partition: 1, entries: [entry(1)] }], sync: true });
    expect(wal.probe).toEqual({ hops: 0 });
    expect(await wal.lastIndex(1)).toBe(1);
    await wal.close();
  });

  test('an append before open is refused and names the call to make', async () => {
    const wal = new HopFloorWal(true);
    await expect(wal.append({ writes: [{ partition: 1, entries: [entry(1)] }], sync: true })).rejects.toThrow(/open/);
  });

  test('cluster-node takes --wal hop-floor without --data', () => {
    const options = parseOptions(['--id', '127.0.0.1:7001', '--peers', '127.0.0.1:7001,127.0.0.1:7002', '--wal', 'hop-floor']);
    expect(options).toMatchObject({ wal: 'hop-floor', data: '' });
  });
});
