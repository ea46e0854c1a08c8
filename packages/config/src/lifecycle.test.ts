import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.ts";
import { loadLifecycleConfig } from "./lifecycle.ts";

const dir = mkdtempSync(join(tmpdir(), "clm-lifecycle-"));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe("loadLifecycleConfig", () => {
  it("uses the defaults without a file", () => {
    const lifecycle = loadLifecycleConfig(loadConfig({}));
    expect(lifecycle.reportingCurrency).toBe("USD");
    expect(lifecycle.tenurePhases).toEqual({ acquisitionFromDay: 0, activationFromDay: 2, growthFromDay: 31, loyaltyFromDay: 181 });
  });

  it("reads overrides from the file and REPORTING_CURRENCY on top", () => {
    const path = file("ok.json", JSON.stringify({ churn: { population: { warnAfterDays: 60, churnAfterDays: 120 } }, reportingCurrency: "GBP" }));
    const lifecycle = loadLifecycleConfig(loadConfig({ LIFECYCLE_CONFIG_FILE: path, REPORTING_CURRENCY: "EUR" }));
    expect(lifecycle.churn.population).toEqual({ warnAfterDays: 60, churnAfterDays: 120 });
    expect(lifecycle.reportingCurrency).toBe("EUR");
  });

  it("names the variable, the file and the path of a problem", () => {
    const path = file("bad.json", JSON.stringify({ wonBack: { periodDays: -1 } }));
    expect(() => loadLifecycleConfig(loadConfig({ LIFECYCLE_CONFIG_FILE: path }))).toThrow(ConfigError);
    expect(() => loadLifecycleConfig(loadConfig({ LIFECYCLE_CONFIG_FILE: path }))).toThrow(/LIFECYCLE_CONFIG_FILE: .*bad\.json: wonBack\.periodDays/);
    expect(() => loadLifecycleConfig(loadConfig({ LIFECYCLE_CONFIG_FILE: file("x.json", "{nope") }))).toThrow(/is not JSON/);
    expect(() => loadLifecycleConfig(loadConfig({ LIFECYCLE_CONFIG_FILE: join(dir, "missing.json") }))).toThrow(/cannot read/);
  });
});
