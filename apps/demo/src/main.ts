/**
 * The Kommander tour: three nodes in one process (in-memory WAL and network), keys routed to partitions,
 * entries replicated, the leader of a partition stopped, a new leader taking over with nothing lost, and
 * the stopped node restarting from its WAL and catching up. Exits 0 when every check holds.
 */
import {
  InMemoryNetwork,
  InMemoryWal,
  RaftManager,
  RaftOperationStatus,
  StaticDiscovery,
  type NodeId,
  type RaftLog,
} from '@kommander/core';

const NODES = ['node-a', 'node-b', 'node-c'];
const PARTITIONS = 4;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The application's own state: a key/value map per node, rebuilt from the log after a restart. */
class ConfigStore {
  readonly values = new Map<string, string>();
  apply(log: RaftLog): boolean {
    const { key, value } = JSON.parse(decoder.decode(log.data)) as { key: string; value: string };
    this.values.set(key, value);
    return true;
  }
}

interface Member {
  id: NodeId;
  raft: RaftManager;
  store: ConfigStore;
  wal: InMemoryWal;
}

const network = new InMemoryNetwork();
const wals = new Map(NODES.map((id) => [id, new InMemoryWal()]));

function startNode(id: NodeId): Member {
  const wal = wals.get(id)!;
  const raft = new RaftManager({
    node: id,
    initialPartitions: PARTITIONS,
    wal,
    transport: network.transport(id),
    discovery: new StaticDiscovery(NODES),
    tickMs: 20,
    electionTicks: 10,
  });
  const store = new ConfigStore();
  raft.onReplicationReceived((_partition, log) => store.apply(log));
  raft.onLogRestored((_partition, log) => store.apply(log));
  return { id, raft, store, wal };
}

function line(text = ''): void {
  process.stdout.write(`${text}\n`);
}

function check(condition: boolean, message: string): void {
  if (!condition) {
    line(`FAILED: ${message}`);
    process.exit(1);
  }
  line(`  ✔ ${message}`);
}

async function leaders(members: Member[]): Promise<Map<number, NodeId>> {
  const result = new Map<number, NodeId>();
  for (let p = 1; p <= PARTITIONS; p++) result.set(p, await members[0]!.raft.waitForLeader(p, 5000));
  return result;
}

async function put(members: Member[], key: string, value: string): Promise<{ partition: number; leader: NodeId }> {
  const partition = members[0]!.raft.getPartitionKey(key);
  for (let attempt = 0; attempt < 50; attempt++) {
    const leader = await members[0]!.raft.waitForLeader(partition, 5000);
    const owner = members.find((m) => m.id === leader);
    if (owner !== undefined) {
      const result = await owner.raft.replicateLogs(partition, 'SetConfig', encoder.encode(JSON.stringify({ key, value })));
      if (result.status === RaftOperationStatus.Success) return { partition, leader };
    }
    await new Promise((resolve) => setTimeout(resolve, 20)); // back off while a new leader settles
  }
  throw new Error(`could not write ${key}`);
}

async function main(): Promise<void> {
  const started = Date.now();
  line('Kommander demo: 3 nodes, 4 partitions, in-memory WAL and network\n');
  let members = NODES.map(startNode);
  await Promise.all(members.map((m) => m.raft.joinCluster()));

  line('1. Leaders per partition (each partition is its own Raft group):');
  const before = await leaders(members);
  for (const [p, leader] of before) line(`   partition ${p} → ${leader}`);
  check([...before.values()].every((l) => l !== ''), 'every partition elected a leader');
  check(new Set(before.values()).size > 1, 'leadership is spread across nodes');

  line('\n2. Routing keys and replicating writes:');
  const written = new Map<string, string>();
  const tenants = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark', 'wayne', 'wonka', 'tyrell', 'cyberdyne'];
  for (const tenant of tenants) {
    for (const setting of ['plan', 'region', 'quota']) {
      const key = `tenants/${tenant}/${setting}`;
      const value = `${setting}-of-${tenant}`;
      const { partition, leader } = await put(members, key, value);
      written.set(key, value);
      if (setting === 'plan') line(`   tenants/${tenant}/* → partition ${partition} (leader ${leader})`);
    }
  }
  line(`   ${written.size} writes acknowledged`);

  const victimPartition = members[0]!.raft.getPartitionKey('tenants/acme/plan');
  const victim = before.get(victimPartition)!;
  line(`\n3. Stopping ${victim}, the leader of partition ${victimPartition} (tenant acme):`);
  const stoppedAt = Date.now();
  await members.find((m) => m.id === victim)!.raft.leaveCluster();
  const survivors = members.filter((m) => m.id !== victim);
  let newLeader = '';
  while (newLeader === '' || newLeader === victim) {
    newLeader = await survivors[0]!.raft.waitForLeader(victimPartition, 5000);
    if (newLeader === victim) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  line(`   partition ${victimPartition} → ${newLeader} took over after ${Date.now() - stoppedAt} ms`);
  check(newLeader !== victim, `a new leader (${newLeader}) leads partition ${victimPartition}`);
  for (const setting of ['owner', 'tier']) {
    const key = `tenants/acme/${setting}`;
    await put(survivors, key, `${setting}-after-failover`);
    written.set(key, `${setting}-after-failover`);
  }
  line('   2 more writes for acme acknowledged by the new leader');
  await settle(survivors, written);
  for (const m of survivors) {
    check(sameValues(m.store, written), `${m.id} holds all ${written.size} acknowledged writes: nothing lost`);
  }

  line(`\n4. Restarting ${victim} from its WAL:`);
  const restarted = startNode(victim);
  let restored = 0;
  restarted.raft.onLogRestored(() => {
    restored++;
    return true;
  });
  await restarted.raft.joinCluster();
  line(`   ${victim} replayed ${restored} committed entries through onLogRestored`);
  members = [...survivors, restarted];
  await settle(members, written);
  check(sameValues(restarted.store, written), `${victim} caught up: all ${written.size} writes present`);

  line('\n5. Leaders now:');
  for (const [p, leader] of await leaders(members)) line(`   partition ${p} → ${leader}`);
  await Promise.all(members.map((m) => m.raft.leaveCluster()));
  line(`\nDone in ${Date.now() - started} ms.`);
}

function sameValues(store: ConfigStore, expected: Map<string, string>): boolean {
  if (store.values.size !== expected.size) return false;
  for (const [k, v] of expected) if (store.values.get(k) !== v) return false;
  return true;
}

/** Waits (bounded) until every member has applied every acknowledged write. */
async function settle(members: Member[], expected: Map<string, string>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (members.every((m) => sameValues(m.store, expected))) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    line(`FAILED: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    process.exit(1);
  },
);
