import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { generateSecret, secretBytes, signatureHeader, signatureOf, verifySignature } from "./secrets.ts";

// The Standard Webhooks specification's published example (spec/standard-webhooks.md, and the test of every reference library).
const VECTOR = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};

describe("Standard Webhooks signatures", () => {
  it("reproduce the specification's example", () => {
    expect(signatureOf(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
    expect(verifySignature(VECTOR.secret, { id: VECTOR.id, timestamp: String(VECTOR.timestamp), signature: VECTOR.signature }, VECTOR.body, VECTOR.timestamp + 10)).toBe(true);
  });

  it("verify with the standardwebhooks package, with one secret or several (a rotation's overlap)", () => {
    const [current, previous] = [generateSecret(), generateSecret()];
    const now = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ id: "c1:3", type: "stage.changed", timestamp: "1997-01-01T00:00:00.000Z", data: { customerId: "c1" } });
    const headers = { "webhook-id": "c1:3", "webhook-timestamp": String(now), "webhook-signature": signatureHeader([current, previous], "c1:3", now, body) };
    expect(headers["webhook-signature"].split(" ")).toHaveLength(2);
    expect(new Webhook(current).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(previous).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(current).verify(body.replace("c1", "c2"), headers)).toThrow();
  });

  it("our verifier refuses another secret, another body and an old timestamp", () => {
    const secret = generateSecret();
    const headers = { id: "x", timestamp: "1000", signature: signatureHeader([secret], "x", 1000, "{}") };
    expect(verifySignature(secret, headers, "{}", 1100)).toBe(true);
    expect(verifySignature(generateSecret(), headers, "{}", 1100)).toBe(false);
    expect(verifySignature(secret, headers, "{ }", 1100)).toBe(false);
    expect(verifySignature(secret, headers, "{}", 1000 + 301)).toBe(false);
  });

  it("secrets are whsec_ + base64 of 24..64 bytes; generated ones have 32", () => {
    expect(secretBytes(generateSecret())).toHaveLength(32);
    expect(secretBytes(VECTOR.secret)).toHaveLength(24);
    expect(secretBytes("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).toBeNull();
    expect(secretBytes("whsec_short")).toBeNull();
    expect(secretBytes("whsec_" + Buffer.alloc(65).toString("base64"))).toBeNull();
  });
});
