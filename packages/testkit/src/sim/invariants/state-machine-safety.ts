import type { HLCTimestamp, NodeId } from '@kommander/core';
import { dataKey } from './identity.js';
import type { Violation } from './violation.js';

/** An application delivery as the checker sees it (the fields of `RaftLog`). */
export interface Delivery {
  readonly id: number;
  readonly term: number;
  readonly type: string;
  readonly data: Uint8Array;
  readonly time: HLCTimestamp;
}

/** Where a delivery came from: live replication or the WAL replay after a (re)start. */
export type DeliverySource = 'replication' | 'restore';

/** One entry of a partition's canonical delivery sequence. */
export interface CanonicalDelivery {
  readonly id: number;
  readonly term: number;
  readonly type: string;
  /** {@link dataKey} of the payload. */
  readonly key: string;
  readonly data: Uint8Array;
  readonly time: HLCTimestamp;
  /** The node that delivered it first. */
  readonly firstNode: NodeId;
}

interface Cursor {
  /** Canonical position of this incarnation's next delivery; -1 before its first delivery. */
  next: number;
  /** Canonical positions delivered by any incarnation of the node: [0, delivered). */
  delivered: number;
  /**
   * How far a replay after a restart must reach: what the node delivered through its callbacks since its
   * last restart that was allowed to lose deliveries (see {@link startIncarnation}); an installed snapshot
   * does not count until a delivery follows it (see {@link jump}).
   */
  kept: number;
}

/**
 * State-machine safety at the application level: every node delivers, per partition, one and the same
 * sequence. The first node to deliver the k-th entry fixes the canonical k-th entry; every other
 * delivery is compared with it. A restarted node's replay (onLogRestored) may start at any point of the
 * canonical sequence it had already reached (the last checkpoint), then must continue it exactly; it
 * may never skip an entry it had not delivered before.
 */
export class StateMachineSafetyChecker {
  private readonly sequences = new Map<number, CanonicalDelivery[]>();
  /** Per partition, aligned with its sequence: the log index whose apply released each delivery (0 when not known). */
  private readonly releases = new Map<number, number[]>();
  private readonly positions = new Map<number, Map<number, number>>();
  private readonly cursors = new Map<string, Cursor>();

  /**
   * A node (re)started: its next delivery of each partition may begin anywhere it had reached before.
   * `lossy`: the crash may have cost it deliveries its replay will not hand back (syncCommitIndex off and
   * a power loss), so nothing delivered before is owed by the replays from now on.
   */
  startIncarnation(node: NodeId, lossy = false): void {
    for (const [key, cursor] of this.cursors) {
      if (!key.startsWith(`${node}\u0000`)) continue;
      cursor.next = -1;
      if (lossy) cursor.kept = 0;
    }
  }

  /**
   * Records one delivery; returns a violation when it departs from the canonical sequence. `releasedAt`:
   * the log index whose apply released it (the entry itself, or the commit marker of a pending one).
   */
  deliver(time: number, node: NodeId, partition: number, log: Delivery, source: DeliverySource, releasedAt = 0): Violation | undefined {
    const sequence = this.sequence(partition);
    const positions = this.positions.get(partition) as Map<number, number>;
    const cursor = this.cursor(node, partition);
    let position = cursor.next;
    if (position < 0) {
      position = positions.get(log.id) ?? sequence.length;
      if (position > cursor.delivered) {
        const missed = sequence[cursor.delivered];
        return this.violation(time, node, partition,
          `${source} on a new incarnation starts with id ${log.id} at canonical position ${position}, ` +
          `skipping position ${cursor.delivered} (id ${missed?.id ?? '?'}) that this node never delivered`);
      }
    }
    const canonical = sequence[position];
    if (canonical === undefined) {
      const earlier = positions.get(log.id);
      if (earlier !== undefined) {
        return this.violation(time, node, partition,
          `${source} delivers id ${log.id} as canonical position ${position}, but it was already delivered at position ${earlier}`);
      }
      sequence.push({ id: log.id, term: log.term, type: log.type, key: dataKey(log.data), data: log.data, time: log.time, firstNode: node });
      (this.releases.get(partition) as number[]).push(releasedAt);
      positions.set(log.id, position);
    } else if (!sameDelivery(canonical, log)) {
      return this.violation(time, node, partition,
        `${source} delivery #${position} is id ${log.id} term ${log.term} type ${JSON.stringify(log.type)} data ${JSON.stringify(dataKey(log.data))}, ` +
        `but ${canonical.firstNode} delivered id ${canonical.id} term ${canonical.term} type ${JSON.stringify(canonical.type)} data ${JSON.stringify(canonical.key)} there`);
    }
    cursor.next = position + 1;
    if (cursor.delivered < cursor.next) cursor.delivered = cursor.next;
    if (cursor.kept < cursor.next) cursor.kept = cursor.next;
    return undefined;
  }

  /**
   * `node`'s replay of `partition` ended: it must have reached what the node delivered before the
   * restart (DESIGN §2.3), back to its last lossy restart. A replay that handed back nothing is not
   * judged: the node may have delivered nothing since its last checkpoint.
   */
  restoreFinished(time: number, node: NodeId, partition: number): Violation | undefined {
    const cursor = this.cursors.get(`${node}\u0000${partition}`);
    if (cursor === undefined || cursor.next < 0 || cursor.next >= cursor.kept) return undefined;
    return this.violation(time, node, partition,
      `the replay after the restart ended at canonical position ${cursor.next}, but the node had delivered ${cursor.kept} before it`);
  }

  /**
   * `node` installed a snapshot whose state holds the first `position` canonical deliveries: its next
   * delivery continues from there. Returns a violation when that would move its state backwards.
   */
  jump(time: number, node: NodeId, partition: number, position: number): Violation | undefined {
    this.sequence(partition);
    const cursor = this.cursor(node, partition);
    if (cursor.next > position) {
      return this.violation(time, node, partition,
        `installed a snapshot holding ${position} deliveries, but this incarnation had already delivered ${cursor.next}`);
    }
    if (position > this.sequence(partition).length) {
      return this.violation(time, node, partition,
        `installed a snapshot holding ${position} deliveries, but only ${this.sequence(partition).length} canonical deliveries exist`);
    }
    cursor.next = position;
    if (cursor.delivered < position) cursor.delivered = position;
    // Not `kept`: the runtime records the snapshot in the WAL only after importState, and a process that
    // dies in between replays its old log (StateTransfer.importState says so). Deliveries after the
    // snapshot wait for that record, so the first of them raises `kept` past the snapshot.
    return undefined;
  }

  /**
   * Canonical position the state of `node` has reached when it has applied the log through `applied`:
   * what its current incarnation delivered. Before the first delivery since a restart, the deliveries
   * released at or below `applied` (a replay that stopped short of what was delivered before, as after
   * a crash with syncCommitIndex off, left the state there), or all it ever delivered when that is not
   * known.
   */
  statePosition(node: NodeId, partition: number, applied = Number.POSITIVE_INFINITY): number {
    const cursor = this.cursors.get(`${node}\u0000${partition}`);
    if (cursor === undefined) return 0;
    if (cursor.next >= 0) return cursor.next;
    const releases = this.releases.get(partition) ?? [];
    let position = 0;
    for (; position < cursor.delivered; position++) {
      const at = releases[position] ?? 0;
      if (at === 0) return cursor.delivered;
      if (at > applied) break;
    }
    return position;
  }

  /** The canonical delivery sequence of `partition`. */
  canonical(partition: number): readonly CanonicalDelivery[] {
    return this.sequences.get(partition) ?? [];
  }

  /** How many canonical entries of `partition` `node` has delivered (over all its incarnations). */
  deliveredBy(node: NodeId, partition: number): number {
    return this.cursors.get(`${node}\u0000${partition}`)?.delivered ?? 0;
  }

  /** Canonical position of the current incarnation's next delivery, or -1 before its first one. */
  nextOf(node: NodeId, partition: number): number {
    return this.cursors.get(`${node}\u0000${partition}`)?.next ?? -1;
  }

  private violation(time: number, node: NodeId, partition: number, details: string): Violation {
    return { invariant: 'state-machine-safety', time, node, partition, details };
  }

  private sequence(partition: number): CanonicalDelivery[] {
    let sequence = this.sequences.get(partition);
    if (sequence === undefined) {
      sequence = [];
      this.sequences.set(partition, sequence);
      this.releases.set(partition, []);
      this.positions.set(partition, new Map());
    }
    return sequence;
  }

  private cursor(node: NodeId, partition: number): Cursor {
    const key = `${node}\u0000${partition}`;
    let cursor = this.cursors.get(key);
    if (cursor === undefined) {
      cursor = { next: -1, delivered: 0, kept: 0 };
      this.cursors.set(key, cursor);
    }
    return cursor;
  }
}

function sameDelivery(canonical: CanonicalDelivery, log: Delivery): boolean {
  if (canonical.id !== log.id || canonical.term !== log.term || canonical.type !== log.type) return false;
  if (canonical.time.physical !== log.time.physical || canonical.time.counter !== log.time.counter) return false;
  // Nodes of one process share payload arrays; comparing bytes is only needed when the objects differ.
  return canonical.data === log.data || canonical.key === dataKey(log.data);
}
