import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SERVICE_NODE_FLAGS } from "./node-flags.ts";

const read = (path: string) => JSON.parse(readFileSync(new URL(`../../../${path}`, import.meta.url), "utf8")) as { scripts: Record<string, string> };

describe("service node flags", () => {
  it("every npm script that starts a service passes the same flags as `clm up` and the tests", () => {
    const scripts = [
      ...["processor", "ingest", "sink"].map((name) => read("package.json").scripts[name]!),
      ...["processor", "ingest", "sink"].map((name) => read(`services/${name}/package.json`).scripts.start!),
    ];
    expect(SERVICE_NODE_FLAGS.length).toBeGreaterThan(0);
    for (const script of scripts) for (const flag of SERVICE_NODE_FLAGS) expect(script).toContain(` ${flag} `);
  });
});
