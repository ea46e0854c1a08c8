import type { Admin } from "kafkajs";

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  configs?: Record<string, string>;
}

/**
 * Creates the project's topics if missing (the broker never auto-creates) and
 * checks that existing ones have the partition count the project expects: a
 * customer's partition is part of its state's address, so a silent mismatch would
 * scatter state.
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.topic));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((spec) => ({
        topic: spec.topic,
        numPartitions: spec.numPartitions,
        replicationFactor: 1,
        configEntries: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
    });
  }
  const metadata = await admin.fetchTopicMetadata({ topics: specs.map((spec) => spec.topic) });
  for (const spec of specs) {
    const found = metadata.topics.find((topic) => topic.name === spec.topic);
    const partitions = found?.partitions.length ?? 0;
    if (partitions !== spec.numPartitions) {
      throw new Error(`topic ${spec.topic} has ${partitions} partitions, expected ${spec.numPartitions} (TOPIC_PARTITIONS)`);
    }
  }
}
