import { describe, expect, it } from "vitest";
import { RedisLayout } from "./redis-layout.ts";
import { parseValueModel, ValueModelError } from "./value-model.ts";

const model = {
  version: "m-1997-09-30-0123abcd",
  calibrationEnd: "1997-09-30",
  unit: "week",
  fittedAt: "2026-11-30T00:00:00.000Z",
  bgnbd: { r: 0.2426, alpha: 4.4136, a: 0.7929, b: 2.4259, logLikelihood: -9582.43, customers: 2357 },
  gammaGamma: { p: 6.25, q: 3.74, v: 15.44, logLikelihood: -4055.92, customers: 946 },
  tierCuts: { highValueClv: 60, potentialClv: 12, warningMonetary: 40 },
};

describe("stored value models", () => {
  it("live under the prefix: a versions hash and a current pointer", () => {
    const layout = new RedisLayout("clm");
    expect([layout.valueModelVersions(), layout.valueModelCurrent()]).toEqual(["clm:value-model:versions", "clm:value-model:current"]);
  });

  it("are validated when read", () => {
    expect(parseValueModel(JSON.stringify(model), "here")).toEqual(model);
    expect(() => parseValueModel("{", "here")).toThrow(ValueModelError);
    expect(() => parseValueModel(JSON.stringify({ ...model, bgnbd: { ...model.bgnbd, r: -1 } }), "here")).toThrow(/bgnbd.r/);
    expect(() => parseValueModel(JSON.stringify({ ...model, extra: 1 }), "here")).toThrow(ValueModelError);
    expect(() => parseValueModel(JSON.stringify({ ...model, version: "v1" }), "here")).toThrow(/version/);
  });
});
