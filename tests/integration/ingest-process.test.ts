import { describe, expect, it } from "vitest";
import { envOf, startService } from "./support/child-service.ts";
import { kafkaWithFileTopics } from "./support/file-topics.ts";
import { isolatedConfig } from "./support/pipeline.ts";
import { errorCodeOf, rawRequest } from "./support/raw-http.ts";

/** The ingest service as a real process: wiring, health of its real dependencies, graceful stop, no secret in its logs. */
const config = isolatedConfig({ INGEST_PORT: "0", LOG_LEVEL: "debug" });
const SECRET = "s3cret-ingest-key-do-not-log";
kafkaWithFileTopics(config);

describe("ingest process", () => {
  it("serves events and health, stops cleanly on SIGTERM, and never logs an API key", async () => {
    const service = startService("services/ingest/src/main.ts", envOf(config, { INGEST_API_KEYS: `other-key,${SECRET}` }));
    const { port } = JSON.parse(await service.waitForLog("ingest listening")) as { port: number };
    const base = `http://127.0.0.1:${port}`;
    const event = { eventId: "p-1", type: "purchase", customerId: "zoe", occurredAt: "2024-05-01T12:00:00Z", properties: { orderId: "1", amount: "5.00", currency: "USD" } };
    const accepted = await fetch(`${base}/v1/events`, { method: "POST", body: JSON.stringify([event]), headers: { "content-type": "application/json", authorization: `Bearer ${SECRET}` } });
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toEqual({ accepted: 1, rejected: [] });
    const refused = await fetch(`${base}/v1/events`, { method: "POST", body: "[]", headers: { "content-type": "application/json", authorization: `Bearer ${SECRET}x` } });
    expect(refused.status).toBe(401);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, checks: { kafka: { ok: true }, redis: { ok: true }, schemaRegistry: { ok: true } } });
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('clm_ingest_events_accepted_total{service="ingest"} 1');
    service.child.kill("SIGTERM");
    expect(await service.exited).toBe(0);
    expect(service.output()).toContain("stopping");
    expect(service.output()).not.toContain(SECRET);
    expect(service.output()).not.toContain("other-key");
  });

  it("answers malformed request targets and requests with a 4xx and keeps serving", async () => {
    const service = startService("services/ingest/src/main.ts", envOf(config, { INGEST_API_KEYS: SECRET, INGEST_READ_API_KEYS: SECRET }));
    const { port } = JSON.parse(await service.waitForLog("ingest listening")) as { port: number };
    const auth = `Authorization: Bearer ${SECRET}\r\n`;
    const probes: [request: string, status: number, code: string | null][] = [
      [`GET http://[::1/x HTTP/1.1\r\nHost: x\r\n\r\n`, 400, "INVALID_PATH"],
      [`OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n`, 400, "INVALID_PATH"],
      [`GET * HTTP/1.1\r\nHost: x\r\n\r\n`, 400, "INVALID_PATH"],
      [`GET ftp://x/v1/events HTTP/1.1\r\nHost: x\r\n\r\n`, 400, "INVALID_PATH"],
      [`GET foo HTTP/1.1\r\nHost: x\r\n\r\n`, 400, "MALFORMED_REQUEST"],
      [`\x00\x01\x02 garbage\r\n\r\n`, 400, "MALFORMED_REQUEST"],
      [`GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n`, 400, "MALFORMED_REQUEST"],
      [`GET /v1/customers/%ZZ HTTP/1.1\r\nHost: x\r\n${auth}\r\n`, 400, "INVALID_PATH"],
      [`CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n`, 405, "METHOD_NOT_ALLOWED"],
      // Absolute-form is served by its path (RFC 9112, section 3.2.2).
      [`GET http://elsewhere.example/healthz HTTP/1.1\r\nHost: x\r\n\r\n`, 200, null],
      [`GET http://x/v1/customers/nobody HTTP/1.1\r\nHost: x\r\n${auth}\r\n`, 404, "NOT_FOUND"],
    ];
    try {
      for (const [request, status, code] of probes) {
        const answer = await rawRequest(port, request, { timeoutMs: 5000 });
        expect([request, answer.status, errorCodeOf(answer)]).toEqual([request, status, code]);
        expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      }
      expect(service.child.exitCode).toBeNull();
    } finally {
      service.child.kill("SIGTERM");
    }
    expect(await service.exited).toBe(0);
  });
});
