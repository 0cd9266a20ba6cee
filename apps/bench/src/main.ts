/**
 * `pnpm bench [-- --filter <substring>[,<substring>…]] [--seconds N] [--repeat N]`: runs the benchmark scenarios one after another,
 * printing one JSON line per result as it finishes and a table at the end.
 */
import type { BenchResult, Scenario } from './harness.js';
import { diskScenarios } from './scenarios/disk.js';
import { durableScenarios } from './scenarios/durable.js';
import { etcdScenarios, etcdSkipped } from './scenarios/etcd.js';
import { inMemoryScenarios } from './scenarios/in-memory.js';
import { networkedScenarios } from './scenarios/networked.js';

const scenarios: Scenario[] = [...inMemoryScenarios, ...durableScenarios, ...diskScenarios, ...networkedScenarios, ...etcdScenarios];

function parseArgs(argv: readonly string[]): { filter: string; seconds: number; repeat: number } {
  let filter = '';
  let seconds = 3;
  let repeat = 1;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') continue;
    if (arg === '--filter') filter = argv[++i] ?? '';
    else if (arg === '--seconds') seconds = Number(argv[++i]);
    else if (arg === '--repeat') repeat = Number(argv[++i]);
    else throw new Error(`unknown argument ${arg}; use --filter <substring>, --seconds <n> and --repeat <n>`);
  }
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error('--seconds must be a positive number');
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error('--repeat must be a positive integer');
  return { filter, seconds, repeat };
}

async function main(): Promise<void> {
  const { filter, seconds, repeat } = parseArgs(process.argv.slice(2));
  const filters = filter.split(',');
  const selected = scenarios.filter((s) => filters.some((f) => s.name.includes(f)));
  if (selected.length === 0 && etcdSkipped !== undefined && ['etcd-i1', 'etcd-i64', 'etcd-i256'].some((n) => filters.some((f) => n.includes(f)))) {
    process.stderr.write(`${etcdSkipped}\n`);
    return;
  }
  if (selected.length === 0) {
    throw new Error(`no scenario matches "${filter}"; scenarios: ${scenarios.map((s) => s.name).join(', ')}`);
  }
  const results: BenchResult[] = [];
  const failed: string[] = [];
  for (const s of selected) {
    // With --repeat N the run with the median throughput stands for the scenario; every run's figure is listed.
    const runs: BenchResult[] = [];
    try {
      for (let k = 0; k < repeat; k++) runs.push(await s.run({ seconds }));
    } catch (error) {
      // One broken scenario does not cost the others their figures; the run still ends with exit code 1.
      const message = error instanceof Error ? error.message : String(error);
      failed.push(s.name);
      process.stdout.write(`${JSON.stringify({ scenario: s.name, error: message })}\n`);
      continue;
    }
    const median = [...runs].sort((a, b) => a.entriesPerSec - b.entriesPerSec)[Math.floor(repeat / 2)]!;
    const result = repeat === 1 ? median : { ...median, runsEntriesPerSec: runs.map((r) => r.entriesPerSec) };
    results.push(result);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  for (const line of compareWithEtcd(results)) process.stdout.write(`${JSON.stringify(line)}\n`);
  console.table(
    results.map((r) => ({
      scenario: r.scenario,
      partitions: r.partitions,
      inflight: r.inflight,
      'entries/s': r.entriesPerSec,
      'p50 ms': r.p50Ms,
      'p99 ms': r.p99Ms,
    })),
  );
  if (failed.length > 0) throw new Error(`${failed.length} scenario(s) failed: ${failed.join(', ')} (their error lines are above)`);
}

/** Issue 4's goal: each networked Kommander result against etcd at the same number of proposals in flight. */
function compareWithEtcd(results: readonly BenchResult[]): object[] {
  const out: object[] = [];
  for (const r of results) {
    if (!r.scenario.includes('-3proc-')) continue;
    const etcd = results.find((e) => e.wal === 'etcd' && e.inflight === r.inflight);
    if (etcd === undefined || etcd.entriesPerSec === 0) continue;
    out.push({
      comparison: `${r.scenario} vs ${etcd.scenario}`,
      // A memory-WAL or fsync-floor run is a reference line, not a durable result.
      durable: r.wal !== 'memory' && !r.wal.startsWith('fsyncfloor'),
      throughputRatio: Math.round((r.entriesPerSec / etcd.entriesPerSec) * 100) / 100,
      p99Ms: r.p99Ms,
      etcdP99Ms: etcd.p99Ms,
      lowerP99: r.p99Ms < etcd.p99Ms,
    });
  }
  return out;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
