import { createHash, timingSafeEqual } from "node:crypto";

/** The key local development uses when INGEST_API_KEYS is not set (docs/ingest.md). Never valid in production setups. */
export const DEVELOPMENT_API_KEY = "clm-dev-key";

/**
 * Bearer API keys, compared in constant time: both sides are hashed to 32 bytes
 * first, so neither the content nor the length of a key leaks through timing.
 */
export function createApiKeyCheck(keys: readonly string[]): (authorization: string | undefined) => boolean {
  const digests = keys.map((key) => createHash("sha256").update(key).digest());
  return (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match) return false;
    const presented = createHash("sha256").update(match[1]!).digest();
    let found = false;
    for (const digest of digests) found = timingSafeEqual(digest, presented) || found;
    return found;
  };
}
