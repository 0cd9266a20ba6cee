import { MessageType, type Message, type NodeId } from '../../src/raft/message.js';
import { InMemoryNetwork } from '../../src/memory/in-memory-network.js';
import type { Transport } from '../../src/ports/transport.js';
import { ManualClock } from './manual-clock.js';

function message(from: NodeId, to: NodeId, seq: number, partition = 1): Message {
  return {
    type: MessageType.Heartbeat,
    partition,
    from,
    to,
    term: 1,
    logTerm: 0,
    index: seq,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    context: 0,
  };
}

interface Node {
  readonly transport: Transport;
  /** Every batch received, in arrival order. */
  readonly batches: (readonly Message[])[];
}

async function cluster(network: InMemoryNetwork, ids: readonly NodeId[]): Promise<Map<NodeId, Node>> {
  const nodes = new Map<NodeId, Node>();
  for (const id of ids) {
    const node: Node = { transport: network.transport(id), batches: [] };
    await node.transport.start((batch) => node.batches.push(batch));
    nodes.set(id, node);
  }
  return nodes;
}

function seqs(node: Node | undefined): number[] {
  return (node?.batches ?? []).flat().map((m) => m.index);
}

function node(nodes: Map<NodeId, Node>, id: NodeId): Node {
  const found = nodes.get(id);
  if (found === undefined) throw new Error(`no node ${id}`);
  return found;
}

describe('InMemoryNetwork: delivery', () => {
  it('delivers a frame as one batch later, never inside send', async () => {
    const clock = new ManualClock();
    const network = new InMemoryNetwork({ clock });
    const nodes = await cluster(network, ['a', 'b']);
    node(nodes, 'a').transport.send('b', [message('a', 'b', 1), message('a', 'b', 2, 7)]);
    expect(node(nodes, 'b').batches).toHaveLength(0);
    clock.advance(0);
    expect(node(nodes, 'b').batches).toHaveLength(1);
    expect(node(nodes, 'b').batches[0]?.map((m) => [m.index, m.partition])).toEqual([
      [1, 1],
      [2, 7],
    ]);
    expect(network.stats()).toEqual({ framesDelivered: 1, messagesDelivered: 2, framesDropped: 0 });
  });

  it('waits for the latency before delivering', async () => {
    const clock = new ManualClock();
    const network = new InMemoryNetwork({ clock, latencyMs: 10 });
    const nodes = await cluster(network, ['a', 'b']);
    node(nodes, 'a').transport.send('b', [message('a', 'b', 1)]);
    clock.advance(9);
    expect(seqs(nodes.get('b'))).toEqual([]);
    clock.advance(1);
    expect(seqs(nodes.get('b'))).toEqual([1]);
  });

  it('keeps send order per sender and receiver on the system clock', async () => {
    const network = new InMemoryNetwork();
    const received: number[] = [];
    let done: () => void = () => {};
    const all = new Promise<void>((resolve) => (done = resolve));
    const a = network.transport('a');
    const b = network.transport('b');
    await a.start(() => {});
    await b.start((batch) => {
      for (const m of batch) received.push(m.index);
      if (received.length === 500) done();
    });
    for (let i = 0; i < 500; i++) a.send('b', [message('a', 'b', i)]);
    await all;
    expect(received).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('delivers the frame as sent even if the sender reuses its array', async () => {
    const clock = new ManualClock();
    const network = new InMemoryNetwork({ clock });
    const nodes = await cluster(network, ['a', 'b']);
    const buffer = [message('a', 'b', 1)];
    node(nodes, 'a').transport.send('b', buffer);
    buffer.length = 0;
    clock.advance(0);
    expect(seqs(nodes.get('b'))).toEqual([1]);
  });

  it('drops frames to unknown and stopped peers without throwing', async () => {
    const clock = new ManualClock();
    const network = new InMemoryNetwork({ clock });
    const nodes = await cluster(network, ['a', 'b']);
    await node(nodes, 'b').transport.stop();
    expect(() => node(nodes, 'a').transport.send('b', [message('a', 'b', 1)])).not.toThrow();
    expect(() => node(nodes, 'a').transport.send('nobody', [message('a', 'nobody', 1)])).not.toThrow();
    clock.advance(0);
    expect(seqs(nodes.get('b'))).toEqual([]);
    expect(network.stats().framesDropped).toBe(2);
  });

  it('never calls a stopped transport, even for frames already on their way', async () => {
    const clock = new ManualClock();
    const network = new InMemoryNetwork({ clock });
    const nodes = await cluster(network, ['a', 'b']);
    node(nodes, 'a').transport.send('b', [message('a', 'b', 1)]);
    await node(nodes, 'b').transport.stop();
    clock.advance(0);
    expect(seqs(nodes.get('b'))).toEqual([]);
  });

  it('drops frames sent to the previous incarnation of a restarted node', async () => {
    const clock = new ManualClock();
    const network = new InMemoryNetwork({ clock });
    const nodes = await cluster(network, ['a', 'b']);
    node(nodes, 'a').transport.send('b', [message('a', 'b', 1)]);
    await node(nodes, 'b').transport.stop();
    const reborn: number[] = [];
    const b2 = network.transport('b');
    await b2.start((batch) => reborn.push(...batch.map((m) => m.index)));
    node(nodes, 'a').transport.send('b', [message('a', 'b', 2)]);
    clock.advance(0);
    expect(reborn).toEqual([2]);
  });

  it('allows one started transport per node', async () => {
    const network = new InMemoryNetwork({ clock: new ManualClock() });
    const first = network.transport('a');
    await first.start(() => {});
    await expect(network.transport('a').start(() => {})).rejects.toThrow(/already has a started transport/);
    await first.stop();
    await expect(network.transport('a').start(() => {})).resolves.toBeUndefined();
  });

  it('refuses an empty node id', () => {
    expect(() => new InMemoryNetwork().transport('')).toThrow(/must be a non-empty string/);
  });
});

describe('InMemoryNetwork: faults', () => {
  it('disconnects a pair in both directions until heal, leaving other links alone', async () => {
    const clock = new ManualClock();
    const network = new InMemoryNetwork({ clock });
    const nodes = await cluster(network, ['a', 'b', 'c']);
    network.disconnect('a', 'b');
    node(nodes, 'a').transport.send('b', [message('a', 'b', 1)]);
    node(nodes, 'b').transport.send('a', [message('b', 'a', 2)]);
    node(nodes, 'a').transport.send('c', [message('a', 'c', 3)]);
    clock.advance(0);
    expect(seqs(nodes.get('a'))).toEqual([]);
    expect(seqs(nodes.get('b'))).toEqual([]);
    expect(seqs(nodes.get('c'))).toEqual([3]);
    network.heal();
    node(nodes, 'a').transport.send('b', [message('a', 'b', 4)]);
    clock.advance(0);
    expect(seqs(nodes.get('b'))).toEqual([4]);
  });

  it('loses frames already on their way when the link is cut', async () => {
    const clock = new ManualClock();
    const network = new InMemoryNetwork({ clock, latencyMs: 5 });
    const nodes = await cluster(network, ['a', 'b']);
    node(nodes, 'a').transport.send('b', [message('a', 'b', 1)]);
    network.disconnect('b', 'a');
    clock.advance(5);
    expect(seqs(nodes.get('b'))).toEqual([]);
    expect(network.stats().framesDropped).toBe(1);
  });

  it('isolates a node from everyone', async () => {
    const clock = new ManualClock();
    const network = new InMemoryNetwork({ clock });
    const nodes = await cluster(network, ['a', 'b', 'c']);
    network.isolate('c');
    node(nodes, 'a').transport.send('c', [message('a', 'c', 1)]);
    node(nodes, 'c').transport.send('b', [message('c', 'b', 2)]);
    node(nodes, 'a').transport.send('b', [message('a', 'b', 3)]);
    clock.advance(0);
    expect(seqs(nodes.get('c'))).toEqual([]);
    expect(seqs(nodes.get('b'))).toEqual([3]);
    network.heal();
    node(nodes, 'c').transport.send('b', [message('c', 'b', 4)]);
    clock.advance(0);
    expect(seqs(nodes.get('b'))).toEqual([3, 4]);
  });

  it('lets a link filter decide each frame, and removes it with null', async () => {
    const clock = new ManualClock();
    const network = new InMemoryNetwork({ clock });
    const nodes = await cluster(network, ['a', 'b']);
    const seen: string[] = [];
    network.setLinkFilter((from, to, messages) => {
      seen.push(`${from}>${to}:${messages.length}`);
      return messages[0]?.partition !== 2;
    });
    node(nodes, 'a').transport.send('b', [message('a', 'b', 1, 1)]);
    node(nodes, 'a').transport.send('b', [message('a', 'b', 2, 2), message('a', 'b', 3, 1)]);
    clock.advance(0);
    expect(seqs(nodes.get('b'))).toEqual([1]);
    expect(seen).toEqual(['a>b:1', 'a>b:2']);
    network.setLinkFilter(null);
    node(nodes, 'a').transport.send('b', [message('a', 'b', 4, 2)]);
    clock.advance(0);
    expect(seqs(nodes.get('b'))).toEqual([1, 4]);
  });

  it('keeps the link filter across heal', async () => {
    const clock = new ManualClock();
    const network = new InMemoryNetwork({ clock });
    const nodes = await cluster(network, ['a', 'b']);
    network.setLinkFilter(() => false);
    network.heal();
    node(nodes, 'a').transport.send('b', [message('a', 'b', 1)]);
    clock.advance(0);
    expect(seqs(nodes.get('b'))).toEqual([]);
  });
});
