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

  test('writes handed in while a batch is in flight form the next batch, one write per partition, callbacks in order', async () => {
    const wal = new HeldWal();
    const deferred: Array<() => void> = [];
    const scheduler = new WalScheduler(wal as unknown as Wal, true, (fn) => deferred.push(fn), (error) => { throw error; });
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
    deferred.shift()!();
    expect(wal.batches).toHaveLength(2);
    const second = wal.batches[1]!;
    expect(second.writes.map((w) => [w.partition, ids(w)])).toEqual([[1, ['2/1', '3/1']], [2, ['1/1']]]);
    expect(second.writes[0]!.hardState).toEqual({ term: 1, vote: '', commit: 2 });
    wal.release.shift()!();
    await Promise.resolve();
    expect(done).toEqual(['p1#1', 'p1#2', 'p2#1', 'p1#3']);
  });
});
