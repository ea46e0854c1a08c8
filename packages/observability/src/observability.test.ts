import { Writable } from "node:stream";
import { Counter } from "prom-client";
import { describe, expect, it } from "vitest";
import { createLogger, createMetricsRegistry, startOpsServer } from "./index.ts";

describe("createLogger", () => {
  it("writes JSON with the service name and redacts secrets", () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    });
    const logger = createLogger({ service: "test", destination });
    logger.info({ headers: { authorization: "Bearer top-secret" }, password: "hunter2" }, "hello");
    const line = JSON.parse(lines[0] ?? "{}") as Record<string, unknown>;
    expect(line.service).toBe("test");
    expect(line.msg).toBe("hello");
    expect(lines[0]).not.toContain("top-secret");
    expect(lines[0]).not.toContain("hunter2");
  });
});

describe("ops server", () => {
  it("serves /metrics from the given registry and /healthz from real checks", async () => {
    const registry = createMetricsRegistry("test");
    new Counter({ name: "clm_test_total", help: "test counter", registers: [registry] }).inc(3);
    let healthy = true;
    const server = await startOpsServer({
      port: 0,
      registry,
      checks: [
        {
          name: "dependency",
          check: async () => {
            if (!healthy) throw new Error("dependency is down");
          },
        },
      ],
    });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain('clm_test_total{service="test"} 3');
      expect(metrics).toContain("process_cpu_user_seconds_total");

      const up = await fetch(`${base}/healthz`);
      expect(up.status).toBe(200);
      expect(await up.json()).toMatchObject({ ok: true, checks: { dependency: { ok: true } } });

      healthy = false;
      const down = await fetch(`${base}/healthz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ ok: false, checks: { dependency: { ok: false, error: "dependency is down" } } });

      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
