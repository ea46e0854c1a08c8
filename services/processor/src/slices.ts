import type { KafkaMessage } from "kafkajs";

/** Consecutive slices of `messages`, each with at most `limit` distinct record keys. */
export function* slicesByCustomers(messages: readonly KafkaMessage[], limit: number): Generator<readonly KafkaMessage[]> {
  // No more records than the limit cannot hold more customers: no key is read (batches at low load).
  if (messages.length <= limit) {
    if (messages.length > 0) yield messages;
    return;
  }
  let start = 0;
  let keys = new Set<string>();
  for (let index = 0; index < messages.length; index++) {
    const key = messages[index]!.key?.toString("latin1") ?? "";
    if (keys.has(key)) continue;
    if (keys.size === limit) {
      yield messages.slice(start, index);
      start = index;
      keys = new Set();
    }
    keys.add(key);
  }
  if (start < messages.length) yield start === 0 ? messages : messages.slice(start);
}
