import { Backoff } from "@clm/backoff";
import type { Consumer, ConsumerRunConfig } from "kafkajs";

interface SupervisionLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface SupervisionOptions {
  logger: SupervisionLogger;
  /** The consumer stopped for good on an error that is not Kafka being away: a bug, a poison write. */
  onFatal: (error: Error) => void;
  /** First pause before restarting after Kafka was away; doubles on every failed try up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface SupervisedConsumer {
  /** Stops restarting (call before a graceful stop disconnects the consumer). */
  cancel(): void;
}

// kafkajs marks some errors of an unreachable broker as not retriable and then stops the consumer
// for good (seen in the fault test: "Failed to find group coordinator" while the broker restarted).
const BROKER_UNAVAILABLE = new Set([
  "KafkaJSGroupCoordinatorNotFound",
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
  "KafkaJSBrokerNotFound",
  "KafkaJSNoBrokerAvailableError",
  "KafkaJSLockTimeout",
  "KafkaJSTimeout",
  "KafkaJSMetadataNotLoaded",
  "KafkaJSTopicMetadataNotLoaded",
  "KafkaJSStaleTopicMetadataAssignment",
]);

/**
 * Whether an error (or any error it was caused by) says only that Kafka could not be reached or
 * was not ready: a broker down, restarting, or still loading its coordinator state. Such an error
 * ends when the broker is back, so the consumer is restarted; anything else is fatal.
 */
export function isBrokerUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let current = error; current instanceof Error && !seen.has(current); current = current.cause) {
    seen.add(current);
    if (BROKER_UNAVAILABLE.has(current.name)) return true;
    // Broker answers such as "the coordinator is loading" or "not the leader" are retriable protocol errors.
    if (current.name === "KafkaJSProtocolError" && (current as Error & { retriable?: boolean }).retriable === true) return true;
  }
  return false;
}

/**
 * Runs `consumer` and keeps it running through a Kafka outage. kafkajs restarts a consumer itself
 * only after errors it marks retriable. It stops the consumer for good on any other error. Errors
 * of an unreachable broker are restarted here, with a backoff, for as long as the broker is away.
 * Any other stop (a bug, a poison write) goes to `onFatal`: services exit, so a supervisor restarts
 * them and the failure shows, rather than running on consuming nothing.
 */
export async function runSupervised(consumer: Consumer, run: ConsumerRunConfig, options: SupervisionOptions): Promise<SupervisedConsumer> {
  const { logger, onFatal } = options;
  let cancelled = false;
  let timer: NodeJS.Timeout | null = null;
  // Back to the first pause once the consumer has joined its group.
  const backoff = new Backoff({ initialMs: options.initialBackoffMs ?? 1000, maxMs: options.maxBackoffMs ?? 30_000 });

  const scheduleRestart = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void restart(), backoff.next());
  };
  const restart = async () => {
    timer = null;
    if (cancelled) return;
    try {
      await consumer.connect();
      // A join that fails inside run() is reported as another crash, which schedules the next try.
      await consumer.run(run);
    } catch (error) {
      if (cancelled) return;
      if (!isBrokerUnavailable(error)) return onFatal(error as Error);
      logger.warn({ err: error, retryInMs: backoff.upcomingMs }, "Kafka is still unavailable; trying to restart the consumer again");
      scheduleRestart();
    }
  };

  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (backoff.failures > 0) logger.info({}, "the Kafka consumer is running again");
    backoff.reset();
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart || cancelled) return;
    if (isBrokerUnavailable(payload.error)) {
      logger.warn({ err: payload.error, groupId: payload.groupId, retryInMs: backoff.upcomingMs }, "kafkajs stopped the consumer while Kafka was unavailable; restarting it");
      scheduleRestart();
      return;
    }
    logger.error({ err: payload.error, groupId: payload.groupId }, "the Kafka consumer stopped after an error it does not retry");
    onFatal(payload.error);
  });

  await consumer.run(run);
  return {
    cancel() {
      cancelled = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
