/**
 * Three OS processes (apps/cluster-node, built) on loopback, over gRPC and over REST, each on a durable WAL:
 * elect, replicate, SIGKILL the leader of a partition, a new leader takes over and writes continue, the
 * killed node restarts on its data directory, replays exactly what it had applied, and catches up, and
 * every node ends with the same applied sequence on every partition. The REST run has the nodes skip the
 * commit index's own fsync (`--no-sync-commit`): a killed process must still replay everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../../bench/src/harness.js';
import { eventually } from './eventually.js';

jest.setTimeout(120_000);

const MAIN = resolve(process.cwd(), 'apps/cluster-node/dist/main.js');
const PARTITIONS = 3;

interface Proc {
  readonly id: string;
  readonly httpPort: number;
  child: ChildProcess | null;
}


/** Starts one node process; resolves once it printed its ready line, rejects if it exits first. */
function start(p: Proc, args: readonly string[]): Promise<void> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  p.child = child;
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((done, fail) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.includes('"event":"ready"')) done();
    });
    child.once('exit', (code, signal) => fail(new Error(`${p.id} exited (${code ?? signal}) before it was ready: ${stderr}`)));
  });
}

function kill(p: Proc): Promise<void> {
  const child = p.child;
  p.child = null;
  if (child === null || child.exitCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.once('exit', () => done());
    child.kill('SIGKILL');
  });
}

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(3_000) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function scenario(transport: 'grpc' | 'rest', wal: 'sqlite' | 'rocksdb', extra: readonly string[] = []): void {
  test(`${transport} on ${wal}${extra.length > 0 ? ` (${extra.join(' ')})` : ''}: leader killed with SIGKILL, writes continue, the node restarts, replays what it applied and catches up`, async () => {
    const root = mkdtempSync(join(tmpdir(), `kommander-mp-${transport}-`));
    const procs: Proc[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const raftPort = await freePort();
        const httpPort = transport === 'rest' ? raftPort : await freePort();
        procs.push({ id: `127.0.0.1:${raftPort}`, httpPort, child: null });
      }
      const peers = procs.map((p) => p.id).join(',');
      const args = (p: Proc): string[] => [
        '--id', p.id, '--peers', peers, '--transport', transport, '--wal', wal, '--data', join(root, p.id.replace(':', '_')),
        '--partitions', String(PARTITIONS), '--http-port', String(p.httpPort), '--tick-ms', '20', ...extra,
      ];
      await Promise.all(procs.map((p) => start(p, args(p))));
      const byId = new Map(procs.map((p) => [p.id, p]));
      const live = (): Proc[] => procs.filter((p) => p.child !== null);

      /** Writes key=value through whichever live node leads the key's partition. */
      const put = (key: string, value: string): Promise<number> =>
        eventually(`the write ${key}=${value}`, async () => {
          for (const p of live()) {
            const r = await json(`http://127.0.0.1:${p.httpPort}/kv/${key}`, {
              method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value }),
            }).catch(() => undefined);
            if (r?.status === 200) return r.body.partition as number;
          }
          return undefined;
        });

      const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
      for (const k of keys) await put(k, 'v1');
      const applied = async (p: Proc): Promise<Array<{ sequence: string[]; restored: number }>> => {
        const parts: Array<{ sequence: string[]; restored: number }> = [];
        for (let q = 1; q <= PARTITIONS; q++) parts.push((await json(`http://127.0.0.1:${p.httpPort}/applied/${q}`)).body as { sequence: string[]; restored: number });
        return parts;
      };
      const sequences = async (p: Proc): Promise<string> => (await applied(p)).map((a) => JSON.stringify(a.sequence)).join('|');

      // The leader of the first key's partition is killed, once every node has applied every write.
      const partition = await put(keys[0]!, 'v2');
      await eventually('every node applied the v2 write', async () => {
        const all = await Promise.all(procs.map(sequences));
        return all.every((s) => s === all[0]) && all[0]!.includes('=v2') ? true : undefined;
      });
      const status = await json(`http://127.0.0.1:${procs[0]!.httpPort}/v1/raft/partitions/${partition}/leader`);
      const leaderId = String(status.body.leader);
      const victim = byId.get(leaderId);
      expect(victim).toBeDefined();
      const beforeKill = await applied(victim!);
      await kill(victim!);

      // A new leader takes over and writes go on, to every partition.
      for (const k of keys) await put(k, 'v3');
      const newLeader = await eventually('a new leader', async () => {
        const r = await json(`http://127.0.0.1:${live()[0]!.httpPort}/v1/raft/partitions/${partition}/leader`);
        const leader = String(r.body.leader ?? '');
        return leader !== '' && leader !== leaderId ? leader : undefined;
      });
      expect(newLeader).not.toBe(leaderId);

      // The killed node restarts on its data directory: its WAL replay hands back exactly what it had
      // applied (on every partition: the one it led and the ones it followed), then it catches up.
      await start(victim!, args(victim!));
      const afterRestart = await applied(victim!);
      for (let q = 0; q < PARTITIONS; q++) {
        expect(afterRestart[q]!.restored).toBe(beforeKill[q]!.sequence.length);
        expect(afterRestart[q]!.sequence.slice(0, beforeKill[q]!.sequence.length)).toEqual(beforeKill[q]!.sequence);
      }
      expect(beforeKill.reduce((n, a) => n + a.sequence.length, 0)).toBeGreaterThanOrEqual(keys.length + 1);
      for (const k of keys) await put(k, 'v4');
      await eventually('identical applied sequences on all three nodes', async () => {
        const all = await Promise.all(procs.map(sequences));
        return all.every((s) => s === all[0]) && all[0]!.includes('=v4') ? true : undefined;
      });
      const final = await Promise.all(procs.map(sequences));
      expect(final[1]).toBe(final[0]);
      expect(final[2]).toBe(final[0]);
      // Every key's last value is v4 everywhere.
      for (const p of procs) {
        for (const k of keys) expect((await json(`http://127.0.0.1:${p.httpPort}/kv/${k}`)).body.value).toBe('v4');
      }
    } finally {
      await Promise.all(procs.map(kill));
      rmSync(root, { recursive: true, force: true });
    }
  });
}

scenario('grpc', 'rocksdb');
scenario('rest', 'sqlite', ['--no-sync-commit']);
