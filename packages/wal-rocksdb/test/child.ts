import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** Jest runs from the repository root; the fixture loads the built adapter from dist/. */
const FIXTURE = resolve(process.cwd(), 'packages/wal-rocksdb/test/fixtures/wal-child.mjs');
const BUILT = resolve(process.cwd(), 'packages/wal-rocksdb/dist/index.js');

/** A child Node process running test/fixtures/wal-child.mjs, read line by line. */
export class WalChild {
  readonly lines: string[] = [];
  private stderr = '';
  private readonly waiters: { readonly done: () => boolean; readonly resolve: () => void; readonly reject: (error: Error) => void }[] = [];
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly process: ChildProcessWithoutNullStreams;

  constructor(args: readonly string[]) {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: build the package first (pnpm test builds before jest)`);
    this.process = spawn(process.execPath, [FIXTURE, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.process.stderr.setEncoding('utf8');
    this.process.stderr.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    const lines = createInterface({ input: this.process.stdout });
    lines.on('line', (line) => {
      this.lines.push(line);
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const waiter = this.waiters[i];
        if (waiter !== undefined && waiter.done()) {
          this.waiters.splice(i, 1);
          waiter.resolve();
        }
      }
    });
    const stdoutClosed = new Promise<void>((done) => lines.once('close', () => done()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
      this.process.once('exit', (code, signal) => done({ code, signal }));
    });
    // Both: the exit code, and every line the child managed to print before dying.
    this.exited = Promise.all([exit, stdoutClosed]).then(([info]) => {
      this.exitInfo = info;
      for (const waiter of this.waiters.splice(0)) {
        waiter.reject(new Error(`the child exited (${info.signal ?? `code ${String(info.code)}`}) before the line it was expected to print; its stderr: ${this.stderr || '(empty)'}`));
      }
      return info;
    });
  }

  /** Resolves once `done()` holds, checked now and after every line the child prints; rejects if the child exits first. */
  waitUntil(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    if (this.exitInfo !== undefined) return Promise.reject(new Error(`the child already exited; its stderr: ${this.stderr || '(empty)'}`));
    return new Promise((resolve, reject) => this.waiters.push({ done, resolve, reject }));
  }

  /** SIGKILL, then waits for the process and its stdout to end. */
  async kill(): Promise<void> {
    this.process.kill('SIGKILL');
    await this.exited;
  }

  /** Closes stdin (the `hold` mode then closes the log and exits) and waits for the exit. */
  async finish(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.process.stdin.end();
    return this.exited;
  }

  get errors(): string {
    return this.stderr;
  }
}
