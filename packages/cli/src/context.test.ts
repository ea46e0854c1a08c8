import { describe, expect, it } from "vitest";
import { apiKey } from "./context.ts";

describe("apiKey", () => {
  it("takes --api-key, then the scope's variable, then CLM_API_KEY, then the development key", () => {
    const env = { CLM_API_KEY: "writer", CLM_READ_API_KEY: "reader", CLM_ADMIN_API_KEY: "operator" };
    expect(apiKey("read", "given", env)).toBe("given");
    expect(apiKey("write", undefined, env)).toBe("writer");
    expect(apiKey("read", undefined, env)).toBe("reader");
    expect(apiKey("admin", undefined, env)).toBe("operator");
    expect(apiKey("read", undefined, { CLM_API_KEY: "one-key-for-all" })).toBe("one-key-for-all");
    expect(apiKey("read", undefined, { CLM_READ_API_KEY: "" })).toBe("clm-dev-key");
    expect(apiKey("write", undefined, {})).toBe("clm-dev-key");
  });
});
