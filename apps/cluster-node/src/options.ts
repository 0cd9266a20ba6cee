/** Command-line options of one cluster node. */
export interface NodeOptions {
  /** This node's id and Raft endpoint, `host:port` (the gRPC port, or the HTTP port with REST). */
  readonly id: string;
  /** Every member's id, this node included. */
  readonly peers: readonly string[];
  readonly transport: 'grpc' | 'rest';
  readonly wal: 'memory' | 'sqlite' | 'rocksdb' | 'fsync-floor' | 'hop-floor';
  /** Directory of the durable WAL (required for sqlite and rocksdb). */
  readonly data: string;
  /** User partitions. */
  readonly partitions: number;
  /** Port of the Fastify host (client API and admin routes; with REST also the Raft routes). */
  readonly httpPort: number;
  readonly host: string;
  /** Milliseconds per Raft tick. */
  readonly tickMs: number;
  /** fsync every WAL batch. */
  readonly sync: boolean;
  /** fsync a batch that only moves a commit index (RaftManagerOptions.syncCommitIndex). */
  readonly syncCommit: boolean;
  /** Node authentication of the Raft traffic. */
  readonly auth: 'disabled' | 'shared-secret' | 'mutual-tls';
  /** File holding the shared secret (shared-secret; a trailing newline is ignored). */
  readonly secretFile: string;
  /** PEM files of the CA, this node's certificate and its key (mutual-tls). */
  readonly tlsCa: string;
  readonly tlsCert: string;
  readonly tlsKey: string;
}

export const USAGE = `usage: kommander-node --id HOST:PORT --peers HOST:PORT,HOST:PORT,... [options]
  --transport grpc|rest     node-to-node transport (default rest)
  --wal memory|sqlite|rocksdb  write-ahead log (default sqlite)
  --wal fsync-floor         benchmarks only: in memory, plus one write and fdatasync of a scratch
                            file per batch (what any durable WAL costs at least); keeps nothing
  --wal hop-floor           benchmarks only: in memory, plus one round trip through Node's thread
                            pool per synced batch and no file (what that hop alone costs); keeps nothing
  --data DIR                WAL directory (required for sqlite and rocksdb)
  --partitions N            user partitions (default 8)
  --http-port N             Fastify host port for the client API and admin routes
                            (default: the --id port with REST, the --id port + 1000 with gRPC)
  --host HOST               interface to listen on (default: the --id host)
  --tick-ms N               milliseconds per Raft tick (default 50)
  --no-sync                 do not fsync the WAL (benchmarks only)
  --no-sync-commit          do not fsync a write that only moves a commit index (etcd's rule;
                            entries, terms and votes are still synced: see syncCommitIndex)
  --auth disabled|shared-secret|mutual-tls  node authentication (default disabled)
  --secret-file FILE        the shared secret, at least 32 bytes (with --auth shared-secret)
  --tls-ca FILE --tls-cert FILE --tls-key FILE
                            PEM CA, node certificate and key (with --auth mutual-tls; with REST the
                            whole Fastify host is then HTTPS and asks every client for a certificate)`;

/** Parses `argv` (without node and script); throws an Error naming the bad flag and what it expects. */
export function parseOptions(argv: readonly string[]): NodeOptions {
  const flags = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(arg)}\n${USAGE}`);
    const name = arg.slice(2);
    if (name === 'no-sync' || name === 'no-sync-commit' || name === 'help') {
      switches.add(name);
      continue;
    }
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value\n${USAGE}`);
    flags.set(name, value);
    i++;
  }
  if (switches.has('help')) throw new Error(USAGE);
  const known = new Set(['id', 'peers', 'transport', 'wal', 'data', 'partitions', 'http-port', 'host', 'tick-ms', 'auth', 'secret-file', 'tls-ca', 'tls-cert', 'tls-key']);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown option --${name}\n${USAGE}`);
  const id = required(flags, 'id');
  const endpoint = splitEndpoint(id, '--id');
  const peers = required(flags, 'peers').split(',').map((p) => p.trim()).filter((p) => p !== '');
  for (const p of peers) splitEndpoint(p, '--peers');
  if (!peers.includes(id)) throw new Error(`--peers must list this node's --id ${id} too (got ${peers.join(',')})`);
  const transport = oneOf(flags.get('transport') ?? 'rest', '--transport', ['grpc', 'rest'] as const);
  const wal = oneOf(flags.get('wal') ?? 'sqlite', '--wal', ['memory', 'sqlite', 'rocksdb', 'fsync-floor', 'hop-floor'] as const);
  const data = flags.get('data') ?? '';
  if (wal !== 'memory' && wal !== 'hop-floor' && data === '') throw new Error(`--data DIR is required with --wal ${wal}`);
  const auth = oneOf(flags.get('auth') ?? 'disabled', '--auth', ['disabled', 'shared-secret', 'mutual-tls'] as const);
  const secretFile = flags.get('secret-file') ?? '';
  if (auth === 'shared-secret' && secretFile === '') throw new Error('--secret-file FILE is required with --auth shared-secret');
  if (auth !== 'shared-secret' && secretFile !== '') throw new Error(`--secret-file is only used with --auth shared-secret (got --auth ${auth})`);
  const [tlsCa, tlsCert, tlsKey] = (['tls-ca', 'tls-cert', 'tls-key'] as const).map((name) => flags.get(name) ?? '');
  if (auth === 'mutual-tls' && (tlsCa === '' || tlsCert === '' || tlsKey === '')) throw new Error('--tls-ca, --tls-cert and --tls-key are all required with --auth mutual-tls');
  if (auth !== 'mutual-tls' && (tlsCa !== '' || tlsCert !== '' || tlsKey !== '')) throw new Error(`--tls-ca, --tls-cert and --tls-key are only used with --auth mutual-tls (got --auth ${auth})`);
  return {
    id,
    peers,
    transport,
    wal,
    data,
    partitions: integer(flags.get('partitions') ?? '8', '--partitions', 1, 65535),
    httpPort: integer(flags.get('http-port') ?? String(transport === 'rest' ? endpoint.port : endpoint.port + 1000), '--http-port', 0, 65535),
    host: flags.get('host') ?? endpoint.host,
    tickMs: integer(flags.get('tick-ms') ?? '50', '--tick-ms', 1, 60_000),
    sync: !switches.has('no-sync'),
    syncCommit: !switches.has('no-sync-commit'),
    auth,
    secretFile,
    tlsCa: tlsCa!,
    tlsCert: tlsCert!,
    tlsKey: tlsKey!,
  };
}

export function splitEndpoint(endpoint: string, flag: string): { host: string; port: number } {
  const at = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, at);
  const port = Number(endpoint.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${flag}: ${JSON.stringify(endpoint)} is not HOST:PORT with a port in 1..65535`);
  }
  return { host, port };
}

function required(flags: Map<string, string>, name: string): string {
  const value = flags.get(name);
  if (value === undefined) throw new Error(`--${name} is required\n${USAGE}`);
  return value;
}

function oneOf<T extends string>(value: string, flag: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

function integer(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  return n;
}
