import { formatViolation } from '../../src/sim/invariants/violation.js';
import { runSimulation } from '../../src/sim/simulation.js';

/** Seeds that once found a bug, replayed on every run. */
const REGRESSIONS = [
  // A follower answered a delayed Heartbeat of an old term with "accepted up to my last index"; its
  // leader, by then leading again in the follower's term, took that as a log match and committed
  // through it: two nodes committed different entries at one index.
  { seed: 3001065, nodes: 3, partitions: 4, durationMs: 10_000 },
];

describe('simulation regressions', () => {
  test.each(REGRESSIONS)('seed $seed ($nodes nodes × $partitions partitions)', async (options) => {
    const report = await runSimulation(options);
    if (report.violation !== null) throw new Error(`${formatViolation(report.violation)}\nreplay: ${report.replay}`);
    expect(report.ok).toBe(true);
    expect(report.converged).toBe(true);
  });
});
