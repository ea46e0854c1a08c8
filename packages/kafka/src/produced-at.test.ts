import { describe, expect, it } from "vitest";
import { producedAt } from "./produced-at.ts";

const now = Date.UTC(2026, 10, 30);

describe("producedAt", () => {
  it("is the record's timestamp when that is earlier than now, so a later check of the same record decides alike", () => {
    expect(producedAt({ timestamp: String(now - 7 * 86_400_000) }, now)).toBe(now - 7 * 86_400_000);
    expect(producedAt({ timestamp: String(now - 1) }, now + 30 * 86_400_000)).toBe(now - 1);
  });

  it("is never later than now: a producer's clock ahead (or a forged timestamp) widens nothing", () => {
    expect(producedAt({ timestamp: String(Date.UTC(2099, 0, 1)) }, now)).toBe(now);
  });

  it("is now when the record carries no usable timestamp", () => {
    for (const timestamp of ["-1", "0", "", "not a number"]) expect(producedAt({ timestamp }, now)).toBe(now);
  });
});
