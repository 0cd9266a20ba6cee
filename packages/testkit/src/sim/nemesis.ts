import type { NodeId, TimerHandle } from '@kommander/core';
import type { Prng } from './prng.js';
import type { SimNetwork } from './sim-network.js';
import type { VirtualClock } from './virtual-clock.js';

/** One fault the nemesis can inject. Durations are virtual milliseconds. */
export type Fault =
  /** Kill the node's process (losing unsynced and in-flight WAL writes), restart it after `downMs`. */
  | { readonly kind: 'crash'; readonly node: NodeId; readonly downMs: number }
  /** Split the cluster into two sides that cannot talk to each other. */
  | { readonly kind: 'partition'; readonly sides: readonly [readonly NodeId[], readonly NodeId[]]; readonly durationMs: number }
  /** Drop everything `from` sends to `to` while `to` → `from` still flows. */
  | { readonly kind: 'cut'; readonly from: NodeId; readonly to: NodeId; readonly durationMs: number }
  /** Cut one node off from all others. */
  | { readonly kind: 'isolate'; readonly node: NodeId; readonly durationMs: number }
  /** Lose each batch with probability `rate`. */
  | { readonly kind: 'drop'; readonly rate: number; readonly durationMs: number }
  /** Deliver each batch twice with probability `rate`. */
  | { readonly kind: 'duplicate'; readonly rate: number; readonly durationMs: number }
  /** Add a random delay in [0, jitterMs) to each batch, so batches overtake each other. */
  | { readonly kind: 'reorder'; readonly jitterMs: number; readonly durationMs: number }
  /** Hold back a share `rate` of batches by about `spikeMs`. */
  | { readonly kind: 'delay'; readonly rate: number; readonly spikeMs: number; readonly durationMs: number };

/** The kinds of {@link Fault}. */
export type FaultKind = Fault['kind'];

/** A fault and when it starts. */
export interface PlannedFault {
  /** Virtual milliseconds since the start of the run. */
  readonly at: number;
  readonly fault: Fault;
}

/** Options of {@link planFaults}. */
export interface FaultPlanOptions {
  /** Fewest faults in a run. Default 5. */
  readonly minFaults?: number;
  /** Most faults in a run. Default 9. */
  readonly maxFaults?: number;
  /** Kinds to draw from, each with equal weight except `crash` (twice as likely). Default: every kind (only `crash` for a single node). */
  readonly kinds?: readonly FaultKind[];
}

const ALL_KINDS: readonly FaultKind[] = ['crash', 'partition', 'cut', 'isolate', 'drop', 'duplicate', 'reorder', 'delay'];

/**
 * Draws a fault schedule for a run of `durationMs` from `prng`: between `minFaults` and `maxFaults`
 * faults starting between 5 % and 85 % of the run, lasting 0.2–2.5 s each (crashes 0.1–3 s). Faults may
 * overlap (several nodes may be down at once); the heal phase after the run ends them all. Only a plan
 * of nothing but crashes while every node is already down can come out shorter than `minFaults`.
 */
export function planFaults(prng: Prng, nodes: readonly NodeId[], durationMs: number, options: FaultPlanOptions = {}): PlannedFault[] {
  const minFaults = options.minFaults ?? 5;
  const maxFaults = Math.max(minFaults, options.maxFaults ?? 9);
  // A single node has no links to cut and no messages to disturb: only crashes mean anything.
  const kinds = options.kinds ?? (nodes.length < 2 ? ['crash'] : ALL_KINDS);
  if (kinds.length === 0) throw new Error('planFaults: options.kinds is empty; list at least one fault kind or turn faults off');
  if (nodes.length < 2 && kinds.some((k) => k === 'partition' || k === 'cut' || k === 'isolate')) {
    throw new Error('planFaults: network cuts need at least 2 nodes; pass kinds without partition/cut/isolate');
  }
  const weighted = kinds.flatMap((k) => (k === 'crash' ? [k, k] : [k]));
  const count = prng.between(minFaults, maxFaults);
  const starts = Array.from({ length: count }, () => Math.round(prng.uniform(0.05, 0.85) * durationMs)).sort((a, b) => a - b);
  // Crashes go to nodes the plan has up at that moment, so every planned fault really happens.
  const downUntil = new Map<NodeId, number>();
  const plan: PlannedFault[] = [];
  for (const at of starts) {
    const lasts = prng.between(200, 2500);
    const up = nodes.filter((n) => (downUntil.get(n) ?? -1) < at);
    let kind = prng.pick(weighted);
    if (kind === 'crash' && up.length === 0) kind = kinds.find((k) => k !== 'crash') ?? 'crash';
    if (kind === 'crash' && up.length === 0) continue;
    const fault = drawFault(prng, kind, kind === 'crash' ? up : nodes, lasts);
    if (fault.kind === 'crash') downUntil.set(fault.node, at + fault.downMs);
    plan.push({ at, fault });
  }
  return plan;
}

function drawFault(prng: Prng, kind: FaultKind, nodes: readonly NodeId[], durationMs: number): Fault {
  switch (kind) {
    case 'crash':
      return { kind, node: prng.pick(nodes), downMs: prng.between(100, 3000) };
    case 'partition': {
      const shuffled = prng.shuffle(nodes);
      const split = prng.between(1, shuffled.length - 1);
      return { kind, sides: [shuffled.slice(0, split), shuffled.slice(split)], durationMs };
    }
    case 'cut': {
      const [from, to] = prng.shuffle(nodes) as [NodeId, NodeId];
      return { kind, from, to, durationMs };
    }
    case 'isolate':
      return { kind, node: prng.pick(nodes), durationMs };
    case 'drop':
      return { kind, rate: prng.pick([0.05, 0.2, 0.5]), durationMs };
    case 'duplicate':
      return { kind, rate: prng.pick([0.1, 0.3, 0.6]), durationMs };
    case 'reorder':
      return { kind, jitterMs: prng.pick([5, 20, 80]), durationMs };
    case 'delay':
      return { kind, rate: prng.pick([0.05, 0.2]), spikeMs: prng.pick([100, 400, 1500]), durationMs };
  }
}

/** One line describing a fault. */
export function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case 'crash':
      return `crash ${fault.node} for ${fault.downMs} ms`;
    case 'partition':
      return `partition [${fault.sides[0].join(',')}] | [${fault.sides[1].join(',')}] for ${fault.durationMs} ms`;
    case 'cut':
      return `cut ${fault.from}->${fault.to} for ${fault.durationMs} ms`;
    case 'isolate':
      return `isolate ${fault.node} for ${fault.durationMs} ms`;
    case 'drop':
      return `drop ${fault.rate * 100}% for ${fault.durationMs} ms`;
    case 'duplicate':
      return `duplicate ${fault.rate * 100}% for ${fault.durationMs} ms`;
    case 'reorder':
      return `reorder jitter ${fault.jitterMs} ms for ${fault.durationMs} ms`;
    case 'delay':
      return `delay ${fault.rate * 100}% by ~${fault.spikeMs} ms for ${fault.durationMs} ms`;
  }
}

/** What the nemesis acts on: a cluster whose nodes it can crash and restart, and its network. */
export interface FaultTarget {
  readonly network: SimNetwork;
  isUp(node: NodeId): boolean;
  crash(node: NodeId): void;
  restart(node: NodeId): void;
  /** Records a line in the run's trace. */
  note(text: string): void;
}

/**
 * Plays a fault schedule against a cluster on virtual time. Each fault ends by itself after its
 * duration; {@link heal} ends everything at once (the start of the heal phase).
 */
export class Nemesis {
  private readonly timers = new Set<TimerHandle>();
  private readonly endings = new Set<() => void>();
  private readonly downByNemesis = new Set<NodeId>();
  /** Faults actually injected (a crash of a node that is already down is skipped). */
  injected = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly target: FaultTarget,
  ) {}

  /** Schedules every fault of `plan` (times relative to the clock's current time). */
  play(plan: readonly PlannedFault[]): void {
    const start = this.clock.elapsed;
    for (const planned of plan) {
      this.later(planned.at + start - this.clock.elapsed, () => this.inject(planned.fault), `nemesis ${describeFault(planned.fault)}`);
    }
  }

  /** Injects one fault now. */
  inject(fault: Fault): void {
    const { network } = this.target;
    if (fault.kind === 'crash') {
      if (!this.target.isUp(fault.node)) {
        this.target.note(`nemesis skips crash of ${fault.node}: already down`);
        return;
      }
      this.injected++;
      this.target.note(`nemesis ${describeFault(fault)}`);
      this.target.crash(fault.node);
      this.downByNemesis.add(fault.node);
      this.later(fault.downMs, () => this.revive(fault.node), `nemesis restart ${fault.node}`);
      return;
    }
    this.injected++;
    this.target.note(`nemesis ${describeFault(fault)}`);
    let end: () => void;
    switch (fault.kind) {
      case 'partition':
        end = network.partition(fault.sides[0], fault.sides[1]);
        break;
      case 'cut':
        end = network.cut(fault.from, fault.to);
        break;
      case 'isolate':
        end = network.isolate(fault.node);
        break;
      case 'drop':
        end = network.degrade({ dropRate: fault.rate });
        break;
      case 'duplicate':
        end = network.degrade({ duplicateRate: fault.rate });
        break;
      case 'reorder':
        end = network.degrade({ reorderJitterMs: fault.jitterMs });
        break;
      case 'delay':
        end = network.degrade({ spikeRate: fault.rate, spikeMs: fault.spikeMs });
        break;
    }
    this.endings.add(end);
    this.later(fault.durationMs, () => {
      this.endings.delete(end);
      end();
      this.target.note(`nemesis ends ${describeFault(fault)}`);
    }, 'nemesis end');
  }

  /** Ends every active fault, cancels the ones not yet started, and restarts every node it crashed. */
  heal(): void {
    for (const t of this.timers) this.clock.cancel(t);
    this.timers.clear();
    for (const end of this.endings) end();
    this.endings.clear();
    this.target.network.heal();
    for (const node of [...this.downByNemesis]) this.revive(node);
    this.target.note('nemesis heals everything');
  }

  private revive(node: NodeId): void {
    if (!this.downByNemesis.delete(node)) return;
    if (!this.target.isUp(node)) this.target.restart(node);
  }

  private later(ms: number, fn: () => void, label: string): void {
    const handle = this.clock.schedule(ms, () => {
      this.timers.delete(handle);
      fn();
    }, label);
    this.timers.add(handle);
  }
}
