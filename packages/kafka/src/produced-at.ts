import type { KafkaMessage } from "kafkajs";
import { receivedAtOf } from "./received-at.ts";

/**
 * When a consumed record was produced, as far as a consumer trusts it: the record's Kafka timestamp,
 * or `now` when that is earlier (or the timestamp is missing). Consumers hold an event's time
 * against this (MAX_FUTURE_SKEW_MS): the timestamp never changes, so the processor, a rebuild weeks
 * later and the sink decide alike about the same record, and a producer's timestamp set ahead of
 * the consumer's clock cannot widen what is accepted.
 */
export function producedAt(message: Pick<KafkaMessage, "timestamp">, now: number): number {
  const timestamp = receivedAtOf(message);
  return timestamp > 0 && timestamp < now ? timestamp : now;
}
