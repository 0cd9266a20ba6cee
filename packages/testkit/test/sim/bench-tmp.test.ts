import { runSimulation } from '../../src/sim/simulation.js';

test('bench', async () => {
  for (const interval of [[10, 30], [15, 45]] as const) {
    for (const [nodes, partitions] of [[3, 4], [5, 4], [3, 3], [5, 3]] as const) {
      let total = 0;
      const acks: number[] = [];
      let steps = 0;
      for (let seed = 1; seed <= 12; seed++) {
        const t = performance.now();
        const r = await runSimulation({ seed, nodes, partitions, durationMs: 10_000, load: { intervalMs: interval } });
        total += performance.now() - t;
        acks.push(r.acknowledged);
        steps += r.steps;
        if (!r.ok) console.log(JSON.stringify(r.violation), r.replay);
      }
      acks.sort((a, b) => a - b);
      console.log(`${interval} ${nodes}x${partitions}: ${(total / 12).toFixed(0)} ms/seed, steps ${(steps / 12).toFixed(0)}, acks min ${acks[0]} median ${acks[6]}`);
    }
  }
}, 600_000);
