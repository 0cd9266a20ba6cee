import zlib from 'node:zlib';
import { EntryKind, InMemoryWal, InvalidArgumentError, type Entry, type Wal, type WalPartitionWrite } from '@kommander/core';
import { crc32 } from '../src/crc32.js';
import { BASE_PREFIX, HARD_STATE_PREFIX, MARKER_KEY, metaKey, partitionKey } from '../src/keys.js';
import { RocksDbWal, WalCorruptionError, type RocksDbWalOptions, type RocksDbWalRepair } from '../src/index.js';
import { corruptEntry, corruptRecord, removeDir, tearLastBatch, tempDir, withStore } from './damage.js';

const ALL = Number.MAX_SAFE_INTEGER;

function entry(partition: number, index: number, term = 1): Entry {
  const data = new Uint8Array(index % 5);
  for (let i = 0; i < data.length; i++) data[i] = (partition * 13 + index * 7 + i) & 0xff;
  return { index, term, kind: EntryKind.Data, type: `t${partition}`, data, time: { physical: 1_000 + index, counter: partition } };
}

function entries(partition: number, from: number, to: number, term = 1): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(partition, i, term));
  return out;
}

/** Runs `body` with a fresh directory, removed afterwards; every log opened through `open` is closed. */
async function withDir(body: (open: (options?: Partial<RocksDbWalOptions>) => Promise<RocksDbWal>, path: string) => Promise<void>): Promise<void> {
  const path = tempDir();
  const opened: RocksDbWal[] = [];
  const open = async (options: Partial<RocksDbWalOptions> = {}): Promise<RocksDbWal> => {
    const wal = new RocksDbWal({ ...options, path });
    await wal.open();
    opened.push(wal);
    return wal;
  };
  try {
    await body(open, path);
  } finally {
    for (const wal of opened) await wal.close();
    removeDir(path);
  }
}

describe('options', () => {
  const bad: [string, unknown, RegExp][] = [
    ['no options', undefined, /options must be an object/],
    ['a missing path', {}, /options\.path is required/],
    ['an empty path', { path: '' }, /options\.path is required/],
    ['a non-boolean sync', { path: '/tmp/x', sync: 'yes' }, /options\.sync must be a boolean/],
    ['a non-boolean verifyOnOpen', { path: '/tmp/x', verifyOnOpen: 1 }, /options\.verifyOnOpen must be a boolean/],
    ['maxRunEntries 0', { path: '/tmp/x', maxRunEntries: 0 }, /options\.maxRunEntries must be an integer from 1/],
    ['a fractional maxRunBytes', { path: '/tmp/x', maxRunBytes: 4096.5 }, /options\.maxRunBytes must be an integer/],
    ['a tiny writeBufferSize', { path: '/tmp/x', writeBufferSize: 10 }, /options\.writeBufferSize must be an integer from 65536/],
    ['smallRunsToMerge 1', { path: '/tmp/x', smallRunsToMerge: 1 }, /options\.smallRunsToMerge must be 0 \(never merge\) or at least 2/],
    ['a negative cacheSize', { path: '/tmp/x', cacheSize: -1 }, /options\.cacheSize must be an integer from 0/],
    ['an onRepair that is not a function', { path: '/tmp/x', onRepair: 'log' }, /options\.onRepair must be a function/],
  ];
  for (const [what, options, message] of bad) {
    test(`${what} is rejected at construction with an InvalidArgumentError`, () => {
      const create = (): RocksDbWal => new RocksDbWal(options as RocksDbWalOptions);
      expect(create).toThrow(InvalidArgumentError);
      expect(create).toThrow(message);
    });
  }

  test('the path is made absolute', () => {
    expect(new RocksDbWal({ path: 'relative/dir' }).path).toBe(`${process.cwd()}/relative/dir`);
  });

  test('entries the format cannot hold are rejected and nothing is written', async () => {
    await withDir(async (open) => {
      const wal = await open();
      const bad: [string, Partial<Entry>][] = [
        ['kind', { kind: 300 as EntryKind }],
        ['time', { time: { physical: Number.NaN, counter: 0 } }],
        ['time\\.counter', { time: { physical: 1, counter: 2 ** 32 } }],
        ['type', { type: 'x'.repeat(70_000) }],
        ['data', { data: [1, 2] as unknown as Uint8Array }],
      ];
      for (const [field, change] of bad) {
        const write: WalPartitionWrite = { partition: 1, entries: [{ ...entry(1, 1), ...change }] };
        await expect(wal.append({ writes: [write], sync: true })).rejects.toThrow(new RegExp(`entries\\[0\\]\\.${field}`));
      }
      await expect(wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 2) }], sync: 'yes' as unknown as boolean })).rejects.toThrow(/batch\.sync must be a boolean/);
      expect(await wal.partitions()).toEqual([]);
    });
  });

  test('a write at or below the base is refused with what to do instead', async () => {
    await withDir(async (open) => {
      const wal = await open();
      await wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 10) }], sync: true });
      await wal.compact(1, 10);
      await expect(wal.append({ writes: [{ partition: 1, entries: entries(1, 5, 6) }], sync: true })).rejects.toThrow(/at or below the base of partition 1 \(index 10\).*write a snapshot/);
      await wal.append({ writes: [{ partition: 1, snapshot: { index: 4, term: 1 }, entries: entries(1, 5, 6) }], sync: true });
      expect(await wal.firstIndex(1)).toBe(5);
    });
  });
});

describe('lifecycle', () => {
  test('close is idempotent, the instance can be opened again, and calls while closed reject', async () => {
    await withDir(async (_open, path) => {
      const wal = new RocksDbWal({ path });
      await expect(wal.readEntries(1, 1, 1)).rejects.toThrow(/closed; call \(and await\) open\(\) first/);
      await wal.open();
      await wal.append({ writes: [{ partition: 2, entries: entries(2, 1, 3) }], sync: false });
      await Promise.all([wal.close(), wal.close()]);
      await wal.close();
      await wal.open();
      expect(await wal.lastIndex(2)).toBe(3);
      await wal.close();
    });
  });

  test('writes issued before close complete; after crash the queued ones reject and nothing later is applied', async () => {
    await withDir(async (open, path) => {
      const wal = await open();
      const pending = [1, 2, 3].map((i) => wal.append({ writes: [{ partition: 1, entries: [entry(1, i)] }], sync: true }));
      await wal.close();
      await Promise.all(pending);
      await wal.open();
      expect(await wal.lastIndex(1)).toBe(3);
      await wal.append({ writes: [{ partition: 1, entries: [entry(1, 4)] }], sync: true });
      // Queued (their turn comes on a later microtask), then the process dies before they run.
      const queued = [5, 6].map((i) => wal.append({ writes: [{ partition: 1, entries: [entry(1, i)] }], sync: true }));
      const crashed = wal.crash();
      for (const write of queued) await expect(write).rejects.toThrow(/was crashed before this write ran; it was not applied/);
      await crashed;
      await expect(wal.lastIndex(1)).rejects.toThrow(/closed/);
      const reopened = await open({ path });
      expect(await reopened.lastIndex(1)).toBe(4);
    });
  });

  test('a directory holding another RocksDB database is refused', async () => {
    await withDir(async (_open, path) => {
      await withStore(path, (store) => store.write([{ type: 'put', key: Buffer.from('someone else'), value: Buffer.from('x') }], true));
      await expect(new RocksDbWal({ path }).open()).rejects.toThrow(/not a Kommander WAL.*directory of its own/);
    });
  });
});

test('reads that overlap overwrites and merges see the log before or after each write, never a mix', async () => {
  await withDir(async (open) => {
    const wal = await open({ maxRunEntries: 4, smallRunEntries: 4, smallRunsToMerge: 2 });
    // Never empty, so that every read goes to RocksDB (and so lets the append's callback run).
    await wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 3) }], sync: true });
    let last = 3;
    const states = new Set<string>();
    const snapshot = async (): Promise<string> => (await wal.readEntries(1, 1, ALL)).map((e) => `${e.index}:${e.term}`).join(',');
    states.add(await snapshot());
    for (let round = 1; round <= 60; round++) {
      // Alternately grow the log one entry at a time (small runs, merged as they pile up) and overwrite its tail.
      const start = round % 3 === 0 ? last - 2 : last + 1;
      const write = wal.append({ writes: [{ partition: 1, entries: entries(1, start, start, round) }], sync: round % 2 === 0 });
      let settled = false;
      void write.then(() => {
        settled = true;
      });
      const seen: string[] = [];
      while (!settled) seen.push(await snapshot());
      await write;
      last = start;
      const after = await snapshot();
      for (const read of seen) expect([...states, after]).toContain(read);
      states.clear();
      states.add(after);
    }
  });
}, 30_000);

describe('stats', () => {
  test('one sync per synced batch whatever its partitions, none for unsynced batches', async () => {
    await withDir(async (open) => {
      const wal = await open();
      const writes = [1, 2, 3, 4].map((p) => ({ partition: p, entries: entries(p, 1, 5), hardState: { term: 1, vote: '', commit: 0 } }));
      await wal.append({ writes, sync: true });
      await wal.append({ writes: [{ partition: 1, entries: entries(1, 6, 6) }], sync: false });
      await wal.append({ writes: [{ partition: 2, entries: entries(2, 6, 8) }], sync: true });
      expect(wal.stats()).toEqual({ appends: 3, syncs: 2, entries: 24 });
      await wal.close();
      await wal.open();
      expect(wal.stats()).toEqual({ appends: 0, syncs: 0, entries: 0 });
    });
  });

  test('with sync off nothing is fsynced, and the data still survives close and reopen', async () => {
    await withDir(async (open, path) => {
      const wal = await open({ sync: false });
      await wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 4) }], sync: true });
      expect(wal.stats()).toEqual({ appends: 1, syncs: 0, entries: 4 });
      await wal.close();
      const again = await open({ path });
      expect(await again.lastIndex(1)).toBe(4);
    });
  });
});

describe('repairs', () => {
  test('a torn last batch is cut and reported through onRepair and repairs', async () => {
    await withDir(async (open, path) => {
      const wal = await open();
      await wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 5), hardState: { term: 1, vote: 'a', commit: 2 } }], sync: true });
      await wal.append({ writes: [{ partition: 1, entries: entries(1, 6, 9, 2), hardState: { term: 2, vote: 'b', commit: 5 } }, { partition: 3, entries: entries(3, 1, 2) }], sync: true });
      await wal.close();
      await tearLastBatch(path);
      const seen: RocksDbWalRepair[] = [];
      const reopened = await open({ onRepair: (repair) => seen.push(repair) });
      expect(seen).toHaveLength(1);
      expect(reopened.repairs).toEqual(seen);
      const [repair] = seen as [RocksDbWalRepair];
      expect(repair.kind).toBe('torn-batch-cut');
      expect(repair.partitions).toEqual([1, 3]);
      expect(repair.message).toMatch(/last batch \(sequence 2, partitions 1, 3\).*was torn.*the whole batch was cut/);
      expect(await reopened.lastIndex(1)).toBe(5);
      expect(await reopened.lastIndex(3)).toBe(0);
      expect(await reopened.readHardState(1)).toEqual({ term: 1, vote: 'a', commit: 2 });
      expect(await reopened.partitions()).toEqual([1]);
      await reopened.close();
      const third = await open();
      expect(third.repairs).toEqual([]);
      expect(await third.lastIndex(1)).toBe(5);
    });
  });

  test('cutting a torn overwrite brings back the masked entries of the run it cut into and reports the ones it had deleted', async () => {
    await withDir(async (open, path) => {
      const wal = await open({ maxRunEntries: 4 });
      await wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 12) }], sync: true });
      await wal.append({ writes: [{ partition: 1, entries: entries(1, 6, 6, 2) }], sync: true });
      await wal.close();
      await tearLastBatch(path);
      const reopened = await open({ maxRunEntries: 4 });
      expect(reopened.repairs[0]?.message).toMatch(/partition 1 entries 9–12/);
      expect(await reopened.lastIndex(1)).toBe(8);
      expect((await reopened.readEntries(1, 1, ALL)).map((e) => e.term)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    });
  });

  test('cutting a torn snapshot write restores the previous base', async () => {
    await withDir(async (open, path) => {
      const wal = await open();
      await wal.append({ writes: [{ partition: 2, entries: entries(2, 1, 6) }], sync: true });
      await wal.compact(2, 2);
      await wal.append({ writes: [{ partition: 2, snapshot: { index: 40, term: 3 }, entries: entries(2, 41, 42, 3) }], sync: true });
      await wal.close();
      await tearLastBatch(path);
      const reopened = await open();
      expect(reopened.repairs.map((r) => r.kind)).toEqual(['torn-batch-cut']);
      expect({ ...(await reopened.logBase(2)) }).toEqual({ index: 2, term: 1 });
      expect(await reopened.lastIndex(2)).toBe(0);
    });
  });

  test('a damaged hard state written by the last batch cuts the batch', async () => {
    await withDir(async (open, path) => {
      const wal = await open();
      await wal.append({ writes: [{ partition: 4, entries: [], hardState: { term: 1, vote: '', commit: 0 } }], sync: true });
      await wal.append({ writes: [{ partition: 4, entries: entries(4, 1, 1), hardState: { term: 2, vote: 'x', commit: 1 } }], sync: true });
      await wal.close();
      await corruptRecord(path, partitionKey(HARD_STATE_PREFIX, 4));
      const reopened = await open();
      expect(reopened.repairs[0]?.message).toMatch(/partition 4, its hard state record fails its checksum/);
      expect(await reopened.readHardState(4)).toEqual({ term: 1, vote: '', commit: 0 });
      expect(await reopened.lastIndex(4)).toBe(0);
    });
  });

  test('a damaged base written by the last compaction is written again', async () => {
    await withDir(async (open, path) => {
      const wal = await open();
      await wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 8, 2) }], sync: true });
      await wal.compact(1, 5);
      await wal.close();
      await corruptRecord(path, partitionKey(BASE_PREFIX, 1));
      const reopened = await open();
      expect(reopened.repairs.map((r) => r.kind)).toEqual(['compaction-base-rewritten']);
      expect({ ...(await reopened.logBase(1)) }).toEqual({ index: 5, term: 2 });
      expect(await reopened.firstIndex(1)).toBe(6);
    });
  });

  test('a damaged batch marker is reset after every record checks out', async () => {
    await withDir(async (open, path) => {
      const wal = await open({ verifyOnOpen: false });
      await wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 3) }], sync: true });
      await wal.close();
      await corruptRecord(path, MARKER_KEY);
      const reopened = await open({ verifyOnOpen: false });
      expect(reopened.repairs.map((r) => r.kind)).toEqual(['marker-reset']);
      expect(await reopened.lastIndex(1)).toBe(3);
    });
  });

  test('an onRepair that throws fails the open and releases the path', async () => {
    await withDir(async (open, path) => {
      const wal = await open();
      await wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 3) }], sync: true });
      await wal.close();
      await tearLastBatch(path);
      const failing = new RocksDbWal({ path, onRepair: () => { throw new Error('listener broke'); } });
      await expect(failing.open()).rejects.toThrow('listener broke');
      const reopened = await open();
      expect(await reopened.lastIndex(1)).toBe(0);
    });
  });
});

describe('corruption', () => {
  test('with verifyOnOpen off, open succeeds and the read that meets the damage names partition and index', async () => {
    await withDir(async (open, path) => {
      const wal = await open();
      for (let from = 1; from <= 40; from += 10) await wal.append({ writes: [{ partition: 9, entries: entries(9, from, from + 9) }], sync: true });
      await wal.close();
      await corruptEntry(path, 9, 17);
      await expect(new RocksDbWal({ path }).open()).rejects.toThrow(/partition 9, index 17 is corrupt/);
      const lazy = await open({ verifyOnOpen: false });
      expect((await lazy.readEntries(9, 21, 40)).length).toBe(20);
      const failure = await lazy.readEntries(9, 1, 40).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(WalCorruptionError);
      expect(failure).toMatchObject({ partition: 9, index: 17, code: 'ERR_KOMMANDER_WAL_CORRUPT' });
      await expect(lazy.term(9, 12)).rejects.toThrow(/partition 9, index 17 is corrupt/);
    });
  });

  test('an older damaged hard state refuses the open naming the partition', async () => {
    await withDir(async (open, path) => {
      const wal = await open();
      await wal.append({ writes: [{ partition: 6, entries: [], hardState: { term: 1, vote: '', commit: 0 } }], sync: true });
      await wal.append({ writes: [{ partition: 7, entries: entries(7, 1, 2) }], sync: true });
      await wal.close();
      await corruptRecord(path, partitionKey(HARD_STATE_PREFIX, 6));
      await expect(new RocksDbWal({ path }).open()).rejects.toThrow(/hard state of partition 6 .*is damaged.*move the directory aside/);
    });
  });

  test('damaged metadata fails getMeta, and the open when verifying', async () => {
    await withDir(async (open, path) => {
      const wal = await open();
      await wal.setMeta('node-id', Buffer.from('n1'));
      await wal.close();
      await corruptRecord(path, metaKey('node-id'));
      await expect(new RocksDbWal({ path }).open()).rejects.toThrow(/metadata "node-id"/);
      const lazy = await open({ verifyOnOpen: false });
      await expect(lazy.getMeta('node-id')).rejects.toThrow(/metadata "node-id" .*is damaged/);
    });
  });
});

test('crc32 agrees with zlib for every length around the native threshold', () => {
  const bytes = new Uint8Array(300).map((_, i) => (i * 151 + 7) & 0xff);
  for (let length = 0; length <= 300; length += 1) {
    expect(crc32(bytes, 0, length)).toBe(zlib.crc32(bytes.subarray(0, length)));
    expect(crc32(bytes, 3, length + 3 > 300 ? 300 : length + 3, 0x1234)).toBe(zlib.crc32(bytes.subarray(3, Math.min(300, length + 3)), 0x1234));
  }
});

test('one-entry appends end up in runs of many entries', async () => {
  await withDir(async (open, path) => {
    const wal = await open();
    for (let i = 1; i <= 200; i++) await wal.append({ writes: [{ partition: 1, entries: [entry(1, i)] }], sync: false });
    expect((await wal.readEntries(1, 1, ALL)).map((e) => e.index)).toEqual(entries(1, 1, 200).map((e) => e.index));
    await wal.close();
    const runs = await withStore(path, async (store) => {
      let count = 0;
      await store.scan({ gte: Buffer.from('e'), lt: Buffer.from('f') }, { keys: true, values: false, highWaterMark: 1024 }, () => {
        count++;
      });
      return count;
    });
    expect(runs).toBeLessThanOrEqual(200 / 16 + 16);
    await wal.open();
    expect((await wal.readEntries(1, 1, ALL)).length).toBe(200);
  });
});

/**
 * Random appends (overwrites, snapshots, hard states, several partitions per batch), compactions and
 * reopens, with runs of at most 3 entries so that overwrites and compactions cut through runs, and small
 * runs merged eagerly or never; after each step the RocksDB log must read exactly like the in-memory
 * reference.
 */
test.each([
  ['merging small runs eagerly', { maxRunEntries: 3, smallRunEntries: 5, smallRunsToMerge: 2 }],
  ['never merging', { maxRunEntries: 3, smallRunsToMerge: 0 }],
])('random operations with tiny runs, %s, read exactly like InMemoryWal, across reopens', async (_what, tuning) => {
  const seed = 20_241_122;
  let state = seed;
  const random = (): number => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 2 ** 32;
  };
  const int = (below: number): number => Math.floor(random() * below);
  await withDir(async (open) => {
    const reference: Wal = new InMemoryWal();
    await reference.open();
    let wal = await open(tuning);
    for (let step = 0; step < 300; step++) {
      const where = `seed ${seed}, step ${step}`;
      const roll = random();
      if (roll < 0.1) {
        const p = 1 + int(3);
        const first = await reference.firstIndex(p);
        const last = await reference.lastIndex(p);
        const through = first === 0 ? int(5) : first - 1 + int(last - first + 3);
        await reference.compact(p, through);
        await wal.compact(p, through);
      } else if (roll < 0.15) {
        await wal.close();
        wal = await open({ ...tuning, verifyOnOpen: random() < 0.5 });
      } else {
        const writes: WalPartitionWrite[] = [];
        for (const p of [1, 2, 3].filter(() => random() < 0.6)) {
          const first = await reference.firstIndex(p);
          const last = await reference.lastIndex(p);
          const base = (await reference.logBase(p)).index;
          const term = step + 1;
          if (random() < 0.05) {
            const index = Math.max(last, base) + 1 + int(4);
            writes.push({ partition: p, snapshot: { index, term }, entries: entries(p, index + 1, index + int(4), term) });
            continue;
          }
          const start = last === 0 ? base + 1 + int(2) : Math.max(first, base + 1) + int(last - Math.max(first, base + 1) + 2);
          const write: WalPartitionWrite = { partition: p, entries: entries(p, start, start + int(7) - 1, term) };
          writes.push(random() < 0.4 ? { ...write, hardState: { term, vote: `v${step}`, commit: start } } : write);
        }
        const batch = { writes, sync: random() < 0.7 };
        await reference.append(batch);
        await wal.append(batch);
      }
      expect(await wal.partitions()).toEqual(await reference.partitions());
      for (const p of [1, 2, 3]) {
        const expected = { first: await reference.firstIndex(p), last: await reference.lastIndex(p), base: { ...(await reference.logBase(p)) }, hard: await reference.readHardState(p) };
        const actual = { first: await wal.firstIndex(p), last: await wal.lastIndex(p), base: { ...(await wal.logBase(p)) }, hard: await wal.readHardState(p) };
        expect({ where, p, ...actual }).toEqual({ where, p, ...expected });
        const read = (await wal.readEntries(p, 1, ALL)).map((e) => ({ ...e, data: Buffer.from(e.data).toString('hex') }));
        const want = (await reference.readEntries(p, 1, ALL)).map((e) => ({ ...e, data: Buffer.from(e.data).toString('hex') }));
        expect({ where, p, read }).toEqual({ where, p, read: want });
        const probe = expected.first + int(expected.last - expected.first + 2) - 1;
        expect({ where, p, probe, term: await wal.term(p, probe) }).toEqual({ where, p, probe, term: await reference.term(p, probe) });
        const lo = int(expected.last + 2);
        const hi = lo + int(6);
        expect((await wal.readEntries(p, lo, hi)).map((e) => e.index)).toEqual((await reference.readEntries(p, lo, hi)).map((e) => e.index));
      }
    }
  });
}, 60_000);
