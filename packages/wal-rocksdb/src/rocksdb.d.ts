/**
 * The parts of rocksdb 5.2.1 (a callback API on abstract-leveldown 7) that this package uses; the
 * package ships no types of its own. Keys and values are always Buffers here.
 */
declare module 'rocksdb' {
  namespace rocksdb {
    type Callback = (error: Error | null | undefined) => void;

    interface OpenOptions {
      readonly createIfMissing?: boolean;
      readonly errorIfExists?: boolean;
      readonly compression?: boolean;
      readonly cacheSize?: number;
      readonly writeBufferSize?: number;
      readonly blockSize?: number;
      readonly maxOpenFiles?: number;
      readonly blockRestartInterval?: number;
      readonly maxFileSize?: number;
      readonly infoLogLevel?: 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'header';
      readonly readOnly?: boolean;
    }

    interface IteratorOptions {
      readonly gt?: Buffer;
      readonly gte?: Buffer;
      readonly lt?: Buffer;
      readonly lte?: Buffer;
      readonly reverse?: boolean;
      readonly keys?: boolean;
      readonly values?: boolean;
      readonly keyAsBuffer?: boolean;
      readonly valueAsBuffer?: boolean;
      readonly limit?: number;
      /** Bytes the native side reads ahead per round trip (at most 1000 records either way). Default 16 KiB. */
      readonly highWaterMark?: number;
      readonly fillCache?: boolean;
    }

    interface Iterator {
      /** Calls back with no key and no value at the end of the range. */
      next(callback: (error: Error | null | undefined, key?: Buffer, value?: Buffer) => void): void;
      end(callback: Callback): void;
    }

    type BatchOperation =
      | { readonly type: 'put'; readonly key: Buffer; readonly value: Buffer }
      | { readonly type: 'del'; readonly key: Buffer };

    interface Database {
      readonly location: string;
      readonly status: 'new' | 'opening' | 'open' | 'closing' | 'closed';
      open(options: OpenOptions, callback: Callback): void;
      close(callback: Callback): void;
      /** Fails with a message starting with `NotFound` when the key is absent. */
      get(key: Buffer, options: { readonly asBuffer?: boolean; readonly fillCache?: boolean }, callback: (error: Error | null | undefined, value?: Buffer) => void): void;
      put(key: Buffer, value: Buffer, options: { readonly sync?: boolean }, callback: Callback): void;
      del(key: Buffer, options: { readonly sync?: boolean }, callback: Callback): void;
      batch(operations: readonly BatchOperation[], options: { readonly sync?: boolean }, callback: Callback): void;
      iterator(options: IteratorOptions): Iterator;
      clear(options: IteratorOptions, callback: Callback): void;
      approximateSize(start: Buffer, end: Buffer, callback: (error: Error | null | undefined, size?: number) => void): void;
      compactRange(start: Buffer, end: Buffer, callback: Callback): void;
      getProperty(property: string): string;
    }

    function destroy(location: string, callback: Callback): void;
  }

  function rocksdb(location: string): rocksdb.Database;
  export = rocksdb;
}
