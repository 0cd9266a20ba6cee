import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../../../..');
const pnpm = ['-y', 'pnpm@10.34.9'];

/**
 * The published packages must work outside the workspace: `pnpm pack` gives tarballs that npm installs
 * into an empty project, and both ESM import and require() load the public surface.
 */
describe('publishable packages', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kommander-pack-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('core and testkit pack, install into an empty project, and load', () => {
    for (const pkg of ['core', 'testkit']) {
      execFileSync('npx', [...pnpm, 'pack', '--pack-destination', dir], { cwd: join(root, 'packages', pkg), stdio: 'pipe' });
    }
    const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz')).sort();
    expect(tarballs).toEqual(['kommander-core-0.1.0.tgz', 'kommander-testkit-0.1.0.tgz']);
    const app = join(dir, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', ...tarballs.map((t) => join(dir, t))], { cwd: app, stdio: 'pipe' });
    const script = [
      "const core = await import('@kommander/core');",
      "const testkit = await import('@kommander/testkit');",
      "const { createRequire } = await import('node:module');",
      "const cjs = createRequire(import.meta.url)('@kommander/core');",
      "const router = new core.PartitionRouter(core.initialPartitionRanges(4));",
      'console.log(JSON.stringify({ manager: typeof core.RaftManager, cjs: typeof cjs.RaftManager,',
      '  wal: typeof testkit.walConformance, sim: typeof testkit.runSimulation, p: router.getPartitionKey("a/b") }));',
    ].join('\n');
    const out = execFileSync('node', ['--input-type=module', '-e', script], { cwd: app, encoding: 'utf8' });
    const seen = JSON.parse(out) as Record<string, unknown>;
    expect(seen).toMatchObject({ manager: 'function', cjs: 'function', wal: 'function', sim: 'function' });
    expect(seen.p).toBeGreaterThanOrEqual(1);
    expect(seen.p).toBeLessThanOrEqual(4);
  }, 120_000);
});
