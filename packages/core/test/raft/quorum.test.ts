import { majority, quorumIndex, voteOutcome } from '../../src/raft/quorum.js';

describe('majority', () => {
  it.each([
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
    [7, 4],
  ])('of %i voters is %i', (voters, expected) => {
    expect(majority(voters)).toBe(expected);
  });
});

describe('quorumIndex', () => {
  it.each([
    [[5], 5],
    [[5, 3], 3],
    [[1, 2, 3], 2],
    [[3, 3, 1], 3],
    [[9, 0, 0, 7, 8], 7],
    [[4, 4, 4, 1], 4],
    [[0, 0, 0, 0, 9], 0],
    [[], 0],
  ])('of match indexes %j is %i', (matches, expected) => {
    expect(quorumIndex(matches.slice())).toBe(expected);
  });
});

describe('voteOutcome', () => {
  it.each([
    [1, 0, 1, 'won'],
    [1, 0, 3, 'pending'],
    [2, 0, 3, 'won'],
    [1, 1, 3, 'pending'],
    [1, 2, 3, 'lost'],
    [2, 2, 4, 'lost'],
    [2, 1, 4, 'pending'],
    [3, 2, 5, 'won'],
  ] as const)('%i granted, %i rejected of %i voters: %s', (granted, rejected, voters, expected) => {
    expect(voteOutcome(granted, rejected, voters)).toBe(expected);
  });
});
