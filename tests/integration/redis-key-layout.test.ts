import { DeliveryQueue, DestinationStore, WebhookKeys, type Destination } from "@clm/destinations";
import { createRedis, isCluster, type RedisClient } from "@clm/redis";
import { readCurrentAudiences, RedisLayout, renameLegacyAudienceKeys } from "@clm/state-store";
import { wipePrefix } from "@clm/state-store/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isolatedConfig } from "./support/pipeline.ts";

/**
 * Keys written together got hash tags for Redis Cluster (audience definitions, webhook destinations
 * and queues). A single server's keys under the names from before are renamed once when a service
 * starts; keys already under the new names are never overwritten; a cluster cannot hold the old
 * layout and is left alone.
 */
const config = isolatedConfig();
const prefix = config.REDIS_KEY_PREFIX;
const layout = new RedisLayout(prefix);
let redis: RedisClient;

beforeAll(() => {
  redis = createRedis(config);
});

afterAll(async () => {
  await wipePrefix(redis, layout);
  redis.disconnect();
});

describe("Redis key layout before hash tags", () => {
  it("is renamed on a single server, once, keeping what the new names already hold", async () => {
    const definitions = { version: "d-2", audiences: [{ id: "loyal", version: 1, name: "Loyal", filter: { stages: ["loyal"] } }], rfm: null };
    const destination: Destination = { id: "dst_0123456789abcdef", url: "http://127.0.0.1:1/hook", types: ["stage.changed"], audienceIds: null, maxBatch: 1, lanes: 4, description: null, secrets: [], createdAt: 1, updatedAt: 1 };
    // Each old key alone (a cluster takes single-key writes of any name).
    await redis.hset(`${prefix}:audiences:versions`, "d-2", JSON.stringify(definitions));
    await redis.set(`${prefix}:audiences:current`, "d-2");
    await redis.set(`${prefix}:audiences:seq`, "2");
    await redis.set(layout.audienceSequence(), "7");
    await redis.hset(`${prefix}:webhooks:destinations`, destination.id, JSON.stringify(destination));
    await redis.set(`${prefix}:webhooks:destinations:version`, "3");
    await redis.rpush(`${prefix}:webhooks:d:${destination.id}:lane:2`, "m1", "m2");
    await redis.hset(`${prefix}:webhooks:d:${destination.id}:msg`, "m1", "{}", "m2", "{}");
    const store = new DestinationStore(redis, prefix);
    const queue = new DeliveryQueue(redis, prefix);

    if (isCluster(redis)) {
      expect(await renameLegacyAudienceKeys(redis, layout)).toBe(0);
      expect(await store.renameLegacyKeys()).toBe(0);
      expect(await queue.renameLegacyKeys([destination])).toBe(0);
      expect(await redis.get(`${prefix}:audiences:current`)).toBe("d-2");
      return;
    }

    expect(await renameLegacyAudienceKeys(redis, layout)).toBe(2);
    expect(await readCurrentAudiences(redis, layout)).toEqual(definitions);
    // The counter under its new name was already there: kept (versions are never drawn twice), the old one left.
    expect(await redis.get(layout.audienceSequence())).toBe("7");
    expect(await redis.get(`${prefix}:audiences:seq`)).toBe("2");

    expect(await store.renameLegacyKeys()).toBe(2);
    expect(await store.list()).toEqual([destination]);
    expect(await store.version()).toBe("3");
    expect(await queue.renameLegacyKeys(await store.list())).toBe(2);
    const queueKeys = new WebhookKeys(prefix).of(destination.id);
    expect(await redis.lrange(queueKeys.lane(2), 0, -1)).toEqual(["m1", "m2"]);
    expect(await redis.hkeys(queueKeys.msg)).toEqual(["m1", "m2"]);

    expect(await renameLegacyAudienceKeys(redis, layout)).toBe(0);
    expect(await store.renameLegacyKeys()).toBe(0);
    expect(await queue.renameLegacyKeys([destination])).toBe(0);
  });
});
