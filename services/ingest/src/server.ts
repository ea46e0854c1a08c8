import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { idTextProblem, parseIsoInstant, type InputEventSchema } from "@clm/core";
import { checkAll, DEFAULT_HTTP_TIMEOUTS, httpServerOptions, parseRequestTarget, type HealthCheck, type HttpTimeouts, type Logger } from "@clm/observability";
import type { Registry } from "prom-client";
import { SCOPE_VARIABLES, type Scope } from "./auth.ts";
import { handleClockAdvance } from "./clock-handler.ts";
import type { AudienceApi } from "./audience-api.ts";
import type { CustomerReader } from "./customer-api.ts";
import { IngestError, INGEST_ERRORS, type IngestErrorCode } from "./errors.ts";
import { handleIngest } from "./ingest-handler.ts";
import type { IngestMetrics } from "./metrics.ts";
import type { EventPublisher } from "./publisher.ts";

export interface IngestServerDeps {
  schema: InputEventSchema;
  publisher: EventPublisher;
  customers: CustomerReader;
  /** The audience API (/v1/audiences…); without it those paths are 404. */
  audiences?: AudienceApi;
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
  /** How long the server waits for a client's headers, whole request and next request (INGEST_*_TIMEOUT_MS). */
  timeouts?: HttpTimeouts;
  now?: () => number;
}

/** The scope a key needs on each API route; /metrics and /healthz need no key. */
const REQUIRED_SCOPE: Record<Exclude<Route, "metrics" | "healthz" | "unknown">, Scope> = {
  events: "write",
  clock: "admin",
  customer: "read",
  transitions: "read",
  audiences: "read",
  audience: "read",
  members: "read",
};

const AUDIENCE = /^\/v1\/audiences\/([^/]+)$/;
const MEMBERS = /^\/v1\/audiences\/([^/]+)\/members$/;

const CUSTOMER = /^\/v1\/customers\/([^/]+)$/;
const TRANSITIONS = /^\/v1\/customers\/([^/]+)\/transitions$/;

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers }).end(text);
}

/** `close`: the request was not read to its end, so the connection cannot carry another one. */
function sendError(response: ServerResponse, error: IngestError, close: boolean): void {
  const headers: Record<string, string> = error.code === "KAFKA_UNAVAILABLE" || error.code === "REDIS_REPLICAS_BEHIND" ? { "retry-after": "5" } : {};
  if (error.code === "UNAUTHORIZED") headers["www-authenticate"] = "Bearer";
  if (close) headers.connection = "close";
  send(response, error.status, { error: { code: error.code, message: error.message, ...(error.errors ? { errors: error.errors } : {}) } }, headers);
}

/** The ingest HTTP server: events in, customers out, /metrics and /healthz. No request, however malformed, escapes its handler. */
export function createIngestServer(deps: IngestServerDeps): Server {
  const now = deps.now ?? Date.now;
  /** The response a connection is answering, for errors Node reports on the connection (timeouts, bad framing). */
  const answering = new WeakMap<Duplex, ServerResponse>();
  const server = createServer(httpServerOptions(deps.timeouts ?? DEFAULT_HTTP_TIMEOUTS), (request: IncomingMessage, response: ServerResponse) => {
    let route: Route = "unknown";
    answering.set(request.socket, response);
    response.on("finish", () => deps.metrics.requests.inc({ route, status: String(response.statusCode) }));
    response.on("close", () => {
      if (answering.get(request.socket) === response) answering.delete(request.socket);
      if (!response.writableFinished) deps.metrics.requests.inc({ route, status: "aborted" });
    });
    (async () => {
      try {
        const url = parseRequestTarget(request.url);
        if (url === null) throw new IngestError("INVALID_PATH", `${JSON.stringify(request.url)} is neither a path nor an http(s) URL`);
        route = routeOf(url.pathname);
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
        // Audiences are read with a read key and written (POST, PUT, DELETE) with an admin key.
        const audienceRoute = route === "audiences" || route === "audience" || route === "members";
        const needed = audienceRoute && request.method !== "GET" ? "admin" : REQUIRED_SCOPE[route];
        if (!scopes.has(needed)) throw new IngestError("FORBIDDEN", `this request needs a ${needed} key (one listed in ${SCOPE_VARIABLES[needed]})`);
        if (audienceRoute) {
          if (deps.audiences === undefined) throw new IngestError("NOT_FOUND", url.pathname);
          return await answerAudiences(deps.audiences, route as "audiences" | "audience" | "members", request, response, url);
        }
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
        const customerId = customerIdOf(url.pathname);
        if (route === "customer") {
          const asOfText = url.searchParams.get("asOf");
          const asOf = asOfText === null ? null : parseIsoInstant(asOfText, "asOf");
          if (asOf !== null && !asOf.ok) throw new IngestError("INVALID_AS_OF", asOf.message);
          const answer = await deps.customers.customer(customerId, { now: now(), asOf: asOf === null ? null : asOf.at });
          if (answer === null) throw new IngestError("NOT_FOUND", `customer ${customerId}`);
          if (!answer.ok) throw new IngestError("AS_OF_BEFORE_STATE", `customer ${customerId} is evaluated through ${new Date(answer.evaluatedThrough).toISOString()}`);
          return send(response, 200, answer.view);
        }
        const limit = transitionsLimitOf(url.searchParams);
        const transitions = await deps.customers.transitions(customerId, limit);
        if (transitions === null) throw new IngestError("NOT_FOUND", `customer ${customerId}`);
        return send(response, 200, { customerId, transitions });
      } catch (error) {
        // Records Kafka refuses for good need an operator (e.g. a topic limit lowered after ingest read it); the client is not told to retry.
        if (error instanceof IngestError && error.code === "KAFKA_REJECTED") deps.logger.error({ route, reason: error.message }, "Kafka refused a request's records");
        if (error instanceof IngestError && !response.headersSent) return sendError(response, error, !request.complete);
        // The client went away (closed mid-body, or its connection timed out): nobody to answer, nothing failed here.
        if (request.socket.destroyed) return deps.logger.debug({ route, reason: (error as Error).message }, "client closed the connection before the answer");
        deps.logger.error({ err: error, route }, "request failed");
        if (!response.headersSent) send(response, 500, { error: { code: "INTERNAL", message: "internal error" } });
      }
    })().catch((error: unknown) => {
      deps.logger.error({ err: error, route }, "answering a request failed");
      response.destroy();
    });
  });
  // Errors Node's parser and timers report for a connection: answered in the catalogue's JSON, then the connection closes.
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    const code = clientErrorCode(error);
    if (code === null || !socket.writable) {
      deps.logger.debug({ code: error.code }, "client connection closed");
      socket.destroy();
      return;
    }
    deps.logger.debug({ code: error.code, answer: code }, "refused a request Node could not read");
    const response = answering.get(socket);
    if (response === undefined) socket.end(rawErrorAnswer(new IngestError(code)));
    else if (!response.headersSent) sendError(response, new IngestError(code), true);
    else socket.destroy();
  });
  // Node answers an Expect other than 100-continue itself, with an empty 417; this one is catalogued.
  server.on("checkExpectation", (request: IncomingMessage, response: ServerResponse) => {
    response.on("finish", () => deps.metrics.requests.inc({ route: "unknown", status: "417" }));
    sendError(response, new IngestError("EXPECTATION_FAILED", `got Expect: ${request.headers.expect}`), !request.complete);
  });
  // CONNECT (a proxy tunnel) is no method of this API; Node hands it over as a bare socket.
  server.on("connect", (_request: IncomingMessage, socket: Duplex) => {
    deps.metrics.requests.inc({ route: "unknown", status: "405" });
    socket.end(rawErrorAnswer(new IngestError("METHOD_NOT_ALLOWED", "CONNECT")));
  });
  return server;
}

/** The answer to an error Node reports on a connection, or null when the client went away (reset, or closed mid-request). */
function clientErrorCode(error: NodeJS.ErrnoException): IngestErrorCode | null {
  if (error.code === "HPE_INVALID_EOF_STATE") return null;
  if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") return "REQUEST_TIMEOUT";
  if (error.code === "HPE_HEADER_OVERFLOW") return "HEADERS_TOO_LARGE";
  if (error.code?.startsWith("HPE_")) return "MALFORMED_REQUEST";
  return null;
}

/** A whole error response for a connection that has no ServerResponse (the request never reached the handler). */
function rawErrorAnswer(error: IngestError): string {
  const body = JSON.stringify({ error: { code: error.code, message: error.message } });
  return `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

/** The customer id of a customer path, percent-decoded, held to the contract's rules for ids. */
function customerIdOf(pathname: string): string {
  const encoded = (CUSTOMER.exec(pathname) ?? TRANSITIONS.exec(pathname))![1]!;
  let customerId: string;
  try {
    customerId = decodeURIComponent(encoded);
  } catch {
    throw new IngestError("INVALID_PATH", `customer id ${encoded} is not percent-encoded UTF-8`);
  }
  if (customerId.length > 128) throw new IngestError("INVALID_PATH", "customerId must be at most 128 characters");
  const problem = idTextProblem(customerId);
  if (problem !== null) throw new IngestError("INVALID_PATH", `customerId ${problem.detail}`);
  return customerId;
}

/** `?limit=` of the transitions: an integer 1..100, 20 when absent; anything else is refused, not clamped. */
function transitionsLimitOf(params: URLSearchParams): number {
  const text = params.get("limit");
  if (text === null) return 20;
  const limit = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(limit >= 1 && limit <= 100)) throw new IngestError("INVALID_PARAMETER", `limit must be an integer 1..100, got ${JSON.stringify(text)}`);
  return limit;
}

type Route = "events" | "clock" | "customer" | "transitions" | "audiences" | "audience" | "members" | "metrics" | "healthz" | "unknown";

async function answerAudiences(api: AudienceApi, route: "audiences" | "audience" | "members", request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
  const method = request.method ?? "GET";
  if (route === "audiences") {
    if (method === "GET") return send(response, 200, await api.list());
    if (method === "POST") return send(response, 201, await api.create(request));
    throw new IngestError("METHOD_NOT_ALLOWED", "use GET or POST");
  }
  if (route === "members") {
    if (method !== "GET") throw new IngestError("METHOD_NOT_ALLOWED", "use GET");
    const id = decodeURIComponent(MEMBERS.exec(url.pathname)![1]!);
    return send(response, 200, await api.members(id, url.searchParams.get("cursor"), url.searchParams.get("limit")));
  }
  const id = decodeURIComponent(AUDIENCE.exec(url.pathname)![1]!);
  if (method === "GET") return send(response, 200, await api.get(id));
  if (method === "PUT") return send(response, 200, await api.replace(id, request));
  if (method === "DELETE") return send(response, 200, await api.remove(id));
  throw new IngestError("METHOD_NOT_ALLOWED", "use GET, PUT or DELETE");
}

function routeOf(path: string): Route {
  if (path === "/v1/events") return "events";
  if (path === "/v1/clock/advance") return "clock";
  if (path === "/v1/audiences") return "audiences";
  if (MEMBERS.test(path)) return "members";
  if (AUDIENCE.test(path)) return "audience";
  if (TRANSITIONS.test(path)) return "transitions";
  if (CUSTOMER.test(path)) return "customer";
  if (path === "/metrics") return "metrics";
  if (path === "/healthz") return "healthz";
  return "unknown";
}

export { INGEST_ERRORS };
