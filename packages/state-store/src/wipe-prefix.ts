import { scanKeys, unlinkKeys, type RedisClient } from "@clm/redis";
import type { RedisLayout } from "./redis-layout.ts";

/** Deletes every key of a layout (SCAN on every master + UNLINK, never KEYS). */
export async function wipePrefix(redis: RedisClient, layout: RedisLayout): Promise<number> {
  let deleted = 0;
  for await (const keys of scanKeys(redis, layout.pattern())) deleted += await unlinkKeys(redis, keys);
  return deleted;
}
