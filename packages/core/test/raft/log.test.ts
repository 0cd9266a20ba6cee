import { HLC_ZERO } from '../../src/hlc/timestamp.js';
import { EntryKind } from '../../src/raft/entry.js';
import type { Entry } from '../../src/raft/entry.js';
import { RaftLog } from '../../src/raft/log.js';

function entry(index: number, term: number, bytes = 0): Entry {
  return { index, term, kind: EntryKind.Data, type: `e${index}t${term}`, data: new Uint8Array(bytes), time: HLC_ZERO };
}

/** Entries with the given terms at indexes 1, 2, 3 … */
function entries(...terms: number[]): Entry[] {
  return terms.map((t, k) => entry(k + 1, t));
}

function terms(log: RaftLog): number[] {
  const out: number[] = [];
  for (let i = log.firstIndex(); i <= log.lastIndex(); i++) out.push(log.term(i) as number);
  return out;
}

describe('RaftLog restore', () => {
  it('starts empty at index 1 with term 0 below it', () => {
    const log = new RaftLog([], 0, 0);
    expect(log.firstIndex()).toBe(1);
    expect(log.lastIndex()).toBe(0);
    expect(log.lastTerm()).toBe(0);
    expect(log.term(0)).toBe(0);
    expect(log.hasUnstable()).toBe(false);
  });

  it('treats restored entries as stable and committed-but-unapplied ones as pending delivery', () => {
    const log = new RaftLog(entries(1, 1, 2, 2), 3, 1);
    expect(log.hasUnstable()).toBe(false);
    expect(log.unappliedEntries().map((e) => e.index)).toEqual([2, 3]);
  });

  it('rejects gaps, decreasing terms and a commit beyond the log', () => {
    expect(() => new RaftLog([entry(1, 1), entry(3, 1)], 0, 0)).toThrow(/contiguous.*position 1 holds index 3, expected 2/);
    expect(() => new RaftLog([entry(1, 2), entry(2, 1)], 0, 0)).toThrow(/terms must not decrease/);
    expect(() => new RaftLog(entries(1, 1), 5, 0)).toThrow(/commit \(5\).*beyond the last restored entry \(2\)/);
  });

  it('restores a compacted log whose first entry is above 1', () => {
    const log = new RaftLog([entry(11, 3), entry(12, 3)], 10, 10);
    expect(log.firstIndex()).toBe(11);
    expect(log.term(10)).toBeUndefined();
    expect(log.term(9)).toBeUndefined();
    // The compacted base is committed, so an Append anchored there matches whatever term the leader names.
    expect(log.matchTerm(10, 2)).toBe(true);
    expect(log.matchTerm(9, 2)).toBe(false);
  });
});

describe('RaftLog follower append', () => {
  it('appends after a matching previous entry and commits up to what the leader vouched for', () => {
    const log = new RaftLog(entries(1, 1), 0, 0);
    expect(log.maybeAppend(2, 1, 10, [entry(3, 2), entry(4, 2)])).toBe(4);
    expect(terms(log)).toEqual([1, 1, 2, 2]);
    expect(log.committed).toBe(4);
    expect(log.unstableEntries().map((e) => e.index)).toEqual([3, 4]);
  });

  it('refuses when the previous entry is missing or has another term', () => {
    const log = new RaftLog(entries(1, 1), 0, 0);
    expect(log.maybeAppend(3, 1, 0, [entry(4, 1)])).toBe(-1);
    expect(log.maybeAppend(2, 2, 0, [entry(3, 2)])).toBe(-1);
    expect(terms(log)).toEqual([1, 1]);
  });

  it('truncates a conflicting suffix and re-marks it unstable from the conflict', () => {
    const log = new RaftLog(entries(1, 1, 2, 2, 2), 2, 0);
    expect(log.maybeAppend(2, 1, 2, [entry(3, 2), entry(4, 3)])).toBe(4);
    expect(terms(log)).toEqual([1, 1, 2, 3]);
    expect(log.unstableEntries().map((e) => `${e.index}/${e.term}`)).toEqual(['4/3']);
  });

  it('keeps entries beyond a duplicate (already held) append', () => {
    const log = new RaftLog(entries(1, 1, 1, 1), 0, 0);
    expect(log.maybeAppend(1, 1, 0, [entry(2, 1)])).toBe(2);
    expect(terms(log)).toEqual([1, 1, 1, 1]);
    expect(log.hasUnstable()).toBe(false);
  });

  it('throws rather than truncate a committed entry', () => {
    const log = new RaftLog(entries(1, 1, 1), 3, 0);
    expect(() => log.maybeAppend(1, 1, 3, [entry(2, 2)])).toThrow(/entry 2 conflicts with the committed prefix/);
  });

  it('throws when asked to commit beyond its last entry', () => {
    const log = new RaftLog(entries(1), 0, 0);
    expect(() => log.commitTo(2)).toThrow(/commit index 2 is beyond the last log index 1/);
  });
});

describe('RaftLog queries', () => {
  it('finds the last index whose term is at most a given term', () => {
    const log = new RaftLog(entries(1, 1, 2, 2, 4, 4, 5), 0, 0);
    expect(log.findConflictByTerm(7, 3)).toBe(4);
    expect(log.findConflictByTerm(7, 5)).toBe(7);
    expect(log.findConflictByTerm(100, 4)).toBe(6);
    expect(log.findConflictByTerm(7, 0)).toBe(0);
  });

  it('compares logs by last term, then length (§5.4.1)', () => {
    const log = new RaftLog(entries(1, 2, 2), 0, 0);
    expect(log.isUpToDate(3, 2)).toBe(true);
    expect(log.isUpToDate(2, 2)).toBe(false);
    expect(log.isUpToDate(1, 3)).toBe(true);
    expect(log.isUpToDate(9, 1)).toBe(false);
  });

  it('slices with count and byte limits, always sending at least one entry', () => {
    const log = new RaftLog([entry(1, 1, 4), entry(2, 1, 4), entry(3, 1, 4), entry(4, 1, 100), entry(5, 1, 1)], 0, 0);
    const idx = (xs: readonly Entry[]): number[] => xs.map((e) => e.index);
    expect(idx(log.slice(1, 5, 2, 1000))).toEqual([1, 2]);
    expect(idx(log.slice(1, 5, 100, 8))).toEqual([1, 2]);
    expect(idx(log.slice(4, 5, 100, 8))).toEqual([4]);
    expect(idx(log.slice(0, 99, 100, Infinity))).toEqual([1, 2, 3, 4, 5]);
    expect(idx(log.slice(6, 9, 100, Infinity))).toEqual([]);
  });

  it('marks entries stable only if the persisted entry is still in the log', () => {
    const log = new RaftLog([], 0, 0);
    log.append(entry(1, 1));
    log.append(entry(2, 1));
    const persisted = log.unstableEntries();
    // A new leader replaces index 2 while the write is in progress.
    log.maybeAppend(1, 1, 0, [entry(2, 2)]);
    log.stableTo(persisted);
    // 1/1 survived and was written; 2/1 was replaced, so only 2/2 is still to write.
    expect(log.unstableEntries().map((e) => `${e.index}/${e.term}`)).toEqual(['2/2']);
    expect(persisted.length).toBe(2);
    log.stableTo(log.unstableEntries());
    expect(log.hasUnstable()).toBe(false);
    expect(log.stableIndex()).toBe(2);
  });

  it('compacts applied entries and keeps the term at the new base', () => {
    const log = new RaftLog(entries(1, 1, 2, 2), 4, 3);
    expect(() => log.compact(4)).toThrow(/beyond the applied index 3/);
    log.compact(2);
    expect(log.firstIndex()).toBe(3);
    expect(log.term(2)).toBe(1);
    expect(log.term(1)).toBeUndefined();
    expect(log.matchTerm(2, 1)).toBe(true);
    expect(log.matchTerm(2, 3)).toBe(false);
    expect(terms(log)).toEqual([2, 2]);
  });
});
