import type { Logger } from "@clm/observability";
import type { RedisLayout } from "@clm/state-store";
import type { Redis } from "ioredis";
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
 * Read on timers, each at most once at a time; a failure is logged and tried again next time.
 */
export class RedisStats {
  private timers: NodeJS.Timeout[] = [];
  private counting = false;

  constructor(
    private readonly redis: Redis,
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
      const { usedMemory, maxMemory } = parseInfoMemory(await this.redis.info("memory"));
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
      let cursor = "0";
      let customers = 0;
      do {
        const [next, keys] = await this.redis.scan(cursor, "MATCH", match, "COUNT", SCAN_COUNT);
        customers += keys.length;
        cursor = next;
      } while (cursor !== "0");
      this.metrics.customers.set(customers);
    } catch (error) {
      this.logger.warn({ err: error }, "counting customer states in Redis failed; tried again later");
    } finally {
      this.counting = false;
    }
  }
}
