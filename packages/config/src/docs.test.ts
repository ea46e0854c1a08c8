import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES } from "./config.ts";

describe("docs/configuration.md", () => {
  it("documents exactly the variables the schema reads", () => {
    const text = readFileSync(new URL("../../../docs/configuration.md", import.meta.url), "utf8");
    const documented = [...text.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((match) => match[1]);
    expect([...documented].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });
});
