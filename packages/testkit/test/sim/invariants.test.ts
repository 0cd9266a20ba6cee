import { AcknowledgedWritesChecker } from '../../src/sim/invariants/acknowledged-writes.js';
import { ElectionSafetyChecker } from '../../src/sim/invariants/election-safety.js';
import { LeaderCompletenessChecker, type LogView } from '../../src/sim/invariants/leader-completeness.js';
import { LogMatchingChecker, type LogEntry } from '../../src/sim/invariants/log-matching.js';
import { StateMachineSafetyChecker, type Delivery } from '../../src/sim/invariants/state-machine-safety.js';
import { formatViolation } from '../../src/sim/invariants/violation.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const entry = (index: number, term: number, payload = `e${index}`): LogEntry => ({
  index,
  term,
  kind: 1,
  type: 'sim',
  data: bytes(payload),
  time: { physical: 1000 + index, counter: 0 },
});
const delivery = (id: number, term: number, payload = `e${id}`): Delivery => ({ id, term, type: 'sim', data: bytes(payload), time: { physical: 1000 + id, counter: 0 } });
const view = (entries: LogEntry[]): LogView => ({
  firstIndex: entries[0]?.index ?? 0,
  lastIndex: entries[entries.length - 1]?.index ?? 0,
  entries: (from, to) => entries.filter((e) => e.index >= from && e.index <= to),
});

describe('ElectionSafetyChecker', () => {
  test('accepts one leader per term, re-elections by the same node, and followers', () => {
    const c = new ElectionSafetyChecker();
    expect(c.observe(1, 'n1', 1, 'leader', 2)).toBeUndefined();
    expect(c.observe(2, 'n1', 1, 'leader', 2)).toBeUndefined();
    expect(c.observe(3, 'n2', 1, 'follower', 2)).toBeUndefined();
    expect(c.observe(4, 'n2', 1, 'leader', 3)).toBeUndefined();
    expect(c.observe(5, 'n3', 2, 'leader', 2)).toBeUndefined();
    expect(c.termsWithLeader(1)).toEqual([2, 3]);
  });

  test('catches a second leader in the same term, even long after the first stepped down', () => {
    const c = new ElectionSafetyChecker();
    c.observe(1, 'n1', 3, 'leader', 5);
    c.observe(2, 'n1', 3, 'follower', 6);
    const v = c.observe(900, 'n2', 3, 'leader', 5);
    expect(v).toMatchObject({ invariant: 'election-safety', time: 900, node: 'n2', partition: 3 });
    expect(v?.details).toBe('n2 is leader in term 5, which n1 already led');
  });
});

describe('LogMatchingChecker', () => {
  test('accepts the same committed entries reported by several nodes', () => {
    const c = new LogMatchingChecker();
    expect(c.observe(1, 'n1', 1, [entry(1, 1), entry(2, 1)], 1)).toBeUndefined();
    expect(c.observe(2, 'n2', 1, [entry(1, 1), entry(2, 1), entry(3, 2)], 2)).toBeUndefined();
    expect(c.committedThrough(1)).toBe(3);
    expect(c.committedAt(1, 2)).toMatchObject({ term: 1, commitTerm: 1 });
  });

  test('catches the same index and term holding different entries', () => {
    const c = new LogMatchingChecker();
    c.observe(1, 'n1', 2, [entry(1, 1), entry(2, 1, 'x')], 1);
    const v = c.observe(2, 'n3', 2, [entry(1, 1), entry(2, 1, 'y')], 1);
    expect(v).toMatchObject({ invariant: 'log-matching', node: 'n3', partition: 2 });
    expect(v?.details).toContain('index 2 term 1');
  });

  test('catches a committed index holding entries of different terms', () => {
    const c = new LogMatchingChecker();
    c.observe(1, 'n1', 1, [entry(1, 1), entry(2, 2)], 2);
    const v = c.observe(2, 'n2', 1, [entry(2, 3)], 3);
    expect(v).toMatchObject({ invariant: 'state-machine-safety', node: 'n2' });
    expect(v?.details).toBe('committed index 2 has term 3 on n2 but term 2 on n1');
  });

  test('keeps the lowest term in which an index was known committed', () => {
    const c = new LogMatchingChecker();
    c.observe(1, 'n1', 1, [entry(1, 1)], 4);
    c.observe(2, 'n2', 1, [entry(1, 1)], 2);
    expect(c.committedAt(1, 1)?.commitTerm).toBe(2);
  });
});

describe('LeaderCompletenessChecker', () => {
  test('accepts a new leader holding every entry committed in earlier terms', () => {
    const log = new LogMatchingChecker();
    log.observe(1, 'n1', 1, [entry(1, 1), entry(2, 1)], 1);
    const c = new LeaderCompletenessChecker(log);
    expect(c.observe(2, 'n2', 1, 'leader', 2, view([entry(1, 1), entry(2, 1), entry(3, 2)]))).toBeUndefined();
  });

  test('catches a new leader that misses a committed entry', () => {
    const log = new LogMatchingChecker();
    log.observe(1, 'n1', 1, [entry(1, 1), entry(2, 1)], 1);
    const c = new LeaderCompletenessChecker(log);
    c.observe(2, 'n3', 1, 'follower', 1, view([entry(1, 1)]));
    const v = c.observe(3, 'n3', 1, 'leader', 2, view([entry(1, 1)]));
    expect(v).toMatchObject({ invariant: 'leader-completeness', node: 'n3', partition: 1, time: 3 });
    expect(v?.details).toContain('without index 2');
  });

  test('catches a new leader whose entry at a committed index differs', () => {
    const log = new LogMatchingChecker();
    log.observe(1, 'n1', 1, [entry(1, 1)], 1);
    const c = new LeaderCompletenessChecker(log);
    const v = c.observe(2, 'n2', 1, 'leader', 3, view([entry(1, 2, 'other')]));
    expect(v?.invariant).toBe('leader-completeness');
  });

  test('does not blame a late leader of an older term for entries committed after its term', () => {
    const log = new LogMatchingChecker();
    log.observe(1, 'n1', 1, [entry(1, 1), entry(2, 6)], 6);
    const c = new LeaderCompletenessChecker(log);
    expect(c.observe(2, 'n2', 1, 'leader', 5, view([entry(1, 1)]))).toBeUndefined();
    expect(c.observe(3, 'n3', 1, 'leader', 7, view([entry(1, 1)]))?.invariant).toBe('leader-completeness');
  });

  test('checks only on becoming leader, and skips compacted entries', () => {
    const log = new LogMatchingChecker();
    log.observe(1, 'n1', 1, [entry(1, 1), entry(2, 1), entry(3, 1)], 1);
    const c = new LeaderCompletenessChecker(log);
    expect(c.observe(2, 'n1', 1, 'leader', 2, view([entry(3, 1)]))).toBeUndefined();
    expect(c.observe(3, 'n2', 1, 'leader', 3, view([entry(1, 1), entry(2, 1), entry(3, 1)]))).toBeUndefined();
    expect(c.observe(4, 'n2', 1, 'leader', 3, view([]))).toBeUndefined();
  });
});

describe('StateMachineSafetyChecker', () => {
  test('accepts every node delivering the same sequence, and a restart replaying from a checkpoint', () => {
    const c = new StateMachineSafetyChecker();
    for (const node of ['n1', 'n2']) for (const id of [1, 2, 4, 3]) expect(c.deliver(id, node, 1, delivery(id, 1), 'replication')).toBeUndefined();
    c.startIncarnation('n2');
    expect(c.deliver(10, 'n2', 1, delivery(4, 1), 'restore')).toBeUndefined();
    expect(c.deliver(11, 'n2', 1, delivery(3, 1), 'restore')).toBeUndefined();
    expect(c.deliver(12, 'n2', 1, delivery(5, 2), 'replication')).toBeUndefined();
    expect(c.deliver(13, 'n1', 1, delivery(5, 2), 'replication')).toBeUndefined();
    expect(c.canonical(1).map((d) => d.id)).toEqual([1, 2, 4, 3, 5]);
    expect(c.deliveredBy('n2', 1)).toBe(5);
    expect(c.nextOf('n1', 1)).toBe(5);
  });

  test('a restarted node that has delivered nothing yet is at the deliveries released up to its applied index', () => {
    const c = new StateMachineSafetyChecker();
    // Entries 1, 2 and 4 are released where they are applied; 3 (a pending proposal) with its marker at 5.
    for (const [id, at] of [[1, 1], [2, 2], [4, 4], [3, 5], [6, 6]] as const) expect(c.deliver(id, 'n1', 1, delivery(id, 1), 'replication', at)).toBeUndefined();
    expect(c.statePosition('n1', 1, 2)).toBe(5);
    c.startIncarnation('n1');
    // A replay that stopped at 4 (syncCommitIndex off, a crash): three deliveries, not five.
    expect(c.statePosition('n1', 1, 4)).toBe(3);
    expect(c.statePosition('n1', 1, 5)).toBe(4);
    expect(c.statePosition('n1', 1, 9)).toBe(5);
    // Release points not known (deliveries recorded without them): everything it delivered, as before.
    const old = new StateMachineSafetyChecker();
    old.deliver(1, 'n1', 1, delivery(1, 1), 'replication');
    old.deliver(2, 'n1', 1, delivery(2, 1), 'replication');
    old.startIncarnation('n1');
    expect(old.statePosition('n1', 1, 1)).toBe(2);
  });

  test('catches a replay that ends short of what the node delivered, unless the restart was lossy', () => {
    const c = new StateMachineSafetyChecker();
    for (const id of [1, 2, 3]) c.deliver(id, 'n1', 1, delivery(id, 1), 'replication', id);
    c.startIncarnation('n1');
    c.deliver(10, 'n1', 1, delivery(1, 1), 'restore');
    c.deliver(11, 'n1', 1, delivery(2, 1), 'restore');
    expect(c.restoreFinished(12, 'n1', 1)?.details).toBe('the replay after the restart ended at canonical position 2, but the node had delivered 3 before it');
    // A lossy restart (syncCommitIndex off, a power loss) owes nothing delivered before it...
    c.startIncarnation('n1', true);
    c.deliver(20, 'n1', 1, delivery(1, 1), 'restore');
    expect(c.restoreFinished(21, 'n1', 1)).toBeUndefined();
    c.deliver(22, 'n1', 1, delivery(2, 1), 'replication', 2);
    // ...but what it delivers from then on is owed again by the next replay.
    c.startIncarnation('n1');
    c.deliver(30, 'n1', 1, delivery(1, 1), 'restore');
    expect(c.restoreFinished(31, 'n1', 1)?.details).toContain('ended at canonical position 1, but the node had delivered 2');
    c.startIncarnation('n1');
    for (const id of [1, 2]) c.deliver(40, 'n1', 1, delivery(id, 1), 'restore');
    expect(c.restoreFinished(41, 'n1', 1)).toBeUndefined();
  });

  test('a snapshot the process died installing is not owed by the replay; the first delivery after it is', () => {
    const c = new StateMachineSafetyChecker();
    for (const id of [1, 2, 3, 4]) c.deliver(id, 'n2', 1, delivery(id, 1), 'replication', id);
    for (const id of [1, 2]) c.deliver(id, 'n1', 1, delivery(id, 1), 'replication', id);
    // n1 imports a snapshot holding 4 deliveries and dies before the WAL records it: its old log replays 2.
    expect(c.jump(5, 'n1', 1, 4)).toBeUndefined();
    c.startIncarnation('n1');
    for (const id of [1, 2]) c.deliver(10, 'n1', 1, delivery(id, 1), 'restore');
    expect(c.restoreFinished(11, 'n1', 1)).toBeUndefined();
    // Once the snapshot is recorded and a delivery follows it, the next replay owes that delivery.
    expect(c.jump(12, 'n1', 1, 4)).toBeUndefined();
    c.deliver(13, 'n2', 1, delivery(5, 1), 'replication', 5);
    c.deliver(14, 'n1', 1, delivery(5, 1), 'replication', 5);
    c.startIncarnation('n1');
    c.deliver(20, 'n1', 1, delivery(1, 1), 'restore');
    expect(c.restoreFinished(21, 'n1', 1)?.details).toContain('ended at canonical position 1, but the node had delivered 5');
  });

  test('catches a node delivering a different entry at the same position', () => {
    const c = new StateMachineSafetyChecker();
    c.deliver(1, 'n1', 1, delivery(1, 1), 'replication');
    c.deliver(2, 'n1', 1, delivery(2, 1, 'a'), 'replication');
    c.deliver(3, 'n2', 1, delivery(1, 1), 'replication');
    const v = c.deliver(4, 'n2', 1, delivery(2, 1, 'b'), 'replication');
    expect(v).toMatchObject({ invariant: 'state-machine-safety', node: 'n2', partition: 1 });
    expect(v?.details).toContain('delivery #1');
  });

  test('catches a node skipping an entry', () => {
    const c = new StateMachineSafetyChecker();
    c.deliver(1, 'n1', 1, delivery(1, 1), 'replication');
    c.deliver(2, 'n1', 1, delivery(2, 1), 'replication');
    c.deliver(3, 'n2', 1, delivery(1, 1), 'replication');
    expect(c.deliver(4, 'n2', 1, delivery(3, 1), 'replication')?.invariant).toBe('state-machine-safety');
  });

  test('catches a restore that differs from what the node delivered before the crash', () => {
    const c = new StateMachineSafetyChecker();
    c.deliver(1, 'n1', 1, delivery(1, 1), 'replication');
    c.deliver(2, 'n1', 1, delivery(2, 1), 'replication');
    c.startIncarnation('n1');
    c.deliver(3, 'n1', 1, delivery(1, 1), 'restore');
    const v = c.deliver(4, 'n1', 1, delivery(2, 1, 'rewritten'), 'restore');
    expect(v?.details).toContain('restore delivery #1');
  });

  test('catches a restart that skips entries the node never delivered', () => {
    const c = new StateMachineSafetyChecker();
    for (const id of [1, 2, 3]) c.deliver(id, 'n1', 1, delivery(id, 1), 'replication');
    c.deliver(4, 'n2', 1, delivery(1, 1), 'replication');
    c.startIncarnation('n2');
    const v = c.deliver(5, 'n2', 1, delivery(3, 1), 'restore');
    expect(v?.details).toContain('skipping position 1');
  });

  test('catches the same log id delivered twice', () => {
    const c = new StateMachineSafetyChecker();
    c.deliver(1, 'n1', 1, delivery(1, 1), 'replication');
    expect(c.deliver(2, 'n1', 1, delivery(1, 1), 'replication')?.details).toContain('already delivered at position 0');
  });
});

describe('AcknowledgedWritesChecker', () => {
  function deliverAll(c: StateMachineSafetyChecker, nodes: string[], payloads: string[]): void {
    for (const node of nodes) payloads.forEach((p, i) => c.deliver(i, node, 1, delivery(i + 1, 1, p), 'replication'));
  }

  test('passes when every acknowledged write is delivered everywhere and rolled-back ones nowhere', () => {
    const acks = new AcknowledgedWritesChecker();
    const d = new StateMachineSafetyChecker();
    for (const p of ['a', 'b', 'c', 'r']) acks.proposed(1, bytes(p), 0);
    acks.acknowledged(1, bytes('a'), 1);
    acks.acknowledged(1, bytes('b'), 2);
    acks.rolledBack(1, bytes('r'), 3);
    deliverAll(d, ['n1', 'n2'], ['a', 'c', 'b']);
    expect(acks.check(10, d, ['n1', 'n2'])).toBeUndefined();
    expect(acks.acknowledgedCount).toBe(2);
  });

  test('catches an acknowledged write missing from the delivered sequence', () => {
    const acks = new AcknowledgedWritesChecker();
    const d = new StateMachineSafetyChecker();
    acks.acknowledged(1, bytes('lost'), 5);
    deliverAll(d, ['n1'], ['other']);
    const v = acks.check(10, d, ['n1']);
    expect(v).toMatchObject({ invariant: 'acknowledged-write-lost', partition: 1 });
    expect(v?.details).toContain('"lost"');
  });

  test('catches an acknowledged write one node never delivered', () => {
    const acks = new AcknowledgedWritesChecker();
    const d = new StateMachineSafetyChecker();
    acks.acknowledged(1, bytes('b'), 5);
    deliverAll(d, ['n1'], ['a', 'b']);
    deliverAll(d, ['n2'], ['a']);
    expect(acks.check(10, d, ['n1', 'n2'])).toMatchObject({ invariant: 'acknowledged-write-lost', node: 'n2' });
  });

  test('catches a rolled-back write that was delivered', () => {
    const acks = new AcknowledgedWritesChecker();
    const d = new StateMachineSafetyChecker();
    acks.rolledBack(1, bytes('r'), 5);
    deliverAll(d, ['n1'], ['r']);
    expect(acks.check(10, d, ['n1'])?.invariant).toBe('rolled-back-write-delivered');
  });

  test('catches a payload proposed once but delivered twice', () => {
    const acks = new AcknowledgedWritesChecker();
    const d = new StateMachineSafetyChecker();
    acks.proposed(1, bytes('twice'), 1);
    deliverAll(d, ['n1'], ['twice', 'x', 'twice']);
    expect(acks.check(10, d, ['n1'])?.invariant).toBe('duplicate-delivery');
  });
});

test('formatViolation names the invariant, time, node and partition', () => {
  expect(formatViolation({ invariant: 'election-safety', time: 12.5, node: 'n2', partition: 3, details: 'two leaders' })).toBe(
    'election-safety at 12.500 ms (node n2, partition 3): two leaders',
  );
  expect(formatViolation({ invariant: 'heal-convergence', time: 1, node: '', partition: -1, details: 'x' })).toBe('heal-convergence at 1.000 ms: x');
});
