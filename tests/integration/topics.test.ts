import { afterAll, describe, expect, it } from "vitest";
import { createTopics, deleteTopics, isolatedConfig, testKafka } from "./support/pipeline.ts";

const config = isolatedConfig({ TOPIC_PARTITIONS: "6" });
const kafka = testKafka(config);
afterAll(() => deleteTopics(kafka, config));

describe("ensureProjectTopics", () => {
  it("creates the topics when several services start at once, each seeing them missing", async () => {
    // Each its own admin client, as processors and sinks started together each ensure the topics at start.
    const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => createTopics(kafka, config)));
    expect(outcomes.map((outcome) => (outcome.status === "rejected" ? String(outcome.reason) : "ok"))).toEqual(["ok", "ok", "ok", "ok"]);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [config.TOPIC_EVENTS, config.TOPIC_STAGE_CHANGES, config.TOPIC_DEAD_LETTER] });
      expect(metadata.topics.map((topic) => topic.partitions.length)).toEqual([6, 6, 6]);
    } finally {
      await admin.disconnect();
    }
  });
});
