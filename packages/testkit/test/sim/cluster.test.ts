import { EntryKind, MessageType, RaftOperationStatus, type Message } from '@kommander/core';
import { SimulatedCluster, SimulationError } from '../../src/sim/cluster.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

async function leaderOf(cluster: SimulatedCluster, partition: number): Promise<string> {
  let leader: string | undefined;
  expect(await cluster.runUntil(() => (leader = cluster.leaderOf(partition)) !== undefined, 5000)).toBe(true);
  return leader as string;
}

describe('SimulatedCluster', () => {
  test('starts every node, elects a leader per partition, and delivers a write on every node', async () => {
    const cluster = await SimulatedCluster.start({ seed: 1, nodes: 3, partitions: 2 });
    expect(cluster.nodes).toEqual(['n1', 'n2', 'n3']);
    expect(cluster.nodes.every((n) => cluster.isJoined(n))).toBe(true);
    for (const p of [0, 1, 2]) await leaderOf(cluster, p);
    const result = await cluster.write(1, 'put', bytes('hello'));
    expect(result.status).toBe(RaftOperationStatus.Success);
    expect(await cluster.runUntil(() => cluster.nodes.every((n) => cluster.deliveredBy(n, 1) === 1), 2000)).toBe(true);
    await cluster.converge();
  });

  test('runFor advances virtual time exactly; runUntil reports a timeout', async () => {
    const cluster = await SimulatedCluster.start({ seed: 2, nodes: 3, partitions: 1 });
    const t0 = cluster.now;
    await cluster.runFor(1234);
    expect(cluster.now).toBe(t0 + 1234);
    expect(await cluster.runUntil(() => false, 100)).toBe(false);
    expect(cluster.now).toBe(t0 + 1334);
  });

  test('after the leader crashes the others elect a new one in a higher term; the restarted node catches up', async () => {
    const cluster = await SimulatedCluster.start({ seed: 3, nodes: 3, partitions: 1 });
    const old = await leaderOf(cluster, 1);
    const oldTerm = cluster.manager(old)?.partitionStatus(1).term ?? 0;
    expect((await cluster.write(1, 'put', bytes('before'))).status).toBe(RaftOperationStatus.Success);
    cluster.crash(old);
    expect(cluster.isUp(old)).toBe(false);
    expect(cluster.manager(old)).toBeUndefined();
    const next = await leaderOf(cluster, 1);
    expect(next).not.toBe(old);
    expect(cluster.manager(next)?.partitionStatus(1).term).toBeGreaterThan(oldTerm);
    expect((await cluster.write(1, 'put', bytes('during'))).status).toBe(RaftOperationStatus.Success);
    cluster.restart(old);
    await cluster.converge();
    expect(cluster.deliveredBy(old, 1)).toBe(cluster.deliveredCount(1));
    expect(cluster.starts).toBe(4);
    expect(cluster.crashes).toBe(1);
  });

  test('an isolated leader cannot commit; the majority elects another and the heal converges', async () => {
    const cluster = await SimulatedCluster.start({ seed: 4, nodes: 3, partitions: 1 });
    const old = await leaderOf(cluster, 1);
    const end = cluster.network.isolate(old);
    const stale = cluster.manager(old)?.replicateLogs(1, 'put', bytes('minority'));
    let settled = false;
    void stale?.then(() => (settled = true));
    expect(await cluster.runUntil(() => cluster.nodes.some((n) => n !== old && cluster.manager(n)?.amILeaderQuick(1) === true), 5000)).toBe(true);
    expect((await cluster.write(1, 'put', bytes('majority'))).status).toBe(RaftOperationStatus.Success);
    const status = settled ? (await stale)?.status : undefined;
    expect(status).not.toBe(RaftOperationStatus.Success);
    end();
    await cluster.converge();
    const canonical = cluster.deliveries.canonical(1).map((d) => new TextDecoder().decode(Uint8Array.from(d.key, (c) => c.charCodeAt(0))));
    expect(canonical).toContain('majority');
  });

  test('crash and restart of every node in turn keeps the delivered sequences equal', async () => {
    const cluster = await SimulatedCluster.start({ seed: 5, nodes: 3, partitions: 2 });
    for (const node of cluster.nodes) {
      for (let i = 0; i < 3; i++) await cluster.write(1 + (i % 2), 'put', bytes(`${node}-${i}`));
      cluster.crash(node);
      await cluster.runFor(300);
      cluster.restart(node);
      await cluster.runFor(300);
    }
    await cluster.converge();
    for (const p of [1, 2]) for (const n of cluster.nodes) expect(cluster.deliveredBy(n, p)).toBe(cluster.deliveredCount(p));
  });

  test('controls reject misuse with a message that says what to do', async () => {
    const cluster = await SimulatedCluster.start({ seed: 6, nodes: 3, partitions: 1 });
    expect(() => cluster.restart('n1')).toThrow('n1 is running; crash it first');
    cluster.crash('n1');
    expect(() => cluster.crash('n1')).toThrow('already down; restart it first');
    expect(() => cluster.crash('zz')).toThrow('unknown node "zz"');
    await expect(SimulatedCluster.start({ seed: 1.5 })).rejects.toThrow('seed must be an integer');
  });

  test('stop() makes every node leave the cluster', async () => {
    const cluster = await SimulatedCluster.start({ seed: 7, nodes: 3, partitions: 1 });
    await leaderOf(cluster, 1);
    await cluster.stop();
    expect(cluster.nodes.some((n) => cluster.isUp(n))).toBe(false);
  });

  test('a user invariant that fails stops the run with the replay line and the trace', async () => {
    const cluster = await SimulatedCluster.start({
      seed: 8,
      nodes: 3,
      partitions: 1,
      replay: 'my replay line',
      invariant: ({ cluster: c }) => (c.deliveredCount(1) >= 2 ? 'two entries are too many for this test' : undefined),
    });
    await cluster.write(1, 'put', bytes('one'));
    const error = await cluster.write(1, 'put', bytes('two')).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(SimulationError);
    const e = error as SimulationError;
    expect(e.violation.invariant).toBe('user-invariant');
    expect(e.message).toContain('two entries are too many');
    expect(e.message).toContain('replay: my replay line');
    expect(e.traceTail.length).toBeGreaterThan(0);
    expect(cluster.violation).toBe(e.violation);
    await expect(cluster.step()).rejects.toBeInstanceOf(SimulationError);
  });

  test('the checkers catch a network that rewrites payloads in flight', async () => {
    // A Byzantine network: followers store different bytes than the leader proposed. Raft cannot defend
    // against it, which is the point: the run must stop at the first divergence.
    const tamper = (_from: string, _to: string, messages: readonly Message[]): readonly Message[] =>
      messages.map((m) =>
        m.type !== MessageType.Append || m.entries.length === 0
          ? m
          : { ...m, entries: m.entries.map((e) => (e.kind === EntryKind.Data ? { ...e, data: bytes('forged') } : e)) },
      );
    const cluster = await SimulatedCluster.start({ seed: 9, nodes: 3, partitions: 1, tamper });
    let error: unknown = null;
    try {
      for (let i = 0; i < 20; i++) await cluster.write(1, 'put', bytes(`w${i}`));
      await cluster.converge();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SimulationError);
    expect(['log-matching', 'state-machine-safety']).toContain((error as SimulationError).violation.invariant);
  });

  test('the heal check fails when a node stays cut off', async () => {
    const cluster = await SimulatedCluster.start({ seed: 10, nodes: 3, partitions: 1 });
    await leaderOf(cluster, 1);
    cluster.network.isolate('n3');
    const error = await cluster.converge(3000).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(SimulationError);
    expect((error as SimulationError).violation.invariant).toBe('heal-convergence');
  });

  test('a chain of zero-delay events that never lets time advance is reported as a livelock', async () => {
    const cluster = await SimulatedCluster.start({ seed: 11, nodes: 1, partitions: 1 });
    const spin = (): void => {
      cluster.clock.schedule(0, spin, 'spin');
    };
    spin();
    const error = await cluster.runFor(10).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(SimulationError);
    expect((error as SimulationError).violation.details).toContain('livelock');
  });
});
