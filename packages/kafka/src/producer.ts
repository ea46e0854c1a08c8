import type { Kafka, Producer } from "kafkajs";
import { JavaCompatiblePartitioner } from "./partitioner.ts";

/**
 * The producer every part of the pipeline uses: idempotent (no duplicates from
 * its own retries, order kept per partition), acks from all in-sync replicas, and
 * the Java-compatible partitioner, so a customer's key lands on the same partition
 * whoever produces it. An idempotent producer must not give up retrying on its own
 * (kafkajs warns that a retry limit breaks the guarantee); callers that need an
 * answer in bounded time (ingest) bound the wait themselves.
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: JavaCompatiblePartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5_000 },
  });
}
