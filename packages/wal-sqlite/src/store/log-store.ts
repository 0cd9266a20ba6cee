import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { InvalidArgumentError, type HardState, type LogBase } from '@kommander/core';
import { crc32 } from '../checksum.js';
import type { DecodedWrite } from '../codec/batch-decoder.js';
import { decodeState, encodeState } from '../codec/state-record.js';
import { SqliteWalError, SqliteWalErrorCode, corruptionError, type Damage } from '../errors.js';
import type { OpenSettings, ReadResult, TailCut } from '../protocol.js';
import { PartitionRuns, type RunInfo } from './partition-runs.js';
import { checkRun, offsetOf, sealRecords, termOf, type Run } from './run.js';
import { prepareSchema } from './schema.js';
import { Statements, type RunRow, type StateRow } from './statements.js';

/**
 * A run is cut when it would grow past this many bytes: a term lookup or a partial read then loads at
 * most about this much, while a read of a million entries still touches only a few thousand rows.
 */
const RUN_BYTES = 64 * 1024;

/**
 * An append is merged into the partition's last run when both together stay under this many bytes, so
 * that a log written a few entries at a time still reads back as runs of a useful size. Kept small:
 * the merge rewrites the last run, and with many partitions per batch those rewrites add up.
 */
const MERGE_BYTES = 512;

/** One partition as the worker knows it; lookups never query SQLite. */
interface PartitionState {
  readonly runs: PartitionRuns;
  hardState: HardState | undefined;
  base: LogBase;
  /** The live `states` row holding the hard state and base, if written. */
  stateRow: { readonly id: number; readonly batch: number } | undefined;
}

const NO_BASE: LogBase = Object.freeze({ index: 0, term: 0 });

type SyncMode = 'OFF' | 'NORMAL' | 'FULL';

/**
 * The log in one SQLite database, synchronous (it runs in the worker thread). One transaction per
 * batch; every batch gets the next sequence number, stored with the rows it writes (see schema.ts).
 */
export class LogStore {
  private readonly statements: Statements;
  /** Runs a function in one SQLite transaction (better-sqlite3 builds the wrapper once; building it per call costs more than a small batch). */
  private readonly transaction: (body: () => void) => void;
  private parts = new Map<number, PartitionState>();
  /** Sequence number of the newest committed batch or compaction. */
  private batch = 0;
  /** Rows the newest batch marked dead; the next batch deletes them. */
  private deadRuns: number[] = [];
  private deadStates: number[] = [];
  private syncMode: SyncMode | undefined;
  /** Whether a commit since the last fsync was made without one. */
  private unsynced = false;
  /** Set when a failed write left the memory state unknown and reloading it failed too. */
  private broken: Error | undefined;

  private constructor(
    private readonly db: Database.Database,
    private readonly settings: OpenSettings,
  ) {
    this.statements = new Statements(db);
    this.transaction = db.transaction((body: () => void) => body());
  }

  /** Opens the database, cuts a damaged last batch, checks the rest, and loads the partitions. */
  static open(settings: OpenSettings): { store: LogStore; cuts: TailCut[] } {
    const db = openDatabase(settings.path, settings.sync);
    try {
      const store = new LogStore(db, settings);
      const cuts = store.load(true);
      return { store, cuts };
    } catch (error) {
      db.close();
      throw error;
    }
  }

  append(writes: readonly DecodedWrite[], sync: boolean): void {
    this.ensureUsable();
    this.validate(writes);
    const durable = sync && this.settings.sync;
    if (!writes.some((write) => write.count > 0 || write.snapshot !== undefined || write.hardState !== undefined)) {
      if (durable && this.unsynced) this.flush();
      return;
    }
    this.setSync(!this.settings.sync ? 'OFF' : durable ? 'FULL' : 'NORMAL');
    this.commit((batch) => {
      const changed = new Set<number>();
      for (const write of writes) {
        const state = this.partition(write.partition);
        if (write.snapshot !== undefined) {
          this.kill(state.runs.clear(), batch);
          state.base = { index: write.snapshot.index, term: write.snapshot.term };
          changed.add(write.partition);
        }
        if (write.count > 0) this.writeEntries(state, write, batch);
        if (write.hardState !== undefined) {
          state.hardState = write.hardState;
          changed.add(write.partition);
        }
      }
      for (const partition of changed) this.writeState(partition, batch);
    });
    this.unsynced = this.settings.sync && !durable;
  }

  readEntries(partition: number, from: number, to: number): ReadResult {
    this.ensureUsable();
    const runs = this.parts.get(partition)?.runs;
    const lo = Math.max(from, runs?.first ?? 0);
    const hi = Math.min(to, runs?.last ?? 0);
    if (runs === undefined || runs.isEmpty || lo > hi) return { buffer: new ArrayBuffer(0), count: 0, from: lo };
    const pieces: Buffer[] = [];
    let bytes = 0;
    for (const info of runs.covering(lo, hi)) {
      const run = this.loadRun(info);
      const start = run.first < lo ? offsetOf(run, lo) : 0;
      const end = run.last > hi ? offsetOf(run, hi + 1) : run.records.length;
      pieces.push(run.records.subarray(start, end));
      bytes += end - start;
    }
    const buffer = new ArrayBuffer(bytes);
    const out = new Uint8Array(buffer);
    let offset = 0;
    for (const piece of pieces) {
      out.set(piece, offset);
      offset += piece.length;
    }
    return { buffer, count: hi - lo + 1, from: lo };
  }

  readHardState(partition: number): HardState | undefined {
    this.ensureUsable();
    return this.parts.get(partition)?.hardState;
  }

  firstIndex(partition: number): number {
    this.ensureUsable();
    return this.parts.get(partition)?.runs.first ?? 0;
  }

  lastIndex(partition: number): number {
    this.ensureUsable();
    return this.parts.get(partition)?.runs.last ?? 0;
  }

  logBase(partition: number): LogBase {
    this.ensureUsable();
    return this.parts.get(partition)?.base ?? NO_BASE;
  }

  partitions(): number[] {
    this.ensureUsable();
    const result: number[] = [];
    for (const [partition, state] of this.parts) {
      if (!state.runs.isEmpty || state.hardState !== undefined || state.base.index > 0) result.push(partition);
    }
    return result.sort((a, b) => a - b);
  }

  term(partition: number, index: number): number | undefined {
    this.ensureUsable();
    const runs = this.parts.get(partition)?.runs;
    const position = runs?.positionOf(index) ?? -1;
    if (runs === undefined || position < 0) return undefined;
    return termOf(this.loadRun(runs.at(position)), index);
  }

  compact(partition: number, through: number): void {
    this.ensureUsable();
    const state = this.parts.get(partition);
    if (state === undefined || state.runs.isEmpty || through < state.runs.first) return;
    const at = Math.min(through, state.runs.last);
    const position = state.runs.positionOf(at);
    const run = this.loadRun(state.runs.at(position));
    const base: LogBase = { index: at, term: termOf(run, at) };
    // The port lets a compaction wait for the next synced append to become durable.
    this.setSync(this.settings.sync ? 'NORMAL' : 'OFF');
    this.commit((batch) => {
      let rest: RunInfo | undefined;
      if (run.last > at) {
        const records = run.records.subarray(offsetOf(run, at + 1));
        rest = this.insertRun(partition, at + 1, run.last, batch, crc32(records), records);
      }
      this.kill(state.runs.removeThrough(position, rest), batch);
      state.base = base;
      this.writeState(partition, batch);
    });
    this.unsynced = this.settings.sync;
  }

  getMeta(key: string): Uint8Array | undefined {
    this.ensureUsable();
    const row = this.statements.meta(key);
    if (row === undefined) return undefined;
    if (row.crc !== metaChecksum(key, row.value)) {
      throw new SqliteWalError(
        SqliteWalErrorCode.corrupt,
        `SqliteWal.getMeta: the value of "${key}" in ${this.settings.path} fails its checksum; set it again (setMeta) if you know it`,
      );
    }
    return row.value;
  }

  setMeta(key: string, value: Uint8Array): void {
    this.ensureUsable();
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    this.setSync(this.settings.sync ? 'FULL' : 'OFF');
    this.statements.setMeta(key, metaChecksum(key, bytes), bytes);
    this.unsynced = false;
  }

  close(): void {
    // Closing checkpoints the SQLite WAL into the database file; FULL makes that durable too.
    if (this.settings.sync && this.broken === undefined) this.setSync('FULL');
    this.db.close();
  }

  /**
   * Runs `write` as the next batch: one transaction, which first deletes what the previous batch marked
   * dead. The memory state changes along with the rows; when the transaction fails it is reloaded from
   * the database, which SQLite rolled back.
   */
  private commit(write: (batch: number) => void): void {
    const batch = this.batch + 1;
    try {
      this.transaction(() => {
        for (const id of this.deadRuns) this.statements.deleteRun(id);
        for (const id of this.deadStates) this.statements.deleteState(id);
        this.deadRuns = [];
        this.deadStates = [];
        write(batch);
      });
    } catch (error) {
      try {
        this.load(false);
      } catch (reloadError) {
        this.broken = reloadError as Error;
      }
      throw error;
    }
    this.batch = batch;
  }

  /** Rejects a write that would leave a gap after the stored entries, before anything is written. */
  private validate(writes: readonly DecodedWrite[]): void {
    const lasts = new Map<number, number>();
    for (let w = 0; w < writes.length; w++) {
      const write = writes[w] as DecodedWrite;
      let last = write.snapshot !== undefined ? 0 : (lasts.get(write.partition) ?? this.parts.get(write.partition)?.runs.last ?? 0);
      if (write.count > 0) {
        if (last > 0 && write.first > last + 1) {
          throw new InvalidArgumentError(
            `SqliteWal.append: batch.writes[${w}].entries`,
            `start at index ${write.first} but the last stored index of partition ${write.partition} is ${last}; ` +
              `a write must start at or before ${last + 1} (compact the partition first to restart it further on)`,
          );
        }
        last = write.first + write.count - 1;
      }
      lasts.set(write.partition, last);
    }
  }

  /** Removes what the write replaces, then stores its entries as new runs (merged into the last run when both are small). */
  private writeEntries(state: PartitionState, write: DecodedWrite, batch: number): void {
    const runs = state.runs;
    const partition = write.partition;
    const start = write.first;
    let prefix: { first: number; crc: number; records: Buffer } | undefined;
    if (runs.isEmpty || start <= runs.first) {
      this.kill(runs.clear(), batch);
    } else {
      const position = runs.positionOf(start - 1);
      if (position < 0) this.fail({ partition, index: start - 1, reason: 'its record is missing' });
      const head = runs.at(position);
      const straddles = head.last >= start;
      if (straddles || (position === runs.size - 1 && head.bytes + write.records.length <= MERGE_BYTES)) {
        const run = this.loadRun(head);
        const records = straddles ? run.records.subarray(0, offsetOf(run, start)) : run.records;
        prefix = { first: run.first, crc: straddles ? crc32(records) : run.crc, records };
        this.kill(runs.removeFrom(position), batch);
      } else {
        this.kill(runs.removeFrom(position + 1), batch);
      }
    }
    const records = write.records;
    let from = 0;
    let first = start;
    for (const piece of sealRecords(records, RUN_BYTES)) {
      const bytes = records.subarray(from, piece.end);
      const last = first + piece.count - 1;
      if (prefix !== undefined && prefix.records.length + bytes.length <= RUN_BYTES) {
        runs.push(this.insertRun(partition, prefix.first, last, batch, crc32(bytes, prefix.crc), Buffer.concat([prefix.records, bytes])));
      } else {
        if (prefix !== undefined) runs.push(this.insertRun(partition, prefix.first, first - 1, batch, prefix.crc, prefix.records));
        runs.push(this.insertRun(partition, first, last, batch, crc32(bytes), bytes));
      }
      prefix = undefined;
      first = last + 1;
      from = piece.end;
    }
  }

  private insertRun(partition: number, first: number, last: number, batch: number, crc: number, records: Buffer): RunInfo {
    const id = this.statements.insertRun(partition, first, last, batch, crc, records);
    return { id, partition, first, last, crc, bytes: records.length, batch };
  }

  /** Deletes the runs this batch wrote itself; marks the older ones dead, for the next batch to delete. */
  private kill(runs: readonly RunInfo[], batch: number): void {
    for (const run of runs) {
      if (run.batch === batch) {
        this.statements.deleteRun(run.id);
      } else {
        this.statements.markRunDead(run.id, batch);
        this.deadRuns.push(run.id);
      }
    }
  }

  private writeState(partition: number, batch: number): void {
    const state = this.partition(partition);
    const row = state.stateRow;
    if (row !== undefined && row.batch === batch) {
      this.statements.deleteState(row.id);
    } else if (row !== undefined) {
      this.statements.markStateDead(row.id, batch);
      this.deadStates.push(row.id);
    }
    const id = this.statements.insertState(partition, batch, encodeState({ partition, hardState: state.hardState, base: state.base }));
    state.stateRow = { id, batch };
  }

  private partition(partition: number): PartitionState {
    let state = this.parts.get(partition);
    if (state === undefined) {
      state = { runs: new PartitionRuns(), hardState: undefined, base: NO_BASE, stateRow: undefined };
      this.parts.set(partition, state);
    }
    return state;
  }

  private loadRun(info: RunInfo): Run {
    const records = this.statements.records(info.id);
    if (records === undefined) this.fail({ partition: info.partition, index: info.first, reason: 'its run of records is missing' });
    const run: Run = { partition: info.partition, first: info.first, last: info.last, crc: info.crc, records };
    const damage = checkRun(run);
    if (damage !== undefined) this.fail(damage);
    return run;
  }

  private fail(damage: Damage): never {
    throw corruptionError(this.settings.path, damage);
  }

  private ensureUsable(): void {
    if (this.broken !== undefined) {
      throw new SqliteWalError(
        SqliteWalErrorCode.storage,
        `SqliteWal: the log at ${this.settings.path} is unusable after a failed write (${this.broken.message}); close it and open it again`,
      );
    }
  }

  private setSync(mode: SyncMode): void {
    if (this.syncMode === mode) return;
    this.db.pragma(`synchronous = ${mode}`);
    this.syncMode = mode;
  }

  /** Makes earlier unsynced commits durable when a synced batch has nothing to write: a checkpoint syncs the SQLite WAL first. */
  private flush(): void {
    this.setSync('FULL');
    this.db.pragma('wal_checkpoint(PASSIVE)');
    this.unsynced = false;
  }

  /**
   * Reads every run and state row into memory. With `repair` (on open), first removes the newest batch
   * when any of its rows is damaged, then checks every record when `verifyOnOpen` asks for it.
   */
  private load(repair: boolean): TailCut[] {
    let runRows = this.statements.runRows();
    let stateRows = this.statements.stateRows();
    let newest = newestBatch(runRows, stateRows);
    const cuts: TailCut[] = [];
    const damage = repair && newest > 0 ? this.checkBatch(newest, runRows, stateRows) : undefined;
    if (damage !== undefined) {
      const cut = newest;
      const partitions = [...new Set([...runRows, ...stateRows].filter((row) => row.batch === cut).map((row) => row.partition))].sort((a, b) => a - b);
      this.setSync(this.settings.sync ? 'FULL' : 'OFF');
      this.transaction(() => {
        for (const row of runRows) if (row.batch === cut) this.statements.deleteRun(row.id);
        for (const row of stateRows) if (row.batch === cut) this.statements.deleteState(row.id);
        this.statements.reviveRuns(cut);
        this.statements.reviveStates(cut);
      });
      runRows = runRows.filter((row) => row.batch !== cut).map((row) => (row.dead === cut ? { ...row, dead: null } : row));
      stateRows = stateRows.filter((row) => row.batch !== cut).map((row) => (row.dead === cut ? { ...row, dead: null } : row));
      newest = newestBatch(runRows, stateRows);
      const where = damage.index === undefined ? `partition ${damage.partition}, hard state and base` : `partition ${damage.partition}, index ${damage.index}`;
      cuts.push({ batch: cut, partitions, reason: `${where}: ${damage.reason}` });
    }
    this.batch = newest;
    this.parts = new Map();
    this.deadRuns = [];
    this.deadStates = [];
    this.loadStates(stateRows);
    const live = this.loadRuns(runRows);
    if (repair && this.settings.verifyOnOpen) this.checkAllRuns(live);
    return cuts;
  }

  private loadStates(rows: readonly StateRow[]): void {
    for (const row of rows) {
      if (row.dead !== null) {
        this.deadStates.push(row.id);
        continue;
      }
      const decoded = decodeState(row.record);
      if (typeof decoded === 'string') this.fail({ partition: row.partition, index: undefined, reason: decoded });
      if (decoded.partition !== row.partition) this.fail({ partition: row.partition, index: undefined, reason: `its record is the one of partition ${decoded.partition}` });
      const state = this.partition(row.partition);
      if (state.stateRow !== undefined) this.fail({ partition: row.partition, index: undefined, reason: 'it is stored twice' });
      state.hardState = decoded.hardState;
      state.base = decoded.base;
      state.stateRow = { id: row.id, batch: row.batch };
    }
  }

  /** Puts the live runs in order per partition and checks that each follows the one before; returns them by id. */
  private loadRuns(rows: readonly RunRow[]): Map<number, RunInfo> {
    const live = new Map<number, RunInfo>();
    const byPartition = new Map<number, RunInfo[]>();
    for (const row of rows) {
      if (row.dead !== null) {
        this.deadRuns.push(row.id);
        continue;
      }
      const info: RunInfo = row;
      live.set(info.id, info);
      let list = byPartition.get(info.partition);
      if (list === undefined) {
        list = [];
        byPartition.set(info.partition, list);
      }
      list.push(info);
    }
    for (const [partition, list] of byPartition) {
      list.sort((a, b) => a.first - b.first);
      const runs = this.partition(partition).runs;
      for (const info of list) {
        if (info.last < info.first) this.fail({ partition, index: info.first, reason: `its run claims to end at index ${info.last}` });
        if (!runs.isEmpty && info.first !== runs.last + 1) {
          this.fail({ partition, index: Math.min(info.first, runs.last + 1), reason: info.first > runs.last + 1 ? 'its record is missing' : 'it is stored twice' });
        }
        runs.push(info);
      }
    }
    return live;
  }

  /** The first damage among the rows `batch` wrote, if any. */
  private checkBatch(batch: number, runRows: readonly RunRow[], stateRows: readonly StateRow[]): Damage | undefined {
    for (const row of runRows) {
      if (row.batch !== batch) continue;
      const records = this.statements.records(row.id);
      if (records === undefined) return { partition: row.partition, index: row.first, reason: 'its run of records is missing' };
      const damage = checkRun({ partition: row.partition, first: row.first, last: row.last, crc: row.crc, records });
      if (damage !== undefined) return damage;
    }
    for (const row of stateRows) {
      if (row.batch !== batch) continue;
      const state = decodeState(row.record);
      if (typeof state === 'string') return { partition: row.partition, index: undefined, reason: state };
    }
    return undefined;
  }

  /** Verifies the records of every live run, reading them in storage order. */
  private checkAllRuns(live: Map<number, RunInfo>): void {
    let seen = 0;
    for (const row of this.statements.allRecords()) {
      const info = live.get(row.id);
      if (info === undefined) continue;
      const damage = checkRun({ partition: info.partition, first: info.first, last: info.last, crc: info.crc, records: row.records });
      if (damage !== undefined) this.fail(damage);
      seen += 1;
    }
    if (seen !== live.size) {
      for (const info of live.values()) if (this.statements.records(info.id) === undefined) this.fail({ partition: info.partition, index: info.first, reason: 'its run of records is missing' });
    }
  }
}

function newestBatch(runRows: readonly RunRow[], stateRows: readonly StateRow[]): number {
  let newest = 0;
  for (const row of runRows) if (row.batch > newest) newest = row.batch;
  for (const row of stateRows) if (row.batch > newest) newest = row.batch;
  return newest;
}

function metaChecksum(key: string, value: Uint8Array): number {
  return crc32(value, crc32(Buffer.from(key, 'utf8')));
}

/** Opens the file, takes the lock for the life of the connection, and prepares the schema. */
function openDatabase(path: string, sync: boolean): Database.Database {
  let db: Database.Database;
  try {
    mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, { timeout: 0 });
  } catch (error) {
    throw new SqliteWalError(SqliteWalErrorCode.storage, `SqliteWal.open: cannot open ${path}: ${(error as Error).message}`);
  }
  try {
    // EXCLUSIVE: the lock taken by the first transaction below is held until close, so no other
    // process (or connection) can open the log meanwhile; with WAL it also keeps the wal-index in memory.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma(`synchronous = ${sync ? 'FULL' : 'OFF'}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new SqliteWalError(SqliteWalErrorCode.storage, `SqliteWal.open: ${path} cannot use SQLite's WAL journal mode (got ${String(mode)})`);
    db.transaction(() => prepareSchema(db, path)).immediate();
    return db;
  } catch (error) {
    db.close();
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new SqliteWalError(
        SqliteWalErrorCode.locked,
        `SqliteWal.open: the database at ${path} is in use by another process (or by another open SqliteWal in this one); ` +
          'stop that node (or close that SqliteWal) first, or give this one a path of its own',
      );
    }
    if (code === 'SQLITE_NOTADB') {
      throw new SqliteWalError(SqliteWalErrorCode.incompatible, `SqliteWal.open: ${path} is not a SQLite database; give SqliteWal a path of its own`);
    }
    throw error;
  }
}
