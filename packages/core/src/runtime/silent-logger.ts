import type { LogFn, Logger } from '../ports/logger.js';

const drop: LogFn = () => {};

/** A {@link Logger} that drops everything; the default when no logger is given. Its children are itself. */
export const silentLogger: Logger = Object.freeze({
  trace: drop,
  debug: drop,
  info: drop,
  warn: drop,
  error: drop,
  fatal: drop,
  child: (): Logger => silentLogger,
});
