import { renameLegacyKeys, type RedisClient } from "@clm/redis";
import type { RedisLayout } from "./redis-layout.ts";

/**
 * The audience keys of `layout` under their names before they shared a hash tag
 * (<prefix>:audiences:…), renamed to the current ones on a single server (@clm/redis renameLegacyKeys).
 */
export function renameLegacyAudienceKeys(redis: RedisClient, layout: RedisLayout): Promise<number> {
  return renameLegacyKeys(redis, layout.legacyAudienceKeys());
}
