import { encodeState, type CustomerState, type EpochMs } from "@clm/core";
import { checkReplicas, execPipeline, keyServers, replicaWaitOf, ReplicasBehindError, type RedisClient, type ReplicaWait } from "@clm/redis";
import { StateReader, type RedisLayout } from "@clm/state-store";
import { ACK_OUTBOX_SCRIPT, COMMIT_SCRIPT, SCAN_CUSTOMERS_SCRIPT } from "./lua.ts";
import { PackedValues } from "./packed-values.ts";

export interface CustomerWrite {
  customerId: string;
  state: CustomerState;
  deadline: EpochMs | null;
  /** The timer index already holds exactly `deadline` (this process wrote it): left as it is. */
  deadlineIndexed?: boolean;
  /** `state` already packed (state-codec), if the caller has it. */
  packed?: Uint8Array;
}

export interface PartitionWrite {
  expectedSeq: number;
  offset: string | null;
  watermark: EpochMs | null;
  customers: readonly CustomerWrite[];
  outbox: readonly Buffer[];
  /** Encoded history entries (packages/core history-codec), for customers with a stage change. */
  history: readonly { customerId: string; entry: Buffer }[];
  /** Meta fields written with it (the active value model, the refit cursor); "" deletes one. */
  metaFields?: Readonly<Record<string, string>> | undefined;
  /** Audience member-set changes: per audience id, the customers to add and to remove. */
  members?: ReadonlyMap<string, { added: readonly string[]; removed: readonly string[] }> | undefined;
}

interface Scripts {
  clmCommit(numberOfKeys: number, keys: readonly string[], args: readonly (string | Buffer | number)[]): Promise<[number, number]>;
  clmAckOutbox(...args: (string | Buffer | number)[]): Promise<number>;
  clmScanCustomers(meta: string, cursor: string, pattern: string, count: number): Promise<[string, string[], number]>;
}

/** One step of a SCAN over a partition's customers. */
export interface CustomerPage {
  /** Where the next step goes on; "0": the scan is done. */
  cursor: string;
  customerIds: string[];
  /** The cursor was another Redis process's (a failover or restart since): this step began the scan again. */
  restarted: boolean;
}

/**
 * All Redis I/O of the processor: a few round trips per batch, never one per event. The reads are
 * @clm/state-store's (which other processes share); the writes — the fenced commit, the outbox
 * trim — and the timer-index queries of the sweeps are the processor's alone. Every command names
 * keys of one partition only, so on a Redis Cluster each goes to the node holding that partition.
 *
 * With REDIS_WAIT_REPLICAS > 0, nothing leaves for Kafka or lets the consumer move on before
 * replicas have it: a commit counts once WAIT confirms it (confirm), and outbox entries are read
 * with a WAIT behind them (docs/reliability.md).
 */
export class StateStore extends StateReader {
  private readonly scripts: Scripts;
  /** The client's WAIT settings (REDIS_WAIT_REPLICAS); null: writes are not waited for. */
  readonly replicaWait: ReplicaWait | null;

  constructor(
    redis: RedisClient,
    layout: RedisLayout,
    private readonly historyCap: number,
    /** Called when replicas fell short of REDIS_WAIT_REPLICAS (the operation then fails and is retried). */
    private readonly onReplicaShortfall: (error: ReplicasBehindError) => void = () => undefined,
  ) {
    super(redis, layout);
    if (!("clmCommit" in redis)) {
      redis.defineCommand("clmCommit", { lua: COMMIT_SCRIPT });
      redis.defineCommand("clmAckOutbox", { numberOfKeys: 1, lua: ACK_OUTBOX_SCRIPT });
      redis.defineCommand("clmScanCustomers", { numberOfKeys: 1, lua: SCAN_CUSTOMERS_SCRIPT });
    }
    this.scripts = redis as unknown as Scripts;
    this.replicaWait = replicaWaitOf(redis);
  }

  /**
   * Loads the scripts into the cache of every server holding keys (every master of a cluster). Not
   * needed for correctness: ioredis sends a script's text with its first call on each connection
   * and again after NOSCRIPT (a promoted replica's cache may lack it).
   */
  async loadScripts(): Promise<void> {
    for (const server of await keyServers(this.redis)) {
      for (const script of [COMMIT_SCRIPT, ACK_OUTBOX_SCRIPT, SCAN_CUSTOMERS_SCRIPT]) await server.script("LOAD", script);
    }
  }

  /** Throws ReplicasBehindError (after counting it) when a WAIT's reply is short of REDIS_WAIT_REPLICAS. */
  private checkReplicas(wait: ReplicaWait, key: string, acknowledged: unknown): void {
    try {
      checkReplicas(wait, key, acknowledged);
    } catch (error) {
      if (error instanceof ReplicasBehindError) this.onReplicaShortfall(error);
      throw error;
    }
  }

  /**
   * Whether Redis holds the partition at write sequence `seq` with REDIS_WAIT_REPLICAS replicas
   * having it: true at once without a WAIT setting. One pipeline to the partition's node: the seq,
   * a write (the meta's probe counter) and WAIT, which covers every write that node had taken
   * before the probe — whoever sent it — so a state this process read, not wrote, is covered too.
   * False when Redis holds another seq (a failover lost the writes up to `seq`, or another writer
   * came after): the caller reloads. Throws ReplicasBehindError when replicas fall short.
   */
  async confirm(partition: number, seq: number): Promise<boolean> {
    const wait = this.replicaWait;
    if (wait === null) return true;
    const meta = this.layout.meta(partition);
    const [current, , acknowledged] = await execPipeline(() => this.redis.pipeline().hget(meta, "seq").hincrby(meta, "probe", 1).call("WAIT", wait.replicas, wait.timeoutMs));
    if (Number(current ?? 0) !== seq) return false;
    this.checkReplicas(wait, meta, acknowledged);
    return true;
  }

  /** The partition's write sequence now (0 before its first write). */
  async loadSeq(partition: number): Promise<number> {
    return Number((await this.redis.hget(this.layout.meta(partition), "seq")) ?? 0);
  }

  /** Customers whose next deadline is at or before `until`, oldest first. */
  async dueCustomers(partition: number, until: EpochMs, limit?: number): Promise<string[]> {
    if (!Number.isFinite(until)) return [];
    const key = this.layout.timers(partition);
    return limit === undefined
      ? this.redis.zrangebyscore(key, "-inf", until)
      : this.redis.zrangebyscore(key, "-inf", until, "LIMIT", 0, limit);
  }

  async countDue(partition: number, until: EpochMs): Promise<number> {
    return this.redis.zcount(this.layout.timers(partition), "-inf", until);
  }

  /**
   * The atomic write (see lua.ts). Returns the new seq, or null when another writer got there first.
   * With REDIS_WAIT_REPLICAS the write counts once confirm(partition, seq) says so.
   */
  async commit(partition: number, write: PartitionWrite): Promise<number | null> {
    const keys: string[] = [this.layout.meta(partition), this.layout.timers(partition), this.layout.outbox(partition)];
    for (const customer of write.customers) keys.push(this.layout.customer(partition, customer.customerId));
    // History keys only for the customers that have a stage change in this write (most have none),
    // each customer's entries together and oldest first, so one LPUSH puts them newest first.
    const groups = new Map<string, Buffer[]>();
    if (this.historyCap > 0) {
      for (const entry of write.history) {
        const group = groups.get(entry.customerId);
        if (group) group.push(entry.entry);
        else {
          groups.set(entry.customerId, [entry.entry]);
          keys.push(this.layout.history(partition, entry.customerId));
        }
      }
    }
    // Values travel as five packed arguments, not one argument each: ioredis spends several
    // microseconds per argument (docs/performance.md), and a dense batch writes ~40k customers.
    const states = new PackedValues();
    const scheduled = new PackedValues();
    const unscheduled = new PackedValues();
    for (const customer of write.customers) {
      states.add(customer.packed ?? encodeState(customer.state));
      if (customer.deadlineIndexed === true) continue;
      if (customer.deadline === null) unscheduled.add(customer.customerId);
      else scheduled.add(String(customer.deadline)).add(customer.customerId);
    }
    const outbox = new PackedValues();
    for (const entry of write.outbox) outbox.add(entry);
    const history = new PackedValues();
    for (const entries of groups.values()) {
      history.add(String(entries.length));
      for (const entry of entries) history.add(entry);
    }
    const metaFields = new PackedValues();
    for (const [field, value] of Object.entries(write.metaFields ?? {})) metaFields.add(field).add(value);
    const members = new PackedValues();
    for (const [audienceId, { added, removed }] of write.members ?? []) {
      keys.push(this.layout.audienceMembers(partition, audienceId));
      members.add(String(added.length));
      for (const customerId of added) members.add(customerId);
      members.add(String(removed.length));
      for (const customerId of removed) members.add(customerId);
    }
    const args: (string | Buffer | number)[] = [
      String(write.expectedSeq),
      write.offset ?? "",
      write.watermark === null ? "" : String(write.watermark),
      this.historyCap,
      states.toBuffer(),
      scheduled.toBuffer(),
      unscheduled.toBuffer(),
      outbox.toBuffer(),
      history.toBuffer(),
      metaFields.toBuffer(),
      members.toBuffer(),
      String(write.members?.size ?? 0),
    ];
    // The keys as an array (ioredis flattens it), never spread into the call: a write of 50k
    // customers has 50k keys, past the call stack's limit as arguments (seen at 10M events).
    const [ok, seq] = await this.scripts.clmCommit(keys.length, keys, args);
    return ok === 1 ? seq : null;
  }

  /**
   * One step of a SCAN over the partition's customers: the next cursor ("0": done) and the ids met.
   * The SCAN runs in a script keyed by the partition's meta, so on a cluster it runs on the node
   * holding the partition (and follows it after a failover); the cursor names the Redis process it
   * belongs to, and a cursor of another one begins the scan again (SCAN_CUSTOMERS_SCRIPT).
   */
  async scanCustomers(partition: number, cursor: string, count: number): Promise<CustomerPage> {
    const [next, keys, restarted] = await this.scripts.clmScanCustomers(this.layout.meta(partition), cursor, this.layout.customerPattern(partition), count);
    return { cursor: next, customerIds: keys.map((key) => this.layout.customerIdOf(partition, key)), restarted: restarted === 1 };
  }

  /**
   * The outbox's first `limit` entries. With REDIS_WAIT_REPLICAS, when there are some, one pipeline
   * to the partition's node reads them again, writes the meta's probe counter after the read and
   * WAITs: replicas then hold every entry returned (the probe follows them in the node's
   * replication stream), whichever process committed them, so a failover cannot take back a change
   * once it is published.
   */
  async readOutbox(partition: number, limit: number): Promise<Buffer[]> {
    const outbox = this.layout.outbox(partition);
    const wait = this.replicaWait;
    const head = await this.redis.lrangeBuffer(outbox, 0, limit - 1);
    // An empty outbox (most ticks) needs no probe and no WAIT.
    if (wait === null || head.length === 0) return head;
    const meta = this.layout.meta(partition);
    const [read, , acknowledged] = await execPipeline(() => this.redis.pipeline().lrangeBuffer(outbox, 0, limit - 1).hincrby(meta, "probe", 1).call("WAIT", wait.replicas, wait.timeoutMs));
    const entries = read as Buffer[];
    if (entries.length > 0) this.checkReplicas(wait, outbox, acknowledged);
    return entries;
  }

  /** Trims `entries` (just published, oldest first) from the outbox head if they are still there. */
  async ackOutbox(partition: number, entries: readonly Buffer[]): Promise<number> {
    if (entries.length === 0) return 0;
    return this.scripts.clmAckOutbox(this.layout.outbox(partition), entries.length, entries[0]!, entries[entries.length - 1]!);
  }
}

/** Which topic an outbox entry goes to. */
export type OutboxTopic = "stage_changes" | "value_tier_changes" | "risk_changes" | "audience_changes";

/** Marks an entry with a topic byte; an unmarked entry (written before value tiers) is a stage change. */
const TOPIC_MARK = 0xff;
const TOPIC_CODES: Record<OutboxTopic, number> = { stage_changes: 0, value_tier_changes: 1, risk_changes: 2, audience_changes: 3 };
const TOPIC_OF_CODE: readonly OutboxTopic[] = ["stage_changes", "value_tier_changes", "risk_changes", "audience_changes"];

/**
 * Outbox entries carry the Kafka key with the encoded value: [u16 key length][key][value] for a
 * stage change, [0xff][topic][u16 key length][key][value] for another topic. A key length never
 * starts with 0xff (ids are far shorter than 65,280 bytes), so both forms read unambiguously.
 */
export function packOutboxEntry(key: string, value: Buffer, topic: OutboxTopic = "stage_changes"): Buffer {
  const keyBytes = Buffer.from(key, "utf8");
  const head = topic === "stage_changes" ? 0 : 2;
  const entry = Buffer.allocUnsafe(head + 2 + keyBytes.length + value.length);
  if (head > 0) {
    entry[0] = TOPIC_MARK;
    entry[1] = TOPIC_CODES[topic];
  }
  entry.writeUInt16BE(keyBytes.length, head);
  keyBytes.copy(entry, head + 2);
  value.copy(entry, head + 2 + keyBytes.length);
  return entry;
}

export function unpackOutboxEntry(entry: Buffer): { topic: OutboxTopic; key: string; value: Buffer } {
  const marked = entry[0] === TOPIC_MARK;
  const head = marked ? 2 : 0;
  const topic: OutboxTopic = marked ? (TOPIC_OF_CODE[entry[1]!] ?? "stage_changes") : "stage_changes";
  const keyLength = entry.readUInt16BE(head);
  return { topic, key: entry.toString("utf8", head + 2, head + 2 + keyLength), value: entry.subarray(head + 2 + keyLength) };
}
