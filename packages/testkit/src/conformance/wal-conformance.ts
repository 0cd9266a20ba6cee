import assert from 'node:assert/strict';
import { EntryKind, type Entry, type HardState, type Wal, type WalPartitionWrite } from '@kommander/core';
import type { ConformanceTest } from './conformance-test.js';

/** Which optional behaviours a {@link Wal} adapter claims; the suite registers only the cases it claims. Every flag defaults to false. */
export interface WalCapabilities {
  /** The log survives `close` and a new instance from `reopen` sees all of it. Needs `reopen`. */
  readonly reopen?: boolean;
  /** The adapter can simulate the process dying (`crash`); synced batches must survive it. Needs `reopen` and `crash`. */
  readonly crash?: boolean;
  /**
   * Open detects damage: a torn tail is cut and the log opens, corruption elsewhere stops the open with an
   * error naming partition and index. Needs `reopen`, `corruptTail` and `corruptRecord`.
   */
  readonly corruption?: boolean;
}

/** Options of {@link walConformance}. */
export interface WalConformanceOptions {
  /** Prefix of every case name, usually the adapter's name. */
  readonly name: string;
  /** The runner's test function (`test` of jest or node:test, `it` of mocha…). */
  readonly test: ConformanceTest;
  /** A new, empty log, not yet opened. Called once per case. */
  readonly factory: () => Promise<Wal> | Wal;
  /** A log over the same storage as `wal`, which the suite has closed (or crashed); not yet opened. May return `wal` itself. */
  readonly reopen?: (wal: Wal) => Promise<Wal> | Wal;
  /** Simulates the process dying with `wal` open: writes that were not synced may be lost. The suite then reopens. */
  readonly crash?: (wal: Wal) => Promise<void> | void;
  /** Damages the end of the closed log's last record, as a crash in the middle of writing it would. */
  readonly corruptTail?: (wal: Wal) => Promise<void> | void;
  /** Damages the stored record of `partition`'s entry at `index` in the closed log (flips bytes covered by its checksum). */
  readonly corruptRecord?: (wal: Wal, partition: number, index: number) => Promise<void> | void;
  /** Releases the storage of the last instance of a case (for example deletes its directory). Runs after every case. Default: nothing. */
  readonly cleanup?: (wal: Wal) => Promise<void> | void;
  /** Default: no optional capability. */
  readonly supports?: WalCapabilities;
}

/** An entry whose payload and time are derived from where it lives, so reads can be checked without keeping copies. */
function entry(partition: number, index: number, term: number, kind: EntryKind = EntryKind.Data): Entry {
  const data = new Uint8Array(1 + (index % 7));
  for (let i = 0; i < data.length; i++) data[i] = (partition * 31 + index * 7 + i) & 0xff;
  return { index, term, kind, type: kind === EntryKind.Data ? `type-${partition}` : '', data, time: { physical: 1_700_000_000_000 + index, counter: partition } };
}

function entries(partition: number, from: number, to: number, term = 1): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(partition, i, term));
  return out;
}

function hardState(term: number, vote = '', commit = 0): HardState {
  return { term, vote, commit };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Field by field, so adapters may return any Uint8Array (a Buffer too) and fresh objects. */
function assertEntries(actual: readonly Entry[], expected: readonly Entry[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: expected ${expected.length} entries, got ${actual.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as Entry;
    const e = expected[i] as Entry;
    const at = `${what}: entry ${e.index}`;
    assert.equal(a.index, e.index, `${at}: index`);
    assert.equal(a.term, e.term, `${at}: term`);
    assert.equal(a.kind, e.kind, `${at}: kind`);
    assert.equal(a.type, e.type, `${at}: type`);
    assert.deepEqual({ ...a.time }, { ...e.time }, `${at}: time`);
    assert.ok(a.data instanceof Uint8Array, `${at}: data must be a Uint8Array`);
    assert.ok(sameBytes(a.data, e.data), `${at}: data differs (${a.data.length} bytes read, ${e.data.length} written)`);
  }
}

function assertHardState(actual: HardState | undefined, expected: HardState | undefined, what: string): void {
  assert.deepEqual(actual === undefined ? undefined : { ...actual }, expected === undefined ? undefined : { ...expected }, what);
}

const ALL = Number.MAX_SAFE_INTEGER;

/**
 * Registers the conformance cases of the {@link Wal} port with `options.test`, in the style of
 * abstract-level's shared suite: an adapter's test file is a few lines that call this. Assertions use
 * `node:assert/strict`, so any runner works. Cases for capabilities the adapter does not claim are not
 * registered.
 *
 * The contract checked beyond the port's TSDoc: an empty payload reads back empty (not `undefined`),
 * `firstIndex`/`lastIndex` are 0 for a partition without entries (also after compacting all of them),
 * `term` of index 0 is `undefined`, reads clamp to the retained range, `partitions()` includes 0 (the
 * system partition) when written, every call after `close` rejects, and a batch with a malformed write
 * rejects without applying any of its writes.
 */
export function walConformance(options: WalConformanceOptions): void {
  const supports = options.supports ?? {};
  const needs = (capability: string, hooks: Record<string, unknown>): void => {
    for (const [hook, value] of Object.entries(hooks)) {
      if (typeof value !== 'function') {
        throw new TypeError(`walConformance(${options.name}): supports.${capability} needs the ${hook} option (a function)`);
      }
    }
  };
  if (supports.reopen === true) needs('reopen', { reopen: options.reopen });
  if (supports.crash === true) needs('crash', { reopen: options.reopen, crash: options.crash });
  if (supports.corruption === true) {
    needs('corruption', { reopen: options.reopen, corruptTail: options.corruptTail, corruptRecord: options.corruptRecord });
  }

  /** One case's log: tracks whether it is open so the case can close, reopen and clean up in any order. */
  class Session {
    private isOpen = false;
    constructor(public wal: Wal) {}

    async open(): Promise<void> {
      await this.wal.open();
      this.isOpen = true;
    }

    async close(): Promise<void> {
      this.isOpen = false;
      await this.wal.close();
    }

    async reopen(): Promise<void> {
      if (this.isOpen) await this.close();
      this.wal = await (options.reopen as (wal: Wal) => Promise<Wal> | Wal)(this.wal);
      await this.open();
    }

    async crashAndReopen(): Promise<void> {
      await (options.crash as (wal: Wal) => Promise<void> | void)(this.wal);
      this.isOpen = false;
      this.wal = await (options.reopen as (wal: Wal) => Promise<Wal> | Wal)(this.wal);
      await this.open();
    }

    async end(): Promise<void> {
      try {
        if (this.isOpen) await this.close();
      } finally {
        await options.cleanup?.(this.wal);
      }
    }
  }

  const test = (name: string, body: (s: Session) => Promise<void>): void => {
    options.test(`${options.name} wal: ${name}`, async () => {
      const session = new Session(await options.factory());
      try {
        await session.open();
        await body(session);
      } finally {
        await session.end();
      }
    });
  };

  test('opens empty and closes', async (s) => {
    assert.deepEqual(await s.wal.partitions(), []);
    assert.equal(await s.wal.firstIndex(1), 0);
    assert.equal(await s.wal.lastIndex(1), 0);
    assert.equal(await s.wal.term(1, 1), undefined);
    assert.equal(await s.wal.readHardState(1), undefined);
    assert.deepEqual(await s.wal.readEntries(1, 1, 10), []);
    await s.close();
  });

  test('reads back appended entries of every kind and the hard state', async (s) => {
    const kinds = Object.values(EntryKind);
    const written = kinds.map((kind, i) => entry(3, i + 1, 2, kind));
    await s.wal.append({ writes: [{ partition: 3, entries: written, hardState: hardState(2, 'node-a', 4) }], sync: true });
    assertEntries(await s.wal.readEntries(3, 1, kinds.length), written, 'partition 3');
    assertHardState(await s.wal.readHardState(3), hardState(2, 'node-a', 4), 'hard state of partition 3');
    assert.equal(await s.wal.firstIndex(3), 1);
    assert.equal(await s.wal.lastIndex(3), kinds.length);
  });

  test('appends without a hard state keep the stored one, and a hard state alone replaces it', async (s) => {
    await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 2), hardState: hardState(1, 'a', 0) }], sync: true });
    await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 3, 4) }], sync: true });
    assertHardState(await s.wal.readHardState(1), hardState(1, 'a', 0), 'after entries only');
    await s.wal.append({ writes: [{ partition: 1, entries: [], hardState: hardState(2, '', 4) }], sync: true });
    assertHardState(await s.wal.readHardState(1), hardState(2, '', 4), 'after hard state only');
    assertEntries(await s.wal.readEntries(1, 1, 4), entries(1, 1, 4), 'entries untouched');
  });

  test('an unsynced batch is readable at once', async (s) => {
    await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 3), hardState: hardState(1) }], sync: false });
    assertEntries(await s.wal.readEntries(1, 1, 3), entries(1, 1, 3), 'partition 1');
    assertHardState(await s.wal.readHardState(1), hardState(1), 'hard state');
  });

  test('one batch carries the writes of many partitions', async (s) => {
    const writes: WalPartitionWrite[] = [
      { partition: 0, entries: entries(0, 1, 2), hardState: hardState(1, 'n1', 2) },
      { partition: 1, entries: entries(1, 1, 5) },
      { partition: 2, entries: [], hardState: hardState(7, 'n2', 0) },
      { partition: 17, entries: entries(17, 1, 1), hardState: hardState(3, '', 1) },
    ];
    await s.wal.append({ writes, sync: true });
    for (const write of writes) {
      assertEntries(await s.wal.readEntries(write.partition, 1, ALL), write.entries, `partition ${write.partition}`);
      assertHardState(await s.wal.readHardState(write.partition), write.hardState, `hard state of partition ${write.partition}`);
    }
    assert.deepEqual((await s.wal.partitions()).sort((a, b) => a - b), [0, 1, 2, 17]);
  });

  test('entries written at index i replace every stored entry from i on', async (s) => {
    await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 10) }, { partition: 2, entries: entries(2, 1, 3) }], sync: true });
    await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 6, 7, 2) }], sync: true });
    assert.equal(await s.wal.lastIndex(1), 7);
    assert.equal(await s.wal.term(1, 5), 1);
    assert.equal(await s.wal.term(1, 6), 2);
    assert.equal(await s.wal.term(1, 8), undefined);
    assertEntries(await s.wal.readEntries(1, 1, 10), [...entries(1, 1, 5), ...entries(1, 6, 7, 2)], 'partition 1 after the overwrite');
    assertEntries(await s.wal.readEntries(2, 1, 3), entries(2, 1, 3), 'partition 2 untouched');
    await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 2, 3) }], sync: true });
    assertEntries(await s.wal.readEntries(1, 1, 10), entries(1, 1, 2, 3), 'partition 1 overwritten from its first entry');
    await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 3, 3, 3) }], sync: true });
    assert.equal(await s.wal.lastIndex(1), 3, 'a write at lastIndex + 1 appends');
  });

  test('compaction drops entries up to the given index and keeps the hard state', async (s) => {
    await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 10), hardState: hardState(1, 'a', 10) }], sync: true });
    await s.wal.compact(1, 4);
    assert.equal(await s.wal.firstIndex(1), 5);
    assert.equal(await s.wal.lastIndex(1), 10);
    assert.equal(await s.wal.term(1, 4), undefined);
    assert.equal(await s.wal.term(1, 5), 1);
    assertEntries(await s.wal.readEntries(1, 1, 10), entries(1, 5, 10), 'reads skip compacted entries');
    await s.wal.compact(1, 2);
    assert.equal(await s.wal.firstIndex(1), 5, 'compacting below the first index changes nothing');
    await s.wal.compact(99, 5);
    assert.equal(await s.wal.firstIndex(99), 0, 'compacting an unknown partition changes nothing');
    await s.wal.compact(1, 10);
    assert.equal(await s.wal.firstIndex(1), 0, 'no entries left: firstIndex is 0');
    assert.equal(await s.wal.lastIndex(1), 0, 'no entries left: lastIndex is 0');
    assertHardState(await s.wal.readHardState(1), hardState(1, 'a', 10), 'hard state after compacting everything');
    assert.deepEqual(await s.wal.partitions(), [1], 'a partition with a hard state is still listed');
    await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 11, 12, 2) }], sync: true });
    assert.equal(await s.wal.firstIndex(1), 11, 'an emptied partition restarts where it is written');
    assertEntries(await s.wal.readEntries(1, 1, 20), entries(1, 11, 12, 2), 'partition 1 after the restart');
  });

  test('compaction records the base: the compacted index and its term', async (s) => {
    assert.deepEqual({ ...(await s.wal.logBase(1)) }, { index: 0, term: 0 }, 'a partition never written has base 0');
    await s.wal.append({ writes: [{ partition: 1, entries: [...entries(1, 1, 4, 1), ...entries(1, 5, 8, 3)] }], sync: true });
    assert.deepEqual({ ...(await s.wal.logBase(1)) }, { index: 0, term: 0 }, 'no compaction yet');
    await s.wal.compact(1, 5);
    assert.deepEqual({ ...(await s.wal.logBase(1)) }, { index: 5, term: 3 }, 'after compacting through 5');
    await s.wal.compact(1, 3);
    assert.deepEqual({ ...(await s.wal.logBase(1)) }, { index: 5, term: 3 }, 'compacting below the base changes nothing');
    await s.wal.compact(1, 100);
    assert.deepEqual({ ...(await s.wal.logBase(1)) }, { index: 8, term: 3 }, 'compacting past the end clamps to the last index');
    assert.equal(await s.wal.lastIndex(1), 0);
    await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 9, 10, 4) }], sync: true });
    assertEntries(await s.wal.readEntries(1, 1, ALL), entries(1, 9, 10, 4), 'appends continue after the base');
    assert.deepEqual({ ...(await s.wal.logBase(1)) }, { index: 8, term: 3 }, 'appending keeps the base');
  });

  test('a snapshot write replaces the log and sets the base; entries of the same write follow it', async (s) => {
    await s.wal.append({ writes: [{ partition: 2, entries: entries(2, 1, 20), hardState: hardState(2, 'a', 20) }, { partition: 3, entries: entries(3, 1, 5) }], sync: true });
    await s.wal.compact(2, 3);
    await s.wal.append({ writes: [{ partition: 2, snapshot: { index: 50, term: 6 }, entries: entries(2, 51, 53, 7), hardState: hardState(7, 'b', 50) }], sync: true });
    assert.deepEqual({ ...(await s.wal.logBase(2)) }, { index: 50, term: 6 });
    assert.equal(await s.wal.firstIndex(2), 51);
    assert.equal(await s.wal.lastIndex(2), 53);
    assert.equal(await s.wal.term(2, 20), undefined, 'the old log is gone');
    assertEntries(await s.wal.readEntries(2, 1, ALL), entries(2, 51, 53, 7), 'entries after the snapshot');
    assertHardState(await s.wal.readHardState(2), hardState(7, 'b', 50), 'hard state of the same write');
    assertEntries(await s.wal.readEntries(3, 1, ALL), entries(3, 1, 5), 'other partitions untouched');
    await s.wal.append({ writes: [{ partition: 2, snapshot: { index: 10, term: 2 }, entries: [] }], sync: true });
    assert.deepEqual({ ...(await s.wal.logBase(2)) }, { index: 10, term: 2 }, 'a snapshot alone empties the log');
    assert.equal(await s.wal.lastIndex(2), 0);
    await s.wal.append({ writes: [{ partition: 4, snapshot: { index: 7, term: 1 }, entries: [] }], sync: true });
    assert.deepEqual((await s.wal.partitions()).sort((a, b) => a - b), [2, 3, 4], 'a partition with only a base is listed');
    await assert.rejects(
      () => s.wal.append({ writes: [{ partition: 2, snapshot: { index: 30, term: 3 }, entries: entries(2, 40, 41, 3) }], sync: true }),
      Error,
      'entries that do not follow the snapshot must reject',
    );
    assert.deepEqual({ ...(await s.wal.logBase(2)) }, { index: 10, term: 2 }, 'the rejected snapshot changed nothing');
  });

  test('term lookups', async (s) => {
    const written = [entry(1, 1, 1), entry(1, 2, 1), entry(1, 3, 2), entry(1, 4, 2), entry(1, 5, 5)];
    await s.wal.append({ writes: [{ partition: 1, entries: written }], sync: true });
    for (const e of written) assert.equal(await s.wal.term(1, e.index), e.term, `term of index ${e.index}`);
    assert.equal(await s.wal.term(1, 0), undefined, 'index 0 is never an entry');
    assert.equal(await s.wal.term(1, 6), undefined, 'beyond the last index');
    assert.equal(await s.wal.term(2, 1), undefined, 'unknown partition');
  });

  test('first and last index of a partition without entries are 0', async (s) => {
    await s.wal.append({ writes: [{ partition: 5, entries: [], hardState: hardState(1) }], sync: true });
    assert.equal(await s.wal.firstIndex(5), 0);
    assert.equal(await s.wal.lastIndex(5), 0);
    assert.equal(await s.wal.firstIndex(6), 0);
    assert.equal(await s.wal.lastIndex(6), 0);
  });

  test('metadata: missing, set, overwrite, empty and binary values', async (s) => {
    assert.equal(await s.wal.getMeta('node-id'), undefined);
    await s.wal.setMeta('node-id', Buffer.from('n1'));
    await s.wal.setMeta('clé/ü', new Uint8Array([0, 255, 1]));
    assert.ok(sameBytes((await s.wal.getMeta('node-id')) ?? new Uint8Array([1]), Buffer.from('n1')));
    await s.wal.setMeta('node-id', Buffer.from('n2-longer'));
    assert.ok(sameBytes((await s.wal.getMeta('node-id')) ?? new Uint8Array(), Buffer.from('n2-longer')), 'overwrite');
    assert.ok(sameBytes((await s.wal.getMeta('clé/ü')) ?? new Uint8Array(), new Uint8Array([0, 255, 1])), 'other keys untouched');
    const all = new Uint8Array(256).map((_, i) => i);
    await s.wal.setMeta('bytes', all);
    assert.ok(sameBytes((await s.wal.getMeta('bytes')) ?? new Uint8Array(), all), 'every byte value');
    await s.wal.setMeta('empty', new Uint8Array(0));
    const empty = await s.wal.getMeta('empty');
    assert.ok(empty instanceof Uint8Array && empty.length === 0, 'an empty value reads back empty, not undefined');
  });

  test('partitions() lists partitions with entries or a hard state, system partition included', async (s) => {
    await s.wal.append({
      writes: [
        { partition: 3, entries: entries(3, 1, 1) },
        { partition: 0, entries: [], hardState: hardState(1) },
        { partition: 12, entries: entries(12, 1, 2), hardState: hardState(2) },
      ],
      sync: true,
    });
    assert.deepEqual((await s.wal.partitions()).sort((a, b) => a - b), [0, 3, 12]);
  });

  test('an empty payload and empty type read back empty', async (s) => {
    const empty: Entry = { index: 1, term: 1, kind: EntryKind.Noop, type: '', data: new Uint8Array(0), time: { physical: 0, counter: 0 } };
    await s.wal.append({ writes: [{ partition: 1, entries: [empty] }], sync: true });
    assertEntries(await s.wal.readEntries(1, 1, 1), [empty], 'empty entry');
  });

  test('a 4 MiB payload reads back byte for byte', async (s) => {
    const data = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    const big: Entry = { index: 1, term: 1, kind: EntryKind.Data, type: 'blob', data, time: { physical: 1, counter: 2 } };
    await s.wal.append({ writes: [{ partition: 1, entries: [big, entry(1, 2, 1)] }], sync: true });
    assertEntries(await s.wal.readEntries(1, 1, 2), [big, entry(1, 2, 1)], 'huge entry');
  });

  test('500 partitions in one batch', async (s) => {
    const writes: WalPartitionWrite[] = [];
    for (let p = 1; p <= 500; p++) writes.push({ partition: p, entries: entries(p, 1, 3), hardState: hardState(p, `n${p}`, 2) });
    await s.wal.append({ writes, sync: true });
    assert.deepEqual((await s.wal.partitions()).sort((a, b) => a - b), writes.map((w) => w.partition));
    for (const write of writes) {
      assert.equal(await s.wal.lastIndex(write.partition), 3, `last index of partition ${write.partition}`);
      assertHardState(await s.wal.readHardState(write.partition), write.hardState, `hard state of partition ${write.partition}`);
    }
    assertEntries(await s.wal.readEntries(250, 1, 3), entries(250, 1, 3), 'partition 250');
  });

  test('10,000 entries in one batch', async (s) => {
    const written = entries(1, 1, 10_000);
    await s.wal.append({ writes: [{ partition: 1, entries: written }], sync: true });
    assert.equal(await s.wal.lastIndex(1), 10_000);
    assertEntries(await s.wal.readEntries(1, 1, 10_000), written, 'all entries');
    assertEntries(await s.wal.readEntries(1, 5_000, 5_009), written.slice(4_999, 5_009), 'a middle range');
  });

  test('reads clamp to the retained range', async (s) => {
    await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 10) }], sync: true });
    await s.wal.compact(1, 3);
    assertEntries(await s.wal.readEntries(1, 0, 100), entries(1, 4, 10), 'range wider on both sides');
    assertEntries(await s.wal.readEntries(1, 8, 20), entries(1, 8, 10), 'range past the end');
    assertEntries(await s.wal.readEntries(1, 1, 5), entries(1, 4, 5), 'range starting below the first index');
    assert.deepEqual(await s.wal.readEntries(1, 11, 20), [], 'range after the end');
    assert.deepEqual(await s.wal.readEntries(1, 1, 3), [], 'compacted range');
    assert.deepEqual(await s.wal.readEntries(1, 7, 6), [], 'from after to');
  });

  test('every call after close rejects', async (s) => {
    await s.close();
    const calls: [string, () => Promise<unknown>][] = [
      ['append', () => s.wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 1) }], sync: true })],
      ['readEntries', () => s.wal.readEntries(1, 1, 1)],
      ['readHardState', () => s.wal.readHardState(1)],
      ['firstIndex', () => s.wal.firstIndex(1)],
      ['lastIndex', () => s.wal.lastIndex(1)],
      ['term', () => s.wal.term(1, 1)],
      ['compact', () => s.wal.compact(1, 1)],
      ['logBase', () => s.wal.logBase(1)],
      ['partitions', () => s.wal.partitions()],
      ['getMeta', () => s.wal.getMeta('k')],
      ['setMeta', () => s.wal.setMeta('k', new Uint8Array(1))],
    ];
    for (const [method, call] of calls) await assert.rejects(call, Error, `${method} after close must reject`);
  });

  const invalidWrites: [string, WalPartitionWrite][] = [
    ['entries that skip an index', { partition: 2, entries: [entry(2, 1, 1), entry(2, 2, 1), entry(2, 4, 1)] }],
    ['descending entries', { partition: 2, entries: [entry(2, 2, 1), entry(2, 1, 1)] }],
    ['an entry at index 0', { partition: 2, entries: [entry(2, 0, 1), entry(2, 1, 1)] }],
    ['a negative partition', { partition: -1, entries: entries(2, 1, 1) }],
    ['a fractional partition', { partition: 1.5, entries: entries(2, 1, 1) }],
  ];
  for (const [what, write] of invalidWrites) {
    test(`a batch with ${what} is rejected and none of it is applied`, async (s) => {
      await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 2), hardState: hardState(1) }], sync: true });
      const valid: WalPartitionWrite = { partition: 1, entries: entries(1, 3, 4, 2), hardState: hardState(2, 'x', 3) };
      await assert.rejects(() => s.wal.append({ writes: [valid, write], sync: true }), Error, `a batch with ${what} must reject`);
      assertEntries(await s.wal.readEntries(1, 1, ALL), entries(1, 1, 2), 'partition 1 unchanged');
      assertHardState(await s.wal.readHardState(1), hardState(1), 'hard state of partition 1 unchanged');
      assert.deepEqual(await s.wal.partitions(), [1], 'no partition added');
      await s.wal.append({ writes: [valid], sync: true });
      assert.equal(await s.wal.lastIndex(1), 4, 'the log still accepts valid batches');
    });
  }

  if (supports.reopen === true) {
    test('reopening after close keeps entries, overwrites, compaction, hard state and metadata', async (s) => {
      await s.wal.append({
        writes: [
          { partition: 0, entries: entries(0, 1, 3), hardState: hardState(1, 'n1', 3) },
          { partition: 1, entries: entries(1, 1, 10), hardState: hardState(2, 'n2', 5) },
        ],
        sync: true,
      });
      await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 8, 9, 3) }], sync: false });
      await s.wal.compact(1, 2);
      await s.wal.append({ writes: [{ partition: 5, snapshot: { index: 40, term: 4 }, entries: entries(5, 41, 42, 4) }], sync: true });
      await s.wal.setMeta('node', Buffer.from('n1'));
      await s.reopen();
      assert.deepEqual({ ...(await s.wal.logBase(1)) }, { index: 2, term: 1 }, 'base of partition 1 after reopen');
      assert.deepEqual({ ...(await s.wal.logBase(5)) }, { index: 40, term: 4 }, 'snapshot base of partition 5 after reopen');
      assertEntries(await s.wal.readEntries(5, 1, ALL), entries(5, 41, 42, 4), 'partition 5 after reopen');
      assert.deepEqual((await s.wal.partitions()).sort((a, b) => a - b), [0, 1, 5]);
      assertEntries(await s.wal.readEntries(0, 1, ALL), entries(0, 1, 3), 'partition 0');
      assertEntries(await s.wal.readEntries(1, 1, ALL), [...entries(1, 3, 7), ...entries(1, 8, 9, 3)], 'partition 1');
      assert.equal(await s.wal.firstIndex(1), 3);
      assert.equal(await s.wal.lastIndex(1), 9);
      assertHardState(await s.wal.readHardState(1), hardState(2, 'n2', 5), 'hard state of partition 1');
      assert.ok(sameBytes((await s.wal.getMeta('node')) ?? new Uint8Array(), Buffer.from('n1')), 'metadata');
      await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 10, 10, 3) }], sync: true });
      assert.equal(await s.wal.lastIndex(1), 10, 'the reopened log accepts appends');
    });

    test('a reopened empty log is empty', async (s) => {
      await s.reopen();
      assert.deepEqual(await s.wal.partitions(), []);
    });
  }

  if (supports.crash === true) {
    test('synced batches survive a crash', async (s) => {
      await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 3), hardState: hardState(1, 'a', 1) }], sync: true });
      await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 4, 5) }, { partition: 2, entries: entries(2, 1, 1) }], sync: true });
      await s.crashAndReopen();
      assertEntries(await s.wal.readEntries(1, 1, ALL), entries(1, 1, 5), 'partition 1');
      assertEntries(await s.wal.readEntries(2, 1, ALL), entries(2, 1, 1), 'partition 2');
      assertHardState(await s.wal.readHardState(1), hardState(1, 'a', 1), 'hard state');
    });

    test('a synced batch makes the unsynced batches before it durable', async (s) => {
      await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 3) }], sync: false });
      await s.wal.append({ writes: [{ partition: 2, entries: entries(2, 1, 2), hardState: hardState(4) }], sync: false });
      await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 4, 4) }], sync: true });
      await s.crashAndReopen();
      assertEntries(await s.wal.readEntries(1, 1, ALL), entries(1, 1, 4), 'partition 1');
      assertEntries(await s.wal.readEntries(2, 1, ALL), entries(2, 1, 2), 'partition 2');
      assertHardState(await s.wal.readHardState(2), hardState(4), 'hard state of partition 2');
    });

    test('a synced snapshot write survives a crash', async (s) => {
      await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 5), hardState: hardState(1, 'a', 5) }], sync: true });
      await s.wal.append({ writes: [{ partition: 1, snapshot: { index: 30, term: 2 }, entries: entries(1, 31, 31, 2), hardState: hardState(2, '', 30) }], sync: true });
      await s.crashAndReopen();
      assert.deepEqual({ ...(await s.wal.logBase(1)) }, { index: 30, term: 2 });
      assertEntries(await s.wal.readEntries(1, 1, ALL), entries(1, 31, 31, 2), 'partition 1');
      assertHardState(await s.wal.readHardState(1), hardState(2, '', 30), 'hard state');
    });

    test('an unsynced batch is all there or not at all after a crash', async (s) => {
      await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 2) }], sync: true });
      await s.wal.append({
        writes: [
          { partition: 1, entries: entries(1, 3, 4), hardState: hardState(2) },
          { partition: 2, entries: entries(2, 1, 3) },
        ],
        sync: false,
      });
      await s.crashAndReopen();
      const last1 = await s.wal.lastIndex(1);
      const last2 = await s.wal.lastIndex(2);
      const hard = await s.wal.readHardState(1);
      const survived = last1 === 4;
      assert.equal(last2, survived ? 3 : 0, `partition 2 must follow partition 1 (last index ${last1})`);
      assertHardState(hard, survived ? hardState(2) : undefined, 'hard state follows its batch');
      assertEntries(await s.wal.readEntries(1, 1, 2), entries(1, 1, 2), 'the synced batch');
    });
  }

  if (supports.corruption === true) {
    test('a torn tail is cut on open: the last batch is all there or gone, earlier ones intact', async (s) => {
      await s.wal.append({ writes: [{ partition: 1, entries: entries(1, 1, 3), hardState: hardState(1) }], sync: true });
      await s.wal.append({
        writes: [
          { partition: 1, entries: entries(1, 4, 6), hardState: hardState(2) },
          { partition: 2, entries: entries(2, 1, 2) },
        ],
        sync: true,
      });
      await s.close();
      await (options.corruptTail as (wal: Wal) => Promise<void> | void)(s.wal);
      await s.reopen();
      assertEntries(await s.wal.readEntries(1, 1, 3), entries(1, 1, 3), 'the batch before the torn one');
      const survived = (await s.wal.lastIndex(1)) === 6;
      assert.equal(await s.wal.lastIndex(2), survived ? 2 : 0, 'partition 2 follows partition 1 in the torn batch');
      assertHardState(await s.wal.readHardState(1), survived ? hardState(2) : hardState(1), 'hard state follows its batch');
      const next = survived ? 7 : 4;
      await s.wal.append({ writes: [{ partition: 1, entries: entries(1, next, next) }], sync: true });
      assert.equal(await s.wal.lastIndex(1), next, 'the log accepts appends after the cut');
    });

    test('corruption before the tail stops the open with an error naming partition and index', async (s) => {
      for (let from = 1; from <= 100; from += 10) {
        await s.wal.append({ writes: [{ partition: 7, entries: entries(7, from, from + 9) }], sync: true });
      }
      await s.close();
      await (options.corruptRecord as (wal: Wal, partition: number, index: number) => Promise<void> | void)(s.wal, 7, 42);
      s.wal = await (options.reopen as (wal: Wal) => Promise<Wal> | Wal)(s.wal);
      await assert.rejects(
        () => s.wal.open(),
        (error: unknown) => {
          assert.ok(error instanceof Error, 'open must reject with an Error');
          assert.match(error.message, /partition\D{0,3}7\b/i, 'the error must name the partition');
          assert.match(error.message, /index\D{0,3}42\b/i, 'the error must name the index');
          return true;
        },
      );
    });
  }
}
