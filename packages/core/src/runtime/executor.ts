/**
 * Priority lanes of a partition executor. Lower runs first: a flood of client proposals must never starve
 * elections and heartbeats, or the partition would lose its leader under load.
 */
export const Lane = {
  /** Ticks, votes, leadership transfer. */
  Control: 0,
  /** Appends, heartbeats and their responses. */
  Replication: 1,
  /** Client proposals and reads. */
  Client: 2,
  /** Timeouts of pending proposals and other housekeeping. */
  Maintenance: 3,
} as const;
export type Lane = (typeof Lane)[keyof typeof Lane];

const LANES = 4;
const COMPACT_AFTER = 4096;

/**
 * The serial executor of one partition: every operation on the partition's Raft state runs here, one at a
 * time, so the protocol object is never touched concurrently (there is no await between a task's start
 * and end). Tasks are closures; `runBatch` drains up to a budget, higher lanes first, so the node's
 * scheduler can interleave partitions fairly.
 */
export class PartitionExecutor {
  private readonly lanes: Array<Array<() => void>> = [];
  private readonly heads: number[] = [];
  private queued = 0;

  constructor() {
    for (let i = 0; i < LANES; i++) {
      this.lanes.push([]);
      this.heads.push(0);
    }
  }

  /** Tasks waiting in all lanes. */
  get size(): number {
    return this.queued;
  }

  enqueue(lane: Lane, task: () => void): void {
    this.lanes[lane]!.push(task);
    this.queued++;
  }

  /** Runs at most `budget` tasks, always from the highest-priority lane that has one. Returns how many ran. */
  runBatch(budget: number): number {
    let ran = 0;
    while (ran < budget && this.queued > 0) {
      let lane = 0;
      while (this.heads[lane]! >= this.lanes[lane]!.length) lane++;
      const queue = this.lanes[lane]!;
      const head = this.heads[lane]!;
      const task = queue[head]!;
      if (head + 1 === queue.length) {
        queue.length = 0;
        this.heads[lane] = 0;
      } else if (head >= COMPACT_AFTER && head * 2 >= queue.length) {
        // A lane that never quite empties would otherwise grow without bound.
        queue.splice(0, head + 1);
        this.heads[lane] = 0;
      } else {
        queue[head] = noop;
        this.heads[lane] = head + 1;
      }
      this.queued--;
      ran++;
      task();
    }
    return ran;
  }

  /** Drops every queued task (the node is stopping). */
  clear(): void {
    for (let i = 0; i < LANES; i++) {
      this.lanes[i]!.length = 0;
      this.heads[i] = 0;
    }
    this.queued = 0;
  }

}

function noop(): void {}
