import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { InMemoryWal, type Entry, type Wal } from '@kommander/core';
import { fixture, prng, removeDir, sqliteWal, tempDir } from './support.js';

/**
 * Real process deaths: a child appends synced multi-partition batches (test/fixtures/crash-writer.mjs)
 * and is killed with SIGKILL after a random number of acknowledged batches, mid-write most of the time.
 * The parent replays the acknowledged operations on an InMemoryWal (the reference adapter) and demands
 * that the reopened log equals it, or equals it plus the one operation in flight at the kill: every
 * acknowledged batch whole, no batch half there.
 */

const PARTITIONS = 6;
const KILLS_PER_TEST = 10;
const SEEDS = [0x5eed_0001, 0x5eed_0002, 0x5eed_0003, 0x5eed_0004, 0x5eed_0005];

interface AppendOp {
  readonly op: 'append';
  readonly batch: number;
  readonly writes: readonly { partition: number; start: number; count: number; hardState?: { term: number; vote: string; commit: number } }[];
}
interface CompactOp {
  readonly op: 'compact';
  readonly batch: number;
  readonly partition: number;
  readonly through: number;
}
type Op = AppendOp | CompactOp;

/** The same rules as the child's. */
function payload(partition: number, index: number, batch: number): Uint8Array {
  const size = ((partition * 2654435761 + index * 40503 + batch * 9973) >>> 0) % 2049;
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (partition * 31 + index * 7 + batch * 13 + i) & 0xff;
  return data;
}

function entry(partition: number, index: number, batch: number): Entry {
  return { index, term: batch, kind: 1, type: `t${partition}`, data: payload(partition, index, batch), time: { physical: batch, counter: partition } };
}

async function apply(wal: Wal, op: Op): Promise<void> {
  if (op.op === 'compact') {
    await wal.compact(op.partition, op.through);
    return;
  }
  await wal.append({
    writes: op.writes.map((w) => ({
      partition: w.partition,
      entries: Array.from({ length: w.count }, (_, i) => entry(w.partition, w.start + i, op.batch)),
      ...(w.hardState === undefined ? {} : { hardState: w.hardState }),
    })),
    sync: true,
  });
}

/** The first difference between the log and the model, or undefined when they hold the same. */
async function difference(actual: Wal, model: Wal): Promise<string | undefined> {
  const partitions = JSON.stringify(await actual.partitions());
  if (partitions !== JSON.stringify(await model.partitions())) return `partitions ${partitions} instead of ${JSON.stringify(await model.partitions())}`;
  for (let p = 1; p <= PARTITIONS; p++) {
    for (const what of ['firstIndex', 'lastIndex', 'logBase', 'readHardState'] as const) {
      const got = JSON.stringify(await actual[what](p));
      const want = JSON.stringify(await model[what](p));
      if (got !== want) return `partition ${p}: ${what} ${got} instead of ${want}`;
    }
    const got = await actual.readEntries(p, 0, Number.MAX_SAFE_INTEGER);
    const want = await model.readEntries(p, 0, Number.MAX_SAFE_INTEGER);
    if (got.length !== want.length) return `partition ${p}: ${got.length} entries instead of ${want.length}`;
    for (let i = 0; i < want.length; i++) {
      const a = got[i] as Entry;
      const e = want[i] as Entry;
      if (i > 0 && a.index !== (got[i - 1] as Entry).index + 1) return `partition ${p}: index ${a.index} follows ${(got[i - 1] as Entry).index}`;
      const same =
        a.index === e.index &&
        a.term === e.term &&
        a.kind === e.kind &&
        a.type === e.type &&
        a.time.physical === e.time.physical &&
        a.time.counter === e.time.counter &&
        Buffer.from(a.data).equals(Buffer.from(e.data));
      if (!same) return `partition ${p}: entry ${e.index} differs (term ${a.term}/${e.term}, ${a.data.length}/${e.data.length} bytes)`;
    }
  }
  return undefined;
}

/** Runs the child until it acknowledged `acks` batches, kills it, and returns every operation it began and how many it acknowledged. */
function runUntilKilled(path: string, seed: number, firstBatch: number, acks: number): Promise<{ ops: Op[]; acked: number }> {
  const child = spawn(process.execPath, [fixture('crash-writer.mjs'), path, String(seed), String(firstBatch)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const ops: Op[] = [];
  let acked = 0;
  let killed = false;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('begin ')) ops.push(JSON.parse(line.slice(6)) as Op);
    if (line.startsWith('ack ')) acked += 1;
    if (acked >= acks && !killed) {
      killed = true;
      child.kill('SIGKILL');
    }
  });
  // 'close' comes after the child's output is read to the end: acknowledgements printed after the kill
  // was decided (the child runs on until the signal lands) are counted too.
  return new Promise((resolve, reject) => {
    child.on('close', (code, signal) => {
      if (killed && signal === 'SIGKILL') resolve({ ops, acked });
      else reject(new Error(`crash-writer stopped by itself (code ${code}, signal ${signal}) after ${acked} acknowledged batches: ${stderr}`));
    });
  });
}

for (const seed of SEEDS) {
  test(`a SqliteWal killed mid-write ${KILLS_PER_TEST} times keeps every acknowledged batch whole (seed ${seed})`, async () => {
    const dir = await tempDir();
    const path = join(dir, 'wal.db');
    const model = new InMemoryWal();
    await model.open();
    const random = prng(seed);
    let batch = 1;
    try {
      for (let kill = 0; kill < KILLS_PER_TEST; kill++) {
        const where = `seed ${seed}, kill ${kill}`;
        const { ops, acked } = await runUntilKilled(path, random(2 ** 31), batch, 1 + random(30));
        for (const op of ops.slice(0, acked)) await apply(model, op);
        const inFlight = ops[acked];
        const wal = sqliteWal(path);
        await wal.open();
        try {
          expect({ where, repairs: wal.repairs() }).toEqual({ where, repairs: [] });
          let diff = await difference(wal, model);
          if (diff !== undefined && inFlight !== undefined) {
            // The batch in flight was committed but the child died before printing its acknowledgement.
            await apply(model, inFlight);
            diff = await difference(wal, model);
          }
          expect({ where, diff }).toEqual({ where, diff: undefined });
          batch = Math.max(batch, ...ops.map((op) => op.batch)) + 1;
          const next = (await wal.lastIndex(1)) === 0 ? (await wal.logBase(1)).index + 1 : (await wal.lastIndex(1)) + 1;
          const own: AppendOp = { op: 'append', batch, writes: [{ partition: 1, start: next, count: 3, hardState: { term: batch, vote: 'parent', commit: next } }] };
          await apply(wal, own);
          await apply(model, own);
          expect({ where, diff: await difference(wal, model) }).toEqual({ where, diff: undefined });
          batch += 1;
        } finally {
          await wal.close();
        }
      }
    } finally {
      await removeDir(dir);
    }
  }, 60_000);
}
