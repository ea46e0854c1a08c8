import { Kafka, logLevel, type LogEntry } from "kafkajs";
import type { Logger } from "@clm/observability";

/** A kafkajs client whose logs go through the service's pino logger. */
export function createKafka(options: { brokers: readonly string[]; clientId: string; logger: Logger }): Kafka {
  const kafkaLogger = options.logger.child({ component: "kafkajs" });
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 200, retries: 8 },
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...rest } = log;
        if (level <= logLevel.ERROR) kafkaLogger.error(rest, message);
        else if (level === logLevel.WARN) kafkaLogger.warn(rest, message);
        else kafkaLogger.debug(rest, message);
      },
  });
}
