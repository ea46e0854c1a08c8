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
 *   <prefix>:growths                list  how this prefix was made by partition growths (JSON per growth, oldest first; docs/scaling.md)
 *   <prefix>:webhooks:…             the webhook delivery service's destinations and queues (packages/destinations keys.ts)
 *
 * The audience keys were <prefix>:audiences:… before they shared a tag (a compare-and-set script
 * writes versions and current together, which a cluster allows only within one slot);
 * renameLegacyKeys moves a single server's old keys once (legacy-keys.ts).
 */

/** What a key under a prefix is: one of a partition's keys, a key shared by every partition, or neither. */
export type LayoutKey =
  | { kind: "meta" | "timers" | "outbox"; partition: number }
  | { kind: "customer" | "history"; partition: number; customerId: string }
  | { kind: "members"; partition: number; audienceId: string }
  /** A key with a partition tag this layout does not define. */
  | { kind: "unknown"; partition: number | null }
  /** Outside every partition (value models, audience definitions, RFM boundaries, webhooks, growths). */
  | { kind: "shared" };

const PARTITION_KEY = /^\{p(0|[1-9]\d{0,5})\}:(meta|timers|outbox|c:|h:|aud:)?(.*)$/s;

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
  /** The record of the partition growths that made this prefix (docs/scaling.md). */
  growths(): string {
    return `${this.prefix}:growths`;
  }
  /**
   * What `key` is in this layout; null when it is not under the prefix. Ids may hold any
   * character, so a customer's or audience's id is everything after its marker.
   */
  parseKey(key: string): LayoutKey | null {
    if (!key.startsWith(`${this.prefix}:`)) return null;
    const rest = key.slice(this.prefix.length + 1);
    // The audience definitions' tag groups shared keys; any other tag at the front is a partition's or unknown.
    if (!rest.startsWith("{") || rest.startsWith("{audiences}:")) return { kind: "shared" };
    const match = PARTITION_KEY.exec(rest);
    if (match === null) return { kind: "unknown", partition: null };
    const partition = Number(match[1]);
    const [, , marker, tail] = match as unknown as [string, string, string | undefined, string];
    if ((marker === "meta" || marker === "timers" || marker === "outbox") && tail === "") return { kind: marker, partition };
    if (marker === "c:" && tail !== "") return { kind: "customer", partition, customerId: tail };
    if (marker === "h:" && tail !== "") return { kind: "history", partition, customerId: tail };
    if (marker === "aud:" && tail !== "") return { kind: "members", partition, audienceId: tail };
    return { kind: "unknown", partition };
  }
  /** Glob matching every key of every partition: the state a rebuild derives from the input topic. */
  partitionsPattern(): string {
    return `${this.prefix}:{p*}:*`;
  }
  /** Glob matching every key under this prefix (for rebuilds and tests). */
  pattern(): string {
    return `${this.prefix}:*`;
  }
}
