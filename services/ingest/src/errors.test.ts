import { readFileSync } from "node:fs";
import { FIELD_ERROR_CODES } from "@clm/core";
import { describe, expect, it } from "vitest";
import { INGEST_ERRORS } from "./errors.ts";

describe("docs/ingest.md", () => {
  it("lists exactly the error catalogue, with the same statuses", () => {
    const text = readFileSync(new URL("../../../docs/ingest.md", import.meta.url), "utf8");
    const documented = Object.fromEntries([...text.matchAll(/^\| `([A-Z0-9_]+)` \| (\d{3}) \|/gm)].map((match) => [match[1], Number(match[2])]));
    expect(documented).toEqual(Object.fromEntries(Object.entries(INGEST_ERRORS).map(([code, { status }]) => [code, status])));
  });

  it("lists exactly the codes a rejected item's errors can carry", () => {
    const text = readFileSync(new URL("../../../docs/ingest.md", import.meta.url), "utf8");
    const documented = [...text.matchAll(/^\| `([A-Z_]+)` \| `[^|]+\|/gm)].map((match) => match[1]);
    expect(documented).toEqual([...FIELD_ERROR_CODES]);
  });
});
