import { customerEventToRecord, recordToCustomerEvent, stageChangeToRecord, type CustomerEventRecord, type StageChangeRecord } from "@clm/contracts";
import {
  decodeHistoryEntry,
  decodeState,
  domainEventProblems,
  encodeHistoryEntry,
  encodeState,
  foldPartitionBatch,
  type BatchRecord,
  type CustomerEvent,
  type LifecycleConfig,
} from "@clm/core";
import type { AvroSerde } from "@clm/kafka";

const DAY = 86_400_000;

/**
 * Runs the per-record code paths on made-up customers before the processor takes input, so V8
 * has compiled them when the first real batch arrives: a just-started processor otherwise
 * published its first stage changes ~1 s late (docs/performance.md, latency). Pure work on
 * in-memory data: nothing is written anywhere.
 */
export function warmUp(events: AvroSerde<CustomerEventRecord>, stageChanges: AvroSerde<StageChangeRecord>, lifecycle: LifecycleConfig, customers = 2000): void {
  const records: BatchRecord[] = [];
  const start = Date.UTC(2020, 0, 1);
  for (let round = 0; round < 6; round++) {
    for (let customer = 0; customer < customers; customer++) {
      const event: CustomerEvent = {
        eventId: `warm-up-${customer}-${round}`,
        customerId: `warm-up-${customer}`,
        occurredAt: start + round * 40 * DAY + customer * 1000,
        type: "purchase",
        properties: { orderId: `warm-up-${customer}-${round}`, amountE4: 250_000, currency: lifecycle.reportingCurrency, quantity: 1 },
      };
      // Through the Avro encoding and back, as a consumed record would come.
      const decoded = recordToCustomerEvent(events.decode(events.encode(customerEventToRecord(event, start))));
      if (domainEventProblems(decoded, lifecycle.reportingCurrency).length > 0) throw new Error("warm-up event is invalid");
      records.push({ offset: String(records.length), event: decoded });
    }
  }
  const result = foldPartitionBatch(new Map(), records, { watermark: null, latenessMs: 0 }, lifecycle);
  for (const [customerId, state] of result.changed) decodeState(customerId, encodeState(state));
  for (const { effect } of result.effects) {
    if (effect.kind !== "stage_changed") continue;
    stageChanges.encode(stageChangeToRecord(effect.transition, null));
    decodeHistoryEntry(effect.transition.customerId, encodeHistoryEntry(effect.transition));
  }
}
