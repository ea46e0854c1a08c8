export type SinkTable = "events" | "stage_transitions" | "customer_snapshots" | "value_tier_changes" | "risk_changes" | "audience_changes";
export const SINK_TABLES: readonly SinkTable[] = ["events", "stage_transitions", "customer_snapshots", "value_tier_changes", "risk_changes", "audience_changes"];

/** Rows per table plus the next offset to commit per topic-partition once they are written. */
export interface Pending {
  /** Serialized JSONEachRow lines per table. */
  rows: Record<SinkTable, string[]>;
  /** "topic\u0000partition" → next offset (last written + 1). */
  offsets: Map<string, { topic: string; partition: number; offset: bigint }>;
  firstAddedAt: number | null;
}

function emptyPending(): Pending {
  return { rows: { events: [], stage_transitions: [], customer_snapshots: [], value_tier_changes: [], risk_changes: [], audience_changes: [] }, offsets: new Map(), firstAddedAt: null };
}

/**
 * What the sink holds between Kafka and ClickHouse. `take` hands everything to a write;
 * a failed write gives it back with `restore`, ahead of what arrived meanwhile, so nothing
 * is dropped and offsets are committed only for rows that were written.
 */
export class SinkBuffer {
  private pending = emptyPending();
  private count = 0;

  get rowCount(): number {
    return this.count;
  }

  /** No rows and no offsets to commit (a batch of skipped records still advances offsets). */
  get isEmpty(): boolean {
    return this.count === 0 && this.pending.offsets.size === 0;
  }

  /** Milliseconds the oldest held row has waited, 0 when empty. */
  age(now: number): number {
    return this.pending.firstAddedAt === null ? 0 : now - this.pending.firstAddedAt;
  }

  /** Adds a consumed batch: its rows and the offset after its last record (advances even when all rows were skipped). */
  add(rows: Partial<Record<SinkTable, string[]>>, topic: string, partition: number, nextOffset: bigint, now: number): void {
    for (const table of SINK_TABLES) {
      const list = rows[table];
      if (!list || list.length === 0) continue;
      for (const row of list) this.pending.rows[table].push(row);
      this.count += list.length;
    }
    const key = `${topic}\u0000${partition}`;
    const known = this.pending.offsets.get(key);
    if (!known || known.offset < nextOffset) this.pending.offsets.set(key, { topic, partition, offset: nextOffset });
    this.pending.firstAddedAt ??= now;
  }

  take(): Pending {
    const taken = this.pending;
    this.pending = emptyPending();
    this.count = 0;
    return taken;
  }

  restore(taken: Pending): void {
    const later = this.pending;
    this.pending = taken;
    this.count = 0;
    for (const table of SINK_TABLES) this.count += taken.rows[table].length;
    for (const table of SINK_TABLES) for (const row of later.rows[table]) this.pending.rows[table].push(row);
    this.count += SINK_TABLES.reduce((sum, table) => sum + later.rows[table].length, 0);
    for (const [key, value] of later.offsets) {
      const known = this.pending.offsets.get(key);
      if (!known || known.offset < value.offset) this.pending.offsets.set(key, value);
    }
    if (later.firstAddedAt !== null) this.pending.firstAddedAt = Math.min(this.pending.firstAddedAt ?? later.firstAddedAt, later.firstAddedAt);
  }

  /** After a rebalance: forget commits for partitions this member no longer owns (their rows are still written; the new owner re-reads them). */
  retainOffsets(owned: (topic: string, partition: number) => boolean): void {
    for (const [key, value] of this.pending.offsets) if (!owned(value.topic, value.partition)) this.pending.offsets.delete(key);
  }
}
