/**
 * `pnpm bench [-- --filter <substring>[,<substring>…]] [--seconds N] [--repeat N]`: runs the benchmark scenarios one after another
 * (in N rounds with --repeat N), printing one JSON line per result and a table at the end.
 */
import { compareWithEtcd, medianRun } from './compare.js';
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
  // With --repeat N the scenarios run in N rounds, each running every selected scenario once, so that the
  // etcd figure a ratio divides by was measured minutes, not a whole run, away from its Kommander figure.
  const rounds: BenchResult[][] = [];
  const failed: string[] = [];
  for (let k = 0; k < repeat; k++) {
    const results: BenchResult[] = [];
    for (const s of selected) {
      if (failed.includes(s.name)) continue;
      try {
        const r = await s.run({ seconds });
        results.push(r);
        if (repeat > 1) process.stdout.write(`${JSON.stringify({ round: k + 1, ...r })}\n`);
      } catch (error) {
        // One broken scenario does not cost the others their figures; the run still ends with exit code 1.
        const message = error instanceof Error ? error.message : String(error);
        failed.push(s.name);
        process.stdout.write(`${JSON.stringify({ scenario: s.name, error: message })}\n`);
      }
    }
    rounds.push(results);
  }
  const results: BenchResult[] = [];
  for (const s of selected) {
    if (failed.includes(s.name)) continue;
    const result = medianRun(rounds.flatMap((rs) => rs.filter((r) => r.scenario === s.name)));
    results.push(result);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  const measured = rounds.map((rs) => rs.filter((r) => !failed.includes(r.scenario)));
  for (const line of compareWithEtcd(measured)) process.stdout.write(`${JSON.stringify(line)}\n`);
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

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
