/** How many voters form a majority of `voterCount`. */
export function majority(voterCount: number): number {
  return (voterCount >> 1) + 1;
}

/**
 * The highest log index that a majority of voters hold: the leader's commit candidate.
 *
 * `matches` holds one match index per voter and is sorted in place (descending). Groups have few voters,
 * so an insertion sort on a reused array beats allocating and calling `Array.prototype.sort`.
 */
export function quorumIndex(matches: number[]): number {
  const n = matches.length;
  if (n === 0) return 0;
  for (let i = 1; i < n; i++) {
    const value = matches[i] as number;
    let j = i - 1;
    while (j >= 0 && (matches[j] as number) < value) {
      matches[j + 1] = matches[j] as number;
      j--;
    }
    matches[j + 1] = value;
  }
  return matches[majority(n) - 1] as number;
}

/** Where an election stands. */
export type VoteOutcome = 'won' | 'lost' | 'pending';

/** Tallies an election among `voterCount` voters: won once a majority granted, lost once a majority is out of reach. */
export function voteOutcome(granted: number, rejected: number, voterCount: number): VoteOutcome {
  const needed = majority(voterCount);
  if (granted >= needed) return 'won';
  if (voterCount - rejected < needed) return 'lost';
  return 'pending';
}
