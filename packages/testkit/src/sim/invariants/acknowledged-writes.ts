import type { NodeId } from '@kommander/core';
import { dataKey } from './identity.js';
import type { StateMachineSafetyChecker } from './state-machine-safety.js';
import type { Violation } from './violation.js';

/** What the client was told about one payload. */
type Outcome = 'proposed' | 'acknowledged' | 'rolled-back';

/**
 * The client's side of durability: every payload acknowledged with Success must be in the canonical
 * delivery sequence of its partition, and delivered by every node, once the cluster has healed; a
 * payload whose rollback succeeded must never be delivered; and since each payload is proposed once,
 * none may be delivered twice.
 */
export class AcknowledgedWritesChecker {
  private readonly outcomes = new Map<number, Map<string, { outcome: Outcome; at: number }>>();
  private acked = 0;

  /** The client proposed `data` to `partition` (outcome still unknown). */
  proposed(partition: number, data: Uint8Array, time: number): void {
    const map = this.partition(partition);
    const key = dataKey(data);
    if (!map.has(key)) map.set(key, { outcome: 'proposed', at: time });
  }

  /** The client was told the write of `data` to `partition` succeeded (it must now survive anything). */
  acknowledged(partition: number, data: Uint8Array, time: number): void {
    const map = this.partition(partition);
    const key = dataKey(data);
    const previous = map.get(key);
    if (previous?.outcome !== 'acknowledged') this.acked++;
    map.set(key, { outcome: 'acknowledged', at: time });
  }

  /** The client was told the rollback of `data` succeeded (it must never be delivered). */
  rolledBack(partition: number, data: Uint8Array, time: number): void {
    this.partition(partition).set(dataKey(data), { outcome: 'rolled-back', at: time });
  }

  /** Writes acknowledged so far. */
  get acknowledgedCount(): number {
    return this.acked;
  }

  /**
   * Checks the final state: call it once the cluster has healed and every node has caught up. `nodes`
   * are the nodes that must each have delivered every acknowledged write.
   */
  check(time: number, deliveries: StateMachineSafetyChecker, nodes: readonly NodeId[]): Violation | undefined {
    for (const [partition, map] of this.outcomes) {
      const canonical = deliveries.canonical(partition);
      const firstPosition = new Map<string, number>();
      for (let position = 0; position < canonical.length; position++) {
        const entry = canonical[position] as (typeof canonical)[number];
        const mine = map.get(entry.key);
        if (mine === undefined) continue;
        const earlier = firstPosition.get(entry.key);
        if (earlier !== undefined) {
          return {
            invariant: 'duplicate-delivery', time, node: entry.firstNode, partition,
            details: `payload ${JSON.stringify(entry.key)} proposed once was delivered at positions ${earlier} and ${position} (ids ${canonical[earlier]?.id} and ${entry.id})`,
          };
        }
        firstPosition.set(entry.key, position);
        if (mine.outcome === 'rolled-back') {
          return {
            invariant: 'rolled-back-write-delivered', time, node: entry.firstNode, partition,
            details: `payload ${JSON.stringify(entry.key)} was rolled back with Success at ${mine.at.toFixed(3)} ms but delivered as id ${entry.id} (position ${position})`,
          };
        }
      }
      for (const [key, { outcome, at }] of map) {
        if (outcome !== 'acknowledged') continue;
        const position = firstPosition.get(key);
        if (position === undefined) {
          return {
            invariant: 'acknowledged-write-lost', time, node: '', partition,
            details: `payload ${JSON.stringify(key)} acknowledged with Success at ${at.toFixed(3)} ms is not in the delivered sequence (${canonical.length} entries)`,
          };
        }
        for (const node of nodes) {
          if (deliveries.deliveredBy(node, partition) <= position) {
            return {
              invariant: 'acknowledged-write-lost', time, node, partition,
              details: `payload ${JSON.stringify(key)} acknowledged at ${at.toFixed(3)} ms (position ${position}) was never delivered on ${node}, which delivered ${deliveries.deliveredBy(node, partition)} entries`,
            };
          }
        }
      }
    }
    return undefined;
  }

  private partition(partition: number): Map<string, { outcome: Outcome; at: number }> {
    let map = this.outcomes.get(partition);
    if (map === undefined) {
      map = new Map();
      this.outcomes.set(partition, map);
    }
    return map;
  }
}
