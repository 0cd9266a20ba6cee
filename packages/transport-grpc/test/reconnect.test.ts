import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { MessageType, type Message } from '@kommander/core';
import { GrpcTransport } from '../src/index.js';
import { waitFor } from './support.js';

jest.setTimeout(20_000);

const fixture = path.join(__dirname, 'fixtures/echo-peer.mjs');

/** Starts the echo peer in a child process; resolves with the process and the address it listens on. */
function startPeer(port: number, addressOfA: string): Promise<{ child: ChildProcess; address: string }> {
  if (!existsSync(path.join(__dirname, '../dist/index.js'))) throw new Error('build the package first: turbo run build');
  const child = spawn(process.execPath, [fixture, String(port), addressOfA], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /ready (\S+)\n/.exec(out);
      if (match !== null) resolve({ child, address: match[1] as string });
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`the peer exited with ${String(code)} before it was ready: ${err}`)));
  });
}

function ping(index: number): Message {
  return { type: MessageType.Heartbeat, partition: 1, from: 'a', to: 'b', term: 1, logTerm: 0, index, entries: [], commit: 0, reject: false, rejectHint: 0, context: 0 };
}

test('after the peer process is killed (SIGKILL) and restarted on its port, the link reconnects with backoff', async () => {
  const echoes: Message[] = [];
  const wakers: Array<() => void> = [];
  let peerAddress = '';
  const a = new GrpcTransport({ node: 'a', port: 0, members: () => ['a', 'b'], resolve: () => peerAddress, reconnectMinMs: 20, reconnectMaxMs: 400 });
  await a.start((batch) => {
    echoes.push(...batch);
    for (const wake of wakers) wake();
  });
  let peer = await startPeer(0, a.address());
  peerAddress = peer.address;
  const port = Number(peerAddress.split(':').pop());
  const resendUntilEcho = async (index: number): Promise<void> => {
    a.send('b', [ping(index)]);
    const timer = setInterval(() => a.send('b', [ping(index)]), 25);
    try {
      await waitFor(`the echo of ${index}`, (wake) => wakers.push(wake), () => echoes.some((m) => m.index === index), 10_000);
    } finally {
      clearInterval(timer);
    }
  };
  try {
    await resendUntilEcho(1);
    expect(a.stats().connections).toBe(1);

    const exited = new Promise((resolve) => peer.child.once('exit', resolve));
    peer.child.kill('SIGKILL');
    await exited;
    // Sends to the dead peer must neither throw nor block: they go into the dying stream or are dropped while the link backs off.
    for (let i = 0; i < 100; i++) expect(() => a.send('b', [ping(1000 + i)])).not.toThrow();

    peer = await startPeer(port, a.address());
    const restartedAt = performance.now();
    await resendUntilEcho(2);
    const reconnectMs = performance.now() - restartedAt;
    console.log(`reconnected ${reconnectMs.toFixed(0)} ms after the peer process restarted; stats ${JSON.stringify(a.stats())}`);
    expect(a.stats().connections).toBe(2);
    expect(a.stats().connectFailures).toBeGreaterThanOrEqual(1);
    expect(reconnectMs).toBeLessThan(400 + 2000);
  } finally {
    peer.child.kill('SIGKILL');
    await a.stop();
  }
});
