import { createHash, timingSafeEqual } from "node:crypto";
import { BlockList, isIP } from "node:net";
import { ConfigError, type Config } from "./config.ts";

/** The key local development uses when no key is configured and ingest binds to loopback (docs/ingest.md). Never valid otherwise. */
export const DEVELOPMENT_API_KEY = "clm-dev-key";

/** What a key may do: `write` send events, `read` read customers, `admin` operator actions. */
export type Scope = "write" | "read" | "admin";

export type ApiKeysByScope = Readonly<Record<Scope, readonly string[]>>;

/** The variable that lists each scope's keys (a key listed in several holds each of their scopes). */
export const SCOPE_VARIABLES = { write: "INGEST_API_KEYS", read: "INGEST_READ_API_KEYS", admin: "INGEST_ADMIN_API_KEYS" } as const satisfies Record<Scope, keyof Config>;

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** 127.0.0.0/8, ::1 (also IPv4-mapped) or localhost: only this machine can connect. */
export function isLoopbackHost(host: string): boolean {
  const family = isIP(host);
  if (family === 4) return LOOPBACK.check(host, "ipv4");
  if (family === 6) return LOOPBACK.check(host, "ipv6");
  return host.toLowerCase() === "localhost";
}

/**
 * The keys ingest (and the console, which takes ingest's read keys) accepts, by scope. Without any key
 * variable set, a server bound to loopback takes the development key for every scope (`development`);
 * bound to anything else it refuses to start, so no deployment reachable from another machine runs
 * with a published key. `bind` is the server's own host variable (INGEST_HOST by default).
 */
export function apiKeysOf(
  config: Pick<Config, "INGEST_HOST" | "INGEST_API_KEYS" | "INGEST_READ_API_KEYS" | "INGEST_ADMIN_API_KEYS">,
  bind: { variable: string; host: string } = { variable: "INGEST_HOST", host: config.INGEST_HOST },
): { keys: ApiKeysByScope; development: boolean } {
  const write = config.INGEST_API_KEYS;
  const read = config.INGEST_READ_API_KEYS;
  const admin = config.INGEST_ADMIN_API_KEYS;
  if (write !== undefined || read !== undefined || admin !== undefined) return { keys: { write: write ?? [], read: read ?? [], admin: admin ?? [] }, development: false };
  if (!isLoopbackHost(bind.host)) {
    throw new ConfigError([
      {
        variable: "INGEST_API_KEYS",
        message:
          `required when ${bind.variable} (${bind.host}) is not a loopback address: set the write keys, and INGEST_READ_API_KEYS ` +
          `(customer API) and INGEST_ADMIN_API_KEYS (operator actions) as needed; the development key is accepted only on 127.0.0.0/8, ::1 or localhost`,
      },
    ]);
  }
  return { keys: { write: [DEVELOPMENT_API_KEY], read: [DEVELOPMENT_API_KEY], admin: [DEVELOPMENT_API_KEY] }, development: true };
}

/**
 * Bearer API keys, compared in constant time: both sides are hashed to 32 bytes first, so neither
 * the content nor the length of a key leaks through timing, and every configured key is compared
 * whatever matched. Answers the presented key's scopes, or null for a missing or unknown key.
 */
export function createApiKeyCheck(keys: ApiKeysByScope): (authorization: string | undefined) => ReadonlySet<Scope> | null {
  const entries = (Object.keys(keys) as Scope[]).flatMap((scope) => keys[scope].map((key) => ({ scope, digest: createHash("sha256").update(key).digest() })));
  return (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match) return null;
    const presented = createHash("sha256").update(match[1]!).digest();
    const scopes = new Set<Scope>();
    for (const { scope, digest } of entries) if (timingSafeEqual(digest, presented)) scopes.add(scope);
    return scopes.size > 0 ? scopes : null;
  };
}
