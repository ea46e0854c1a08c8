import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../../../", import.meta.url);

describe("npm scripts", () => {
  it("every file a root npm script runs exists", () => {
    const { scripts } = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { scripts: Record<string, string> };
    const files = Object.values(scripts).flatMap((script) => [...script.matchAll(/(?:^|\s)([\w./-]+\.(?:ts|mjs|sh))(?=\s|$)/g)].map((match) => match[1]!));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) expect(existsSync(new URL(file, root)), file).toBe(true);
  });
});
