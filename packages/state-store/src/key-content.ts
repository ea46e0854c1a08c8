import type { RedisClient } from "@clm/redis";

/**
 * A key's value in a form two copies of it share whatever their encoding inside Redis: the bytes of
 * a string, a list in order, a hash's fields and a set's members sorted, a sorted set by score.
 * DUMP payloads are not compared: a large hash or set dumps in the order of its table, which a
 * copy need not share.
 */
export async function keyContent(redis: RedisClient, key: string): Promise<string | null> {
  const type = await redis.type(key);
  const hex = (values: readonly Buffer[]) => values.map((value) => value.toString("hex"));
  switch (type) {
    case "none":
      return null;
    case "string":
      return `string ${(await redis.getBuffer(key))?.toString("hex") ?? ""}`;
    case "list":
      return `list ${hex(await redis.lrangeBuffer(key, 0, -1)).join(",")}`;
    case "hash": {
      const flat = hex(await redis.hgetallBuffer(key).then((fields) => Object.entries(fields).flatMap(([field, value]) => [Buffer.from(field), value])));
      const pairs: string[] = [];
      for (let index = 0; index < flat.length; index += 2) pairs.push(`${flat[index]}=${flat[index + 1]}`);
      return `hash ${pairs.sort().join(",")}`;
    }
    case "set":
      return `set ${hex(await redis.smembersBuffer(key)).sort().join(",")}`;
    case "zset":
      return `zset ${(await redis.zrange(key, 0, -1, "WITHSCORES")).join(",")}`;
    default:
      return `${type} ${(await redis.dumpBuffer(key))?.toString("hex") ?? ""}`;
  }
}
