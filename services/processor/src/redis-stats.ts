import type { Logger } from "@clm/observability";
import type { RedisLayout } from "@clm/state-store";
import { keyServers, scanKeys, type RedisClient } from "@clm/redis";
import type { ProcessorMetrics } from "./metrics.ts";

/** How often INFO memory is read: one small command, nothing Redis has to compute. */
export const REDIS_MEMORY_INTERVAL_MS = 15_000;
/**
 * How often the customer states are counted. Redis keeps no count of keys matching a pattern, so
 * this is a SCAN over the whole keyspace (about two keys per customer: state and history), in
 * steps of SCAN_COUNT keys: at 1M customers some 2,000 short SCAN calls a minute.
 */
export const CUSTOMER_COUNT_INTERVAL_MS = 60_000;
const SCAN_COUNT = 1000;

/**
 * Of several servers' INFO memory (a cluster's masters), the one nearest its limit: the highest
 * used/maxmemory, or the most used when none has a limit. The "Redis memory near its limit" alert
 * is about the first node to fill up, whatever the others hold.
 */
export function fullestServer(servers: readonly ServerMemory[]): ServerMemory {
  const known = servers.filter((server) => server.usedMemory !== null);
  const limited = known.filter((server) => (server.maxMemory ?? 0) > 0);
  const share = (server: ServerMemory) => (limited.length > 0 ? server.usedMemory! / server.maxMemory! : server.usedMemory!);
  const ranked = limited.length > 0 ? limited : known;
  return ranked.reduce<ServerMemory | null>((fullest, server) => (fullest === null || share(server) > share(fullest) ? server : fullest), null) ?? { usedMemory: null, maxMemory: null };
}

export interface ServerMemory {
  usedMemory: number | null;
  maxMemory: number | null;
}

/** used_memory and maxmemory from the text of `INFO memory` (null when a field is missing). */
export function parseInfoMemory(info: string): { usedMemory: number | null; maxMemory: number | null } {
  const field = (name: string) => {
    const match = new RegExp(`^${name}:(\\d+)\\s*$`, "m").exec(info);
    return match ? Number(match[1]) : null;
  };
  return { usedMemory: field("used_memory"), maxMemory: field("maxmemory") };
}

/**
 * Redis's memory and the number of customer states as gauges of the processor's registry, for the
 * "Redis memory near its limit" alert and the dashboard's memory per customer (docs/operations.md).
 * On a cluster: the master nearest its limit, and the states on every master.
 * Read on timers, each at most once at a time; a failure is logged and tried again next time.
 */
export class RedisStats {
  private timers: NodeJS.Timeout[] = [];
  private counting = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly layout: RedisLayout,
    private readonly metrics: ProcessorMetrics,
    private readonly logger: Logger,
  ) {}

  start(): void {
    void this.readMemory();
    void this.countCustomers();
    this.timers = [setInterval(() => void this.readMemory(), REDIS_MEMORY_INTERVAL_MS), setInterval(() => void this.countCustomers(), CUSTOMER_COUNT_INTERVAL_MS)];
    for (const timer of this.timers) timer.unref();
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  async readMemory(): Promise<void> {
    try {
      const servers = await Promise.all((await keyServers(this.redis)).map(async (server) => parseInfoMemory(await server.info("memory"))));
      const { usedMemory, maxMemory } = fullestServer(servers);
      if (usedMemory !== null) this.metrics.redisUsedMemory.set(usedMemory);
      if (maxMemory !== null) this.metrics.redisMaxMemory.set(maxMemory);
    } catch (error) {
      this.logger.warn({ err: error }, "reading Redis INFO memory failed; tried again later");
    }
  }

  async countCustomers(): Promise<void> {
    if (this.counting) return;
    this.counting = true;
    try {
      // Customer state keys are <prefix>:{p<N>}:c:<customerId> (RedisLayout.customer).
      const match = this.layout.customer(0, "*").replace("{p0}", "{p*}");
      let customers = 0;
      for await (const keys of scanKeys(this.redis, match, SCAN_COUNT)) customers += keys.length;
      this.metrics.customers.set(customers);
    } catch (error) {
      this.logger.warn({ err: error }, "counting customer states in Redis failed; tried again later");
    } finally {
      this.counting = false;
    }
  }
}
