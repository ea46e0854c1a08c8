import { decodeHistoryEntry, decodeState, type CustomerState, type EpochMs, type HistoryEntry, type ValueModel } from "@clm/core";
import type { RedisClient } from "@clm/redis";
import type { RedisLayout } from "./redis-layout.ts";
import { readValueModel } from "./value-model.ts";

/** What Redis holds about one partition besides its customers. */
export interface PartitionMeta {
  /** Next input offset to apply; null before anything was applied. */
  offset: string | null;
  /** Write fence: every committed write increments it. */
  seq: number;
  /** Event-time watermark (event clock mode). */
  watermark: EpochMs | null;
  /** The value model active on the partition (its version; the model is in the versions hash), and since when. */
  valueModel: { version: string; activatedAt: EpochMs } | null;
  /** Where the refit sweep to the active model goes on (a SCAN cursor); null when no sweep is due. */
  refitCursor: string | null;
  /** The instant the partition's event-time sweeps have fired deadlines through (event clock mode). */
  sweptThrough: EpochMs | null;
  /**
   * The audience definitions active on the partition (their version; the set is in the versions
   * hash), since when, and the sets active before them, newest first (a customer not yet reached
   * moves through each in turn).
   */
  audiences: { version: string; activatedAt: EpochMs; previous: { version: string; activatedAt: EpochMs }[] } | null;
  /** Where the sweep to newly active audience definitions goes on (a SCAN cursor); null when none is due. */
  audienceCursor: string | null;
}

/**
 * Reads the processor's state without writing anything: customer states, partition meta, the
 * customers' recent stage changes and the outbox length. Only the processor writes these keys
 * (services/processor StateStore, one fenced script per batch), so every read here sees one
 * committed write or the next, never half of one.
 */
export class StateReader {
  constructor(
    protected readonly redis: RedisClient,
    readonly layout: RedisLayout,
  ) {}

  async loadMeta(partition: number): Promise<PartitionMeta> {
    const [offset, seq, watermark, valueModel, valueModelAt, refitCursor, sweptThrough, audiences, audiencesAt, audienceCursor, audiencesBefore] = await this.redis.hmget(
      this.layout.meta(partition),
      "offset",
      "seq",
      "watermark",
      "valueModel",
      "valueModelAt",
      "refitCursor",
      "sweptThrough",
      "audiences",
      "audiencesAt",
      "audienceCursor",
      "audiencesBefore",
    );
    return {
      offset: offset ?? null,
      seq: Number(seq ?? 0),
      watermark: watermark === null || watermark === undefined ? null : Number(watermark),
      valueModel: valueModel === null || valueModel === undefined ? null : { version: valueModel, activatedAt: Number(valueModelAt ?? 0) },
      refitCursor: refitCursor ?? null,
      sweptThrough: sweptThrough === null || sweptThrough === undefined ? null : Number(sweptThrough),
      audiences:
        audiences === null || audiences === undefined
          ? null
          : { version: audiences, activatedAt: Number(audiencesAt ?? 0), previous: audiencesBefore ? (JSON.parse(audiencesBefore) as { version: string; activatedAt: EpochMs }[]) : [] },
      audienceCursor: audienceCursor ?? null,
    };
  }

  async loadStates(partition: number, customerIds: Iterable<string>): Promise<Map<string, CustomerState>> {
    const ids = [...customerIds];
    const states = new Map<string, CustomerState>();
    if (ids.length === 0) return states;
    // An array, not spread arguments: a sweep can load tens of thousands of customers at once.
    const values = await this.redis.mgetBuffer(ids.map((id) => this.layout.customer(partition, id)));
    values.forEach((value, index) => {
      if (value) states.set(ids[index]!, decodeState(ids[index]!, value));
    });
    return states;
  }

  /** The customer's most recent stage changes, newest first. */
  async history(partition: number, customerId: string, limit: number): Promise<HistoryEntry[]> {
    const entries = await this.redis.lrangeBuffer(this.layout.history(partition, customerId), 0, limit - 1);
    return entries.map((entry) => decodeHistoryEntry(customerId, entry));
  }

  /** A stored value model by version; null when the versions hash does not hold it. */
  async valueModel(version: string): Promise<ValueModel | null> {
    return readValueModel(this.redis, this.layout, version);
  }

  /** Stage changes written with the state and not yet published. */
  async outboxLength(partition: number): Promise<number> {
    return this.redis.llen(this.layout.outbox(partition));
  }
}
