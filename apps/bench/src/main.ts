/**
 * `pnpm bench [-- --filter <substring>] [--seconds N]`: runs the benchmark scenarios one after another,
 * printing one JSON line per result as it finishes and a table at the end.
 */
import type { BenchResult, Scenario } from './harness.js';
import { durableScenarios } from './scenarios/durable.js';
import { inMemoryScenarios } from './scenarios/in-memory.js';

const scenarios: Scenario[] = [...inMemoryScenarios, ...durableScenarios];

function parseArgs(argv: readonly string[]): { filter: string; seconds: number } {
  let filter = '';
  let seconds = 3;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') continue;
    if (arg === '--filter') filter = argv[++i] ?? '';
    else if (arg === '--seconds') seconds = Number(argv[++i]);
    else throw new Error(`unknown argument ${arg}; use --filter <substring> and --seconds <n>`);
  }
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error('--seconds must be a positive number');
  return { filter, seconds };
}

async function main(): Promise<void> {
  const { filter, seconds } = parseArgs(process.argv.slice(2));
  const selected = scenarios.filter((s) => s.name.includes(filter));
  if (selected.length === 0) {
    throw new Error(`no scenario matches "${filter}"; scenarios: ${scenarios.map((s) => s.name).join(', ')}`);
  }
  const results: BenchResult[] = [];
  for (const s of selected) {
    const result = await s.run({ seconds });
    results.push(result);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
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
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
