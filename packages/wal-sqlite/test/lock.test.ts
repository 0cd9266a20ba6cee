import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SqliteWalErrorCode, type SqliteWal } from '../src/index.js';
import { fixture, removeDir, sqliteWal, tempDir } from './support.js';

let dir: string;
let path: string;
let holder: ChildProcessWithoutNullStreams | undefined;

beforeEach(async () => {
  dir = await tempDir();
  path = join(dir, 'wal.db');
});

afterEach(async () => {
  if (holder !== undefined && holder.exitCode === null && holder.signalCode === null) {
    holder.kill('SIGKILL');
    await once(holder, 'exit');
  }
  holder = undefined;
  await removeDir(dir);
});

/** Starts a process holding the log at `path` and waits until it says so. */
async function startHolder(): Promise<{ child: ChildProcessWithoutNullStreams; next: () => Promise<string> }> {
  const child = spawn(process.execPath, [fixture('lock-holder.mjs'), path]);
  holder = child;
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const line = await lines.next();
    if (line.done === true) throw new Error(`lock-holder ended without a line: ${stderr}`);
    return line.value;
  };
  expect(await next()).toBe('ready');
  return { child, next };
}

async function expectLocked(wal: SqliteWal): Promise<void> {
  await expect(wal.open()).rejects.toMatchObject({
    code: SqliteWalErrorCode.locked,
    message: expect.stringContaining(`the database at ${path} is in use by another process`),
  });
}

test('a second process cannot open a log that a live process holds; it can once the holder is killed', async () => {
  const { child } = await startHolder();
  const wal = sqliteWal(path);
  await expectLocked(wal);
  child.kill('SIGKILL');
  await once(child, 'exit');
  await wal.open();
  expect(await wal.lastIndex(1)).toBe(1);
  await wal.close();
});

test('the log opens once its holder closed it and exited', async () => {
  const { child, next } = await startHolder();
  await expectLocked(sqliteWal(path));
  child.stdin.write('close\n');
  expect(await next()).toBe('closed');
  await once(child, 'exit');
  const wal = sqliteWal(path);
  await wal.open();
  expect(await wal.readEntries(1, 1, 1)).toHaveLength(1);
  await wal.close();
});

test('a second SqliteWal in the same process cannot open a log the first holds', async () => {
  const first = sqliteWal(path);
  await first.open();
  const second = sqliteWal(path);
  await expectLocked(second);
  await first.close();
  await second.open();
  await second.close();
});
