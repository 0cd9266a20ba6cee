import type { Message, MessageHandler, NodeId, Transport } from '@kommander/core';
import type { Prng } from './prng.js';
import type { VirtualClock } from './virtual-clock.js';

/**
 * How the simulated network treats messages. A nemesis layers several of these on top of the clean
 * baseline; each field of the effective conditions is the worst (largest) value among the active layers.
 */
export interface NetworkConditions {
  /** Probability that a batch is lost. Default 0. */
  readonly dropRate: number;
  /** Probability that a batch is delivered twice. Default 0. */
  readonly duplicateRate: number;
  /**
   * Extra random delay in [0, reorderJitterMs) added to each batch; batches on one link overtake each
   * other when it exceeds the gap between sends. Default 0 (links are FIFO).
   */
  readonly reorderJitterMs: number;
  /** Probability that a batch is held back by a delay spike. Default 0. */
  readonly spikeRate: number;
  /** Length of a delay spike, drawn in [spikeMs / 2, spikeMs). Default 0. */
  readonly spikeMs: number;
}

/** A clean network: nothing lost, duplicated or reordered. */
export const CLEAN_NETWORK: NetworkConditions = Object.freeze({
  dropRate: 0,
  duplicateRate: 0,
  reorderJitterMs: 0,
  spikeRate: 0,
  spikeMs: 0,
});

/** Options of {@link SimNetwork}. */
export interface SimNetworkOptions {
  /** One-way latency of every batch on a clean link, in virtual milliseconds. Default 1. */
  readonly latencyMs?: number;
  /** Called for every batch handed to a receiver (for traces and statistics). */
  readonly onDeliver?: (from: NodeId, to: NodeId, messages: readonly Message[]) => void;
  /**
   * Rewrites each batch just before delivery. Raft assumes messages are never altered, so this exists
   * to prove that the invariant checkers catch what a broken system does. Default: none.
   */
  readonly tamper?: (from: NodeId, to: NodeId, messages: readonly Message[]) => readonly Message[];
}

/** Counters of what happened to the batches sent on the simulated network. */
export interface NetworkStats {
  sent: number;
  delivered: number;
  /** Lost to the drop rate. */
  dropped: number;
  /** Lost because the link was cut (partition, asymmetric cut, isolation) at send or delivery time. */
  cut: number;
  /** Lost because the receiver was down or had stopped its transport. */
  unreachable: number;
  duplicated: number;
}

/**
 * The network of one simulated cluster. Every node incarnation gets its own {@link SimTransport}; the
 * network decides, from its seeded generator and the active faults, what happens to each batch, and
 * delivers the survivors through the virtual clock.
 */
export class SimNetwork {
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, cut: 0, unreachable: 0, duplicated: 0 };
  private readonly index = new Map<NodeId, number>();
  private readonly transports: (SimTransport | null)[];
  /** cuts[from][to]: how many active faults block from → to (faults overlap, so this is a count). */
  private readonly cuts: number[][];
  private readonly layers = new Map<number, NetworkConditions>();
  private nextLayer = 1;
  private effective: NetworkConditions = CLEAN_NETWORK;
  private readonly latencyMs: number;
  private readonly labels: string[][];
  private readonly onDeliver: ((from: NodeId, to: NodeId, messages: readonly Message[]) => void) | undefined;
  private readonly tamper: ((from: NodeId, to: NodeId, messages: readonly Message[]) => readonly Message[]) | undefined;

  constructor(
    private readonly clock: VirtualClock,
    private readonly prng: Prng,
    readonly nodes: readonly NodeId[],
    options: SimNetworkOptions = {},
  ) {
    nodes.forEach((node, i) => {
      if (this.index.has(node)) throw new Error(`SimNetwork: node id "${node}" appears twice; give every node a unique id`);
      this.index.set(node, i);
    });
    this.transports = nodes.map(() => null);
    this.cuts = nodes.map(() => nodes.map(() => 0));
    this.labels = nodes.map((from) => nodes.map((to) => `net ${from}>${to}`));
    this.latencyMs = options.latencyMs ?? 1;
    this.onDeliver = options.onDeliver;
    this.tamper = options.tamper;
  }

  /** A new transport for a fresh incarnation of `node`; the previous incarnation's transport is killed. */
  transportFor(node: NodeId): SimTransport {
    const i = this.indexOf(node);
    this.transports[i]?.kill();
    const transport = new SimTransport(this, node, i);
    this.transports[i] = transport;
    return transport;
  }

  /** Kills the current transport of `node` (its process crashed): it neither sends nor receives again. */
  kill(node: NodeId): void {
    const i = this.indexOf(node);
    this.transports[i]?.kill();
    this.transports[i] = null;
  }

  /** Blocks messages from `from` to `to` (not the reverse) until the returned function is called. */
  cut(from: NodeId, to: NodeId): () => void {
    return this.cutLinks([[this.indexOf(from), this.indexOf(to)]]);
  }

  /** Blocks every message between the two sides (both directions) until the returned function is called. */
  partition(sideA: readonly NodeId[], sideB: readonly NodeId[]): () => void {
    const links: [number, number][] = [];
    for (const a of sideA) {
      for (const b of sideB) {
        const ia = this.indexOf(a);
        const ib = this.indexOf(b);
        if (ia === ib) throw new Error(`SimNetwork.partition: node "${a}" is on both sides; give each node one side`);
        links.push([ia, ib], [ib, ia]);
      }
    }
    return this.cutLinks(links);
  }

  /** Cuts `node` off from every other node until the returned function is called. */
  isolate(node: NodeId): () => void {
    return this.partition([node], this.nodes.filter((n) => n !== node));
  }

  /** Adds a layer of bad conditions (drop, duplicate, reorder, spikes) until the returned function is called. */
  degrade(conditions: Partial<NetworkConditions>): () => void {
    const id = this.nextLayer++;
    this.layers.set(id, { ...CLEAN_NETWORK, ...conditions });
    this.recompute();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.layers.delete(id);
      this.recompute();
    };
  }

  /** Removes every cut and every degradation layer: the network is clean again. */
  heal(): void {
    for (const row of this.cuts) row.fill(0);
    this.layers.clear();
    this.recompute();
  }

  /** True when no cut and no degradation is active. */
  get isClean(): boolean {
    return this.layers.size === 0 && this.cuts.every((row) => row.every((c) => c === 0));
  }

  /** True when messages from `from` to `to` are currently blocked. */
  isCut(from: NodeId, to: NodeId): boolean {
    return (this.cuts[this.indexOf(from)]?.[this.indexOf(to)] ?? 0) > 0;
  }

  /** The conditions currently applied to every batch. */
  get conditions(): NetworkConditions {
    return this.effective;
  }

  /** @internal Called by {@link SimTransport.send}. */
  send(from: number, peer: NodeId, messages: readonly Message[]): void {
    this.stats.sent++;
    const to = this.index.get(peer);
    if (to === undefined || to === from) {
      this.stats.unreachable++;
      return;
    }
    if ((this.cuts[from]?.[to] ?? 0) > 0) {
      this.stats.cut++;
      return;
    }
    const c = this.effective;
    if (this.prng.chance(c.dropRate)) {
      this.stats.dropped++;
      return;
    }
    this.schedule(from, to, messages);
    if (this.prng.chance(c.duplicateRate)) {
      this.stats.duplicated++;
      this.schedule(from, to, messages);
    }
  }

  private schedule(from: number, to: number, messages: readonly Message[]): void {
    const c = this.effective;
    let delay = this.latencyMs;
    if (c.reorderJitterMs > 0) delay += this.prng.uniform(0, c.reorderJitterMs);
    if (this.prng.chance(c.spikeRate)) delay += this.prng.uniform(c.spikeMs / 2, c.spikeMs);
    const label = (this.labels[from] as string[])[to] as string;
    this.clock.schedule(delay, () => this.deliver(from, to, messages), label, null, this.nodes[to] as NodeId);
  }

  private deliver(from: number, to: number, messages: readonly Message[]): void {
    if ((this.cuts[from]?.[to] ?? 0) > 0) {
      this.stats.cut++;
      return;
    }
    const receiver = this.transports[to];
    const handler = receiver?.receiver;
    if (handler === undefined || handler === null) {
      this.stats.unreachable++;
      return;
    }
    this.stats.delivered++;
    const fromId = this.nodes[from] as NodeId;
    const toId = this.nodes[to] as NodeId;
    const batch = this.tamper === undefined ? messages : this.tamper(fromId, toId, messages);
    this.onDeliver?.(fromId, toId, batch);
    handler(batch);
  }

  private cutLinks(links: readonly [number, number][]): () => void {
    for (const [a, b] of links) (this.cuts[a] as number[])[b] = ((this.cuts[a] as number[])[b] as number) + 1;
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      for (const [a, b] of links) {
        const row = this.cuts[a] as number[];
        row[b] = Math.max(0, (row[b] as number) - 1);
      }
    };
  }

  private recompute(): void {
    if (this.layers.size === 0) {
      this.effective = CLEAN_NETWORK;
      return;
    }
    let dropRate = 0;
    let duplicateRate = 0;
    let reorderJitterMs = 0;
    let spikeRate = 0;
    let spikeMs = 0;
    for (const l of this.layers.values()) {
      dropRate = Math.max(dropRate, l.dropRate);
      duplicateRate = Math.max(duplicateRate, l.duplicateRate);
      reorderJitterMs = Math.max(reorderJitterMs, l.reorderJitterMs);
      spikeRate = Math.max(spikeRate, l.spikeRate);
      spikeMs = Math.max(spikeMs, l.spikeMs);
    }
    this.effective = { dropRate, duplicateRate, reorderJitterMs, spikeRate, spikeMs };
  }

  private indexOf(node: NodeId): number {
    const i = this.index.get(node);
    if (i === undefined) throw new Error(`SimNetwork: unknown node "${node}"; known nodes are ${this.nodes.join(', ')}`);
    return i;
  }
}

/**
 * The Transport one node incarnation uses. `send` never throws; after the incarnation is killed
 * (crash) it sends and receives nothing, like a dead process's sockets.
 */
export class SimTransport implements Transport {
  private handler: MessageHandler | null = null;
  private alive = true;

  constructor(
    private readonly network: SimNetwork,
    readonly node: NodeId,
    private readonly slot: number,
  ) {}

  start(handler: MessageHandler): Promise<void> {
    if (!this.alive) return Promise.reject(new Error(`SimTransport of "${this.node}" was killed (crash); create a new one for the restarted node`));
    this.handler = handler;
    return Promise.resolve();
  }

  send(peer: NodeId, messages: readonly Message[]): void {
    if (this.alive && messages.length > 0) this.network.send(this.slot, peer, messages);
  }

  stop(): Promise<void> {
    this.handler = null;
    return Promise.resolve();
  }

  /** @internal The handler of a started, live transport; null otherwise. */
  get receiver(): MessageHandler | null {
    return this.alive ? this.handler : null;
  }

  /** True until the node incarnation is killed. */
  get isAlive(): boolean {
    return this.alive;
  }

  /** @internal */
  kill(): void {
    this.alive = false;
    this.handler = null;
  }
}
