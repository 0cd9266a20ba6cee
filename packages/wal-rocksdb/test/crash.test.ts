import { setTimeout as delay } from 'node:timers/promises';
import type { Entry, HardState, LogBase } from '@kommander/core';
import { RocksDbWal } from '../src/index.js';
import { WalChild } from './child.js';
import { removeDir, tempDir } from './damage.js';

/**
 * Real process deaths: a child appends synced multi-partition batches (with overwrites, snapshots and
 * compactions) and prints a line per acknowledged op; the parent SIGKILLs it after a random number of
 * acknowledgements, reopens the log in-process and checks it is exactly the state after some prefix of
 * the ops that contains every acknowledged synced batch. The same directory goes on to the next kill.
 *
 * Replay a failure with KOMMANDER_CRASH_SEED=<the seed printed in the message>.
 */

const PARTITIONS = [1, 2, 3, 4, 5, 6];
const KILLS_PER_TEST = 10;
const ALL = Number.MAX_SAFE_INTEGER;

/** Same function as payload() in fixtures/wal-child.mjs. */
function payload(partition: number, index: number, n: number): Uint8Array {
  let x = (Math.imul(partition, 0x9e3779b1) ^ Math.imul(index, 0x85ebca6b) ^ Math.imul(n, 0xc2b2ae35)) >>> 0 || 1;
  const size = x % 2049;
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface WriteOp {
  readonly p: number;
  readonly start: number;
  readonly count: number;
  readonly hardState?: HardState;
  readonly snapshot?: LogBase;
}

type Op = { readonly n: number; readonly kind: 'append'; readonly writes: readonly WriteOp[] } | { readonly n: number; readonly kind: 'compact'; readonly p: number; readonly through: number };

/** One partition as the port defines it; entries remember the batch that wrote them. */
interface ModelPartition {
  entries: { readonly index: number; readonly term: number; readonly n: number }[];
  base: LogBase;
  hardState: HardState | undefined;
}

type Model = Map<number, ModelPartition>;

function emptyModel(): Model {
  return new Map(PARTITIONS.map((p) => [p, { entries: [], base: { index: 0, term: 0 }, hardState: undefined }]));
}

function cloneModel(model: Model): Model {
  return new Map([...model].map(([p, m]) => [p, { entries: m.entries.slice(), base: m.base, hardState: m.hardState }]));
}

function applyOp(model: Model, op: Op): void {
  if (op.kind === 'compact') {
    const m = model.get(op.p) as ModelPartition;
    const first = m.entries[0]?.index;
    if (first === undefined || op.through < first) return;
    const last = (m.entries[m.entries.length - 1] as { index: number }).index;
    const at = Math.min(op.through, last);
    m.base = { index: at, term: (m.entries[at - first] as { term: number }).term };
    m.entries = m.entries.filter((e) => e.index > at);
    return;
  }
  for (const write of op.writes) {
    const m = model.get(write.p) as ModelPartition;
    if (write.snapshot !== undefined) {
      m.entries = [];
      m.base = write.snapshot;
    }
    if (write.count > 0) {
      m.entries = m.entries.filter((e) => e.index < write.start);
      for (let i = write.start; i < write.start + write.count; i++) m.entries.push({ index: i, term: op.n, n: op.n });
    }
    if (write.hardState !== undefined) m.hardState = write.hardState;
  }
}

/** The first difference between the log and the model, or undefined when they agree. */
async function difference(wal: RocksDbWal, model: Model): Promise<string | undefined> {
  for (const [p, m] of model) {
    const first = m.entries[0]?.index ?? 0;
    const last = m.entries[m.entries.length - 1]?.index ?? 0;
    const actual = { first: await wal.firstIndex(p), last: await wal.lastIndex(p), base: { ...(await wal.logBase(p)) } };
    if (actual.first !== first || actual.last !== last) return `partition ${p}: entries ${actual.first}..${actual.last}, expected ${first}..${last}`;
    if (actual.base.index !== m.base.index || actual.base.term !== m.base.term) return `partition ${p}: base ${JSON.stringify(actual.base)}, expected ${JSON.stringify(m.base)}`;
    const hard = await wal.readHardState(p);
    if (JSON.stringify(hard === undefined ? null : { term: hard.term, vote: hard.vote, commit: hard.commit }) !== JSON.stringify(m.hardState ?? null)) {
      return `partition ${p}: hard state ${JSON.stringify(hard)}, expected ${JSON.stringify(m.hardState)}`;
    }
    const entries = await wal.readEntries(p, 1, ALL);
    if (entries.length !== m.entries.length) return `partition ${p}: read ${entries.length} entries, expected ${m.entries.length}`;
    for (let k = 0; k < entries.length; k++) {
      const a = entries[k] as Entry;
      const e = m.entries[k] as { index: number; term: number; n: number };
      const data = payload(p, e.index, e.n);
      if (a.index !== e.index || a.term !== e.term || a.type !== `b${e.n}` || a.time.physical !== e.n || a.time.counter !== p || !Buffer.from(a.data).equals(Buffer.from(data))) {
        return `partition ${p}: entry ${e.index} differs (index ${a.index}, term ${a.term}, type ${a.type}, ${a.data.length} bytes; expected batch ${e.n}, ${data.length} bytes)`;
      }
    }
  }
  return undefined;
}

const baseSeed = process.env['KOMMANDER_CRASH_SEED'] === undefined ? (Math.random() * 2 ** 31) >>> 0 : Number(process.env['KOMMANDER_CRASH_SEED']);

for (let t = 0; t < 5; t++) {
  const seed = (baseSeed + t * 7919) >>> 0;
  test(`RocksDbWal survives ${KILLS_PER_TEST} SIGKILLs of a writing process (seed ${seed})`, async () => {
    const random = mulberry32(seed);
    const path = tempDir();
    let model = emptyModel();
    let nextBatch = 1;
    try {
      for (let kill = 0; kill < KILLS_PER_TEST; kill++) {
        const where = `seed ${seed} (replay with KOMMANDER_CRASH_SEED=${baseSeed}), kill ${kill}`;
        const acksWanted = Math.floor(random() * 25);
        // Jitter, not synchronisation: the kill lands anywhere in the op after the wanted acknowledgement
        // (an op takes a few milliseconds), not always at the same point of it.
        const jitterMs = random() * 6;
        const child = new WalChild(['write', path, String((seed + kill) >>> 0), String(nextBatch)]);
        const ops = new Map<number, Op>();
        const acked = new Set<number>();
        const read = (): void => {
          for (const line of child.lines) {
            if (line.startsWith('begin ')) {
              const op = JSON.parse(line.slice(6)) as Op;
              ops.set(op.n, op);
            } else if (line.startsWith('ack ')) acked.add(Number(line.slice(4)));
          }
        };
        try {
          await child.waitUntil(() => child.lines.includes('ready') && child.lines.filter((l) => l.startsWith('ack ')).length >= acksWanted);
        } catch (error) {
          throw new Error(`${where}: ${(error as Error).message}`);
        }
        await delay(jitterMs);
        await child.kill();
        read();

        // Everything up to the last acknowledged synced append is durable; ops after it may or may not be.
        const begun = [...ops.keys()].sort((a, b) => a - b);
        let durable = nextBatch - 1;
        for (const n of begun) if (acked.has(n) && ops.get(n)?.kind === 'append') durable = n;
        let candidate = cloneModel(model);
        for (const n of begun) if (n <= durable) applyOp(candidate, ops.get(n) as Op);
        const wal = new RocksDbWal({ path });
        await wal.open();
        try {
          expect(wal.repairs).toEqual([]);
          const misses: string[] = [];
          let matched: Model | undefined;
          const later = begun.filter((n) => n > durable);
          for (let k = 0; ; k++) {
            const miss = await difference(wal, candidate);
            if (miss === undefined) {
              matched = candidate;
              break;
            }
            misses.push(`after batch ${k === 0 ? durable : later[k - 1]}: ${miss}`);
            const next = later[k];
            if (next === undefined) break;
            candidate = cloneModel(candidate);
            applyOp(candidate, ops.get(next) as Op);
          }
          if (matched === undefined) {
            throw new Error(`${where}: the reopened log is not the state after any prefix of the ops holding every acknowledged batch:\n${misses.join('\n')}`);
          }
          model = matched;
        } finally {
          await wal.close();
        }
        nextBatch = (begun[begun.length - 1] ?? nextBatch - 1) + 1;
      }

      const wal = new RocksDbWal({ path });
      await wal.open();
      try {
        const last = await wal.lastIndex(1);
        const start = last > 0 ? last + 1 : (await wal.logBase(1)).index + 1;
        const entry: Entry = { index: start, term: nextBatch, kind: 1, type: 'after', data: new Uint8Array([1, 2, 3]), time: { physical: 0, counter: 0 } };
        await wal.append({ writes: [{ partition: 1, entries: [entry] }], sync: true });
        expect(await wal.lastIndex(1)).toBe(start);
        expect((await wal.readEntries(1, start, start))[0]?.type).toBe('after');
      } finally {
        await wal.close();
      }
    } finally {
      removeDir(path);
    }
  }, 60_000);
}
