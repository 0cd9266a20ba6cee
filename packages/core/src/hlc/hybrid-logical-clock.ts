import { isHLCTimestamp } from './timestamp-order.js';
import type { HLCTimestamp } from './timestamp.js';

/**
 * A hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014): timestamps that follow wall time
 * when it moves forward, never go backwards when it does not, and order every event after any remote event it
 * has seen. Kommander stamps proposals with it; the stamp is the ticket of `autoCommit: false` proposals.
 *
 * The clock keeps only the last timestamp it issued; feed it the newest persisted timestamp with `receive`
 * after a restart so that it never issues an older one.
 */
export class HybridLogicalClock {
  readonly #wallClock: () => number;
  // The last timestamp issued; starts at HLC_ZERO so the first one issued is newer than HLC_ZERO.
  #physical = 0;
  #counter = 0;

  /**
   * @param wallClock - Returns wall-clock milliseconds since the Unix epoch, for example `() => clock.now()`
   *   with the runtime's `Clock` (so the simulator's virtual time drives it). Fractions are truncated. It may
   *   stall or go backwards; the timestamps issued stay strictly increasing.
   */
  constructor(wallClock: () => number) {
    if (typeof wallClock !== 'function') {
      throw new TypeError(
        `HybridLogicalClock: wallClock must be a function returning milliseconds, got ${typeof wallClock}.`,
      );
    }
    this.#wallClock = wallClock;
  }

  /**
   * A timestamp for a local event (for example a proposal): newer than every timestamp this clock issued
   * before, and at least the current wall time.
   *
   * @throws Error if the wall clock returns something other than non-negative milliseconds.
   * @throws RangeError if the logical counter would pass 2^53 - 1 (wall time stalled for that many events).
   */
  now(): HLCTimestamp {
    const wall = this.#readWall();
    if (wall > this.#physical) {
      this.#physical = wall;
      this.#counter = 0;
    } else {
      this.#counter = this.#increment(this.#counter, this.#physical);
    }
    return { physical: this.#physical, counter: this.#counter };
  }

  /**
   * Merges a timestamp received from another node and returns the timestamp of the receive event: newer than
   * both `remote` and every timestamp this clock issued before. Later `now()` calls stay newer than `remote`.
   *
   * @throws TypeError if `remote` is not a well-formed HLC timestamp.
   * @throws Error if the wall clock returns something other than non-negative milliseconds.
   * @throws RangeError if the logical counter would pass 2^53 - 1.
   */
  receive(remote: HLCTimestamp): HLCTimestamp {
    if (!isHLCTimestamp(remote)) {
      throw new TypeError(
        'HybridLogicalClock.receive: remote must be an HLC timestamp with non-negative safe-integer physical and ' +
          `counter, got ${describeTimestamp(remote)}.`,
      );
    }
    const wall = this.#readWall();
    const local = this.#physical;
    const physical = Math.max(wall, local, remote.physical);
    let counter: number;
    if (physical === local && physical === remote.physical) {
      counter = this.#increment(Math.max(this.#counter, remote.counter), physical);
    } else if (physical === local) {
      counter = this.#increment(this.#counter, physical);
    } else if (physical === remote.physical) {
      counter = this.#increment(remote.counter, physical);
    } else {
      counter = 0;
    }
    this.#physical = physical;
    this.#counter = counter;
    return { physical, counter };
  }

  #readWall(): number {
    const wall = this.#wallClock();
    const millis = typeof wall === 'number' ? Math.trunc(wall) : Number.NaN;
    if (!Number.isSafeInteger(millis) || millis < 0) {
      throw new Error(
        `HybridLogicalClock: the wall clock returned ${String(wall)}; it must return non-negative milliseconds ` +
          'since the Unix epoch (a finite number below 2^53).',
      );
    }
    return millis;
  }

  #increment(counter: number, physical: number): number {
    if (counter >= Number.MAX_SAFE_INTEGER) {
      throw new RangeError(
        `HybridLogicalClock: the logical counter at physical time ${physical} cannot pass ` +
          `${Number.MAX_SAFE_INTEGER}; a remote timestamp with such a counter is corrupt.`,
      );
    }
    return counter + 1;
  }
}

function describeTimestamp(value: unknown): string {
  try {
    const shown = typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
    return shown.length > 80 ? `${shown.slice(0, 80)}…` : shown;
  } catch {
    return Object.prototype.toString.call(value);
  }
}
