import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { parseIsoInstant, type InputEventSchema } from "@clm/core";
import { checkAll, type HealthCheck, type Logger } from "@clm/observability";
import type { Registry } from "prom-client";
import { handleClockAdvance } from "./clock-handler.ts";
import { SCOPE_VARIABLES, type Scope } from "./auth.ts";
import type { CustomerReader } from "./customer-api.ts";
import { IngestError, INGEST_ERRORS } from "./errors.ts";
import { handleIngest } from "./ingest-handler.ts";
import type { IngestMetrics } from "./metrics.ts";
import type { EventPublisher } from "./publisher.ts";

export interface IngestServerDeps {
  schema: InputEventSchema;
  publisher: EventPublisher;
  customers: CustomerReader;
  /** The scopes of the request's key, or null when it has no known key (createApiKeyCheck). */
  authorize: (authorization: string | undefined) => ReadonlySet<Scope> | null;
  metrics: IngestMetrics;
  registry: Registry;
  checks: readonly HealthCheck[];
  logger: Logger;
  maxBytes: number;
  maxEvents: number;
  /** Items dated further ahead of the server clock are rejected (MAX_FUTURE_SKEW_MS). */
  maxFutureSkewMs: number;
  /** CLOCK_MODE: an event-time pipeline's clock can be advanced (POST /v1/clock/advance). Default wall. */
  clockMode?: "wall" | "event";
  now?: () => number;
}

type Route = ReturnType<typeof routeOf>;

/** The scope a key needs on each API route; /metrics and /healthz need no key. */
const REQUIRED_SCOPE: Record<Exclude<Route, "metrics" | "healthz" | "unknown">, Scope> = { events: "write", clock: "admin", customer: "read", transitions: "read" };

const CUSTOMER = /^\/v1\/customers\/([^/]+)$/;
const TRANSITIONS = /^\/v1\/customers\/([^/]+)\/transitions$/;

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers }).end(text);
}

function sendError(response: ServerResponse, error: IngestError): void {
  const headers: Record<string, string> = error.code === "KAFKA_UNAVAILABLE" ? { "retry-after": "5" } : {};
  if (error.code === "UNAUTHORIZED") headers["www-authenticate"] = "Bearer";
  send(response, error.status, { error: { code: error.code, message: error.message } }, headers);
}

/** The ingest HTTP server: events in, customers out, /metrics and /healthz. */
export function createIngestServer(deps: IngestServerDeps): Server {
  const now = deps.now ?? Date.now;
  return createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://ingest");
    const route = routeOf(url.pathname);
    response.on("finish", () => deps.metrics.requests.inc({ route, status: String(response.statusCode) }));
    void (async () => {
      try {
        if (route === "healthz") {
          const report = await checkAll(deps.checks);
          return send(response, report.ok ? 200 : 503, report);
        }
        if (route === "metrics") {
          const text = await deps.registry.metrics();
          response.writeHead(200, { "content-type": deps.registry.contentType }).end(text);
          return;
        }
        if (route === "unknown") throw new IngestError("NOT_FOUND", url.pathname);
        const scopes = deps.authorize(request.headers.authorization);
        if (scopes === null) throw new IngestError("UNAUTHORIZED");
        const needed = REQUIRED_SCOPE[route];
        if (!scopes.has(needed)) throw new IngestError("FORBIDDEN", `this request needs a ${needed} key (one listed in ${SCOPE_VARIABLES[needed]})`);
        if (route === "events" || route === "clock") {
          if (request.method !== "POST") throw new IngestError("METHOD_NOT_ALLOWED", "use POST");
          if (route === "clock") {
            const advanced = await handleClockAdvance(request, { clockMode: deps.clockMode ?? "wall", publisher: deps.publisher, maxBytes: deps.maxBytes, now });
            deps.logger.info(advanced, "event clock advance published");
            return send(response, 202, advanced);
          }
          return send(response, 202, await handleIngest(request, { ...deps, now }));
        }
        if (request.method !== "GET") throw new IngestError("METHOD_NOT_ALLOWED", "use GET");
        const customerId = decodeURIComponent((CUSTOMER.exec(url.pathname) ?? TRANSITIONS.exec(url.pathname))![1]!);
        if (route === "customer") {
          const asOfText = url.searchParams.get("asOf");
          const asOf = asOfText === null ? null : parseIsoInstant(asOfText, "asOf");
          if (asOf !== null && !asOf.ok) throw new IngestError("INVALID_AS_OF", asOf.message);
          const answer = await deps.customers.customer(customerId, { now: now(), asOf: asOf === null ? null : asOf.at });
          if (answer === null) throw new IngestError("NOT_FOUND", `customer ${customerId}`);
          if (!answer.ok) throw new IngestError("AS_OF_BEFORE_STATE", `customer ${customerId} is evaluated through ${new Date(answer.evaluatedThrough).toISOString()}`);
          return send(response, 200, answer.view);
        }
        const limit = Math.min(100, Math.max(1, Number(url.searchParams.get("limit") ?? 20) || 20));
        const transitions = await deps.customers.transitions(customerId, limit);
        if (transitions === null) throw new IngestError("NOT_FOUND", `customer ${customerId}`);
        return send(response, 200, { customerId, transitions });
      } catch (error) {
        if (error instanceof IngestError) {
          // Records Kafka refuses for good need an operator (e.g. a topic limit lowered after ingest read it); the client is not told to retry.
          if (error.code === "KAFKA_REJECTED") deps.logger.error({ route, reason: error.message }, "Kafka refused a request's records");
          return sendError(response, error);
        }
        deps.logger.error({ err: error, route }, "request failed");
        if (!response.headersSent) send(response, 500, { error: { code: "INTERNAL", message: "internal error" } });
      }
    })();
  });
}

function routeOf(path: string): "events" | "clock" | "customer" | "transitions" | "metrics" | "healthz" | "unknown" {
  if (path === "/v1/events") return "events";
  if (path === "/v1/clock/advance") return "clock";
  if (TRANSITIONS.test(path)) return "transitions";
  if (CUSTOMER.test(path)) return "customer";
  if (path === "/metrics") return "metrics";
  if (path === "/healthz") return "healthz";
  return "unknown";
}

export { INGEST_ERRORS };
