import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..');

function files(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full, `${prefix}${name}/`) : [`${prefix}${name}`];
  });
}

test('buf lint passes on proto/', () => {
  execFileSync(path.join(root, 'node_modules/.bin/buf'), ['lint'], { cwd: root, stdio: 'pipe' });
});

test('the committed src/gen is what buf generate produces from proto/', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'kommander-grpc-gen-'));
  try {
    execFileSync(path.join(root, 'node_modules/.bin/buf'), ['generate', '-o', out], { cwd: root, stdio: 'pipe' });
    const fresh = path.join(out, 'src/gen');
    const committed = path.join(root, 'src/gen');
    const hint = 'src/gen is stale: run `pnpm --filter @kommander/transport-grpc generate` (buf generate) and commit the result';
    expect({ files: files(committed), hint }).toEqual({ files: files(fresh), hint });
    for (const file of files(fresh)) {
      const same = readFileSync(path.join(fresh, file), 'utf8') === readFileSync(path.join(committed, file), 'utf8');
      if (!same) throw new Error(`${file} differs from the generated one. ${hint}`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
