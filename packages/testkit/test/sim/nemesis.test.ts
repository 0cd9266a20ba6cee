import type { NodeId } from '@kommander/core';
import { describeFault, Nemesis, planFaults, type FaultTarget } from '../../src/sim/nemesis.js';
import { Prng } from '../../src/sim/prng.js';
import { SimNetwork } from '../../src/sim/sim-network.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

const NODES = ['n1', 'n2', 'n3', 'n4', 'n5'];

class FakeTarget implements FaultTarget {
  readonly up = new Set<NodeId>(NODES);
  readonly notes: string[] = [];
  constructor(readonly network: SimNetwork) {}
  isUp(node: NodeId): boolean {
    return this.up.has(node);
  }
  crash(node: NodeId): void {
    this.up.delete(node);
  }
  restart(node: NodeId): void {
    this.up.add(node);
  }
  note(text: string): void {
    this.notes.push(text);
  }
}

function runAll(clock: VirtualClock, until = Number.POSITIVE_INFINITY): void {
  for (;;) {
    const next = clock.nextTime();
    if (next === undefined || next > until) return;
    clock.runNext();
  }
}

describe('planFaults', () => {
  test('draws between min and max faults inside the run window, sorted, reproducibly', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const plan = planFaults(new Prng(seed), NODES, 10_000);
      expect(plan.length).toBeGreaterThanOrEqual(5);
      expect(plan.length).toBeLessThanOrEqual(9);
      for (const { at } of plan) {
        expect(at).toBeGreaterThanOrEqual(500);
        expect(at).toBeLessThanOrEqual(8500);
      }
      expect(plan.map((f) => f.at)).toEqual([...plan.map((f) => f.at)].sort((a, b) => a - b));
      expect(planFaults(new Prng(seed), NODES, 10_000)).toEqual(plan);
    }
  });

  test('never plans a crash of a node the plan already has down', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const downUntil = new Map<string, number>();
      for (const { at, fault } of planFaults(new Prng(seed), ['n1', 'n2', 'n3'], 10_000, { minFaults: 9 })) {
        if (fault.kind !== 'crash') continue;
        expect(downUntil.get(fault.node) ?? -1).toBeLessThan(at);
        downUntil.set(fault.node, at + fault.downMs);
      }
    }
  });

  test('over many seeds every kind of fault appears, and partitions have two non-empty disjoint sides', () => {
    const kinds = new Set<string>();
    for (let seed = 1; seed <= 100; seed++) {
      for (const { fault } of planFaults(new Prng(seed), NODES, 10_000)) {
        kinds.add(fault.kind);
        if (fault.kind === 'partition') {
          const [a, b] = fault.sides;
          expect(a.length).toBeGreaterThan(0);
          expect(b.length).toBeGreaterThan(0);
          expect([...a, ...b].sort()).toEqual(NODES);
        }
        if (fault.kind === 'cut') expect(fault.from).not.toBe(fault.to);
      }
    }
    expect([...kinds].sort()).toEqual(['crash', 'cut', 'delay', 'drop', 'duplicate', 'isolate', 'partition', 'reorder']);
  });

  test('honours kinds and limits, and rejects impossible requests', () => {
    const plan = planFaults(new Prng(3), NODES, 1000, { minFaults: 12, maxFaults: 12, kinds: ['drop'] });
    expect(plan).toHaveLength(12);
    expect(plan.every((f) => f.fault.kind === 'drop')).toBe(true);
    expect(() => planFaults(new Prng(3), NODES, 1000, { kinds: [] })).toThrow('options.kinds is empty');
    expect(() => planFaults(new Prng(3), ['solo'], 1000, { kinds: ['crash', 'cut'] })).toThrow('at least 2 nodes');
    expect(planFaults(new Prng(3), ['solo'], 1000).every((f) => f.fault.kind === 'crash')).toBe(true);
  });
});

describe('Nemesis', () => {
  test('crashes and restarts a node on schedule, and skips a crash of a node already down', () => {
    const clock = new VirtualClock();
    const target = new FakeTarget(new SimNetwork(clock, new Prng(1), NODES));
    const nemesis = new Nemesis(clock, target);
    nemesis.play([
      { at: 100, fault: { kind: 'crash', node: 'n2', downMs: 500 } },
      { at: 200, fault: { kind: 'crash', node: 'n2', downMs: 50 } },
    ]);
    runAll(clock, 150);
    expect(target.isUp('n2')).toBe(false);
    runAll(clock, 599);
    expect(target.isUp('n2')).toBe(false);
    runAll(clock);
    expect(target.isUp('n2')).toBe(true);
    expect(nemesis.injected).toBe(1);
    expect(target.notes).toContain('nemesis skips crash of n2: already down');
  });

  test('network faults start and end by themselves', () => {
    const clock = new VirtualClock();
    const network = new SimNetwork(clock, new Prng(1), NODES);
    const nemesis = new Nemesis(clock, new FakeTarget(network));
    nemesis.play([
      { at: 10, fault: { kind: 'cut', from: 'n1', to: 'n3', durationMs: 100 } },
      { at: 20, fault: { kind: 'drop', rate: 0.5, durationMs: 100 } },
      { at: 30, fault: { kind: 'partition', sides: [['n1', 'n2'], ['n3', 'n4', 'n5']], durationMs: 100 } },
    ]);
    runAll(clock, 50);
    expect(network.isCut('n1', 'n3')).toBe(true);
    expect(network.isCut('n3', 'n2')).toBe(true);
    expect(network.conditions.dropRate).toBe(0.5);
    runAll(clock);
    expect(network.isClean).toBe(true);
    expect(nemesis.injected).toBe(3);
  });

  test('heal() ends active faults, cancels pending ones, and restarts every node it crashed', () => {
    const clock = new VirtualClock();
    const network = new SimNetwork(clock, new Prng(1), NODES);
    const target = new FakeTarget(network);
    const nemesis = new Nemesis(clock, target);
    nemesis.play([
      { at: 10, fault: { kind: 'isolate', node: 'n4', durationMs: 5000 } },
      { at: 10, fault: { kind: 'crash', node: 'n1', downMs: 5000 } },
      { at: 20, fault: { kind: 'reorder', jitterMs: 20, durationMs: 5000 } },
      { at: 3000, fault: { kind: 'crash', node: 'n5', downMs: 100 } },
    ]);
    runAll(clock, 100);
    expect(network.isClean).toBe(false);
    expect(target.isUp('n1')).toBe(false);
    nemesis.heal();
    expect(network.isClean).toBe(true);
    expect(target.isUp('n1')).toBe(true);
    runAll(clock);
    expect(target.isUp('n5')).toBe(true);
    expect(nemesis.injected).toBe(3);
  });

  test('describes every fault in one line', () => {
    expect(describeFault({ kind: 'crash', node: 'n1', downMs: 300 })).toBe('crash n1 for 300 ms');
    expect(describeFault({ kind: 'partition', sides: [['n1'], ['n2', 'n3']], durationMs: 5 })).toBe('partition [n1] | [n2,n3] for 5 ms');
    expect(describeFault({ kind: 'cut', from: 'n1', to: 'n2', durationMs: 5 })).toBe('cut n1->n2 for 5 ms');
    expect(describeFault({ kind: 'delay', rate: 0.2, spikeMs: 400, durationMs: 5 })).toBe('delay 20% by ~400 ms for 5 ms');
  });
});
