import { runSimulation } from '../../src/sim/simulation.js';

test('bench', async () => {
  for (const [nodes, partitions] of [[3, 4]] as const) {
    for (let seed = 1; seed <= 3; seed++) {
      const t = performance.now();
      const r = await runSimulation({ seed, nodes, partitions, durationMs: 10_000 });
      const ms = performance.now() - t;
      console.log(`${nodes}x${partitions} seed ${seed}: ${ms.toFixed(0)} ms ok=${r.ok} steps=${r.steps} ack=${r.acknowledged} delivered=${r.delivered} net=${JSON.stringify(r.network)} heal=${r.healMs.toFixed(0)} faults=${r.faultsInjected} ${r.violation ? JSON.stringify(r.violation) : ''}`);
    }
  }
}, 600_000);
