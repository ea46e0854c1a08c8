import { randomUUID } from "node:crypto";
import { loadConfig, type Config } from "@clm/config";
import { envOf } from "./service-process.ts";

/** A config whose topics, group and key prefix are unique to this run, so tests never see each other's data. */
export function isolatedConfig(overrides: Record<string, string> = {}): Config {
  const run = `${Date.now().toString(36)}${randomUUID().slice(0, 6)}`;
  return loadConfig({
    ...process.env,
    TOPIC_EVENTS: `test.${run}.events`,
    TOPIC_STAGE_CHANGES: `test.${run}.stage-changes`,
    TOPIC_VALUE_TIER_CHANGES: `test.${run}.value-tier-changes`,
    TOPIC_RISK_CHANGES: `test.${run}.risk-changes`,
    TOPIC_AUDIENCE_CHANGES: `test.${run}.audience-changes`,
    TOPIC_DEAD_LETTER: `test.${run}.dead-letter`,
    TOPIC_PARTITIONS: "4",
    PROCESSOR_GROUP_ID: `test-${run}-processor`,
    REDIS_KEY_PREFIX: `test-${run}`,
    CLOCK_MODE: "event",
    LOG_LEVEL: "silent",
    ...overrides,
  });
}

/**
 * The config an isolated run switches to after growing its input topic to `partitions` partitions
 * (docs/scaling.md): a new input topic and Redis key prefix named after the run's own, everything
 * else kept (output topics, groups, database), as `clm partitions grow` prescribes.
 */
export function grownConfig(config: Config, partitions: number): Config {
  return loadConfig(envOf(config, { TOPIC_EVENTS: `${config.TOPIC_EVENTS}.p${partitions}`, TOPIC_PARTITIONS: String(partitions), REDIS_KEY_PREFIX: `${config.REDIS_KEY_PREFIX}-p${partitions}` }));
}
