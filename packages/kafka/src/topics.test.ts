import { describe, expect, it } from "vitest";
import { projectTopicSpecs, topicCreation, type ProjectTopicSettings } from "./topics.ts";

const settings: ProjectTopicSettings = {
  TOPIC_EVENTS: "e",
  TOPIC_STAGE_CHANGES: "s",
  TOPIC_VALUE_TIER_CHANGES: "v",
  TOPIC_RISK_CHANGES: "r",
  TOPIC_AUDIENCE_CHANGES: "a",
  TOPIC_DEAD_LETTER: "d",
  TOPIC_PARTITIONS: 6,
  KAFKA_REPLICATION_FACTOR: 3,
  KAFKA_MIN_INSYNC_REPLICAS: 2,
};

describe("project topic specs", () => {
  it("gives every project topic the configured partitions, replicas and min.insync.replicas", () => {
    const specs = projectTopicSpecs(settings);
    expect(specs.map((spec) => spec.topic)).toEqual(["e", "s", "v", "r", "a", "d"]);
    for (const spec of specs) {
      expect(topicCreation(spec)).toEqual({
        topic: spec.topic,
        numPartitions: 6,
        replicationFactor: 3,
        configEntries: [{ name: "min.insync.replicas", value: "2" }],
      });
    }
  });

  it("asks a single broker for one replica and one in-sync replica", () => {
    const [events] = projectTopicSpecs({ ...settings, KAFKA_REPLICATION_FACTOR: 1, KAFKA_MIN_INSYNC_REPLICAS: 1 });
    expect(topicCreation(events!)).toEqual({ topic: "e", numPartitions: 6, replicationFactor: 1, configEntries: [{ name: "min.insync.replicas", value: "1" }] });
  });

  it("creates a spec without replication settings with one replica and no topic settings", () => {
    expect(topicCreation({ topic: "t", numPartitions: 2 })).toEqual({ topic: "t", numPartitions: 2, replicationFactor: 1, configEntries: [] });
  });
});
