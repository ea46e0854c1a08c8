import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { AttemptResult } from "./retry-policy.ts";

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** Sends one request; resolves with what happened, never rejects. */
export type Send = (request: WebhookRequest) => Promise<AttemptResult>;

/**
 * POSTs with node:http(s) over kept-alive connections (each destination's worker bounds how many of
 * its requests are open, so the agents set no bound of their own; up to `maxIdleSockets` idle ones per origin are kept). Node's own
 * client rather than fetch: at thousands of requests per second fetch's per-request stream machinery
 * cost the delivery service more CPU than everything else it does (bench/webhooks.ts). Redirects are
 * not followed (a 3xx is a permanent answer: the destination's URL is to be changed). Only the status
 * and Retry-After are read; the body is drained unread. The whole exchange, connect to last byte,
 * must end within the timeout.
 */
export function createSender(options: { maxIdleSockets: number }): Send {
  const agents = { "http:": new HttpAgent({ keepAlive: true, maxFreeSockets: options.maxIdleSockets }), "https:": new HttpsAgent({ keepAlive: true, maxFreeSockets: options.maxIdleSockets }) };
  return (request) =>
    new Promise<AttemptResult>((resolve) => {
      let url: URL;
      try {
        url = new URL(request.url);
      } catch {
        return resolve({ kind: "network", code: "INVALID_URL" });
      }
      const secure = url.protocol === "https:";
      let settled = false;
      const finish = (result: AttemptResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const body = Buffer.from(request.body);
      const outgoing = (secure ? httpsRequest : httpRequest)(
        url,
        { method: "POST", agent: secure ? agents["https:"] : agents["http:"], headers: { ...request.headers, "content-length": String(body.length) } },
        (response: IncomingMessage) => {
          const retryAfter = response.headers["retry-after"];
          response.on("error", () => finish({ kind: "network", code: "RESPONSE_ABORTED" }));
          response.on("end", () => finish({ kind: "status", status: response.statusCode ?? 0, retryAfter: typeof retryAfter === "string" ? retryAfter : null }));
          response.resume();
        },
      );
      const timer = setTimeout(() => {
        finish({ kind: "timeout" });
        outgoing.destroy();
      }, request.timeoutMs);
      outgoing.on("error", (error: NodeJS.ErrnoException) => finish({ kind: "network", code: error.code ?? error.name }));
      outgoing.end(body);
    });
}
