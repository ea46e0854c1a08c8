import type { ServerOptions } from "node:http";

/** How long an HTTP server waits for a client; every service's server sets them deliberately. */
export interface HttpTimeouts {
  /** From a connection's (or request's) first byte until its headers are complete. */
  headersTimeoutMs: number;
  /** From a request's first byte until it is complete, body included. */
  requestTimeoutMs: number;
  /** How long an idle kept-alive connection stays open after a response. */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 };

/**
 * Node's server options for these timeouts. A request past its headers or request
 * timeout gets 408 and its connection closed. Node looks for such requests every
 * `connectionsCheckingInterval` (30 s by default, which would let a short timeout
 * run that much longer), so the interval follows the shorter timeout.
 */
export function httpServerOptions(timeouts: HttpTimeouts): ServerOptions {
  const shorter = Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs);
  return {
    headersTimeout: timeouts.headersTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    keepAliveTimeout: timeouts.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(shorter / 4))),
  };
}

/**
 * The path and query of a request target, or null when the target names no path.
 * Origin-form (`/path?query`) is read relative to a fixed origin, so `//x/y` stays a
 * path instead of becoming host x; absolute-form (`http://host/path`) is served by its
 * path, as RFC 9112 (section 3.2.2) asks of a server; asterisk-form (`*`), other
 * schemes and targets the URL parser refuses (`http://[::1/x`) give null.
 */
export function parseRequestTarget(target: string | undefined): URL | null {
  if (target === undefined || target === "") return null;
  if (target.startsWith("/")) return URL.canParse(`http://origin${target}`) ? new URL(`http://origin${target}`) : null;
  if (!/^https?:\/\//i.test(target) || !URL.canParse(target)) return null;
  return new URL(target);
}
