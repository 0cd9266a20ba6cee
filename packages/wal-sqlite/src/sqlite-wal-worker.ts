/**
 * The worker thread of a {@link SqliteWal}: it owns the SQLite connection, so that better-sqlite3's
 * synchronous calls (and their fsyncs) never stall the main thread's event loop. It serves requests one
 * at a time, in the order they arrive, and answers each with one reply.
 */
import { parentPort } from 'node:worker_threads';
import { InvalidArgumentError } from '@kommander/core';
import { decodeBatch } from './codec/batch-decoder.js';
import { SqliteWalError, SqliteWalErrorCode } from './errors.js';
import type { ErrorReply, Reply, Request } from './protocol.js';
import { LogStore } from './store/log-store.js';

const port = parentPort;
if (port === null) throw new Error('sqlite-wal-worker.js is the worker thread of SqliteWal; it is not a program to run');

let store: LogStore | undefined;
let path = '';

port.on('message', (request: Request) => {
  let reply: Reply;
  let transfer: ArrayBuffer[] = [];
  try {
    const value = serve(request);
    if (request.op === 'readEntries') transfer = [(value as { buffer: ArrayBuffer }).buffer];
    reply = { id: request.id, ok: true, value };
  } catch (error) {
    reply = { id: request.id, ok: false, error: describe(error) };
  }
  port.postMessage(reply, transfer);
});

function serve(request: Request): unknown {
  if (request.op === 'open') {
    path = request.settings.path;
    const opened = LogStore.open(request.settings);
    store = opened.store;
    return opened.cuts;
  }
  const log = store;
  if (log === undefined) throw new SqliteWalError(SqliteWalErrorCode.notOpen, `SqliteWal.${request.op}: the log ${path} is not open`);
  switch (request.op) {
    case 'append':
      return log.append(decodeBatch(request.buffer, request.byteLength), request.sync);
    case 'readEntries':
      return log.readEntries(request.partition, request.from, request.to);
    case 'readHardState':
      return log.readHardState(request.partition);
    case 'firstIndex':
      return log.firstIndex(request.partition);
    case 'lastIndex':
      return log.lastIndex(request.partition);
    case 'logBase':
      return log.logBase(request.partition);
    case 'term':
      return log.term(request.partition, request.index);
    case 'compact':
      return log.compact(request.partition, request.through);
    case 'partitions':
      return log.partitions();
    case 'getMeta':
      return log.getMeta(request.key);
    case 'setMeta':
      return log.setMeta(request.key, request.value);
    case 'close':
      store = undefined;
      return log.close();
  }
}

function describe(error: unknown): ErrorReply {
  if (error instanceof SqliteWalError) {
    return { kind: 'wal', code: error.code, message: error.message, partition: error.partition, index: error.index };
  }
  if (error instanceof InvalidArgumentError) {
    return { kind: 'argument', argument: error.argument, message: error.message.slice(error.argument.length + 1) };
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) {
    return {
      kind: 'wal',
      code: SqliteWalErrorCode.storage,
      message: `SqliteWal: SQLite failed on ${path} (${code}): ${(error as Error).message}`,
      partition: undefined,
      index: undefined,
    };
  }
  return { kind: 'other', message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? error.stack : undefined };
}
