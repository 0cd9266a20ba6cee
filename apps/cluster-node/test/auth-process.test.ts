/**
 * apps/cluster-node with node authentication, as OS processes on loopback: a misconfigured node stops at
 * start-up with a message naming the problem; three nodes with a shared secret over gRPC, three with
 * mutual TLS over REST (the Fastify host is then HTTPS and asks every client for a certificate) and three
 * with mutual TLS over gRPC elect, replicate and end with identical applied sequences.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createTestPki, type IssuedCertificate } from '@kommander/testkit';
import { freePort } from '../../bench/src/harness.js';
import { eventually } from './eventually.js';

jest.setTimeout(120_000);

const MAIN = resolve(process.cwd(), 'apps/cluster-node/dist/main.js');
const PARTITIONS = 2;

interface Started {
  readonly child: ChildProcess;
  /** Resolves on the ready line; rejects with stderr if the process exits first. */
  readonly ready: Promise<void>;
  /** Resolves with the exit code and stderr once the process exits. */
  readonly exited: Promise<{ code: number | null; stderr: string }>;
}

function launch(args: readonly string[]): Started {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((done) => child.once('exit', (code) => done({ code, stderr })));
  const ready = new Promise<void>((done, fail) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"event":"ready"')) done();
    });
    void exited.then(({ code }) => fail(new Error(`exited (${code}) before it was ready: ${stderr}`)));
  });
  ready.catch(() => undefined);
  return { child, ready, exited };
}

async function stopAll(started: readonly Started[]): Promise<void> {
  await Promise.all(
    started.map(async (s) => {
      if (s.child.exitCode === null && s.child.signalCode === null) {
        s.child.kill('SIGKILL');
        await s.exited;
      }
    }),
  );
}

type Call = (port: number, path: string, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }>;

const plain: Call = async (port, path, body) => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    signal: AbortSignal.timeout(3_000),
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

/** Calls over HTTPS presenting a client certificate of the cluster's CA. */
function withCertificate(ca: string, client: IssuedCertificate): Call {
  return (port, path, body) =>
    new Promise((done, fail) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = httpsRequest(
        {
          host: '127.0.0.1', port, path, method: payload === undefined ? 'GET' : 'POST', ca, cert: client.cert, key: client.key, timeout: 3_000,
          headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => done({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', fail);
      req.end(payload);
    });
}

async function cluster(transport: 'grpc' | 'rest', authArgs: (id: string) => string[], call: Call): Promise<void> {
  const nodes: { id: string; httpPort: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const raftPort = await freePort();
    nodes.push({ id: `127.0.0.1:${raftPort}`, httpPort: transport === 'rest' ? raftPort : await freePort() });
  }
  const peers = nodes.map((n) => n.id).join(',');
  const started = nodes.map((n) =>
    launch(['--id', n.id, '--peers', peers, '--transport', transport, '--wal', 'memory', '--partitions', String(PARTITIONS), '--http-port', String(n.httpPort), '--tick-ms', '20', ...authArgs(n.id)]),
  );
  try {
    await Promise.all(started.map((s) => s.ready));
    const keys = Array.from({ length: 8 }, (_, i) => `key-${i}`);
    for (const key of keys) {
      await eventually(`the write of ${key}`, async () => {
        for (const n of nodes) {
          const r = await call(n.httpPort, `/kv/${key}`, { value: `v-${key}` }).catch(() => undefined);
          if (r?.status === 200) return true;
        }
        return undefined;
      });
    }
    const sequences = async (port: number): Promise<string> => {
      const parts: string[] = [];
      for (let p = 1; p <= PARTITIONS; p++) parts.push(JSON.stringify((await call(port, `/applied/${p}`)).body.sequence));
      return parts.join('|');
    };
    const all = await eventually('identical applied sequences', async () => {
      const seen = await Promise.all(nodes.map((n) => sequences(n.httpPort)));
      return seen.every((s) => s === seen[0]) && keys.every((k) => seen[0]!.includes(`v-${k}`)) ? seen : undefined;
    });
    expect(all[1]).toBe(all[0]);
    expect(all[2]).toBe(all[0]);
  } finally {
    await stopAll(started);
  }
}

describe('cluster-node with node authentication', () => {
  let dir: string;
  const pki = createTestPki();
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kommander-auth-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, content: string): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  test.each<[string, () => string[], RegExp]>([
    ['a secret shorter than 32 bytes', () => ['--auth', 'shared-secret', '--secret-file', file('short.secret', 'too short\n')], /secret must be at least 32 bytes, got 9/],
    ['a secret file that does not exist', () => ['--auth', 'shared-secret', '--secret-file', join(dir, 'missing.secret')], /--secret-file .*missing\.secret: ENOENT/],
    ['a key that does not belong to the certificate', () => {
      const a = pki.issue({ cn: 'a' });
      const b = pki.issue({ cn: 'b' });
      return ['--auth', 'mutual-tls', '--tls-ca', file('ca.pem', pki.ca), '--tls-cert', file('a.pem', a.cert), '--tls-key', file('b.key', b.key)];
    }, /key does not belong to .*cert/],
    ['a certificate of another CA', () => {
      const rogue = createTestPki('Rogue CA').issue({ cn: 'r' });
      return ['--auth', 'mutual-tls', '--tls-ca', file('ca2.pem', pki.ca), '--tls-cert', file('r.pem', rogue.cert), '--tls-key', file('r.key', rogue.key)];
    }, /was not issued by .*Rogue CA/],
    ['TLS files without --auth mutual-tls', () => ['--tls-ca', file('ca3.pem', pki.ca)], /only used with --auth mutual-tls/],
  ])('%s stops the process at start-up with a message naming it', async (_name, extra, message) => {
    const port = await freePort();
    const node = launch(['--id', `127.0.0.1:${port}`, '--peers', `127.0.0.1:${port}`, '--transport', 'grpc', '--wal', 'memory', '--http-port', String(await freePort()), ...extra()]);
    const { code, stderr } = await node.exited;
    expect(code).not.toBe(0);
    expect(stderr).toMatch(message);
  });

  test('three processes with a shared secret over gRPC elect, replicate and apply the same sequence', async () => {
    const secret = file('cluster.secret', `${'s3cr3t-'.repeat(6)}\n`);
    await cluster('grpc', () => ['--auth', 'shared-secret', '--secret-file', secret], plain);
  });

  /** Flags of a node in mutual-TLS mode: a certificate of the test CA naming its id. */
  const tlsArgs = (id: string): string[] => {
    const issued = pki.issue({ cn: id });
    const name = id.replace(':', '_');
    return ['--auth', 'mutual-tls', '--tls-ca', file('cluster-ca.pem', pki.ca), '--tls-cert', file(`${name}.pem`, issued.cert), '--tls-key', file(`${name}.key`, issued.key)];
  };

  test('three processes with mutual TLS over REST (an HTTPS host asking for client certificates) do too', async () => {
    await cluster('rest', tlsArgs, withCertificate(pki.ca, pki.issue({ cn: 'test-client' })));
  });

  test('three processes with mutual TLS over gRPC do too (their Fastify host stays plain HTTP)', async () => {
    await cluster('grpc', tlsArgs, plain);
  });
});
