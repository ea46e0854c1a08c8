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
  type CustomerState,
  type LifecycleConfig,
} from "@clm/core";
import { JavaCompatiblePartitioner, loadKafkajsInternals, type AvroSerde } from "@clm/kafka";
import { packOutboxEntry, type StateStore } from "./state-store.ts";

const DAY = 86_400_000;

/** What the warm-up made, for warming the clients' paths on realistic sizes. */
export interface WarmUpSamples {
  states: Map<string, CustomerState>;
  stageChanges: { key: string; value: Buffer }[];
}

/**
 * Runs the per-record code paths on made-up customers before the processor takes input, so V8
 * has compiled them when the first real batch arrives: a just-started processor otherwise
 * published its first stage changes ~1 s late (docs/performance.md, latency). Pure work on
 * in-memory data: nothing is written anywhere.
 */

export function warmUp(events: AvroSerde<CustomerEventRecord>, stageChanges: AvroSerde<StageChangeRecord>, lifecycle: LifecycleConfig, customers = 2000): WarmUpSamples {
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
      records.push({ offset: String(records.length), event: decoded, receivedAt: start });
    }
  }
  const result = foldPartitionBatch(new Map(), records, { watermark: null, latenessMs: 0 }, lifecycle);
  for (const [customerId, state] of result.changed) decodeState(customerId, encodeState(state));
  const encoded: WarmUpSamples["stageChanges"] = [];
  for (const { effect } of result.effects) {
    if (effect.kind !== "stage_changed") continue;
    encoded.push({ key: effect.transition.customerId, value: stageChanges.encode(stageChangeToRecord(effect.transition, null)) });
    decodeHistoryEntry(effect.transition.customerId, encodeHistoryEntry(effect.transition));
  }
  return { states: result.changed, stageChanges: encoded };
}

// A partition no topic has: its keys are read, never written (the fenced write below changes nothing).
const SCRATCH_PARTITION = -1;

/**
 * Runs the clients' per-batch paths once on the warm-up's data, so a just-started processor's
 * first batches do not pay for compiling them: a CPU profile of the first second of load showed
 * ioredis's command encoding and kafkajs's produce encoding taking half of a saturated core.
 * Redis: the loads, and a commit fenced off by a sequence no partition has (it writes nothing).
 * Kafka: kafkajs encodes produce requests of the stage changes without sending them.
 */
export async function warmUpClients(store: StateStore, samples: WarmUpSamples, rounds = 3): Promise<void> {
  // Half with a timer deadline, half without, as a batch's write has both.
  const customers = [...samples.states].map(([customerId, state], index) => ({ customerId, state, deadline: index % 2 === 0 ? Date.UTC(2020, 0, 1) : null }));
  const outbox = samples.stageChanges.map((change) => packOutboxEntry(change.key, change.value));
  for (let round = 0; round < rounds; round++) {
    await store.loadStates(SCRATCH_PARTITION, samples.states.keys());
    const seq = await store.commit(SCRATCH_PARTITION, { expectedSeq: -1, offset: null, watermark: null, customers, outbox, history: [] });
    if (seq !== null) throw new Error("the warm-up's write was not fenced off");
    await store.readOutbox(SCRATCH_PARTITION, 500);
    await encodeProduceRequests(samples.stageChanges);
  }
}

/** kafkajs's produce encoding (grouping by partition, record batch, CRC) through its own modules; skipped if they moved. */
async function encodeProduceRequests(messages: readonly { key: string; value: Buffer }[]): Promise<void> {
  const kafkajs = loadKafkajsInternals();
  if (!kafkajs) return;
  const partitioner = JavaCompatiblePartitioner();
  const partitionMetadata = [0, 1, 2, 3].map((partitionId) => ({ partitionId, leader: 0 }));
  for (let first = 0; first < messages.length; first += 500) {
    const chunk = messages.slice(first, first + 500);
    const perPartition = kafkajs.groupMessagesPerPartition({ topic: "warm-up", partitionMetadata, messages: chunk, partitioner });
    const partitions = Object.entries(perPartition).map(([partition, grouped]) => ({ partition: Number(partition), firstSequence: 0, messages: grouped }));
    await kafkajs.produceRequestV3({ acks: -1, timeout: 30_000, topicData: [{ topic: "warm-up", partitions }] }).encode();
  }
}
