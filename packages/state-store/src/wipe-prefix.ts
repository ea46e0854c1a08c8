import type { Redis } from "ioredis";
import { unlinkMatching } from "./key-scan.ts";
import type { RedisLayout } from "./redis-layout.ts";

/** Deletes every key of a layout (SCAN + UNLINK, never KEYS). */
export async function wipePrefix(redis: Redis, layout: RedisLayout): Promise<number> {
  let deleted = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", layout.pattern(), "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== "0");
  return deleted;
}

/**
 * Deletes every partition's keys of a layout — states, timers, outboxes, histories, member sets,
 * metas: what a rebuild derives from the input topic — and keeps the keys shared by every
 * partition, which no topic holds (stored value models and audience definitions, RFM boundaries,
 * webhook destinations and queues, the growth record).
 */
export async function wipePartitions(redis: Redis, layout: RedisLayout): Promise<number> {
  return unlinkMatching(redis, layout.partitionsPattern());
}
