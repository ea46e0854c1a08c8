import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONSOLE_ERRORS } from "./errors.ts";

describe("docs/console.md", () => {
  it("lists exactly the error catalogue, with the same statuses", () => {
    const text = readFileSync(new URL("../../../docs/console.md", import.meta.url), "utf8");
    const documented = Object.fromEntries([...text.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((match) => [match[1], Number(match[2])]));
    expect(documented).toEqual(Object.fromEntries(Object.entries(CONSOLE_ERRORS).map(([code, { status }]) => [code, status])));
  });
});
