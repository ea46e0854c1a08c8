import { customerEventToRecord, type CustomerEventRecord } from "@clm/contracts";
import type { CustomerEvent } from "@clm/core";
import { clockAdvanceMessage, JavaCompatiblePartitioner, type AvroSerde } from "@clm/kafka";
import type { Admin, Kafka, Producer } from "kafkajs";
import { IngestError } from "./errors.ts";

/**
 * Publishes accepted events (Avro, key customerId, acks from all in-sync replicas)
 * and answers only once Kafka has them — or fails within `timeoutMs` so the
 * client hears 503 instead of waiting. Not idempotent on purpose: an idempotent
 * producer must retry forever. A retried send may duplicate a record; the
 * processor drops repeats by eventId.
 */
export class EventPublisher {
  private readonly producer: Producer;
  /** For the input topic's partition list (a clock advance goes to every partition). */
  private readonly admin: Admin;

  constructor(
    kafka: Kafka,
    private readonly serde: AvroSerde<CustomerEventRecord>,
    private readonly topic: string,
    private readonly timeoutMs: number,
  ) {
    this.producer = kafka.producer({
      createPartitioner: JavaCompatiblePartitioner,
      maxInFlightRequests: 1,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    this.admin = kafka.admin();
  }

  async connect(): Promise<void> {
    await this.serde.register();
    await this.producer.connect();
    await this.admin.connect();
  }

  async publish(events: readonly CustomerEvent[], receivedAt: number): Promise<void> {
    if (events.length === 0) return;
    const messages = events.map((event) => ({ key: event.customerId, value: this.serde.encode(customerEventToRecord(event, receivedAt)) }));
    await this.withinTimeout(this.producer.send({ topic: this.topic, acks: -1, timeout: this.timeoutMs, messages }));
  }

  /** One clock-advance control record to every partition of the input topic; returns how many partitions. A repeat changes nothing. */
  async advanceClock(to: number): Promise<number> {
    const metadata = await this.withinTimeout(this.admin.fetchTopicMetadata({ topics: [this.topic] }));
    const messages = metadata.topics[0]!.partitions.map((partition) => clockAdvanceMessage(to, partition.partitionId));
    await this.withinTimeout(this.producer.send({ topic: this.topic, acks: -1, timeout: this.timeoutMs, messages }));
    return messages.length;
  }

  /** Kafka's answer within `timeoutMs`, or KAFKA_UNAVAILABLE. */
  private async withinTimeout<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no acknowledgement within ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
    } catch (error) {
      throw new IngestError("KAFKA_UNAVAILABLE", (error as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
    await this.admin.disconnect();
  }
}
