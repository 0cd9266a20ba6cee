import { EntryKind, InMemoryNetwork, InMemoryWal, type Message, type MessageHandler, type NodeId, type Transport } from '@kommander/core';
import { transportConformance, type TransportCluster } from '../src/conformance/transport-conformance.js';
import { walConformance } from '../src/conformance/wal-conformance.js';

walConformance({
  name: 'InMemoryWal',
  test,
  factory: () => new InMemoryWal(),
  reopen: (wal) => wal,
  crash: (wal) => (wal as InMemoryWal).crash(),
  supports: { reopen: true, crash: true },
});

function memoryCluster(nodeIds: readonly NodeId[], wrap: (transport: Transport) => Transport = (t) => t): TransportCluster {
  const network = new InMemoryNetwork();
  const transports = new Map(nodeIds.map((id) => [id, wrap(network.transport(id))]));
  return {
    transports,
    restart: async (id) => {
      await transports.get(id)?.stop();
      const reborn = wrap(network.transport(id));
      transports.set(id, reborn);
      return reborn;
    },
    cut: (a, b) => network.disconnect(a, b),
    heal: () => network.heal(),
    close: async () => {
      for (const transport of transports.values()) await transport.stop();
    },
  };
}

transportConformance({
  name: 'InMemoryNetwork',
  test,
  factory: (nodeIds) => memoryCluster(nodeIds),
  supports: { ordered: true, restart: true, cut: true },
});

/** Exercises the suite's size-limit case, which the in-memory network has no reason to claim itself. */
const MAX_FRAME_BYTES = 256 * 1024;
function payloadBytes(messages: readonly Message[]): number {
  let bytes = 0;
  for (const m of messages) for (const e of m.entries) bytes += e.data.length + (e.kind === EntryKind.Data ? e.type.length : 0);
  return bytes;
}
class FrameLimitedTransport implements Transport {
  constructor(private readonly inner: Transport) {}
  start(handler: MessageHandler): Promise<void> {
    return this.inner.start(handler);
  }
  send(peer: NodeId, messages: readonly Message[]): void {
    if (payloadBytes(messages) <= MAX_FRAME_BYTES) this.inner.send(peer, messages);
  }
  stop(): Promise<void> {
    return this.inner.stop();
  }
}

transportConformance({
  name: 'InMemoryNetwork with a frame limit',
  test,
  factory: (nodeIds) => ({ ...memoryCluster(nodeIds, (t) => new FrameLimitedTransport(t)), maxMessageBytes: MAX_FRAME_BYTES }),
  supports: { ordered: true, sizeLimit: true },
});
