import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InMemoryWal, type WalBatch } from '@kommander/core';

/** Bytes written per entry and per hard state: about what a real WAL record of a 16-byte payload takes. */
const ENTRY_BYTES = 48;
const HARD_STATE_BYTES = 32;
/**
 * The scratch file is written out in full at open and then overwritten in a circle, so that an fdatasync
 * writes data only, not a new file size or newly allocated blocks (as RocksDB's recycled, preallocated log
 * files do); a file that grows costs a journal commit on every fdatasync and measured slower than RocksDB.
 */
const FILE_BYTES = 32 * 1024 * 1024;
const FILL_CHUNK = 1024 * 1024;

/**
 * For benchmarks only, never for data: an in-memory WAL that, for every append, also writes a record of
 * about the batch's size at the end of one scratch file and, when the batch asks for it, fdatasyncs the
 * file before the append resolves. It is the least any durable WAL must do per batch on this machine
 * (one write and one fdatasync through Node's thread pool, into blocks already on disk), without a
 * storage engine's work; a restart recovers nothing. The `fsyncfloor` bench scenarios run it to tell
 * the disk's share of a round from RocksDB's.
 */
export class FsyncFloorWal extends InMemoryWal {
  private file: FileHandle | undefined;
  private position = 0;
  /** Zeros written at open and reused for every record (what a record holds does not matter). */
  private zeros = Buffer.alloc(FILL_CHUNK);
  /** Writes to the scratch file, their bytes, and the fdatasyncs among them. */
  readonly probe = { writes: 0, bytes: 0, syncs: 0 };

  constructor(
    private readonly path: string,
    private readonly sync: boolean,
  ) {
    super();
  }

  override async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const file = await open(this.path, 'w');
    for (let at = 0; at < FILE_BYTES; at += FILL_CHUNK) await file.write(this.zeros, 0, FILL_CHUNK, at);
    await file.sync();
    this.file = file;
    this.position = 0;
    await super.open();
  }

  override async append(batch: WalBatch): Promise<void> {
    const file = this.file;
    if (file === undefined) throw new Error(`FsyncFloorWal.append: the scratch file ${this.path} is not open; call (and await) open() first`);
    let bytes = 0;
    for (const write of batch.writes) bytes += write.entries.length * ENTRY_BYTES + (write.hardState === undefined ? 0 : HARD_STATE_BYTES);
    if (bytes > 0) {
      if (bytes > this.zeros.length) this.zeros = Buffer.alloc(bytes);
      if (this.position + bytes > FILE_BYTES) this.position = 0;
      const at = this.position;
      this.position += bytes;
      this.probe.writes += 1;
      this.probe.bytes += bytes;
      await file.write(this.zeros, 0, bytes, at);
      if (this.sync && batch.sync) {
        this.probe.syncs += 1;
        await file.datasync();
      }
    }
    await super.append(batch);
  }

  override async close(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    await file?.close();
    await super.close();
  }
}
