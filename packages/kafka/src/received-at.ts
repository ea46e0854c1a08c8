/**
 * When the pipeline received a consumed record: its Kafka timestamp (the producer's
 * send time, or the broker's append time on topics set to LogAppendTime). It is the
 * processing time the dedupe ledger keeps ids by; a record without one (-1) counts
 * as received at 0, which the ledger treats as "no later than what it has seen".
 */
export function receivedAtOf(message: { timestamp: string }): number {
  const at = Number(message.timestamp);
  return Number.isSafeInteger(at) && at > 0 ? at : 0;
}
