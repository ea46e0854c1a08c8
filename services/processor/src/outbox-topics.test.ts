import { describe, expect, it } from "vitest";
import { memberSetChanges } from "./partition-worker.ts";
import { packOutboxEntry, unpackOutboxEntry, type OutboxTopic } from "./state-store.ts";

describe("outbox entries", () => {
  it("carry their topic: stage changes unmarked, the others by topic byte", () => {
    for (const topic of ["stage_changes", "value_tier_changes", "risk_changes", "audience_changes"] as OutboxTopic[]) {
      const entry = packOutboxEntry("customer-é", Buffer.from([0, 1, 2]), topic);
      expect(unpackOutboxEntry(entry)).toEqual({ topic, key: "customer-é", value: Buffer.from([0, 1, 2]) });
    }
    expect(packOutboxEntry("c", Buffer.from([9]))[0]).not.toBe(0xff);
  });
});

describe("member-set writes", () => {
  it("follow each customer's last change per audience within a commit", () => {
    const change = (customerId: string, audienceId: string, kind: "entered" | "left") => ({
      changeId: `${customerId}:1`,
      customerId,
      version: 1,
      audienceId,
      audienceVersion: 1,
      definitionsVersion: "d-1",
      change: kind,
      occurredAt: 0,
      trigger: "timer" as const,
      eventId: null,
    });
    const writes = memberSetChanges([change("a", "x", "entered"), change("a", "x", "left"), change("b", "x", "entered"), change("a", "y", "left"), change("a", "y", "entered")]);
    expect(writes).toEqual(
      new Map([
        ["x", { added: ["b"], removed: ["a"] }],
        ["y", { added: ["a"], removed: [] }],
      ]),
    );
  });
});
