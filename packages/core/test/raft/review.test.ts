import type { Entry } from '../../src/raft/entry.js';
import type { Message } from '../../src/raft/message.js';
import { MessageType } from '../../src/raft/message.js';
import type { Raft } from '../../src/raft/raft.js';
import type { Ready } from '../../src/raft/state.js';
import { Cluster, drain, entry, log, msg, node } from './cluster.js';

const ABC = ['a', 'b', 'c'];
const ABCDE = ['a', 'b', 'c', 'd', 'e'];
const out = (ready: Ready): Message[] => [...ready.messages, ...ready.persistedMessages];
const ids = (entries: readonly Entry[]): string[] => entries.map((e) => `${e.index}/${e.term}`);

/**
 * Makes `a` (restored at `term` with `entries` committed through `commit`) the leader of `term + 1`
 * by hand, via pre-vote and vote answers from b and c; returns it with the vote persisted.
 */
function leaderA(term: number, entries: Entry[], commit: number, voters: readonly string[] = ABC): Raft {
  const a = node('a', voters, {}, { hardState: { term, vote: '', commit }, entries, applied: commit });
  a.campaign();
  drain(a);
  for (const from of voters.filter((v) => v !== 'a')) a.step(msg({ type: MessageType.PreVoteResponse, from, to: 'a', term: term + 1 }));
  drain(a); // own vote durable
  const others = voters.filter((v) => v !== 'a');
  for (const from of others.slice(0, others.length >> 1)) a.step(msg({ type: MessageType.VoteResponse, from, to: 'a', term: term + 1 }));
  expect(a.isLeader()).toBe(true);
  return a;
}

// ---------------------------------------------------------------------------------------------
// Findings of the protocol review: each of these failed before its fix.
// ---------------------------------------------------------------------------------------------

describe('review findings (each failed before its fix)', () => {
  it('BUG-1 ReadIndex: a late HeartbeatResponse of an earlier round with a reused request id does not confirm a new round', () => {
    // readIndex documents ids as "distinct among outstanding reads", so an id may be reused once its read completed.
    const cluster = new Cluster(ABC, { config: { checkQuorum: false } });
    cluster.elect('a');
    const a = cluster.raft('a');
    expect(a.readIndex(7)).toBe(true);
    cluster.processAll();
    cluster.stabilize((m) => m.type === MessageType.Heartbeat); // b and c answer round 7
    const lateFromC = cluster.take((m) => m.type === MessageType.HeartbeatResponse && m.from === 'c');
    expect(lateFromC).toHaveLength(1);
    cluster.stabilize(); // b's answer completes round 7
    expect(cluster.node('a').readStates).toEqual([{ requestId: 7, index: 1 }]);

    // a is cut off; b and c elect b in term 2 and commit "x" at index 3 (a still believes it leads term 1).
    cluster.isolate('a');
    cluster.elect('b');
    cluster.propose('b', 'x');
    cluster.stabilize();
    expect(cluster.deliveredTypes('c')).toEqual(['x']);
    expect(a.isLeader()).toBe(true);

    // The runtime reuses id 7 for a new read on a; the new round's heartbeats are lost (a is isolated).
    expect(a.readIndex(7)).toBe(true);
    cluster.processAll();
    // c's answer to the OLD round 7 (sent in term 1, before the request) arrives now.
    a.step(lateFromC[0] as Message);
    cluster.processAll();
    // Linearizability: a must not serve a read at index 1 when "x" (index 3) is committed.
    expect(cluster.node('a').readStates).toEqual([{ requestId: 7, index: 1 }]);
  });

  it('BUG-2 restore with a fully compacted log (no retained term) is refused: such a node could not apply the election restriction', () => {
    // b restarts from a WAL compacted through its applied index 5: no entry, so no term, is retained.
    // Voting without knowing its last term could elect a candidate lacking committed entries (§5.4.1),
    // so the protocol refuses the restore until snapshots carry that term.
    expect(() => node('b', ABC, {}, { hardState: { term: 2, vote: 'a', commit: 5 }, entries: [], applied: 5 })).toThrow(
      /the term of the last compacted entry is unknown/,
    );
  });

  it('BUG-2 (cluster consequence) a node whose log was compacted away cannot restart into the election', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a'); // c gets the no-op (index 1, term 1)
    cluster.cutLink('a', 'c');
    cluster.propose('a', 'x', 'y');
    cluster.stabilize(); // x, y committed on a and b at 2, 3
    expect(cluster.deliveredTypes('b')).toEqual(['x', 'y']);
    const s = cluster.node('b').storage;
    expect(() => cluster.restore('b', { hardState: s.hardState, entries: [], applied: s.applied })).toThrow(
      /the term of the last compacted entry is unknown/,
    );
  });

  it('BUG-3 stableTo+compact: a write overtaken by a truncation, then compaction of applied entries, must still persist every replacement entry', () => {
    const b = node('b', ABC, {}, { hardState: { term: 2, vote: '', commit: 4 }, entries: log(1, 1, 2, 2), applied: 4 });
    drain(b);
    // Leader a (term 2) sends 5..9 and commit 7.
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 2, index: 4, logTerm: 2, entries: [5, 6, 7, 8, 9].map((i) => entry(i, 2)), commit: 7 }));
    const inFlight = b.ready();
    expect(ids(inFlight.entries)).toEqual(['5/2', '6/2', '7/2', '8/2', '9/2']);
    expect(inFlight.committedEntries.map((e) => e.index)).toEqual([5, 6, 7]);
    // While that write is in progress, the leader of term 3 replaces 8.. (7 is committed and kept).
    b.step(msg({ type: MessageType.Append, from: 'c', to: 'b', term: 3, index: 7, logTerm: 2, entries: [8, 9, 10, 11].map((i) => entry(i, 3)), commit: 7 }));
    b.advance(inFlight); // 5..9 durable, 5..7 applied
    b.compact(7); // the runtime compacts applied entries (allowed: 7 <= applied)
    const next = drain(b);
    // The WAL must receive 8..11 of term 3 (it still holds 8/2 and 9/2 of the old leader).
    expect(ids(next.entries)).toEqual(['8/3', '9/3', '10/3', '11/3']);
  });

  it('BUG-4 ReadIndex liveness: a read round whose heartbeats were lost is retried by later heartbeats', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    expect(cluster.raft('a').readIndex(1)).toBe(true);
    cluster.processAll();
    expect(cluster.drop((m) => m.type === MessageType.Heartbeat && m.context === 1)).toHaveLength(2);
    for (let t = 0; t < 5; t++) {
      cluster.tick('a');
      cluster.stabilize();
    }
    expect(cluster.raft('a').isLeader()).toBe(true);
    // etcd puts the last pending read context into every heartbeat (bcastHeartbeat); here it stays pending forever.
    expect(cluster.node('a').readStates).toEqual([{ requestId: 1, index: 1 }]);
  });

  it.each([
    ['without', false],
    ['with', true],
  ])('BUG-5 progress: %s a stale index-0 answer, a compacted leader re-probes a follower whose probe was lost', (_label, stale) => {
    const a = node('a', ABC, {}, { hardState: { term: 1, vote: '', commit: 3 }, entries: log(1, 1, 1), applied: 3 });
    a.compact(2);
    a.campaign();
    drain(a);
    for (const from of ['b', 'c']) a.step(msg({ type: MessageType.PreVoteResponse, from, to: 'a', term: 2 }));
    drain(a);
    a.step(msg({ type: MessageType.VoteResponse, from: 'b', to: 'a', term: 2 }));
    drain(a); // the probe to b (Append index 3, entry 4) is lost
    if (stale) a.step(msg({ type: MessageType.AppendResponse, from: 'b', to: 'a', term: 2, index: 0 }));
    drain(a);
    const sent: Message[] = [];
    a.tick();
    sent.push(...out(drain(a)));
    a.step(msg({ type: MessageType.HeartbeatResponse, from: 'b', to: 'a', term: 2 }));
    sent.push(...out(drain(a)));
    expect(sent.filter((m) => m.type === MessageType.Append && m.to === 'b').map((m) => [m.index, ids(m.entries)])).toEqual([[3, ['4/2']]]);
  });
});

// ---------------------------------------------------------------------------------------------
// Regressions: these pass and cover cases the existing tests do not.
// ---------------------------------------------------------------------------------------------

describe('review regressions: duplicated and reordered responses (pass)', () => {
  it('a duplicated VoteResponse counts once (five voters)', () => {
    const a = node('a', ABCDE, { preVote: false });
    a.campaign();
    drain(a); // own vote durable
    for (let k = 0; k < 3; k++) a.step(msg({ type: MessageType.VoteResponse, from: 'b', to: 'a', term: 1 }));
    expect(a.status().role).toBe('candidate');
    a.step(msg({ type: MessageType.VoteResponse, from: 'c', to: 'a', term: 1 }));
    expect(a.isLeader()).toBe(true);
  });

  it('a grant then a duplicated rejection from the same voter keeps the first answer', () => {
    const a = node('a', ABC, { preVote: false });
    a.campaign();
    a.step(msg({ type: MessageType.VoteResponse, from: 'b', to: 'a', term: 1 }));
    a.step(msg({ type: MessageType.VoteResponse, from: 'b', to: 'a', term: 1, reject: true }));
    expect(a.status().role).toBe('candidate');
    drain(a);
    expect(a.isLeader()).toBe(true);
  });

  it('pre-vote grants do not count in the real election, and vote grants do not count in a pre-vote', () => {
    const a = node('a', ABCDE);
    a.campaign();
    expect(a.status().role).toBe('pre-candidate');
    // A VoteResponse of the current term (e.g. from an earlier election) is not a pre-vote grant.
    for (const from of ['b', 'c', 'd']) a.step(msg({ type: MessageType.VoteResponse, from, to: 'a', term: 0 }));
    expect(a.status().role).toBe('pre-candidate');
    for (const from of ['b', 'c']) a.step(msg({ type: MessageType.PreVoteResponse, from, to: 'a', term: 1 }));
    expect(a.status()).toMatchObject({ role: 'candidate', term: 1 });
    drain(a);
    // Duplicated / late pre-vote grants (term 1 = current term) must not count as votes.
    for (const from of ['b', 'c', 'd']) a.step(msg({ type: MessageType.PreVoteResponse, from, to: 'a', term: 1 }));
    expect(a.status().role).toBe('candidate');
  });

  it('a vote grant from a learner or a non-member never counts', () => {
    const a = node('a', ABC, { preVote: false, learners: ['l'] });
    a.campaign();
    a.step(msg({ type: MessageType.VoteResponse, from: 'l', to: 'a', term: 1 }));
    a.step(msg({ type: MessageType.VoteResponse, from: 'zz', to: 'a', term: 1 }));
    a.step(msg({ type: MessageType.VoteResponse, from: 'b', to: 'a', term: 1 }));
    expect(a.status().role).toBe('candidate'); // own vote not yet durable
    drain(a);
    expect(a.isLeader()).toBe(true);
  });

  it('a duplicated or reordered AppendResponse never lowers match nor commits beyond a real quorum', () => {
    const a = leaderA(1, log(1, 1), 2);
    drain(a); // no-op 3 durable
    a.propose([{ kind: 1, type: 'x', data: new Uint8Array(0), time: { physical: 0, counter: 0 } } as never]);
    drain(a);
    a.step(msg({ type: MessageType.AppendResponse, from: 'b', to: 'a', term: 2, index: 4 }));
    expect(a.status().commit).toBe(4);
    // A stale acknowledgement (index 3) and a stale rejection arrive late.
    a.step(msg({ type: MessageType.AppendResponse, from: 'b', to: 'a', term: 2, index: 3 }));
    a.step(msg({ type: MessageType.AppendResponse, from: 'b', to: 'a', term: 2, index: 2, reject: true, rejectHint: 2, logTerm: 1 }));
    const appends = out(drain(a)).filter((m) => m.type === MessageType.Append && m.to === 'b');
    // Neither moves b's next back below its match (no re-send from index ≤ 4).
    expect(appends.every((m) => m.index >= 4)).toBe(true);
    // c's duplicated acknowledgement of index 2 (old entries) does not commit anything new.
    a.step(msg({ type: MessageType.AppendResponse, from: 'c', to: 'a', term: 2, index: 2 }));
    a.step(msg({ type: MessageType.AppendResponse, from: 'c', to: 'a', term: 2, index: 2 }));
    expect(a.status().commit).toBe(4);
  });

  it('acknowledgements of old-term entries alone never commit them (five voters, figure 8 by hand)', () => {
    const a = leaderA(2, log(1, 2, 2), 1, ABCDE);
    drain(a); // no-op 4 (term 3) durable
    for (const from of ['b', 'c']) a.step(msg({ type: MessageType.AppendResponse, from, to: 'a', term: 3, index: 3 }));
    expect(a.status().commit).toBe(1);
    a.step(msg({ type: MessageType.AppendResponse, from: 'b', to: 'a', term: 3, index: 4 }));
    expect(a.status().commit).toBe(1);
    a.step(msg({ type: MessageType.AppendResponse, from: 'c', to: 'a', term: 3, index: 4 }));
    expect(a.status().commit).toBe(4);
  });

  it('a leader counts the entries of a write overtaken by a truncation only once the replacement is durable', () => {
    // 5 voters: b is elected without its own vote while its write of 3..4 (term 1) is in flight.
    const b = node('b', ABCDE, { preVote: false }, { hardState: { term: 1, vote: '', commit: 2 }, entries: log(1, 1), applied: 2 });
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 1, index: 2, logTerm: 1, entries: [entry(3, 1), entry(4, 1)], commit: 2 }));
    const inFlight = b.ready();
    b.campaign();
    for (const from of ['c', 'd', 'e']) b.step(msg({ type: MessageType.VoteResponse, from, to: 'b', term: 2 }));
    expect(b.isLeader()).toBe(true); // no-op at 5, term 2
    for (const from of ['c', 'd']) b.step(msg({ type: MessageType.AppendResponse, from, to: 'b', term: 2, index: 4 }));
    // Two followers hold 4, b's own copy is not yet durable: 2 of 5 → no commit.
    expect(b.status().commit).toBe(2);
    b.advance(inFlight);
    drain(b); // no-op 5 durable too
    for (const from of ['c', 'd']) b.step(msg({ type: MessageType.AppendResponse, from, to: 'b', term: 2, index: 5 }));
    expect(b.status().commit).toBe(5);
  });
});

describe('review regressions: follower commit and heartbeats (pass)', () => {
  it('a heartbeat never raises a follower commit beyond what the leader knows it matches', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    cluster.cutLink('a', 'c');
    cluster.propose('a', 'x', 'y');
    cluster.stabilize();
    cluster.heal();
    cluster.tick('a');
    const beatToC = cluster.queue.find((m) => m.type === MessageType.Heartbeat && m.to === 'c');
    expect(beatToC?.commit).toBe(1);
    cluster.stabilize();
    expect(cluster.deliveredTypes('c')).toEqual(['x', 'y']);
  });

  it('a delayed Append with an old commit does not lower the follower commit, and a new commit is bounded by the entries it vouches for', () => {
    const b = node('b', ABC, {}, { hardState: { term: 1, vote: '', commit: 0 }, entries: [] });
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 1, index: 0, logTerm: 0, entries: log(1, 1, 1), commit: 3 }));
    expect(b.status().commit).toBe(3);
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 1, index: 0, logTerm: 0, entries: log(1), commit: 1 }));
    expect(b.status()).toMatchObject({ commit: 3, lastIndex: 3 });
    // An Append that vouches only for index 4 bounds a commit of 9 to 4.
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 1, index: 3, logTerm: 1, entries: [entry(4, 1)], commit: 9 }));
    expect(b.status().commit).toBe(4);
  });

  it('a follower answers an Append below its commit with its commit index, which the leader takes as a match', () => {
    const b = node('b', ABC, {}, { hardState: { term: 1, vote: '', commit: 3 }, entries: log(1, 1, 1), applied: 3 });
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 1, index: 1, logTerm: 1, entries: [entry(2, 1)], commit: 1 }));
    expect(drain(b).persistedMessages.map((m) => [m.type, m.index, m.reject])).toEqual([[MessageType.AppendResponse, 3, false]]);
  });
});

describe('review regressions: terms, votes and TimeoutNow (pass)', () => {
  it('a TimeoutNow of an older term is ignored', () => {
    const b = node('b', ABC, {}, { hardState: { term: 3, vote: '', commit: 0 } });
    b.step(msg({ type: MessageType.TimeoutNow, from: 'a', to: 'b', term: 2 }));
    expect(b.status()).toMatchObject({ role: 'follower', term: 3 });
    expect(out(drain(b))).toEqual([]);
  });

  it('a duplicated TimeoutNow does not start a second election', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    cluster.raft('a').transferLeadership('b');
    cluster.processAll();
    const [timeoutNow] = cluster.queue;
    expect(timeoutNow?.type).toBe(MessageType.TimeoutNow);
    cluster.stabilize();
    expect(cluster.raft('b').status()).toMatchObject({ role: 'leader', term: 2 });
    cluster.stepInto(timeoutNow as Message);
    cluster.stabilize();
    expect(cluster.raft('b').status()).toMatchObject({ role: 'leader', term: 2 });
  });

  it('a candidate ignores TimeoutNow', () => {
    const b = node('b', ABC, { preVote: false });
    b.campaign();
    b.step(msg({ type: MessageType.TimeoutNow, from: 'a', to: 'b', term: 1 }));
    expect(b.status()).toMatchObject({ role: 'candidate', term: 1 });
  });

  it('a leader stepping down abandons its transfer and pending reads', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    const a = cluster.raft('a');
    a.transferLeadership('c');
    a.step(msg({ type: MessageType.AppendResponse, from: 'b', to: 'a', term: 5 }));
    expect(a.status()).toMatchObject({ role: 'follower', term: 5, leadTransferee: '' });
    expect(a.propose([]).reason).toBe('not-leader');
  });

  it('the vote and the term are in the same Ready as the VoteResponse that promises them, and mustSync is set', () => {
    const b = node('b', ABC, {}, { hardState: { term: 1, vote: 'a', commit: 0 } });
    b.step(msg({ type: MessageType.Vote, from: 'c', to: 'b', term: 2, index: 0, logTerm: 0 }));
    const ready = drain(b);
    expect(ready.hardState).toEqual({ term: 2, vote: 'c', commit: 0 });
    expect(ready.mustSync).toBe(true);
    expect(ready.messages).toEqual([]);
    expect(ready.persistedMessages.map((m) => [m.type, m.term, m.reject])).toEqual([[MessageType.VoteResponse, 2, false]]);
  });

  it('a granted pre-vote changes neither term, vote nor election timer, and leaves before any persist', () => {
    const b = node('b', ABC, { electionTicksMin: 10, electionTicksMax: 11 }, { hardState: { term: 1, vote: 'a', commit: 0 } });
    for (let t = 0; t < 9; t++) b.tick();
    b.step(msg({ type: MessageType.PreVote, from: 'c', to: 'b', term: 2, index: 0, logTerm: 0 }));
    const ready = drain(b);
    expect(ready.hardState).toBeNull();
    expect(ready.messages.map((m) => [m.type, m.term, m.reject])).toEqual([[MessageType.PreVoteResponse, 2, false]]);
    b.tick(); // the timer was not reset: b campaigns (pre-vote) on the 10th tick
    expect(b.status().role).toBe('pre-candidate');
  });
});

describe('review regressions: ReadIndex (pass)', () => {
  it('answers to the periodic heartbeat (context 0), sent before the request, do not confirm a read', () => {
    const cluster = new Cluster(ABC);
    cluster.elect('a');
    cluster.tick('a'); // periodic heartbeats in flight
    cluster.raft('a').readIndex(3);
    cluster.processAll();
    cluster.drop((m) => m.context === 1); // round 1 carries request 3
    cluster.stabilize();
    expect(cluster.node('a').readStates).toEqual([]);
  });

  it('a duplicated answer from one follower is one acknowledgement (five voters)', () => {
    const cluster = new Cluster(ABCDE);
    cluster.elect('a');
    cluster.raft('a').readIndex(3);
    cluster.processAll();
    cluster.drop((m) => m.context === 1 && m.to !== 'b');
    cluster.deliverOnce();
    const [answer] = cluster.take((m) => m.type === MessageType.HeartbeatResponse);
    for (let k = 0; k < 3; k++) cluster.stepInto(answer as Message);
    cluster.processAll();
    expect(cluster.node('a').readStates).toEqual([]);
  });

  it('a read made before the first commit of the term is served at that commit, not at the older commit index', () => {
    const a = leaderA(1, log(1, 1), 1);
    expect(a.readIndex(4)).toBe(true);
    const hb = out(drain(a)).filter((m) => m.type === MessageType.Heartbeat && m.context !== 0);
    expect(hb).toEqual([]);
    a.step(msg({ type: MessageType.AppendResponse, from: 'b', to: 'a', term: 2, index: 3 }));
    expect(a.status().commit).toBe(3);
    const beats = out(drain(a)).filter((m) => m.type === MessageType.Heartbeat && m.context === 1);
    expect(beats.map((m) => m.to)).toEqual(['b', 'c']);
    a.step(msg({ type: MessageType.HeartbeatResponse, from: 'c', to: 'a', term: 2, context: 1 }));
    expect(drain(a).readStates).toEqual([{ requestId: 4, index: 3 }]);
  });
});

describe('review regressions: restore (pass)', () => {
  it('an applied index above the persisted commit (commit is not synced) is taken as committed', () => {
    const b = node('b', ABC, {}, { hardState: { term: 1, vote: '', commit: 1 }, entries: log(1, 1, 1), applied: 3 });
    expect(b.status()).toMatchObject({ commit: 3, applied: 3 });
    expect(drain(b).committedEntries).toEqual([]);
  });

  it('a restored node never answers an Append below its commit by rewriting', () => {
    const b = node('b', ABC, {}, { hardState: { term: 2, vote: '', commit: 3 }, entries: log(1, 1, 2), applied: 3 });
    b.step(msg({ type: MessageType.Append, from: 'a', to: 'b', term: 2, index: 3, logTerm: 2, entries: [entry(4, 2)], commit: 4 }));
    expect(b.status()).toMatchObject({ commit: 4, lastIndex: 4 });
  });
});
