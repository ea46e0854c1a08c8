import { RedisLayout } from "@clm/state-store";
import { wipePartitions } from "@clm/state-store/admin";
import { Processor, type ProcessorOptions } from "./processor.ts";

export interface RebuildReport {
  keyPrefix: string;
  partitions: number;
  records: number;
  seconds: number;
}

/**
 * Rebuilds all customer state from the input topic: wipe the prefix's partition keys (the
 * shared ones stay: the stored value models and audience definitions the topic's activation
 * records name, RFM boundaries, webhook destinations), consume every partition from its first
 * record with a fresh consumer group (nothing published), and stop once the offsets applied in
 * Redis reach the end offsets seen at start and no refit or audience sweep is under way.
 * `continue`: keep the prefix and go on from each partition's applied offset instead — the
 * last step of a rebuild across a partition growth, on the prefix `clm partitions grow` made
 * from the rebuilt old one (docs/scaling.md).
 */
export async function rebuild(options: Omit<ProcessorOptions, "groupId" | "publish" | "keyPrefix"> & { keyPrefix: string; pollMs?: number; continue?: boolean }): Promise<RebuildReport> {
  const started = performance.now();
  const { config, kafka, redis, logger } = options;
  const layout = new RedisLayout(options.keyPrefix);
  if (options.continue !== true) await refuseAfterGrowth(options);
  if (options.continue === true) logger.info({ keyPrefix: options.keyPrefix }, "rebuild: going on from the prefix's applied offsets");
  else logger.info({ keyPrefix: options.keyPrefix, wiped: await wipePartitions(redis, layout) }, "rebuild: the prefix's partition keys wiped");

  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(config.TOPIC_EVENTS);
  const records = ends.reduce((sum, entry) => sum + Number(BigInt(entry.high) - BigInt(entry.low)), 0);
  const groupId = `${config.PROCESSOR_GROUP_ID}-rebuild-${Date.now()}`;
  const { continue: _continue, ...processorOptions } = options;
  const processor = new Processor({ ...processorOptions, groupId, publish: false });
  await processor.start({ fromBeginning: true });
  try {
    for (;;) {
      let done = true;
      for (const end of ends) {
        if (end.high === end.low) continue;
        const meta = await processor.store.loadMeta(end.partition);
        // A sweep to a model or definitions activated on the way is part of the state a live run ends with.
        if (meta.offset === null || BigInt(meta.offset) < BigInt(end.high) || meta.refitCursor !== null || meta.audienceCursor !== null) done = false;
      }
      if (done) break;
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
    }
  } finally {
    await processor.stop();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
  return { keyPrefix: options.keyPrefix, partitions: ends.length, records, seconds: Math.round((performance.now() - started) / 10) / 100 };
}

/**
 * A topic a partition growth started holds only the records after the growth's cut (docs/scaling.md):
 * rebuilt from its first record alone, every customer would lose its history. Refused when the
 * target or the live prefix records a growth onto the config's input topic.
 */
async function refuseAfterGrowth(options: { config: ProcessorOptions["config"]; redis: ProcessorOptions["redis"]; keyPrefix: string }): Promise<void> {
  const { config, redis } = options;
  for (const prefix of new Set([options.keyPrefix, config.REDIS_KEY_PREFIX])) {
    for (const text of await redis.lrange(new RedisLayout(prefix).growths(), 0, -1)) {
      const record = JSON.parse(text) as { toTopic?: string; fromTopic?: string; fromPrefix?: string };
      if (record.toTopic !== config.TOPIC_EVENTS) continue;
      throw new Error(
        `${config.TOPIC_EVENTS} starts where a partition growth cut ${record.fromTopic ?? "the old topic"} (recorded under ${prefix}): rebuild ${record.fromPrefix ?? "the old prefix"}'s layout from the old topic, grow it with 'clm partitions grow', then rebuild --continue (docs/scaling.md)`,
      );
    }
  }
}
