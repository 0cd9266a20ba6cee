import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, portBlock } from '../src/harness.js';

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const close = (server: Server): Promise<void> => new Promise((done) => server.close(() => done()));

describe('portBlock', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kommander-ports-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const range = (text: string): string => {
    const file = join(dir, `range-${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, text);
    return file;
  };

  test('is the 12,000 ports just below the ephemeral range', () => {
    expect(portBlock(range('32768\t60999\n'))).toEqual({ low: 20_767, high: 32_767 });
  });

  test('stops at port 10,000 when the ephemeral range starts low', () => {
    expect(portBlock(range('15000 60999\n'))).toEqual({ low: 10_000, high: 14_999 });
  });

  test('is undefined when the range leaves fewer than 1,000 ports, cannot be read, or is not a number', () => {
    expect(portBlock(range('10500 60999\n'))).toBeUndefined();
    expect(portBlock(join(dir, 'missing'))).toBeUndefined();
    expect(portBlock(range('not a range\n'))).toBeUndefined();
  });
});

describe('freePort', () => {
  const block = portBlock();
  const inBlock = (port: number): boolean => block === undefined ? port > 0 : port >= block.low && port <= block.high;

  test('hands out ports from below the ephemeral range that the caller can listen on, each once', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 20; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(20);
    for (const port of ports) expect(inBlock(port)).toBe(true);
    const servers = await Promise.all(ports.map(listen));
    await Promise.all(servers.map(close));
  });

  test('skips ports another listener holds', async () => {
    const first = await freePort();
    const next = (p: number): number => (block !== undefined && p >= block.high ? block.low : p + 1);
    const held = [next(first), next(next(first))];
    const servers = await Promise.all(held.map((p) => listen(p).catch(() => undefined)));
    try {
      const port = await freePort();
      expect(held).not.toContain(port);
      expect(inBlock(port)).toBe(true);
    } finally {
      await Promise.all(servers.map((s) => (s === undefined ? undefined : close(s))));
    }
  });
});
