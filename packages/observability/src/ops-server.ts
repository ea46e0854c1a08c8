import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

/** A named check of one real dependency (Kafka, Redis, ClickHouse, registry …). */
export interface HealthCheck {
  name: string;
  check: () => Promise<void>;
}

export interface HealthReport {
  ok: boolean;
  checks: Record<string, { ok: boolean; ms: number; error?: string }>;
}

/** Runs every check in parallel, each bounded by a timeout, and reports all of them. */
export async function checkAll(checks: readonly HealthCheck[], timeoutMs = 2000): Promise<HealthReport> {
  const entries = await Promise.all(
    checks.map(async ({ name, check }) => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [name, { ok: true, ms: Math.round(performance.now() - started) }] as const;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return [name, { ok: false, ms: Math.round(performance.now() - started), error: message }] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const report: HealthReport = { ok: entries.every(([, result]) => result.ok), checks: {} };
  for (const [name, result] of entries) report.checks[name] = result;
  return report;
}

export interface OpsServer {
  port: number;
  close: () => Promise<void>;
}

/**
 * The operations endpoint every service exposes: `GET /metrics` (Prometheus text)
 * and `GET /healthz` (200 when every dependency answers, 503 otherwise, JSON body).
 */
export async function startOpsServer(options: {
  port: number;
  host?: string;
  registry: Registry;
  checks: readonly HealthCheck[];
}): Promise<OpsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET") {
      response.writeHead(405, { allow: "GET" }).end();
      return;
    }
    if (path === "/metrics") {
      options.registry
        .metrics()
        .then((text) => response.writeHead(200, { "content-type": options.registry.contentType }).end(text))
        .catch((error: unknown) => response.writeHead(500).end(String(error)));
      return;
    }
    if (path === "/healthz") {
      void checkAll(options.checks).then((report) => {
        response.writeHead(report.ok ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify(report));
      });
      return;
    }
    response.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not found" }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
