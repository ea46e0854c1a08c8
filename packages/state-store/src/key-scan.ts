import { scanKeys, type RedisClient } from "@clm/redis";

/**
 * The growth code lists keys only through @clm/redis's scanKeys (every master of a Redis Cluster).
 * SCAN may return a key more than once (when Redis resizes its table meanwhile), so callers stay
 * correct on repeats.
 */
export { scanKeys };

/** Whether any key matches `pattern` (stops at the first). */
export async function anyKey(redis: RedisClient, pattern: string): Promise<string | null> {
  for await (const keys of scanKeys(redis, pattern)) return keys[0]!;
  return null;
}

/** Deletes every key matching `pattern`, one UNLINK per key (no command spans two keys, so no two hash slots). */
export async function unlinkMatching(redis: RedisClient, pattern: string): Promise<number> {
  let deleted = 0;
  for await (const keys of scanKeys(redis, pattern)) {
    const counts = await Promise.all(keys.map((key) => redis.unlink(key)));
    deleted += counts.reduce((sum, count) => sum + count, 0);
  }
  return deleted;
}
