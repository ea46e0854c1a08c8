import { Cluster } from "ioredis";
import type { RedisClient } from "./client.ts";

/**
 * Gives keys of an older layout their current names, once: RENAMENX each old key that exists to
 * its new name when that is free (another process may have done it already). Only a single server
 * can hold old keys — the old layouts put keys written together in different hash slots, which a
 * cluster refuses — and on a single server RENAME works across any names, so a cluster is left
 * alone. Run at the start of every process that uses the keys, before it reads them. Returns how
 * many keys were renamed.
 */
export async function renameLegacyKeys(redis: RedisClient, renames: Iterable<{ from: string; to: string }>): Promise<number> {
  if (redis instanceof Cluster) return 0;
  let renamed = 0;
  for (const { from, to } of renames) {
    if ((await redis.exists(from)) === 0) continue;
    renamed += await redis.renamenx(from, to);
  }
  return renamed;
}
