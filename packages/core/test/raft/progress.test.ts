import { InflightWindow, Progress } from '../../src/raft/progress.js';

describe('InflightWindow', () => {
  it('fills up, frees through an index and wraps around', () => {
    const w = new InflightWindow(3);
    w.add(2);
    w.add(4);
    w.add(6);
    expect(w.isFull()).toBe(true);
    expect(() => w.add(8)).toThrow(/full/);
    w.freeThrough(4);
    expect(w.size).toBe(1);
    w.add(8);
    w.add(10);
    expect(w.isFull()).toBe(true);
    w.freeThrough(5); // nothing ends at or below 5 any more
    expect(w.size).toBe(3);
    w.freeOldest();
    expect(w.size).toBe(2);
    w.freeThrough(100);
    expect(w.size).toBe(0);
    w.freeOldest();
    expect(w.size).toBe(0);
  });
});

describe('Progress', () => {
  it('probe sends one message at a time', () => {
    const pr = new Progress('b', true, 4);
    pr.resetForLeader(0, 6);
    expect(pr.isPaused()).toBe(false);
    pr.sentAppend(7, true);
    expect(pr.isPaused()).toBe(true);
    expect(pr.next).toBe(6); // probing does not advance optimistically
  });

  it('replicate advances next optimistically and pauses on a full window', () => {
    const pr = new Progress('b', true, 2);
    pr.resetForLeader(0, 1);
    pr.maybeUpdate(3);
    pr.becomeReplicate();
    expect(pr.next).toBe(4);
    pr.sentAppend(5, true);
    expect(pr.next).toBe(6);
    expect(pr.isPaused()).toBe(false);
    pr.sentAppend(9, true);
    expect(pr.isPaused()).toBe(true);
    expect(pr.maybeUpdate(5)).toBe(true);
    pr.inflight.freeThrough(5);
    expect(pr.isPaused()).toBe(false);
  });

  it('ignores stale acknowledgements', () => {
    const pr = new Progress('b', true, 2);
    pr.resetForLeader(0, 1);
    expect(pr.maybeUpdate(5)).toBe(true);
    expect(pr.maybeUpdate(3)).toBe(false);
    expect(pr.match).toBe(5);
    expect(pr.next).toBe(6);
  });

  it('backs off on rejection in probe using the hint, below match only when the member lost entries', () => {
    const pr = new Progress('b', true, 2);
    pr.resetForLeader(0, 11);
    pr.sentAppend(11, true);
    expect(pr.maybeDecrease(10, 4)).toBe(true);
    expect(pr.next).toBe(5);
    expect(pr.isPaused()).toBe(false);
    expect(pr.maybeDecrease(10, 2)).toBe(false); // stale: answers the earlier probe
    pr.maybeUpdate(3);
    pr.becomeProbe();
    expect(pr.maybeDecrease(3, 2)).toBe(true);
    expect(pr.next).toBe(3); // a log that ends below its acknowledged match (wiped data): start over from what it holds
    expect(pr.match).toBe(2);
    pr.maybeUpdate(3);
    pr.becomeProbe();
    expect(pr.maybeDecrease(2, 0)).toBe(false); // stale: not the probe in flight
    expect(pr.next).toBe(4);
  });

  it('in replicate a rejection above match falls back to match + 1, one at or below match is stale', () => {
    const pr = new Progress('b', true, 8);
    pr.resetForLeader(0, 1);
    pr.maybeUpdate(5);
    pr.becomeReplicate();
    pr.sentAppend(9, true);
    expect(pr.maybeDecrease(4, 0)).toBe(false);
    expect(pr.maybeDecrease(7, 6)).toBe(true);
    expect(pr.next).toBe(6);
  });
});
