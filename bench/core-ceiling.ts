import {
  type ActiveAudiences,
  decodeState,
  encodeState,
  foldPartitionBatch,
  sweepHorizon,
  type ActiveValueModel,
  type BatchRecord,
  type CustomerEvent,
  type CustomerState,
  type EpochMs,
  type LifecycleConfig,
} from "@clm/core";
import { partitionForKey } from "@clm/kafka";

export interface CoreCeiling {
  eventsPerSecond: number;
  /** Time inside foldPartitionBatch only. */
  foldSeconds: number;
  stageChanges: number;
  tierChanges: number;
  audienceChanges: number;
}

/**
 * The pure core's own limit on one core: the same events, split by the same partitioner, folded
 * in batches of `batchEvents` per partition exactly as the processor folds them (each batch gets
 * the states of its customers and of those with a deadline it can reach, nothing else), with
 * states, timers and records held in memory. Only the time inside foldPartitionBatch counts —
 * what Redis, Kafka and Avro would add is left out, so no processor process can fold faster.
 * States wait between batches packed, as in the processor's cache: 300k customers as objects
 * made the fold's own GC scan ~290 MB of old generation that no processor holds.
 */
export function coreCeiling(
  events: Iterable<CustomerEvent>,
  options: { partitions: number; lifecycle: LifecycleConfig; latenessMs: number; batchEvents?: number; value?: ActiveValueModel | null; audiences?: ActiveAudiences | null; states?: Map<string, CustomerState> },
): CoreCeiling {
  const { partitions, lifecycle, latenessMs, batchEvents = 40_000, value = null, audiences = null } = options;
  const parts = Array.from({ length: partitions }, () => ({
    states: new Map<string, string>(),
    deadlines: new Map<string, EpochMs>(),
    watermark: null as EpochMs | null,
    pending: [] as BatchRecord[],
    next: 0,
  }));
  let foldMs = 0;
  let stageChanges = 0;
  let tierChanges = 0;
  let audienceChanges = 0;
  let folded = 0;
  const fold = (part: (typeof parts)[number]) => {
    const records = part.pending;
    part.pending = [];
    // The processor's loads: the batch's customers, and every customer a sweep of it can reach.
    const clock = { watermark: part.watermark, latenessMs };
    const horizon = sweepHorizon(records, clock);
    const loaded = new Map<string, CustomerState>();
    for (const record of records) {
      const packed = part.states.get(record.event.customerId);
      if (packed !== undefined) loaded.set(record.event.customerId, decodeState(record.event.customerId, Buffer.from(packed, "latin1")));
    }
    if (horizon !== null) {
      for (const [customerId, deadline] of part.deadlines) {
        if (deadline <= horizon) loaded.set(customerId, decodeState(customerId, Buffer.from(part.states.get(customerId)!, "latin1")));
      }
    }
    const started = performance.now();
    const result = foldPartitionBatch(loaded, records, clock, lifecycle, value, audiences);
    foldMs += performance.now() - started;
    folded += records.length;
    part.watermark = result.watermark;
    for (const [customerId, state] of result.changed) {
      options.states?.set(customerId, state);
      const packed = encodeState(state);
      part.states.set(customerId, Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength).toString("latin1"));
    }
    for (const [customerId, deadline] of result.deadlines) {
      if (deadline === null) part.deadlines.delete(customerId);
      else part.deadlines.set(customerId, deadline);
    }
    for (const { effect } of result.effects) {
      if (effect.kind === "stage_changed") stageChanges++;
      else if (effect.kind === "value_tier_changed") tierChanges++;
      else if (effect.kind === "audience_changed") audienceChanges++;
    }
  };
  for (const event of events) {
    const part = parts[partitionForKey(event.customerId, partitions)]!;
    part.pending.push({ offset: String(part.next++), event, receivedAt: 0 });
    if (part.pending.length >= batchEvents) fold(part);
  }
  for (const part of parts) if (part.pending.length > 0) fold(part);
  return { eventsPerSecond: Math.round(folded / (foldMs / 1000)), foldSeconds: Number((foldMs / 1000).toFixed(2)), stageChanges, tierChanges, audienceChanges };
}
