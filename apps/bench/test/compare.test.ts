import { compareWithEtcd, medianRun } from '../src/compare.js';
import type { BenchResult } from '../src/harness.js';

function result(scenario: string, wal: string, inflight: number, entriesPerSec: number, p99Ms: number): BenchResult {
  return {
    scenario, nodes: 3, wal, transport: wal === 'etcd' ? 'etcd-http' : 'grpc', partitions: 1, inflight, payloadBytes: 16,
    entries: entriesPerSec * 3, seconds: 3, entriesPerSec, p50Ms: p99Ms / 4, p99Ms,
  };
}

describe('compareWithEtcd', () => {
  test('one round: the plain ratio against etcd at the same number in flight', () => {
    const lines = compareWithEtcd([[
      result('grpc-3proc-p1-i64', 'rocksdb', 64, 20_000, 9),
      result('grpc-3proc-p1-i256', 'rocksdb', 256, 58_000, 15),
      result('etcd-i64', 'etcd', 64, 4_000, 30),
      result('etcd-i256', 'etcd', 256, 5_800, 12),
    ]]);
    expect(lines).toEqual([
      { comparison: 'grpc-3proc-p1-i64 vs etcd-i64', durable: true, throughputRatio: 5, p99Ms: 9, etcdP99Ms: 30, lowerP99: true },
      { comparison: 'grpc-3proc-p1-i256 vs etcd-i256', durable: true, throughputRatio: 10, p99Ms: 15, etcdP99Ms: 12, lowerP99: false },
    ]);
  });

  test('several rounds: the median of the per-round ratios, not the ratio of the medians', () => {
    // The machine halves its speed in round 2: both sides move, so that round's ratio stays 5.
    const rounds = [
      [result('grpc-3proc-p1-i64', 'rocksdb', 64, 20_000, 9), result('etcd-i64', 'etcd', 64, 4_000, 30)],
      [result('grpc-3proc-p1-i64', 'rocksdb', 64, 10_000, 12), result('etcd-i64', 'etcd', 64, 2_000, 40)],
      [result('grpc-3proc-p1-i64', 'rocksdb', 64, 24_000, 8), result('etcd-i64', 'etcd', 64, 4_000, 35)],
    ];
    const [line] = compareWithEtcd(rounds);
    // Medians taken apart would give 20,000 / 4,000 = 5 too here, so check the per-round figures as well.
    expect(line).toEqual({
      comparison: 'grpc-3proc-p1-i64 vs etcd-i64', durable: true, throughputRatio: 5, roundRatios: [5, 5, 6],
      p99Ms: 9, etcdP99Ms: 35, lowerP99: true,
    });
    const skewed = [
      [result('grpc-3proc-p1-i64', 'rocksdb', 64, 10_000, 9), result('etcd-i64', 'etcd', 64, 2_000, 30)],
      [result('grpc-3proc-p1-i64', 'rocksdb', 64, 12_000, 9), result('etcd-i64', 'etcd', 64, 4_000, 30)],
      [result('grpc-3proc-p1-i64', 'rocksdb', 64, 30_000, 9), result('etcd-i64', 'etcd', 64, 5_000, 30)],
    ];
    // Per round: 5, 3, 6 → median 5; medians apart would be 12,000 / 4,000 = 3.
    expect(compareWithEtcd(skewed)[0]!.throughputRatio).toBe(5);
  });

  test('two rounds: the mean of the two ratios and p99s; a p99 at or above etcd\'s in any round makes lowerP99 false', () => {
    const rounds = [
      [result('grpc-3proc-p1-i64', 'rocksdb', 64, 20_000, 9), result('etcd-i64', 'etcd', 64, 4_000, 30)],
      [result('grpc-3proc-p1-i64', 'rocksdb', 64, 24_000, 31), result('etcd-i64', 'etcd', 64, 3_000, 31)],
    ];
    expect(compareWithEtcd(rounds)[0]).toEqual({
      comparison: 'grpc-3proc-p1-i64 vs etcd-i64', durable: true, throughputRatio: 6.5, roundRatios: [5, 8],
      p99Ms: 20, etcdP99Ms: 30.5, lowerP99: false,
    });
  });

  test('memory, fsync-floor and hop-floor lines are marked not durable; no etcd figure, no line', () => {
    const lines = compareWithEtcd([[
      result('grpc-3proc-memwal-p1-i64', 'memory', 64, 60_000, 5),
      result('grpc-3proc-fsyncfloor-p1-i64', 'fsyncfloor', 64, 24_000, 9),
      result('grpc-3proc-hopfloor-lazycommit-p1-i64', 'hopfloor-lazycommit', 64, 30_000, 8),
      result('grpc-3proc-p1-i1', 'rocksdb', 1, 600, 2),
      result('rocksdb-p1-i64', 'rocksdb', 64, 9_000, 20),
      result('etcd-i64', 'etcd', 64, 4_000, 30),
    ]]);
    expect(lines.map((l) => [l.comparison, l.durable])).toEqual([
      ['grpc-3proc-memwal-p1-i64 vs etcd-i64', false],
      ['grpc-3proc-fsyncfloor-p1-i64 vs etcd-i64', false],
      ['grpc-3proc-hopfloor-lazycommit-p1-i64 vs etcd-i64', false],
    ]);
  });

  test('a scenario missing from a round is compared over the rounds that have it', () => {
    const rounds = [
      [result('grpc-3proc-p1-i64', 'rocksdb', 64, 20_000, 9), result('etcd-i64', 'etcd', 64, 4_000, 30)],
      [result('etcd-i64', 'etcd', 64, 2_000, 30)],
    ];
    expect(compareWithEtcd(rounds)[0]).toMatchObject({ throughputRatio: 5, roundRatios: [5] });
  });
});

describe('medianRun', () => {
  test('one run stands as it is; several give the median run with every figure listed', () => {
    const a = result('x', 'rocksdb', 64, 10, 1);
    expect(medianRun([a])).toBe(a);
    const runs = [result('x', 'rocksdb', 64, 30, 3), result('x', 'rocksdb', 64, 10, 1), result('x', 'rocksdb', 64, 20, 2)];
    expect(medianRun(runs)).toEqual({ ...runs[2], runsEntriesPerSec: [30, 10, 20] });
  });
});
