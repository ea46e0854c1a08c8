import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { DEFAULT_HTTP_TIMEOUTS, httpServerOptions, parseRequestTarget, type HttpTimeouts } from "./http-server.ts";

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
 * No request, however malformed, throws out of the handler: a target that names no
 * path is a 400, other methods a 405, and slow clients meet `timeouts`.
 */
export async function startOpsServer(options: {
  port: number;
  host?: string;
  registry: Registry;
  checks: readonly HealthCheck[];
  timeouts?: HttpTimeouts;
}): Promise<OpsServer> {
  const server: Server = createServer(httpServerOptions(options.timeouts ?? DEFAULT_HTTP_TIMEOUTS), (request, response) => {
    const answer = async () => {
      const url = parseRequestTarget(request.url);
      if (url === null) return sendJson(response, 400, { error: "the request target is not a path" });
      if (request.method !== "GET") return sendJson(response, 405, { error: "use GET" }, { allow: "GET" });
      if (url.pathname === "/metrics") {
        const text = await options.registry.metrics();
        response.writeHead(200, { "content-type": options.registry.contentType }).end(text);
        return;
      }
      if (url.pathname === "/healthz") {
        const report = await checkAll(options.checks);
        return sendJson(response, report.ok ? 200 : 503, report);
      }
      sendJson(response, 404, { error: "not found" });
    };
    answer().catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: String(error) });
      else response.destroy();
    });
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

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers }).end(text);
}
