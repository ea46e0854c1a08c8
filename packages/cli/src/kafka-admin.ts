import type { Config } from "@clm/config";
import { createKafka, ensureProjectTopics, projectTopics } from "@clm/kafka";
import type { Admin } from "kafkajs";
import { commandLogger } from "./context.ts";

// Shared with the services; the CLI's commands import them from here.
export { ensureProjectTopics, projectTopics };

/** Which topics each consumer group reads (processor: events; sink: events and stage changes). */
export function consumerGroups(config: Config): { name: "processor" | "sink"; groupId: string; topics: string[] }[] {
  return [
    { name: "processor", groupId: config.PROCESSOR_GROUP_ID, topics: [config.TOPIC_EVENTS] },
    { name: "sink", groupId: config.SINK_GROUP_ID, topics: [config.TOPIC_EVENTS, config.TOPIC_STAGE_CHANGES, config.TOPIC_VALUE_TIER_CHANGES, config.TOPIC_RISK_CHANGES, config.TOPIC_AUDIENCE_CHANGES] },
  ];
}

/** Runs `work` with a connected admin client and always disconnects, so the command can exit. */
export async function withAdmin<T>(config: Config, work: (admin: Admin) => Promise<T>): Promise<T> {
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-cli`, logger: commandLogger() });
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Creates missing project topics with TOPIC_PARTITIONS partitions (the broker never auto-creates). */
/** Errors a freshly created topic or a new broker gives for a moment (leaders not elected, coordinator loading). */
const TRANSIENT = new Set(["NOT_LEADER_FOR_PARTITION", "LEADER_NOT_AVAILABLE", "UNKNOWN_TOPIC_OR_PARTITION", "NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE", "COORDINATOR_LOAD_IN_PROGRESS"]);

/**
 * Retries `read` while Kafka answers with a transient leadership error. kafkajs's admin gives up
 * on NOT_LEADER at once and keeps its cached metadata, so between attempts the admin reconnects,
 * which drops the cache and makes the next call fetch current leaders.
 */
export async function withFreshLeaders<T>(admin: Admin, read: () => Promise<T>, attempts = 10): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      const type = (error as { type?: string }).type;
      if (attempt >= attempts || type === undefined || !TRANSIENT.has(type)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 300 * attempt));
      await admin.disconnect();
      await admin.connect();
    }
  }
}
