import { MessageType } from '../../src/raft/message.js';
import { drain, log, msg, node } from './cluster.js';

const ABC = ['a', 'b', 'c'];

describe('answers to messages from an older term', () => {
  test.each([MessageType.Append, MessageType.Heartbeat])(
    'message type %i: the answer carries the current term and acknowledges no index',
    (type) => {
      const b = node('b', ABC, {}, { hardState: { term: 4, vote: '', commit: 2 }, entries: log(3, 3, 3, 3, 4), applied: 2 });
      drain(b);
      b.step(msg({ type, from: 'a', to: 'b', term: 2, index: 0, logTerm: 0, commit: 1 }));
      const ready = drain(b);
      const answers = [...ready.messages, ...ready.persistedMessages].filter((m) => m.to === 'a');
      expect(answers).toHaveLength(1);
      // The old sender may be leader again in term 4 by the time this arrives; an index here would
      // read as "my log matches yours up to it" (the bug of simulation seed 3001065).
      expect(answers[0]).toMatchObject({ type: MessageType.AppendResponse, term: 4, index: 0, reject: false });
    },
  );

  test('a leader that gets such an answer at its own term does not advance its commit through it', () => {
    const a = node('a', ABC, {}, { hardState: { term: 3, vote: 'a', commit: 1 }, entries: log(1, 2, 3), applied: 1 });
    a.campaign();
    drain(a);
    for (const from of ['b', 'c']) a.step(msg({ type: MessageType.PreVoteResponse, from, to: 'a', term: 4 }));
    drain(a);
    a.step(msg({ type: MessageType.VoteResponse, from: 'b', to: 'a', term: 4 }));
    drain(a);
    expect(a.isLeader()).toBe(true);
    const before = a.status().commit;
    a.step(msg({ type: MessageType.AppendResponse, from: 'b', to: 'a', term: 4, index: 0 }));
    drain(a);
    expect(a.status().commit).toBe(before);
  });
});
