import type { Clock } from '../ports/clock.js';
import type { MessageHandler, Transport } from '../ports/transport.js';
import type { Message, NodeId } from '../raft/message.js';
import { systemClock } from '../runtime/system-clock.js';
import { invalid } from '../runtime/validation.js';

/** Options of {@link InMemoryNetwork}. */
export interface InMemoryNetworkOptions {
  /** Schedules deliveries. Default: the system clock. The simulator passes a virtual one. */
  readonly clock?: Clock;
  /** Delay of every frame, in the clock's milliseconds. Default 0: delivered on the clock's `defer`. */
  readonly latencyMs?: number;
}

/**
 * Decides whether one frame (`messages`, sent by `from` to `to`) is delivered; returning false drops it.
 * Called once per frame, when it is sent.
 */
export type LinkFilter = (from: NodeId, to: NodeId, messages: readonly Message[]) => boolean;

/** Counters of {@link InMemoryNetwork.stats}, from the network's creation on. */
export interface InMemoryNetworkStats {
  /** Frames (one `send` call each) handed to a receiver. */
  readonly framesDelivered: number;
  /** Messages inside the delivered frames. */
  readonly messagesDelivered: number;
  /** Frames dropped: unknown or stopped receiver, a cut link, or the link filter. */
  readonly framesDropped: number;
}

interface Frame {
  readonly to: InMemoryTransport;
  readonly messages: readonly Message[];
}

/**
 * A network inside one process: each node gets an {@link InMemoryTransport} from
 * {@link InMemoryNetwork.transport}, and frames travel between them by reference (messages are immutable).
 *
 * A frame is delivered as one batch, never synchronously inside `send`, and frames of one (sender,
 * receiver) pair arrive in send order. A frame whose receiver is unknown or stopped is dropped, and so
 * is one whose receiver stopped or restarted before it arrived (the connection it travelled on died).
 * Fault controls: {@link InMemoryNetwork.disconnect}, {@link InMemoryNetwork.isolate},
 * {@link InMemoryNetwork.heal} and {@link InMemoryNetwork.setLinkFilter}.
 */
export class InMemoryNetwork {
  private readonly clock: Clock;
  private readonly latencyMs: number;
  private readonly started = new Map<NodeId, InMemoryTransport>();
  /** Frames on their way, per "from\0to" link, oldest first. */
  private readonly links = new Map<string, Frame[]>();
  private readonly cutLinks = new Set<string>();
  private readonly isolated = new Set<NodeId>();
  private filter: LinkFilter | null = null;
  private framesDelivered = 0;
  private messagesDelivered = 0;
  private framesDropped = 0;

  constructor(options: InMemoryNetworkOptions = {}) {
    const latencyMs = options.latencyMs ?? 0;
    if (!Number.isFinite(latencyMs) || latencyMs < 0) {
      invalid('InMemoryNetwork: latencyMs', `must be a finite number ≥ 0, got ${String(latencyMs)}`);
    }
    this.clock = options.clock ?? systemClock;
    this.latencyMs = latencyMs;
  }

  /**
   * A new transport for `node`. To restart a node, stop its transport and take a fresh one; only one
   * transport per node id may be started at a time.
   */
  transport(node: NodeId): InMemoryTransport {
    if (typeof node !== 'string' || node === '') {
      invalid('InMemoryNetwork.transport: node', `must be a non-empty string, got ${JSON.stringify(node)}`);
    }
    return new InMemoryTransport(this, node);
  }

  /** Drops every frame between `a` and `b`, in both directions, until {@link InMemoryNetwork.heal}. Frames already on the way are lost too. */
  disconnect(a: NodeId, b: NodeId): void {
    this.cutLinks.add(linkKey(a, b));
    this.cutLinks.add(linkKey(b, a));
  }

  /** Drops every frame to or from `node` until {@link InMemoryNetwork.heal}. */
  isolate(node: NodeId): void {
    this.isolated.add(node);
  }

  /** Undoes every `disconnect` and `isolate`. The link filter stays; clear it with `setLinkFilter(null)`. */
  heal(): void {
    this.cutLinks.clear();
    this.isolated.clear();
  }

  /** Installs a filter consulted for every frame sent from now on (`null` removes it). Default: none. */
  setLinkFilter(filter: LinkFilter | null): void {
    this.filter = filter;
  }

  stats(): InMemoryNetworkStats {
    return {
      framesDelivered: this.framesDelivered,
      messagesDelivered: this.messagesDelivered,
      framesDropped: this.framesDropped,
    };
  }

  /** @internal Called by {@link InMemoryTransport.start}. */
  attach(transport: InMemoryTransport): void {
    const current = this.started.get(transport.node);
    if (current !== undefined && current !== transport) {
      throw new Error(
        `InMemoryNetwork: node "${transport.node}" already has a started transport; stop it before starting another`,
      );
    }
    this.started.set(transport.node, transport);
  }

  /** @internal Called by {@link InMemoryTransport.stop}. */
  detach(transport: InMemoryTransport): void {
    if (this.started.get(transport.node) === transport) this.started.delete(transport.node);
  }

  /** @internal Called by {@link InMemoryTransport.send}. */
  enqueue(from: NodeId, to: NodeId, messages: readonly Message[]): void {
    const receiver = this.started.get(to);
    if (receiver === undefined || this.isCut(from, to) || (this.filter !== null && !this.filter(from, to, messages))) {
      this.framesDropped += 1;
      return;
    }
    const key = linkKey(from, to);
    let queue = this.links.get(key);
    if (queue === undefined) {
      queue = [];
      this.links.set(key, queue);
    }
    // Copied because callers may reuse their batch array once send returns.
    queue.push({ to: receiver, messages: messages.slice() });
    // Each callback delivers the oldest frame of the link, so send order holds even if a clock runs
    // callbacks of equal delay out of order.
    const deliver = (): void => this.deliverOldest(from, to, key);
    if (this.latencyMs === 0) this.clock.defer(deliver);
    else this.clock.setTimer(this.latencyMs, deliver);
  }

  private deliverOldest(from: NodeId, to: NodeId, key: string): void {
    const queue = this.links.get(key);
    const frame = queue?.shift();
    if (queue === undefined || frame === undefined) return;
    if (queue.length === 0) this.links.delete(key);
    if (this.started.get(to) !== frame.to || this.isCut(from, to)) {
      this.framesDropped += 1;
      return;
    }
    this.framesDelivered += 1;
    this.messagesDelivered += frame.messages.length;
    frame.to.receive(frame.messages);
  }

  private isCut(from: NodeId, to: NodeId): boolean {
    return this.isolated.has(from) || this.isolated.has(to) || this.cutLinks.has(linkKey(from, to));
  }
}

/** One node's end of an {@link InMemoryNetwork}. Create it with `network.transport(node)`. */
export class InMemoryTransport implements Transport {
  private handler: MessageHandler | null = null;

  /** @internal Use {@link InMemoryNetwork.transport}. */
  constructor(
    private readonly network: InMemoryNetwork,
    /** The node this transport sends from and receives for. */
    readonly node: NodeId,
  ) {}

  async start(handler: MessageHandler): Promise<void> {
    if (typeof handler !== 'function') invalid('InMemoryTransport.start: handler', 'must be a function');
    if (this.handler !== null) throw new Error(`InMemoryTransport.start: node "${this.node}" is already started`);
    this.network.attach(this);
    this.handler = handler;
  }

  /** Queues `messages` for `peer`. Drops them silently when this transport is not started or the peer is unreachable. */
  send(peer: NodeId, messages: readonly Message[]): void {
    if (this.handler === null || messages.length === 0) return;
    this.network.enqueue(this.node, peer, messages);
  }

  /** Stops at once: frames still on their way to this node are dropped. Stopping a stopped transport does nothing. */
  async stop(): Promise<void> {
    this.handler = null;
    this.network.detach(this);
  }

  /** @internal Called by the network when a frame for this node arrives. */
  receive(messages: readonly Message[]): void {
    this.handler?.(messages);
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}\u0000${to}`;
}
