import type { Entry } from './entry.js';
import type { LogBase } from './state.js';

const NO_ENTRIES: readonly Entry[] = Object.freeze([]);

/**
 * The in-memory log of one Raft group on one node.
 *
 * Entries live in a plain array with an offset (`entries[k].index === base + 1 + k`); `base` is the
 * index just below the first retained entry (0 for a log that starts at 1, higher once compacted).
 * Entries from `unstableFrom` on have not yet been handed to the runtime for persistence and
 * acknowledged; everything below is on stable storage.
 */
export class RaftLog {
  private entries: Entry[];
  private base: number;
  /** Term of the entry at `base`; `undefined` when the restored log began after a compaction that kept no term. */
  private baseTerm: number | undefined;
  private unstableFrom: number;
  /** Highest index known committed. */
  committed: number;
  /** Highest index handed to the application. */
  applied: number;

  /**
   * @param restored the retained entries from the WAL, contiguous and ascending (checked).
   * @param committed the persisted commit index.
   * @param applied the highest index the application already received.
   * @param base where the retained log begins (compaction or snapshot); default: just before the first entry, term unknown.
   */
  constructor(restored: readonly Entry[], committed: number, applied: number, base?: LogBase) {
    const first = restored[0];
    if (base !== undefined) {
      if (!Number.isSafeInteger(base.index) || base.index < 0 || !Number.isSafeInteger(base.term) || base.term < 0) {
        throw new Error(`RaftRestore.base must hold integers index ≥ 0 and term ≥ 0, got ${JSON.stringify(base)}`);
      }
      if (first !== undefined && first.index !== base.index + 1) {
        throw new Error(
          `RaftRestore.entries must start right after base ${base.index}, but the first entry is ${first.index}; the WAL lost entries or the base is wrong`,
        );
      }
    } else if (first === undefined && Math.max(committed, applied) > 0) {
      // Without entries the last term is unknown, and a node that cannot compare terms would vote for
      // candidates missing its committed entries (election restriction, Raft §5.4.1).
      throw new Error(
        `RaftRestore.entries is empty but commit/applied is ${Math.max(committed, applied)}: the term of the last compacted entry is unknown; ` +
          'restore from a log that keeps at least its last committed entry',
      );
    }
    if (base !== undefined) {
      this.base = base.index;
      this.baseTerm = base.term;
    } else {
      this.base = first === undefined ? 0 : first.index - 1;
      this.baseTerm = this.base === 0 ? 0 : undefined;
    }
    for (let k = 0; k < restored.length; k++) {
      const entry = restored[k] as Entry;
      if (entry.index !== this.base + 1 + k) {
        throw new Error(
          `RaftRestore.entries must be contiguous and ascending: position ${k} holds index ${entry.index}, expected ${this.base + 1 + k}; pass the WAL's entries in order without gaps`,
        );
      }
      if (k > 0 && entry.term < (restored[k - 1] as Entry).term) {
        throw new Error(
          `RaftRestore.entries terms must not decrease: index ${entry.index} has term ${entry.term} after term ${(restored[k - 1] as Entry).term}; the WAL is corrupt`,
        );
      }
    }
    this.entries = restored.slice();
    this.unstableFrom = this.lastIndex() + 1;
    // Entries at or below `base` were compacted, and only applied (hence committed) entries are compacted.
    this.committed = Math.max(committed, applied, this.base);
    this.applied = Math.max(applied, this.base);
    if (this.committed > this.lastIndex()) {
      throw new Error(
        `RaftRestore.hardState.commit (${committed}) or applied (${applied}) is beyond the last restored entry (${this.lastIndex()}): the WAL lost entries it had acknowledged`,
      );
    }
  }

  firstIndex(): number {
    return this.base + 1;
  }

  lastIndex(): number {
    return this.base + this.entries.length;
  }

  /** Term of the last entry (0 for an empty log whose compacted prefix left no term: such a log loses every election it could unsafely win). */
  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** Term of the entry at `index`, or `undefined` when it is not retained. */
  term(index: number): number | undefined {
    if (index === this.base) return this.baseTerm;
    if (index < this.base || index > this.base + this.entries.length) return undefined;
    return (this.entries[index - this.base - 1] as Entry).term;
  }

  /**
   * Whether this log holds an entry (`index`, `term`). The compacted base whose term was not kept
   * also matches: it is committed, and every leader's log holds the committed entries.
   */
  matchTerm(index: number, term: number): boolean {
    const own = this.term(index);
    return own === term || (own === undefined && index === this.base);
  }

  /** Raft's election restriction (§5.4.1): is a log ending at (`lastIndex`, `lastTerm`) at least as up to date as this one? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ownTerm = this.lastTerm();
    return lastTerm > ownTerm || (lastTerm === ownTerm && lastIndex >= this.lastIndex());
  }

  /** Appends one entry created by this node as leader; it must follow the last entry. */
  append(entry: Entry): void {
    if (entry.index !== this.lastIndex() + 1) {
      throw new Error(`RaftLog.append: entry index ${entry.index} does not follow the last index ${this.lastIndex()}`);
    }
    this.entries.push(entry);
  }

  /**
   * Follower side of Append: if the log matches at (`prevIndex`, `prevTerm`), removes the suffix that
   * conflicts with `incoming`, appends what is new, and raises the commit index to `commit` bounded by
   * the last entry the leader vouched for. Returns that last index, or -1 when the logs do not match.
   * Throws if a conflict reaches a committed entry: that would mean two different committed logs.
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, incoming: readonly Entry[]): number {
    if (!this.matchTerm(prevIndex, prevTerm)) return -1;
    const lastNew = prevIndex + incoming.length;
    const conflictAt = this.findConflict(incoming);
    if (conflictAt < incoming.length) {
      const index = (incoming[conflictAt] as Entry).index;
      if (index <= this.committed) {
        throw new Error(
          `Raft safety violated: entry ${index} conflicts with the committed prefix (commit ${this.committed}); two leaders disagree on committed entries`,
        );
      }
      this.truncateAndAppend(incoming, conflictAt);
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /** Position in `incoming` of the first entry this log lacks or holds with another term (`incoming.length` if none). */
  private findConflict(incoming: readonly Entry[]): number {
    for (let k = 0; k < incoming.length; k++) {
      const entry = incoming[k] as Entry;
      if (this.term(entry.index) !== entry.term) return k;
    }
    return incoming.length;
  }

  /** Writes `incoming[from..]` over this log; the WAL contract "writing at i removes stored entries ≥ i" mirrors this. */
  private truncateAndAppend(incoming: readonly Entry[], from: number): void {
    const index = (incoming[from] as Entry).index;
    const keep = index - this.base - 1;
    // Setting length is a slow runtime call even when nothing changes; appends at the end skip it.
    if (keep < this.entries.length) this.entries.length = keep;
    for (let k = from; k < incoming.length; k++) this.entries.push(incoming[k] as Entry);
    if (index < this.unstableFrom) this.unstableFrom = index;
  }

  /**
   * The highest index at or below `index` whose term is at most `term` — where a log ending in `term`
   * may still match this one. Lets an Append rejection skip a whole term of conflicting entries at
   * once instead of one entry per round trip.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    while (i > this.base) {
      if ((this.entries[i - this.base - 1] as Entry).term <= term) return i;
      i--;
    }
    return i;
  }

  /** Raises the commit index; throws if that passes the last entry (a peer claimed more than this log holds). */
  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) {
      throw new Error(`Raft invariant broken: commit index ${index} is beyond the last log index ${this.lastIndex()}`);
    }
    this.committed = index;
  }

  /** Records that entries through `index` were handed to the application. */
  appliedTo(index: number): void {
    if (index <= this.applied) return;
    if (index > this.committed) {
      throw new Error(`Raft invariant broken: applied index ${index} is beyond the commit index ${this.committed}`);
    }
    this.applied = index;
  }

  /**
   * Entries with `from ≤ index ≤ to`, at most `maxCount` of them and at most `maxBytes` payload bytes
   * (the first entry is always included so an oversized entry still travels). Clipped to the retained range.
   */
  slice(from: number, to: number, maxCount: number, maxBytes: number): readonly Entry[] {
    const lo = Math.max(from, this.base + 1) - this.base - 1;
    const hi = Math.min(to, this.lastIndex()) - this.base; // exclusive
    if (lo >= hi) return NO_ENTRIES;
    let end = Math.min(hi, lo + maxCount);
    if (maxBytes !== Number.POSITIVE_INFINITY) {
      let bytes = (this.entries[lo] as Entry).data.byteLength;
      for (let k = lo + 1; k < end; k++) {
        bytes += (this.entries[k] as Entry).data.byteLength;
        if (bytes > maxBytes) {
          end = k;
          break;
        }
      }
    }
    return this.entries.slice(lo, end);
  }

  hasUnstable(): boolean {
    return this.unstableFrom <= this.lastIndex();
  }

  /** Entries not yet acknowledged as persisted. */
  unstableEntries(): readonly Entry[] {
    if (this.unstableFrom > this.lastIndex()) return NO_ENTRIES;
    return this.entries.slice(this.unstableFrom - this.base - 1);
  }

  /** Highest index known to be on stable storage. */
  stableIndex(): number {
    return Math.min(this.unstableFrom - 1, this.lastIndex());
  }

  /**
   * The runtime persisted `written` (the entries of one Ready). If a new leader truncated the log while
   * the write was in progress, only the prefix that still matches counts as stable; the replacements are
   * unwritten and come out in the next Ready.
   */
  stableTo(written: readonly Entry[]): void {
    for (let k = written.length - 1; k >= 0; k--) {
      const entry = written[k] as Entry;
      if (this.term(entry.index) === entry.term) {
        if (entry.index >= this.unstableFrom) this.unstableFrom = entry.index + 1;
        return;
      }
    }
  }

  hasUnapplied(): boolean {
    return this.committed > this.applied;
  }

  /** Committed entries not yet handed to the application: (`applied`, `committed`]. */
  unappliedEntries(): readonly Entry[] {
    if (this.committed <= this.applied) return NO_ENTRIES;
    return this.entries.slice(this.applied - this.base, this.committed - this.base);
  }

  /** Where the retained log begins; `term` is 0 when a restore without a base left it unknown. */
  baseIndex(): number {
    return this.base;
  }

  /**
   * Replaces the whole log with a snapshot covering every entry through `index` (whose term was
   * `term`): the state the snapshot carries is committed and counts as applied.
   */
  restore(index: number, term: number): void {
    this.entries = [];
    this.base = index;
    this.baseTerm = term;
    this.unstableFrom = index + 1;
    this.committed = index;
    this.applied = index;
  }

  /** Drops entries through `index` from memory (they must be applied); the term of `index` is kept for Log Matching. */
  compact(index: number): void {
    if (index <= this.base) return;
    if (index > this.applied) {
      throw new Error(`RaftLog.compact: index ${index} is beyond the applied index ${this.applied}; compact only applied entries`);
    }
    this.baseTerm = this.term(index);
    this.entries = this.entries.slice(index - this.base);
    this.base = index;
    if (this.unstableFrom <= index) this.unstableFrom = index + 1;
  }
}
