#!/usr/bin/env node
/**
 * `pnpm sim`: runs many seeds of the deterministic cluster simulation and stops at the first failing
 * one, printing the line that replays it.
 *
 *   pnpm sim --seeds 100000 [--start 1] [--nodes 3] [--partitions 4] [--duration 10000] [--no-faults] [--lazy-commit]
 *   pnpm sim --seed 1234 [--nodes 3] [--partitions 4] [--duration 10000]     (one seed, full report)
 */
import { formatViolation } from '../sim/invariants/violation.js';
import { runSimulation, type SimulationReport } from '../sim/simulation.js';

interface CliOptions {
  seeds: number;
  start: number;
  single: boolean;
  nodes: number;
  partitions: number;
  durationMs: number;
  faults: boolean;
  /** Nodes run with RaftManagerOptions.syncCommitIndex false. */
  lazyCommit: boolean;
}

const USAGE =
  'usage: pnpm sim [--seeds N] [--start S] [--nodes 3] [--partitions 4] [--duration 10000] [--no-faults] [--lazy-commit]\n' +
  '       pnpm sim --seed S [--nodes 3] [--partitions 4] [--duration 10000] [--no-faults] [--lazy-commit]\n' +
  '  --lazy-commit: nodes run with syncCommitIndex false (a commit index alone is not fsynced; a crash drops it)';

function parse(argv: readonly string[]): CliOptions {
  const options: CliOptions = { seeds: 100, start: 1, single: false, nodes: 3, partitions: 4, durationMs: 10_000, faults: true, lazyCommit: false };
  const integer = (flag: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (value === undefined || !Number.isSafeInteger(n) || n < min) {
      throw new Error(`${flag} needs an integer ≥ ${min}, got ${value === undefined ? 'nothing' : JSON.stringify(value)}\n${USAGE}`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const [name, inline] = flag.includes('=') ? (flag.split('=', 2) as [string, string]) : [flag, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (name) {
      case '--seeds':
        options.seeds = integer(name, value(), 1);
        break;
      case '--start':
        options.start = integer(name, value(), 0);
        break;
      case '--seed':
        options.start = integer(name, value(), 0);
        options.seeds = 1;
        options.single = true;
        break;
      case '--nodes':
        options.nodes = integer(name, value(), 1);
        break;
      case '--partitions':
        options.partitions = integer(name, value(), 1);
        break;
      case '--duration':
        options.durationMs = integer(name, value(), 0);
        break;
      case '--no-faults':
        options.faults = false;
        break;
      case '--lazy-commit':
        options.lazyCommit = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${JSON.stringify(flag)}\n${USAGE}`);
    }
  }
  return options;
}

function printReport(report: SimulationReport): void {
  const out = process.stdout;
  out.write(`seed ${report.seed}: ${report.ok ? 'ok' : 'FAILED'}\n`);
  out.write(`  faults (${report.faultsInjected} injected): ${report.faultPlan.join('; ') || 'none'}\n`);
  out.write(`  acknowledged ${report.acknowledged}, delivered per partition [${report.delivered.join(', ')}], heal ${report.healMs.toFixed(0)} ms\n`);
  out.write(`  steps ${report.steps}, virtual ${report.endMs.toFixed(0)} ms, messages ${JSON.stringify(report.network)}\n`);
  out.write(`  statuses ${JSON.stringify(report.load.statuses)}\n`);
  out.write(`  trace hash ${report.traceHash}\n`);
}

async function main(): Promise<number> {
  let options: CliOptions;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  const started = performance.now();
  let lastProgress = started;
  let acknowledged = 0;
  let snapshots = 0;
  for (let k = 0; k < options.seeds; k++) {
    const seed = options.start + k;
    const report = await runSimulation({
      seed,
      nodes: options.nodes,
      partitions: options.partitions,
      durationMs: options.durationMs,
      faults: options.faults,
      ...(options.lazyCommit ? { raft: { syncCommitIndex: false } } : {}),
    });
    acknowledged += report.acknowledged;
    snapshots += report.snapshots;
    if (options.single) printReport(report);
    if (!report.ok) {
      const v = report.violation;
      process.stdout.write(`\nseed ${seed} FAILED: ${v === null ? 'unknown' : formatViolation(v)}\n`);
      process.stdout.write(`trace tail:\n${report.traceTail.slice(-60).join('\n')}\n`);
      process.stdout.write(`\nreplay: ${report.replay}\n`);
      return 1;
    }
    const now = performance.now();
    if (now - lastProgress >= 2000) {
      lastProgress = now;
      const rate = (k + 1) / ((now - started) / 1000);
      process.stdout.write(`  ${k + 1}/${options.seeds} seeds ok (last ${seed}), ${rate.toFixed(1)} seeds/s\n`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${options.seeds} seeds ok (${options.start}..${options.start + options.seeds - 1}, ${options.nodes} nodes × ${options.partitions} partitions, ` +
      `${options.durationMs} ms each) in ${seconds.toFixed(1)} s: ${(options.seeds / seconds).toFixed(2)} seeds/s, ${acknowledged} acknowledged writes, ${snapshots} snapshots installed\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
