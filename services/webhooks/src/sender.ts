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
 * POST with Node's fetch (undici): a fresh connection pool per origin, kept alive between requests;
 * redirects are not followed (a 3xx is a permanent answer: the destination's URL is to be changed).
 * Only the status and Retry-After are read; the body is discarded.
 */
export const sendWithFetch: Send = async (request) => {
  try {
    const response = await fetch(request.url, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      redirect: "manual",
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    await response.body?.cancel().catch(() => undefined);
    return { kind: "status", status: response.status, retryAfter: response.headers.get("retry-after") };
  } catch (error) {
    const name = (error as Error).name;
    if (name === "TimeoutError" || name === "AbortError") return { kind: "timeout" };
    const cause = (error as { cause?: { code?: string; name?: string } }).cause;
    if (cause?.name === "HeadersTimeoutError" || cause?.name === "BodyTimeoutError") return { kind: "timeout" };
    return { kind: "network", code: cause?.code ?? name };
  }
};
