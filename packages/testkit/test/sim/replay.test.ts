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

  test('syncCommitIndex off leaves commit-only writes unsynced, and its replay line says so (--lazy-commit)', async () => {
    const strict = await runSimulation({ seed: 4242, nodes: 3, partitions: 3, durationMs: 5000 });
    const lazy = await runSimulation({ seed: 4242, nodes: 3, partitions: 3, durationMs: 5000, raft: { syncCommitIndex: false } });
    expect(lazy.ok).toBe(true);
    expect(lazy.replay).toBe('pnpm sim --seed 4242 --nodes 3 --partitions 3 --duration 5000 --lazy-commit');
    expect(lazy.crashes).toBeGreaterThan(0);
    expect(strict.walSyncs).toBe(strict.walAppends);
    // Every leader commit round leaves one write unsynced: a large share of all appends.
    expect(lazy.walAppends - lazy.walSyncs).toBeGreaterThan(lazy.walAppends / 5);
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
