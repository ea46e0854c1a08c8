import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Scope } from "@clm/config";
import { checkAll, DEFAULT_HTTP_TIMEOUTS, httpServerOptions, parseRequestTarget, type HealthCheck, type HttpTimeouts, type Logger } from "@clm/observability";
import type { Registry } from "prom-client";
import { answerApi, apiRouteOf, type ApiDeps } from "./api.ts";
import type { Assets } from "./assets.ts";
import { ConsoleError } from "./errors.ts";
import type { ConsoleMetrics } from "./metrics.ts";

export interface ConsoleServerDeps extends ApiDeps {
  assets: Assets;
  /** The scopes of a request's key, or null for a missing or unknown key (createApiKeyCheck of @clm/config). */
  authorize: (authorization: string | undefined) => ReadonlySet<Scope> | null;
  metrics: ConsoleMetrics;
  registry: Registry;
  checks: readonly HealthCheck[];
  logger: Logger;
  timeouts?: HttpTimeouts;
}

/** The pages: each is the same shell (index.html), which draws the page its path names. */
export const PAGES = ["/login", "/cohorts", "/stages", "/value", "/customers"] as const;

/**
 * Every script, style and data request comes from the console itself: no inline script, no other
 * origin. ECharts sets element styles from script (allowed: 'unsafe-inline' concerns style attributes
 * in markup and <style> elements, which the pages also use for the tooltip).
 */
const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
} as const;

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store", ...SECURITY_HEADERS, ...headers }).end(text);
}

function sendAsset(request: IncomingMessage, response: ServerResponse, deps: ConsoleServerDeps, name: string): void {
  const asset = deps.assets.get(name)!;
  const headers: Record<string, string> = { "content-type": asset.type, etag: asset.etag, "cache-control": "no-cache", vary: "accept-encoding", ...SECURITY_HEADERS };
  if (request.headers["if-none-match"] === asset.etag) return void response.writeHead(304, headers).end();
  const gzip = /\bgzip\b/.test(String(request.headers["accept-encoding"] ?? ""));
  const body = gzip ? asset.gzip : asset.body;
  response.writeHead(200, { ...headers, ...(gzip ? { "content-encoding": "gzip" } : {}), "content-length": String(body.length) }).end(request.method === "HEAD" ? undefined : body);
}

type Route = "page" | "asset" | "api" | "metrics" | "healthz" | "unknown";

/** The console's HTTP server: the pages, their JSON API (read keys only), /metrics and /healthz. */
export function createConsoleServer(deps: ConsoleServerDeps): Server {
  return createServer(httpServerOptions(deps.timeouts ?? DEFAULT_HTTP_TIMEOUTS), (request, response) => {
    let route: Route = "unknown";
    let apiRoute = "";
    const started = performance.now();
    response.on("finish", () => {
      deps.metrics.requests.inc({ route: apiRoute || route, status: String(response.statusCode) });
      if (route === "api") deps.metrics.querySeconds.observe({ route: apiRoute }, (performance.now() - started) / 1000);
    });
    (async () => {
      try {
        const url = parseRequestTarget(request.url);
        if (url === null) throw new ConsoleError("INVALID_PATH", `${JSON.stringify(request.url)} is neither a path nor an http(s) URL`);
        if (request.method !== "GET" && request.method !== "HEAD") throw new ConsoleError("METHOD_NOT_ALLOWED");
        const path = url.pathname;
        if (path === "/healthz") {
          route = "healthz";
          const report = await checkAll(deps.checks);
          return sendJson(response, report.ok ? 200 : 503, report);
        }
        if (path === "/metrics") {
          route = "metrics";
          response.writeHead(200, { "content-type": deps.registry.contentType }).end(await deps.registry.metrics());
          return;
        }
        if (path === "/") {
          route = "page";
          return void response.writeHead(302, { location: "/cohorts", ...SECURITY_HEADERS }).end();
        }
        if ((PAGES as readonly string[]).includes(path)) {
          route = "page";
          return sendAsset(request, response, deps, "index.html");
        }
        if (path.startsWith("/assets/") && deps.assets.has(path.slice("/assets/".length)) && path !== "/assets/index.html") {
          route = "asset";
          return sendAsset(request, response, deps, path.slice("/assets/".length));
        }
        const api = apiRouteOf(path);
        if (api === null) throw new ConsoleError("NOT_FOUND", path);
        route = "api";
        apiRoute = `api_${api}`;
        const authorization = request.headers.authorization;
        const scopes = deps.authorize(authorization);
        if (scopes === null) throw new ConsoleError("UNAUTHORIZED");
        if (!scopes.has("read")) throw new ConsoleError("FORBIDDEN", "the console needs a read key (one listed in INGEST_READ_API_KEYS)");
        return sendJson(response, 200, await answerApi(api, url, authorization!, deps));
      } catch (error) {
        if (error instanceof ConsoleError) {
          if (error.code === "UPSTREAM_UNAVAILABLE") deps.logger.warn({ route: apiRoute || route, reason: error.message }, "a source of the console did not answer");
          return sendJson(response, error.status, { error: { code: error.code, message: error.message } }, error.code === "UNAUTHORIZED" ? { "www-authenticate": "Bearer" } : {});
        }
        deps.logger.error({ err: error, route: apiRoute || route }, "request failed");
        if (!response.headersSent) sendJson(response, 502, { error: { code: "UPSTREAM_UNAVAILABLE", message: "a source of the console failed; see the console's log" } });
      }
    })().catch((error: unknown) => {
      deps.logger.error({ err: error }, "answering a request failed");
      response.destroy();
    });
  });
}
