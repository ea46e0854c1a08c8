import { describe, expect, it } from "vitest";
import { calibrationEndAt } from "./clock.ts";
import { canonicalJson, modelVersion } from "./version.ts";

const content = {
  unit: "week" as const,
  bgnbd: { r: 0.2426, alpha: 4.4136, a: 0.7929, b: 2.4259 },
  gammaGamma: { p: 6.25, q: 3.74, v: 15.44 },
  tierCuts: { highValueClv: 60, potentialClv: 12, warningMonetary: 40 },
};

describe("model versions", () => {
  it("hash the canonical JSON of unit, parameters and cuts", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: "z" } })).toBe('{"a":{"c":"z","d":[1,{"x":1,"y":2}]},"b":1}');
    const version = modelVersion("1997-09-30", content);
    expect(version).toMatch(/^m-1997-09-30-[0-9a-f]{8}$/);
    // Extra fields (log-likelihood, counts) and key order do not change it; a parameter does.
    expect(modelVersion("1997-09-30", { ...content, bgnbd: { b: 2.4259, a: 0.7929, alpha: 4.4136, r: 0.2426, logLikelihood: -1 } as typeof content.bgnbd })).toBe(version);
    expect(modelVersion("1997-09-30", { ...content, unit: "day" })).not.toBe(version);
    expect(modelVersion("1997-09-30", { ...content, tierCuts: { ...content.tierCuts, potentialClv: 12.000001 } })).not.toBe(version);
  });

  it("date a fit without --calibration-end by the UTC day of the clock minus 1 ms", () => {
    expect(calibrationEndAt(Date.UTC(1998, 6, 1))).toBe("1998-06-30");
    expect(calibrationEndAt(Date.UTC(1998, 6, 1, 0, 0, 0, 1))).toBe("1998-07-01");
  });
});
