import { setImmediate as realSetImmediate } from 'node:timers';
import { MessageType, type Message } from '../../src/raft/message.js';
import { RaftOperationStatus } from '../../src/runtime/status.js';
import { TestCluster, text } from './cluster-harness.js';

const decoder = new TextDecoder();
const turn = (): Promise<void> => new Promise((resolve) => realSetImmediate(resolve));

/** Runs every event due now, without letting virtual time pass. */
async function runNow(cluster: TestCluster): Promise<void> {
  for (let i = 0; i < 100; i++) {
    await turn();
    if (cluster.clock.nextTime() !== cluster.clock.elapsed) return;
    cluster.clock.runNext();
  }
}

describe('pipelined persistence', () => {
  test('a leader replicates new proposals while its previous WAL write is still in flight, and everything lands in order', async () => {
    const cluster = new TestCluster(['a', 'b', 'c']);
    await cluster.start();
    const leader = await cluster.leader(1);
    await cluster.runFor(50);
    const appended: string[] = [];
    const send = leader.transport.send.bind(leader.transport);
    leader.transport.send = (peer: string, messages: readonly Message[]): void => {
      for (const m of messages) {
        if (m.type === MessageType.Append && m.partition === 1) for (const e of m.entries) if (e.data.length > 0) appended.push(`${peer}:${decoder.decode(e.data)}`);
      }
      send(peer, messages);
    };
    const first = leader.raft.replicateLogs(1, 'Put', text('A'));
    const start = cluster.clock.elapsed;
    await runNow(cluster); // no virtual time passes: the 1 ms WAL write of A stays in flight
    expect(appended.filter((x) => x.endsWith(':A')).length).toBe(2);
    const second = leader.raft.replicateLogs(1, 'Put', text('B'));
    await runNow(cluster);
    expect(cluster.clock.elapsed).toBe(start);
    // B left for both followers before A's write completed (one Ready per write used to hold it back).
    expect(appended.filter((x) => x.endsWith(':B')).length).toBe(2);
    const [ra, rb] = [await cluster.settle(first), await cluster.settle(second)];
    expect([ra.status, rb.status]).toEqual([RaftOperationStatus.Success, RaftOperationStatus.Success]);
    expect(rb.lastIndex).toBe(ra.lastIndex + 1);
    await cluster.runUntil(() => cluster.nodes.every((n) => (n.delivered.get(1) ?? []).join() === 'A,B'));
  });
});
