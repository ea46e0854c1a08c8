import type { Admin, ITopicConfig } from "kafkajs";

type TopicsMetadata = Awaited<ReturnType<Admin["fetchTopicMetadata"]>>;

export interface TopicSpec {
  topic: string;
  /** Partitions the topic is created with. */
  numPartitions: number;
  /** Replicas of each partition (1 when unset: a single broker). */
  replicationFactor?: number;
  /** Whether an existing topic must have exactly numPartitions (default true). */
  exactPartitions?: boolean;
  configs?: Record<string, string>;
}

/** The createTopics entry of a spec: its partitions, replicas and topic-level settings. */
export function topicCreation(spec: TopicSpec): ITopicConfig {
  return {
    topic: spec.topic,
    numPartitions: spec.numPartitions,
    replicationFactor: spec.replicationFactor ?? 1,
    configEntries: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
  };
}

/**
 * Creates the project's topics if missing (the broker never auto-creates) and
 * checks that existing ones are as the project expects: the partition count where it
 * matters (on the input topic a customer's partition is part of its state's address, so
 * a silent mismatch would scatter state), and at least the replicas asked for (fewer
 * would keep fewer copies of every record than the deployment promises).
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.topic));
  if (missing.length > 0) {
    // kafkajs's own waitForLeaders gives up when the broker it asks has not yet learnt of the new topic
    // (on a KRaft cluster the controller commits it first, every broker applies it a moment later).
    await admin.createTopics({ waitForLeaders: false, topics: missing.map(topicCreation) });
  }
  const metadata = await settledMetadata(
    admin,
    specs.map((spec) => spec.topic),
    new Set(missing.map((spec) => spec.topic)),
  );
  for (const spec of specs) {
    const found = metadata.topics.find((topic) => topic.name === spec.topic);
    const partitions = found?.partitions ?? [];
    if (partitions.length === 0 || (spec.exactPartitions !== false && partitions.length !== spec.numPartitions)) {
      throw new Error(`topic ${spec.topic} has ${partitions.length} partitions, expected ${spec.numPartitions} (TOPIC_PARTITIONS)`);
    }
    const replicas = Math.min(...partitions.map((partition) => partition.replicas.length));
    if (replicas < (spec.replicationFactor ?? 1)) {
      throw new Error(`topic ${spec.topic} has ${replicas} replica(s) per partition, expected ${spec.replicationFactor} (KAFKA_REPLICATION_FACTOR)`);
    }
  }
}

/** Errors of a topic's metadata while the brokers are still learning of it (or electing its leaders). */
const SETTLING_ERRORS = new Set(["UNKNOWN_TOPIC_OR_PARTITION", "LEADER_NOT_AVAILABLE"]);
const SETTLE_TIMEOUT_MS = 30_000;

/**
 * The topics' metadata once every broker asked knows them all and every partition of `needLeaders`
 * (topics just created) has a leader; a topic created by another process at the same moment may
 * still be unknown to the broker asked, so that is waited for too.
 */
async function settledMetadata(admin: Admin, topics: readonly string[], needLeaders: ReadonlySet<string>): Promise<TopicsMetadata> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    let waitingFor: string;
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
      const leaderless = metadata.topics.find(
        (topic) => needLeaders.has(topic.name) && (topic.partitions.length === 0 || topic.partitions.some((partition) => partition.leader < 0)),
      );
      if (!leaderless) return metadata;
      waitingFor = `leaders of topic ${leaderless.name}`;
    } catch (error) {
      if (!SETTLING_ERRORS.has((error as { type?: string }).type ?? "")) throw error;
      waitingFor = `metadata of ${topics.join(", ")} (${(error as Error).message})`;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${SETTLE_TIMEOUT_MS} ms waiting for ${waitingFor}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The settings that name the project's topics and how they are replicated (a structural slice of the config). */
export interface ProjectTopicSettings {
  TOPIC_EVENTS: string;
  TOPIC_STAGE_CHANGES: string;
  TOPIC_VALUE_TIER_CHANGES: string;
  TOPIC_RISK_CHANGES: string;
  TOPIC_AUDIENCE_CHANGES: string;
  TOPIC_DEAD_LETTER: string;
  TOPIC_PARTITIONS: number;
  KAFKA_REPLICATION_FACTOR: number;
  KAFKA_MIN_INSYNC_REPLICAS: number;
}

/** The project's topics, in the order the pipeline uses them. */
export function projectTopics(config: ProjectTopicSettings): string[] {
  return [config.TOPIC_EVENTS, config.TOPIC_STAGE_CHANGES, config.TOPIC_VALUE_TIER_CHANGES, config.TOPIC_RISK_CHANGES, config.TOPIC_AUDIENCE_CHANGES, config.TOPIC_DEAD_LETTER];
}

/**
 * Every project topic as the configuration asks for it: TOPIC_PARTITIONS partitions (held exactly
 * only on the input topic: a customer's place in the output and dead-letter topics addresses
 * nothing, and a growth of the input topic (docs/scaling.md) leaves them as they are, so every
 * customer's changes stay on one partition, in order), KAFKA_REPLICATION_FACTOR replicas, and
 * min.insync.replicas = KAFKA_MIN_INSYNC_REPLICAS, so a write acknowledged with acks=all (every
 * producer of the project) is on at least that many brokers.
 */
export function projectTopicSpecs(config: ProjectTopicSettings): TopicSpec[] {
  return projectTopics(config).map((topic) => ({
    topic,
    numPartitions: config.TOPIC_PARTITIONS,
    exactPartitions: topic === config.TOPIC_EVENTS,
    replicationFactor: config.KAFKA_REPLICATION_FACTOR,
    configs: { "min.insync.replicas": String(config.KAFKA_MIN_INSYNC_REPLICAS) },
  }));
}

/** Creates missing project topics and checks existing ones (services, CLI and tests alike). */
export async function ensureProjectTopics(admin: Admin, config: ProjectTopicSettings): Promise<void> {
  await ensureTopics(admin, projectTopicSpecs(config));
}
