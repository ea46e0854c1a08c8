import { describe, expect, it } from "vitest";
import { valueTierOf } from "./tier.ts";

const cuts = { highValueClv: 100, potentialClv: 40, warningMonetary: 50 };

describe("valueTierOf", () => {
  it("puts warning first: a valuable customer whose P(alive) fell below the threshold", () => {
    expect(valueTierOf({ pAlive: 0.3, clv: 500 }, 50, cuts, 0.5)).toBe("warning");
    // Not valuable enough for a warning: tiered by CLV like anyone.
    expect(valueTierOf({ pAlive: 0.3, clv: 500 }, 49.99, cuts, 0.5)).toBe("high_value");
    // P(alive) at the threshold is not below it.
    expect(valueTierOf({ pAlive: 0.5, clv: 10 }, 1000, cuts, 0.5)).toBe("base");
  });

  it("cuts CLV at or above each boundary", () => {
    expect(valueTierOf({ pAlive: 0.9, clv: 100 }, 0, cuts, 0.5)).toBe("high_value");
    expect(valueTierOf({ pAlive: 0.9, clv: 99.999 }, 0, cuts, 0.5)).toBe("potential");
    expect(valueTierOf({ pAlive: 0.9, clv: 40 }, 0, cuts, 0.5)).toBe("potential");
    expect(valueTierOf({ pAlive: 0.9, clv: 39.999 }, 0, cuts, 0.5)).toBe("base");
  });
});
