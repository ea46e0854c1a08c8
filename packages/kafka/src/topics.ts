import type { Admin } from "kafkajs";

export interface TopicSpec {
  topic: string;
  /** Partitions the topic is created with. */
  numPartitions: number;
  /** Whether an existing topic must have exactly numPartitions (default true). */
  exactPartitions?: boolean;
  configs?: Record<string, string>;
}

/**
 * Creates the project's topics if missing (the broker never auto-creates) and
 * checks that existing ones have the partition count the project expects where it
 * matters: on the input topic a customer's partition is part of its state's address,
 * so a silent mismatch would scatter state.
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
    if (partitions === 0 || (spec.exactPartitions !== false && partitions !== spec.numPartitions)) {
      throw new Error(`topic ${spec.topic} has ${partitions} partitions, expected ${spec.numPartitions} (TOPIC_PARTITIONS)`);
    }
  }
}

/** The settings that name the project's topics (a structural slice of the config). */
export interface ProjectTopicSettings {
  TOPIC_EVENTS: string;
  TOPIC_STAGE_CHANGES: string;
  TOPIC_VALUE_TIER_CHANGES: string;
  TOPIC_RISK_CHANGES: string;
  TOPIC_AUDIENCE_CHANGES: string;
  TOPIC_DEAD_LETTER: string;
  TOPIC_PARTITIONS: number;
}

/** The project's topics, in the order the pipeline uses them. */
export function projectTopics(config: ProjectTopicSettings): string[] {
  return [config.TOPIC_EVENTS, config.TOPIC_STAGE_CHANGES, config.TOPIC_VALUE_TIER_CHANGES, config.TOPIC_RISK_CHANGES, config.TOPIC_AUDIENCE_CHANGES, config.TOPIC_DEAD_LETTER];
}

/**
 * Creates missing project topics with the configured partition count and checks the input topic's
 * (services, CLI and tests alike). The output and dead-letter topics keep the count they have: a
 * customer's place there addresses nothing, and a growth of the input topic (docs/scaling.md)
 * leaves them as they are, so every customer's changes stay on one partition, in order.
 */
export async function ensureProjectTopics(admin: Admin, config: ProjectTopicSettings): Promise<void> {
  await ensureTopics(
    admin,
    projectTopics(config).map((topic) => ({ topic, numPartitions: config.TOPIC_PARTITIONS, exactPartitions: topic === config.TOPIC_EVENTS })),
  );
}
