import { parseOptions } from '../src/options.js';

const BASE = ['--id', '127.0.0.1:7001', '--peers', '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003', '--wal', 'rocksdb', '--data', '/tmp/k'];

describe('cluster-node options', () => {
  test('fsync is on by default, the commit index included; --no-sync-commit and --no-sync turn each off', () => {
    expect(parseOptions(BASE)).toMatchObject({ sync: true, syncCommit: true, wal: 'rocksdb', transport: 'rest', httpPort: 7001 });
    expect(parseOptions([...BASE, '--no-sync-commit'])).toMatchObject({ sync: true, syncCommit: false });
    expect(parseOptions([...BASE, '--no-sync'])).toMatchObject({ sync: false, syncCommit: true });
  });

  test('a bad flag is refused with a message naming it', () => {
    expect(() => parseOptions([...BASE, '--no-sync-commits'])).toThrow(/needs a value/);
    expect(() => parseOptions([...BASE, '--sync-commit', 'no'])).toThrow(/unknown option --sync-commit/);
    expect(() => parseOptions([...BASE, '--transport', 'udp'])).toThrow(/--transport must be one of grpc, rest, got "udp"/);
  });
});
