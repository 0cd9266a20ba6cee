import { randomFill } from 'node:crypto';
import { InMemoryWal, type WalBatch } from '@kommander/core';

/**
 * For benchmarks only, never for data: an in-memory WAL that, for every append that asks to be synced,
 * makes one round trip through Node's thread pool (filling 16 random bytes, next to no work) before the
 * append resolves, and touches no file. Any durable WAL that does not block the event loop has at least
 * this hop per synced batch, so the `hopfloor` bench scenarios tell what the hop alone costs a round on
 * the machine, apart from the disk (the `fsyncfloor` lines) and the storage engine (the RocksDB lines).
 */
export class HopFloorWal extends InMemoryWal {
  private readonly scratch = Buffer.alloc(16);
  /** Appends that made the hop. */
  readonly probe = { hops: 0 };

  constructor(private readonly sync: boolean) {
    super();
  }

  override async append(batch: WalBatch): Promise<void> {
    if (this.sync && batch.sync) {
      this.probe.hops += 1;
      await new Promise<void>((resolve, reject) => randomFill(this.scratch, (error) => (error === null ? resolve() : reject(error))));
    }
    await super.append(batch);
  }
}
