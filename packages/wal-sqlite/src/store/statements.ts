import type Database from 'better-sqlite3';
import type { RunInfo } from './partition-runs.js';

/** A row of `runs`. */
export interface RunRow extends RunInfo {
  readonly dead: number | null;
}

/** A row of `states`. */
export interface StateRow {
  readonly id: number;
  readonly partition: number;
  readonly batch: number;
  readonly dead: number | null;
  readonly record: Buffer;
}

/** Every SQL statement of the store, prepared once. Rows are found by id: the worker keeps the indexes in memory. */
export class Statements {
  private readonly sql: ReturnType<typeof prepare>;

  constructor(db: Database.Database) {
    this.sql = prepare(db);
  }

  runRows(): RunRow[] {
    // Raw arrays turned into objects here: about twice as fast as letting better-sqlite3 build objects.
    const rows: RunRow[] = [];
    for (const row of this.sql.runRows.iterate() as IterableIterator<[number, number, number, number, number, number | null, number, number]>) {
      rows.push({ id: row[0], partition: row[1], first: row[2], last: row[3], batch: row[4], dead: row[5], crc: row[6], bytes: row[7] });
    }
    return rows;
  }

  /** Every run's records, in storage order. */
  allRecords(): IterableIterator<{ id: number; records: Buffer }> {
    return this.sql.allRecords.iterate() as IterableIterator<{ id: number; records: Buffer }>;
  }

  records(id: number): Buffer | undefined {
    return this.sql.records.get(id) as Buffer | undefined;
  }

  /** Returns the new row's id. */
  insertRun(partition: number, first: number, last: number, batch: number, crc: number, records: Buffer): number {
    const id = Number(this.sql.insertRun.run(partition, first, last, batch, crc, records.length).lastInsertRowid);
    this.sql.insertRecords.run(id, records);
    return id;
  }

  markRunDead(id: number, batch: number): void {
    this.sql.markRunDead.run(batch, id);
  }

  deleteRun(id: number): void {
    this.sql.deleteRecords.run(id);
    this.sql.deleteRun.run(id);
  }

  reviveRuns(batch: number): void {
    this.sql.reviveRuns.run(batch);
  }

  stateRows(): StateRow[] {
    return this.sql.stateRows.all() as StateRow[];
  }

  /** Returns the new row's id. */
  insertState(partition: number, batch: number, record: Buffer): number {
    return Number(this.sql.insertState.run(partition, batch, record).lastInsertRowid);
  }

  markStateDead(id: number, batch: number): void {
    this.sql.markStateDead.run(batch, id);
  }

  deleteState(id: number): void {
    this.sql.deleteState.run(id);
  }

  reviveStates(batch: number): void {
    this.sql.reviveStates.run(batch);
  }

  meta(key: string): { crc: number; value: Buffer } | undefined {
    return this.sql.meta.get(key) as { crc: number; value: Buffer } | undefined;
  }

  setMeta(key: string, crc: number, value: Buffer): void {
    this.sql.setMeta.run(key, crc, value);
  }
}

function prepare(db: Database.Database) {
  return {
    runRows: db.prepare('SELECT id, partition, first, last, batch, dead, crc, bytes FROM runs').raw(),
    allRecords: db.prepare('SELECT id, records FROM run_records'),
    records: db.prepare('SELECT records FROM run_records WHERE id = ?').pluck(),
    insertRun: db.prepare('INSERT INTO runs (partition, first, last, batch, crc, bytes) VALUES (?, ?, ?, ?, ?, ?)'),
    insertRecords: db.prepare('INSERT INTO run_records (id, records) VALUES (?, ?)'),
    markRunDead: db.prepare('UPDATE runs SET dead = ? WHERE id = ?'),
    deleteRecords: db.prepare('DELETE FROM run_records WHERE id = ?'),
    deleteRun: db.prepare('DELETE FROM runs WHERE id = ?'),
    reviveRuns: db.prepare('UPDATE runs SET dead = NULL WHERE dead = ?'),
    stateRows: db.prepare('SELECT id, partition, batch, dead, record FROM states'),
    insertState: db.prepare('INSERT INTO states (partition, batch, record) VALUES (?, ?, ?)'),
    markStateDead: db.prepare('UPDATE states SET dead = ? WHERE id = ?'),
    deleteState: db.prepare('DELETE FROM states WHERE id = ?'),
    reviveStates: db.prepare('UPDATE states SET dead = NULL WHERE dead = ?'),
    meta: db.prepare('SELECT crc, value FROM meta WHERE key = ?'),
    setMeta: db.prepare('INSERT INTO meta (key, crc, value) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET crc = excluded.crc, value = excluded.value'),
  };
}
