import { describe, expect, it } from "vitest";
import { destinationCreateSchema, signingSecrets, subscribes, type Destination } from "./destination.ts";
import { laneOf } from "./keys.ts";
import { SIGNAL_TYPES } from "./signals.ts";

const destination = (overrides: Partial<Destination> = {}): Destination => ({
  id: "dst_1",
  url: "https://example.com/hook",
  types: ["stage.changed"],
  audienceIds: null,
  maxBatch: 1,
  lanes: 8,
  description: null,
  secrets: [{ secret: "whsec_a", createdAt: 0, expiresAt: null }],
  createdAt: 0,
  updatedAt: 0,
  ...overrides,
});

describe("destinations", () => {
  it("validate URL, types, secret and batch size", () => {
    expect(destinationCreateSchema.parse({ url: "https://example.com/x", types: ["stage.changed"] })).toMatchObject({ maxBatch: 1 });
    expect(destinationCreateSchema.safeParse({ url: "ftp://example.com", types: ["stage.changed"] }).success).toBe(false);
    expect(destinationCreateSchema.safeParse({ url: "https://u:p@example.com", types: ["stage.changed"] }).success).toBe(false);
    expect(destinationCreateSchema.safeParse({ url: "https://example.com", types: ["nope"] }).success).toBe(false);
    expect(destinationCreateSchema.safeParse({ url: "https://example.com", types: ["tier.changed"], secret: "plain" }).success).toBe(false);
    expect(destinationCreateSchema.safeParse({ url: "https://example.com", types: ["tier.changed"], extra: 1 }).success).toBe(false);
    expect(SIGNAL_TYPES).toEqual(["stage.changed", "tier.changed", "risk.changed", "audience.entered", "audience.left"]);
  });

  it("sign with the current secret and those still inside their overlap", () => {
    const rotated = destination({ secrets: [{ secret: "new", createdAt: 10, expiresAt: null }, { secret: "old", createdAt: 0, expiresAt: 100 }] });
    expect(signingSecrets(rotated, 99)).toEqual(["new", "old"]);
    expect(signingSecrets(rotated, 100)).toEqual(["new"]);
  });

  it("filter by type, and audience signals by audience", () => {
    expect(subscribes(destination(), "stage.changed", undefined)).toBe(true);
    expect(subscribes(destination(), "tier.changed", undefined)).toBe(false);
    const audiences = destination({ types: ["stage.changed"], audienceIds: ["a1"] });
    expect(subscribes(audiences, "stage.changed", "a1")).toBe(true);
    expect(subscribes(audiences, "stage.changed", "a2")).toBe(false);
    expect(subscribes(audiences, "stage.changed", undefined)).toBe(true);
  });

  it("put a customer in one lane, spreading customers over all of them", () => {
    expect(laneOf("42", 64)).toBe(laneOf("42", 64));
    const used = new Set(Array.from({ length: 2000 }, (_, index) => laneOf(String(index), 64)));
    expect(used.size).toBe(64);
  });
});
