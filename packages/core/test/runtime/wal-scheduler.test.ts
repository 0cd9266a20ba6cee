import type { Entry } from '../../src/raft/entry.js';
import { EntryKind, EMPTY_DATA } from '../../src/raft/entry.js';
import type { Wal, WalBatch, WalPartitionWrite } from '../../src/ports/wal.js';
import { WalScheduler, mergeWrites } from '../../src/runtime/wal-scheduler.js';

function e(index: number, term = 1): Entry {
  return { index, term, kind: EntryKind.Data, type: `e${index}t${term}`, data: EMPTY_DATA, time: { physical: 0, counter: 0 } };
}
const ids = (w: WalPartitionWrite): string[] => w.entries.map((x) => `${x.index}/${x.term}`);

describe('mergeWrites: pipelined writes of one partition become one', () => {
  test('contiguous entries are concatenated, the later hard state wins', () => {
    const m = mergeWrites({ partition: 3, entries: [e(1), e(2)], hardState: { term: 1, vote: 'a', commit: 0 } }, { partition: 3, entries: [e(3)], hardState: { term: 1, vote: 'a', commit: 2 } });
    expect(ids(m)).toEqual(['1/1', '2/1', '3/1']);
    expect(m.hardState).toEqual({ term: 1, vote: 'a', commit: 2 });
  });

  test('a later write starting inside the earlier one replaces its suffix (a conflicting leader)', () => {
    expect(ids(mergeWrites({ partition: 1, entries: [e(4), e(5), e(6)] }, { partition: 1, entries: [e(5, 2), e(6, 2), e(7, 2)] }))).toEqual(['4/1', '5/2', '6/2', '7/2']);
    expect(ids(mergeWrites({ partition: 1, entries: [e(4), e(5)] }, { partition: 1, entries: [e(3, 2)] }))).toEqual(['3/2']);
  });

  test('a write with only a hard state keeps the entries; the earlier hard state stays when the later has none', () => {
    const m = mergeWrites({ partition: 1, entries: [e(1)], hardState: { term: 2, vote: 'b', commit: 0 } }, { partition: 1, entries: [] });
    expect(ids(m)).toEqual(['1/1']);
    expect(m.hardState).toEqual({ term: 2, vote: 'b', commit: 0 });
    expect(ids(mergeWrites({ partition: 1, entries: [], hardState: { term: 2, vote: 'b', commit: 0 } }, { partition: 1, entries: [e(1, 2)] }))).toEqual(['1/2']);
  });

  test('a gap or a snapshot behind another write is an internal error, not a silent corruption', () => {
    expect(() => mergeWrites({ partition: 1, entries: [e(1)] }, { partition: 1, entries: [e(3)] })).toThrow(/from 3 after entries ending at 1 \(a gap/);
    expect(() => mergeWrites({ partition: 1, entries: [e(1)] }, { partition: 1, entries: [], snapshot: { index: 5, term: 1 } })).toThrow(/snapshot write for partition 1 arrived behind/);
  });
});

describe('WalScheduler', () => {
  class HeldWal {
    readonly batches: WalBatch[] = [];
    release: Array<() => void> = [];
    append(batch: WalBatch): Promise<void> {
      this.batches.push(batch);
      return new Promise((resolve) => this.release.push(resolve));
    }
  }

  function setup(): { wal: HeldWal; deferred: Array<() => void>; scheduler: WalScheduler } {
    const wal = new HeldWal();
    const deferred: Array<() => void> = [];
    const scheduler = new WalScheduler(wal as unknown as Wal, true, (fn) => deferred.push(fn), (error) => { throw error; });
    return { wal, deferred, scheduler };
  }

  test('writes handed in while a batch is in flight form the next batch, one write per partition, callbacks in order', async () => {
    const { wal, deferred, scheduler } = setup();
    const done: string[] = [];
    scheduler.submit({ partition: 1, entries: [e(1)] }, () => done.push('p1#1'));
    deferred.shift()!();
    expect(wal.batches).toHaveLength(1);
    // In flight: partition 1 pipelines two more writes, partition 2 one.
    scheduler.submit({ partition: 1, entries: [e(2)] }, () => done.push('p1#2'));
    scheduler.submit({ partition: 2, entries: [e(1)] }, () => done.push('p2#1'));
    scheduler.submit({ partition: 1, entries: [e(3)], hardState: { term: 1, vote: '', commit: 2 } }, () => done.push('p1#3'));
    wal.release.shift()!();
    await Promise.resolve();
    expect(done).toEqual(['p1#1']);
    // The queued writes went to the WAL as soon as the first batch was durable, without a deferral.
    expect(deferred).toHaveLength(0);
    expect(wal.batches).toHaveLength(2);
    const second = wal.batches[1]!;
    expect(second.writes.map((w) => [w.partition, ids(w)])).toEqual([[1, ['2/1', '3/1']], [2, ['1/1']]]);
    expect(second.writes[0]!.hardState).toEqual({ term: 1, vote: '', commit: 2 });
    wal.release.shift()!();
    await Promise.resolve();
    expect(done).toEqual(['p1#1', 'p1#2', 'p2#1', 'p1#3']);
  });

  test('the next batch is handed to the WAL before the callbacks of the batch that just became durable run', async () => {
    const { wal, deferred, scheduler } = setup();
    const seen: number[] = [];
    scheduler.submit({ partition: 1, entries: [e(1)] }, () => seen.push(wal.batches.length));
    deferred.shift()!();
    scheduler.submit({ partition: 1, entries: [e(2)] }, () => seen.push(wal.batches.length));
    wal.release.shift()!();
    await Promise.resolve();
    // When the first callback ran, the second batch was already with the WAL.
    expect(seen).toEqual([2]);
  });

  test('with nothing queued, the writes the callbacks hand in are gathered (deferred) into one batch', async () => {
    const { wal, deferred, scheduler } = setup();
    scheduler.submit({ partition: 1, entries: [e(1)] }, () => scheduler.submit({ partition: 1, entries: [e(2)] }, () => undefined));
    scheduler.submit({ partition: 2, entries: [e(1)] }, () => scheduler.submit({ partition: 2, entries: [e(2)] }, () => undefined));
    deferred.shift()!();
    wal.release.shift()!();
    await Promise.resolve();
    expect(wal.batches).toHaveLength(1);
    expect(deferred).toHaveLength(1);
    deferred.shift()!();
    expect(wal.batches).toHaveLength(2);
    expect(wal.batches[1]!.writes.map((w) => [w.partition, ids(w)])).toEqual([[1, ['2/1']], [2, ['2/1']]]);
  });

  test('flushNow starts the deferred batch at once; the deferral then finds nothing to do', () => {
    const { wal, deferred, scheduler } = setup();
    scheduler.flushNow(); // nothing queued: no empty batch
    expect(wal.batches).toHaveLength(0);
    scheduler.submit({ partition: 1, entries: [e(1)] }, () => undefined);
    scheduler.submit({ partition: 2, entries: [e(1)] }, () => undefined);
    expect(wal.batches).toHaveLength(0);
    scheduler.flushNow();
    expect(wal.batches).toHaveLength(1);
    expect(wal.batches[0]!.writes.map((w) => w.partition)).toEqual([1, 2]);
    // The deferral queued by the first submit runs later and must not start a second append.
    expect(deferred).toHaveLength(1);
    deferred.shift()!();
    scheduler.flushNow();
    expect(wal.batches).toHaveLength(1);
  });

  describe('writes that need no fsync (syncCommitIndex off)', () => {
    const commitOnly = (partition: number, commit: number): WalPartitionWrite => ({ partition, entries: [], hardState: { term: 1, vote: '', commit } });

    test('a batch of such writes only is appended without an fsync, and its callbacks run once the WAL has it', async () => {
      const { wal, deferred, scheduler } = setup();
      const done: string[] = [];
      scheduler.submit(commitOnly(1, 5), () => done.push('p1'), false, false);
      scheduler.submit(commitOnly(2, 3), () => done.push('p2'), false, false);
      deferred.shift()!();
      expect(wal.batches).toHaveLength(1);
      expect(wal.batches[0]!.sync).toBe(false);
      expect(done).toEqual([]);
      wal.release.shift()!();
      await Promise.resolve();
      expect(done).toEqual(['p1', 'p2']);
      expect([scheduler.batches, scheduler.syncedBatches]).toEqual([1, 0]);
    });

    test('one write that needs an fsync makes its whole batch synced; the next batch counts afresh', async () => {
      const { wal, deferred, scheduler } = setup();
      scheduler.submit(commitOnly(1, 5), () => undefined, false, false);
      scheduler.submit({ partition: 2, entries: [e(1)] }, () => undefined);
      deferred.shift()!();
      expect(wal.batches[0]!.sync).toBe(true);
      // Handed in while that batch is in flight: the next batch holds no write that needs an fsync.
      scheduler.submit(commitOnly(2, 1), () => undefined, false, false);
      wal.release.shift()!();
      await Promise.resolve();
      expect(wal.batches).toHaveLength(2);
      expect(wal.batches[1]!.sync).toBe(false);
      expect([scheduler.batches, scheduler.syncedBatches]).toEqual([2, 1]);
    });

    test('merged into a queued write of its partition that needs an fsync, it is synced with it', async () => {
      const { wal, deferred, scheduler } = setup();
      scheduler.submit({ partition: 9, entries: [e(1)] }, () => undefined);
      deferred.shift()!();
      scheduler.submit({ partition: 1, entries: [e(1)] }, () => undefined);
      scheduler.submit(commitOnly(1, 1), () => undefined, false, false);
      wal.release.shift()!();
      await Promise.resolve();
      expect(wal.batches).toHaveLength(2);
      expect(wal.batches[1]!.writes).toHaveLength(1);
      expect(wal.batches[1]!.writes[0]!.hardState?.commit).toBe(1);
      expect(wal.batches[1]!.sync).toBe(true);
    });
  });

  describe('lazy writes (a follower\'s commit index)', () => {
    const commitOnly = (partition: number, commit: number): WalPartitionWrite => ({ partition, entries: [], hardState: { term: 1, vote: '', commit } });
    /** A batch with entry 1 of partition 1 ('e1') in flight, and then a lazy commit-only write ('lazy'). */
    const lazyDuringBatch = (partition: number, commit: number): ReturnType<typeof setup> & { done: string[] } => {
      const setUp = setup();
      const done: string[] = [];
      setUp.scheduler.submit({ partition: 1, entries: [e(1)] }, () => done.push('e1'));
      setUp.deferred.shift()!();
      setUp.scheduler.submit(commitOnly(partition, commit), () => done.push('lazy'), true);
      return { ...setUp, done };
    };

    test('a lazy write handed in while the WAL is idle starts a batch, synced, and is durable only with it', async () => {
      const { wal, deferred, scheduler } = setup();
      const done: string[] = [];
      scheduler.submit(commitOnly(1, 5), () => done.push('lazy'), true);
      expect(deferred).toHaveLength(1);
      scheduler.flushNow();
      expect(wal.batches).toHaveLength(1);
      expect(wal.batches[0]!.sync).toBe(true);
      expect(wal.batches[0]!.writes[0]!.hardState).toEqual({ term: 1, vote: '', commit: 5 });
      expect(done).toEqual([]);
      wal.release.shift()!();
      await Promise.resolve();
      expect(done).toEqual(['lazy']);
    });

    test('flushLazy writes a lazy write that arrived during a batch, once that batch is durable', async () => {
      const { wal, deferred, scheduler, done } = lazyDuringBatch(2, 4);
      scheduler.flushLazy(); // a batch is in flight: the lazy write waits
      expect(wal.batches).toHaveLength(1);
      wal.release.shift()!();
      await Promise.resolve();
      while (deferred.length > 0) deferred.shift()!();
      expect(wal.batches).toHaveLength(1);
      scheduler.flushLazy();
      expect(wal.batches).toHaveLength(2);
      expect(wal.batches[1]!.writes.map((w) => [w.partition, w.hardState?.commit])).toEqual([[2, 4]]);
      wal.release.shift()!();
      await Promise.resolve();
      expect(done).toEqual(['e1', 'lazy']);
    });

    test('a lazy write rides in the batch (and fsync) of the next write that is not lazy', async () => {
      const { wal, deferred, scheduler } = setup();
      const done: string[] = [];
      scheduler.submit(commitOnly(1, 5), () => done.push('p1 lazy'), true);
      scheduler.submit({ partition: 2, entries: [e(1)] }, () => done.push('p2'));
      deferred.shift()!();
      expect(wal.batches).toHaveLength(1);
      expect(wal.batches[0]!.writes.map((w) => w.partition)).toEqual([1, 2]);
      wal.release.shift()!();
      await Promise.resolve();
      expect(done).toEqual(['p1 lazy', 'p2']);
      scheduler.flushLazy();
      expect(wal.batches).toHaveLength(1);
    });

    test('a lazy write handed in during a batch waits for the next one; a later write of its partition merges into it', async () => {
      const { wal, deferred, scheduler, done } = lazyDuringBatch(1, 1);
      wal.release.shift()!();
      await Promise.resolve();
      expect(done).toEqual(['e1']);
      // Nothing urgent was queued: no batch for the lazy write alone, even after the deferral.
      while (deferred.length > 0) deferred.shift()!();
      expect(wal.batches).toHaveLength(1);
      scheduler.submit({ partition: 1, entries: [e(2)] }, () => done.push('e2'));
      deferred.shift()!();
      expect(wal.batches).toHaveLength(2);
      expect(wal.batches[1]!.writes).toHaveLength(1);
      expect(ids(wal.batches[1]!.writes[0]!)).toEqual(['2/1']);
      expect(wal.batches[1]!.writes[0]!.hardState).toEqual({ term: 1, vote: '', commit: 1 });
      wal.release.shift()!();
      await Promise.resolve();
      expect(done).toEqual(['e1', 'lazy', 'e2']);
    });

    test('without fsyncs nothing waits: a lazy write starts its batch like any other', () => {
      const wal = new HeldWal();
      const deferred: Array<() => void> = [];
      const scheduler = new WalScheduler(wal as unknown as Wal, false, (fn) => deferred.push(fn), (error) => { throw error; });
      scheduler.submit(commitOnly(1, 5), () => undefined, true);
      deferred.shift()!();
      expect(wal.batches).toHaveLength(1);
      expect(wal.batches[0]!.sync).toBe(false);
    });

    test('stop writes the lazy writes that wait before it resolves', async () => {
      const { wal, deferred, scheduler, done } = lazyDuringBatch(1, 1);
      let stopped = false;
      const stopping = scheduler.stop().then(() => { stopped = true; });
      wal.release.shift()!();
      await Promise.resolve();
      while (deferred.length > 0) deferred.shift()!();
      // Stopping: the lazy write goes in a batch of its own instead of waiting for a tick.
      expect(wal.batches).toHaveLength(2);
      expect(wal.batches[1]!.writes[0]!.hardState).toEqual({ term: 1, vote: '', commit: 1 });
      await Promise.resolve();
      expect(stopped).toBe(false);
      wal.release.shift()!();
      await Promise.resolve();
      while (deferred.length > 0) deferred.shift()!();
      await stopping;
      expect(done).toEqual(['e1', 'lazy']);
    });
  });
});
