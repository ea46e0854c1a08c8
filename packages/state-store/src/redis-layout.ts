/**
 * Redis key layout. Every key of a Kafka partition carries the hash tag {p<N>}, so
 * one Lua script touches a single hash slot (Redis-Cluster safe) and a partition's
 * data moves between cluster nodes as one unit.
 *
 *   <prefix>:{p3}:meta             hash  offset (next input offset to apply), seq (write fence), watermark (event time)
 *   <prefix>:{p3}:c:<customerId>   string  packed customer state (packages/core state-codec)
 *   <prefix>:{p3}:timers           zset  member customerId, score = next deadline (epoch ms)
 *   <prefix>:{p3}:outbox           list  stage changes written with the state, not yet published
 *   <prefix>:{p3}:h:<customerId>   list  recent stage changes of the customer (core history-codec entries, newest first)
 *   <prefix>:rfm:boundaries         string  population RFM quantile boundaries (JSON; read by every processor)
 *   <prefix>:value-model:versions   hash  model version → the fitted ValueModel (JSON); versions are never rewritten
 *   <prefix>:value-model:current    string  the version fits publish as current (activation reaches the
 *                                   processors as a control record on the input topic; value-model.ts)
 */
export class RedisLayout {
  constructor(readonly prefix: string) {}

  private tag(partition: number): string {
    return `${this.prefix}:{p${partition}}`;
  }
  meta(partition: number): string {
    return `${this.tag(partition)}:meta`;
  }
  customer(partition: number, customerId: string): string {
    return `${this.tag(partition)}:c:${customerId}`;
  }
  timers(partition: number): string {
    return `${this.tag(partition)}:timers`;
  }
  outbox(partition: number): string {
    return `${this.tag(partition)}:outbox`;
  }
  history(partition: number, customerId: string): string {
    return `${this.tag(partition)}:h:${customerId}`;
  }
  /** Every fitted customer-value model, by version. */
  valueModelVersions(): string {
    return `${this.prefix}:value-model:versions`;
  }
  /** The version of the most recently published customer-value model. */
  valueModelCurrent(): string {
    return `${this.prefix}:value-model:current`;
  }
  /** Glob matching every key under this prefix (for rebuilds and tests). */
  pattern(): string {
    return `${this.prefix}:*`;
  }
}
