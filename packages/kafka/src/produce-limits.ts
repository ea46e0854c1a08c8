import kafkajs, { type Admin } from "kafkajs";

// kafkajs is CommonJS, and Node's ESM loader sees only some of its named exports (not this one).
const { ConfigResourceTypes } = kafkajs;

/**
 * Kafka's default for the largest record batch a broker accepts (broker `message.max.bytes`, which a
 * topic's `max.message.bytes` inherits unless set): 1 MiB plus the 12-byte log entry header.
 */
export const KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

// kafkajs puts all messages of one send for one partition into one v2 record batch, and the broker
// refuses a batch larger than the topic's max.message.bytes (MESSAGE_TOO_LARGE) whatever its records.
// A record is its key and value plus at most 32 bytes: its length, attributes, timestamp and offset
// deltas, key and value lengths (varints at their widest) and the header count.
const RECORD_OVERHEAD_BYTES = 32;

/** A v2 record batch's header, base offset and length included (the size the broker checks is header + records). */
export const RECORD_BATCH_OVERHEAD_BYTES = 61;

export interface SizedMessage {
  key: string | Buffer | null;
  value: Buffer;
}

/** An upper bound of the bytes a message adds to a record batch. */
export function recordBytes(message: SizedMessage): number {
  const key = message.key === null ? 0 : typeof message.key === "string" ? Buffer.byteLength(message.key) : message.key.length;
  return key + message.value.length + RECORD_OVERHEAD_BYTES;
}

/** One message alone would make a record batch larger than the topic takes: no split can send it. */
export class RecordTooLargeError extends Error {
  constructor(
    readonly index: number,
    readonly bytes: number,
    readonly maxBatchBytes: number,
  ) {
    super(`message ${index} needs a record batch of ${bytes} bytes; the topic takes at most ${maxBatchBytes} (max.message.bytes)`);
    this.name = "RecordTooLargeError";
  }
}

/**
 * Splits messages, in their order, into consecutive runs that each fit one record batch of at most
 * `maxBatchBytes` — even if every message of a run goes to the same partition. Sending the runs one
 * after the other, each once the previous is acknowledged, keeps every partition's order.
 * Throws RecordTooLargeError before anything is sent when a single message cannot fit.
 */
export function splitIntoRecordBatches<M extends SizedMessage>(messages: readonly M[], maxBatchBytes: number): M[][] {
  const runs: M[][] = [];
  let run: M[] = [];
  let bytes = RECORD_BATCH_OVERHEAD_BYTES;
  messages.forEach((message, index) => {
    const size = recordBytes(message);
    if (RECORD_BATCH_OVERHEAD_BYTES + size > maxBatchBytes) throw new RecordTooLargeError(index, RECORD_BATCH_OVERHEAD_BYTES + size, maxBatchBytes);
    if (bytes + size > maxBatchBytes) {
      runs.push(run);
      run = [];
      bytes = RECORD_BATCH_OVERHEAD_BYTES;
    }
    run.push(message);
    bytes += size;
  });
  if (run.length > 0) runs.push(run);
  return runs;
}

/** The largest record batch a topic accepts: its `max.message.bytes`, as set on it or inherited from the broker's `message.max.bytes`. */
export async function topicMaxMessageBytes(admin: Admin, topic: string): Promise<number> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ["max.message.bytes"] }],
  });
  const entry = described.resources[0]?.configEntries.find((config) => config.configName === "max.message.bytes");
  const bytes = Number(entry?.configValue);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`topic ${topic}: no max.message.bytes in the broker's answer`);
  return bytes;
}

// Broker answers that name the records themselves: the same records are refused again however often
// they are sent (kafkajs marks them not retriable and does not retry them either).
const RECORDS_REFUSED = new Set(["MESSAGE_TOO_LARGE", "RECORD_LIST_TOO_LARGE", "INVALID_RECORD"]);

/** Whether a send failed (or was caused to fail) because the broker refuses these records for good, not because it is away. */
export function isRecordRefusal(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let current = error; current instanceof Error && !seen.has(current); current = current.cause) {
    seen.add(current);
    if (current instanceof RecordTooLargeError) return true;
    if (current.name === "KafkaJSProtocolError" && RECORDS_REFUSED.has((current as Error & { type?: string }).type ?? "")) return true;
  }
  return false;
}
