import { describe, expect, it } from "vitest";
import { decodeMemberCursor, encodeMemberCursor, parseAudienceDefinitions } from "./audiences.ts";

describe("audience storage forms", () => {
  it("member cursors round-trip and refuse what they did not make", () => {
    for (const [partition, after] of [[0, null], [7, "customer-é\u0000x"]] as const) expect(decodeMemberCursor(encodeMemberCursor(partition, after))).toEqual({ partition, after });
    for (const bad of ["", "%%%", Buffer.from("[1]").toString("base64url"), Buffer.from('[-1,null]').toString("base64url")]) expect(() => decodeMemberCursor(bad)).toThrow(RangeError);
  });

  it("stored definitions are validated when read", () => {
    const good = { version: "d-3", audiences: [{ id: "a", version: 2, name: "A", filter: { stages: ["loyal"] } }], rfm: null };
    expect(parseAudienceDefinitions(JSON.stringify(good), "x")).toEqual(good);
    expect(() => parseAudienceDefinitions(JSON.stringify({ ...good, audiences: [{ ...good.audiences[0], filter: { stages: ["gold"] } }] }), "x")).toThrow(/filter.stages/);
  });
});
