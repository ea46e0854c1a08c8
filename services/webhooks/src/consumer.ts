import { Backoff } from "@clm/backoff";
import { SIGNAL_KINDS, signalBody, type DeliveryQueue, type Destination, type QueuedMessage, type Signal, type SignalKind, type SignalTopicSettings } from "@clm/destinations";
import { AvroDecodeError, AvroSerde, prepareWhileRegistryAway, runSupervised, type SupervisedConsumer } from "@clm/kafka";
import type { Logger } from "@clm/observability";
import { ReplicasBehindError } from "@clm/redis";
import type { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import type { Dispatcher } from "./dispatcher.ts";
import type { WebhooksMetrics } from "./metrics.ts";

export interface SignalConsumerOptions {
  kafka: Kafka;
  registry: SchemaRegistry;
  queue: DeliveryQueue;
  dispatcher: Dispatcher;
  topics: SignalTopicSettings;
  groupId: string;
  sessionTimeoutMs: number;
  metrics: WebhooksMetrics;
  logger: Logger;
  now: () => number;
  onFatal?: (error: Error) => void;
}

interface Subscription {
  topic: string;
  kind: SignalKind<unknown>;
  serde: AvroSerde<unknown>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The signal topics (SIGNAL_KINDS) → the destinations' queues, one consumer group. Each batch is
 * decoded, turned into one message per subscribed destination, written to Redis, and only then its
 * offset committed: a crash before the commit reads the batch again, and the queue takes each
 * (destination, signal id) once while it waits. Nothing here waits for a destination.
 */
export class SignalConsumer {
  private readonly subscriptions: Map<string, Subscription>;
  private consumer: Consumer | null = null;
  private supervision: SupervisedConsumer | null = null;
  private stopping = false;

  constructor(private readonly options: SignalConsumerOptions) {
    this.subscriptions = new Map(
      SIGNAL_KINDS.map((entry) => {
        const kind = entry as unknown as SignalKind<unknown>;
        const topic = kind.topic(options.topics);
        return [topic, { topic, kind, serde: new AvroSerde<unknown>(options.registry, `${topic}-value`, kind.schemaText) }];
      }),
    );
  }

  get topics(): string[] {
    return [...this.subscriptions.keys()];
  }

  async start(options: { fromBeginning?: boolean } = {}): Promise<void> {
    const { kafka, logger, sessionTimeoutMs } = this.options;
    const consumer = kafka.consumer({ groupId: this.options.groupId, sessionTimeout: sessionTimeoutMs, heartbeatInterval: Math.floor(sessionTimeoutMs / 5), maxWaitTimeInMs: 100 });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => logger.info({ assignment: event.payload.memberAssignment }, "partitions assigned"));
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics, fromBeginning: options.fromBeginning ?? true });
    this.supervision = await runSupervised(
      consumer,
      { autoCommit: false, eachBatchAutoResolve: true, partitionsConsumedConcurrently: 2, eachBatch: (payload) => this.onBatch(payload) },
      { logger, onFatal: this.options.onFatal ?? (() => undefined) },
    );
  }

  private async onBatch({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.stopping || !isRunning() || isStale() || batch.messages.length === 0) return;
    const { metrics, logger, dispatcher, queue } = this.options;
    const subscription = this.subscriptions.get(batch.topic)!;
    const active = () => !this.stopping && isRunning() && !isStale();
    const prepared = await prepareWhileRegistryAway(() => subscription.serde.prepare(batch.messages.map((message) => message.value)), {
      heartbeat,
      active,
      onUnavailable: (error, retryInMs) => {
        metrics.registryUnavailable.inc({ topic: batch.topic });
        logger.warn({ err: error, topic: batch.topic, partition: batch.partition, retryInMs }, "the schema registry does not answer; the batch waits (nothing queued or committed)");
      },
      onRecovered: (failures, waitedMs) => logger.info({ topic: batch.topic, partition: batch.partition, failures, waitedMs }, "the schema registry answers again"),
    });
    if (!prepared) return;

    // A destination created a moment ago receives this batch's signals.
    await dispatcher.refresh();
    const entries: { destination: Destination; message: QueuedMessage }[] = [];
    for (const message of batch.messages) {
      const signal = this.decode(subscription, message, batch.partition);
      if (signal === null) continue;
      metrics.consumed.inc({ type: signal.type });
      const body = signalBody(signal);
      for (const destination of dispatcher.targets(signal)) {
        entries.push({ destination, message: { id: signal.id, type: signal.type, customerId: signal.customerId, createdAt: Number(message.timestamp), body } });
      }
    }

    // Redis away, or its replicas not confirming the queued messages (REDIS_WAIT_REPLICAS): the batch
    // waits here (heartbeating), retried with a backoff; nothing is committed meanwhile.
    const backoff = new Backoff({ initialMs: 200, maxMs: 5000, jitter: "half" });
    for (;;) {
      try {
        await queue.enqueue(entries, this.options.now());
        break;
      } catch (error) {
        if (error instanceof ReplicasBehindError) metrics.redisReplicaShortfalls.inc();
        if (!active()) return;
        const pause = backoff.next();
        logger.warn({ err: error, topic: batch.topic, partition: batch.partition, retryInMs: pause }, "queueing a batch in Redis failed; it waits and retries (offset not committed)");
        await sleep(pause);
        await heartbeat();
      }
    }
    for (const entry of entries) metrics.enqueued.inc({ destination: entry.destination.id });
    dispatcher.wake(new Set(entries.map((entry) => entry.destination.id)));
    await this.consumer!.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() }]);
  }

  private decode(subscription: Subscription, message: KafkaMessage, partition: number): Signal | null {
    try {
      return subscription.kind.toSignal(subscription.serde.decode(message.value));
    } catch (error) {
      const reason = error instanceof AvroDecodeError ? error.code : "MAPPING_FAILED";
      this.options.metrics.skipped.inc({ topic: subscription.topic, reason });
      this.options.logger.warn({ err: error, topic: subscription.topic, partition, offset: message.offset, reason }, "signal record skipped");
      return null;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.supervision?.cancel();
    await this.consumer?.disconnect();
  }
}
