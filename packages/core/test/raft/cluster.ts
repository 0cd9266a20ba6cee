import { HLC_ZERO } from '../../src/hlc/timestamp.js';
import type { RaftConfig, RaftRestore } from '../../src/raft/config.js';
import { EntryKind } from '../../src/raft/entry.js';
import type { Entry, EntryProposal } from '../../src/raft/entry.js';
import type { Message, NodeId } from '../../src/raft/message.js';
import { Raft } from '../../src/raft/raft.js';
import type { ProposeResult } from '../../src/raft/raft.js';
import type { HardState, LogBase, ReadState, Ready } from '../../src/raft/state.js';
import { EMPTY_HARD_STATE } from '../../src/raft/state.js';

/** What survives a crash: the WAL (hard state and entries) and the application's applied index. */
export interface Storage {
  hardState: HardState;
  entries: Entry[];
  applied: number;
  /** Set once a snapshot was installed or the log compacted. */
  base?: LogBase;
}

export interface SimNode {
  readonly id: NodeId;
  readonly config: RaftConfig;
  raft: Raft | null;
  readonly storage: Storage;
  /** Entries delivered to the application, over every incarnation, in delivery order. */
  readonly delivered: Entry[];
  readonly readStates: ReadState[];
  /** Index of the last snapshot installed (deliveries continue after it). */
  snapshotAt?: number;
}

export interface ClusterOptions {
  readonly learners?: readonly NodeId[];
  readonly config?: Partial<Omit<RaftConfig, 'id' | 'voters' | 'learners' | 'partition'>>;
  readonly seed?: number;
  /**
   * Pipelined persistence, as the runtime does it: `beginReady` hands the Ready off at once, so a node may
   * have several writes in progress; `finishReady` completes the oldest and calls `persisted`. A Ready
   * that carries a snapshot is not pipelined.
   */
  readonly pipelined?: boolean;
}

/** A proposal of one application entry whose `type` names it, so tests can recognise it anywhere. */
export function data(name: string, bytes = 0): EntryProposal {
  return { kind: EntryKind.Data, type: name, data: new Uint8Array(bytes), time: HLC_ZERO };
}

/** A log entry; `type` defaults to a name unique to its index and term. */
export function entry(index: number, term: number, type = `e${index}t${term}`): Entry {
  return { index, term, kind: EntryKind.Data, type, data: new Uint8Array(0), time: HLC_ZERO };
}

/** Entries with the given terms at indexes 1, 2, 3 … */
export function log(...terms: number[]): Entry[] {
  return terms.map((t, k) => entry(k + 1, t));
}

/** A message with every field present, defaults for those not given (as the protocol builds them). */
export function msg(fields: Partial<Message> & Pick<Message, 'type' | 'from' | 'to' | 'term'>): Message {
  return {
    type: fields.type,
    partition: fields.partition ?? 7,
    from: fields.from,
    to: fields.to,
    term: fields.term,
    logTerm: fields.logTerm ?? 0,
    index: fields.index ?? 0,
    entries: fields.entries ?? [],
    commit: fields.commit ?? 0,
    reject: fields.reject ?? false,
    rejectHint: fields.rejectHint ?? 0,
    context: fields.context ?? 0,
  };
}

/** A bare node for tests that feed messages by hand. */
export function node(id: NodeId, voters: readonly NodeId[], config: Partial<RaftConfig> = {}, restore?: Partial<RaftRestore>): Raft {
  return new Raft(
    { partition: 7, seed: 1, id, voters, ...config },
    {
      hardState: restore?.hardState ?? EMPTY_HARD_STATE,
      entries: restore?.entries ?? [],
      applied: restore?.applied ?? 0,
      ...(restore?.base === undefined ? {} : { base: restore.base }),
    },
  );
}

/** Collects a Ready and acknowledges it at once (as if persisted, sent and applied instantly). */
export function drain(raft: Raft): Ready {
  const ready = raft.ready();
  raft.advance(ready);
  return ready;
}

/**
 * A tiny deterministic network of Raft instances for protocol tests. Messages wait in one queue until a
 * test delivers them (all, some, or none); every Ready is processed synchronously: persisted to the
 * node's `Storage`, its messages queued, its committed entries delivered, then `advance`d. It also
 * checks election safety and that every node delivers the same entry at each index, throwing at once.
 */
export class Cluster {
  readonly nodes = new Map<NodeId, SimNode>();
  /** Messages sent and not yet delivered, oldest first. */
  queue: Message[] = [];
  /** Links that lose every message, as "from->to". */
  private readonly cut = new Set<string>();
  /** Election safety: the one leader each term may have. */
  readonly leaderOfTerm = new Map<number, NodeId>();
  /** State machine safety: the one entry each index may deliver. */
  readonly deliveredAt = new Map<number, Entry>();
  /** Readies whose write is in progress (see `beginReady`). */
  /** Writes in progress per node, oldest first. */
  private readonly inProgress = new Map<NodeId, Ready[]>();
  private readonly pipelined: boolean;

  constructor(voters: readonly NodeId[], options: ClusterOptions = {}) {
    const learners = options.learners ?? [];
    this.pipelined = options.pipelined ?? false;
    let seed = options.seed ?? 1;
    for (const id of [...voters, ...learners]) {
      const config: RaftConfig = { ...options.config, id, partition: 7, voters, learners, seed: seed++ };
      const storage: Storage = { hardState: EMPTY_HARD_STATE, entries: [], applied: 0 };
      const node: SimNode = { id, config, raft: null, storage, delivered: [], readStates: [] };
      this.nodes.set(id, node);
      this.start(node);
    }
  }

  node(id: NodeId): SimNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  raft(id: NodeId): Raft {
    const raft = this.node(id).raft;
    if (raft === null) throw new Error(`node ${id} is crashed`);
    return raft;
  }

  leaders(): NodeId[] {
    const out: NodeId[] = [];
    for (const node of this.nodes.values()) if (node.raft?.isLeader() === true) out.push(node.id);
    return out;
  }

  /** Drops the in-memory state, any write in progress and every message to the node; storage survives. */
  crash(id: NodeId): void {
    this.node(id).raft = null;
    this.inProgress.delete(id);
    this.queue = this.queue.filter((m) => m.to !== id);
  }

  restart(id: NodeId): void {
    const node = this.node(id);
    if (node.raft !== null) throw new Error(`node ${id} is running`);
    this.start(node);
  }

  /** Restarts `id` from the given durable state (as if its WAL held exactly that). */
  restore(id: NodeId, storage: Storage): void {
    const node = this.node(id);
    node.raft = null;
    this.inProgress.delete(id);
    Object.assign(node.storage, storage);
    this.start(node);
  }

  private start(node: SimNode): void {
    const { hardState, entries, applied, base } = node.storage;
    node.raft = new Raft(node.config, base === undefined ? { hardState, entries: entries.slice(), applied } : { hardState, entries: entries.slice(), applied, base });
  }

  /** Cuts every link to and from `id` (messages on cut links are lost). */
  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}->${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Carries out the node's Ready at once if it has one (and none is in progress); returns it. */
  processReady(id: NodeId): Ready | null {
    if (this.inProgress.has(id)) return null;
    const ready = this.beginReady(id);
    if (ready !== null) this.finishReady(id);
    return ready;
  }

  /**
   * First half of a Ready, as the runtime does it: collect it and send `messages` (allowed in parallel
   * with the write). The write is then in progress until `finishReady`; the node keeps stepping meanwhile.
   */
  beginReady(id: NodeId): Ready | null {
    const raft = this.node(id).raft;
    if (raft === null || !raft.hasReady()) return null;
    const queued = this.inProgress.get(id) ?? [];
    if (queued.length > 0 && (!this.pipelined || raft.pendingSnapshot() !== null)) return null;
    const ready = raft.ready();
    this.checkLeader(id, raft, ready);
    this.send(ready.messages);
    if (this.pipelined && ready.snapshot === null) raft.handOff(ready);
    queued.push(ready);
    this.inProgress.set(id, queued);
    return ready;
  }

  /** Second half: the write is durable; send `persistedMessages`, apply, advance. */
  finishReady(id: NodeId): void {
    const queued = this.inProgress.get(id);
    const node = this.node(id);
    if (queued === undefined || node.raft === null) return;
    const ready = queued.shift()!;
    if (queued.length === 0) this.inProgress.delete(id);
    if (ready.snapshot !== null) {
      node.snapshotAt = ready.snapshot.index;
      node.storage.applied = ready.snapshot.index;
    }
    this.persist(node.storage, ready);
    this.send(ready.persistedMessages);
    for (const entry of ready.committedEntries) this.deliver(node, entry);
    node.readStates.push(...ready.readStates);
    if (this.pipelined && ready.snapshot === null) node.raft.persisted(ready);
    else node.raft.advance(ready);
  }

  /** How many writes of `id` are in progress. */
  writesInProgress(id: NodeId): number {
    return this.inProgress.get(id)?.length ?? 0;
  }

  /** Whether `id` has a Ready whose write is in progress. */
  writing(id: NodeId): boolean {
    return this.inProgress.has(id);
  }

  private checkLeader(id: NodeId, raft: Raft, ready: Ready): void {
    if (ready.softState === null || ready.softState.role !== 'leader') return;
    const term = raft.status().term;
    const existing = this.leaderOfTerm.get(term);
    if (existing !== undefined && existing !== id) {
      throw new Error(`election safety violated: ${existing} and ${id} both lead term ${term}`);
    }
    this.leaderOfTerm.set(term, id);
  }

  persist(storage: Storage, ready: Ready): void {
    if (ready.snapshot !== null) {
      storage.entries = [];
      storage.base = ready.snapshot;
    }
    const first = ready.entries[0];
    if (first !== undefined) {
      const keep = storage.entries.filter((e) => e.index < first.index);
      storage.entries = keep.concat(ready.entries);
    }
    if (ready.hardState !== null) storage.hardState = ready.hardState;
  }

  deliver(node: SimNode, entry: Entry): void {
    const seen = this.deliveredAt.get(entry.index);
    if (seen === undefined) this.deliveredAt.set(entry.index, entry);
    else if (seen.term !== entry.term || seen.type !== entry.type) {
      throw new Error(
        `state machine safety violated at index ${entry.index}: ${node.id} delivers term ${entry.term} "${entry.type}", another node delivered term ${seen.term} "${seen.type}"`,
      );
    }
    const previous = node.delivered[node.delivered.length - 1];
    if (previous !== undefined && entry.index !== previous.index + 1 && entry.index !== (node.snapshotAt ?? -1) + 1) {
      throw new Error(`${node.id} delivered index ${entry.index} after ${previous.index}`);
    }
    node.delivered.push(entry);
    node.storage.applied = entry.index;
  }

  send(messages: readonly Message[]): void {
    for (const m of messages) {
      if (this.cut.has(`${m.from}->${m.to}`)) continue;
      this.queue.push(m);
    }
  }

  /** Completes writes in progress and processes every node's Ready until none has one. */
  processAll(): void {
    for (let round = 0; round < 10_000; round++) {
      let any = false;
      for (const id of this.nodes.keys()) {
        if (this.inProgress.has(id)) {
          this.finishReady(id);
          any = true;
        } else if (this.processReady(id) !== null) {
          any = true;
        }
      }
      if (!any) return;
    }
    throw new Error('processAll did not settle');
  }

  /** Takes the queued messages that match `filter` (default all) out of the queue, leaving the rest. */
  take(filter: (m: Message) => boolean = () => true): Message[] {
    const taken: Message[] = [];
    const rest: Message[] = [];
    for (const m of this.queue) (filter(m) ? taken : rest).push(m);
    this.queue = rest;
    return taken;
  }

  /** Steps one message into its target (lost if the target is crashed). */
  stepInto(m: Message): void {
    const raft = this.node(m.to).raft;
    if (raft !== null) raft.step(m);
  }

  /** Delivers the queued messages matching `filter` once (messages they cause stay queued), then processes Readies. */
  deliverOnce(filter?: (m: Message) => boolean): Message[] {
    this.processAll();
    const batch = this.take(filter);
    for (const m of batch) this.stepInto(m);
    this.processAll();
    return batch;
  }

  /** Delivers messages (matching `filter`) until none is left; messages not matching stay queued. */
  stabilize(filter?: (m: Message) => boolean): void {
    for (let round = 0; round < 1_000; round++) {
      if (this.deliverOnce(filter).length === 0) return;
    }
    throw new Error('stabilize did not settle');
  }

  /** Drops every queued message matching `filter` (default: all). */
  drop(filter: (m: Message) => boolean = () => true): Message[] {
    return this.take(filter);
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.node(id).raft?.tick();
    this.processAll();
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) for (const node of this.nodes.values()) node.raft?.tick();
    this.processAll();
  }

  /** Campaigns `id` and runs the election to its end with every message delivered. */
  elect(id: NodeId): void {
    this.raft(id).campaign();
    this.stabilize();
    if (!this.raft(id).isLeader()) throw new Error(`${id} did not win: ${JSON.stringify(this.raft(id).status())}`);
  }

  propose(id: NodeId, ...names: string[]): ProposeResult {
    return this.raft(id).propose(names.map((n) => data(n)));
  }

  /** The committed (delivered) entry types of a node, without the leaders' no-ops. */
  deliveredTypes(id: NodeId): string[] {
    return this.node(id)
      .delivered.filter((e) => e.kind !== EntryKind.Noop)
      .map((e) => e.type);
  }
}
