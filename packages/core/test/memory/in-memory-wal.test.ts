import { EntryKind, type Entry } from '../../src/raft/entry.js';
import type { HardState } from '../../src/raft/state.js';
import { InMemoryWal } from '../../src/memory/in-memory-wal.js';
import { InvalidArgumentError } from '../../src/runtime/validation.js';
import { ManualClock } from './manual-clock.js';

function entry(index: number, term = 1): Entry {
  return { index, term, kind: EntryKind.Data, type: 't', data: new Uint8Array([index & 0xff]), time: { physical: index, counter: 0 } };
}

function range(from: number, to: number, term = 1): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

const hs = (term: number, vote = '', commit = 0): HardState => ({ term, vote, commit });

async function opened(options?: ConstructorParameters<typeof InMemoryWal>[0]): Promise<InMemoryWal> {
  const wal = new InMemoryWal(options);
  await wal.open();
  return wal;
}

async function indexes(wal: InMemoryWal, partition: number): Promise<number[]> {
  return (await wal.readEntries(partition, 0, Number.MAX_SAFE_INTEGER)).map((e) => e.index);
}

/** Lets every queued microtask and I/O callback run, so a promise that could settle has settled. */
function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('InMemoryWal: visible versus durable', () => {
  it('keeps a synced batch across a crash', async () => {
    const wal = await opened();
    await wal.append({ writes: [{ partition: 1, entries: range(1, 3), hardState: hs(2, 'a', 1) }], sync: true });
    wal.crash();
    await wal.open();
    expect(await indexes(wal, 1)).toEqual([1, 2, 3]);
    expect(await wal.readHardState(1)).toEqual(hs(2, 'a', 1));
  });

  it('shows an unsynced batch at once and loses it on a crash', async () => {
    const wal = await opened();
    await wal.append({ writes: [{ partition: 1, entries: range(1, 2), hardState: hs(1) }], sync: true });
    await wal.append({ writes: [{ partition: 1, entries: range(3, 4), hardState: hs(3, 'b') }, { partition: 2, entries: range(1, 1) }], sync: false });
    expect(await indexes(wal, 1)).toEqual([1, 2, 3, 4]);
    expect(await wal.readHardState(1)).toEqual(hs(3, 'b'));
    expect(await wal.partitions()).toEqual([1, 2]);
    wal.crash();
    await wal.open();
    expect(await indexes(wal, 1)).toEqual([1, 2]);
    expect(await wal.readHardState(1)).toEqual(hs(1));
    expect(await wal.partitions()).toEqual([1]);
  });

  it('keeps an unsynced batch that completed when only the process dies (crash(\'in-flight\'))', async () => {
    const wal = await opened();
    await wal.append({ writes: [{ partition: 1, entries: range(1, 2), hardState: hs(1) }], sync: true });
    await wal.append({ writes: [{ partition: 1, entries: [], hardState: hs(1, '', 2) }], sync: false });
    wal.crash('in-flight');
    await wal.open();
    expect(await indexes(wal, 1)).toEqual([1, 2]);
    expect(await wal.readHardState(1)).toEqual(hs(1, '', 2));
    // A power loss right after (nothing synced since the reopen) loses nothing more: it was made durable.
    wal.crash();
    await wal.open();
    expect(await wal.readHardState(1)).toEqual(hs(1, '', 2));
  });

  it('makes earlier unsynced batches durable with the next synced one, in order', async () => {
    const wal = await opened();
    await wal.append({ writes: [{ partition: 1, entries: range(1, 5) }], sync: false });
    await wal.append({ writes: [{ partition: 1, entries: range(4, 4, 2) }], sync: false });
    await wal.append({ writes: [{ partition: 3, entries: [], hardState: hs(2) }], sync: true });
    wal.crash();
    await wal.open();
    expect(await indexes(wal, 1)).toEqual([1, 2, 3, 4]);
    expect(await wal.term(1, 4)).toBe(2);
    expect(await wal.readHardState(3)).toEqual(hs(2));
  });

  it('restores an overwritten durable suffix when the overwrite was not synced', async () => {
    const wal = await opened();
    await wal.append({ writes: [{ partition: 1, entries: range(1, 10) }], sync: true });
    await wal.append({ writes: [{ partition: 1, entries: range(5, 6, 2) }], sync: false });
    expect(await indexes(wal, 1)).toEqual([1, 2, 3, 4, 5, 6]);
    wal.crash();
    await wal.open();
    expect(await indexes(wal, 1)).toEqual(range(1, 10).map((e) => e.index));
    expect(await wal.term(1, 5)).toBe(1);
  });

  it('rejects every call of the dead node after a crash, naming the closed log', async () => {
    const wal = await opened();
    wal.crash();
    await expect(wal.readEntries(1, 1, 2)).rejects.toThrow(/closed/);
    await expect(wal.append({ writes: [], sync: true })).rejects.toThrow(/closed/);
    await expect(wal.setMeta('k', new Uint8Array(1))).rejects.toThrow(/closed/);
    await expect(wal.compact(1, 1)).rejects.toThrow(/closed/);
    await expect(wal.partitions()).rejects.toThrow(/closed/);
  });

  it('makes everything durable on close', async () => {
    const wal = await opened();
    await wal.append({ writes: [{ partition: 1, entries: range(1, 3) }], sync: false });
    await wal.close();
    wal.crash();
    await wal.open();
    expect(await indexes(wal, 1)).toEqual([1, 2, 3]);
  });

  it('keeps a compaction across a crash', async () => {
    const wal = await opened();
    await wal.append({ writes: [{ partition: 1, entries: range(1, 10) }], sync: true });
    await wal.compact(1, 4);
    wal.crash();
    await wal.open();
    expect(await wal.firstIndex(1)).toBe(5);
    expect(await wal.lastIndex(1)).toBe(10);
  });

  it('orders a compaction after the unsynced writes before it when a later sync replays them', async () => {
    const wal = await opened();
    await wal.append({ writes: [{ partition: 1, entries: range(1, 10) }], sync: true });
    await wal.append({ writes: [{ partition: 1, entries: range(11, 15) }], sync: false });
    await wal.compact(1, 12);
    await wal.append({ writes: [{ partition: 1, entries: range(16, 16) }], sync: true });
    wal.crash();
    await wal.open();
    expect(await indexes(wal, 1)).toEqual([13, 14, 15, 16]);
  });

  it('keeps a compaction made while writes were unsynced, even when a crash drops those writes', async () => {
    const wal = await opened();
    await wal.append({ writes: [{ partition: 1, entries: range(1, 10) }], sync: true });
    await wal.append({ writes: [{ partition: 1, entries: range(11, 15) }], sync: false });
    await wal.compact(1, 12);
    wal.crash();
    await wal.open();
    expect(await wal.firstIndex(1)).toBe(0);
    expect(await wal.lastIndex(1)).toBe(0);
    await wal.append({ writes: [{ partition: 1, entries: range(13, 13) }], sync: true });
    expect(await indexes(wal, 1)).toEqual([13]);
  });

  it('keeps metadata across a crash: setMeta is durable when it returns', async () => {
    const wal = await opened();
    await wal.setMeta('node', new Uint8Array([1, 2]));
    wal.crash();
    await wal.open();
    expect(await wal.getMeta('node')).toEqual(new Uint8Array([1, 2]));
  });
});

describe('InMemoryWal: append latency', () => {
  it('hides a batch until the clock timer fires, then resolves', async () => {
    const clock = new ManualClock();
    const wal = await opened({ clock, appendLatencyMs: 5 });
    let settled = false;
    const appended = wal.append({ writes: [{ partition: 1, entries: range(1, 2) }], sync: true }).then(() => {
      settled = true;
    });
    await drain();
    expect(settled).toBe(false);
    expect(await wal.lastIndex(1)).toBe(0);
    clock.advance(4);
    await drain();
    expect(settled).toBe(false);
    clock.advance(1);
    await appended;
    expect(await indexes(wal, 1)).toEqual([1, 2]);
  });

  it('drops an in-flight append on a crash and never settles its promise', async () => {
    const clock = new ManualClock();
    const wal = await opened({ clock, appendLatencyMs: 5 });
    let settled = false;
    const pending = wal.append({ writes: [{ partition: 1, entries: range(1, 3) }], sync: true });
    pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    await drain();
    wal.crash();
    expect(clock.timers).toBe(0);
    clock.advance(100);
    await drain();
    expect(settled).toBe(false);
    await wal.open();
    expect(await wal.lastIndex(1)).toBe(0);
  });

  it('lands appends in issue order and checks gaps against the ones still in flight', async () => {
    const clock = new ManualClock();
    const wal = await opened({ clock, appendLatencyMs: 5 });
    const first = wal.append({ writes: [{ partition: 1, entries: range(1, 3) }], sync: false });
    clock.advance(2);
    const second = wal.append({ writes: [{ partition: 1, entries: range(4, 5) }], sync: true });
    await expect(wal.append({ writes: [{ partition: 1, entries: range(7, 7) }], sync: true })).rejects.toThrow(
      /last stored index of partition 1 is 5/,
    );
    clock.advance(3);
    await first;
    expect(await indexes(wal, 1)).toEqual([1, 2, 3]);
    clock.advance(2);
    await second;
    wal.crash();
    await wal.open();
    expect(await indexes(wal, 1)).toEqual([1, 2, 3, 4, 5]);
  });

  it('completes in-flight appends when closed', async () => {
    const clock = new ManualClock();
    const wal = await opened({ clock, appendLatencyMs: 5 });
    const pending = wal.append({ writes: [{ partition: 2, entries: range(1, 2) }], sync: false });
    await wal.close();
    await pending;
    expect(clock.timers).toBe(0);
    await wal.open();
    expect(await indexes(wal, 2)).toEqual([1, 2]);
  });

  it('refuses a latency without a clock', () => {
    expect(() => new InMemoryWal({ appendLatencyMs: 1 })).toThrow(/options.clock is required/);
    expect(() => new InMemoryWal({ appendLatencyMs: -1 })).toThrow(InvalidArgumentError);
  });
});

describe('InMemoryWal: validation', () => {
  it('rejects a batch with one bad write and applies none of it', async () => {
    const wal = await opened();
    await wal.append({ writes: [{ partition: 1, entries: range(1, 2) }], sync: true });
    const bad = [entry(3), entry(5)];
    await expect(
      wal.append({ writes: [{ partition: 1, entries: range(3, 4), hardState: hs(9) }, { partition: 2, entries: bad }], sync: true }),
    ).rejects.toThrow(/writes\[1\]\.entries\[1\]\.index is 5 but 4 was expected/);
    expect(await indexes(wal, 1)).toEqual([1, 2]);
    expect(await wal.readHardState(1)).toBeUndefined();
    expect(await wal.partitions()).toEqual([1]);
    expect(wal.stats()).toEqual({ appends: 1, syncs: 1, entries: 2 });
  });

  it.each([
    ['a negative partition', { partition: -1, entries: [] }, /partition must be an integer ≥ 0/],
    ['a fractional partition', { partition: 1.5, entries: [] }, /partition must be an integer ≥ 0/],
    ['index 0', { partition: 1, entries: [entry(0)] }, /entries\[0\]\.index is 0/],
    ['descending entries', { partition: 1, entries: [entry(2), entry(1)] }, /entries\[1\]\.index is 1 but 3/],
    ['a negative term', { partition: 1, entries: [entry(1, -1)] }, /entries\[0\]\.term must be an integer/],
    ['a hard state without a vote string', { partition: 1, entries: [], hardState: { term: 1, commit: 0 } as HardState }, /vote must be a node id/],
    ['a gap after the stored entries', { partition: 1, entries: [entry(4)] }, /start at index 4 but the last stored index of partition 1 is 2/],
  ])('rejects %s', async (_what, write, message) => {
    const wal = await opened();
    await wal.append({ writes: [{ partition: 1, entries: range(1, 2) }], sync: true });
    await expect(wal.append({ writes: [write], sync: true })).rejects.toThrow(InvalidArgumentError);
    await expect(wal.append({ writes: [write], sync: true })).rejects.toThrow(message);
    expect(await indexes(wal, 1)).toEqual([1, 2]);
  });

  it('checks gaps against earlier writes of the same batch', async () => {
    const wal = await opened();
    await wal.append({ writes: [{ partition: 1, entries: range(1, 2) }, { partition: 1, entries: range(3, 4) }], sync: true });
    expect(await indexes(wal, 1)).toEqual([1, 2, 3, 4]);
  });

  it('rejects a second open', async () => {
    const wal = await opened();
    await expect(wal.open()).rejects.toThrow(/already open/);
  });
});

describe('InMemoryWal: storage', () => {
  it('stores entries by reference without copying them', async () => {
    const wal = await opened();
    const entries = range(1, 3);
    await wal.append({ writes: [{ partition: 1, entries }], sync: true });
    const read = await wal.readEntries(1, 2, 2);
    expect(read[0]).toBe(entries[1]);
  });

  it('reads and looks up terms correctly after compacting most of a long log', async () => {
    const wal = await opened();
    await wal.append({ writes: [{ partition: 1, entries: range(1, 5000) }], sync: true });
    for (let through = 100; through <= 3000; through += 100) await wal.compact(1, through);
    await wal.append({ writes: [{ partition: 1, entries: range(4001, 4002, 2) }], sync: true });
    expect(await wal.firstIndex(1)).toBe(3001);
    expect(await wal.lastIndex(1)).toBe(4002);
    expect(await wal.term(1, 3000)).toBeUndefined();
    expect(await wal.term(1, 3001)).toBe(1);
    expect(await wal.term(1, 4001)).toBe(2);
    expect(await indexes(wal, 1)).toHaveLength(1002);
    expect((await wal.readEntries(1, 3999, 4001)).map((e) => [e.index, e.term])).toEqual([
      [3999, 1],
      [4000, 1],
      [4001, 2],
    ]);
  });

  it('replaces the whole log when a write starts at or below the first retained index', async () => {
    const wal = await opened();
    await wal.append({ writes: [{ partition: 1, entries: range(1, 10) }], sync: true });
    await wal.compact(1, 5);
    await wal.append({ writes: [{ partition: 1, entries: range(3, 4, 2) }], sync: true });
    expect(await indexes(wal, 1)).toEqual([3, 4]);
  });

  it('lists partitions with a hard state, entries or a base (compacted empty ones keep their base)', async () => {
    const wal = await opened();
    await wal.append({
      writes: [
        { partition: 4, entries: [], hardState: hs(1) },
        { partition: 2, entries: range(1, 2) },
        { partition: 9, entries: [] },
      ],
      sync: true,
    });
    expect(await wal.partitions()).toEqual([2, 4]);
    await wal.compact(2, 2);
    expect(await wal.partitions()).toEqual([2, 4]);
    expect(await wal.logBase(2)).toEqual({ index: 2, term: 1 });
  });

  it('keeps a private copy of metadata', async () => {
    const wal = await opened();
    const value = new Uint8Array([7]);
    await wal.setMeta('k', value);
    value[0] = 8;
    const read = await wal.getMeta('k');
    expect(read).toEqual(new Uint8Array([7]));
    read![0] = 9;
    expect(await wal.getMeta('k')).toEqual(new Uint8Array([7]));
  });

  it('counts appends, syncing appends and entries', async () => {
    const wal = await opened();
    await wal.append({ writes: [{ partition: 1, entries: range(1, 3) }, { partition: 2, entries: range(1, 2) }], sync: false });
    await wal.append({ writes: [{ partition: 1, entries: range(4, 4) }], sync: true });
    await wal.append({ writes: [], sync: true });
    expect(wal.stats()).toEqual({ appends: 3, syncs: 2, entries: 6 });
  });
});
