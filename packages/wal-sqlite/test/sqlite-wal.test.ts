import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { EntryKind, InvalidArgumentError, type Entry, type HardState } from '@kommander/core';
import { SqliteWal, SqliteWalErrorCode, type SqliteWalOptions, type SqliteWalRepair } from '../src/index.js';
import { corruptRecord, corruptTail, fixture, removeDir, sqliteWal, tempDir } from './support.js';

let dir: string;
let path: string;
const opened: SqliteWal[] = [];

beforeEach(async () => {
  dir = await tempDir();
  path = join(dir, 'wal.db');
});

afterEach(async () => {
  for (const wal of opened.splice(0)) await wal.close();
  await removeDir(dir);
});

async function open(options: Omit<SqliteWalOptions, 'path' | 'workerScript'> = {}): Promise<SqliteWal> {
  const wal = sqliteWal(path, options);
  opened.push(wal);
  await wal.open();
  return wal;
}

function entries(partition: number, from: number, to: number, term = 1): Entry[] {
  const out: Entry[] = [];
  for (let index = from; index <= to; index++) {
    out.push({ index, term, kind: EntryKind.Data, type: `p${partition}`, data: new Uint8Array([partition, index & 0xff, term]), time: { physical: index, counter: partition } });
  }
  return out;
}

async function terms(wal: SqliteWal, partition: number): Promise<string> {
  return (await wal.readEntries(partition, 0, Number.MAX_SAFE_INTEGER)).map((e) => `${e.index}:${e.term}`).join(' ');
}

describe('options', () => {
  const bad: [string, unknown, RegExp][] = [
    ['no options', undefined, /SqliteWal: options must be an object/],
    ['no path', {}, /options\.path must be a non-empty string/],
    ['an empty path', { path: '' }, /options\.path must be a non-empty string/],
    ['an in-memory database', { path: ':memory:' }, /options\.path must be a file path/],
    ['a non-boolean sync', { path: 'x.db', sync: 'yes' }, /options\.sync must be a boolean/],
    ['a non-boolean verifyOnOpen', { path: 'x.db', verifyOnOpen: 1 }, /options\.verifyOnOpen must be a boolean/],
    ['an onRepair that is not a function', { path: 'x.db', onRepair: 'log' }, /options\.onRepair must be a function/],
    ['a workerScript that is not a path', { path: 'x.db', workerScript: 42 }, /options\.workerScript must be a path or a file URL/],
  ];
  for (const [what, options, message] of bad) {
    test(`${what} is refused at construction`, () => {
      const construct = (): SqliteWal => new SqliteWal(options as SqliteWalOptions);
      expect(construct).toThrow(InvalidArgumentError);
      expect(construct).toThrow(message);
    });
  }

  test('the path is made absolute', () => {
    expect(new SqliteWal({ path: 'relative/wal.db' }).path).toBe(join(process.cwd(), 'relative/wal.db'));
  });
});

describe('lifecycle', () => {
  test('calls before open and after close reject; open twice rejects; close twice is fine', async () => {
    const wal = sqliteWal(path);
    await expect(wal.lastIndex(1)).rejects.toMatchObject({ code: SqliteWalErrorCode.notOpen, message: expect.stringContaining('call open() first') });
    await wal.open();
    await expect(wal.open()).rejects.toMatchObject({ code: SqliteWalErrorCode.notOpen, message: expect.stringContaining('already') });
    await wal.close();
    await wal.close();
    await expect(wal.partitions()).rejects.toMatchObject({ code: SqliteWalErrorCode.notOpen });
    await wal.open();
    expect(await wal.partitions()).toEqual([]);
    await wal.close();
  });

  test('the parent directory is created', async () => {
    path = join(dir, 'nested', 'deeper', 'wal.db');
    const wal = await open();
    expect(await wal.partitions()).toEqual([]);
  });

  test('a worker that dies fails the calls in flight and closes the log', async () => {
    const wal = new SqliteWal({ path, workerScript: fixture('dying-worker.mjs') });
    await wal.open();
    await expect(wal.lastIndex(1)).rejects.toMatchObject({
      code: SqliteWalErrorCode.workerStopped,
      message: expect.stringMatching(/worker thread of .* stopped \(it exited with code 3.*1 call\(s\) in flight; the log is closed/),
    });
    await expect(wal.lastIndex(1)).rejects.toMatchObject({ code: SqliteWalErrorCode.notOpen });
    await wal.close();
  });

  test('a missing worker script fails the open with the script named', async () => {
    const script = join(dir, 'missing-worker.js');
    const wal = new SqliteWal({ path, workerScript: script });
    await expect(wal.open()).rejects.toMatchObject({ code: SqliteWalErrorCode.workerStopped, message: expect.stringContaining(script) });
  });
});

describe('appends', () => {
  test('stats count appends, entries and one fsync per synced batch', async () => {
    const wal = await open();
    await wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 3) }, { partition: 2, entries: entries(2, 1, 2) }], sync: true });
    await wal.append({ writes: [{ partition: 1, entries: entries(1, 4, 4) }], sync: false });
    await wal.append({ writes: [{ partition: 1, entries: entries(1, 5, 6) }], sync: true });
    await wal.append({ writes: [], sync: true });
    expect(wal.stats()).toEqual({ appends: 4, syncs: 3, entries: 8 });
    await wal.close();
    await wal.open();
    expect(wal.stats()).toEqual({ appends: 0, syncs: 0, entries: 0 });
  });

  test('with sync off no append counts as an fsync', async () => {
    const wal = await open({ sync: false });
    await wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 3) }], sync: true });
    expect(wal.stats()).toEqual({ appends: 1, syncs: 0, entries: 3 });
  });

  test('a write that would leave a gap rejects and none of the batch is applied', async () => {
    const wal = await open();
    await wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 2) }, { partition: 2, entries: entries(2, 1, 2) }], sync: true });
    const batch = { writes: [{ partition: 1, entries: entries(1, 3, 4), hardState: { term: 2, vote: 'a', commit: 1 } }, { partition: 2, entries: entries(2, 4, 4) }], sync: true };
    await expect(wal.append(batch)).rejects.toThrow(/partition 2 is 2; a write must start at or before 3/);
    await expect(wal.append(batch)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await terms(wal, 1)).toBe('1:1 2:1');
    expect(await wal.readHardState(1)).toBeUndefined();
    expect(wal.stats().appends).toBe(1);
  });

  test('malformed entries reject with the partition and entry named', async () => {
    const wal = await open();
    const bad = (entry: Record<string, unknown>): Promise<void> =>
      wal.append({ writes: [{ partition: 4, entries: [{ ...(entries(4, 1, 1)[0] as Entry), ...entry } as Entry] }], sync: true });
    await expect(bad({ data: 'text' })).rejects.toThrow(/writes\[0\]\.entries\[0\]\.data must be a Uint8Array \(partition 4\)/);
    await expect(bad({ type: 7 })).rejects.toThrow(/entries\[0\]\.type must be a string/);
    await expect(bad({ kind: 300 })).rejects.toThrow(/entries\[0\]\.kind must be an EntryKind/);
    await expect(bad({ time: { physical: -1, counter: 0 } })).rejects.toThrow(/entries\[0\]\.time must be an HLC timestamp/);
    await expect(bad({ term: 1.5 })).rejects.toThrow(/entries\[0\]\.term must be an integer/);
    await expect(wal.append({ writes: [], sync: 'yes' } as never)).rejects.toThrow(/batch\.sync must be a boolean/);
    expect(await wal.partitions()).toEqual([]);
  });

  test('two writes of one partition in a batch apply in order, the second overwriting the first', async () => {
    const wal = await open();
    await wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 4) }], sync: true });
    await wal.append({
      writes: [
        { partition: 1, entries: entries(1, 5, 9, 2), hardState: { term: 2, vote: 'é', commit: 1 } },
        { partition: 2, entries: entries(2, 1, 1) },
        { partition: 1, entries: entries(1, 3, 6, 3), hardState: { term: 3, vote: 'ü', commit: 2 } },
      ],
      sync: true,
    });
    const expected = '1:1 2:1 3:3 4:3 5:3 6:3';
    expect(await terms(wal, 1)).toBe(expected);
    await wal.close();
    await wal.open();
    expect(await terms(wal, 1)).toBe(expected);
    expect(await wal.readHardState(1)).toEqual({ term: 3, vote: 'ü', commit: 2 });
  });

  test('large batches are cut into runs and read back across them, whole and in part', async () => {
    const wal = await open();
    const big: Entry[] = [];
    for (let index = 1; index <= 300; index++) {
      const data = new Uint8Array(1000 + index).fill(index & 0xff);
      big.push({ index, term: 1, kind: EntryKind.Data, type: 'blob', data, time: { physical: index, counter: 0 } });
    }
    await wal.append({ writes: [{ partition: 1, entries: big }], sync: true });
    const read = await wal.readEntries(1, 50, 250);
    expect(read.map((e) => e.index)).toEqual(big.slice(49, 250).map((e) => e.index));
    expect(read.every((e) => e.data.length === 1000 + e.index && e.data[0] === (e.index & 0xff))).toBe(true);
    await wal.append({ writes: [{ partition: 1, entries: entries(1, 120, 121, 2) }], sync: true });
    expect(await wal.lastIndex(1)).toBe(121);
    expect(await wal.term(1, 119)).toBe(1);
    expect(await wal.term(1, 120)).toBe(2);
    await wal.compact(1, 70);
    await wal.close();
    await wal.open();
    expect((await wal.readEntries(1, 0, 200)).map((e) => e.index)).toEqual(Array.from({ length: 51 }, (_, i) => 71 + i));
  });
});

describe('repairs', () => {
  const h = (term: number): HardState => ({ term, vote: 'n', commit: 0 });

  async function cutLastBatch(before: (wal: SqliteWal) => Promise<void>, last: (wal: SqliteWal) => Promise<void>): Promise<{ wal: SqliteWal; reported: SqliteWalRepair[] }> {
    let wal = await open();
    await before(wal);
    await last(wal);
    await wal.close();
    corruptTail(path);
    const reported: SqliteWalRepair[] = [];
    wal = await open({ onRepair: (repair) => reported.push(repair) });
    return { wal, reported };
  }

  test('a torn last batch is cut, reported to onRepair and by repairs(), and the cut is durable', async () => {
    const { wal, reported } = await cutLastBatch(
      (w) => w.append({ writes: [{ partition: 1, entries: entries(1, 1, 3), hardState: h(1) }], sync: true }),
      (w) => w.append({ writes: [{ partition: 1, entries: entries(1, 4, 6), hardState: h(2) }, { partition: 2, entries: entries(2, 1, 2) }], sync: true }),
    );
    expect(reported).toEqual([{ kind: 'torn-tail', path, batch: 2, partitions: [1, 2], reason: expect.stringMatching(/^partition 2, index 2: /) }]);
    expect(wal.repairs()).toEqual(reported);
    expect(await terms(wal, 1)).toBe('1:1 2:1 3:1');
    expect(await wal.readHardState(1)).toEqual(h(1));
    expect(await wal.partitions()).toEqual([1]);
    await wal.close();
    await wal.open();
    expect(wal.repairs()).toEqual([]);
    expect(await terms(wal, 1)).toBe('1:1 2:1 3:1');
  });

  test('an onRepair that throws fails the open and leaves the log closed', async () => {
    let wal = await open();
    await wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 3) }], sync: true });
    await wal.append({ writes: [{ partition: 1, entries: entries(1, 4, 4) }], sync: true });
    await wal.close();
    corruptTail(path);
    wal = sqliteWal(path, {
      onRepair: () => {
        throw new Error('refused by the operator');
      },
    });
    await expect(wal.open()).rejects.toThrow('refused by the operator');
    await expect(wal.lastIndex(1)).rejects.toMatchObject({ code: SqliteWalErrorCode.notOpen });
    const again = await open();
    expect(again.repairs()).toEqual([]);
    expect(await again.lastIndex(1)).toBe(3);
  });

  test('cutting a batch that overwrote a suffix gives the overwritten entries back', async () => {
    const { wal, reported } = await cutLastBatch(
      (w) => w.append({ writes: [{ partition: 1, entries: entries(1, 1, 10), hardState: h(1) }], sync: true }),
      (w) => w.append({ writes: [{ partition: 1, entries: entries(1, 6, 7, 2), hardState: h(2) }], sync: true }),
    );
    expect(reported).toHaveLength(1);
    expect(await terms(wal, 1)).toBe('1:1 2:1 3:1 4:1 5:1 6:1 7:1 8:1 9:1 10:1');
    expect(await wal.readHardState(1)).toEqual(h(1));
  });

  test('cutting a snapshot write gives the log and base before it back', async () => {
    const { wal, reported } = await cutLastBatch(
      async (w) => {
        await w.append({ writes: [{ partition: 3, entries: entries(3, 1, 8) }], sync: true });
        await w.compact(3, 2);
      },
      (w) => w.append({ writes: [{ partition: 3, snapshot: { index: 40, term: 5 }, entries: entries(3, 41, 42, 5) }], sync: true }),
    );
    expect(reported).toHaveLength(1);
    expect(await terms(wal, 3)).toBe('3:1 4:1 5:1 6:1 7:1 8:1');
    expect(await wal.logBase(3)).toEqual({ index: 2, term: 1 });
  });

  test('cutting a damaged compaction gives the compacted entries back', async () => {
    const { wal, reported } = await cutLastBatch(
      (w) => w.append({ writes: [{ partition: 1, entries: entries(1, 1, 6) }], sync: true }),
      (w) => w.compact(1, 3),
    );
    expect(reported).toEqual([expect.objectContaining({ batch: 2, partitions: [1] })]);
    expect(await terms(wal, 1)).toBe('1:1 2:1 3:1 4:1 5:1 6:1');
    expect(await wal.logBase(1)).toEqual({ index: 0, term: 0 });
  });

  test('a damaged hard state written last is cut like entries', async () => {
    const { wal, reported } = await cutLastBatch(
      (w) => w.append({ writes: [{ partition: 1, entries: entries(1, 1, 2), hardState: h(1) }], sync: true }),
      (w) => w.append({ writes: [{ partition: 1, entries: [], hardState: h(9) }], sync: true }),
    );
    expect(reported).toEqual([expect.objectContaining({ reason: expect.stringContaining('partition 1, hard state and base') })]);
    expect(await wal.readHardState(1)).toEqual(h(1));
  });
});

describe('verification', () => {
  async function corruptPartition7(): Promise<void> {
    const wal = await open();
    for (let from = 1; from <= 100; from += 10) await wal.append({ writes: [{ partition: 7, entries: entries(7, from, from + 9) }], sync: true });
    await wal.close();
    corruptRecord(path, 7, 42);
  }

  test('with verifyOnOpen off, open succeeds and the reads that touch the damaged record fail naming it', async () => {
    await corruptPartition7();
    const wal = await open({ verifyOnOpen: false });
    expect(await wal.readEntries(7, 1, 30)).toHaveLength(30);
    expect(await wal.term(7, 99)).toBe(1);
    const named = { code: SqliteWalErrorCode.corrupt, partition: 7, index: 42, message: expect.stringMatching(/partition 7, index 42: its record fails its checksum/) };
    await expect(wal.readEntries(7, 1, 100)).rejects.toMatchObject(named);
    await expect(wal.term(7, 45)).rejects.toMatchObject(named);
    await expect(wal.compact(7, 44)).rejects.toMatchObject(named);
  });

  test('by default the open fails naming the damaged record', async () => {
    await corruptPartition7();
    await expect(open()).rejects.toMatchObject({ code: SqliteWalErrorCode.corrupt, partition: 7, index: 42 });
  });

  test('a damaged metadata value fails its read naming the key', async () => {
    let wal = await open();
    await wal.setMeta('node', Buffer.from('n1'));
    await wal.close();
    const db = new Database(path);
    db.prepare("UPDATE meta SET value = x'6e32' WHERE key = 'node'").run();
    db.close();
    wal = await open();
    await expect(wal.getMeta('node')).rejects.toMatchObject({ code: SqliteWalErrorCode.corrupt, message: expect.stringContaining('"node"') });
  });
});

describe('files that are not this WAL', () => {
  test('a log written by a newer schema version is refused', async () => {
    const wal = await open();
    await wal.close();
    const db = new Database(path);
    db.pragma('user_version = 2');
    db.close();
    await expect(wal.open()).rejects.toMatchObject({ code: SqliteWalErrorCode.incompatible, message: expect.stringContaining('newer @kommander/wal-sqlite (schema version 2') });
  });

  test("another program's SQLite database is refused and left alone", async () => {
    const db = new Database(path);
    db.exec('CREATE TABLE users (name TEXT)');
    db.close();
    await expect(open()).rejects.toMatchObject({ code: SqliteWalErrorCode.incompatible, message: expect.stringContaining('another program') });
  });

  test('a file that is not a SQLite database is refused', async () => {
    await writeFile(path, 'not a database, just some text that is long enough to fill a header '.repeat(20));
    await expect(open()).rejects.toMatchObject({ code: SqliteWalErrorCode.incompatible, message: expect.stringContaining('is not a SQLite database') });
  });
});
