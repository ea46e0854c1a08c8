/**
 * Redis key layout. Every key of a Kafka partition carries the hash tag {p<N>}, so
 * one Lua script touches a single hash slot (Redis-Cluster safe) and a partition's
 * data moves between cluster nodes as one unit. Keys written together outside the partitions
 * share a tag too ({audiences}); a key used alone needs none. SCAN patterns keep the tag literal.
 *
 *   <prefix>:{p3}:meta             hash  offset (next input offset to apply), seq (write fence), watermark (event time),
 *                                   valueModel + valueModelAt (the active value model and its activation instant),
 *                                   refitCursor (where the sweep to a newly active model goes on; absent when done),
 *                                   sweptThrough (the instant event-time sweeps have fired deadlines through),
 *                                   audiences + audiencesAt (the active audience definitions and their activation instant),
 *                                   audiencesBefore (JSON: the sets active before, newest first, at most 64),
 *                                   audienceCursor (where the sweep to newly active definitions goes on; absent when done),
 *                                   probe (a counter the processor's replication checks increment: a write WAIT
 *                                   can wait for after reads; nothing reads it)
 *   <prefix>:{p3}:c:<customerId>   string  packed customer state (packages/core state-codec)
 *   <prefix>:{p3}:timers           zset  member customerId, score = next deadline (epoch ms)
 *   <prefix>:{p3}:outbox           list  stage and value-tier changes written with the state, not yet published
 *   <prefix>:{p3}:h:<customerId>   list  recent stage changes of the customer (core history-codec entries, newest first)
 *   <prefix>:rfm:boundaries         string  population RFM quantile boundaries (JSON; read by every processor)
 *   <prefix>:value-model:versions   hash  model version → the fitted ValueModel (JSON); versions are never rewritten
 *   <prefix>:value-model:current    string  the version fits publish as current (activation reaches the
 *                                   processors as a control record on the input topic; value-model.ts)
 *   <prefix>:{p3}:aud:<audienceId> zset  the audience's members in the partition (customerId, score 0), kept by the processor
 *   <prefix>:{audiences}:versions   hash  definitions version → every audience definition then (JSON); never rewritten
 *   <prefix>:{audiences}:current    string  the latest definitions version (what the API reads and changes)
 *   <prefix>:{audiences}:seq        string  the last definitions version number handed out
 *
 * The audience keys were <prefix>:audiences:… before they shared a tag (a compare-and-set script
 * writes versions and current together, which a cluster allows only within one slot);
 * renameLegacyKeys moves a single server's old keys once (legacy-keys.ts).
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
  /** SCAN pattern of the partition's customer states (its hash tag holds no glob character). */
  customerPattern(partition: number): string {
    return `${this.tag(partition)}:c:*`;
  }
  /** The customer id in a key of customerPattern(partition). */
  customerIdOf(partition: number, key: string): string {
    return key.slice(this.tag(partition).length + 3);
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
  /** The members of an audience in one partition: a sorted set, score 0, so members page by id (ZRANGEBYLEX). */
  audienceMembers(partition: number, audienceId: string): string {
    return `${this.tag(partition)}:aud:${audienceId}`;
  }
  /** Every audience definitions set, by version. */
  audienceVersions(): string {
    return `${this.prefix}:{audiences}:versions`;
  }
  /** The version of the latest audience definitions. */
  audienceCurrent(): string {
    return `${this.prefix}:{audiences}:current`;
  }
  /** The counter definitions versions are numbered from. */
  audienceSequence(): string {
    return `${this.prefix}:{audiences}:seq`;
  }
  /** The names audience keys had before they shared a hash tag, and their names now. */
  legacyAudienceKeys(): { from: string; to: string }[] {
    return [
      { from: `${this.prefix}:audiences:versions`, to: this.audienceVersions() },
      { from: `${this.prefix}:audiences:current`, to: this.audienceCurrent() },
      { from: `${this.prefix}:audiences:seq`, to: this.audienceSequence() },
    ];
  }
  /** Glob matching every key under this prefix (for rebuilds and tests). */
  pattern(): string {
    return `${this.prefix}:*`;
  }
}
