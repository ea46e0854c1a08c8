import { customerEventToRecord, type CustomerEventRecord } from "@clm/contracts";
import type { CustomerEvent } from "@clm/core";
import {
  audiencesActivationMessage,
  clockAdvanceMessage,
  isRecordRefusal,
  JavaCompatiblePartitioner,
  KAFKA_DEFAULT_MAX_MESSAGE_BYTES,
  splitIntoRecordBatches,
  topicMaxMessageBytes,
  type AvroSerde,
} from "@clm/kafka";
import type { Admin, Kafka, Producer } from "kafkajs";
import { IngestError } from "./errors.ts";

/**
 * Publishes accepted events (Avro, key customerId, acks from all in-sync replicas)
 * and answers only once Kafka has them — or fails within `timeoutMs` so the
 * client hears 503 instead of waiting. Not idempotent on purpose: an idempotent
 * producer must retry forever. A retried send may duplicate a record; the
 * processor drops repeats by eventId.
 *
 * kafkajs puts a send's records for one partition into one record batch, and the
 * broker refuses a batch above the topic's max.message.bytes, so a request's events
 * go out in runs that each fit it, one run after the other (each partition keeps
 * the request's order). A later run failing leaves the earlier runs on the topic;
 * the request still fails as a whole, and its retry repeats them (dropped by eventId).
 */
export class EventPublisher {
  private readonly producer: Producer;
  /** Reads the topic's max.message.bytes at connect, and its partitions for a clock advance. */
  private readonly admin: Admin;
  private maxBatchBytesOfTopic = KAFKA_DEFAULT_MAX_MESSAGE_BYTES;

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

  /** The most bytes one produce request puts into a partition's record batch: the topic's max.message.bytes as read at connect. */
  get maxBatchBytes(): number {
    return this.maxBatchBytesOfTopic;
  }

  async connect(): Promise<void> {
    await this.serde.register();
    await this.producer.connect();
    await this.admin.connect();
    this.maxBatchBytesOfTopic = await topicMaxMessageBytes(this.admin, this.topic);
  }

  async publish(events: readonly CustomerEvent[], receivedAt: number): Promise<void> {
    if (events.length === 0) return;
    const messages = events.map((event) => ({ key: event.customerId, value: this.serde.encode(customerEventToRecord(event, receivedAt)) }));
    const deadline = Date.now() + this.timeoutMs;
    await this.withinTimeout(this.sendInOrder(messages, deadline));
  }

  /** One clock-advance control record to every partition of the input topic; returns how many partitions. A repeat changes nothing. */
  /** Sends an audience activation for `version` to every partition (after the definitions are stored); resolves once Kafka acknowledged all. */
  async activateAudiences(version: string): Promise<number> {
    const metadata = await this.withinTimeout(this.admin.fetchTopicMetadata({ topics: [this.topic] }));
    const messages = metadata.topics[0]!.partitions.map((partition) => audiencesActivationMessage(version, partition.partitionId));
    await this.withinTimeout(this.producer.send({ topic: this.topic, acks: -1, timeout: this.timeoutMs, messages }));
    return messages.length;
  }

  async advanceClock(to: number): Promise<number> {
    const metadata = await this.withinTimeout(this.admin.fetchTopicMetadata({ topics: [this.topic] }));
    const messages = metadata.topics[0]!.partitions.map((partition) => clockAdvanceMessage(to, partition.partitionId));
    await this.withinTimeout(this.producer.send({ topic: this.topic, acks: -1, timeout: this.timeoutMs, messages }));
    return messages.length;
  }

  /** The messages in runs that each fit a record batch, each run once the previous one is acknowledged; none is started after the deadline. */
  private async sendInOrder(all: readonly { key: string; value: Buffer }[], deadline: number): Promise<void> {
    for (const messages of splitIntoRecordBatches(all, this.maxBatchBytesOfTopic)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no acknowledgement within ${this.timeoutMs} ms`);
      await this.producer.send({ topic: this.topic, acks: -1, timeout: left, messages });
    }
  }

  /** Kafka's answer within `timeoutMs`; KAFKA_REJECTED when Kafka refuses the records themselves (no retry can succeed), else KAFKA_UNAVAILABLE. */
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
      throw new IngestError(isRecordRefusal(error) ? "KAFKA_REJECTED" : "KAFKA_UNAVAILABLE", (error as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
    await this.admin.disconnect();
  }
}
