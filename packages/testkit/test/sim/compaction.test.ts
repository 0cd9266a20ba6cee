import { runSimulation } from '../../src/sim/simulation.js';

describe('simulation with compaction and without state transfer', () => {
  // Without a StateTransfer nodes compact only through what every member holds, so nobody needs a snapshot.
  for (let seed = 7_100_001; seed <= 7_100_040; seed++) {
    test(`seed ${seed}`, async () => {
      const report = await runSimulation({ seed, nodes: 3, partitions: 3, durationMs: 8_000, snapshots: false });
      if (!report.ok) throw new Error(`${report.violation?.details}\nreplay: ${report.replay} (snapshots: false)`);
      expect(report.converged).toBe(true);
      expect(report.snapshots).toBe(0);
    });
  }
});
