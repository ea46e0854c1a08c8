import type { Consumer } from "kafkajs";

interface CrashLogger {
  error(object: object, message: string): void;
}

/**
 * Calls `onFatal` when kafkajs stops a consumer for good. kafkajs restarts a consumer only after
 * errors it marks retriable; any other error thrown from eachBatch (a bug, a poison write)
 * disconnects the consumer and leaves the process running and consuming nothing — a silent
 * stall, seen once in a 10M-event benchmark. Services exit instead (main.ts), so a supervisor
 * restarts them and the failure shows.
 */
export function onConsumerStopped(consumer: Consumer, logger: CrashLogger, onFatal: (error: Error) => void): void {
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) return;
    logger.error({ err: payload.error, groupId: payload.groupId }, "the Kafka consumer stopped after an error it does not retry");
    onFatal(payload.error);
  });
}
