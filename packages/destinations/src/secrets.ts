import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Standard Webhooks secrets and signatures (https://www.standardwebhooks.com, spec/standard-webhooks.md).
 * A secret is `whsec_` + base64 of 24..64 random bytes; the signature of one request is
 * `v1,` + base64(HMAC-SHA256(secret bytes, "<webhook-id>.<webhook-timestamp>.<body>")), and a request
 * signed with several secrets (a rotation's overlap) carries them space-separated. Signed here with
 * node:crypto's native HMAC rather than the `standardwebhooks` package (whose sign() runs a pure-JS
 * SHA-256 per request and takes one secret); the tests verify these signatures with that package and
 * against the spec's published example.
 */

export const SECRET_PREFIX = "whsec_";

/** A new secret: 32 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString("base64");
}

/** The key bytes of a `whsec_` secret, or null when it is not one (base64 of 24..64 bytes). */
export function secretBytes(secret: string): Buffer | null {
  if (!secret.startsWith(SECRET_PREFIX)) return null;
  const text = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  const bytes = Buffer.from(text, "base64");
  return bytes.length >= 24 && bytes.length <= 64 ? bytes : null;
}

/** `v1,<base64 signature>` of one secret. */
export function signatureOf(secret: string, webhookId: string, timestampSeconds: number, body: string): string {
  const key = secretBytes(secret);
  if (key === null) throw new Error("not a whsec_ secret");
  return `v1,${createHmac("sha256", key).update(`${webhookId}.${timestampSeconds}.${body}`).digest("base64")}`;
}

/** The webhook-signature header: one `v1,…` per secret, space-separated. */
export function signatureHeader(secrets: readonly string[], webhookId: string, timestampSeconds: number, body: string): string {
  return secrets.map((secret) => signatureOf(secret, webhookId, timestampSeconds, body)).join(" ");
}

/**
 * A receiver's check, per the spec: the timestamp within `toleranceSeconds` of `nowSeconds`, and one
 * of the header's v1 signatures equal (in constant time) to the expected one.
 */
export function verifySignature(
  secret: string,
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const timestamp = Number(headers.timestamp);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signatureOf(secret, headers.id, timestamp, body).slice(3), "base64");
  return headers.signature.split(" ").some((part) => {
    const [version, value] = part.split(",", 2);
    if (version !== "v1" || value === undefined) return false;
    const given = Buffer.from(value, "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
