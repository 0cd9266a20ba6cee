/**
 * Argument checks for the public API. Bad input is a programmer error: it throws at once with a message
 * naming the argument and what is expected, before anything is queued or written.
 */

/** The error thrown for invalid arguments; `code` is stable for programmatic checks. */
export class InvalidArgumentError extends TypeError {
  readonly code = 'ERR_KOMMANDER_INVALID_ARGUMENT';
  constructor(
    readonly argument: string,
    message: string,
  ) {
    super(`${argument} ${message}`);
    this.name = 'InvalidArgumentError';
  }
}

export function invalid(argument: string, message: string): never {
  throw new InvalidArgumentError(argument, message);
}

export function checkNodeId(argument: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) invalid(argument, `must be a non-empty string (a node id), got ${describe(value)}`);
  return value;
}

export function checkPositiveInteger(argument: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    invalid(argument, `must be an integer from 1 to ${max}, got ${describe(value)}`);
  }
  return value;
}

export function checkBoolean(argument: string, value: unknown): boolean {
  if (typeof value !== 'boolean') invalid(argument, `must be true or false, got ${describe(value)}`);
  return value;
}

/** Timeouts in milliseconds: finite and not negative. */
export function checkTimeout(argument: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    invalid(argument, `must be a finite number of milliseconds ≥ 0, got ${describe(value)}`);
  }
  return value;
}

export function checkType(type: unknown): string {
  if (typeof type !== 'string' || type.length === 0) invalid('type', `must be a non-empty string naming the log type, got ${describe(type)}`);
  return type;
}

/** One payload or a non-empty list of payloads, all Uint8Array (a Node Buffer is one). */
export function checkData(data: unknown): readonly Uint8Array[] {
  if (data instanceof Uint8Array) return [data];
  if (!Array.isArray(data)) invalid('data', `must be a Uint8Array or an array of Uint8Array, got ${describe(data)}`);
  if (data.length === 0) invalid('data', 'must hold at least one entry (got an empty array)');
  for (let i = 0; i < data.length; i++) {
    if (!(data[i] instanceof Uint8Array)) invalid(`data[${i}]`, `must be a Uint8Array, got ${describe(data[i])}`);
  }
  return data as readonly Uint8Array[];
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'Object'})`;
  return `${typeof value} ${String(value)}`;
}
