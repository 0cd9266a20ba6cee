import { RocksDbWal } from '../src/index.js';
import { WalChild } from './child.js';
import { removeDir, tempDir } from './damage.js';

async function heldByChild(path: string): Promise<WalChild> {
  const child = new WalChild(['hold', path]);
  await child.waitUntil(() => child.lines.includes('ready'));
  return child;
}

async function expectInUse(path: string): Promise<void> {
  const wal = new RocksDbWal({ path });
  await expect(wal.open()).rejects.toThrow(/in use by another process/);
  await expect(wal.open()).rejects.toThrow(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*Stop that process, or give this node its own path`));
  await expect(wal.lastIndex(1)).rejects.toThrow(/closed; call \(and await\) open\(\) first/);
}

test('a second process cannot open a log that a live process holds; after a SIGKILL of the holder it can', async () => {
  const path = tempDir();
  try {
    const child = await heldByChild(path);
    await expectInUse(path);
    await child.kill();
    const wal = new RocksDbWal({ path });
    await wal.open();
    await wal.append({ writes: [{ partition: 1, entries: [], hardState: { term: 1, vote: '', commit: 0 } }], sync: true });
    await wal.close();
  } finally {
    removeDir(path);
  }
});

test('after the holding process closes the log and exits, another can open it', async () => {
  const path = tempDir();
  try {
    const child = await heldByChild(path);
    await expectInUse(path);
    expect(await child.finish()).toEqual({ code: 0, signal: null });
    const wal = new RocksDbWal({ path });
    await wal.open();
    await wal.close();
  } finally {
    removeDir(path);
  }
});

test('a second instance in the same process is refused with its own message', async () => {
  const path = tempDir();
  const first = new RocksDbWal({ path });
  try {
    await first.open();
    await expect(new RocksDbWal({ path }).open()).rejects.toThrow(/already open in this process .*close that instance first/);
    await expect(first.open()).rejects.toThrow(/already open on .*close it before opening it again/);
    await first.append({ writes: [{ partition: 1, entries: [], hardState: { term: 2, vote: 'a', commit: 0 } }], sync: true });
    expect(await first.readHardState(1)).toEqual({ term: 2, vote: 'a', commit: 0 });
  } finally {
    await first.close();
    removeDir(path);
  }
});
