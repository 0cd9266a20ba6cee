import { runSimulation } from '../../src/sim/simulation.js';

describe('replay', () => {
  test('the same seed gives an identical report and trace hash', async () => {
    const a = await runSimulation({ seed: 4242, nodes: 3, partitions: 3, durationMs: 5000 });
    const b = await runSimulation({ seed: 4242, nodes: 3, partitions: 3, durationMs: 5000 });
    expect(a.ok).toBe(true);
    expect(b).toEqual(a);
    expect(b.traceHash).toBe(a.traceHash);
    expect(a.steps).toBeGreaterThan(1000);
    expect(a.replay).toBe('pnpm sim --seed 4242 --nodes 3 --partitions 3 --duration 5000');
  });

  test('a different seed gives a different run', async () => {
    const a = await runSimulation({ seed: 1, nodes: 3, partitions: 2, durationMs: 3000 });
    const b = await runSimulation({ seed: 2, nodes: 3, partitions: 2, durationMs: 3000 });
    expect(a.traceHash).not.toBe(b.traceHash);
    expect(a.faultPlan).not.toEqual(b.faultPlan);
  });

  test('a fault-free run has no faults, drops nothing and still converges', async () => {
    const report = await runSimulation({ seed: 9, nodes: 3, partitions: 2, durationMs: 3000, faults: false });
    expect(report.ok).toBe(true);
    expect(report.faultPlan).toEqual([]);
    expect(report.crashes).toBe(0);
    expect(report.network.dropped + report.network.cut + report.network.duplicated).toBe(0);
    expect(report.acknowledged).toBeGreaterThan(100);
    expect(report.replay).toContain('--no-faults');
  });
});
