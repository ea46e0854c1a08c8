import { Cluster, type Redis } from "ioredis";
import type { RedisClient } from "./client.ts";

/**
 * The servers that hold keys: the one server, or every master of the cluster as the client knows
 * it now (after a failover, the promoted replica once the client has refreshed its slot map).
 */
export async function keyServers(redis: RedisClient): Promise<Redis[]> {
  if (!(redis instanceof Cluster)) return [redis];
  // A lazily connected cluster knows its nodes once it has connected; a command connects it.
  if (redis.status !== "ready") await redis.ping();
  // The slot map as the cluster has it now, not as of the last redirection: after a failover the
  // client may still list the old master (or a connection it has closed since).
  await new Promise<void>((resolve, reject) => redis.refreshSlotsCache((error) => (error ? reject(error) : resolve())));
  const masters = redis.nodes("master");
  if (masters.length === 0) throw new Error("the Redis Cluster client knows no master node");
  return masters;
}

/**
 * SCAN for `pattern` over every server that holds keys, one page at a time (a cluster's SCAN sees
 * only the node it runs on). A key that moves between nodes during the scan (resharding) can be
 * missed or met twice, as SCAN's own guarantees are per node.
 */
export async function* scanKeys(redis: RedisClient, pattern: string, count = 1000): AsyncGenerator<string[]> {
  for (const server of await keyServers(redis)) {
    let cursor = "0";
    do {
      const [next, keys] = await server.scan(cursor, "MATCH", pattern, "COUNT", count);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== "0");
  }
}

/** Every key matching `pattern` (for tests and small key spaces). */
export async function scanAllKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of scanKeys(redis, pattern)) keys.push(...page);
  return keys;
}

const CHUNK = 1000;

/**
 * UNLINKs keys of any slots: on one server in chunks of CHUNK per command; on a cluster one
 * command per key (a multi-key command must stay in one slot), all sent at once so they travel
 * pipelined. Returns how many existed.
 */
export async function unlinkKeys(redis: RedisClient, keys: readonly string[]): Promise<number> {
  let removed = 0;
  if (redis instanceof Cluster) {
    for (let start = 0; start < keys.length; start += CHUNK) {
      const counts = await Promise.all(keys.slice(start, start + CHUNK).map((key) => redis.unlink(key)));
      removed += counts.reduce((sum, count) => sum + count, 0);
    }
    return removed;
  }
  for (let start = 0; start < keys.length; start += CHUNK) removed += await redis.unlink(...keys.slice(start, start + CHUNK));
  return removed;
}

/** The values of keys of any slots, in order (null: no such key): MGET on one server, a GET per key on a cluster. */
export async function getBuffers(redis: RedisClient, keys: readonly string[]): Promise<(Buffer | null)[]> {
  if (keys.length === 0) return [];
  if (redis instanceof Cluster) return Promise.all(keys.map((key) => redis.getBuffer(key)));
  return redis.mgetBuffer([...keys]);
}
