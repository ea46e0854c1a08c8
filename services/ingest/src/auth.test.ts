import { describe, expect, it } from "vitest";
import { createApiKeyCheck } from "./auth.ts";

describe("API key check", () => {
  const check = createApiKeyCheck(["alpha-key", "beta"]);
  it("accepts only a configured key as a Bearer token", () => {
    expect(check("Bearer alpha-key")).toBe(true);
    expect(check("bearer beta")).toBe(true);
    expect(check("Bearer alpha")).toBe(false);
    expect(check("Bearer alpha-key-and-more")).toBe(false);
    expect(check("Basic alpha-key")).toBe(false);
    expect(check("alpha-key")).toBe(false);
    expect(check(undefined)).toBe(false);
    expect(check("Bearer ")).toBe(false);
  });
});
