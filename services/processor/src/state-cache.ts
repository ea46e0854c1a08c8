import type { EpochMs } from "@clm/core";

/** A customer as this process last committed it. */
export interface CachedCustomer {
  /**
   * The packed state it wrote (state-codec) as a latin1 string, one byte per char: one flat heap
   * object, where a state object is ~1 KiB in five or six objects for the GC to trace, and a
   * Uint8Array a second allocation outside the heap (docs/performance.md).
   */
  packed: string;
  /**
   * The deadline this process's own commit put in the timer index (null: none there), so an
   * unchanged deadline need not be written again.
   */
  indexedDeadline: EpochMs | null;
}

/**
 * The customers of one partition as they are in Redis at write sequence `seq`. Every commit
 * increments the partition's seq and is refused unless Redis still holds the seq it expects,
 * so while this process's commits succeed, nothing else has written the partition and what it
 * committed is still current: batches then read from Redis only customers it has not written.
 * Any other seq (another writer after a rebalance, a wiped prefix, a Redis that lost writes)
 * empties the cache.
 * Least recently written customers are dropped beyond `capacity`.
 */
export class StateCache {
  private readonly entries = new Map<string, CachedCustomer>();
  private seq: number | null = null;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Called with the seq a write will expect: entries of any other seq are dropped. */
  sync(seq: number): void {
    if (seq === this.seq) return;
    this.entries.clear();
    this.seq = seq;
  }

  /** Forget everything (ownership may have moved). */
  clear(): void {
    this.entries.clear();
    this.seq = null;
  }

  get(customerId: string): CachedCustomer | undefined {
    return this.entries.get(customerId);
  }

  /**
   * After a commit that expected `expectedSeq` and made it `seq`: the written customers are current
   * now. If the cache was cleared or re-synced meanwhile (a rebalance during the write), it stays as
   * it is and the next sync decides.
   */
  committed(expectedSeq: number, seq: number, written: Iterable<{ customerId: string; packed: Uint8Array; deadline: EpochMs | null }>): void {
    if (this.seq !== expectedSeq || this.capacity === 0) return;
    this.seq = seq;
    for (const { customerId, packed, deadline } of written) {
      // Re-inserted, so the Map's order is the order of last writes: eviction takes the oldest.
      this.entries.delete(customerId);
      this.entries.set(customerId, { packed: Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength).toString("latin1"), indexedDeadline: deadline });
    }
    if (this.entries.size <= this.capacity) return;
    let excess = this.entries.size - this.capacity;
    for (const customerId of this.entries.keys()) {
      if (excess-- === 0) break;
      this.entries.delete(customerId);
    }
  }
}
