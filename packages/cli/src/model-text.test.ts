import type { ValueModel } from "@clm/core";
import { describe, expect, it } from "vitest";
import { modelJson, renderEvaluation, renderModel, tierCounts } from "./model-text.ts";

const model: ValueModel = {
  version: "m-1997-09-30-0123abcd",
  calibrationEnd: "1997-09-30",
  unit: "week",
  fittedAt: "2026-11-30T00:00:00.000Z",
  bgnbd: { r: 0.24259, alpha: 4.41359, a: 0.79290, b: 2.42589, logLikelihood: -9582.4292, customers: 2357 },
  gammaGamma: { p: 6.2488, q: 3.7444, v: 15.4440, logLikelihood: -4055.9156, customers: 946 },
  tierCuts: { highValueClv: 61.5, potentialClv: 12.25, warningMonetary: 43.1 },
};

describe("clm model output", () => {
  it("--json: the model's figures under the documented keys", () => {
    const json = modelJson(model);
    expect(Object.keys(json).slice(0, 5)).toEqual(["calibrationEnd", "unit", "bgnbd", "gammaGamma", "modelVersion"]);
    expect(json.bgnbd).toEqual({ r: 0.24259, alpha: 4.41359, a: 0.7929, b: 2.42589, logLikelihood: -9582.4292, customers: 2357 });
    expect(json.gammaGamma).toEqual({ p: 6.2488, q: 3.7444, v: 15.444, logLikelihood: -4055.9156, customers: 946 });
    expect(json.modelVersion).toBe(model.version);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it("a readable table: parameters to 4 digits, log-likelihoods to 2, the tier cuts and sizes", () => {
    const text = renderModel(model, tierCounts(["base", "base", "warning", "high_value"]));
    expect(text).toContain("value model m-1997-09-30-0123abcd");
    expect(text).toMatch(/BG\/NBD\s+r 0\.2426 {2}alpha 4\.4136 {2}a 0\.7929 {2}b 2\.4259\s+-9582\.43\s+2357/);
    expect(text).toMatch(/Gamma-Gamma\s+p 6\.2488 {2}q 3\.7444 {2}v 15\.4440\s+-4055\.92\s+946/);
    expect(text).toMatch(/high_value\s+predicted CLV >= 61\.50\s+1/);
    expect(text).toMatch(/base\s+everyone else\s+2/);
    expect(text.split("\n").every((line) => line === line.trimEnd())).toBe(true);
  });

  it("the hold-out comparison beside the naive baseline", () => {
    const score = { purchases: 1000.04, spend: 25_000.5, purchasesMae: 0.61234, spendMae: 17.456 };
    const text = renderEvaluation(model, {
      calibrationEnd: "1997-09-30",
      holdoutEnd: "1998-06-30",
      holdoutDays: 273,
      customers: 2357,
      actual: { purchases: 1100, spend: 30_000 },
      model: score,
      naive: { ...score, purchases: 2000 },
    });
    expect(text).toContain("(273 days), 2357 calibration customers");
    expect(text).toMatch(/actual\s+1100\.0\s+30,000\.00/);
    expect(text).toMatch(/BG\/NBD \+ Gamma-Gamma\s+1000\.0\s+25,000\.50\s+0\.6123\s+17\.46/);
    expect(text).toMatch(/naive \(calibration rate\)\s+2000\.0/);
  });

  it("counts every tier", () => {
    expect(tierCounts([])).toEqual({ high_value: 0, potential: 0, base: 0, warning: 0 });
  });
});
