import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Scope } from "@clm/config";
import {
  destinationCreateSchema,
  destinationUpdateSchema,
  publicDestination,
  replaySchema,
  secretRotationSchema,
  type DeliveryQueue,
  type DestinationStore,
} from "@clm/destinations";
import { checkAll, DEFAULT_HTTP_TIMEOUTS, httpServerOptions, type HealthCheck, type Logger } from "@clm/observability";
import FindMyWay, { type HTTPVersion } from "find-my-way";
import type { Registry } from "prom-client";
import type { ZodType } from "zod";
import { WebhooksApiError } from "./errors.ts";

export interface ApiDeps {
  store: DestinationStore;
  queue: DeliveryQueue;
  /** After a change, so the service's own workers and consumer see it at once. */
  changed: () => Promise<void>;
  /** After a change to signing or the URL: as `changed`, and the requests sent before with the old settings have ended. */
  applied: () => Promise<void>;
  authorize: (authorization: string | undefined) => ReadonlySet<Scope> | null;
  secretOverlapMs: number;
  registry: Registry;
  checks: readonly HealthCheck[];
  logger: Logger;
  now: () => number;
}

const MAX_BODY_BYTES = 1024 * 1024;

type Params = Record<string, string | undefined>;
type Handler = (request: IncomingMessage, params: Params, url: URL) => Promise<{ status: number; body: unknown }>;

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), "cache-control": "no-store", ...headers }).end(text);
}

async function readJson<T>(request: IncomingMessage, schema: ZodType<T>): Promise<T> {
  if (!/^application\/json\b/i.test(request.headers["content-type"] ?? "")) throw new WebhooksApiError("UNSUPPORTED_MEDIA_TYPE");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new WebhooksApiError("PAYLOAD_TOO_LARGE");
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new WebhooksApiError("INVALID_BODY", "the body is not valid JSON");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new WebhooksApiError("INVALID_BODY", parsed.error.issues.map((issue) => `${issue.path.join(".") || "(body)"}: ${issue.message}`).join("; "), parsed.error.issues);
  return parsed.data;
}

const intParam = (url: URL, name: string, fallback: number, max: number) => {
  const text = url.searchParams.get(name);
  if (text === null) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > max) throw new WebhooksApiError("INVALID_BODY", `${name} must be an integer in 0..${max}`);
  return value;
};

/**
 * The destinations API (admin keys only), versioned under /v1, and /metrics, /healthz. Routing by
 * find-my-way (Fastify's router): path parameters and 405 for a known path with another method.
 */
export function createWebhooksServer(deps: ApiDeps): Server {
  const { store, queue, now } = deps;
  const found = async (id: string | undefined) => {
    const destination = id === undefined ? null : await store.get(id);
    if (destination === null) throw new WebhooksApiError("NOT_FOUND", `no destination ${JSON.stringify(id)}`);
    return destination;
  };
  const routes: { method: "GET" | "POST" | "PATCH" | "DELETE"; path: string; handler: Handler }[] = [
    { method: "GET", path: "/v1/destinations", handler: async () => ({ status: 200, body: { destinations: (await store.list()).map((destination) => publicDestination(destination)) } }) },
    {
      method: "POST",
      path: "/v1/destinations",
      handler: async (request) => {
        const destination = await store.create(await readJson(request, destinationCreateSchema), now());
        await deps.changed();
        // The one answer that shows the secret (and the rotation's): the receiver needs it to verify.
        return { status: 201, body: publicDestination(destination, true) };
      },
    },
    { method: "GET", path: "/v1/destinations/:id", handler: async (_request, params) => ({ status: 200, body: publicDestination(await found(params.id)) }) },
    {
      method: "PATCH",
      path: "/v1/destinations/:id",
      handler: async (request, params) => {
        await found(params.id);
        const updated = await store.update(params.id!, await readJson(request, destinationUpdateSchema), now());
        await deps.applied();
        return { status: 200, body: publicDestination((updated ?? (await found(params.id)))) };
      },
    },
    {
      method: "DELETE",
      path: "/v1/destinations/:id",
      handler: async (_request, params) => {
        await found(params.id);
        await store.delete(params.id!);
        await deps.changed();
        return { status: 200, body: { deleted: params.id } };
      },
    },
    {
      method: "POST",
      path: "/v1/destinations/:id/rotate-secret",
      handler: async (request, params) => {
        await found(params.id);
        const body = await readJson(request, secretRotationSchema);
        const rotated = await store.rotateSecret(params.id!, { ...(body.secret ? { secret: body.secret } : {}), overlapMs: body.overlapSeconds === undefined ? deps.secretOverlapMs : body.overlapSeconds * 1000 }, now());
        // The answer hands out the new secret; a receiver that switches to it at once must not meet a
        // request signed before the rotation (it would answer 401, a permanent failure: a dead letter).
        await deps.applied();
        return { status: 200, body: publicDestination(rotated ?? (await found(params.id)), true) };
      },
    },
    {
      method: "GET",
      path: "/v1/destinations/:id/dead-letters",
      handler: async (_request, params, url) => {
        await found(params.id);
        const letters = await queue.deadLetters(params.id!, { offset: intParam(url, "offset", 0, 1e9), limit: intParam(url, "limit", 100, 1000) });
        return { status: 200, body: { deadLetters: letters.map((letter) => ({ ...letter, message: { ...letter.message, body: JSON.parse(letter.message.body) as unknown } })) } };
      },
    },
    {
      method: "POST",
      path: "/v1/destinations/:id/replay",
      handler: async (request, params) => {
        await found(params.id);
        const body = await readJson(request, replaySchema);
        const replayed = await queue.replay(params.id!, body.ids, now());
        await deps.changed();
        return { status: 200, body: { replayed } };
      },
    },
    {
      method: "GET",
      path: "/v1/destinations/:id/stats",
      handler: async (_request, params) => {
        await found(params.id);
        const stats = await queue.stats(params.id!);
        return { status: 200, body: { ...stats, lagSeconds: stats.oldestCreatedAt === null ? 0 : Math.max(0, now() - stats.oldestCreatedAt) / 1000 } };
      },
    },
  ];

  const router = FindMyWay<HTTPVersion.V1>({ ignoreTrailingSlash: true, defaultRoute: () => undefined });
  for (const route of routes) router.on(route.method, route.path, () => undefined, { handler: route.handler });

  return createServer(httpServerOptions(DEFAULT_HTTP_TIMEOUTS), (request, response) => {
    void (async () => {
      try {
        const url = new URL(request.url ?? "/", "http://localhost");
        if (url.pathname === "/healthz" && request.method === "GET") {
          const report = await checkAll(deps.checks);
          return sendJson(response, report.ok ? 200 : 503, report);
        }
        if (url.pathname === "/metrics" && request.method === "GET") {
          response.writeHead(200, { "content-type": deps.registry.contentType }).end(await deps.registry.metrics());
          return;
        }
        const match = router.find(request.method as "GET", url.pathname);
        if (match === null) {
          const known = routes.some((route) => router.find(route.method, url.pathname) !== null);
          throw new WebhooksApiError(known ? "METHOD_NOT_ALLOWED" : "NOT_FOUND");
        }
        const scopes = deps.authorize(request.headers.authorization);
        if (scopes === null) throw new WebhooksApiError("UNAUTHORIZED");
        if (!scopes.has("admin")) throw new WebhooksApiError("FORBIDDEN");
        const { handler } = match.store as { handler: Handler };
        const answer = await handler(request, match.params, url);
        sendJson(response, answer.status, answer.body);
      } catch (error) {
        if (error instanceof WebhooksApiError) {
          return sendJson(response, error.status, { error: { code: error.code, message: error.message, ...(error.issues ? { issues: error.issues } : {}) } }, error.code === "UNAUTHORIZED" ? { "www-authenticate": "Bearer" } : {});
        }
        deps.logger.error({ err: error, method: request.method, url: request.url }, "request failed");
        if (!response.headersSent) sendJson(response, 500, { error: { code: "INTERNAL", message: "internal error; see the service's log" } });
        else response.destroy();
      }
    })();
  });
}
