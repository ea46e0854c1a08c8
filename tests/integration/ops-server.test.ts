import { createMetricsRegistry, startOpsServer } from "@clm/observability";
import { describe, expect, it } from "vitest";
import { rawRequest } from "./support/raw-http.ts";

/** The processor's and the sink's /metrics + /healthz server against malformed and slow requests (raw TCP). */
describe("ops server", () => {
  it("answers malformed request targets with a 4xx and keeps serving", async () => {
    const server = await startOpsServer({ port: 0, registry: createMetricsRegistry("ops-test"), checks: [] });
    try {
      const probes: [request: string, status: number][] = [
        ["GET http://[::1/x HTTP/1.1\r\nHost: x\r\n\r\n", 400],
        ["OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 400],
        ["GET ftp://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400],
        ["GET foo HTTP/1.1\r\nHost: x\r\n\r\n", 400],
        ["\x00\x01\x02 garbage\r\n\r\n", 400],
        ["POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405],
        ["GET /nothing%ZZ HTTP/1.1\r\nHost: x\r\n\r\n", 404],
        // Absolute-form is served by its path (RFC 9112, section 3.2.2).
        ["GET http://elsewhere.example/healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200],
        ["GET http://x/metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", 200],
      ];
      for (const [request, status] of probes) {
        const answer = await rawRequest(server.port, request, { timeoutMs: 5000 });
        expect([request, answer.status]).toEqual([request, status]);
        expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
      }
    } finally {
      await server.close();
    }
  });

  it("answers a request whose headers never complete within its headers timeout, and closes idle connections", async () => {
    const timeouts = { headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 200 };
    const server = await startOpsServer({ port: 0, registry: createMetricsRegistry("ops-test"), checks: [], timeouts });
    try {
      const truncated = await rawRequest(server.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n", { timeoutMs: 5000 });
      expect(truncated.status).toBe(408);
      expect(truncated.ms).toBeLessThan(timeouts.headersTimeoutMs + 1000);
      const idle = await rawRequest(server.port, "", { timeoutMs: 5000 });
      expect(idle.closed).toBe(true);
      expect(idle.ms).toBeLessThan(timeouts.headersTimeoutMs + 1000);
    } finally {
      await server.close();
    }
  });
});
