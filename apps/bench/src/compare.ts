import type { BenchResult } from './harness.js';

/** One `comparison` line: a networked Kommander scenario against etcd at the same number of proposals in flight. */
export interface Comparison {
  comparison: string;
  /** False for the memory-WAL and fsync-floor lines: reference figures, not durable results. */
  durable: boolean;
  /** The median over the rounds of this round's throughput divided by the same round's etcd throughput. */
  throughputRatio: number;
  /** Every round's ratio, in round order (only with more than one round). */
  roundRatios?: number[];
  /** The median over the rounds of each side's p99. */
  p99Ms: number;
  etcdP99Ms: number;
  /** The p99 was below etcd's in every round that measured both. */
  lowerP99: boolean;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
/** WALs of the reference lines that keep nothing: memory WALs and cluster-node's fsync-floor and hop-floor probes. */
const NOT_DURABLE = /^(memory|fsyncfloor|hopfloor)/;

/** The middle value; with an even count, the mean of the two middle values (no bias up or down). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Issue 4's goal, per round: `rounds[k]` holds the results of round k, in which every selected scenario
 * ran once, one after another. A Kommander result is divided by the etcd result of its own round (same
 * number in flight), so a machine that is slower in one round than in the next moves both sides of the
 * ratio, not one. Scenarios without an etcd figure in any round get no line.
 */
export function compareWithEtcd(rounds: readonly (readonly BenchResult[])[]): Comparison[] {
  const names: string[] = [];
  for (const results of rounds) {
    for (const r of results) if (r.scenario.includes('-3proc-') && !names.includes(r.scenario)) names.push(r.scenario);
  }
  const out: Comparison[] = [];
  for (const name of names) {
    const ratios: number[] = [];
    const p99s: number[] = [];
    const etcdP99s: number[] = [];
    let etcdName = '';
    let wal = '';
    let lower = true;
    for (const results of rounds) {
      const r = results.find((x) => x.scenario === name);
      if (r === undefined) continue;
      const etcd = results.find((e) => e.wal === 'etcd' && e.inflight === r.inflight);
      if (etcd === undefined || etcd.entriesPerSec === 0) continue;
      etcdName = etcd.scenario;
      wal = r.wal;
      ratios.push(r.entriesPerSec / etcd.entriesPerSec);
      p99s.push(r.p99Ms);
      etcdP99s.push(etcd.p99Ms);
      if (!(r.p99Ms < etcd.p99Ms)) lower = false;
    }
    if (ratios.length === 0) continue;
    const line: Comparison = {
      comparison: `${name} vs ${etcdName}`,
      durable: !NOT_DURABLE.test(wal),
      throughputRatio: round2(median(ratios)),
      p99Ms: median(p99s),
      etcdP99Ms: median(etcdP99s),
      lowerP99: lower,
    };
    if (rounds.length > 1) line.roundRatios = ratios.map(round2);
    out.push(line);
  }
  return out;
}

/** The run with the median throughput stands for a scenario; with several runs, every run's figure is listed. */
export function medianRun(runs: readonly BenchResult[]): BenchResult & { runsEntriesPerSec?: number[] } {
  const sorted = [...runs].sort((a, b) => a.entriesPerSec - b.entriesPerSec);
  const m = sorted[Math.floor(runs.length / 2)]!;
  return runs.length === 1 ? m : { ...m, runsEntriesPerSec: runs.map((r) => r.entriesPerSec) };
}
