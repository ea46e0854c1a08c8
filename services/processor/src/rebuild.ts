import { RedisLayout } from "@clm/state-store";
import { wipePrefix } from "@clm/state-store/admin";
import { Processor, type ProcessorOptions } from "./processor.ts";

export interface RebuildReport {
  keyPrefix: string;
  partitions: number;
  records: number;
  seconds: number;
}

/**
 * Rebuilds all customer state from the input topic: wipe the prefix, consume every
 * partition from its first record with a fresh consumer group (nothing published),
 * and stop once the offsets applied in Redis reach the end offsets seen at start.
 */
export async function rebuild(options: Omit<ProcessorOptions, "groupId" | "publish" | "keyPrefix"> & { keyPrefix: string; pollMs?: number }): Promise<RebuildReport> {
  const started = performance.now();
  const { config, kafka, redis, logger } = options;
  const layout = new RedisLayout(options.keyPrefix);
  const wiped = await wipePrefix(redis, layout);
  logger.info({ keyPrefix: options.keyPrefix, wiped }, "rebuild: prefix wiped");

  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(config.TOPIC_EVENTS);
  const records = ends.reduce((sum, entry) => sum + Number(BigInt(entry.high) - BigInt(entry.low)), 0);
  const groupId = `${config.PROCESSOR_GROUP_ID}-rebuild-${Date.now()}`;
  const processor = new Processor({ ...options, groupId, publish: false });
  await processor.start({ fromBeginning: true });
  try {
    for (;;) {
      let done = true;
      for (const end of ends) {
        if (end.high === end.low) continue;
        const meta = await processor.store.loadMeta(end.partition);
        if (meta.offset === null || BigInt(meta.offset) < BigInt(end.high)) done = false;
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
