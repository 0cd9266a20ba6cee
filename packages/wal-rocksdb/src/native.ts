/// <reference path="./rocksdb.d.ts" />
import rocksdb from 'rocksdb';

/** How RocksDB itself is tuned; see {@link RocksDbWalOptions} for the meaning and defaults. */
export interface StoreTuning {
  readonly writeBufferSize: number;
  readonly cacheSize: number;
  readonly compression: boolean;
}

/** One write of an atomic batch. */
export type StoreOperation = { readonly type: 'put'; readonly key: Buffer; readonly value: Buffer } | { readonly type: 'del'; readonly key: Buffer };

/** A key range for {@link Store.scan}; bounds are inclusive unless named `lt`. */
export interface ScanRange {
  readonly gte: Buffer;
  readonly lt?: Buffer;
  readonly lte?: Buffer;
  readonly reverse?: boolean;
  readonly limit?: number;
}

/** What a scan hands over per record; with `keys` or `values` false that Buffer is empty. */
export type ScanVisitor = (key: Buffer, value: Buffer) => void;

/**
 * The rocksdb binding behind promises, reduced to what the WAL needs. Errors keep RocksDB's message;
 * callers add what they were doing.
 */
export class Store {
  private constructor(private readonly db: rocksdb.Database) {}

  /** Opens (creating it when missing) the database at `location`; fails as RocksDB does, lock conflicts included. */
  static async open(location: string, tuning: StoreTuning): Promise<Store> {
    const db = rocksdb(location);
    await new Promise<void>((resolve, reject) => {
      db.open(
        {
          createIfMissing: true,
          errorIfExists: false,
          compression: tuning.compression,
          writeBufferSize: tuning.writeBufferSize,
          cacheSize: tuning.cacheSize,
        },
        (error) => (error ? reject(error) : resolve()),
      );
    });
    return new Store(db);
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.db.close((error) => (error ? reject(error) : resolve())));
  }

  /** The value under `key`, or `undefined` when there is none. */
  get(key: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
      this.db.get(key, { asBuffer: true, fillCache: true }, (error, value) => {
        if (error) {
          if (error.message.startsWith('NotFound')) resolve(undefined);
          else reject(error);
          return;
        }
        resolve(value);
      });
    });
  }

  /** Applies `operations` atomically; `sync` waits for RocksDB's own log to reach the disk (fsync). */
  write(operations: readonly StoreOperation[], sync: boolean): Promise<void> {
    if (operations.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.db.batch(operations, { sync }, (error) => (error ? reject(error) : resolve()));
    });
  }

  /**
   * Visits the records of `range` in key order, reading ahead `highWaterMark` bytes per native round trip.
   * The iterator sees one consistent snapshot taken when the scan starts (synchronously, before this
   * returns). A visitor that throws ends the scan and rejects with its error.
   */
  scan(range: ScanRange, options: { readonly keys: boolean; readonly values: boolean; readonly highWaterMark: number }, visit: ScanVisitor): Promise<void> {
    const iterator = this.db.iterator({
      gte: range.gte,
      ...(range.lt === undefined ? {} : { lt: range.lt }),
      ...(range.lte === undefined ? {} : { lte: range.lte }),
      reverse: range.reverse ?? false,
      limit: range.limit ?? -1,
      keys: options.keys,
      values: options.values,
      // A skipped key or value still comes back per record: an empty string costs less than an empty Buffer.
      keyAsBuffer: options.keys,
      valueAsBuffer: options.values,
      highWaterMark: options.highWaterMark,
      fillCache: false,
    });
    return new Promise((resolve, reject) => {
      const finish = (failure: unknown): void => {
        iterator.end((endError) => {
          if (failure !== undefined) reject(failure);
          else if (endError) reject(endError);
          else resolve();
        });
      };
      const step = (): void => {
        iterator.next((error, key, value) => {
          if (error) return finish(error);
          if (key === undefined && value === undefined) return finish(undefined);
          try {
            visit(options.keys && key !== undefined ? key : EMPTY, options.values && value !== undefined ? value : EMPTY);
          } catch (failure) {
            return finish(failure);
          }
          step();
        });
      };
      step();
    });
  }
}

const EMPTY = Buffer.alloc(0);
