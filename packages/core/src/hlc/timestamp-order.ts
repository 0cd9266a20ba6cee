import type { HLCTimestamp } from './timestamp.js';

// Canonical decimal integers only (no sign, no leading zeros, no exponent), so that every ticket has exactly
// one spelling and `formatTicket(parseTicket(s)) === s`.
const TICKET_PATTERN = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/;

/**
 * Whether `value` is a well-formed HLC timestamp: an object whose `physical` and `counter` are non-negative
 * safe integers. Extra properties are allowed.
 */
export function isHLCTimestamp(value: unknown): value is HLCTimestamp {
  if (typeof value !== 'object' || value === null) return false;
  const { physical, counter } = value as { physical?: unknown; counter?: unknown };
  return isCount(physical) && isCount(counter);
}

/**
 * Orders two timestamps: by physical time, then by counter.
 *
 * @returns A negative number if `a` is older than `b`, 0 if they are equal, a positive number if newer
 *   (usable directly as an `Array.prototype.sort` comparator).
 */
export function compareHLC(a: HLCTimestamp, b: HLCTimestamp): number {
  if (a.physical !== b.physical) return a.physical < b.physical ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return 0;
}

/** Whether two timestamps denote the same instant (same physical time and counter). */
export function hlcEquals(a: HLCTimestamp, b: HLCTimestamp): boolean {
  return a.physical === b.physical && a.counter === b.counter;
}

/**
 * The ticket text of a timestamp, `"<physical>.<counter>"` (for example `"1718000000000.3"`), as used in
 * URLs and logs. `parseTicket` reverses it exactly.
 *
 * @throws TypeError if `timestamp` is not a well-formed HLC timestamp.
 */
export function formatTicket(timestamp: HLCTimestamp): string {
  if (!isHLCTimestamp(timestamp)) {
    throw new TypeError(
      'formatTicket: expected an HLC timestamp with non-negative safe-integer physical and counter, ' +
        `got ${describe(timestamp)}.`,
    );
  }
  return `${timestamp.physical}.${timestamp.counter}`;
}

/**
 * Parses ticket text produced by `formatTicket`. Strict: exactly two canonical decimal integers joined by a
 * dot, each a safe integer; whitespace, signs, leading zeros and exponents are rejected.
 *
 * @throws TypeError if `text` is not a string.
 * @throws SyntaxError if `text` is not a ticket (the message quotes it and shows the expected form).
 */
export function parseTicket(text: string): HLCTimestamp {
  if (typeof text !== 'string') {
    throw new TypeError(
      `parseTicket: expected ticket text such as "1718000000000.3", got ${describe(text)}.`,
    );
  }
  const match = TICKET_PATTERN.exec(text);
  const physical = match ? Number(match[1]) : Number.NaN;
  const counter = match ? Number(match[2]) : Number.NaN;
  if (!Number.isSafeInteger(physical) || !Number.isSafeInteger(counter)) {
    throw new SyntaxError(
      `parseTicket: ${describe(text)} is not an HLC ticket; expected "<physical>.<counter>", ` +
        `two non-negative decimal integers of at most ${Number.MAX_SAFE_INTEGER} without leading zeros ` +
        '(for example "1718000000000.3").',
    );
  }
  return { physical, counter };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Shows a bad argument in an error message, shortened so it cannot flood a log line. */
function describe(value: unknown): string {
  let shown: string;
  if (typeof value === 'string') {
    shown = JSON.stringify(value);
  } else if (typeof value === 'object' && value !== null) {
    try {
      shown = JSON.stringify(value) ?? Object.prototype.toString.call(value);
    } catch {
      shown = Object.prototype.toString.call(value);
    }
  } else {
    shown = String(value);
  }
  return shown.length > 80 ? `${shown.slice(0, 80)}…` : shown;
}
