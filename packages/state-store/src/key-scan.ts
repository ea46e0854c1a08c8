import type { Redis } from "ioredis";

/**
 * Every key matching `pattern`, one SCAN page at a time. SCAN may return a key more than once (when
 * Redis resizes its table meanwhile), so callers stay correct on repeats. The growth code lists
 * keys only through here: on Redis Cluster, where SCAN covers one node, this becomes a scan of
 * every master.
 */
export async function* scanKeys(redis: Redis, pattern: string, count = 1000): AsyncGenerator<string[]> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", count);
    cursor = next;
    if (keys.length > 0) yield keys;
  } while (cursor !== "0");
}

/** Whether any key matches `pattern` (stops at the first). */
export async function anyKey(redis: Redis, pattern: string): Promise<string | null> {
  for await (const keys of scanKeys(redis, pattern)) return keys[0]!;
  return null;
}

/** Deletes every key matching `pattern`, one UNLINK per key (no command spans two keys, so no two hash slots). */
export async function unlinkMatching(redis: Redis, pattern: string): Promise<number> {
  let deleted = 0;
  for await (const keys of scanKeys(redis, pattern)) {
    const counts = await Promise.all(keys.map((key) => redis.unlink(key)));
    deleted += counts.reduce((sum, count) => sum + count, 0);
  }
  return deleted;
}
