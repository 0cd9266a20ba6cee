import { MessageType, type Message, type NodeId } from '@kommander/core';
import { Prng } from '../../src/sim/prng.js';
import { SimNetwork, type SimTransport } from '../../src/sim/sim-network.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

const NODES = ['n1', 'n2', 'n3'];

function message(from: NodeId, to: NodeId, index: number): Message {
  return { type: MessageType.Heartbeat, partition: 1, from, to, term: 1, logTerm: 0, index, entries: [], commit: 0, reject: false, rejectHint: 0, context: 0 };
}

interface Harness {
  clock: VirtualClock;
  network: SimNetwork;
  transports: Map<NodeId, SimTransport>;
  inbox: Map<NodeId, { at: number; from: NodeId; index: number }[]>;
  run(): void;
  send(from: NodeId, to: NodeId, index: number): void;
}

async function harness(seed = 1, latencyMs = 1): Promise<Harness> {
  const clock = new VirtualClock();
  const network = new SimNetwork(clock, new Prng(seed), NODES, { latencyMs });
  const transports = new Map<NodeId, SimTransport>();
  const inbox = new Map<NodeId, { at: number; from: NodeId; index: number }[]>();
  for (const node of NODES) {
    const t = network.transportFor(node);
    inbox.set(node, []);
    await t.start((messages) => {
      for (const m of messages) inbox.get(node)?.push({ at: clock.elapsed, from: m.from, index: m.index });
    });
    transports.set(node, t);
  }
  return {
    clock,
    network,
    transports,
    inbox,
    run: () => {
      while (clock.runNext() !== undefined) {
        // one event per call
      }
    },
    send: (from, to, index) => transports.get(from)?.send(to, [message(from, to, index)]),
  };
}

describe('SimNetwork', () => {
  test('a clean network delivers every batch once, after the latency, in order', async () => {
    const h = await harness(1, 2);
    for (let i = 1; i <= 5; i++) h.send('n1', 'n2', i);
    h.run();
    expect(h.inbox.get('n2')).toEqual([1, 2, 3, 4, 5].map((index) => ({ at: 2, from: 'n1', index })));
    expect(h.network.stats).toMatchObject({ sent: 5, delivered: 5, dropped: 0, duplicated: 0 });
    expect(h.network.isClean).toBe(true);
  });

  test('an asymmetric cut drops a→b while b→a flows, until it ends', async () => {
    const h = await harness();
    const end = h.network.cut('n1', 'n2');
    expect(h.network.isCut('n1', 'n2')).toBe(true);
    expect(h.network.isCut('n2', 'n1')).toBe(false);
    h.send('n1', 'n2', 1);
    h.send('n2', 'n1', 2);
    h.run();
    expect(h.inbox.get('n2')).toEqual([]);
    expect(h.inbox.get('n1')?.map((m) => m.index)).toEqual([2]);
    end();
    h.send('n1', 'n2', 3);
    h.run();
    expect(h.inbox.get('n2')?.map((m) => m.index)).toEqual([3]);
    expect(h.network.stats.cut).toBe(1);
  });

  test('a partition blocks both directions across sides only; messages in flight are cut on arrival', async () => {
    const h = await harness();
    h.send('n1', 'n3', 0);
    const end = h.network.partition(['n1'], ['n2', 'n3']);
    h.send('n1', 'n2', 1);
    h.send('n2', 'n1', 2);
    h.send('n2', 'n3', 3);
    h.run();
    expect(h.inbox.get('n1')).toEqual([]);
    expect(h.inbox.get('n2')).toEqual([]);
    expect(h.inbox.get('n3')?.map((m) => m.index)).toEqual([3]);
    end();
    expect(h.network.isClean).toBe(true);
  });

  test('overlapping faults on one link: the link reopens only when both ended', async () => {
    const h = await harness();
    const endIsolation = h.network.isolate('n1');
    const endCut = h.network.cut('n1', 'n2');
    endIsolation();
    expect(h.network.isCut('n1', 'n2')).toBe(true);
    expect(h.network.isCut('n1', 'n3')).toBe(false);
    endCut();
    endCut();
    expect(h.network.isCut('n1', 'n2')).toBe(false);
  });

  test('drop rate loses about that share of batches; heal() restores a clean network', async () => {
    const h = await harness(9);
    h.network.degrade({ dropRate: 0.3 });
    for (let i = 0; i < 2000; i++) h.send('n1', 'n2', i);
    h.run();
    const got = h.inbox.get('n2')?.length ?? 0;
    expect(got).toBeGreaterThan(1250);
    expect(got).toBeLessThan(1550);
    expect(h.network.stats.dropped).toBe(2000 - got);
    h.network.heal();
    expect(h.network.conditions.dropRate).toBe(0);
  });

  test('duplication delivers some batches twice', async () => {
    const h = await harness(4);
    const end = h.network.degrade({ duplicateRate: 0.5 });
    for (let i = 0; i < 200; i++) h.send('n1', 'n2', i);
    h.run();
    const got = h.inbox.get('n2')?.length ?? 0;
    expect(got).toBe(200 + h.network.stats.duplicated);
    expect(h.network.stats.duplicated).toBeGreaterThan(60);
    end();
    expect(h.network.isClean).toBe(true);
  });

  test('reorder jitter and delay spikes make batches overtake each other', async () => {
    const h = await harness(5);
    h.network.degrade({ reorderJitterMs: 20 });
    h.network.degrade({ spikeRate: 0.2, spikeMs: 300 });
    for (let i = 0; i < 100; i++) h.send('n1', 'n2', i);
    h.run();
    const order = h.inbox.get('n2')?.map((m) => m.index) ?? [];
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(order).not.toEqual([...order].sort((a, b) => a - b));
    expect(Math.max(...(h.inbox.get('n2')?.map((m) => m.at) ?? [0]))).toBeGreaterThan(150);
  });

  test('a killed transport neither sends nor receives, and a new incarnation gets a fresh one', async () => {
    const h = await harness();
    const old = h.transports.get('n2') as SimTransport;
    h.send('n1', 'n2', 1);
    h.network.kill('n2');
    expect(old.isAlive).toBe(false);
    old.send('n1', [message('n2', 'n1', 9)]);
    h.run();
    expect(h.inbox.get('n2')).toEqual([]);
    expect(h.inbox.get('n1')).toEqual([]);
    expect(h.network.stats.unreachable).toBe(1);
    await expect(old.start(() => undefined)).rejects.toThrow('killed');
    const fresh = h.network.transportFor('n2');
    const got: number[] = [];
    await fresh.start((ms) => got.push(...ms.map((m) => m.index)));
    h.send('n1', 'n2', 2);
    h.run();
    expect(got).toEqual([2]);
  });

  test('the same seed decides the same fate for every batch', async () => {
    const fates = async (seed: number): Promise<string> => {
      const h = await harness(seed);
      h.network.degrade({ dropRate: 0.2, duplicateRate: 0.2, reorderJitterMs: 10 });
      for (let i = 0; i < 300; i++) h.send('n1', 'n2', i);
      h.run();
      return JSON.stringify(h.inbox.get('n2'));
    };
    expect(await fates(11)).toBe(await fates(11));
    expect(await fates(11)).not.toBe(await fates(12));
  });

  test('rejects unknown nodes and duplicate ids with a message naming them', () => {
    const clock = new VirtualClock();
    expect(() => new SimNetwork(clock, new Prng(1), ['a', 'a'])).toThrow('"a" appears twice');
    const network = new SimNetwork(clock, new Prng(1), ['a', 'b']);
    expect(() => network.cut('a', 'zz')).toThrow('unknown node "zz"');
    expect(() => network.partition(['a'], ['a'])).toThrow('on both sides');
  });
});
