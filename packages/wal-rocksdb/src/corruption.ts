/**
 * Stored data failed its checksum or does not fit together. Reads and `open` throw it; `partition` and
 * `index` say where when the damage lies in a partition's log (the message names them too).
 */
export class WalCorruptionError extends Error {
  readonly code = 'ERR_KOMMANDER_WAL_CORRUPT';
  constructor(
    message: string,
    readonly partition?: number,
    readonly index?: number,
  ) {
    super(message);
    this.name = 'WalCorruptionError';
  }
}

/** What an operator can do about a corrupt log; appended to every corruption message. */
export const CORRUPTION_ADVICE =
  'The log cannot be trusted from there on: move the directory aside and let this node catch up from its peers ' +
  '(it rejoins empty), or restore it from a backup.';
