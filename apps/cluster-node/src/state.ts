import type { RaftLog, StateTransfer } from '@kommander/core';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A put as it travels in the log: the key and the value, as JSON. */
export function encodePut(key: string, value: string): Uint8Array {
  return encoder.encode(JSON.stringify({ key, value }));
}

/**
 * The node's application: a key-value map per partition and, for the tests' comparisons, the sequence of
 * applied puts (log id and key=value). It lives in memory; `onLogRestored` rebuilds it after a restart and
 * the snapshot of a partition is its whole state.
 */
export class KvState implements StateTransfer {
  private readonly maps = new Map<number, Map<string, string>>();
  private readonly applied = new Map<number, string[]>();
  private readonly replayed = new Map<number, number>();

  /** An entry the WAL replay hands back at start-up (`onLogRestored`): applied, and counted. */
  restore(partition: number, log: RaftLog): boolean {
    if (log.type === 'put') this.replayed.set(partition, this.restored(partition) + 1);
    return this.apply(partition, log);
  }

  /** Puts of `partition` that this process's WAL replay applied. */
  restored(partition: number): number {
    return this.replayed.get(partition) ?? 0;
  }

  apply(partition: number, log: RaftLog): boolean {
    if (log.type !== 'put') return true;
    const { key, value } = JSON.parse(decoder.decode(log.data)) as { key: string; value: string };
    this.map(partition).set(key, value);
    this.sequence(partition).push(`${log.id}:${key}=${value}`);
    return true;
  }

  get(partition: number, key: string): string | undefined {
    return this.maps.get(partition)?.get(key);
  }

  /** The puts applied on `partition`, in order, as `id:key=value`. */
  sequence(partition: number): string[] {
    let list = this.applied.get(partition);
    if (list === undefined) {
      list = [];
      this.applied.set(partition, list);
    }
    return list;
  }

  exportState(partition: number): Uint8Array {
    return encoder.encode(JSON.stringify({ map: [...this.map(partition)], applied: this.sequence(partition) }));
  }

  importState(partition: number, _index: number, state: Uint8Array): void {
    const parsed = JSON.parse(decoder.decode(state)) as { map: [string, string][]; applied: string[] };
    this.maps.set(partition, new Map(parsed.map));
    this.applied.set(partition, parsed.applied);
  }

  private map(partition: number): Map<string, string> {
    let m = this.maps.get(partition);
    if (m === undefined) {
      m = new Map();
      this.maps.set(partition, m);
    }
    return m;
  }
}
