import { afterAll, describe, expect, it } from "vitest";
import { createTopics, deleteTopics, grownConfig, isolatedConfig, testKafka } from "./support/pipeline.ts";

const config = isolatedConfig({ TOPIC_PARTITIONS: "6" });
const grown = grownConfig(config, 8);
const kafka = testKafka(config);
afterAll(async () => {
  await deleteTopics(kafka, config);
  await deleteTopics(kafka, grown);
});

async function partitionCounts(topics: string[]): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const metadata = await admin.fetchTopicMetadata({ topics });
    return topics.map((topic) => metadata.topics.find((found) => found.name === topic)!.partitions.length);
  } finally {
    await admin.disconnect();
  }
}

describe("ensureProjectTopics", () => {
  it("creates the topics when several services start at once, each seeing them missing", async () => {
    // Each its own admin client, as processors and sinks started together each ensure the topics at start.
    const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => createTopics(kafka, config)));
    expect(outcomes.map((outcome) => (outcome.status === "rejected" ? String(outcome.reason) : "ok"))).toEqual(["ok", "ok", "ok", "ok"]);
    expect(await partitionCounts([config.TOPIC_EVENTS, config.TOPIC_STAGE_CHANGES, config.TOPIC_DEAD_LETTER])).toEqual([6, 6, 6]);
  });

  it("holds the input topic to TOPIC_PARTITIONS and lets the output topics keep their count (a grown pipeline, docs/scaling.md)", async () => {
    await createTopics(kafka, config);
    await expect(createTopics(kafka, { ...config, TOPIC_PARTITIONS: 8 })).rejects.toThrow(`topic ${config.TOPIC_EVENTS} has 6 partitions, expected 8 (TOPIC_PARTITIONS)`);
    await createTopics(kafka, grown);
    expect(await partitionCounts([grown.TOPIC_EVENTS, grown.TOPIC_STAGE_CHANGES, grown.TOPIC_RISK_CHANGES, grown.TOPIC_DEAD_LETTER])).toEqual([8, 6, 6, 6]);
  });
});
