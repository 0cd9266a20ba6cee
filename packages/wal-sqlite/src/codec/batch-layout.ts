/**
 * How an append travels to the worker: one ArrayBuffer, transferred, never cloned.
 *
 * ```
 * u32 number of writes, then per write:
 *   u32 partition
 *   u8  flags (WriteFlag)
 *   snapshot when flagged:   u64 index, u64 term
 *   hard state when flagged: u64 term, u64 commit, u32 vote byte length, vote (UTF-8)
 *   u32 number of entries
 *   u32 byte length of the records
 *   the entry records (see entry-record.ts), contiguous and in index order
 * ```
 */
export const WriteFlag = {
  snapshot: 1,
  hardState: 2,
} as const;

/** Largest partition id a record can hold (u32). */
export const MAX_PARTITION = 0xffff_ffff;
