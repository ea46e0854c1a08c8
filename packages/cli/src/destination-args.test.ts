import { describe, expect, it } from "vitest";
import { UsageError } from "./args.ts";
import { parseDestinationArgs } from "./destination-args.ts";

describe("clm destinations arguments", () => {
  it("create: validated like the HTTP API, with defaults", () => {
    expect(parseDestinationArgs(["create", "--url", "https://crm.example/hook", "--types", "stage.changed, tier.changed", "--max-batch", "50"])).toEqual({
      action: "create",
      json: false,
      input: { url: "https://crm.example/hook", types: ["stage.changed", "tier.changed"], maxBatch: 50 },
    });
    expect(() => parseDestinationArgs(["create", "--url", "https://crm.example/hook", "--types", "churned"])).toThrow(/expected one of stage.changed, tier.changed/);
    expect(() => parseDestinationArgs(["create", "--url", "https://crm.example/hook", "--types", "stage.changed", "--secret", "nope"])).toThrow(UsageError);
    expect(() => parseDestinationArgs(["create", "--types", "stage.changed"])).toThrow(/--url and --types/);
  });

  it("update, rotate-secret, dead-letters and replay take the destination id", () => {
    expect(parseDestinationArgs(["update", "dst_1", "--all-audiences"])).toEqual({ action: "update", id: "dst_1", json: false, patch: { audienceIds: null } });
    expect(() => parseDestinationArgs(["update", "dst_1"])).toThrow(/at least one/);
    expect(parseDestinationArgs(["rotate-secret", "dst_1", "--overlap", "600"])).toEqual({ action: "rotate-secret", id: "dst_1", json: false, overlapSeconds: 600 });
    expect(parseDestinationArgs(["dead-letters", "dst_1", "--limit", "5"])).toEqual({ action: "dead-letters", id: "dst_1", json: false, offset: 0, limit: 5 });
    expect(parseDestinationArgs(["replay", "dst_1", "--id", "1:2", "--id", "1:3"])).toEqual({ action: "replay", id: "dst_1", ids: ["1:2", "1:3"] });
    expect(parseDestinationArgs(["replay", "dst_1"])).toEqual({ action: "replay", id: "dst_1" });
    expect(() => parseDestinationArgs(["replay"])).toThrow(UsageError);
    expect(() => parseDestinationArgs(["frobnicate"])).toThrow(/expected one of list, create/);
  });
});
