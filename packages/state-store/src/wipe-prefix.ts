import type { Redis } from "ioredis";
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
