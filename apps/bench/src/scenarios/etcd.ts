import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort, LatencyLog, round, type BenchResult, type Scenario } from '../harness.js';

const MEMBERS = ['etcd-a', 'etcd-b', 'etcd-c'];
const PAYLOAD = 16;
const WARMUP_MS = 500;
const STARTUP_TIMEOUT_MS = 30_000;
/** Keys cycle through this many names, so the store stays small however long the run is. */
const KEYSPACE = 1 << 16;

/** The `etcd` binary on PATH, or undefined: the benchmark never installs it. */
function findEtcd(): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'etcd');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}


interface Member {
  readonly name: string;
  readonly clientUrl: string;
  readonly process: ChildProcess;
  /** The last lines etcd wrote, for error messages. */
  readonly log: string[];
}

/** Starts a fresh 3-member etcd cluster on loopback; default flags, so every member fsyncs its WAL. */
async function startCluster(binary: string, root: string): Promise<Member[]> {
  const ports: number[] = [];
  for (let i = 0; i < MEMBERS.length * 2; i++) ports.push(await freePort());
  const peerUrl = (i: number): string => `http://127.0.0.1:${ports[2 * i + 1]!}`;
  const initialCluster = MEMBERS.map((name, i) => `${name}=${peerUrl(i)}`).join(',');
  return MEMBERS.map((name, i) => {
    const clientUrl = `http://127.0.0.1:${ports[2 * i]!}`;
    const child = spawn(
      binary,
      [
        `--name=${name}`,
        `--data-dir=${join(root, name)}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl(i)}`,
        `--initial-advertise-peer-urls=${peerUrl(i)}`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-token=kommander-bench',
        '--initial-cluster-state=new',
        '--logger=zap',
        '--log-level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const log: string[] = [];
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      log.push(...chunk.split('\n').filter((line) => line !== ''));
      if (log.length > 20) log.splice(0, log.length - 20);
    });
    child.on('error', (error) => log.push(`spawn error: ${error.message}`));
    return { name, clientUrl, process: child, log };
  });
}

/** SIGTERM, then SIGKILL after 3 s; resolves when every member has exited. */
async function stopCluster(members: readonly Member[]): Promise<void> {
  await Promise.all(
    members.map(
      (m) =>
        new Promise<void>((resolve) => {
          const child = m.process;
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

interface HttpReply {
  status: number;
  body: string;
}

/** One request on the keep-alive agent; resolves with the status and the whole body as text. */
function httpCall(agent: Agent, url: string, body?: string): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = request(url, { method: body === undefined ? 'GET' : 'POST', agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function post(agent: Agent, url: string, body: string): Promise<HttpReply> {
  return httpCall(agent, url, body);
}

function get(agent: Agent, url: string): Promise<HttpReply> {
  return httpCall(agent, url);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls every member's `/health` (every 100 ms) until all report healthy, then asks each member for its
 * status and returns the client URL of the member that is the leader.
 */
async function waitForLeader(agent: Agent, members: readonly Member[]): Promise<string> {
  const deadline = performance.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    const exited = members.find((m) => m.process.exitCode !== null || m.process.signalCode !== null);
    if (exited !== undefined) throw new Error(`etcd member ${exited.name} exited during startup:\n${exited.log.join('\n')}`);
    try {
      const health = await Promise.all(members.map((m) => get(agent, `${m.clientUrl}/health`)));
      if (health.every((h) => h.status === 200 && (JSON.parse(h.body) as { health?: string }).health === 'true')) {
        for (const m of members) {
          const reply = await post(agent, `${m.clientUrl}/v3/maintenance/status`, '{}');
          const status = JSON.parse(reply.body) as { header?: { member_id?: string }; leader?: string };
          if (reply.status === 200 && status.leader !== undefined && status.leader === status.header?.member_id) return m.clientUrl;
        }
      }
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      throw new Error(`etcd cluster not healthy after ${STARTUP_TIMEOUT_MS} ms:\n${members.map((m) => `${m.name}: ${m.log.join('\n')}`).join('\n')}`);
    }
    await sleep(100);
  }
}


function scenario(binary: string, inflight: number): Scenario {
  const name = `etcd-i${inflight}`;
  return {
    name,
    async run({ seconds }): Promise<BenchResult> {
      const root = mkdtempSync(join(tmpdir(), 'kommander-bench-etcd-'));
      const agent = new Agent({ keepAlive: true, maxSockets: inflight, maxFreeSockets: inflight });
      let members: Member[] = [];
      // If the process exits before `finally` runs (e.g. process.exit from elsewhere), still kill the members.
      const killOnExit = (): void => {
        for (const m of members) m.process.kill('SIGKILL');
      };
      process.once('exit', killOnExit);
      try {
        members = await startCluster(binary, root);
        // All puts go to the leader: a follower only forwards a proposal to the leader (an extra hop), and
        // Kommander's runLoad also proposes at each partition's leader, so this is the like-for-like case.
        const leader = `${await waitForLeader(agent, members)}/v3/kv/put`;
        const value = Buffer.alloc(PAYLOAD, 7).toString('base64');

        const start = performance.now();
        const measureFrom = start + WARMUP_MS;
        const end = measureFrom + seconds * 1000;
        const latencies = new LatencyLog();
        let failures = 0;
        let lastFailure = '';
        let next = 0;
        let aborted = false;

        async function client(): Promise<void> {
          for (;;) {
            const t0 = performance.now();
            if (t0 >= end || aborted) return;
            const key = Buffer.from(`bench/${(next++ % KEYSPACE).toString(16).padStart(4, '0')}`).toString('base64');
            let ok = false;
            try {
              const reply = await post(agent, leader, `{"key":"${key}","value":"${value}"}`);
              ok = reply.status === 200 && reply.body.includes('"header"');
              if (!ok) lastFailure = `HTTP ${reply.status}: ${reply.body}`;
            } catch (error) {
              lastFailure = error instanceof Error ? error.message : String(error);
            }
            const t1 = performance.now();
            if (!ok) {
              failures++;
              if (failures > 1000) {
                aborted = true;
                throw new Error(`${name}: ${failures} failed puts, last: ${lastFailure}`);
              }
              continue;
            }
            if (t0 >= measureFrom && t1 <= end) latencies.record(t1 - t0);
          }
        }
        await Promise.all(Array.from({ length: inflight }, () => client()));
        const measuredEnd = Math.min(end, performance.now());
        if (latencies.entries === 0) throw new Error(`${name}: no successful put in the measured window; last failure: ${lastFailure}`);
        const windowSeconds = round((measuredEnd - measureFrom) / 1000, 3);
        return {
          scenario: name,
          nodes: MEMBERS.length,
          wal: 'etcd',
          transport: 'etcd-http',
          partitions: 1,
          inflight,
          payloadBytes: PAYLOAD,
          ...latencies.summary(),
          seconds: windowSeconds,
          entriesPerSec: round(latencies.entries / windowSeconds, 0),
        };
      } finally {
        agent.destroy();
        await stopCluster(members);
        process.removeListener('exit', killOnExit);
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

const etcdBinary = findEtcd();

/** Why the etcd scenarios are absent, or undefined when `etcd` is on PATH. */
export const etcdSkipped: string | undefined = etcdBinary === undefined ? 'skipped: etcd not installed' : undefined;
if (etcdSkipped !== undefined) process.stderr.write(`${etcdSkipped}\n`);

/**
 * Issue 4 reference: etcd 3.4 (Debian `etcd-server`), 3 members on loopback with default fsync, 16-byte puts
 * through its HTTP/JSON gateway at 1, 64 and 256 in flight. Empty (and "skipped: etcd not installed" on
 * stderr, no result line) when `etcd` is not on PATH; the benchmark never installs it.
 */
export const etcdScenarios: Scenario[] = etcdBinary === undefined ? [] : [1, 64, 256].map((i) => scenario(etcdBinary, i));
