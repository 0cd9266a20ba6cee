import type { RaftConfig } from '../../src/raft/config.js';
import type { NodeId } from '../../src/raft/message.js';
import { Prng } from '../../src/raft/prng.js';
import { Cluster } from './cluster.js';

const SEEDS = 300;
const CHAOS_STEPS = 1500;

/**
 * One seeded run: 3–5 voters (sometimes a learner), random ticks, proposals, message loss, duplication
 * and reordering, writes that complete late while the node keeps stepping, crashes (losing the write in
 * progress) and restarts from storage. The cluster helper
 * throws at once on two leaders in one term or two different entries delivered at one index. Then the
 * faults stop and the group must converge: one leader, and a last proposal delivered everywhere.
 */
function run(seed: number, pipelined = false): number {
  const rnd = new Prng(seed);
  const chance = (percent: number): boolean => rnd.nextInt(0, 100) < percent;
  const pick = <T>(items: readonly T[]): T => items[rnd.nextInt(0, items.length)] as T;
  const voters = ['n1', 'n2', 'n3', 'n4', 'n5'].slice(0, 3 + (seed % 3));
  const learners = seed % 4 === 0 ? ['l1'] : [];
  const config: Partial<RaftConfig> = {
    electionTicksMin: 4,
    electionTicksMax: 8,
    heartbeatTicks: 1,
    preVote: chance(70),
    checkQuorum: chance(70),
    maxInflightMessages: rnd.nextInt(1, 5),
    maxEntriesPerMessage: rnd.nextInt(1, 4),
  };
  const cluster = new Cluster(voters, { learners, config, seed: seed * 31, pipelined });
  const all: NodeId[] = [...voters, ...learners];
  const maxDown = Math.floor((voters.length - 1) / 2);
  let proposals = 0;
  let maxWrites = 0;

  for (let step = 0; step < CHAOS_STEPS; step++) {
    const live = all.filter((id) => cluster.node(id).raft !== null);
    const down = all.filter((id) => cluster.node(id).raft === null);
    const action = rnd.nextInt(0, 100);
    if (action < 20) {
      cluster.node(pick(live)).raft?.tick();
    } else if (action < 70 && cluster.queue.length > 0) {
      // Deliver one message picked at random (reordering); sometimes keep a copy (duplication) or lose it.
      const i = rnd.nextInt(0, cluster.queue.length);
      const m = cluster.queue[i]!;
      if (!chance(10)) cluster.queue.splice(i, 1);
      if (!chance(10)) cluster.stepInto(m);
      // Usually the receiver starts its write at once; it completes later, while the node keeps stepping.
      if (chance(60)) cluster.beginReady(m.to);
    } else if (action < 85) {
      const id = pick(live);
      if (pipelined && chance(50) && cluster.beginReady(id) !== null) {
        // Pipelined: another write starts while earlier ones are still in progress.
        maxWrites = Math.max(maxWrites, cluster.writesInProgress(id));
      } else if (cluster.writing(id)) cluster.finishReady(id);
      else if (cluster.beginReady(id) !== null && chance(30)) cluster.finishReady(id);
    } else if (action < 95) {
      for (const leader of cluster.leaders()) cluster.propose(leader, `p${proposals++}`);
    } else if (action < 97 && down.filter((id) => voters.includes(id)).length < maxDown) {
      // A crash loses the write in progress, if any: its `messages` may have left, nothing else did.
      cluster.crash(pick(live));
    } else if (action < 99 && down.length > 0) {
      cluster.restart(pick(down));
    } else {
      cluster.node(pick(live)).raft?.campaign();
    }
  }

  // Heal: everybody up, no more faults; the group must elect a leader and commit a last entry everywhere.
  for (const id of all) if (cluster.node(id).raft === null) cluster.restart(id);
  const last = `final-${seed}`;
  let proposed = false;
  for (let t = 0; t < 300; t++) {
    cluster.tickAll();
    cluster.stabilize();
    const leaders = cluster.leaders();
    if (!proposed && leaders.length === 1) proposed = cluster.propose(leaders[0]!, last).accepted;
    if (proposed && all.every((id) => cluster.deliveredTypes(id).includes(last))) break;
  }
  for (const id of all) {
    if (!cluster.deliveredTypes(id).includes(last)) {
      throw new Error(`seed ${seed}: ${id} never delivered the final entry; status ${JSON.stringify(cluster.raft(id).status())}`);
    }
  }

  // Log Matching across the final in-memory logs: same index and term means the same prefix.
  const logs = all.map((id) => cluster.raft(id).entries(1, Number.MAX_SAFE_INTEGER));
  for (const a of logs) {
    for (const b of logs) {
      const n = Math.min(a.length, b.length);
      for (let i = n - 1; i >= 0; i--) {
        if (a[i]!.term === b[i]!.term) {
          for (let j = 0; j <= i; j++) {
            if (a[j]!.term !== b[j]!.term || a[j]!.type !== b[j]!.type) throw new Error(`seed ${seed}: logs differ at ${j + 1} below a match at ${i + 1}`);
          }
          break;
        }
      }
    }
  }
  return maxWrites;
}

describe('randomized safety', () => {
  it(`holds for ${SEEDS} seeds of drops, duplicates, reordering and crashes, and the group converges afterwards`, () => {
    const failures: string[] = [];
    let leadersElected = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      try {
        run(seed);
        leadersElected++;
      } catch (error) {
        failures.push(`seed ${seed}: ${(error as Error).message}`);
      }
    }
    expect(failures.slice(0, 5)).toEqual([]);
    expect(leadersElected).toBe(SEEDS);
  });

  it(`holds with pipelined persistence (several writes in progress per node) for ${SEEDS} seeds`, () => {
    const failures: string[] = [];
    let deepest = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      try {
        deepest = Math.max(deepest, run(seed + 100_000, true));
      } catch (error) {
        failures.push(`seed ${seed + 100_000}: ${(error as Error).message}`);
      }
    }
    expect(failures.slice(0, 5)).toEqual([]);
    // The runs did pipeline: some node had several writes in progress at once.
    expect(deepest).toBeGreaterThanOrEqual(3);
  });
});
