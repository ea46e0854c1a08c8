import { ConfigError, loadConfig } from "./config.ts";
import { describe, expect, it } from "vitest";
import { apiKeysOf, createApiKeyCheck, DEVELOPMENT_API_KEY, isLoopbackHost } from "./api-keys.ts";

describe("API key check", () => {
  const check = createApiKeyCheck({ write: ["alpha-key", "beta", "both"], read: ["reader", "both"], admin: ["operator"] });
  it("accepts only a configured key as a Bearer token", () => {
    expect(check("Bearer alpha-key")).toEqual(new Set(["write"]));
    expect(check("bearer beta")).toEqual(new Set(["write"]));
    expect(check("Bearer alpha")).toBeNull();
    expect(check("Bearer alpha-key-and-more")).toBeNull();
    expect(check("Basic alpha-key")).toBeNull();
    expect(check("alpha-key")).toBeNull();
    expect(check(undefined)).toBeNull();
    expect(check("Bearer ")).toBeNull();
  });

  it("answers the scopes of the lists that name the key, and no others", () => {
    expect(check("Bearer reader")).toEqual(new Set(["read"]));
    expect(check("Bearer both")).toEqual(new Set(["write", "read"]));
    expect(check("Bearer operator")).toEqual(new Set(["admin"]));
  });
});

describe("the keys ingest accepts", () => {
  it("are the configured ones, by scope, when any key variable is set", () => {
    expect(apiKeysOf(loadConfig({ INGEST_HOST: "0.0.0.0", INGEST_API_KEYS: "w1,w2", INGEST_READ_API_KEYS: "r1" }))).toEqual({
      keys: { write: ["w1", "w2"], read: ["r1"], admin: [] },
      development: false,
    });
    expect(apiKeysOf(loadConfig({ INGEST_READ_API_KEYS: "r1" }))).toEqual({ keys: { write: [], read: ["r1"], admin: [] }, development: false });
  });

  it("are the development key for every scope only when none is set and ingest binds to loopback", () => {
    const development = { keys: { write: [DEVELOPMENT_API_KEY], read: [DEVELOPMENT_API_KEY], admin: [DEVELOPMENT_API_KEY] }, development: true };
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "localhost", "LOCALHOST"]) expect(apiKeysOf(loadConfig({ INGEST_HOST: host })), host).toEqual(development);
    expect(apiKeysOf(loadConfig({}))).toEqual(development);
  });

  it("refuse to start without keys on any other address, naming the variable", () => {
    for (const host of ["0.0.0.0", "::", "10.0.0.5", "ingest.internal", "128.0.0.1"]) {
      expect(() => apiKeysOf(loadConfig({ INGEST_HOST: host })), host).toThrow(ConfigError);
      expect(() => apiKeysOf(loadConfig({ INGEST_HOST: host })), host).toThrow(/INGEST_API_KEYS: required when INGEST_HOST .* is not a loopback address/);
    }
  });
});

describe("isLoopbackHost", () => {
  it("is true for 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost only", () => {
    for (const host of ["127.0.0.1", "127.255.255.254", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost"]) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ["0.0.0.0", "::", "192.168.1.10", "::ffff:10.0.0.1", "localhost.example.com", "example.com", ""]) expect(isLoopbackHost(host), host).toBe(false);
  });
});
