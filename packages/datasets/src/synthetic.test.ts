import { domainEventProblems } from "@clm/core";
import { describe, expect, it } from "vitest";
import { syntheticEvents } from "./synthetic.ts";

describe("synthetic population", () => {
  it("is deterministic, sorted by time, valid, and mixes every event type", () => {
    const first = syntheticEvents({ seed: 7, events: 20_000 });
    const second = syntheticEvents({ seed: 7, events: 20_000 });
    expect(first).toEqual(second);
    expect(first).toHaveLength(20_000);
    expect(first.every((event, index) => index === 0 || first[index - 1]!.occurredAt <= event.occurredAt)).toBe(true);
    expect(first.filter((event) => domainEventProblems(event, "USD").length > 0)).toEqual([]);
    expect(new Set(first.map((event) => event.eventId)).size).toBe(first.length);
    const types = new Set(first.map((event) => event.type));
    expect([...types].sort()).toEqual(["login", "purchase", "support"]);
    expect(syntheticEvents({ seed: 8, events: 1000 })).not.toEqual(syntheticEvents({ seed: 7, events: 1000 }));
  });
});
